"""``km-actions serve`` and ``km-actions config``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.cli._backend import add_config_option
from engine.cli._say import failed
from engine.diagnostics.errors import ConfigError, EngineError
from engine.load.jsonparse import LONE_SURROGATE, JSONValueError, loads_value
from engine.tools.config import config_path, load_settings, set_value


def add_parsers(sub: Any) -> None:
    s = sub.add_parser(
        "serve",
        help="serve km-actions to MCP clients",
        description="Serve the km_plugin_ecosystem tool and one tool per installed action "
        "over MCP: stdio by default, or streamable HTTP on 127.0.0.1 with --http PORT. "
        "Tools run on the Keyboard Maestro MCP server named in the configuration file, or "
        "on the built-in simulator.",
    )
    s.add_argument("--http", type=int, metavar="PORT", help="serve HTTP on 127.0.0.1:PORT")
    add_config_option(s)
    s.set_defaults(handler=cmd_serve)

    c = sub.add_parser(
        "config",
        help="show or change the configuration file",
        description="Show the configuration (`show`), where it is (`path`), "
        "or set one value (`set section.key VALUE`, VALUE as JSON or text).",
    )
    c.add_argument("action", choices=["show", "path", "set"])
    c.add_argument("key", nargs="?", help="section.key, e.g. security.ceiling")
    c.add_argument("value", nargs="?", help='e.g. \'["read-only", "write"]\' or true')
    add_config_option(c)
    c.set_defaults(handler=cmd_config)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except EngineError as error:
        return failed("serve", error, 2)
    from engine.server import serve

    try:
        serve(settings, http_port=args.http)
    except KeyboardInterrupt:
        return 0
    except EngineError as error:  # the upstream could not be reached, for one
        return failed("serve", error)
    except OSError as error:
        print(f"km-actions serve: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    try:
        if args.action == "path":
            print(config_path(args.config))
            return 0
        if args.action == "show":
            settings = load_settings(args.config)
            print(json.dumps(_describe(settings), indent=2))
            return 0
        if not args.key or args.value is None:
            print("km-actions config set: needs KEY and VALUE", file=sys.stderr)
            return 2
        if LONE_SURROGATE.search(args.value):  # command-line bytes that are not UTF-8
            raise ConfigError(f"the value for {args.key} is not UTF-8 text")
        try:
            value = loads_value(args.value)
        except JSONValueError as exc:
            raise ConfigError(f"{args.key}: {exc}", hint=exc.hint) from None
        except json.JSONDecodeError:
            value = args.value
        written = set_value(args.config, args.key, value)
        print(f"set {args.key} in {written}")
        return 0
    except EngineError as error:
        return failed("config", error)


def _describe(settings: Any) -> dict[str, Any]:
    upstream = settings.upstream
    return {
        "file": str(settings.path),
        "upstream": upstream.describe() if upstream else "built-in simulator",
        "security": {
            "default_profile": settings.default_profile.value,
            "ceiling": list(settings.ceiling),
            "allow_mcp_overwrite": settings.allow_mcp_overwrite,
            "allowed_hosts": sorted(settings.allowed_hosts),
            "install_paths": [str(folder) for folder in settings.install_paths],
        },
        "tools": {
            "per_action": settings.action_tools,
            "disabled": sorted(settings.disabled_action_tools),
        },
        "limits": settings.limit_overrides,
        "updates": {
            "automatic": settings.automatic_updates,
            "interval": settings.update_interval,
        },
        "catalog": {"tools": settings.catalog_tools.value},
    }
