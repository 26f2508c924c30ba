"""Every code km-actions reports, with what it means.

Codes are stable: scripts and AI callers may rely on them. They are spelt one way,
kebab-case (``unknown-key``, ``tool-failed``), whether they name a problem found in a
manifest, the kind of error a run stopped with (:class:`engine.diagnostics.errors.ErrorKind`: the
kinds `retry.on` and `error.kind` use) or a refused call. ``docs/diagnostics.md`` is
checked against these tables by the tests, and every code raised anywhere in ``engine/``
must be in them.
"""

from __future__ import annotations

from types import MappingProxyType

_LOADER = {
    "syntax": "The text is not well-formed YAML or JSON.",
    "encoding": "The file is not UTF-8 text, or holds a lone surrogate (\\ud800).",
    "empty-document": "The file holds nothing.",
    "multiple-documents": "A YAML file holds more than one document ('---').",
    "duplicate-key": "The same key appears twice in one mapping.",
    "merge-key": "A YAML merge key ('<<') is used; they are not supported.",
    "non-string-key": "A key is not a name (YAML read it as a number, true/false, null, …).",
    "unquoted-template": "A '{{ … }}' template is not in quotes, so YAML read it as a mapping.",
    "unsupported-tag": "A YAML tag (!!python/…, !!binary, !custom) is used.",
    "invalid-tag-value": "A value does not fit the YAML tag written before it.",
    "invalid-number": "A number is not finite (NaN, Infinity, .inf), or a whole number has "
    "more than 1,000 digits.",
    "too-large": "The document is larger than the loader accepts.",
    "too-deep": "The document nests deeper than the loader accepts.",
    "too-many-aliases": "The document uses more YAML aliases (*name) than allowed.",
    "io-error": "A file cannot be read (it went away, is not readable, or its path cannot "
    "be looked at: a name too long, a loop of links).",
}

_SCHEMA = {
    "not-a-mapping": "The document is not a mapping of keys to values.",
    "unsupported-api-version": "The manifest is written for an api_version this km-actions "
    "does not read: a newer one (upgrade km-actions) or one older than any it knows.",
    "api-version-upgraded": "A manifest of an older api_version (1.0) was read as the current "
    "one; the note says what changed (a note, not a problem).",
    "migrate-failed": "The command `km-actions migrate` cannot rewrite a file in place so "
    "that it means what the upgrade on load reads; nothing was written.",
    "unknown-key": "A key the manifest language does not have (often a misspelling).",
    "misplaced-key": "A key that exists, but not in this kind of step.",
    "missing-key": "A required key is missing.",
    "wrong-type": "A value has the wrong type (text where a number is wanted, …).",
    "unquoted-value": "An unquoted YAML value became true/false, a number or a date where "
    "text is wanted; quote it.",
    "invalid-value": "A value is not one of the allowed values.",
    "invalid-name": "A name does not follow the naming rule (lower-case letters, digits, - _).",
    "invalid-version": "A version is not a semantic version (1.2.3).",
    "invalid-format": "A value does not have the required form.",
    "out-of-range": "A number is too small or too large.",
    "too-short": "A text or list is shorter than allowed.",
    "too-long": "A text or list is longer than allowed.",
    "empty": "A list or mapping that needs at least one entry is empty.",
    "duplicate-item": "The same item appears twice in a list that must not repeat.",
    "step-kind-missing": "A step says neither what it does (tool, action, set, …).",
    "step-kind-conflict": "A step has two kinds (e.g. both `tool` and `set`).",
    "invalid-mock": "A test's mocked answers are neither a list nor `match` rules.",
}

