"""Grade a generated class of 100 students with `grade batch --jobs 2`; print the wall time,
students per second and CPU per student, against the floor of one Python start with numpy.

    python benchmarks/batch.py [--students 100] [--jobs 2] [--repeat N] [--keep DIR]

The class covers every shipped exercise (whatever specs exist in exercises/): each student
file is derived from the reference solution, with catalogued mistakes swapped in
(`function = mistake_<id>`, as `grade validate` does), functions that crash (raise,
`os._exit`, a syntax error) or loop forever; as `.py` files, notebooks, or one notebook per
student holding several exercises. A second run grades only the all-correct students, to
give the cost of grading itself (no timeouts) per student-exercise. Target: the whole class
in under 60 s on 2 cores; with its looping students, at most 1.25 times the class without them
(a looping function costs its own limit once). On a shared machine, `--repeat 3` grades the
class with and without them three times each, alternately, and compares the fastest runs.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.course import Course  # noqa: E402

# a crashing or looping student has one such function (in one exercise); the rest is right
PROFILES = [("correct", 40), ("partly wrong", 40), ("crashing", 15), ("looping", 5)]
CRASHES = [
    "def {function}(*args, **kwargs):\n    raise RuntimeError('oops')\n",
    "def {function}(*args, **kwargs):\n    import os\n    os._exit(3)\n",
    "def {function}(*args, **kwargs)\n    return None\n",  # a syntax error
]
LOOP = "def {function}(*args, **kwargs):\n    while True:\n        pass\n"


def generate(course: Course, root: Path, students: int, seed: int = 0) -> dict:
    """Write the class under `root`; returns {profile: [student names]}."""
    import nbformat

    rng = random.Random(seed)
    specs = course.specs()
    sources = {s.number: (course.solutions_dir / s.solution).read_text() for s in specs}
    profiles = [p for p, n in PROFILES for _ in range(round(n * students / 100))][:students]
    profiles += ["correct"] * (students - len(profiles))
    rng.shuffle(profiles)
    by_profile: dict = {}
    for i, profile in enumerate(profiles):
        name = f"student{i:03d}"
        by_profile.setdefault(profile, []).append(name)
        broken = rng.choice(specs).number  # where a crashing or looping student went wrong
        files = {s.number: student_source(rng, profile if profile in ("correct", "partly wrong")
                                          or s.number == broken else "correct", s,
                                          sources[s.number]) for s in specs}
        layout = rng.choices(["py", "ipynb", "one notebook"], [60, 20, 20])[0]
        if layout == "one notebook":
            chosen = _without_name_clashes(files, rng)
            cells = [nbformat.v4.new_code_cell(files[n]) for n in chosen]
            (root / f"{name}.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook(cells=cells)))
            continue
        folder = root / name
        folder.mkdir(parents=True)
        for spec in specs:
            if profile == "partly wrong" and rng.random() < 0.1:
                continue  # not submitted
            if layout == "py":
                (folder / f"{spec.stem}.py").write_text(files[spec.number])
            else:
                cell = nbformat.v4.new_code_cell(files[spec.number])
                notebook = nbformat.v4.new_notebook(cells=[cell])
                (folder / f"{spec.stem}.ipynb").write_text(nbformat.writes(notebook))
    return by_profile


def student_source(rng, profile, spec, solution: str) -> str:
    if profile == "partly wrong" and spec.mistakes and rng.random() < 0.5:
        mistake = rng.choice(spec.mistakes)
        return f"{solution}\n\n{mistake.function} = {mistake.solution_attr}\n"
    if profile in ("crashing", "looping"):
        function = rng.choice(spec.functions).name
        template = LOOP if profile == "looping" else rng.choice(CRASHES)
        return f"{solution}\n\n{template.format(function=function)}"
    return solution


def _without_name_clashes(files: dict, rng) -> list:
    """Exercises whose top-level names do not collide, as one notebook can hold them."""
    chosen, names = [], set()
    for number in sorted(files, key=lambda n: rng.random()):
        try:
            tree = ast.parse(files[number])
        except SyntaxError:
            continue
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined |= {t.id for n in tree.body if isinstance(n, ast.Assign)
                    for t in n.targets if isinstance(t, ast.Name)}
        if not defined & names:
            chosen.append(number)
            names |= defined
    return sorted(chosen)


def _timeouts(out: Path) -> dict:
    """{student: grading seconds} for the students with a call stopped at its timeout."""
    import json
    found = {}
    for path in (out / "feedback").glob("*.json"):
        record = json.loads(path.read_text())
        if any(c["diagnosis"] == "timeout" for r in record["results"] for c in r["checks"]):
            found[record["student"]] = record.get("seconds", 0.0)
    return found


def grade_command() -> list[str]:
    beside = Path(sys.executable).parent / "grade"
    return [str(beside)] if beside.exists() else [shutil.which("grade") or "grade"]


def timed(argv, env) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and everything it started)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr.decode()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs with and without the looping students (the fastest count)")
    parser.add_argument("--keep", type=Path, help="generate the class here and keep it")
    args = parser.parse_args()
    course = Course(REPO)
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "grader")],
                   check=True, stdout=subprocess.DEVNULL)
    work = Path(args.keep or tempfile.mkdtemp(prefix="gradewise-bench-"))
    try:
        subs = work / "subs"
        subs.mkdir(parents=True, exist_ok=True)
        profiles = generate(course, subs, args.students)
        exercises = len(course.spec_paths())
        floor = [timed([sys.executable, "-c", "import numpy"], env) for _ in range(5)]
        floor_wall = statistics.median(w for w, _ in floor)
        floor_cpu = statistics.median(c for _, c in floor)

        batch = grade_command() + ["batch", str(subs), "--out", str(work / "out"),
                                   "--jobs", str(args.jobs)]
        wall, cpu = timed(batch, env)
        print(f"class: {args.students} students × {exercises} exercises "
              f"({', '.join(f'{len(v)} {k}' for k, v in sorted(profiles.items()))}), "
              f"--jobs {args.jobs}")
        print(f"  total wall time      {wall:7.2f} s   (target < 60 s)")
        print(f"  students per second  {args.students / wall:7.2f}")
        print(f"  CPU per student      {cpu / args.students * 1000:7.0f} ms   "
              "(looping calls burn their full timeout)")
        timeouts = _timeouts(work / "out")
        print(f"  of which {len(timeouts)} students had calls stopped at their timeout: "
              f"{sum(timeouts.values()):.1f} s of grading ("
              + ", ".join(f"{s:.0f} s" for s in sorted(timeouts.values(), reverse=True)) + ")")

        calm = _copy_students(subs, work / "calm", [name for profile, names in profiles.items()
                                                   if profile != "looping" for name in names])
        runs, calm_runs = [(wall, cpu)], []
        for run in range(args.repeat):
            if run:
                runs.append(timed(batch, env))
            calm_runs.append(timed(grade_command() + ["batch", str(calm), "--out",
                                                      str(work / f"out-calm{run}"), "--jobs",
                                                      str(args.jobs)], env))
        shown = "" if args.repeat == 1 else \
            f" (fastest of {', '.join(f'{w:.1f}' for w, _ in calm_runs)}; with them " \
            f"{', '.join(f'{w:.1f}' for w, _ in runs)})"
        print(f"  without its {len(profiles.get('looping', []))} looping students "
              f"{min(calm_runs)[0]:7.2f} s{shown}: with them the class takes "
              f"{min(runs)[0] / min(calm_runs)[0]:.2f}× as long (target ≤ 1.25)")
        # CPU time does not change with what the machine's other users do
        print(f"  in CPU time: {min(c for _, c in runs):.1f} s with them, "
              f"{min(c for _, c in calm_runs):.1f} s without: "
              f"{min(c for _, c in runs) / min(c for _, c in calm_runs):.2f}×")

        correct = _copy_students(subs, work / "correct", profiles.get("correct", []))
        n = len(profiles.get("correct", []))
        wall_ok, cpu_ok = timed(grade_command() + ["batch", str(correct), "--out",
                                                   str(work / "out-correct"), "--jobs",
                                                   str(args.jobs)], env)
        print(f"only the {n} all-correct students (no timeouts):")
        print(f"  wall {wall_ok:.2f} s, {n / wall_ok:.1f} students/s; CPU per student "
              f"{cpu_ok / n * 1000:.0f} ms, per student-exercise {cpu_ok / n / exercises * 1000:.0f} ms")
        print(f"floor: python -c 'import numpy'  wall {floor_wall * 1000:.0f} ms, CPU "
              f"{floor_cpu * 1000:.0f} ms; CPU per student / floor = {cpu_ok / n / floor_cpu:.2f}"
              "   (target ≤ 3)")
        print(f"for scale: nbgrader autograde ≈ 1500 ms per notebook; gradewise "
              f"{wall_ok / n / exercises * 1000:.0f} ms wall per student-exercise")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _copy_students(subs: Path, to: Path, names) -> Path:
    """A class made of some of the students of `subs` (folders or whole-class notebooks)."""
    to.mkdir(exist_ok=True)
    for name in names:
        source = subs / name if (subs / name).is_dir() else subs / f"{name}.ipynb"
        (shutil.copytree if source.is_dir() else shutil.copy)(source, to / source.name)
    return to


if __name__ == "__main__":
    main()
