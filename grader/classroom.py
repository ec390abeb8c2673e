"""`grade classroom`: the GitHub Classroom autograding workflow, one test per check.

    grade classroom [--out .github/workflows/classroom.yml] [--exercises 1-4] [--timeout S]

GitHub Classroom grades a student repository with the GitHub Actions workflow
`.github/workflows/classroom.yml` of the assignment's template repository (here: a release
made by `grade release`, which students install with `pip install -e .`). Its format is the
one Classroom writes itself:

  - each test is a step that uses `classroom-resources/autograding-command-grader@v1`, with an
    `id` and the inputs `test-name`, `setup-command`, `command`, `timeout` (minutes) and
    `max-score`; the test passes, and earns its `max-score`, when `command` exits 0
    (https://github.com/classroom-resources/autograding-command-grader, README: Inputs);
  - a last step uses `classroom-resources/autograding-grading-reporter@v1` with `runners:`,
    the step ids joined by commas, and for each id the variable `<ID>_RESULTS` (the id in
    capitals) set to `${{steps.<id>.outputs.result}}`: it adds up the points and reports
    them to Classroom (https://github.com/classroom-resources/autograding-grading-reporter,
    README: Usage; `src/main.js` reads `<ID>_RESULTS` in capitals).

One step per check of each exercise, worth that check's points, runs
`grade exercise N --check NAME`, which grades the exercise as `grade exercise N` does and
exits 0 exactly when that check passes: partial credit, check by check, and the points of
the steps that pass add up to the score `grade exercise N` gives. The command grader reads
`max-score` as a whole number (`parseInt`): when a course has fractional points (1.5), every
check's points are multiplied by the smallest factor that makes them whole, and the header
of the file says so. Setup: Python (the version of this interpreter), then in each step,
unless `grade` is installed already, `pip install -e .` in the student's clone.
"""

from __future__ import annotations

import math
import re
import shlex
import sys
from dataclasses import dataclass

from .errors import GradewiseError

COMMAND_GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
CHECKOUT = "actions/checkout@v4"
SETUP_PYTHON = "actions/setup-python@v5"
#: in each step: install the student's clone of the release, once (later steps find `grade`)
SETUP_COMMAND = "command -v grade >/dev/null 2>&1 || python -m pip install -e ."
MIN_TIMEOUT_MINUTES = 5  #: installing gradewise and numpy takes a minute or so
MAX_SCALE = 1000  #: the largest factor tried to make every check's points whole
HEADER = """\
# GitHub Classroom autograding, written by `grade classroom` (gradewise {version}).
# One test per check: {steps} tests, {points} points{scaled}.
# Each test runs `grade exercise N --check NAME` in the student's repository (a clone of the
# release made by `grade release`), which exits 0 exactly when that check passes.
# Made again by `grade classroom`: edit the course, not this file.
"""


@dataclass(frozen=True)
class Workflow:
    """The workflow's text (YAML), its number of tests, its total of points (as Classroom
    counts them) and the factor applied to every check's points (1: none)."""

    text: str
    steps: int
    points: int
    scale: int


def workflow(specs, timeout: float | None = None) -> Workflow:
    """The autograding workflow of the checks of `specs` (the module's docstring); `timeout`:
    the instructor's `--timeout`, passed to every `grade exercise`. Raises GradewiseError
    when a check's points cannot be made whole (MAX_SCALE)."""
    import yaml  # here: `grade exercise` never needs it

    scale = points_scale([check.points for spec in specs for check in spec.checks])
    steps, ids = [], []
    for spec in specs:
        minutes = timeout_minutes(spec, timeout)
        for index, check in enumerate(spec.checks, 1):
            step_id = step_id_of(spec, index)
            name = f"Exercise {spec.number} ({spec.slug}) · {check.name}"
            ids.append(step_id)
            steps.append({"name": name, "id": step_id, "uses": COMMAND_GRADER, "with": {
                "test-name": name, "setup-command": SETUP_COMMAND,
                "command": check_command(spec, check.name, timeout),
                "timeout": minutes, "max-score": round(check.points * scale)}})
    reporter = {"name": "Autograding Reporter", "uses": REPORTER,
                "env": {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}" for i in ids},
                "with": {"runners": ",".join(ids)}}
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    document = {
        "name": "Autograding Tests",
        "on": ["push", "repository_dispatch", "workflow_dispatch"],
        "permissions": {"checks": "write", "actions": "read", "contents": "read"},
        "jobs": {"run-autograding-tests": {
            "runs-on": "ubuntu-latest",
            # Classroom's own commits (creating the repository) are not submissions
            "if": "github.actor != 'github-classroom[bot]'",
            "steps": [{"name": "Checkout code", "uses": CHECKOUT},
                      {"name": "Set up Python", "uses": SETUP_PYTHON,
                       "with": {"python-version": python}},
                      *steps, reporter]}}}
    total = sum(step["with"]["max-score"] for step in steps)
    header = HEADER.format(version=_version(), steps=len(steps), points=total,
                           scaled=f" (every check's points ×{scale}: Classroom counts whole "
                                  "points)" if scale != 1 else "")
    # no line folded: every value on one line, as GitHub shows it
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1 << 16)
    return Workflow(header + text, len(steps), total, scale)


def check_command(spec, name: str, timeout: float | None = None) -> str:
    """The shell command that exits 0 exactly when check `name` of `spec` passes."""
    words = ["grade", "exercise", str(spec.number), "--check", name]
    if timeout is not None:
        words += ["--timeout", f"{timeout:g}"]
    return shlex.join(words)


def step_id_of(spec, index: int) -> str:
    """`ex01_softmax-3`: the id of the step of the `index`-th check of `spec` (GitHub
    Actions: letters, digits, `-` and `_`, starting with a letter)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{spec.stem}-{index}")


def points_scale(points) -> int:
    """The smallest factor (1 to MAX_SCALE) that makes every one of `points` whole. Raises
    GradewiseError when there is none."""
    for scale in range(1, MAX_SCALE + 1):
        if all(abs(p * scale - round(p * scale)) < 1e-9 for p in points):
            return scale
    raise GradewiseError(f"GitHub Classroom counts whole points, and no factor up to "
                         f"{MAX_SCALE} makes these checks' points whole: "
                         f"{', '.join(f'{p:g}' for p in points)}. Round them in the specs")


def timeout_minutes(spec, timeout: float | None = None) -> int:
    """Minutes a step of `spec` may take (the command grader's `timeout`): the longest a
    batch would wait for this exercise (`batch.student_deadline`), at least
    MIN_TIMEOUT_MINUTES (the setup command, which installs gradewise, has as long)."""
    from .batch import student_deadline

    return max(MIN_TIMEOUT_MINUTES, math.ceil(student_deadline([spec], timeout=timeout) / 60))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gradewise")
    except PackageNotFoundError:
        return "unknown"
