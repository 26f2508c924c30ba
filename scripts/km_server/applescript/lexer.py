"""AppleScript source text as tokens: words, strings, numbers, symbols and line ends.

Comments (``--``, ``#``, ``(* *)``) are dropped and ``¬`` joins a line to the next, as
AppleScript's compiler does.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ScriptSyntaxError

WORD, STRING, NUMBER, SYMBOL, NEWLINE, EOF = "word", "string", "number", "symbol", "newline", "eof"

_SYMBOLS = ("<=", ">=", "≠", "≤", "≥", "&", "(", ")", "{", "}", ",", ":", "=", "<", ">",
            "+", "-", "*", "/", "^", "÷")  # fmt: skip
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str  # the source text (for words: as written)
    value: object  # strings unescaped, numbers parsed, words lower-cased
    start: int
    end: int

    def is_word(self, *words: str) -> bool:
        return self.kind == WORD and self.value in words


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``; :class:`ScriptSyntaxError` for text AppleScript cannot read."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch in " \t\u00a0":
            i += 1
        elif ch == "¬":
            i = _continuation(source, i + 1)
        elif ch in "\r\n":
            if not tokens or tokens[-1].kind != NEWLINE:
                tokens.append(Token(NEWLINE, "\n", None, i, i + 1))
            i += 1
        elif source.startswith("--", i) or ch == "#":
            i = _line_end(source, i)
        elif source.startswith("(*", i):
            i = _block_comment(source, i)
        elif ch == '"':
            token = _string(source, i)
            tokens.append(token)
            i = token.end
        elif ch.isdigit() or (ch == "." and i + 1 < n and source[i + 1].isdigit()):
            token = _number(source, i)
            tokens.append(token)
            i = token.end
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (source[j].isalnum() or source[j] == "_"):
                j += 1
            tokens.append(Token(WORD, source[i:j], source[i:j].lower(), i, j))
            i = j
        elif ch == "|":
            j = source.find("|", i + 1)
            if j < 0:
                raise ScriptSyntaxError("Expected “|” but found end of script.", -2741, i, n)
            tokens.append(Token(WORD, source[i + 1 : j], source[i + 1 : j], i, j + 1))
            i = j + 1
        else:
            symbol = next((s for s in _SYMBOLS if source.startswith(s, i)), None)
            if symbol is None:
                raise ScriptSyntaxError(
                    "Expected expression but found unknown token.", -2741, i, i + 1
                )
            tokens.append(Token(SYMBOL, symbol, symbol, i, i + len(symbol)))
            i += len(symbol)
    tokens.append(Token(EOF, "", None, n, n))
    return tokens


def _continuation(source: str, i: int) -> int:
    while i < len(source) and source[i] in " \t":
        i += 1
    if source.startswith("\r\n", i):
        return i + 2
    return i + 1 if i < len(source) and source[i] in "\r\n" else i


def _line_end(source: str, i: int) -> int:
    while i < len(source) and source[i] not in "\r\n":
        i += 1
    return i


def _block_comment(source: str, i: int) -> int:
    depth, j = 0, i
    while j < len(source):
        if source.startswith("(*", j):
            depth, j = depth + 1, j + 2
        elif source.startswith("*)", j):
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j
        else:
            j += 1
    raise ScriptSyntaxError("Expected “*)” but found end of script.", -2741, i, len(source))


def _string(source: str, i: int) -> Token:
    out: list[str] = []
    j = i + 1
    while j < len(source):
        ch = source[j]
        if ch == '"':
            return Token(STRING, source[i : j + 1], "".join(out), i, j + 1)
        if ch == "\\" and j + 1 < len(source):
            escaped = _ESCAPES.get(source[j + 1])
            if escaped is None:
                raise ScriptSyntaxError('Expected “"” but found unknown token.', -2741, j, j + 2)
            out.append(escaped)
            j += 2
            continue
        out.append(ch)
        j += 1
    raise ScriptSyntaxError('Expected “"” but found end of script.', -2741, i, len(source))


def _number(source: str, i: int) -> Token:
    j = i
    while j < len(source) and source[j].isdigit():
        j += 1
    real = False
    if j < len(source) - 1 and source[j] == "." and source[j + 1].isdigit():
        real, j = True, j + 1
        while j < len(source) and source[j].isdigit():
            j += 1
    if j < len(source) and source[j] in "eE":
        k = j + 1
        if k < len(source) and source[k] in "+-":
            k += 1
        if k < len(source) and source[k].isdigit():
            real, j = True, k
            while j < len(source) and source[j].isdigit():
                j += 1
    text = source[i:j]
    value: object = float(text) if real else int(text)
    return Token(NUMBER, text, value, i, j)
