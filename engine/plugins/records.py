"""Rows of the store as frozen records, and the SQL that reads and writes them.

Longer than 400 lines: every table's record and its SQL, kept together so that only this
module and ``_db`` know the tables.

Only this module and :mod:`engine.plugins._db` know the tables; everything else works
with :class:`InstalledPlugin` and friends.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.plugins._db import now
from engine.plugins.lock import LockEntry


@dataclass(frozen=True, slots=True)
class GrantEntry:
    """One granted permission: a tool or group, and whether it names a tool itself."""

    entry: str
    explicit: bool


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """An installed action, as much as listing and validation need (no YAML parsed)."""

    name: str
    path: str
    description: str
    inputs: Mapping[str, Any]
    outputs: tuple[str, ...]
    calls: tuple[str, ...]


@dataclass(frozen=True)
class InstalledPlugin:
    """One installed plugin: its current version and how it got there."""

    identifier: str
    version: str
    folder: str
    digest: str
    enabled: bool
    source_kind: str
    source_ref: str
    origin: str
    auto_update: bool
    profile: str
    installed_at: str
    updated_at: str
    api_version: str
    plugin_type: str
    name: str
    description: str
    metadata: Mapping[str, Any] = field(repr=False)
    source_detail: Mapping[str, Any] = field(default_factory=dict, repr=False)
    cache: str | None = None

    @property
    def dependencies(self) -> dict[str, str]:
        deps = self.metadata.get("dependencies")
        return dict(deps) if isinstance(deps, Mapping) else {}

    @property
    def configuration_schema(self) -> Mapping[str, Any] | None:
        schema = self.metadata.get("configuration_schema")
        return schema if isinstance(schema, Mapping) else None

    @property
    def permissions(self) -> tuple[str, ...]:
        """The permissions the plugin asks for (the grant is :func:`read_grant`)."""
        return tuple(self.metadata.get("permissions") or ())

    @property
    def resource_limits(self) -> dict[str, float]:
        """The limits the plugin declares for itself (``resource_limits``), which tighten
        those of its profile."""
        declared = self.metadata.get("resource_limits")
        return dict(declared) if isinstance(declared, Mapping) else {}


_PLUGIN_COLUMNS = (
    "p.identifier, p.version, v.folder, v.digest, p.enabled, p.source_kind, p.source_ref, "
    "p.origin, p.auto_update, p.profile, p.installed_at, p.updated_at, v.api_version, "
    "v.plugin_type, v.name, v.description, v.metadata, p.source_detail, v.cache"
)


def _plugin(row: tuple[Any, ...]) -> InstalledPlugin:
    return InstalledPlugin(
        identifier=row[0],
        version=row[1],
        folder=row[2],
        digest=row[3],
        enabled=bool(row[4]),
        source_kind=row[5],
        source_ref=row[6],
        origin=row[7],
        auto_update=bool(row[8]),
        profile=row[9],
        installed_at=row[10],
        updated_at=row[11],
        api_version=row[12],
        plugin_type=row[13],
        name=row[14],
        description=row[15],
        metadata=json.loads(row[16]),
        source_detail=json.loads(row[17]),
        cache=row[18],
    )


def read_plugins(conn: sqlite3.Connection, identifier: str | None = None) -> list[InstalledPlugin]:
    """Every installed plugin (or the one named), by identifier."""
    query = (
        f"SELECT {_PLUGIN_COLUMNS} FROM plugins p JOIN versions v "
        "ON v.identifier = p.identifier AND v.version = p.version"
    )
    if identifier is None:
        rows = conn.execute(query + " ORDER BY p.identifier").fetchall()
    else:
        rows = conn.execute(query + " WHERE p.identifier = ?", (identifier,)).fetchall()
    return [_plugin(row) for row in rows]


def read_files(conn: sqlite3.Connection, identifier: str, version: str) -> tuple[LockEntry, ...]:
    rows = conn.execute(
        "SELECT path, sha256, size FROM files WHERE identifier = ? AND version = ? ORDER BY path",
        (identifier, version),
    ).fetchall()
    return tuple(LockEntry(*row) for row in rows)


def read_all_files(conn: sqlite3.Connection) -> dict[tuple[str, str], list[LockEntry]]:
    """The lock of every installed version, in one query (start-up reads them all)."""
    out: dict[tuple[str, str], list[LockEntry]] = {}
    for ident, version, path, sha, size in conn.execute(
        "SELECT identifier, version, path, sha256, size FROM files ORDER BY path"
    ):
        out.setdefault((ident, version), []).append(LockEntry(path, sha, size))
    return out


def _action(row: tuple[Any, ...]) -> ActionRecord:
    signature = json.loads(row[3])
    return ActionRecord(
        name=row[0],
        path=row[1],
        description=row[2],
        inputs=signature.get("inputs") or {},
        outputs=tuple(signature.get("outputs") or ()),
        calls=tuple(signature.get("calls") or ()),
    )


def read_actions(conn: sqlite3.Connection, identifier: str, version: str) -> list[ActionRecord]:
    rows = conn.execute(
        "SELECT name, path, description, signature FROM actions "
        "WHERE identifier = ? AND version = ? ORDER BY name",
        (identifier, version),
    ).fetchall()
    return [_action(row) for row in rows]


def order_inputs(
    conn: sqlite3.Connection, identifier: str, version: str, declared: Mapping[str, Any]
) -> None:
    """Record each action's inputs in the order its manifest declares them (``declared``:
    the ``inputs:`` of each manifest, by path): an older km-actions recorded them sorted
    by name, and describe lists them as recorded."""
    rows = conn.execute(
        "SELECT name, path, signature FROM actions WHERE identifier = ? AND version = ?",
        (identifier, version),
    ).fetchall()
    for name, path, text in rows:
        signature = json.loads(text)
        inputs = signature.get("inputs") or {}
        order = [n for n in declared.get(path) or () if n in inputs]
        if list(inputs) == order or len(order) != len(inputs):
            continue
        signature["inputs"] = {n: inputs[n] for n in order}
        conn.execute(
            "UPDATE actions SET signature = ? WHERE identifier = ? AND version = ? AND name = ?",
            (json.dumps(signature), identifier, version, name),
        )


def read_all_actions(conn: sqlite3.Connection) -> dict[str, list[ActionRecord]]:
    """The actions of every installed plugin's current version, by identifier."""
    out: dict[str, list[ActionRecord]] = {}
    for row in conn.execute(
        "SELECT a.identifier, a.name, a.path, a.description, a.signature FROM actions a "
        "JOIN plugins p ON p.identifier = a.identifier AND p.version = a.version "
        "ORDER BY a.identifier, a.name"
    ):
        out.setdefault(row[0], []).append(_action(row[1:]))
    return out


