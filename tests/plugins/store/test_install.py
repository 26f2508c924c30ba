"""Installing: sources, what install checks, hostile archives, upgrades, permissions."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.catalog import ToolCatalog
from engine.errors import EngineError, PluginError
from engine.limits import Profile
from engine.plugins.archives import ArchiveLimits, create_archive
from engine.plugins.installer import InstallSource, SourceKind, StoreEvent, install
from engine.plugins.inventory import describe
from engine.plugins.lifecycle import configure, verify
from engine.plugins.lock import compute_lock, lock_digest
from engine.plugins.permissions import PermissionRequest
from engine.plugins.store import Store
from tests.plugins.store.conftest import CLIPBOARD_TOOLS, SIMPLE_ACTION, MakePlugin


def _nothing_installed(store: Store) -> None:
    assert store.plugins() == []
    assert list(store.staging_dir.iterdir()) == []
    assert list(store.plugins_dir.iterdir()) == []
    assert list(store.cache_dir.iterdir()) == []


def test_install_a_folder(store: Store) -> None:
    result = install(store, CLIPBOARD_TOOLS)
    plugin = result.plugin
    assert (plugin.identifier, plugin.version, plugin.enabled) == ("clipboard-tools", "1.0.0", True)
    assert (plugin.source_kind, plugin.origin, plugin.profile) == ("folder", "file", "standard")
    folder = store.folder(plugin)
    assert folder.parent == store.plugins_dir / "clipboard-tools"
    assert folder.name == f"1.0.0-{plugin.digest[:8]}"
    assert plugin.digest == lock_digest(compute_lock(CLIPBOARD_TOOLS))
    assert [e.path for e in store.lock(plugin)] == [
        "actions/clean-clipboard.yaml",
        "actions/preview-clipboard.yaml",
        "actions/share-clipboard.yaml",
        "actions/sign-clipboard.yaml",
        "plugin.yaml",
    ]
    assert all((folder / e.path).stat().st_mode & 0o777 == 0o444 for e in store.lock(plugin)), (
        "installed files are read-only"
    )
    assert [a.name for a in store.actions(plugin)] == [
        "clean-clipboard",
        "preview-clipboard",
        "share-clipboard",
        "sign-clipboard",
    ]
    assert result.needs_configuration == {"clipboard-tools": ("share_token",)}
    assert list(store.staging_dir.iterdir()) == []


@pytest.mark.parametrize("fmt", [pytest.param("zip", id="zip"), pytest.param("tar.gz", id="tgz")])
def test_install_an_archive_made_by_pack(store: Store, tmp_path: Path, fmt: str) -> None:
    archive = tmp_path / f"clipboard-tools.{fmt}"
    create_archive(CLIPBOARD_TOOLS, archive, fmt=fmt)  # type: ignore[arg-type]
    plugin = install(store, archive).plugin
    assert plugin.source_kind == "archive"
    # The same files, so the same lock and version folder as installing the folder.
    assert plugin.digest == lock_digest(compute_lock(CLIPBOARD_TOOLS))


def test_an_archive_of_the_folder_itself(
    store: Store, tmp_path: Path, make_plugin: MakePlugin
) -> None:
    root = make_plugin("wrapped")
    archive = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                out.write(path, f"wrapped-1.0.0/{path.relative_to(root)}")
    plugin = install(store, archive).plugin
    assert [e.path for e in store.lock(plugin)] == ["actions/hello.yaml", "plugin.yaml"]


def test_install_a_single_action_file(store: Store) -> None:
    result = install(store, Path("actions/title-case-clipboard.yaml"))
    plugin = result.plugin
    assert (plugin.identifier, plugin.version, plugin.plugin_type) == (
        "title-case-clipboard",
        "1.0.0",
        "action",
    )
    assert [e.path for e in store.lock(plugin)] == ["title-case-clipboard.yaml"]
    assert [g.entry for g in store.grant(plugin.identifier)] == [
        "km_clipboard_manager",
        "km_notifications",
    ]


def test_installing_the_same_files_again_changes_nothing(store: Store) -> None:
    first = install(store, CLIPBOARD_TOOLS).plugin
    again = install(store, CLIPBOARD_TOOLS)
    assert again.unchanged
    assert again.plugin == first


def test_an_invalid_plugin_is_not_installed(store: Store, make_plugin: MakePlugin) -> None:
    bad = {"steps": [{"tool": "km_nonexistent", "with": {}}]}
    with pytest.raises(PluginError) as caught:
        install(store, make_plugin("demo", actions={"good": SIMPLE_ACTION, "bad": bad}))
    assert caught.value.code == "invalid-plugin"
    assert [d.code for d in caught.value.diagnostics] == ["unknown-tool"]
    _nothing_installed(store)


def test_a_missing_source(store: Store, tmp_path: Path) -> None:
    with pytest.raises(PluginError) as caught:
        install(store, tmp_path / "nope")
    assert caught.value.code == "source-not-found"


# -- hostile sources -------------------------------------------------------------------


def _zip(path: Path, members: list[tuple[str, bytes, int | None]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.create_system = 3
                info.external_attr = mode << 16
            out.writestr(info, data)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz") as out:
        for info in members:
            out.addfile(info, io.BytesIO(b"x" * info.size) if info.size else None)
    return path


def _member(
    name: str, kind: bytes = tarfile.REGTYPE, size: int = 1, link: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size if kind == tarfile.REGTYPE else 0, link
    return info


PLUGIN_YAML = b'api_version: "1.1"\nidentifier: evil\nname: Evil\nversion: 1.0.0\n'
HostileMaker = Callable[[Path], Path]
HOSTILE: list[Any] = [
    pytest.param(lambda d: _zip(d / "a.zip", [("plugin.yaml", PLUGIN_YAML, None),
                 ("../../escape.yaml", b"x", None)]), "archive-unsafe-path", id="zip-slip"),
    pytest.param(lambda d: _zip(d / "a.zip", [("/etc/evil.yaml", b"x", None)]),
                 "archive-unsafe-path", id="absolute"),
    pytest.param(lambda d: _zip(d / "a.zip", [("plugin.yaml", PLUGIN_YAML, None),
                 ("actions/x.yaml", b"/etc/passwd", stat.S_IFLNK | 0o777)]),
                 "archive-link", id="zip-symlink"),
    pytest.param(lambda d: _tar(d / "a.tar.gz", [_member("link", tarfile.SYMTYPE, link="/etc")]),
                 "archive-link", id="tar-symlink"),
    pytest.param(lambda d: _tar(d / "a.tar.gz", [_member("hard", tarfile.LNKTYPE, link="x")]),
                 "archive-link", id="tar-hardlink"),
    pytest.param(lambda d: _tar(d / "a.tar.gz", [_member("dev", tarfile.CHRTYPE)]),
                 "archive-special-file", id="tar-device"),
    pytest.param(lambda d: _tar(d / "a.tar.gz", [_member("fifo", tarfile.FIFOTYPE)]),
                 "archive-special-file", id="tar-fifo"),
    pytest.param(lambda d: _zip(d / "a.zip", [(f"f{i}.yaml", b"x", None) for i in range(30)]),
                 "archive-too-many-files", id="too-many"),
    pytest.param(lambda d: _zip(d / "a.zip", [("big.yaml", BIG, None)]),
                 "archive-too-large", id="too-large"),
    pytest.param(lambda d: _zip(d / "a.zip", [("bomb.yaml", b"\0" * 3_000_000, None)]),
                 "archive-ratio", id="ratio"),
    pytest.param(lambda d: _zip(d / "a.zip", [("a.yaml", b"1", None), ("A.yaml", b"2", None)]),
                 "archive-duplicate", id="case-clash"),
    pytest.param(lambda d: (d / "a.zip").write_bytes(b"PK\x03\x04garbage") and d / "a.zip",
                 "archive-corrupt", id="truncated"),
    pytest.param(lambda d: (d / "a.zip").write_bytes(b"BZh91AY&SY") and d / "a.zip",
                 "archive-unsupported", id="bzip2"),
]  # fmt: skip
LIMITS = ArchiveLimits(max_members=20, max_member_size=5_000_000, max_total_size=10_000_000)
BIG = os.urandom(5_100_000)  # incompressible, and over the member limit


@pytest.mark.parametrize(("make", "code"), HOSTILE)
def test_hostile_archives_change_nothing(
    store: Store, tmp_path: Path, make: HostileMaker, code: str
) -> None:
    archive = make(tmp_path)
    with pytest.raises(PluginError) as caught:
        install(store, archive, limits=LIMITS)
    assert caught.value.code == code, caught.value.message
    assert caught.value.hint
    _nothing_installed(store)
    assert not (tmp_path.parent / "escape.yaml").exists()


def test_a_folder_with_a_link_is_refused(store: Store, make_plugin: MakePlugin) -> None:
    root = make_plugin("demo")
    (root / "actions" / "linked.yaml").symlink_to(root / "actions" / "hello.yaml")
    with pytest.raises(PluginError) as caught:
        install(store, root)
    assert caught.value.code == "plugin-unsafe-file"
    assert caught.value.message == (
        "cannot install: 'actions/linked.yaml' is a symbolic link; plugins hold plain files "
        "and folders only"
    )
    _nothing_installed(store)


def test_a_folder_with_a_pipe_is_refused(store: Store, make_plugin: MakePlugin) -> None:
    root = make_plugin("demo")
    os.mkfifo(root / "pipe")
    with pytest.raises(PluginError) as caught:
        install(store, root)
    assert caught.value.code == "plugin-unsafe-file"
    _nothing_installed(store)


def test_a_folder_too_big_is_refused(store: Store, make_plugin: MakePlugin) -> None:
    root = make_plugin("demo")
    (root / "data.bin").write_bytes(BIG)
    with pytest.raises(PluginError) as caught:
        install(store, root, limits=LIMITS)
    assert caught.value.code == "archive-too-large"
    _nothing_installed(store)


# -- upgrades ------------------------------------------------------------------------


SCHEMA_V1 = {
    "type": "object",
    "properties": {
        "greeting": {"type": "string", "default": "Hello"},
        "count": {"type": "integer", "minimum": 1},
        "style": {"type": "string"},
        "token": {"type": "string", "secret": True},
    },
}
SCHEMA_V2 = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "maximum": 5},
        "style": {"type": "string", "enum": ["plain", "bold"]},
        "token": {"type": "string", "secret": True, "minLength": 3},
        "colour": {"type": "string", "default": "blue"},
    },
}


def test_upgrade_keeps_settings_that_still_fit(store: Store, make_plugin: MakePlugin) -> None:
    events: list[StoreEvent] = []
    install(store, make_plugin("demo", configuration_schema=SCHEMA_V1))
    old = store.require("demo")
    configure(store, "demo", {"greeting": "Hi", "count": 9, "style": "bold", "token": "abc"})
    result = install(
        store, make_plugin("demo", "1.1.0", configuration_schema=SCHEMA_V2), events=events.append
    )
    assert result.upgraded == {"demo": "1.0.0"}
    assert [(d.name, d.reason) for d in result.dropped_settings["demo"]] == [
        ("count", "9 is greater than the maximum of 5"),
        ("greeting", "the new version has no such setting"),
    ]
    assert store.settings("demo") == {"style": "bold"}
    assert store.secrets("demo") == {"token": "abc"}
    assert events == [StoreEvent("upgraded", "demo", "1.1.0", "1.0.0")]
    assert not (store.root / old.folder).exists(), "the old version's folder is removed"
    assert [r.ok for r in verify(store)] == [True]


def test_upgrade_drops_a_secret_that_no_longer_fits_without_showing_it(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(store, make_plugin("demo", configuration_schema=SCHEMA_V1))
    configure(store, "demo", {"token": "zz"})
    result = install(store, make_plugin("demo", "2.0.0", configuration_schema=SCHEMA_V2))
    dropped = result.dropped_settings["demo"]
    assert [(d.name, d.reason, d.secret) for d in dropped] == [
        ("token", "the new version does not accept its value", True)
    ]
    assert store.secrets("demo") == {}
    assert not (store.secrets_dir / "demo.json").exists()


def test_an_upgrade_never_turns_a_secret_into_a_plain_setting(
    store: Store, make_plugin: MakePlugin
) -> None:
    """Issue 8: a new version declaring the secret `token` a plain setting (from any
    source) would have moved the secret into the database, where `describe` and actions'
    outputs show it. The secret is dropped instead, and the upgrade says so."""
    install(store, make_plugin("demo", configuration_schema=SCHEMA_V1))
    configure(store, "demo", {"token": "s3cr3t-token", "style": "bold"})
    plain = {**SCHEMA_V1["properties"], "token": {"type": "string"}}  # no longer secret
    result = install(
        store,
        make_plugin("demo", "1.1.0", configuration_schema={"type": "object", "properties": plain}),
    )
    assert [(d.name, d.reason, d.secret) for d in result.dropped_settings["demo"]] == [
        (
            "token",
            "it was a secret, and the new version no longer marks it secret: it was "
            "dropped, not kept in plain",
            True,
        )
    ]
    assert store.settings("demo") == {"style": "bold"}
    assert store.secrets("demo") == {}
    assert "s3cr3t-token" not in json.dumps(describe(store, "demo"))


def test_downgrade_is_an_upgrade_too(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("demo", "2.0.0"))
    assert install(store, make_plugin("demo", "1.5.0")).upgraded == {"demo": "2.0.0"}
    assert store.require("demo").version == "1.5.0"


def test_same_version_other_files_replaces_it(store: Store, make_plugin: MakePlugin) -> None:
    first = install(store, make_plugin("demo")).plugin
    changed = make_plugin("demo", folder="edited", description="now with a description")
    second = install(store, changed).plugin
    assert (second.version, second.description) == ("1.0.0", "now with a description")
    assert second.folder != first.folder
    assert not (store.root / first.folder).exists()


def test_upgrade_keeps_enabled_state_and_settings_row(
    store: Store, make_plugin: MakePlugin
) -> None:
    from engine.plugins.lifecycle import disable

    install(store, make_plugin("demo"))
    disable(store, "demo")
    assert not install(store, make_plugin("demo", "1.0.1")).plugin.enabled


# -- permissions -----------------------------------------------------------------------

CALC = {"steps": [{"tool": "km_calculator", "with": {"expression": "1 + 1"}}]}
NOTIFY = {
    "steps": [
        {
            "tool": "km_notifications",
            "with": {"notification_type": "notification", "title": "t", "message": "m"},
        }
    ]
}
CLIP = {"steps": [{"tool": "km_clipboard_manager", "with": {"operation": "get"}}]}
READ = {"steps": [{"tool": "km_variable_manager", "with": {"operation": "get", "name": "A"}}]}


@pytest.mark.parametrize(
    ("permissions", "actions", "profile", "allowed"),
    [
        pytest.param(["tokens"], {"c": CALC}, Profile.SANDBOX, True, id="sandbox-read-only"),
        pytest.param(["km_notifications"], {"n": NOTIFY}, Profile.SANDBOX, False,
                     id="sandbox-write"),
        pytest.param(["km_notifications"], {"n": NOTIFY}, Profile.STRICT, True, id="strict-write"),
        pytest.param(["km_clipboard_manager"], {"c": CLIP}, Profile.STRICT, True,
                     id="strict-write-at-most"),
        pytest.param(["km_variable_manager"], {"r": READ}, Profile.STRICT, False,
                     id="strict-destructive"),
        pytest.param(["km_variable_manager:get"], {"r": READ}, Profile.STRICT, True,
                     id="strict-read-only-operation"),
        pytest.param(["km_variable_manager:get"], {"r": READ}, Profile.SANDBOX, True,
                     id="sandbox-read-only-operation"),
        pytest.param(["km_variable_manager:get", "km_variable_manager:set"], {"r": READ},
                     Profile.SANDBOX, False, id="sandbox-write-operation"),
        pytest.param(["km_variable_manager"], {"r": READ}, Profile.STANDARD, True,
                     id="standard-named-destructive"),
        pytest.param(["variables"], {"r": READ}, Profile.STANDARD, False,
                     id="standard-destructive-operation-by-group"),
        pytest.param(["variables", "km_variable_manager:delete"], {"r": READ},
                     Profile.STANDARD, True, id="standard-destructive-operation-named"),
        pytest.param(["read-only"], {"r": READ}, Profile.SANDBOX, True,
                     id="sandbox-read-only-class"),
        pytest.param(["files"], {"c": CALC}, Profile.STANDARD, False,
                     id="standard-group-destructive"),
        pytest.param(["files"], {"c": CALC}, Profile.NONE, True, id="none-group-destructive"),
    ],
)  # fmt: skip
def test_the_profile_caps_what_may_be_granted(
    store: Store,
    make_plugin: MakePlugin,
    permissions: list[str],
    actions: dict[str, Any],
    profile: Profile,
    allowed: bool,
) -> None:
    root = make_plugin("demo", permissions=[*permissions, "calculator"], actions=actions)
    if allowed:
        assert install(store, root, profile=profile).plugin.profile == profile.value
        return
    with pytest.raises(PluginError) as caught:
        install(store, root, profile=profile)
    assert caught.value.code == "permission-not-allowed"
    assert caught.value.message.startswith(f"'demo' 1.0.0 asks for tools the {profile.value} ")
    _nothing_installed(store)


@pytest.mark.parametrize(
    ("permissions", "profile", "message", "hint"),
    [
        pytest.param(
            ["km_variable_manager"],
            Profile.STRICT,
            "km_variable_manager:delete is a destructive operation; the strict profile allows "
            "only read-only, write tools and operations",
            "ask the author to name only the operations its actions use (tool:operation), or "
            "install with a less strict profile (--profile standard) if you trust the plugin",
            id="a-whole-tool-asks-for-its-destructive-operation",
        ),
        pytest.param(
            ["km_variable_manager:get", "km_variable_manager:delete"],
            Profile.STRICT,
            "km_variable_manager:delete is a destructive operation; the strict profile allows "
            "only read-only, write tools and operations",
            "install with a less strict profile (--profile standard) if you trust the plugin",
            id="a-named-destructive-operation",
        ),
        pytest.param(
            ["variables"],
            Profile.STANDARD,
            "km_variable_manager:delete can change or delete things, and the plugin asks for it "
            "only through the group variables; the standard profile grants destructive "
            "operations only when a plugin names them",
            "ask the author to list km_variable_manager:delete itself under `permissions:`, or "
            "install with --profile none",
            id="a-destructive-operation-through-a-group",
        ),
    ],
)
def test_the_profile_is_checked_operation_by_operation(
    store: Store,
    make_plugin: MakePlugin,
    permissions: list[str],
    profile: Profile,
    message: str,
    hint: str,
) -> None:
    root = make_plugin("demo", permissions=permissions, actions={"r": READ})
    with pytest.raises(PluginError) as caught:
        install(store, root, profile=profile)
    assert caught.value.message == (
        f"'demo' 1.0.0 asks for tools the {profile.value} profile does not allow: {message}"
    )
    assert caught.value.hint == hint
    _nothing_installed(store)


def test_a_grant_of_operations(store: Store, make_plugin: MakePlugin) -> None:
    asked = ["km_variable_manager:get", "km_variable_manager:set"]
    root = make_plugin("demo", permissions=asked, actions={"r": READ})
    with pytest.raises(PluginError) as caught:
        install(store, root, grant=["km_variable_manager:get"])
    assert (caught.value.code, caught.value.message) == (
        "permission-not-granted",
        "'demo' 1.0.0 asks for km_variable_manager:set, which the grant does not include; "
        "nothing was installed",
    )
    with pytest.raises(PluginError) as caught:
        install(store, root, grant=["km_variable_manager:gte"])
    assert (caught.value.code, caught.value.message, caught.value.hint) == (
        "unknown-permission",
        "--grant 'km_variable_manager:gte': `km_variable_manager:gte` is not an operation of "
        "km_variable_manager",
        "did you mean 'km_variable_manager:get'?",
    )
    assert install(store, root, grant=["variables"]).plugin.permissions == tuple(asked)
    assert [(g.entry, g.explicit) for g in store.grant("demo")] == [
        ("km_variable_manager:get", True),
        ("km_variable_manager:set", True),
    ]


@pytest.mark.parametrize(
    ("before", "after", "added"),
    [
        pytest.param(["km_variable_manager:get"], ["km_variable_manager:get",
                     "km_variable_manager:set"], ("km_variable_manager:set",), id="one-more"),
        pytest.param(["km_variable_manager"], ["km_variable_manager:get"], (), id="narrower"),
        pytest.param(["read-only", "write"], ["km_variable_manager"],
                     ("km_variable_manager",), id="whole-tool-beyond-classes"),
        pytest.param(["read-only", "write", "destructive"], ["km_variable_manager"], (),
                     id="every-class-is-every-operation"),
    ],
)  # fmt: skip
def test_an_upgrade_asks_again_for_operations_not_granted_before(
    before: list[str], after: list[str], added: tuple[str, ...]
) -> None:
    catalog = ToolCatalog.builtin()
    request = PermissionRequest.of("demo", "2.0.0", after, catalog, granted=before)
    assert request.added == added


def test_the_grant_must_cover_the_request(store: Store, make_plugin: MakePlugin) -> None:
    root = make_plugin(
        "demo", permissions=["km_notifications", "calculator"], actions={"n": NOTIFY}
    )
    with pytest.raises(PluginError) as caught:
        install(store, root, grant=["calculator"])
    assert caught.value.code == "permission-not-granted"
    assert caught.value.hint == (
        "grant them too (--grant km_notifications), or do not install the plugin"
    )
    _nothing_installed(store)
    plugin = install(store, root, grant=["notifications", "calculator"]).plugin
    assert [(g.entry, g.explicit) for g in store.grant(plugin.identifier)] == [
        ("calculator", False),
        ("km_notifications", True),
    ]


def test_an_unknown_grant_is_refused(store: Store, make_plugin: MakePlugin) -> None:
    with pytest.raises(PluginError) as caught:
        install(store, make_plugin("demo"), grant=["clipbord"])
    assert caught.value.code == "unknown-permission"


def test_the_caller_is_asked_and_may_refuse(store: Store, make_plugin: MakePlugin) -> None:
    asked: list[PermissionRequest] = []

    def refuse(request: PermissionRequest) -> bool:
        asked.append(request)
        return False

    root = make_plugin("demo", permissions=["km_notifications"], actions={"n": NOTIFY})
    with pytest.raises(PluginError) as caught:
        install(store, root, confirm=refuse)
    assert caught.value.code == "install-declined"
    assert asked[0].describe(ToolCatalog.builtin()) == ["km_notifications (write)"]
    _nothing_installed(store)


def test_an_upgrade_shows_what_it_asks_for_beyond_the_grant(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(store, make_plugin("demo", permissions=["calculator"], actions={"c": CALC}))
    asked: list[PermissionRequest] = []
    newer = make_plugin("demo", "2.0.0", permissions=["calculator", "km_notifications"],
                        actions={"c": CALC, "n": NOTIFY})  # fmt: skip
    install(store, newer, confirm=lambda r: asked.append(r) or True)
    assert asked[0].added == ("km_notifications",)


# -- sources for the marketplace ---------------------------------------------------------


def test_a_marketplace_download(store: Store, tmp_path: Path, make_plugin: MakePlugin) -> None:
    archive = tmp_path / "demo.zip"
    create_archive(make_plugin("demo"), archive, fmt="zip")
    entry = {"id": "demo", "version": "1.0.0", "sha256": "…"}
    source = InstallSource.marketplace(
        archive, "demo", "1.0.0", ref="https://example.org/demo.zip", detail=entry
    )
    plugin = install(store, source).plugin
    assert (plugin.source_kind, plugin.origin, plugin.source_ref) == (
        SourceKind.MARKETPLACE.value,
        "marketplace",
        "https://example.org/demo.zip",
    )
    assert plugin.source_detail == entry


def test_a_download_holding_something_else_is_refused(
    store: Store, tmp_path: Path, make_plugin: MakePlugin
) -> None:
    archive = tmp_path / "demo.zip"
    create_archive(make_plugin("demo", "1.0.1"), archive, fmt="zip")
    source = InstallSource.marketplace(archive, "demo", "1.0.0", ref="https://example.org/x")
    with pytest.raises(PluginError) as caught:
        install(store, source)
    assert caught.value.code == "source-mismatch"
    _nothing_installed(store)


# -- events --------------------------------------------------------------------------


def test_a_failing_listener_does_not_undo_the_install(
    store: Store, make_plugin: MakePlugin
) -> None:
    def broken(event: StoreEvent) -> None:
        raise RuntimeError("hook exploded")

    result = install(store, make_plugin("demo"), events=broken)
    assert result.event_warnings == ("the installed event of 'demo' failed: hook exploded",)
    assert store.require("demo").version == "1.0.0"


def test_errors_are_engine_errors(store: Store, tmp_path: Path) -> None:
    (tmp_path / "junk.txt").write_text("hello")
    with pytest.raises(EngineError):
        install(store, tmp_path / "junk.txt")


def test_progress_counts_the_actions_checked(store: Store) -> None:
    seen: list[tuple[int, int | None]] = []
    install(store, CLIPBOARD_TOOLS, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
