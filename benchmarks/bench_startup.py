"""How long ``km-actions`` takes as a whole process, as a person typing it waits:
``--version``, ``--help`` and ``validate FILE`` (a shipped action), each run N times in
a fresh process, hyperfine-like (one warm-up run first). Targets on the reference
machine: ``--version`` <= 0.1 s and ``validate FILE`` <= 0.25 s.

Reports the minimum and median wall time and the median CPU time (user + system, which
other load on the machine disturbs less), and each as a ratio of a bare
``python -c pass`` (the floor no command can go under).

Bytecode is cached in a temporary folder (PYTHONPYCACHEPREFIX), as an installed package
has it; ``--no-bytecode`` measures compiling every module each time instead.

    python benchmarks/bench_startup.py [--runs N] [--no-bytecode]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KM_ACTIONS = Path(sys.executable).with_name("km-actions")

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "km-actions --version": [str(KM_ACTIONS), "--version"],
    "km-actions --help": [str(KM_ACTIONS), "--help"],
    "km-actions validate FILE": [str(KM_ACTIONS), "validate", "save-note.yaml"],
}
TARGETS = {"km-actions --version": 0.1, "km-actions validate FILE": 0.25}


@dataclass(frozen=True)
class Timing:
    wall: list[float]
    cpu: list[float]


def _time_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=ROOT / "actions",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime


def measure(argv: list[str], runs: int, env: dict[str, str]) -> Timing:
    _time_once(argv, env)  # warm-up: file cache, bytecode
    samples = [_time_once(argv, env) for _ in range(runs)]
    return Timing([w for w, _ in samples], [c for _, c in samples])


def main(runs: int, bytecode: bool) -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ)
        if bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        timings = {name: measure(argv, runs, env) for name, argv in COMMANDS.items()}
    floor = statistics.median(timings["python -c pass"].wall)
    print(f"{runs} runs each, bytecode {'cached' if bytecode else 'compiled every run'}")
    print(f"{'command':28} {'min s':>7} {'median s':>9} {'cpu s':>7} {'x python':>9}  target")
    for name, timing in timings.items():
        median = statistics.median(timing.wall)
        target = TARGETS.get(name)
        verdict = "" if target is None else f"<= {target} s: {'yes' if median <= target else 'NO'}"
        print(
            f"{name:28} {min(timing.wall):7.3f} {median:9.3f} "
            f"{statistics.median(timing.cpu):7.3f} {median / floor:9.1f}  {verdict}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-bytecode", action="store_true", help="compile modules every run")
    options = parser.parse_args()
    main(options.runs, not options.no_bytecode)
