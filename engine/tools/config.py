"""The configuration file (TOML): upstream server, MCP permission ceiling, profiles,
automatic updates.

It lives in the data folder (``config.toml``); ``KM_ACTIONS_CONFIG`` or ``--config``
point elsewhere. A missing file means the defaults: the built-in simulator, the
``standard`` profile, and MCP callers limited to read-only and writing operations.

>>> settings = Settings.from_data({"security": {"ceiling": ["read-only"]}})
>>> settings.ceiling, settings.default_profile.value, settings.upstream
(('read-only',), 'standard', None)
"""

from __future__ import annotations

import math
import os
import re
import shlex
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tomli_w

from engine.diagnostics.errors import ConfigError
from engine.diagnostics.suggestions import did_you_mean
from engine.diagnostics.words import INT_HINT
from engine.lang.limits import NUMERIC_LIMITS, Limits, Profile
from engine.paths import home, write_atomically
from engine.tools import install_folders
from engine.tools.catalog import ALL_GROUP, DOMAIN_GROUPS, CatalogTools, ToolCatalog, ToolClass
from engine.tools.older_tools import OLDER_GROUPS

ENV_CONFIG = "KM_ACTIONS_CONFIG"
DEFAULT_CEILING = ("read-only", "write")
_LIMIT_NAMES = frozenset(NUMERIC_LIMITS)

_SECTIONS: dict[str, frozenset[str]] = {
    "upstream": frozenset({"command", "url", "env", "cwd", "timeout", "connect_timeout"}),
    "security": frozenset(
        {"default_profile", "ceiling", "allow_mcp_overwrite", "allowed_hosts", "install_paths"}
    ),
    "tools": frozenset({"per_action", "disabled"}),
    "limits": frozenset(p.value for p in Profile),
    "updates": frozenset({"automatic", "interval"}),
    "catalog": frozenset({"tools"}),
}


@dataclass(frozen=True)
class UpstreamConfig:
    """How to reach the Keyboard Maestro MCP server: a command (stdio) or a URL."""

    command: tuple[str, ...] | None = None
    url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    timeout: float = 30.0
    connect_timeout: float = 20.0

    def describe(self) -> str:
        """The command (as a shell would read it) or the URL (without any password): how
        users are shown which server this is.

        >>> UpstreamConfig(command=("uv", "run", "km mcp")).describe()
        "uv run 'km mcp'"
        >>> UpstreamConfig(url="http://ann:secret@127.0.0.1:8000/mcp").describe()
        'http://127.0.0.1:8000/mcp'
        """
        return shown_url(self.url) if self.url else shlex.join(self.command or ())


