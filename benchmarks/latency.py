"""Latency of a whole `grade exercise N --file <reference> --json` process, per exercise,
against the floor of one Python start with numpy (`python -c "import numpy"`).

    python benchmarks/latency.py [--runs 7]

Runs are interleaved (floor, then each exercise) so that machine noise hits all alike; the
medians and their ratio are printed. Target: ratio ≤ 1.6.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def grade_command() -> list[str]:
    beside = Path(sys.executable).parent / "grade"  # not a shell shim: its start-up is not ours
    return [str(beside)] if beside.exists() else [shutil.which("grade") or "grade"]


def timed(argv, cwd, env) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    specs = sorted((REPO / "exercises").glob("ex[0-9][0-9]_*.yaml"))
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    # pip byte-compiles an installed package; an editable install under
    # PYTHONDONTWRITEBYTECODE would recompile grader/ at every call, which no user pays
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "grader")],
                   check=True, stdout=subprocess.DEVNULL)
    floor_cmd = [sys.executable, "-c", "import numpy"]
    with tempfile.TemporaryDirectory() as tmp:
        env["GRADEWISE_WORKSPACE"] = str(Path(tmp) / "workspace")
        commands = {}
        for spec in specs:
            number = int(spec.name[2:4])
            solution = REPO / "solutions" / f"{spec.stem}.py"
            commands[number] = grade_command() + ["exercise", str(number), "--file",
                                                  str(solution), "--json"]
        floor, times = [], {n: [] for n in commands}
        for argv in [floor_cmd, *commands.values()]:  # warm-up: caches, byte-code
            timed(argv, tmp, env)
        for _ in range(args.runs):
            floor.append(timed(floor_cmd, tmp, env))
            for number, argv in commands.items():
                times[number].append(timed(argv, tmp, env))
    base = statistics.median(floor)
    print(f"floor: python -c 'import numpy'  median {base * 1000:7.1f} ms  ({args.runs} runs)")
    print(f"{'exercise':<22}{'median':>10}{'floor':>10}{'ratio':>8}")
    for number, values in times.items():
        median = statistics.median(values)
        print(f"{specs[list(times).index(number)].stem:<22}{median * 1000:8.1f}ms"
              f"{base * 1000:8.1f}ms{median / base:8.2f}")
    overall = statistics.median([v for values in times.values() for v in values])
    print(f"{'all exercises':<22}{overall * 1000:8.1f}ms{base * 1000:8.1f}ms{overall / base:8.2f}"
          "   (target ratio ≤ 1.6)")


if __name__ == "__main__":
    main()
