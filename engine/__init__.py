"""km-actions: custom actions for the Keyboard Maestro MCP server.

Manifests (YAML or JSON) are loaded with a source map, validated against the action
schema and semantic rules, compiled into frozen pipelines, and run against a tool
bridge (an upstream MCP server, in-process tools, or the built-in simulator).
"""

# Not typing.TYPE_CHECKING: importing typing is a tenth of `km-actions --version`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.errors import (
        BridgeError,
        CompileError,
        ConfigError,
        Diagnostic,
        EngineError,
        ErrorKind,
        LimitExceeded,
        ManifestError,
        ManifestSyntaxError,
        ManifestValidationError,
        PluginError,
        Severity,
        Span,
        StepError,
    )

__version__ = "0.1.0"

__all__ = [
    "BridgeError",
    "CompileError",
    "ConfigError",
    "Diagnostic",
    "EngineError",
    "ErrorKind",
    "LimitExceeded",
    "ManifestError",
    "ManifestSyntaxError",
    "ManifestValidationError",
    "PluginError",
    "Severity",
    "Span",
    "StepError",
    "__version__",
]


def __getattr__(name: str) -> object:
    """The error classes, imported when first asked for: ``km-actions --version``
    needs none of them (see engine.cli)."""
    if name in __all__:
        from engine import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
