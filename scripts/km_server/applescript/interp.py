"""Runs a parsed script against the Keyboard Maestro model, as ``osascript`` would.

Statements run in order; errors inside ``try`` reach ``on error``; the script's result is
what its ``return`` gives (or its last statement's value). Application commands go to the
application of the innermost ``tell`` (or of the reference they act on).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.simulator.km import engine as km_engine
from engine.simulator.km import library, system
from engine.simulator.km.calc import CalcError
from engine.simulator.km.state import EDITOR_NAME, KMState

from . import nodes as n
from .errors import ScriptError, ScriptSyntaxError, Unmodelled, cant_get, not_defined
from .refs import (
    KM,
    KME,
    SE,
    ActionRef,
    Application,
    AttributeRef,
    FileRef,
    GroupRef,
    MacroRef,
    Ref,
    TriggerRef,
    VariableRef,
    WindowRef,
    quoted,
)
from .values import (
    NOTHING,
    Record,
    coerce,
    concatenate,
    equal,
    source_text,
    to_boolean,
    to_number,
    to_text,
)

STANDARD_ADDITIONS = frozenset({"display notification", "display alert", "delay"})
ENGINE_COMMANDS = frozenset({"getvariable", "setvariable", "do script", "process tokens",
                             "calculate", "reload"})  # fmt: skip


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _ExitRepeat(Exception):
    pass


class ElemRef(Ref):
    """An element reference not yet looked up: ``first macro whose name is "X"``…"""

    def __init__(self, interp: Interpreter, node: n.Elem, container: Any, key: Any) -> None:
        self.interp = interp
        self.node = node
        self.kind = node.kind
        self.how = node.how
        self.container = container
        self.key = key
        self.app = container.app if isinstance(container, Ref) else ""

    def spec(self) -> str:
        how, kind = self.how, self.kind
        if how == "index":
            text = f"{kind} {self.key}"
        elif how == "last":
            text = f"last {kind}"
        elif how == "id":
            text = f"{kind} id {source_text(self.key)}"
        elif how == "name":
            text = f"{kind} {source_text(self.key)}"
        elif how == "whose-first":
            text = f"{kind} 1 whose {render(self.node.key)}"
        elif how == "whose-every":
            text = f"every {kind} whose {render(self.node.key)}"
        else:
            text = f"every {kind}"
        container = self.container
        suffix = container.of_suffix() if isinstance(container, Ref) else ""
        return text + suffix

    def is_many(self) -> bool:
        return self.how in ("every", "whose-every")

    def candidates(self) -> list[Ref]:
        container = self.container
        if isinstance(container, ElemRef):
            container = container.one()
        if not isinstance(container, Ref):
            raise ScriptError(-1728, f"Can’t get {self.spec()}.")
        self.interp.wake(container.app)
        return container.children(self.interp.state, self.kind)

    def select(self) -> list[Ref]:
        found = self.candidates()
        state = self.interp.state
        if self.how == "every":
            return found
        if self.how in ("whose-first", "whose-every"):
            chosen = [c for c in found if self.interp.test(self.node.key, c)]
            if self.how == "whose-first" and not chosen:
                raise cant_get(self.spec(), self.app, index=True)
            return chosen[:1] if self.how == "whose-first" else chosen
        if self.how in ("index", "last"):
            index = len(found) if self.how == "last" else int(to_number(self.key, "integer"))
            position = index - 1 if index > 0 else len(found) + index
            if not 0 <= position < len(found):
                raise cant_get(self.spec(), self.app, index=True)
            return [found[position]]
        prop = "id" if self.how == "id" else "name"
        wanted = to_text(self.key)
        for candidate in found:
            if equal(candidate.get(state, prop), wanted):
                return [candidate]
        if self.how == "name" and self.kind in ("variable", "attribute"):
            return [self._named_placeholder(wanted)]
        raise cant_get(self.spec(), self.app)

    def _named_placeholder(self, name: str) -> Ref:
        """``variable "X"``/``attribute "AX…"``: a reference even when it does not exist yet."""
        if self.kind == "variable":
            return VariableRef(name)
        container = self.container.one() if isinstance(self.container, ElemRef) else self.container
        if not isinstance(container, WindowRef):
            raise cant_get(self.spec(), self.app)
        return AttributeRef(container, name)

    def one(self) -> Ref:
        refs = self.select()
        if self.is_many():
            raise ScriptError(-1700, f"Can’t make {self.spec()} into a single object.", self.app)
        return refs[0]

    def resolve(self, state: KMState) -> Any:
        return self.one().resolve(state)

    def exists(self, state: KMState) -> bool:
        try:
            refs = self.select()
            return bool(refs) and all(r.exists(state) for r in refs)
        except ScriptError:
            return False


def render(node: n.Node | None) -> str:
    """An expression as AppleScript writes it back (for ``whose`` clauses in messages)."""
    if isinstance(node, n.Prop) and node.of_ is None:
        return node.name
    if isinstance(node, n.Literal):
        return source_text(node.value) if node.value is not None else "missing value"
    if isinstance(node, n.BinOp):
        return f"{render(node.left)} {node.op} {render(node.right)}"
    if isinstance(node, n.Not):
        return f"not {render(node.operand)}"
    if isinstance(node, n.Var):
        return node.written
    return "…"


class Interpreter:
    """Runs scripts against one model state (which it changes)."""

    def __init__(self, state: KMState, *, read_file: Any = None) -> None:
        self.state = state
        self.vars: dict[str, Any] = {}
        self.targets: list[Any] = []
        self.its: list[Ref] = []
        self.result: Any = NOTHING
        self.read_file = read_file or (lambda path: Path(path).read_bytes())

    # -- running ------------------------------------------------------------------------

    def run(self, body: list[n.Node]) -> Any:
        check_applications(body, self.known_application)
        try:
            self.block(body)
        except _Return as returned:
            return returned.value
        return self.result

    def block(self, body: list[n.Node]) -> None:
        for statement in body:
            try:
                self.result = self.statement(statement)
            except (ScriptError, Unmodelled) as problem:
                if not problem.end:
                    problem.start, problem.end = statement.start, statement.end
                raise

    def statement(self, node: n.Node) -> Any:
        if isinstance(node, n.Tell):
            target = self.lazy(node.target)
            self.targets.append(target)
            try:
                self.block(node.body)
            finally:
                self.targets.pop()
            return self.result
        if isinstance(node, n.Try):
            try:
                self.block(node.body)
            except ScriptError as problem:
                if node.error_var:
                    self.vars[node.error_var] = problem.message
                self.block(node.handler)
            return self.result
        if isinstance(node, n.If):
            for condition, body in node.branches:
                if to_boolean(self.value(condition)):
                    self.block(body)
                    return self.result
            self.block(node.otherwise)
            return self.result
        if isinstance(node, n.RepeatIn | n.RepeatFrom | n.RepeatWhile):
            self.repeat(node)
            return self.result
        if isinstance(node, n.ExitRepeat):
            raise _ExitRepeat
        if isinstance(node, n.Set):
            return self.assign(node.target, self.value(node.value))
        if isinstance(node, n.Return):
            raise _Return(NOTHING if node.value is None else self.value(node.value))
        if isinstance(node, n.Raise):
            message = (
                to_text(self.value(node.message)) if node.message else "An error has occurred."
            )
            number = int(to_number(self.value(node.number), "integer")) if node.number else -2700
            raise ScriptError(number, message)
        if isinstance(node, n.ExprStmt):
            return self.value(node.expr)
        raise Unmodelled(type(node).__name__, node.start, node.end)

    def repeat(self, node: n.RepeatIn | n.RepeatFrom | n.RepeatWhile) -> None:
        try:
            if isinstance(node, n.RepeatIn):
                items = self.value(node.items)
                for item in items if isinstance(items, list) else [items]:
                    self.vars[node.var] = item
                    self.block(node.body)
            elif isinstance(node, n.RepeatFrom):
                first = int(to_number(self.value(node.first), "integer"))
                last = int(to_number(self.value(node.last), "integer"))
                step = int(to_number(self.value(node.step), "integer")) if node.step else 1
                for i in range(first, last + (1 if step > 0 else -1), step):
                    self.vars[node.var] = i
                    self.block(node.body)
            else:
                for _ in range(100_000):  # a runaway loop ends (osascript would spin)
                    if to_boolean(self.value(node.condition)) == node.until:
                        break
                    self.block(node.body)
        except _ExitRepeat:
            pass

    def assign(self, target: n.Node, value: Any) -> Any:
        if isinstance(target, n.Var):
            if value is NOTHING:
                self.vars.pop(target.name, None)
            else:
                self.vars[target.name] = value
            return value
        if isinstance(target, n.EndOf):
            items = self.value(target.of_)
            if not isinstance(items, list):
                raise ScriptError(-10006, f"Can’t set {target.which} of {source_text(items)}.")
            if target.which == "end":
                items.append(value)
            else:
                items.insert(0, value)
            return value
        if isinstance(target, n.Prop):
            owner = self.owner(target)
            self.wake(owner.app)
            owner.set(self.state, target.name, value)
            return value
        raise ScriptError(-10006, "Can’t set that.", self.app())

    # -- expressions ----------------------------------------------------------------------

    def value(self, node: n.Node) -> Any:
        """The node's value, with element references looked up (AppleScript's implicit get)."""
        result = self.lazy(node)
        if isinstance(result, ElemRef):
            refs = result.select()
            for ref in refs:
                ref.resolve(self.state)
            return refs if result.is_many() else refs[0]
        return result

    def lazy(self, node: n.Node) -> Any:
        if isinstance(node, n.Literal):
            return node.value
        if isinstance(node, n.Var):
            if node.name in self.vars:
                return self.vars[node.name]
            if node.name == "result" and self.result is not NOTHING:
                return self.result
            raise not_defined(node.written)
        if isinstance(node, n.ListLit):
            return [self.value(item) for item in node.items]
        if isinstance(node, n.RecordLit):
            return Record((label, self.value(item)) for label, item in node.pairs)
        if isinstance(node, n.BinOp):
            return self.binary(node)
        if isinstance(node, n.Not):
            return not to_boolean(self.value(node.operand))
        if isinstance(node, n.Negate):
            number = to_number(self.value(node.operand), "number")
            return -number
        if isinstance(node, n.Coerce):
            return coerce(self.value(node.operand), node.kind)
        if isinstance(node, n.Prop):
            return self.property(node)
        if isinstance(node, n.Elem):
            return self.element(node)
        if isinstance(node, n.AppRef):
            return self.application(node)
        if isinstance(node, n.PosixFile):
            return FileRef(to_text(self.value(node.path)))
        if isinstance(node, n.Command):
            return self.command(node)
        raise Unmodelled(f"{type(node).__name__} expression", node.start, node.end)

    def binary(self, node: n.BinOp) -> Any:
        if node.op == "and":
            return to_boolean(self.value(node.left)) and to_boolean(self.value(node.right))
        if node.op == "or":
            return to_boolean(self.value(node.left)) or to_boolean(self.value(node.right))
        left, right = self.value(node.left), self.value(node.right)
        if node.op == "&":
            return concatenate(left, right)
        if node.op == "=":
            return self.equal(left, right)
        if node.op == "≠":
            return not self.equal(left, right)
        if node.op == "contains":
            return to_text(right).casefold() in to_text(left).casefold()
        if node.op in ("starts with", "ends with"):
            text, part = to_text(left).casefold(), to_text(right).casefold()
            return text.startswith(part) if node.op == "starts with" else text.endswith(part)
        a = to_number(left, "number") if not isinstance(left, str) else left
        b = to_number(right, "number") if not isinstance(right, str) else right
        return _arithmetic(node.op, a, b)

    def equal(self, left: Any, right: Any) -> bool:
        if self.its and self.its[-1].app == KM and isinstance(left, str) and isinstance(right, str):
            return library.name_matches(left, right)  # KM 11's `whose` quirk (non-ASCII names)
        return equal(left, right)

    def test(self, condition: n.Node | None, candidate: Ref) -> bool:
        """A ``whose`` condition, with bare properties read from ``candidate``."""
        self.its.append(candidate)
        try:
            return to_boolean(self.value(condition)) if condition is not None else True
        finally:
            self.its.pop()

    def property(self, node: n.Prop) -> Any:
        if node.of_ is None and self.its:
            return self.its[-1].get(self.state, node.name)
        container = self.lazy(node.of_) if node.of_ is not None else self.target()
        if isinstance(container, ElemRef) and container.is_many():
            refs = container.select()
            try:
                return [ref.get(self.state, node.name) for ref in refs]
            except ScriptError:
                raise cant_get(f"{node.name} of {container.spec()}", container.app) from None
        if isinstance(container, ElemRef):
            container = container.one()
        if isinstance(container, Ref):
            self.wake(container.app)
            return container.get(self.state, node.name)
        if isinstance(container, list | str) and node.name == "length":
            return len(container)
        if isinstance(container, Record) and node.name in container:
            return container[node.name]
        if container is None and node.of_ is None:
            raise not_defined(node.name)
        raise cant_get(f"{node.name} of {source_text(container)}", None)

    def element(self, node: n.Elem) -> Any:
        container = self.lazy(node.of_) if node.of_ is not None else self.target()
        if isinstance(container, ElemRef) and not container.is_many():
            container = container.one()
        key: Any = None
        if node.how in ("index", "id", "name"):
            key = self.value(node.key) if node.key is not None else None
        if isinstance(container, list) and node.kind == "item":
            if node.how == "every":
                return container
            index = int(to_number(key, "integer"))
            position = index - 1 if index > 0 else len(container) + index
            if not 0 <= position < len(container):
                raise cant_get(f"item {index} of {source_text(container)}", None, index=True)
            return container[position]
        if container is None:
            raise cant_get(f"{node.kind}", None)
        if node.how == "none":
            raise ScriptError(-1728, f"Can’t get {node.kind}.", getattr(container, "app", None))
        return ElemRef(self, node, container, key)

    def owner(self, target: n.Prop) -> Ref:
        container = self.lazy(target.of_) if target.of_ is not None else self.target()
        if isinstance(container, ElemRef):
            container = container.one()
        if not isinstance(container, Ref):
            raise ScriptError(-10006, f"Can’t set {target.name} of {source_text(container)}.")
        return container

    def target(self) -> Any:
        return self.targets[-1] if self.targets else None

    def app(self) -> str | None:
        """The application the innermost ``tell`` addresses (None outside any)."""
        for target in reversed(self.targets):
            if isinstance(target, Ref) and target.app:
                return target.app
        return None

    def application(self, node: n.AppRef) -> Application:
        key = to_text(self.value(node.key))
        if node.by_id:
            app = system.application(self.state, bundle_id=key)
            if app is None:
                raise cant_get(f"application id {quoted(key)}", None)
            return Application(app["name"])
        return Application(self.canonical_app_name(key))

    def canonical_app_name(self, name: str) -> str:
        for known in (KM, KME, SE):
            if library.same(known, name):
                return known
        app = system.application(self.state, name=name)
        return app["name"] if app else name

    def known_application(self, name: str, by_id: bool) -> bool:
        if by_id:
            return system.application(self.state, bundle_id=name) is not None
        return self.canonical_app_name(name) in (KM, KME, SE) or bool(
            system.application(self.state, name=name)
        )

    def wake(self, app: str) -> None:
        """An event to a modelled application launches it, as AppleScript does."""
        if app:
            system.receive_event(self.state, app)

    # -- commands -----------------------------------------------------------------------

    def command(self, node: n.Command) -> Any:
        name = node.name
        if name in ("keystroke", "click", "editmacro"):
            raise Unmodelled(f"the “{name}” command (UI scripting)", node.start, node.end)
        if name in STANDARD_ADDITIONS:
            return self.standard_addition(node)
        handler = _COMMANDS.get(name)
        if handler is None:
            raise Unmodelled(f"the “{name}” command", node.start, node.end)
        return handler(self, node)

    def direct(self, node: n.Command) -> Any:
        if node.direct is None:
            raise ScriptError(-1715, f"The {node.name} command needs a direct parameter.")
        return self.value(node.direct)

    def param(self, node: n.Command, label: str, default: Any = NOTHING) -> Any:
        if label in node.params:
            return self.value(node.params[label])
        if default is NOTHING:
            raise ScriptError(-1715, f"The {node.name} command needs the {label} parameter.")
        return default

    def engine_app(self, node: n.Command) -> None:
        app = self.app()
        if app != KME:
            who = app or "osascript"
            raise ScriptError(-1708, f"{who} doesn’t understand the “{node.name}” message.", app)
        self.wake(KME)

    def standard_addition(self, node: n.Command) -> Any:
        if node.name == "delay":
            to_number(self.direct(node), "number")  # the model's clock never moves
            return NOTHING
        if node.name == "display notification":
            sound = self.param(node, "sound name", "")
            system.notify(
                self.state,
                to_text(self.direct(node)),
                to_text(self.param(node, "with title", "")),
                to_text(self.param(node, "subtitle", "")),
                to_text(sound) if not isinstance(sound, FileRef) else sound.path,
            )
            return NOTHING
        return self.alert(node)

    def alert(self, node: n.Command) -> Record:
        buttons = [to_text(b) for b in self.param(node, "buttons", [])] or ["OK"]
        default = self.param(node, "default button", None)
        if isinstance(default, int) and not isinstance(default, bool):
            default = buttons[default - 1] if 1 <= default <= len(buttons) else None
        giving_up = self.param(node, "giving up after", None)
        seconds = float(to_number(giving_up, "number")) if giving_up is not None else None
        clicked = system.alert(
            self.state,
            to_text(self.direct(node)),
            to_text(self.param(node, "message", "")),
            buttons,
            to_text(default) if default is not None else None,
            seconds,
        )
        answer = Record({"button returned": clicked})
        if seconds is not None:
            answer["gave up"] = False
        return answer


def _arithmetic(op: str, a: Any, b: Any) -> Any:
    if op in ("<", ">", "≤", "≥"):
        if isinstance(a, str) != isinstance(b, str):
            a, b = to_text(a), to_text(b)
        return {"<": a < b, ">": a > b, "≤": a <= b, "≥": a >= b}[op]
    a, b = to_number(a, "number"), to_number(b, "number")
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "^":
        return float(a) ** float(b)
    if b == 0:
        raise ScriptError(-2701, "Can’t divide by zero.")
    if op == "/":
        return a / b
    if op == "div":
        return int(a // b)
    return a % b


def check_applications(body: list[n.Node], known: Any) -> None:
    """Applications named in ``tell application "…"`` must exist when the script compiles."""
    for node in _walk(body):
        if isinstance(node, n.AppRef) and isinstance(node.key, n.Literal):
            name = str(node.key.value)
            if not known(name, node.by_id):
                shown = (
                    f"application id {quoted(name)}"
                    if node.by_id
                    else f"application {quoted(name)}"
                )
                raise ScriptSyntaxError(f"Can’t get {shown}.", -1728, node.start, node.end)


def _walk(value: Any) -> Iterator[n.Node]:
    if isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, n.Node):
        yield value
        for child in vars(value).values():
            yield from _walk(child)
    elif isinstance(value, dict):
        for child in value.values():
            yield from _walk(child)


# -- command handlers -------------------------------------------------------------------


def _getvariable(interp: Interpreter, node: n.Command) -> Any:
    interp.engine_app(node)
    instance = interp.param(node, "instance", None)
    name = to_text(interp.direct(node))
    return km_engine.get_variable(interp.state, name, to_text(instance) if instance else None)


def _setvariable(interp: Interpreter, node: n.Command) -> Any:
    interp.engine_app(node)
    instance = interp.param(node, "instance", None)
    value = to_text(interp.param(node, "to"))
    km_engine.set_variable(
        interp.state, to_text(interp.direct(node)), value, to_text(instance) if instance else None
    )
    return NOTHING


def _do_script(interp: Interpreter, node: n.Command) -> Any:
    interp.engine_app(node)
    parameter = to_text(interp.param(node, "with parameter", ""))
    try:
        return km_engine.do_script(interp.state, to_text(interp.direct(node)), parameter)
    except library.Refused as refused:
        raise ScriptError(-2700, refused.message, KME) from refused


def _process_tokens(interp: Interpreter, node: n.Command) -> Any:
    interp.engine_app(node)
    return km_engine.process_tokens(interp.state, to_text(interp.direct(node)))


def _calculate(interp: Interpreter, node: n.Command) -> Any:
    interp.engine_app(node)
    try:
        return km_engine.calculate_text(interp.state, to_text(interp.direct(node)))
    except CalcError as problem:
        raise ScriptError(-2700, problem.message, KME) from problem


def _reload(interp: Interpreter, node: n.Command) -> Any:
    interp.engine_app(node)
    return NOTHING


def _refs(interp: Interpreter, node: n.Command) -> list[Ref]:
    target = interp.lazy(node.direct) if node.direct is not None else interp.target()
    if isinstance(target, ElemRef):
        return target.select()
    if isinstance(target, list):
        return [t for t in target if isinstance(t, Ref)]
    if isinstance(target, Ref):
        return [target]
    raise ScriptError(-1708, f"Can’t {node.name} {source_text(target)}.")


def _exists(interp: Interpreter, node: n.Command) -> Any:
    target = interp.lazy(node.direct) if node.direct is not None else interp.target()
    if isinstance(target, Ref):
        interp.wake(target.app)
        return target.exists(interp.state)
    return target is not None


def _count(interp: Interpreter, node: n.Command) -> Any:
    target = interp.lazy(node.direct) if node.direct is not None else interp.target()
    if isinstance(target, ElemRef):
        return len(target.select())
    if isinstance(target, list | str):
        return len(target)
    raise ScriptError(-1708, f"Can’t count {source_text(target)}.")


def _get(interp: Interpreter, node: n.Command) -> Any:
    return interp.direct(node)


def _delete(interp: Interpreter, node: n.Command) -> Any:
    refs = _refs(interp, node)
    for ref in reversed(refs):  # later elements first, so indexes stay right
        interp.wake(ref.app)
        ref.delete(interp.state)
    return NOTHING


def _duplicate(interp: Interpreter, node: n.Command) -> Any:
    copies: list[Ref] = []
    for ref in _refs(interp, node):
        if not isinstance(ref, MacroRef):
            raise ScriptError(-10000, library.HANDLER_FAILED, ref.app)
        copy = library.duplicate_macro(interp.state, ref.resolve(interp.state))
        copies.append(MacroRef(copy["uid"]))
    return copies


def _move(interp: Interpreter, node: n.Command) -> Any:
    destination = interp.value(node.params["to"]) if "to" in node.params else None
    if not isinstance(destination, GroupRef):
        raise ScriptError(-10000, library.HANDLER_FAILED, KM)
    group = destination.resolve(interp.state)
    for ref in _refs(interp, node):
        if not isinstance(ref, MacroRef):
            raise ScriptError(-10000, library.HANDLER_FAILED, ref.app)
        library.move_macro(interp.state, ref.resolve(interp.state), group)
    return NOTHING


def _make(interp: Interpreter, node: n.Command) -> Any:
    kind = node.new_kind or ""
    raw = interp.param(node, "with properties", Record())
    props = raw if isinstance(raw, Record) else Record()
    state = interp.state
    if kind == "macro group":
        interp.wake(KM)
        return GroupRef(
            library.create_group(state, to_text(props.get("name", "Untitled Group")))["uid"]
        )
    if kind in ("trigger", "action"):
        where = interp.lazy(node.params["at"]) if "at" in node.params else interp.target()
        if isinstance(where, ElemRef):
            where = where.one()
        if not isinstance(where, MacroRef):
            raise ScriptError(-10000, library.HANDLER_FAILED, KM)
        macro = where.resolve(state)
        xml = to_text(props.get("xml", ""))
        try:
            if kind == "trigger":
                library.add_trigger(state, macro, xml)
                return TriggerRef(macro["uid"], len(macro["triggers"]))
            library.add_action(state, macro, xml)
        except library.Refused as refused:
            raise ScriptError(-10000, refused.message, KM) from refused
        return ActionRef(macro["uid"], len(macro["actions"]))
    # KM 11 has no `make new macro` (the real server's audit saw "AppleEvent handler failed").
    raise ScriptError(-10000, library.HANDLER_FAILED, interp.app())


def _open(interp: Interpreter, node: n.Command) -> Any:
    app = interp.app()
    item = interp.direct(node)
    if app != KM or not isinstance(item, FileRef):
        raise Unmodelled("opening a file in an application other than Keyboard Maestro")
    interp.wake(KM)
    try:
        library.import_document(interp.state, interp.read_file(item.path))
    except OSError:
        raise ScriptError(-43, f"File {item.spec()} wasn’t found.", KM) from None
    except library.Refused as refused:
        raise ScriptError(-10000, refused.message, KM) from refused
    return NOTHING


def _activate(interp: Interpreter, node: n.Command) -> Any:
    target = interp.target()
    if not isinstance(target, Application) or target.name in (SE, KME):
        return NOTHING
    app = system.application(interp.state, name=target.name)
    if app is None:
        raise cant_get(target.spec(), None)
    system.launch(interp.state, app, front=True)
    return NOTHING


def _quit(interp: Interpreter, node: n.Command) -> Any:
    target = interp.target()
    if isinstance(target, Application):
        process = system.process_named(interp.state, target.name)
        if process is not None:
            system.quit_process(interp.state, process)
    return NOTHING


_COMMANDS: dict[str, Any] = {
    "getvariable": _getvariable,
    "setvariable": _setvariable,
    "do script": _do_script,
    "process tokens": _process_tokens,
    "calculate": _calculate,
    "reload": _reload,
    "exists": _exists,
    "count": _count,
    "get": _get,
    "delete": _delete,
    "duplicate": _duplicate,
    "move": _move,
    "make": _make,
    "open": _open,
    "activate": _activate,
    "quit": _quit,
}

__all__ = ["EDITOR_NAME", "Interpreter"]
