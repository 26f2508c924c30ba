"""Plugin store figures: install time of a 50-action plugin; start-up with 1,000 actions.

Start-up is with 1,000 installed actions (20 plugins of 50) loaded, lock-checked and
compiled. Target: start-up <= 1 s.

Start-up is measured in a fresh process each round (so no cache of this one helps):
opening the store (with recovery), checking every file against the lock, reading the
manifest cache, and compiling every action. The same is shown without the manifest
cache (YAML parsed and validated again) for comparison.

    python benchmarks/bench_plugins.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.plugins.installer import install
from engine.plugins.store import Store

ACTION = """api_version: "1.1"
kind: action
name: step-{n}
description: Generated action {n} of {plugin}; reads the clipboard, reshapes it, stores it.
version: 1.0.0
inputs:
  prefix: {{type: string, default: "p{n}", description: Put before the text}}
  count: {{type: integer, default: {count}, minimum: 1, maximum: 20, description: Repeats}}
  notify: {{type: boolean, default: false, description: Show a notification}}
steps:
  - id: read
    tool: km_clipboard_manager
    with: {{operation: get}}
  - set:
      text: >-
        {{{{ inputs.prefix }}}}-{{{{ steps.read.result.data.content | trim | truncate({width}) }}}}
      size: "{{{{ steps.read.result.data.content | length }}}}"
  - if: vars.size > {threshold} and not inputs.notify
    tool: km_variable_manager
    with: {{operation: set, name: "Var{n}", value: "{{{{ vars.text | upper }}}}"}}
  - foreach: range(inputs.count)
    as: round
    steps:
      - set: {{last: "{{{{ round * {n} + 1 }}}}"}}
  - if: inputs.notify
    tool: km_notifications
    with:
      notification_type: notification
      title: "{plugin} {n}"
      message: "{{{{ vars.text | replace('-', ' ') }}}} ({{{{ vars.size }}}} characters)"
outputs:
  text: "{{{{ vars.text }}}}"
  size: "{{{{ vars.size }}}}"
"""

PLUGIN = """api_version: "1.1"
identifier: {plugin}
name: Generated {plugin}
version: 1.0.0
description: A generated plugin of {count} actions for benchmarks.
permissions: [km_clipboard_manager, km_variable_manager, km_notifications]
"""


def make_plugin(folder: Path, plugin: str, count: int) -> Path:
    """A plugin folder with ``count`` distinct actions (distinct templates and expressions)."""
    root = folder / plugin
    (root / "actions").mkdir(parents=True)
    (root / "plugin.yaml").write_text(PLUGIN.format(plugin=plugin, count=count), "utf-8")
    for n in range(count):
        text = ACTION.format(
            n=n,
            plugin=plugin,
            count=1 + n % 5,
            width=20 + (n * 7 + len(plugin)) % 60,
            threshold=n % 13,
        )
        (root / "actions" / f"step-{n}.yaml").write_text(text, "utf-8")
    return root


STARTUP = """
import json, sys, time
started = time.perf_counter()
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
imported = time.perf_counter()
store = Store.open(sys.argv[1])
runtime = ServedPlugins.load(store, compile=sys.argv[2] == "compile")
loaded = time.perf_counter()
print(json.dumps({"import": imported - started, "load": loaded - imported,
                  "actions": len(runtime.names()), "refused": len(runtime.refused)}))
"""


def startup(home: Path, mode: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", STARTUP, str(home), mode],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def drop_manifest_cache(home: Path) -> None:
    for path in (home / "cache").iterdir():
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-plugins-"))
    try:
        big = make_plugin(work / "src", "fifty", 50)
        times = []
        for round_ in range(args.rounds):
            with Store.open(work / f"install-{round_}") as store:
                started = time.perf_counter()
                install(store, big)
                times.append(time.perf_counter() - started)
        print(
            f"install a 50-action plugin:       median {statistics.median(times) * 1000:7.1f} ms"
            f"  (min {min(times) * 1000:.1f}, {args.rounds} rounds)"
        )

        home = work / "home"
        with Store.open(home) as store:
            started = time.perf_counter()
            for p in range(20):
                install(store, make_plugin(work / "src", f"gen-{p:02d}", 50))
            filled = time.perf_counter() - started
        print(f"install 20 plugins x 50 actions:  {filled:7.2f} s in all")
        for label, mode in (("loaded and compiled", "compile"), ("loaded (lazy compile)", "lazy")):
            runs = [startup(home, mode) for _ in range(args.rounds)]
            load = statistics.median(r["load"] for r in runs)
            imp = statistics.median(r["import"] for r in runs)
            print(
                f"start-up, 1,000 actions {label:<22} median {load * 1000:7.1f} ms"
                f"  (+ {imp * 1000:.0f} ms of imports; {runs[0]['actions']:.0f} actions)"
            )
        drop_manifest_cache(home)
        cold = startup(home, "compile")
        print(
            f"start-up without the manifest cache (YAML parsed, validated again, cache "
            f"rebuilt): {cold['load'] * 1000:7.1f} ms"
        )
        target = statistics.median(startup(home, "compile")["load"] for _ in range(args.rounds))
        verdict = "meets" if target <= 1.0 else "MISSES"
        print(f"target: start-up <= 1000 ms; now {target * 1000:.1f} ms: {verdict} it")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
