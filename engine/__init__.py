"""km-actions: custom actions for the Keyboard Maestro MCP server.

Manifests (YAML or JSON) are loaded with a source map, validated against the action
schema and semantic rules, compiled into frozen pipelines, and run against a tool
bridge (an upstream MCP server, in-process tools, or the built-in simulator).
"""

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
