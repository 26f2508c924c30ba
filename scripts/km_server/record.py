#!/usr/bin/env python3
"""Record the real Keyboard Maestro MCP server's answers, with ``osascript`` routed to our stand-in.

    python scripts/km_server/record.py --server PATH_TO_CHECKOUT \
        [--python SERVER_VENV_PYTHON] [--out tests/data/km_server] [--only NAME ...]

For every scenario of ``corpus.yaml`` the server (``python -m src.main_dynamic``, stdio)
starts afresh from a copy of the checkout, in a temporary working directory and home, with
the scenario's seed state; each call's full MCP result is written to
``OUT/scenarios/<name>.json`` with the stand-in's state afterwards. ``tools.json`` holds
the server's ``tools/list`` and ``meta.json`` its commit and versions. A scenario with
``standin: false`` runs with ``osascript`` absent, as on a plain Linux machine.

Recordings whose answers are unchanged (values equal wherever they are deterministic;
see ``tests/simulator/km_server_answers.py``) are kept as they are, so a re-recording shows
real differences only. The server never reaches beyond loopback: on Linux it runs in its
own network namespace (``unshare``) unless ``--no-isolate-network`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from tests.simulator.km_server_answers import compare  # noqa: E402

CORPUS = HERE / "corpus.yaml"
STANDIN = HERE / "osascript"
ROUTE = HERE / "route"
DEFAULT_OUT = ROOT / "tests" / "data" / "km_server"
SEEDS = DEFAULT_OUT / "seeds"  # the seed states, whatever --out says
CALL_TIMEOUT = 120.0
PLUGINS = Path("Library/Application Support/Keyboard Maestro/Keyboard Maestro Actions")
# Copied with the checkout: everything the server reads at run time (not its .git).
_IGNORED = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "logs", "htmlcov", ".venv")


@dataclass
class Setup:
    server: Path  # the copy of the checkout the server runs from
    python: str
    out: Path
    isolate: bool
    commit: str = ""


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    corpus = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    scenarios = corpus["scenarios"]
    if args.only:
        unknown = set(args.only) - {s["name"] for s in scenarios}
        if unknown:
            print(f"unknown scenario(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        scenarios = [s for s in scenarios if s["name"] in args.only]
    out = Path(args.out).resolve()
    (out / "scenarios").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="km-record-") as scratch:
        server = Path(scratch) / "server"
        shutil.copytree(Path(args.server).resolve(), server, ignore=_IGNORED)
        setup = Setup(server, args.python, out, _can_isolate() and not args.no_isolate_network)
        meta = _meta(Path(args.server).resolve(), setup)
        setup.commit = meta["server"]["commit"]
        _write(out / "meta.json", meta)
        problems: list[str] = []
        for scenario in scenarios:
            print(f"recording {scenario['name']} ...", file=sys.stderr, flush=True)
            recording = asyncio.run(_record(setup, scenario, Path(scratch) / scenario["name"]))
            problems.extend(_problems(scenario, recording))
            _keep_or_write(out / "scenarios" / f"{scenario['name']}.json", recording)
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="a checkout of Keyboard-Maestro-MCP-2")
    parser.add_argument("--python", default=sys.executable, help="the server venv's python")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="where the recordings go")
    parser.add_argument("--only", nargs="*", help="record these scenarios only")
    parser.add_argument("--no-isolate-network", action="store_true")
    return parser.parse_args(argv)


# -- running one scenario ---------------------------------------------------------------


async def _record(setup: Setup, scenario: dict[str, Any], work: Path) -> dict[str, Any]:
    from mcp import Client, StdioServerParameters  # slow import, only when recording
    from mcp.client.stdio import stdio_client

    # One directory is both the server's working directory and its home: km_create_plugin_action
    # writes under the working directory, and km_list_action_types reads plug-ins from
    # ~/Library/Application Support/Keyboard Maestro/Keyboard Maestro Actions.
    home = work / "home"
    (home / PLUGINS).mkdir(parents=True)
    cwd = home
    standin = scenario.get("standin", True)
    state_file, log_file = work / "state.json", work / "osascript.jsonl"
    seed = SEEDS / f"{scenario['seed']}.json"
    shutil.copyfile(seed, state_file)
    log_file.touch()
    env = _environment(setup, state_file, log_file, home, standin=standin)
    command, args = _command(setup)
    params = StdioServerParameters(command=command, args=args, env=env, cwd=str(cwd))
    places = {str(home): "{home}", str(setup.server): "{server}"}
    calls: list[dict[str, Any]] = []
    with (work / "server-stderr.log").open("w", encoding="utf-8") as errlog:
        client = Client(stdio_client(params, errlog=errlog))
        tools = await _session(client, scenario, calls, Run(log_file, home, places))
    recording: dict[str, Any] = {
        "server_commit": setup.commit,
        "scenario": scenario["name"],
        "description": scenario.get("description", ""),
        "seed": scenario["seed"],
        "standin": standin,
        "calls": calls,
        "state_after": json.loads(state_file.read_text(encoding="utf-8")) if standin else None,
    }
    if tools is not None:
        listed = {"server_commit": setup.commit, "tools": sorted(tools, key=lambda t: t["name"])}
        _write(setup.out / "tools.json", listed)
    return recording


def _arguments_for(value: Any, calls: list[dict[str, Any]], home: str) -> Any:
    """The call's arguments: ``{home}`` in text is the server's home (and working directory);
    ``{"$from": N, "path": "data.x"}`` is that value of call N's answer (ids made at run time)."""
    if isinstance(value, str):
        return value.replace("{home}", home)
    if isinstance(value, list):
        return [_arguments_for(v, calls, home) for v in value]
    if isinstance(value, dict) and "$from" in value:
        found: Any = calls[value["$from"]]["result"].get("structured_content")
        for part in str(value["path"]).split("."):
            found = found[int(part)] if isinstance(found, list) else found[part]
        return _arguments_for(found, calls, home)
    if isinstance(value, dict):
        return {k: _arguments_for(v, calls, home) for k, v in value.items()}
    return value