def read_action_paths(conn: sqlite3.Connection) -> dict[str, list[tuple[str, str]]]:
    """(name, file) of every action of every installed plugin's current version."""
    out: dict[str, list[tuple[str, str]]] = {}
    for identifier, name, path in conn.execute(
        "SELECT a.identifier, a.name, a.path FROM actions a JOIN plugins p "
        "ON p.identifier = a.identifier AND p.version = a.version ORDER BY a.identifier, a.name"
    ):
        out.setdefault(identifier, []).append((name, path))
    return out


def read_grant(conn: sqlite3.Connection, identifier: str) -> tuple[GrantEntry, ...]:
    rows = conn.execute(
        "SELECT entry, explicit FROM permissions WHERE identifier = ? ORDER BY entry",
        (identifier,),
    ).fetchall()
    return tuple(GrantEntry(entry, bool(explicit)) for entry, explicit in rows)


def read_settings(conn: sqlite3.Connection, identifier: str) -> tuple[dict[str, Any], str | None]:
    """The non-secret settings and the digest of the secrets file."""
    row = conn.execute(
        "SELECT settings, secrets_digest FROM configuration WHERE identifier = ?", (identifier,)
    ).fetchone()
    if row is None:
        return {}, None
    return dict(json.loads(row[0])), row[1]


def read_secret_digests(conn: sqlite3.Connection) -> dict[str, str | None]:
    """Every installed plugin's recorded secrets digest (None: no secrets)."""
    rows = conn.execute(
        "SELECT p.identifier, c.secrets_digest FROM plugins p "
        "LEFT JOIN configuration c ON c.identifier = p.identifier"
    ).fetchall()
    return {ident: digest for ident, digest in rows}


@dataclass(frozen=True, slots=True)
class FolderRow:
    """Where the database says one version's files are, and what names that folder."""

    identifier: str
    version: str
    folder: str
    digest: str
    cache: str | None


def read_folders(conn: sqlite3.Connection) -> list[FolderRow]:
    """Every version the database records (installed or not), with its folder."""
    rows = conn.execute(
        "SELECT identifier, version, folder, digest, cache FROM versions "
        "ORDER BY identifier, version"
    ).fetchall()
    return [FolderRow(*row) for row in rows]


def dependents_of(conn: sqlite3.Connection, identifier: str) -> list[str]:
    """Installed plugins whose current version depends on ``identifier``."""
    rows = conn.execute(
        "SELECT DISTINCT d.identifier FROM dependencies d JOIN plugins p "
        "ON p.identifier = d.identifier AND p.version = d.version "
        "WHERE d.dependency = ? ORDER BY d.identifier",
        (identifier,),
    ).fetchall()
    return [row[0] for row in rows]


@dataclass(frozen=True)
class VersionRow:
    """What the installer writes for one new version."""

    identifier: str
    version: str
    folder: str
    digest: str
    api_version: str
    plugin_type: str
    name: str
    description: str
    metadata: Mapping[str, Any]
    files: tuple[LockEntry, ...]
    actions: tuple[ActionRecord, ...]
    cache: str | None


