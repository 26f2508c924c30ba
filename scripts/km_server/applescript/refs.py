"""Application objects as AppleScript sees them: references into the Keyboard Maestro model.

A reference knows the application it belongs to (errors are "<app> got an error: …"),
its AppleScript text, how to find its object in the model, its properties and elements.
What Keyboard Maestro itself decides comes from ``engine.simulator.km``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.simulator.km import engine as km_engine
from engine.simulator.km import library, plist, system
from engine.simulator.km.state import EDITOR_NAME, ENGINE_PROCESS, KMState

from .errors import ScriptError, Unmodelled, cant_get

KM = EDITOR_NAME
KME = ENGINE_PROCESS
SE = "System Events"


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Ref:
    """A reference to an application object (lazy: found in the model when used)."""

    app: str = ""

    def spec(self) -> str:
        """The reference as AppleScript writes it, without ``of application …``."""
        raise NotImplementedError

    def source(self) -> str:
        return f"{self.spec()} of application {quoted(self.app)}"

    def resolve(self, state: KMState) -> Any:
        """The model object; a ``Can’t get`` error when it does not exist."""
        raise NotImplementedError

    def exists(self, state: KMState) -> bool:
        try:
            self.resolve(state)
        except ScriptError:
            return False
        return True

    def get(self, state: KMState, prop: str) -> Any:
        raise cant_get(f"{prop} of {self.spec()}", self.app)

    def set(self, state: KMState, prop: str, value: Any) -> None:
        raise ScriptError(-10006, f"Can’t set {prop} of {self.spec()} to {value!r}.", self.app)

    def children(self, state: KMState, kind: str) -> list[Ref]:
        """The canonical references of this object's elements of class ``kind``."""
        raise cant_get(f"every {kind} of {self.spec()}", self.app)

    def delete(self, state: KMState) -> None:
        raise ScriptError(-10000, library.HANDLER_FAILED, self.app)

    def of_suffix(self) -> str:
        return f" of {self.spec()}"

    def same_as(self, other: object) -> bool:
        return isinstance(other, Ref) and other.source() == self.source()


# -- applications ---------------------------------------------------------------------


@dataclass(eq=False)
class Application(Ref):
    name: str

    def __post_init__(self) -> None:
        self.app = self.name

    def spec(self) -> str:
        return f"application {quoted(self.name)}"

    def source(self) -> str:
        return self.spec()

    def of_suffix(self) -> str:
        return ""

    def resolve(self, state: KMState) -> Any:
        return self

    def get(self, state: KMState, prop: str) -> Any:
        if prop == "version" and self.name in (KM, KME):
            return str(state.keyboard_maestro.get("version", ""))
        if prop == "name":
            return self.name
        return super().get(state, prop)

    def children(self, state: KMState, kind: str) -> list[Ref]:
        if self.name == KM and kind == "macro group":
            return [GroupRef(g["uid"]) for g in state.groups]
        if self.name == KM and kind == "macro":
            return [MacroRef(m["uid"]) for _, m in library.all_macros(state)]
        if self.name == KME and kind == "variable":
            return [VariableRef(name) for name in km_engine.variable_names(state)]
        if self.name == SE and kind in ("process", "application process"):
            return [ProcessRef(p["name"]) for p in system.processes(state)]
        if self.name == SE and kind == "desktop":
            return [DesktopRef(1)]
        if self.name == SE and kind in ("window", "menu bar", "ui element"):
            raise Unmodelled(f"System Events {kind} elements outside a process")
        return super().children(state, kind)


# -- Keyboard Maestro (the editor) -------------------------------------------------------


@dataclass(eq=False)
class GroupRef(Ref):
    uid: str
    app = KM

    def spec(self) -> str:
        return f"macro group id {quoted(self.uid)}"

    def resolve(self, state: KMState) -> library.Group:
        group = library.group_by_uid(state, self.uid)
        if group is None:
            raise cant_get(self.spec(), KM)
        return group

    def get(self, state: KMState, prop: str) -> Any:
        group = self.resolve(state)
        if prop in ("name", "enabled"):
            return group[prop]
        if prop == "id":
            return group["uid"]
        return super().get(state, prop)

    def set(self, state: KMState, prop: str, value: Any) -> None:
        group = self.resolve(state)
        if prop == "name" and isinstance(value, str):
            group["name"] = value
        elif prop == "enabled" and isinstance(value, bool):
            group["enabled"] = value
        else:
            super().set(state, prop, value)

    def children(self, state: KMState, kind: str) -> list[Ref]:
        group = self.resolve(state)
        if kind == "macro":
            return [MacroRef(m["uid"]) for m in group["macros"]]
        return super().children(state, kind)

    def delete(self, state: KMState) -> None:
        library.delete_group(state, self.resolve(state))


