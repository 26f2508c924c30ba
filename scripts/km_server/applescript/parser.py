"""AppleScript statements and expressions, for the forms the Keyboard Maestro MCP server writes.

The vocabulary (classes, properties, commands and their parameter labels) is that of the
applications the server talks to: Keyboard Maestro, Keyboard Maestro Engine, System Events
and the Standard Additions. Text outside it fails to compile as it would in AppleScript
(an unknown word followed by another word is "A identifier can’t go after this identifier.").
"""

from __future__ import annotations

from collections.abc import Callable

from . import nodes as n
from .errors import ScriptSyntaxError
from .lexer import EOF, NEWLINE, NUMBER, STRING, SYMBOL, WORD, Token, tokenize

# singular -> plural, for the element classes of the modelled applications
CLASSES: dict[str, str] = {
    "macro group": "macro groups",
    "macro": "macros",
    "trigger": "triggers",
    "action": "actions",
    "variable": "variables",
    "application process": "application processes",
    "process": "processes",
    "window": "windows",
    "attribute": "attributes",
    "desktop": "desktops",
    "menu bar": "menu bars",
    "menu item": "menu items",
    "menu": "menus",
    "ui element": "ui elements",
    "item": "items",
    "application": "applications",
    "file": "files",
}
PLURALS = {plural: single for single, plural in CLASSES.items()}
PROPERTIES = frozenset(
    {"name", "id", "enabled", "xml", "description", "position", "size", "title", "value",
     "frontmost", "background only", "visible", "bounds", "version", "bundle identifier",
     "class", "macro group", "unique_id", "length"}
)  # fmt: skip
# command -> (takes a direct parameter, its labelled parameters)
COMMANDS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "getvariable": (True, ("instance",)),
    "setvariable": (True, ("to", "instance")),
    "do script": (True, ("with parameter",)),
    "process tokens": (True, ()),
    "calculate": (True, ()),
    "reload": (False, ()),
    "delete": (True, ()),
    "duplicate": (True, ("to",)),
    "move": (True, ("to",)),
    "make": (False, ("at", "with properties", "with data")),
    "exists": (True, ()),
    "count": (True, ()),
    "get": (True, ()),
    "activate": (False, ()),
    "quit": (False, ()),
    "open": (True, ()),
    "display notification": (True, ("with title", "subtitle", "sound name")),
    "display alert": (
        True,
        ("message", "as", "buttons", "default button", "cancel button", "giving up after"),
    ),
    "delay": (True, ()),
    "keystroke": (True, ("using",)),
    "click": (True, ()),
    "editmacro": (True, ()),
}
CONSTANTS = {"true": True, "false": False, "linefeed": "\n", "tab": "\t", "space": " ",
             "quote": '"', "return": "\r"}  # fmt: skip
COERCIONS = frozenset({"string", "text", "unicode text", "integer", "real", "number",
                       "boolean", "list", "record"})  # fmt: skip
# Words that end an expression (or begin a clause); never variable names here.
RESERVED = frozenset(
    {"tell", "end", "to", "of", "in", "if", "then", "else", "try", "on", "error", "repeat",
     "with", "from", "by", "while", "until", "times", "exit", "return", "set", "is", "not",
     "and", "or", "whose", "where", "every", "first", "last", "front", "some", "id", "as",
     "contains", "div", "mod", "it", "me", "my", "new", "at", "for", "without", "given",
     "thru", "through", "starts", "begins", "ends", "equal", "equals", "greater", "less",
     "than", "does", "missing", "number", "copy", "beginning", "considering", "ignoring"}
)  # fmt: skip
_MAX_PHRASE = 3


