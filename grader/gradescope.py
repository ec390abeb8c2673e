"""Gradescope: build an autograder zip, and grade one submission inside its container.

    grade gradescope --out autograder.zip [--exercises 1,3-5] [--seed N] [--hidden-seed N]
                                          [--timeout S]

The zip holds `setup.sh` (run once by Gradescope, as root, to build the image: a virtual
environment with gradewise installed from the source tree in the zip, and the course made
unreadable to other users), `run_autograder` (run for every submission) and `config.json`.
`run_autograder` grades `/autograder/submission/` like one student folder of `grade batch`
and writes `/autograder/results/results.json` in Gradescope's format: one test per check.
With `--hidden-seed`, every check with random cases is graded twice, half its points each:
on the public cases (seed `--seed`, the ones `grade exercise` uses, shown at once) and on
cases drawn with the hidden seed (shown once grades are published: `after_published`).
`GRADEWISE_AUTOGRADER_ROOT` replaces `/autograder` (tests), `GRADEWISE_PYTHON` the Python.

The zip's `gradewise/pyproject.toml` is made from the metadata of the installed distribution
(its version, Python and dependencies), never from a copy kept here. results.json is the
`gradescope` writer of `grader.writers` (`results_json`), made from the submission's
`StudentResults`: Gradescope's documented fields (score, execution_time, output, tests with
name, score, max_score, status, output, visibility).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from .files import atomic_write
from .results import StudentResults
from .writers import find

ROOT_VARIABLE = "GRADEWISE_AUTOGRADER_ROOT"
HIDDEN_SHARE = 0.5  #: share of a check's points given to its hidden cases

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
cd /autograder/source
if ! python3 -c "import ensurepip, venv" > /dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip
fi
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
/autograder/venv/bin/python -m pip install --quiet ./gradewise
# Student code runs as an unprivileged user of its own: keep the course out of its reach
# (where the container allows it, a mount namespace hides it as well).
chmod -R go-rwx /autograder/source
/autograder/venv/bin/python - <<'EOF'
import os, pathlib, grader
for sub in ("solutions", "exercises"):
    folder = pathlib.Path(grader.__file__).parent / "_bundled" / sub
    for path in [folder, *folder.rglob("*")] if folder.exists() else []:
        os.chmod(path, os.stat(path).st_mode & 0o700)
EOF
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in a fresh container.
ROOT="${GRADEWISE_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${GRADEWISE_PYTHON:-$ROOT/venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
export GRADEWISE_COURSE="$ROOT/source/gradewise"
export OPENBLAS_NUM_THREADS=1
exec "$PYTHON" -m grader.gradescope "$ROOT"
"""


# -- building the zip -------------------------------------------------------------------------

def build_autograder(out: Path, course, specs, seed: int = 0, hidden_seed: int | None = None,
                     timeout: float | None = None) -> dict:
    """Write the autograder zip; returns what it holds. `timeout`: the instructor's
    `--timeout` (every time limit at least that many seconds of computing time; None: the
    course's limits), kept in config.json. Raises GradewiseError, writing nothing, when a
    reference solution does not score full marks on the cases of the seed or of the hidden
    seed (`grader.batch.check_references`)."""
    import grader

    from .batch import check_references

    package = Path(grader.__file__).parent
    pyproject = _pyproject(package)  # first: it may refuse
    seeds = [seed] + ([hidden_seed] if hidden_seed is not None else [])
    check_references(course, specs, seeds, timeout=timeout)
    config = {"exercises": [s.number for s in specs], "seed": seed, "hidden_seed": hidden_seed,
              "timeout": timeout}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    files = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        _add_text(zf, "setup.sh", SETUP_SH, executable=True)
        _add_text(zf, "run_autograder", RUN_AUTOGRADER, executable=True)
        _add_text(zf, "config.json", json.dumps(config, indent=2) + "\n")
        _add_text(zf, "gradewise/pyproject.toml", pyproject)
        for path in sorted(package.rglob("*.py")):
            rel = path.relative_to(package)
            if "__pycache__" in rel.parts or rel.parts[0] == "_bundled" and len(rel.parts) > 2:
                continue
            zf.write(path, f"gradewise/grader/{rel.as_posix()}")
            files += 1
        for spec in specs:
            zf.write(spec.path, f"gradewise/exercises/{spec.path.name}")
            zf.write(course.solutions_dir / spec.solution, f"gradewise/solutions/{spec.solution}")
            files += 2
            public = course.public_path(spec)  # generators, predicates, evaluators
            if public.is_file():
                zf.write(public, f"gradewise/exercises/{public.name}")
                files += 1
        data = course.exercises_dir / "data"
        for path in sorted(data.rglob("*")) if data.is_dir() else []:
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, f"gradewise/exercises/{path.relative_to(course.exercises_dir).as_posix()}")
                files += 1
    return {"zip": str(out), "exercises": config["exercises"], "seed": seed,
            "hidden_seed": hidden_seed, "points": sum(s.points for s in specs), "files": files}