def shown_url(url: str) -> str:
    """The URL without any user:password part, fit to appear in messages and logs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


@dataclass(frozen=True)
class Settings:
    """Everything the configuration file can say, with defaults filled in."""

    path: Path | None = None
    upstream: UpstreamConfig | None = None
    default_profile: Profile = Profile.STANDARD
    ceiling: tuple[str, ...] = DEFAULT_CEILING
    allow_mcp_overwrite: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    # The folders MCP callers may install local plugin sources from (besides those of the
    # marketplace indexes the user added on this machine): absolute, ``~`` expanded.
    install_paths: tuple[Path, ...] = ()
    action_tools: bool = True
    disabled_action_tools: frozenset[str] = frozenset()
    limit_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # `km-actions serve` updates the plugins with auto_update on: at start, then every
    # `update_interval` seconds (``[updates] automatic = false`` turns it off).
    automatic_updates: bool = True
    update_interval: float = 3600.0
    # The tools offline checks know without a saved tool list: the current server's, or
    # (``[catalog] tools = "2025"``) the 2025 server's too.
    catalog_tools: CatalogTools = CatalogTools.CURRENT

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, path: Path | None = None) -> Settings:
        """Build from parsed TOML, refusing unknown sections and keys."""
        where = str(path) if path else "the configuration"
        for section, value in data.items():
            if section not in _SECTIONS:
                raise _error(
                    where, section, f"unknown section [{section}]", did_you_mean(section, _SECTIONS)
                )
            if not isinstance(value, Mapping):
                raise _error(where, section, f"[{section}] must be a table")
            for key in value:
                if key not in _SECTIONS[section]:
                    raise _error(
                        where,
                        f"{section}.{key}",
                        f"unknown key {section}.{key}",
                        did_you_mean(str(key), _SECTIONS[section]),
                    )
        security = data.get("security", {})
        tools = data.get("tools", {})
        updates = data.get("updates", {})
        catalog = data.get("catalog", {})
        return cls(
            path=path,
            upstream=_upstream(data.get("upstream"), where),
            default_profile=_profile(security.get("default_profile", "standard"), where),
            ceiling=_ceiling(security.get("ceiling", list(DEFAULT_CEILING)), where),
            allow_mcp_overwrite=_bool(
                security.get("allow_mcp_overwrite", False), where, "security.allow_mcp_overwrite"
            ),
            allowed_hosts=_hosts(security.get("allowed_hosts", []), where),
            install_paths=_folders(security.get("install_paths", []), where),
            action_tools=_bool(tools.get("per_action", True), where, "tools.per_action"),
            disabled_action_tools=frozenset(
                _strings(tools.get("disabled", []), where, "tools.disabled")
            ),
            limit_overrides=_limits(data.get("limits", {}), where),
            automatic_updates=_bool(updates.get("automatic", True), where, "updates.automatic"),
            update_interval=_seconds(updates.get("interval", 3600.0), where, "updates.interval"),
            catalog_tools=_catalog_tools(catalog.get("tools", "current"), where),
        )

    def shipped_catalog(self) -> ToolCatalog:
        """The catalog km-actions ships, with the tools ``[catalog] tools`` chooses.

        >>> len(Settings.from_data({"catalog": {"tools": "2025"}}).shipped_catalog())
        47
        """
        return ToolCatalog.builtin(self.catalog_tools)

    def limits_for(self, profile: Profile) -> Limits:
        """A profile's limits with this file's overrides applied."""
        overrides = self.limit_overrides.get(profile.value)
        return profile.limits.with_overrides(**overrides) if overrides else profile.limits


def config_path(explicit: str | Path | None = None) -> Path:
    """Which configuration file is used: the argument, ``KM_ACTIONS_CONFIG``, or the default."""
    if explicit:
        return Path(explicit).expanduser()
    configured = os.environ.get(ENV_CONFIG)
    return Path(configured).expanduser() if configured else home() / "config.toml"


def load_settings(path: str | Path | None = None) -> Settings:
    """Read the configuration file (the defaults when it does not exist)."""
    target = config_path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return Settings(path=target)
    except OSError as exc:
        raise ConfigError(f"cannot read {target}: {exc.strerror}", file=str(target)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{target} is not valid TOML: {exc}",
            file=str(target),
            hint="see docs/mcp.md for the format",
        ) from None
    return Settings.from_data(_read_toml(text, target), path=target)


def _read_toml(text: str, target: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{target} is not valid TOML: {exc}",
            file=str(target),
            hint="see docs/mcp.md for the format",
        ) from None
    except ValueError:  # int() past Python's digit limit: tomllib does not catch it
        raise ConfigError(
            f"{target} is not valid TOML: a whole number in it has more digits than "
            f"{sys.get_int_max_str_digits():,}",
            file=str(target),
            hint=INT_HINT,
        ) from None


def set_value(path: str | Path | None, key: str, value: Any) -> Path:
    """Set ``section.key`` (validated with the rest of the file) and write the file."""
    target = config_path(path)
    try:
        data = _read_toml(target.read_text("utf-8"), target)
    except FileNotFoundError:
        data = {}
    except OSError as exc:  # a name too long, a loop of links: said, as load_settings does
        raise ConfigError(f"cannot read {target}: {exc.strerror}", file=str(target)) from None
    section, _, name = key.partition(".")
    if not name:
        raise ConfigError(
            f"{key!r} is not a setting name", hint="write section.key, e.g. security.ceiling"
        )
    data.setdefault(section, {})[name] = value
    settings = Settings.from_data(data, path=target)  # refuse anything invalid before writing
    if key == "security.install_paths":
        problem = install_folders.holding_the_store(settings.install_paths, home())
        if problem is not None:
            raise ConfigError(problem.message, hint=problem.hint)
    write_atomically(target, tomli_w.dumps(data))
    return target


def _error(where: str, key: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(f"{where}: {message}", hint=hint or "see docs/mcp.md for every setting")


def _upstream(value: Any, where: str) -> UpstreamConfig | None:
    if not value:
        return None
    command, url = value.get("command"), value.get("url")
    if (command is None) == (url is None):
        raise _error(where, "upstream", "[upstream] needs exactly one of `command` or `url`")
    if command is not None:
        if isinstance(command, str):
            command = [command]
        command = tuple(_strings(command, where, "upstream.command"))
        if not command:
            raise _error(where, "upstream.command", "upstream.command is empty")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise _error(where, "upstream.url", "upstream.url must be an http:// or https:// URL")
    env = value.get("env", {})
    if not isinstance(env, Mapping) or not all(isinstance(v, str) for v in env.values()):
        raise _error(where, "upstream.env", "upstream.env must be a table of text values")
    return UpstreamConfig(
        command=command,
        url=url,
        env=dict(env),
        cwd=value.get("cwd"),
        timeout=_seconds(value.get("timeout", 30.0), where, "upstream.timeout"),
        connect_timeout=_seconds(
            value.get("connect_timeout", 20.0), where, "upstream.connect_timeout"
        ),
    )


def _catalog_tools(value: Any, where: str) -> CatalogTools:
    if isinstance(value, int) and not isinstance(value, bool):
        # `tools = 2025` in the file, or `km-actions config set catalog.tools 2025` (which
        # reads the value as JSON): the year, written as a number.
        value = str(value)
    try:
        return CatalogTools(value)
    except ValueError:
        choices = [c.value for c in CatalogTools]
        raise _error(
            where,
            "catalog.tools",
            f"catalog.tools must be one of {', '.join(repr(c) for c in choices)}, not {value!r}",
            'write "current" (the current Keyboard Maestro MCP server\'s tools) or "2025" '
            "(and those only its 2025 version had)",
        ) from None


def _seconds(value: Any, where: str, key: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < math.inf:
        raise _error(where, key, f"{key} must be a number of seconds")
    return float(value)


def _profile(value: Any, where: str) -> Profile:
    try:
        return Profile(value)
    except ValueError:
        raise _error(
            where,
            "security.default_profile",
            f"unknown profile {value!r}",
            did_you_mean(str(value), [p.value for p in Profile]),
        ) from None


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _error(where, key, f"{key} must be a list of text values")
    return tuple(value)


def _ceiling(value: Any, where: str) -> tuple[str, ...]:
    """Tool groups (classes like ``write``, domains like ``clipboard``, or ``all``), tool
    names and operations (``km_variable_manager:get``). A tool the shipped catalog lacks
    is accepted (the upstream may offer it); an operation of one it has must be one of
    that tool's."""
    entries = _strings(value, where, "security.ceiling")
    groups = [ALL_GROUP, *(c.value for c in ToolClass), *DOMAIN_GROUPS, *OLDER_GROUPS]
    shipped = ToolCatalog.builtin()
    for entry in entries:
        tool = entry.partition(":")[0]
        if entry in groups or (tool.startswith("km_") and tool not in shipped):
            continue
        problem = shipped.permission_problem(entry) if tool.startswith("km_") else None
        if problem is not None:
            raise _error(where, "security.ceiling", f"security.ceiling: {problem[0]}", problem[1])
        if not tool.startswith("km_"):
            raise _error(
                where,
                "security.ceiling",
                f"security.ceiling: {entry!r} is neither a tool group nor a km_* tool",
                did_you_mean(entry, groups),
            )
    return entries