_SEMANTIC = {
    "unknown-tool": "A `tool:` names no tool the Keyboard Maestro server offers.",
    "unknown-argument": "A tool argument the tool does not take.",
    "missing-argument": "A tool argument the tool requires is missing.",
    "argument-type": "A literal tool argument has the wrong type for the tool.",
    "argument-value": "A literal tool argument is not one of the values the tool accepts.",
    "template-syntax": "A `{{ }}` template does not parse.",
    "template-statement": "A template uses a `{% %}` statement; templates are expressions only.",
    "unknown-filter": "A template uses a filter that does not exist.",
    "unknown-test": "A template uses an `is` test that does not exist.",
    "expression-syntax": "An expression (if, when, until, while, foreach) does not parse.",
    "expression-jinja": "An expression uses template syntax (`| filter`, `is none`, `~`).",
    "unknown-function": "An expression calls a function that does not exist.",
    "forbidden-name": "A template or expression reaches for something not allowed (`_…`).",
    "unknown-name": "A template or expression uses a name that is not in scope.",
    "unknown-input": "A reference to `inputs.x` where no input x is declared.",
    "unknown-variable": "A reference to `vars.x` where no step sets x.",
    "variable-not-set-yet": "A reference to `vars.x` before any step sets x.",
    "unknown-step": "A reference to `steps.x` where no step has id x.",
    "step-not-run-yet": "A reference to a step that runs later (or inside another branch).",
    "unknown-step-field": "A reference to `steps.x.y` where y is not result, status or error.",
    "unknown-result-field": "A reference into `steps.x.result` reads a key the tool's answer "
    "never has, as recorded from the real server (warning).",
    "mock-answer-shape": "A test mocks a tool with an answer shaped as the real server never "
    "answers: a key it never has, a value of another type, or no `success` (warning).",
    "unknown-config": "A reference to `config.x` where the plugin declares no setting x.",
    "secret-changed": "A template changes a secret setting or input before it is shown "
    "(a filter, a slice, a method): masking cannot find it there (warning).",
    "unknown-event-field": "A hook reads `event.x` where x is not name, plugin, action or data.",
    "unknown-event": "A hook's `on:` looks like a misspelt built-in event (warning).",
    "unknown-output": "An output name that `outputs:` does not declare (given by `return`, "
    "expected by a test, or read as `steps.x.result.y` of an `action` step).",
    "duplicate-step-id": "Two steps have the same id.",
    "reserved-name": "A name that km-actions reserves (inputs, vars, steps, …).",
    "unknown-action": "An `action:` step names an action that cannot be found.",
    "action-cycle": "Actions call each other in a circle.",
    "unknown-permission": "A permission names no tool, operation of a tool "
    "(tool:operation) or tool group.",
    "permission-missing": "A call (its tool, or its operation) is made that the declared "
    "permissions do not cover, or a destructive one they cover only through a group: a run "
    "refuses it.",
    "invalid-default": "An input's default does not fit its own type and rules.",
    "parallel-conflict": "Two parallel branches set the same variable.",
    "missing-description": "The action has no description (a warning; with strict "
    "validation an error, for its inputs too).",
    "unsupported-feature": "A feature of the language that this km-actions cannot run.",
    "compile-error": "A manifest given to the compiler (the Python API) was not validated "
    "first: it has no steps, or a step without exactly one kind.",
    "unused-input": "An input is declared but never used (warning).",
    "unused-result": "A step has an id but nothing reads its result (warning).",
    "unreachable-step": "A step comes after `return` or `fail` and never runs (warning).",
    "ambiguous-boolean": "An unquoted yes/no/on/off became true/false (warning).",
    "stray-quote": 'Unquoted text ends with a `"` it never opened, which becomes part of the '
    "text (warning).",
    "required-with-default": "An input is required but has a default that is never used (warning).",
}

_RUNTIME = {
    "tool-failed": "A tool answered with success: false.",
    "timeout": "A step or run took longer than allowed.",
    "invalid-arguments": "Rendered arguments do not fit the tool's input schema.",
    "permission-denied": "A tool call (the operation it performs) outside the granted "
    "permissions or the profile's classes.",
    "limit-exceeded": "A run went past a limit of its security profile.",
    "tool-unavailable": "The tool could not be reached (no server, server died, unknown).",
    "template-error": "A template failed while rendering (e.g. an undefined name).",
    "expression-error": "An expression failed while evaluating.",
    "invalid-input": "An input given to the action does not fit its declaration.",
    "failed": "A `fail` step stopped the action, or a called action failed.",
    "cancelled": "The run was cancelled.",
    "not-found": "The action or plugin asked for does not exist.",
}

