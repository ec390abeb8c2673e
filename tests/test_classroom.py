"""`grade classroom`: the GitHub Classroom workflow, parsed, then each test's setup command
and command run as the command grader runs them (`sh`, with only PATH, HOME and FORCE_COLOR)
in a student's clone of a release, on a correct and on a wrong submission: a test passes
exactly when its check passes, and the points of the passing tests add up to the score of
`grade exercise`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader.classroom import COMMAND_GRADER, REPORTER, points_scale
from grader.errors import GradewiseError

from conftest import COURSE, REPO, mistake_source, solution_source

EX1 = COURSE.find("1")
BIN = Path(sys.executable).parent  # where the installed `grade` command is
INPUTS = {"test-name", "setup-command", "command", "timeout", "max-score"}


def grade(*args, cwd=None, env=None):
    env = env or {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """A release of exercise 1 holding the workflow `grade classroom` wrote into it."""
    rel = tmp_path_factory.mktemp("classroom") / "release"
    done = grade("release", "--out", str(rel), "--exercises", "1")
    assert done.returncode == 0, done.stderr
    out = rel / ".github" / "workflows" / "classroom.yml"
    done = grade("classroom", "--out", str(out), "--exercises", "1", "--json")
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["tests"] == len(EX1.checks) and made["points"] == EX1.points * made["scale"]
    return rel, yaml.safe_load(out.read_text(encoding="utf-8")), made["scale"]


def graders(document) -> list[dict]:
    (job,) = document["jobs"].values()
    return [step for step in job["steps"] if step.get("uses") == COMMAND_GRADER]


def test_the_workflow_is_classrooms_format_one_test_per_check(release):
    _, document, scale = release
    assert document["on"] == ["push", "repository_dispatch", "workflow_dispatch"]
    assert document["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    (job,) = document["jobs"].values()
    assert [s["uses"] for s in job["steps"][:2]] == ["actions/checkout@v4",
                                                     "actions/setup-python@v5"]
    steps = graders(document)
    assert [s["with"]["test-name"].split(" · ", 1)[1] for s in steps] == \
        [c.name for c in EX1.checks]
    ids = [s["id"] for s in steps]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", i) for i in ids)
    for step, check in zip(steps, EX1.checks):
        assert set(step["with"]) == INPUTS
        assert isinstance(step["with"]["max-score"], int)  # the grader reads it with parseInt
        assert step["with"]["max-score"] == check.points * scale
        assert isinstance(step["with"]["timeout"], int) and step["with"]["timeout"] >= 1
    assert scale == 2  # exercise 1 has checks of 1.5 points
    reporter = job["steps"][-1]
    assert reporter["uses"] == REPORTER and reporter["with"]["runners"] == ",".join(ids)
    assert reporter["env"] == {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}"
                               for i in ids}


def run_tests(clone: Path, document) -> dict:
    """Each test's command run in `clone` as the command grader runs it: test-name → exit
    status (after its setup command, which must succeed)."""
    env = {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(clone.parent / "home"),
           "FORCE_COLOR": "true"}
    codes = {}
    for step in graders(document):
        inputs = step["with"]
        setup = subprocess.run(["sh", "-c", inputs["setup-command"]], cwd=clone, env=env,
                               capture_output=True, text=True, timeout=120)
        assert setup.returncode == 0, setup.stderr
        done = subprocess.run(["sh", "-c", inputs["command"]], cwd=clone, env=env,
                              capture_output=True, text=True, timeout=inputs["timeout"] * 60)
        assert done.returncode in (0, 3), done.stderr
        codes[inputs["test-name"]] = (done.returncode, inputs["max-score"])
    return codes


@pytest.mark.parametrize("submission", ["correct", "wrong"])
def test_each_test_passes_exactly_when_its_check_does(release, tmp_path, submission):
    rel, document, scale = release
    clone = tmp_path / "student-repo"
    shutil.copytree(rel, clone)
    source = solution_source(EX1) if submission == "correct" else \
        mistake_source(EX1, EX1.mistakes[0])
    (clone / "workspace").mkdir()
    (clone / "workspace" / f"{EX1.stem}.py").write_text(source, encoding="utf-8")
    codes = run_tests(clone, document)
    graded = grade("exercise", "1", "--json", cwd=clone,
                   env={**os.environ, "GRADEWISE_WORKSPACE": str(clone / "workspace")})
    assert graded.returncode == 0, graded.stderr
    result = json.loads(graded.stdout)
    passed = {f"Exercise 1 (softmax) · {c['name']}": c["passed"] for c in result["checks"]}
    assert {name: code == 0 for name, (code, _) in codes.items()} == passed
    earned = sum(points for code, points in codes.values() if code == 0)
    assert earned == result["score"] * scale
    if submission == "correct":
        assert earned == EX1.points * scale
    else:
        assert 0 < earned < EX1.points * scale


def test_grade_exercise_check_names_the_checks_when_it_does_not_know_one(tmp_path):
    done = grade("exercise", "1", "--check", "softmax of a vectr", "--file",
                 str(tmp_path / "none.py"))
    assert done.returncode == 1
    assert "no check 'softmax of a vectr'; did you mean 'softmax of a vector'?" in done.stderr
    assert all(repr(c.name) in done.stderr for c in EX1.checks)
    done = grade("exercise", "1", "--check", "nonexistent", "--file", str(tmp_path / "none.py"))
    assert done.returncode == 1 and "has no check 'nonexistent'. Its checks: " in done.stderr
    done = grade("exercise", "all", "--check", "softmax of a vector")
    assert done.returncode == 1 and "not 'all'" in done.stderr


def test_points_are_made_whole_for_the_command_grader():
    assert points_scale([1, 2, 3]) == 1
    assert points_scale([1.5, 2, 0.25]) == 4
    assert points_scale([1 / 3, 1]) == 3
    with pytest.raises(GradewiseError, match="Round them in the specs"):
        points_scale([2 ** 0.5])