@dataclass(eq=False)
class MacroRef(Ref):
    uid: str
    app = KM

    def spec(self) -> str:
        return f"macro id {quoted(self.uid)}"

    def resolve(self, state: KMState) -> library.Macro:
        found = library.macro_by_uid(state, self.uid)
        if found is None:
            raise cant_get(self.spec(), KM)
        return found[1]

    def canonical(self, state: KMState) -> str:
        group = library.group_of(state, self.resolve(state))
        return f"{self.spec()} of macro group id {quoted(group['uid'])}"

    def get(self, state: KMState, prop: str) -> Any:
        macro = self.resolve(state)
        if prop in ("name", "enabled"):
            return macro[prop]
        if prop == "id":
            return macro["uid"]
        if prop == "xml":
            return plist.document(library.macro_plist(macro))
        if prop == "macro group":
            return GroupRef(library.group_of(state, macro)["uid"])
        return super().get(state, prop)

    def set(self, state: KMState, prop: str, value: Any) -> None:
        macro = self.resolve(state)
        if prop == "name" and isinstance(value, str):
            macro["name"] = value
        elif prop == "enabled" and isinstance(value, bool):
            macro["enabled"] = value
        else:
            super().set(state, prop, value)
            return
        library.touch(state, macro)

    def children(self, state: KMState, kind: str) -> list[Ref]:
        macro = self.resolve(state)
        if kind == "trigger":
            return [TriggerRef(self.uid, i) for i in range(1, len(macro["triggers"]) + 1)]
        if kind == "action":
            return [ActionRef(self.uid, i) for i in range(1, len(macro["actions"]) + 1)]
        return super().children(state, kind)

    def delete(self, state: KMState) -> None:
        library.delete_macro(state, self.resolve(state))


@dataclass(eq=False)
class _MacroPartRef(Ref):
    macro_uid: str
    index: int
    app = KM
    kind = ""
    table = ""

    def spec(self) -> str:
        return f"{self.kind} {self.index} of macro id {quoted(self.macro_uid)}"

    def entries(self, state: KMState) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = MacroRef(self.macro_uid).resolve(state)[self.table]
        return entries

    def resolve(self, state: KMState) -> dict[str, Any]:
        entries = self.entries(state)
        if not 1 <= self.index <= len(entries):
            raise cant_get(self.spec(), KM, index=True)
        return entries[self.index - 1]

    def delete(self, state: KMState) -> None:
        entries = self.entries(state)
        entries.remove(self.resolve(state))
        library.touch(state, MacroRef(self.macro_uid).resolve(state))


class TriggerRef(_MacroPartRef):
    kind, table = "trigger", "triggers"

    def get(self, state: KMState, prop: str) -> Any:
        description, xml = library.trigger_texts(self.resolve(state))
        if prop == "description":
            return description
        if prop == "xml":
            return xml
        return super().get(state, prop)

    def set(self, state: KMState, prop: str, value: Any) -> None:
        self.resolve(state)
        if prop != "xml" or not isinstance(value, str):
            super().set(state, prop, value)
            return
        try:
            library.set_trigger(state, MacroRef(self.macro_uid).resolve(state), self.index, value)
        except library.Refused as refused:
            raise ScriptError(-10000, refused.message, KM) from refused


class ActionRef(_MacroPartRef):
    kind, table = "action", "actions"

    def get(self, state: KMState, prop: str) -> Any:
        action = self.resolve(state)
        name, enabled = library.action_texts(state, action)
        if prop == "name":
            return name
        if prop == "enabled":
            return enabled
        if prop == "xml":
            return plist.document(action)
        return super().get(state, prop)


# -- Keyboard Maestro Engine ----------------------------------------------------------------


@dataclass(eq=False)
class VariableRef(Ref):
    name: str
    app = KME

    def spec(self) -> str:
        return f"variable {quoted(self.name)}"

    def resolve(self, state: KMState) -> str:
        if km_engine.variable_kind(self.name) == "password":
            table = state.password_variables
        else:
            table = state.variables
        if self.name not in table:
            raise cant_get(self.spec(), KME)
        return table[self.name]

    def get(self, state: KMState, prop: str) -> Any:
        value = self.resolve(state)
        if prop == "name":
            return self.name
        if prop == "value":
            return value
        return super().get(state, prop)

    def set(self, state: KMState, prop: str, value: Any) -> None:
        if prop == "value" and isinstance(value, str):
            km_engine.set_variable(state, self.name, value)
        else:
            super().set(state, prop, value)

    def delete(self, state: KMState) -> None:
        self.resolve(state)
        km_engine.delete_variable(state, self.name)