def write_version(conn: sqlite3.Connection, row: VersionRow) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO versions (identifier, version, folder, digest, api_version, "
        "plugin_type, name, description, metadata, cache, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            row.identifier,
            row.version,
            row.folder,
            row.digest,
            row.api_version,
            row.plugin_type,
            row.name,
            row.description,
            json.dumps(row.metadata, sort_keys=True),
            row.cache,
            now(),
        ),
    )
    key = (row.identifier, row.version)
    conn.executemany(
        "INSERT INTO files (identifier, version, path, sha256, size) VALUES (?, ?, ?, ?, ?)",
        [(*key, f.path, f.sha256, f.size) for f in row.files],
    )
    deps = row.metadata.get("dependencies") or {}
    conn.executemany(
        "INSERT INTO dependencies (identifier, version, dependency, range) VALUES (?, ?, ?, ?)",
        [(*key, dep, text) for dep, text in sorted(deps.items())],
    )
    conn.executemany(
        "INSERT INTO actions (identifier, version, name, path, description, signature) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                *key,
                a.name,
                a.path,
                a.description,
                # Not sorted: the inputs stay in the order the manifest declares them
                # (describe lists them so, as the action's tool schema does).
                json.dumps(
                    {"inputs": a.inputs, "outputs": list(a.outputs), "calls": list(a.calls)}
                ),
            )
            for a in row.actions
        ],
    )


@dataclass(frozen=True)
class PluginRow:
    """What the installer writes for the plugin itself (the current version's owner)."""

    identifier: str
    version: str
    source_kind: str
    source_ref: str
    source_detail: Mapping[str, Any]
    origin: str
    auto_update: bool
    profile: str
    enabled: bool = True


def write_plugin(conn: sqlite3.Connection, row: PluginRow) -> None:
    """Insert the plugin, or point it at its new version (keeping installed_at)."""
    stamp = now()
    conn.execute(
        "INSERT INTO plugins (identifier, version, enabled, source_kind, source_ref, "
        "source_detail, origin, auto_update, profile, installed_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (identifier) DO UPDATE SET version = excluded.version, "
        "source_kind = excluded.source_kind, source_ref = excluded.source_ref, "
        "source_detail = excluded.source_detail, origin = excluded.origin, "
        "auto_update = excluded.auto_update, profile = excluded.profile, "
        "updated_at = excluded.updated_at",
        (
            row.identifier,
            row.version,
            int(row.enabled),
            row.source_kind,
            row.source_ref,
            json.dumps(row.source_detail, sort_keys=True, default=str),
            row.origin,
            int(row.auto_update),
            row.profile,
            stamp,
            stamp,
        ),
    )


def write_certification(
    conn: sqlite3.Connection, identifier: str, version: str, summary: Mapping[str, Any]
) -> None:
    """Keep what certifying a version found (see engine.plugins.certify)."""
    conn.execute(
        "INSERT OR REPLACE INTO certifications (identifier, version, certified, sha256, "
        "summary) VALUES (?, ?, ?, ?, ?)",
        (
            identifier,
            version,
            int(bool(summary["certified"])),
            summary.get("sha256"),
            json.dumps(dict(summary), sort_keys=True),
        ),
    )


def read_certification(
    conn: sqlite3.Connection, identifier: str, version: str
) -> dict[str, Any] | None:
    """What certifying a version found at install (None: installed before km-actions
    certified installs)."""
    row = conn.execute(
        "SELECT summary FROM certifications WHERE identifier = ? AND version = ?",
        (identifier, version),
    ).fetchone()
    return dict(json.loads(row[0])) if row else None


def delete_version(conn: sqlite3.Connection, identifier: str, version: str) -> None:
    conn.execute("DELETE FROM versions WHERE identifier = ? AND version = ?", (identifier, version))


def delete_plugin(conn: sqlite3.Connection, identifier: str) -> None:
    """Remove a plugin, its versions (with lock, actions, dependencies), grant and settings."""
    conn.execute("DELETE FROM plugins WHERE identifier = ?", (identifier,))
    conn.execute("DELETE FROM versions WHERE identifier = ?", (identifier,))
    conn.execute("DELETE FROM metrics WHERE plugin = ?", (identifier,))


def write_grant(conn: sqlite3.Connection, identifier: str, grant: Iterable[GrantEntry]) -> None:
    conn.execute("DELETE FROM permissions WHERE identifier = ?", (identifier,))
    conn.executemany(
        "INSERT INTO permissions (identifier, entry, explicit) VALUES (?, ?, ?)",
        [(identifier, g.entry, int(g.explicit)) for g in grant],
    )


def write_settings(
    conn: sqlite3.Connection, identifier: str, settings: Mapping[str, Any], digest: str | None
) -> None:
    conn.execute(
        "INSERT INTO configuration (identifier, settings, secrets_digest) VALUES (?, ?, ?) "
        "ON CONFLICT (identifier) DO UPDATE SET settings = excluded.settings, "
        "secrets_digest = excluded.secrets_digest",
        (identifier, json.dumps(dict(settings), sort_keys=True), digest),
    )


def set_enabled(conn: sqlite3.Connection, identifier: str, enabled: bool) -> bool:
    """Enable or disable; True when that changed something."""
    cursor = conn.execute(
        "UPDATE plugins SET enabled = ?, updated_at = ? WHERE identifier = ? AND enabled != ?",
        (int(enabled), now(), identifier, int(enabled)),
    )
    return cursor.rowcount > 0