_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def _hosts(value: Any, where: str) -> frozenset[str]:
    """Host names MCP callers may install from by URL (lower case, no trailing dot)."""
    out = set()
    for entry in _strings(value, where, "security.allowed_hosts"):
        host = entry.lower().rstrip(".")
        if not _HOST.fullmatch(host):
            raise _error(
                where,
                "security.allowed_hosts",
                f"security.allowed_hosts: {entry!r} is not a host name",
                'write the host alone, without scheme, port or path: "plugins.example.org"',
            )
        out.add(host)
    return frozenset(out)


def _folders(value: Any, where: str) -> tuple[Path, ...]:
    """Folders MCP callers may install local sources from (see :mod:`install_folders`)."""
    out: list[Path] = []
    for entry in _strings(value, where, "security.install_paths"):
        folder = install_folders.folder(entry)
        if isinstance(folder, install_folders.Problem):
            raise _error(where, "security.install_paths", folder.message, folder.hint)
        out.append(folder)
    return tuple(dict.fromkeys(out))


def _bool(value: Any, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise _error(where, key, f"{key} must be true or false")
    return value


def _limits(value: Any, where: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for profile, overrides in value.items():
        if not isinstance(overrides, Mapping):
            raise _error(where, f"limits.{profile}", f"[limits.{profile}] must be a table")
        for name, number in overrides.items():
            if name not in _LIMIT_NAMES:
                raise _error(
                    where,
                    f"limits.{profile}.{name}",
                    f"unknown limit {name}",
                    did_you_mean(str(name), _LIMIT_NAMES),
                )
            if isinstance(number, bool) or not isinstance(number, int | float) or number <= 0:
                raise _error(
                    where,
                    f"limits.{profile}.{name}",
                    f"limits.{profile}.{name} must be a positive number",
                )
        out[profile] = dict(overrides)
    return out