@dataclass
class Run:
    """Where one scenario's server lives: the stand-in's log, its home, paths to relocate."""

    log_file: Path
    home: Path
    places: dict[str, str]


async def _session(
    client: Any, scenario: dict[str, Any], calls: list[dict[str, Any]], run: Run
) -> list[dict[str, Any]] | None:
    """Run the scenario's calls on one server session; its tools/list when asked for."""
    tools: list[dict[str, Any]] | None = None
    async with client:
        if scenario.get("list_tools"):
            listed = await client.list_tools()
            tools = [
                t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in listed.tools
            ]
        for index, call in enumerate(scenario["calls"]):
            before = _log_lines(run.log_file)
            arguments = _arguments_for(call.get("arguments", {}), calls, str(run.home))
            answer = await _call(client, call["tool"], arguments)
            scripts = _log_lines(run.log_file)[len(before) :]
            calls.append(
                {
                    "index": index,
                    "tool": call["tool"],
                    "arguments": call.get("arguments", {}),
                    "note": call.get("note", ""),
                    "result": _relocated(answer, run.places),
                    "osascript": {
                        "calls": len(scripts),
                        "failed": sum(1 for s in scripts if s["status"] != 0),
                        "unmodelled": sorted({s["unmodelled"] for s in scripts if s["unmodelled"]}),
                    },
                }
            )
    return tools