def _add_text(zf, name, text, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = (0o755 if executable else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, text)


def _pyproject(package: Path) -> str:
    """A pyproject.toml for the copy of gradewise in the zip: name, version, Python and
    dependencies as the installed distribution declares them; the packages found in
    `package` (the course aside: the zip brings its own). Raises GradewiseError when
    gradewise is not installed (its metadata is then nowhere to be read)."""
    from .htmlreport import REPORT_DEPENDENCIES  # the autograder writes no report
    from .release import installed_distribution

    version, python, requires = installed_distribution("grade gradescope")
    dependencies = [r for r in requires
                    if re.split(r"[^A-Za-z0-9._-]", r, maxsplit=1)[0].lower()
                    not in REPORT_DEPENDENCIES]
    folders = [p.parent.relative_to(package).parts for p in package.rglob("__init__.py")]
    subpackages = sorted(".".join(("grader", *parts)) for parts in folders  # not the course
                         if parts in ((), ("_bundled",)) or "_bundled" not in parts)
    packages = [*subpackages, "grader._bundled.exercises", "grader._bundled.solutions"]
    return f"""\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "gradewise"
version = {json.dumps(version)}
requires-python = {json.dumps(python)}
dependencies = {json.dumps(dependencies)}

[project.scripts]
grade = "grader.cli:run"

[tool.setuptools]
packages = {json.dumps(packages)}

[tool.setuptools.package-dir]
"grader" = "grader"
"grader._bundled.exercises" = "exercises"
"grader._bundled.solutions" = "solutions"

[tool.setuptools.package-data]
"grader._bundled.exercises" = ["*.yaml", "data/*", "data/**/*"]
"grader._bundled.solutions" = ["*.py"]
"""


# -- grading inside the container -------------------------------------------------------------

def grade_submission(root: Path) -> StudentResults:
    """Grade `root/submission/` with the zip's config: the public results and, with a hidden
    seed, the hidden results of the checks whose cases change with the seed."""
    from .grading import Grader  # first: its sandbox forks before any solution is loaded
    from .batch import Student, grade_student, results_of, student_from_folder
    from .course import find_course

    started = time.monotonic()
    config = json.loads((root / "source" / "config.json").read_text(encoding="utf-8"))
    submission = root / "submission"
    timeout = float(config["timeout"]) if config.get("timeout") else None
    hide = (submission, root / "results", root / "source")
    # an uploaded archive is unpacked into a private folder, as `grade batch` does
    with tempfile.TemporaryDirectory(prefix="gradewise-unpacked-") as unpacked, \
            Grader(find_course(), seed=int(config.get("seed") or 0), timeout=timeout,
                   hide=(*hide, unpacked)) as grader:
        specs = [grader.course.find(str(n)) for n in config["exercises"]]
        unmatched: list = []
        student = student_from_folder(submission, submission, specs, unmatched,
                                      Path(unpacked)) \
            if submission.is_dir() else Student("submission", submission)
        public = grade_student(grader, specs, student)
        hidden = None
        if config.get("hidden_seed") is not None:
            grader.seed = int(config["hidden_seed"])  # same sandbox: no second fork
            hidden = grade_student(grader, specs, student)
            for spec, result in zip(specs, hidden):  # graded once, in full, when fixed
                random = {c.name for c in spec.checks if _has_random_cases(spec, c)}
                result.checks = [c for c in result.checks if c.name in random]
        graded = results_of(student, public, config.get("seed") or 0, grader.sandbox.isolation,
                            round(time.monotonic() - started, 3), grader.sandbox.exposed or [])
    graded.unmatched, graded.hidden = unmatched, hidden
    return graded


def results_json(student: StudentResults) -> str:
    """Gradescope's results.json for one submission: one test per check (two for a check
    with hidden cases: the public half, visible, and the hidden half, `after_published`),
    the total, the execution time, and the student's feedback in Markdown as the output."""
    from .feedback import feedback_markdown

    tests = []
    hidden = {r.exercise: r for r in student.hidden or []}
    for result in student.results:
        tests += _tests(result, hidden.get(result.exercise))
    return json.dumps({"score": round(sum(t["score"] for t in tests), 6),
                       "execution_time": int(round(student.seconds or 0)),
                       "output": feedback_markdown(student, title="Feedback"),
                       "output_format": "md", "test_output_format": "text",
                       "stdout_visibility": "hidden", "tests": tests}, indent=1)


def _tests(result, hidden_result) -> list:
    tests = []
    hidden_checks = {c.name: c for c in hidden_result.checks} if hidden_result else {}
    for number, check in enumerate(result.checks, 1):
        name = f"Exercise {result.exercise} ({result.slug}) · {check.name}"
        split = check.name in hidden_checks
        share = (1 - HIDDEN_SHARE) if split else 1.0
        tests.append(_test(name, f"{result.exercise}.{number}", check, share, result,
                           "visible"))
        if split:
            tests.append(_test(f"{name} (hidden random cases)", f"{result.exercise}.{number}h",
                               hidden_checks[check.name], HIDDEN_SHARE, hidden_result,
                               "after_published"))
    return tests


def _test(name, number, check, share, result, visibility) -> dict:
    output = check.message or ("passed" if check.passed else "")
    if result.error and not check.passed:
        output = result.error
    return {"name": name, "number": number, "score": round(check.score * share, 6),
            "max_score": round(check.max_score * share, 6),
            "status": "passed" if check.passed else "failed",
            "output": output, "visibility": visibility}


def _has_random_cases(spec, check) -> bool:
    """Whether a case of `check` changes with the seed: random draws, a generator, or a
    literal case's `vary` (a check whose cases never change is graded once, in full)."""
    return any(case.seeded for case in spec.cases_for(check))


def main(argv: list[str]) -> int:
    """`python -m grader.gradescope ROOT`: what run_autograder executes."""
    root = Path(argv[0] if argv else os.environ.get(ROOT_VARIABLE, "/autograder"))
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    try:
        text = find("student", "gradescope").render(grade_submission(root))
    except Exception as exc:  # whatever happens, Gradescope gets a results.json that says so
        import traceback
        traceback.print_exc()
        text = json.dumps({"score": 0, "execution_time": 0, "stdout_visibility": "visible",
                           "output": f"The autograder failed ({type(exc).__name__}: {exc}). "
                                     "This is not your fault: tell your instructor.",
                           "tests": []}, indent=1)
    atomic_write(results_dir / "results.json", text)
    return 0


if __name__ == "__main__":
    sys.stdout.flush()
    raise SystemExit(main(sys.argv[1:]))