# Plugins and the store (install, upgrade, uninstall, configure, load). Ranked with the
# meaning of a manifest (tier 2): they say why a plugin cannot be used as it is.
_PLUGINS = {
    "invalid-plugin": "A plugin's plugin.yaml or one of its actions is not valid; it was not "
    "installed (every problem is listed).",
    "plugin-manifest-missing": "A folder or archive has no plugin.yaml at its top.",
    "plugin-unreadable": "A file of a plugin cannot be read.",
    "plugin-unsafe-file": "A plugin holds a link or a special file (over MCP: or a file "
    "with other hard links).",
    "plugin-no-actions": "A plugin's `actions:` match no action file.",
    "duplicate-action": "Two action files of one plugin have the same name.",
    "dependency-undeclared": "An action calls another plugin's action, but the plugin does not "
    "list that plugin under `dependencies`.",
    "invalid-range": "A dependency's version range cannot be read.",
    "dependency-conflict": "No versions of the plugins satisfy every dependency range.",
    "dependency-missing": "A plugin needs another plugin that no source offers (or, once "
    "installed, that is no longer installed).",
    "dependency-no-version": "No version of a needed plugin matches the range asked for.",
    "dependency-too-complex": "Dependency resolution gave up after trying too many versions.",
    "dependency-unavailable": "A needed plugin is not installed and cannot be downloaded here.",
    "dependent-broken": "An upgrade would remove an action that an installed plugin calls.",
    "source-not-found": "The folder, archive or file to install does not exist.",
    "source-refused": "An MCP caller named a local path outside the folders the user allows, "
    "or in km-actions' own store, to install.",
    "source-mismatch": "A downloaded archive holds another plugin or version than promised.",
    "archive-unsupported": "The file is not a .zip, .tar or .tar.gz archive.",
    "archive-corrupt": "The archive is damaged or truncated.",
    "archive-unsafe-path": "An archive member's name is absolute, has '..', or is otherwise "
    "unsafe.",
    "archive-link": "An archive holds a symbolic or hard link.",
    "archive-special-file": "An archive holds a device, pipe or other special file.",
    "archive-duplicate": "An archive holds the same name twice (or names that clash).",
    "archive-too-many-files": "An archive (or plugin folder) holds too many files.",
    "archive-too-large": "An archive (or a file in it) unpacks to more than allowed.",
    "archive-ratio": "An archive compresses suspiciously well (a zip bomb).",
    "archive-unreadable": "The archive file cannot be read.",
    "archive-destination": "An archive cannot be written or unpacked where asked.",
    "permission-not-allowed": "A plugin asks for a tool or operation the security profile "
    "does not allow, or (over MCP) one beyond the server's ceiling.",
    "permission-not-granted": "A plugin asks for a tool or operation the grant given does not "
    "include.",
    "install-declined": "The permissions a plugin asks for were not granted.",
    "limit-too-loose": "A plugin's resource_limits gives a limit looser than its security "
    "profile's (they may only tighten it).",
    "plugin-has-dependents": "A plugin cannot be uninstalled while others depend on it.",
    "overwrite-refused": "An MCP caller tried to replace, update, remove or configure a plugin "
    "the user installed.",
    "plugin-tampered": "An installed plugin's files changed since it was installed.",
    "plugin-incompatible": "An installed plugin's actions no longer validate against the tools "
    "in use (the Keyboard Maestro server's, or the saved tool list) or this km-actions' rules; "
    "it is not served.",
    "dependency-unserved": "An installed plugin needs another that is disabled or cannot be "
    "served itself; it is not served either.",
    "unknown-setting": "A setting the plugin does not declare.",
    "invalid-config": "A setting's value does not fit the plugin's configuration_schema.",
    "store-unavailable": "The plugin store's folder or database cannot be opened.",
    "store-too-new": "The plugin store was written by a newer km-actions.",
    "store-busy": "Other processes kept changing the plugins during an install.",
    "store-damaged": "A file of the plugin store (its database, a secrets file) is damaged.",
    "store-mismatch": "The plugin store's folders do not match its database; nothing was "
    "changed (`km-actions verify --repair` sets it right).",
    "store-unsafe-path": "A path in the plugin store would leave it (a name with '/' or '..', "
    "or a symbolic link on the way).",
    "simulator-state": "The built-in simulator's state file cannot be read or written, or was "
    "written by a newer km-actions.",
}