async def _call(client: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    from mcp.shared.exceptions import MCPError

    try:
        result = await client.call_tool(tool, arguments, read_timeout_seconds=CALL_TIMEOUT)
    except MCPError as problem:
        return {"protocol_error": {"code": problem.error.code, "message": problem.error.message}}
    content = []
    for item in result.content:
        entry = item.model_dump(by_alias=True, mode="json", exclude_none=True)
        text = entry.get("text")
        if isinstance(text, str):
            with contextlib.suppress(ValueError):
                entry["json"] = json.loads(text)
        content.append(entry)
    return {
        "is_error": bool(result.is_error),
        "content": content,
        "structured_content": result.structured_content,
    }


def _environment(
    setup: Setup, state: Path, log: Path, home: Path, *, standin: bool
) -> dict[str, str]:
    return {
        "PYTHONPATH": os.pathsep.join([str(ROUTE), str(setup.server)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "KM_STANDIN_MODE": "standin" if standin else "absent",
        "KM_STANDIN_COMMAND": json.dumps([sys.executable, str(STANDIN)]),
        "KM_STANDIN_STATE": str(state),
        "KM_STANDIN_LOG": str(log),
        # A fixed identity and clock zone: the server's local token processor reads them.
        "HOME": str(home),
        "USER": "kmuser",
        "LOGNAME": "kmuser",
        "TZ": "UTC",
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
    }


def _command(setup: Setup) -> tuple[str, list[str]]:
    server = [setup.python, "-m", "src.main_dynamic"]
    if not setup.isolate:
        return server[0], server[1:]
    ip = shutil.which("ip") or "/usr/sbin/ip"
    # A network namespace of its own: only loopback exists, and it is up.
    script = f'{ip} link set lo up && exec "$@"'
    return "unshare", ["--net", "--map-root-user", "sh", "-c", script, "sh", *server]


def _can_isolate() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--net", "--map-root-user", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


def _log_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _relocated(value: Any, places: dict[str, str]) -> Any:
    """Temporary paths written as ``{home}`` and ``{server}`` (they differ from run to run)."""
    if isinstance(value, str):
        for path, name in sorted(places.items(), key=lambda p: -len(p[0])):
            value = value.replace(path, name)
        return value
    if isinstance(value, list):
        return [_relocated(v, places) for v in value]
    if isinstance(value, dict):
        return {k: _relocated(v, places) for k, v in value.items()}
    return value


def _problems(scenario: dict[str, Any], recording: dict[str, Any]) -> list[str]:
    """Calls that met a form the stand-in does not model (unless the corpus expects it)."""
    out = []
    for call in recording["calls"]:
        unmodelled = call["osascript"]["unmodelled"]
        expected = scenario["calls"][call["index"]].get("unmodelled_ok", False)
        if unmodelled and not expected:
            out.append(
                f"{scenario['name']}#{call['index']} {call['tool']}: the stand-in does not "
                f"model {', '.join(unmodelled)}"
            )
        if "protocol_error" in call["result"]:
            out.append(
                f"{scenario['name']}#{call['index']} {call['tool']}: protocol error "
                f"{call['result']['protocol_error']}"
            )
    return out


# -- writing --------------------------------------------------------------------------


def _keep_or_write(path: Path, recording: dict[str, Any]) -> None:
    """Keep an existing recording whose answers and state agree with the new one."""
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        same_calls = len(old.get("calls", [])) == len(recording["calls"]) and all(
            a["tool"] == b["tool"]
            and a["arguments"] == b["arguments"]
            and a["note"] == b["note"]
            and a["osascript"]["unmodelled"] == b["osascript"]["unmodelled"]
            and not compare(a["result"], b["result"])
            for a, b in zip(old["calls"], recording["calls"], strict=True)
        )
        same_rest = {k: v for k, v in old.items() if k not in ("calls", "state_after")} == {
            k: v for k, v in recording.items() if k not in ("calls", "state_after")
        }
        if same_calls and same_rest and not compare(old["state_after"], recording["state_after"]):
            return
    _write(path, recording)


def _write(path: Path, data: Any) -> None:
    path.write_text(
        json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _meta(checkout: Path, setup: Setup) -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    probe = (
        "import importlib.metadata as m, json, sys;"
        "print(json.dumps({'python': sys.version.split()[0], **{p: m.version(p) for p in "
        "('fastmcp', 'mcp', 'pydantic', 'httpx', 'rapidfuzz')}}))"
    )
    versions = subprocess.run(
        [setup.python, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    pyproject = (checkout / "pyproject.toml").read_text(encoding="utf-8")
    version = next(
        (line.split('"')[1] for line in pyproject.splitlines() if line.startswith("version")), ""
    )
    from importlib.metadata import version as our_version

    return {
        "server": {
            "repository": "https://github.com/Nexus-Digital-Automations/Keyboard-Maestro-MCP-2",
            "commit": git("rev-parse", "HEAD"),
            "modified_files": git("status", "--porcelain", "--untracked-files=no").splitlines(),
            "version": version,
            "entry_point": "python -m src.main_dynamic (stdio)",
        },
        "server_environment": json.loads(versions),
        "client": {"mcp": our_version("mcp")},
        "platform": platform.system(),
        "network": "own namespace, loopback only" if setup.isolate else "host network",
        "standin": "scripts/km_server/osascript (via scripts/km_server/route/sitecustomize.py)",
    }


if __name__ == "__main__":
    sys.exit(main())