class Parser:
    """Parses one script; :meth:`script` returns its statements."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0

    # -- token helpers ----------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def at_word(self, *words: str) -> bool:
        return self.tok.is_word(*words)

    def at_symbol(self, *symbols: str) -> bool:
        return self.tok.kind == SYMBOL and self.tok.value in symbols

    def phrase(self, table: object) -> str | None:
        """The longest run of words (up to three) from here that is a key of ``table``."""
        words: list[str] = []
        found = None
        for k in range(_MAX_PHRASE):
            token = self.peek(k)
            if token.kind != WORD:
                break
            words.append(str(token.value))
            if " ".join(words) in table:  # type: ignore[operator]
                found = " ".join(words)
        return found

    def take_phrase(self, phrase: str) -> None:
        for _ in phrase.split(" "):
            self.advance()

    def expect_word(self, word: str) -> Token:
        if not self.at_word(word):
            self.fail(f"Expected “{word}” but found {self.describe(self.tok)}.")
        return self.advance()

    def expect_symbol(self, symbol: str) -> Token:
        if not self.at_symbol(symbol):
            self.fail(f"Expected “{symbol}” but found {self.describe(self.tok)}.")
        return self.advance()

    def describe(self, token: Token) -> str:
        if token.kind == EOF:
            return "end of script"
        if token.kind == NEWLINE:
            return "end of line"
        if token.kind == STRING:
            return '“"”'
        if token.kind == NUMBER:
            return "number"
        if token.kind == WORD and token.value not in RESERVED and not self._is_term(token):
            return "identifier"
        if token.kind == WORD and self._is_term(token):
            return "class name" if str(token.value) in CLASSES else "property"
        return f"“{token.text}”"

    def _is_term(self, token: Token) -> bool:
        word = str(token.value)
        return word in CLASSES or word in PLURALS or word in PROPERTIES

    def fail(self, message: str, number: int = -2741, token: Token | None = None) -> None:
        at = token or self.tok
        raise ScriptSyntaxError(message, number, at.start, at.end)

    def skip_newlines(self) -> None:
        while self.tok.kind == NEWLINE:
            self.advance()

    # -- statements -------------------------------------------------------------------

    def script(self) -> list[n.Node]:
        body = self.block(lambda: self.tok.kind == EOF)
        if self.tok.kind != EOF:
            self.fail(f"Expected end of line but found {self.describe(self.tok)}.")
        return body

    def block(self, done: Callable[[], bool]) -> list[n.Node]:
        body: list[n.Node] = []
        self.skip_newlines()
        while not done() and self.tok.kind != EOF:
            body.append(self.statement())
            self.end_of_statement()
            self.skip_newlines()
        return body

    def end_of_statement(self) -> None:
        if self.tok.kind in (NEWLINE, EOF):
            return
        previous = self.tokens[self.i - 1]
        if (
            self.tok.kind == WORD
            and previous.kind == WORD
            and self.describe(previous) == "identifier"
            and self.describe(self.tok) == "identifier"
        ):
            self.fail("A identifier can’t go after this identifier.", -2740)
        self.fail(f"Expected end of line but found {self.describe(self.tok)}.")

    def end_block(self, word: str) -> None:
        self.expect_word("end")
        if self.at_word(word):
            self.advance()

    def statement(self) -> n.Node:
        start = self.tok.start
        if self.at_word("tell"):
            return self.tell()
        if self.at_word("try"):
            return self.try_()
        if self.at_word("if"):
            return self.if_()
        if self.at_word("repeat"):
            return self.repeat()
        if self.at_word("set"):
            self.advance()
            target = self.expression()
            self.expect_word("to")
            value = self.expression()
            return n.Set(start, value.end, target, value)
        if self.at_word("return"):
            self.advance()
            if self.tok.kind in (NEWLINE, EOF) or self.at_word("end"):
                return n.Return(start, self.tokens[self.i - 1].end, None)
            value = self.expression()
            return n.Return(start, value.end, value)
        if self.at_word("exit"):
            self.advance()
            end = self.expect_word("repeat").end
            return n.ExitRepeat(start, end)
        if self.at_word("error"):
            return self.raise_()
        expr = self.expression()
        return n.ExprStmt(start, expr.end, expr)

    def tell(self) -> n.Node:
        start = self.advance().start
        target = self.expression()
        if self.at_word("to"):
            self.advance()
            inner = self.statement()
            return n.Tell(start, inner.end, target, [inner])
        body = self.block(lambda: self.at_word("end"))
        end = self.tok.end
        self.end_block("tell")
        return n.Tell(start, end, target, body)

    def try_(self) -> n.Node:
        start = self.advance().start
        body = self.block(lambda: self.at_word("end", "on"))
        error_var = None
        handler: list[n.Node] = []
        if self.at_word("on"):
            self.advance()
            self.expect_word("error")
            if self.tok.kind == WORD and self.tok.value not in RESERVED:
                error_var = str(self.advance().value)
            handler = self.block(lambda: self.at_word("end"))
        end = self.tok.end
        self.end_block("try")
        return n.Try(start, end, body, error_var, handler)

    def if_(self) -> n.Node:
        start = self.advance().start
        condition = self.expression()
        self.expect_word("then")
        if self.tok.kind not in (NEWLINE, EOF):
            inner = self.statement()
            return n.If(start, inner.end, [(condition, [inner])], [])
        branches = [(condition, self.block(lambda: self.at_word("end", "else")))]
        otherwise: list[n.Node] = []
        while self.at_word("else"):
            self.advance()
            if self.at_word("if"):
                self.advance()
                cond = self.expression()
                self.expect_word("then")
                branches.append((cond, self.block(lambda: self.at_word("end", "else"))))
            else:
                otherwise = self.block(lambda: self.at_word("end"))
                break
        end = self.tok.end
        self.end_block("if")
        return n.If(start, end, branches, otherwise)

    def repeat(self) -> n.Node:
        start = self.advance().start
        if self.at_word("with"):
            self.advance()
            var = self.identifier()
            if self.at_word("in"):
                self.advance()
                items = self.expression()
                body = self.loop_body()
                return n.RepeatIn(start, self.tokens[self.i - 1].end, var, items, body)
            self.expect_word("from")
            first = self.expression()
            self.expect_word("to")
            last = self.expression()
            step = None
            if self.at_word("by"):
                self.advance()
                step = self.expression()
            body = self.loop_body()
            return n.RepeatFrom(start, self.tokens[self.i - 1].end, var, first, last, step, body)
        if self.at_word("while", "until"):
            until = self.advance().value == "until"
            condition = self.expression()
            body = self.loop_body()
            return n.RepeatWhile(start, self.tokens[self.i - 1].end, condition, until, body)
        self.fail(f"Expected “with”, “while” or “until” but found {self.describe(self.tok)}.")
        raise AssertionError  # unreachable: fail() raises

    def loop_body(self) -> list[n.Node]:
        body = self.block(lambda: self.at_word("end"))
        self.end_block("repeat")
        return body

    def raise_(self) -> n.Node:
        start = self.advance().start
        message = number = None
        end = self.tokens[self.i - 1].end
        if self.tok.kind not in (NEWLINE, EOF) and not self.at_word("number", "end"):
            message = self.expression()
            end = message.end
        if self.at_word("number"):
            self.advance()
            number = self.expression()
            end = number.end
        return n.Raise(start, end, message, number)

    def identifier(self) -> str:
        token = self.tok
        if token.kind != WORD or token.value in RESERVED:
            self.fail(f"Expected variable name but found {self.describe(token)}.")
        self.advance()
        return str(token.value)

    # -- expressions ------------------------------------------------------------------

    def expression(self) -> n.Node:
        return self.or_()

    def or_(self) -> n.Node:
        left = self.and_()
        while self.at_word("or"):
            self.advance()
            right = self.and_()
            left = n.BinOp(left.start, right.end, "or", left, right)
        return left

    def and_(self) -> n.Node:
        left = self.not_()
        while self.at_word("and"):
            self.advance()
            right = self.not_()
            left = n.BinOp(left.start, right.end, "and", left, right)
        return left

    def not_(self) -> n.Node:
        if self.at_word("not"):
            start = self.advance().start
            operand = self.not_()
            return n.Not(start, operand.end, operand)
        return self.comparison()

    def comparison(self) -> n.Node:
        left = self.coercion()
        op = self.comparison_operator()
        if op is None:
            return left
        right = self.coercion()
        if op == "is not":
            return n.Not(left.start, right.end, n.BinOp(left.start, right.end, "=", left, right))
        if op == "does not contain":
            node = n.BinOp(left.start, right.end, "contains", left, right)
            return n.Not(left.start, right.end, node)
        return n.BinOp(left.start, right.end, op, left, right)

    def comparison_operator(self) -> str | None:
        symbols = {"=": "=", "≠": "≠", "<": "<", ">": ">", "<=": "≤", ">=": "≥", "≤": "≤", "≥": "≥"}
        if self.tok.kind == SYMBOL and self.tok.value in symbols:
            return symbols[str(self.advance().value)]
        words = {
            "is not equal to": "is not", "is equal to": "=", "is greater than": ">",
            "is less than": "<", "is not": "is not", "is": "=", "equals": "=",
            "contains": "contains", "does not contain": "does not contain",
            "starts with": "starts with", "begins with": "starts with",
            "ends with": "ends with",
        }  # fmt: skip
        for length in (4, 3, 2, 1):
            text = " ".join(str(self.peek(k).value) for k in range(length))
            if all(self.peek(k).kind == WORD for k in range(length)) and text in words:
                for _ in range(length):
                    self.advance()
                return words[text]
        return None

    def coercion(self) -> n.Node:
        node = self.concatenation()
        while self.at_word("as"):
            self.advance()
            kind = self.phrase({k: 1 for k in COERCIONS})
            if kind is None:
                self.fail(f"Expected class name but found {self.describe(self.tok)}.")
                raise AssertionError
            end = self.peek(len(kind.split(" ")) - 1).end
            self.take_phrase(kind)
            node = n.Coerce(node.start, end, node, kind)
        return node

    def concatenation(self) -> n.Node:
        return self.binary(self.additive, {"&"})

    def additive(self) -> n.Node:
        return self.binary(self.multiplicative, {"+", "-"})

    def multiplicative(self) -> n.Node:
        return self.binary(self.power, {"*", "/", "div", "mod", "÷"})

    def power(self) -> n.Node:
        return self.binary(self.unary, {"^"})

    def binary(self, operand: Callable[[], n.Node], ops: set[str]) -> n.Node:
        left = operand()
        while (self.tok.kind in (SYMBOL, WORD)) and self.tok.value in ops:
            op = str(self.advance().value)
            right = operand()
            left = n.BinOp(left.start, right.end, "/" if op == "÷" else op, left, right)
        return left

    def unary(self) -> n.Node:
        if self.at_symbol("-"):
            start = self.advance().start
            operand = self.unary()
            return n.Negate(start, operand.end, operand)
        if self.at_symbol("+"):
            self.advance()
            return self.unary()
        return self.primary()

    def primary(self) -> n.Node:
        token = self.tok
        if token.kind == STRING:
            self.advance()
            return n.Literal(token.start, token.end, token.value)
        if token.kind == NUMBER:
            self.advance()
            return n.Literal(token.start, token.end, token.value)
        if self.at_symbol("("):
            self.advance()
            inner = self.expression()
            end = self.expect_symbol(")").end
            inner.start, inner.end = token.start, end
            return inner
        if self.at_symbol("{"):
            return self.list_or_record()
        if token.kind != WORD:
            self.fail(f"Expected expression but found {self.describe(token)}.")
        return self.word_term()

    def word_term(self) -> n.Node:
        token = self.tok
        word = str(token.value)
        if self.at_word("missing") and self.peek().is_word("value"):
            self.advance()
            return n.Literal(token.start, self.advance().end, None)
        if word in CONSTANTS:
            self.advance()
            return n.Literal(token.start, token.end, CONSTANTS[word])
        if word == "posix" and self.peek().is_word("file"):
            self.advance()
            self.advance()
            path = self.primary()
            return n.PosixFile(token.start, path.end, path)
        if word == "application" and (self.peek().kind == STRING or self.peek().is_word("id")):
            self.advance()
            by_id = self.at_word("id")
            if by_id:
                self.advance()
            key = self.primary()
            return n.AppRef(token.start, key.end, key, by_id)
        command = self.phrase(COMMANDS)
        if command is not None:
            return self.command(command)
        if word in ("every", "first", "last", "front", "some"):
            return self.qualified()
        if word in ("end", "beginning") and self.peek().is_word("of"):
            self.advance()
            self.advance()
            of_ = self.primary()
            return n.EndOf(token.start, of_.end, word, of_)
        if word == "count" or word == "exists":
            return self.command(word)
        return self.term()

    def term(self) -> n.Node:
        token = self.tok
        plural = self.phrase(PLURALS)
        single = self.phrase(CLASSES)
        prop = self.phrase(PROPERTIES)
        longest = max((p for p in (plural, single, prop) if p), key=len, default=None)
        if longest is not None and longest == prop and (single != prop or self._of_follows(prop)):
            self.take_phrase(prop)
            return self.of_chain(n.Prop(token.start, self.tokens[self.i - 1].end, prop, None))
        if longest is not None and longest == plural:
            self.take_phrase(plural)
            kind = PLURALS[plural]
            how, key = "every", None
            if self.at_word("whose", "where"):
                self.advance()
                key = self.expression()
                how = "whose-every"
            end = key.end if key else self.tokens[self.i - 1].end
            return self.of_chain(n.Elem(token.start, end, kind, how, key, None))
        if single is not None:
            self.take_phrase(single)
            return self.element(token.start, single)
        if token.value in RESERVED:
            self.fail(f"Expected expression but found {self.describe(token)}.")
        self.advance()
        return n.Var(token.start, token.end, str(token.value), token.text)

    def _of_follows(self, phrase: str) -> bool:
        return self.peek(len(phrase.split(" "))).is_word("of", "in")

    def element(self, start: int, kind: str) -> n.Node:
        how, key = "none", None
        token = self.tok
        if self.at_word("id"):
            self.advance()
            key, how = self.unary(), "id"
        elif token.kind == STRING:
            key, how = self.primary(), "name"
        elif token.kind == NUMBER or self.at_symbol("(", "-"):
            key, how = self.unary(), "index"
        elif token.kind == WORD and token.value not in RESERVED and not self._is_term(token):
            self.advance()
            key, how = n.Var(token.start, token.end, str(token.value), token.text), "index"
        elif self.at_word("whose", "where"):
            self.advance()
            key, how = self.expression(), "whose-every"
        end = key.end if key is not None else self.tokens[self.i - 1].end
        return self.of_chain(n.Elem(start, end, kind, how, key, None))

    def qualified(self) -> n.Node:
        token = self.advance()
        which = str(token.value)
        kind = self.phrase(CLASSES) or self.phrase(PLURALS)
        if kind is None:
            self.fail(f"Expected class name but found {self.describe(self.tok)}.")
            raise AssertionError
        self.take_phrase(kind)
        kind = PLURALS.get(kind, kind)
        key: n.Node | None = None
        how = {
            "every": "every",
            "first": "index",
            "last": "last",
            "front": "index",
            "some": "index",
        }[which]
        if which in ("first", "front", "some"):
            key = n.Literal(token.start, token.end, 1)
        if self.at_word("whose", "where"):
            self.advance()
            key = self.expression()
            how = "whose-every" if which == "every" else "whose-first"
        end = (
            key.end if key is not None and how.startswith("whose") else self.tokens[self.i - 1].end
        )
        return self.of_chain(n.Elem(token.start, end, kind, how, key, None))

    def of_chain(self, node: n.Node) -> n.Node:
        if self.at_word("of", "in") and isinstance(node, n.Prop | n.Elem):
            self.advance()
            container = self.primary()
            node.of_ = container
            node.end = container.end
        return node

    def command(self, name: str) -> n.Node:
        start = self.tok.start
        self.take_phrase(name)
        takes_direct, labels = COMMANDS.get(name, (True, ()))
        node = n.Command(start, self.tokens[self.i - 1].end, name, None)
        if name == "count" and self.at_word("of"):
            self.advance()
        if name == "make":
            self.expect_word("new")
            kind = self.phrase(CLASSES)
            if kind is None:
                self.fail(f"Expected class name but found {self.describe(self.tok)}.")
                raise AssertionError
            self.take_phrase(kind)
            node.new_kind = kind
        elif takes_direct and not self._clause_ends():
            node.direct = self.expression()
        while True:
            label = self.phrase({label: 1 for label in labels})
            if label is None:
                break
            self.take_phrase(label)
            node.params[label] = self.expression()
        node.end = self.tokens[self.i - 1].end
        return node

    def _clause_ends(self) -> bool:
        return self.tok.kind in (NEWLINE, EOF) or self.at_word("end", "else", "then", "to")

    def list_or_record(self) -> n.Node:
        start = self.advance().start
        if self.at_symbol("}"):
            return n.ListLit(start, self.advance().end, [])
        if self.tok.kind == WORD and self.peek().kind == SYMBOL and self.peek().value == ":":
            pairs: list[tuple[str, n.Node]] = []
            while True:
                label = self.advance()
                self.expect_symbol(":")
                pairs.append((label.text, self.expression()))
                if not self.at_symbol(","):
                    break
                self.advance()
            return n.RecordLit(start, self.expect_symbol("}").end, pairs)
        items = [self.expression()]
        while self.at_symbol(","):
            self.advance()
            items.append(self.expression())
        return n.ListLit(start, self.expect_symbol("}").end, items)


def parse(source: str) -> list[n.Node]:
    """The statements of ``source``; :class:`ScriptSyntaxError` when it does not compile."""
    return Parser(source).script()