# Marketplace indexes and downloads (install id@range, search, update).
_MARKETPLACE = {
    "index-invalid": "A marketplace index is not valid JSON or breaks the index format "
    "(every problem is listed, located); nothing was installed.",
    "index-unsupported": "A marketplace index has a newer format than this km-actions reads.",
    "index-unreadable": "A marketplace index file (or the list of marketplaces) cannot be read.",
    "not-in-index": "No marketplace index lists the plugin asked for.",
    "no-marketplace": "No marketplace is configured and none was given with --index.",
    "marketplace-unknown": "A marketplace to remove is not in the list of marketplaces.",
    "integrity-mismatch": "A downloaded archive's sha256 differs from the index's; it was "
    "deleted before anything was unpacked.",
    "version-published": "An archive given to `km-actions index add` is of a version the "
    "index lists already, with another archive; published versions are never changed.",
    "download-failed": "A download failed: the server could not be reached or answered an error.",
    "download-timeout": "A server did not answer in time.",
    "download-too-large": "A download was larger than the index says (or than allowed); it was "
    "stopped.",
    "download-insecure": "A download over plain http from another machine, an unverifiable "
    "certificate, or an address that is not http(s), was refused.",
    "download-refused": "A download would go where the user did not allow: for an MCP caller "
    "(who is not told a refused place from an unreachable one), or `km-actions install URL` "
    "to this machine or the local network outside the marketplaces the user added.",
}

# Certifying a plugin (`km-actions certify`, and every install): what is missing for it
# to be certified, beyond the codes of validation.
_CERTIFY = {
    "untested-action": "An action of the plugin has no tests.",
    "test-failed": "A test written in an action failed.",
    "permission-unused": "The plugin asks for a permission no action needs (a warning).",
    "permission-too-broad": "A permission group grants tools no action calls (a warning).",
    "docs-no-example": "An action's documentation has no example: no test expects outputs "
    "(a warning).",
    "pack-not-deterministic": "Packing the plugin twice gave different archives.",
}

# Calls to km-actions over MCP (`km_plugin_ecosystem`): what a call itself gets wrong.
_CALLS = {
    "invalid-parameter": "A parameter of `km_plugin_ecosystem` is unknown, missing, of the "
    "wrong kind, or not one the operation takes (at other than its default).",
    "ambiguous-action": "An action named without its plugin is the name of several installed "
    "actions.",
}

CODES = MappingProxyType(
    {
        **_LOADER,
        **_SCHEMA,
        **_SEMANTIC,
        **_RUNTIME,
        **_PLUGINS,
        **_MARKETPLACE,
        **_CERTIFY,
        **_CALLS,
    }
)


def tier(code: str) -> int:
    """How fundamental a problem is: 0 the text, 1 the structure, 2 the meaning, 3 run time.

    Diagnostics are ranked by tier first, so the fix that unblocks the others comes first.
    """
    for rank, table in enumerate((_LOADER, _SCHEMA, _SEMANTIC, _RUNTIME)):
        if code in table:
            return rank
    return 2  # plugin and store codes (_PLUGINS), and any other


def describe(code: str) -> str:
    """One sentence on what ``code`` means (empty if unknown)."""
    return CODES.get(code, "")