# -- System Events --------------------------------------------------------------------------


@dataclass(eq=False)
class ProcessRef(Ref):
    name: str
    app = SE

    def spec(self) -> str:
        return f"process {quoted(self.name)}"

    def canonical(self) -> str:
        return f"application process {quoted(self.name)}"

    def resolve(self, state: KMState) -> system.Process:
        process = system.process_named(state, self.name)
        if process is None:
            raise cant_get(self.spec(), SE)
        return process

    def get(self, state: KMState, prop: str) -> Any:
        process = self.resolve(state)
        props = {
            "name": process["name"],
            "frontmost": bool(process.get("frontmost", False)),
            "background only": bool(process.get("background_only", False)),
            "visible": bool(process.get("visible", True)),
            "bundle identifier": process.get("bundle_id", ""),
        }
        if prop in props:
            return props[prop]
        return super().get(state, prop)

    def set(self, state: KMState, prop: str, value: Any) -> None:
        process = self.resolve(state)
        if prop == "visible" and isinstance(value, bool):
            process["visible"] = value
            if not value:
                process["frontmost"] = False
        elif prop == "frontmost" and value is True:
            system.activate(state, process)
        else:
            super().set(state, prop, value)

    def children(self, state: KMState, kind: str) -> list[Ref]:
        process = self.resolve(state)
        if kind == "window":
            return [WindowRef(self.name, i) for i in range(1, len(process.get("windows", [])) + 1)]
        if kind in ("menu bar", "menu", "menu item", "ui element"):
            raise Unmodelled(f"the {kind} elements of a process (UI scripting of menus)")
        return super().children(state, kind)


@dataclass(eq=False)
class WindowRef(Ref):
    process: str
    index: int
    app = SE

    def spec(self) -> str:
        return f"window {self.index} of process {quoted(self.process)}"

    def resolve(self, state: KMState) -> dict[str, Any]:
        windows = ProcessRef(self.process).resolve(state).get("windows", [])
        if not 1 <= self.index <= len(windows):
            raise cant_get(self.spec(), SE, index=True)
        window: dict[str, Any] = windows[self.index - 1]
        return window

    def get(self, state: KMState, prop: str) -> Any:
        window = self.resolve(state)
        if prop == "position":
            return list(window["position"])
        if prop == "size":
            return list(window["size"])
        if prop in ("title", "name"):
            return window["title"]
        return super().get(state, prop)

    def set(self, state: KMState, prop: str, value: Any) -> None:
        window = self.resolve(state)
        pair = value if isinstance(value, list) and len(value) == 2 else None
        if prop in ("position", "size") and pair and all(isinstance(v, int) for v in pair):
            window[prop] = list(pair)
        else:
            super().set(state, prop, value)

    def children(self, state: KMState, kind: str) -> list[Ref]:
        self.resolve(state)
        if kind == "attribute":
            return [AttributeRef(self, name) for name in ATTRIBUTES]
        return super().children(state, kind)


ATTRIBUTES = {"AXMinimized": "minimized", "AXFullScreen": "fullscreen", "AXTitle": "title"}


@dataclass(eq=False)
class AttributeRef(Ref):
    window: WindowRef
    name: str
    app = SE

    def spec(self) -> str:
        return f"attribute {quoted(self.name)} of {self.window.spec()}"

    def resolve(self, state: KMState) -> dict[str, Any]:
        window = self.window.resolve(state)
        if self.name not in ATTRIBUTES:
            raise cant_get(self.spec(), SE)
        return window

    def get(self, state: KMState, prop: str) -> Any:
        window = self.resolve(state)
        if prop == "value":
            key = ATTRIBUTES[self.name]
            return window.get(key, False if key != "title" else "")
        if prop == "name":
            return self.name
        return super().get(state, prop)

    def set(self, state: KMState, prop: str, value: Any) -> None:
        window = self.resolve(state)
        key = ATTRIBUTES[self.name]
        if prop == "value" and key != "title" and isinstance(value, bool):
            window[key] = value
        else:
            super().set(state, prop, value)


@dataclass(eq=False)
class DesktopRef(Ref):
    index: int
    app = SE

    def spec(self) -> str:
        return f"desktop {self.index}"

    def resolve(self, state: KMState) -> Any:
        return self


@dataclass(eq=False)
class FileRef(Ref):
    path: str
    app = ""

    def spec(self) -> str:
        return f"file {quoted(self.path.lstrip('/').replace('/', ':'))}"

    def source(self) -> str:
        return self.spec()

    def resolve(self, state: KMState) -> Any:
        return self
