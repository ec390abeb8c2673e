"""`--timeout S`: every time limit at least S seconds of computing time, a check's own limit
included, in `grade exercise`, `grade batch` and the Gradescope autograder; the per-call
default, and what the batch's deadline makes of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.course import Course
from grader.grading import CALL_SECONDS, Grader, call_seconds, time_limits
from grader.sandbox import Limits

from conftest import COURSE

OWN_LIMIT = 0.3  #: the check `total works` has a limit of its own in this copy of the course
# correct, but `total` computes for 0.8 s of CPU time, beyond its check's own limit
SLOW_TOTAL = '''
import time
import numpy as np

def scale(x, k):
    return x * k

def total(x):
    end = time.process_time() + 0.8
    while time.process_time() < end:
        pass
    return float(np.sum(x))
'''


@pytest.fixture
def course(toy_course_copy) -> Path:
    spec = toy_course_copy / "exercises" / "ex01_toy.yaml"
    text = spec.read_text()
    own = f"    function: total\n    kind: compare\n    timeout: {OWN_LIMIT}\n"
    spec.write_text(text.replace("    function: total\n    kind: compare\n", own))
    assert Course(toy_course_copy).find("1").checks[1].timeout == OWN_LIMIT
    return toy_course_copy


def grade(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], env=os.environ.copy(),
                          capture_output=True, text=True, timeout=180, **kwargs)


def total_check(result: dict) -> dict:
    return next(c for c in result["checks"] if c["function"] == "total")


def test_the_timeout_raises_a_checks_own_limit_in_grade_exercise(course, tmp_path):
    path = tmp_path / "ex01_toy.py"
    path.write_text(SLOW_TOTAL)
    cut = json.loads(grade("exercise", "1", "--file", str(path), "--json").stdout)
    assert total_check(cut)["diagnosis"] == "timeout"
    assert f"within {OWN_LIMIT:g} s" in total_check(cut)["message"]
    still_short = json.loads(grade("exercise", "1", "--file", str(path), "--json",
                                   "--timeout", "0.5").stdout)
    assert "within 0.5 s" in total_check(still_short)["message"]  # the limit it had, said
    done = grade("exercise", "1", "--file", str(path), "--json", "--timeout", "4")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["score"] == result["max_score"] == 4


def test_the_timeout_raises_a_checks_own_limit_in_grade_batch(course, tmp_path):
    subs = tmp_path / "subs"
    (subs / "ada").mkdir(parents=True)
    (subs / "ada" / "ex01_toy.py").write_text(SLOW_TOTAL)
    for timeout, expected in ((None, 2), ("4", 4)):
        out = tmp_path / f"out-{timeout}"
        done = grade("batch", str(subs), "--out", str(out), "--json",
                     *(["--timeout", timeout] if timeout else []))
        assert done.returncode == 0, done.stderr
        ada = json.loads((out / "feedback" / "ada.json").read_text())
        assert ada["score"] == expected, total_check(ada["results"][0])["message"]


def test_the_timeout_goes_into_the_gradescope_config(course, tmp_path):
    for timeout, expected in ((None, 2), ("4", 4)):
        zip_path = tmp_path / f"ag-{timeout}.zip"
        made = grade("gradescope", "--out", str(zip_path),
                     *(["--timeout", timeout] if timeout else []))
        assert made.returncode == 0, made.stderr
        root = tmp_path / f"root-{timeout}"
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(root / "source")
        config = json.loads((root / "source" / "config.json").read_text())
        assert config["timeout"] == (float(timeout) if timeout else None)
        (root / "submission").mkdir()
        (root / "submission" / "ex01_toy.py").write_text(SLOW_TOTAL)
        env = {**os.environ, "GRADEWISE_AUTOGRADER_ROOT": str(root),
               "GRADEWISE_PYTHON": sys.executable}
        ran = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                             capture_output=True, text=True, timeout=180)
        assert ran.returncode == 0, ran.stderr
        results = json.loads((root / "results" / "results.json").read_text())
        assert results["score"] == expected, results["tests"]


def test_a_bad_timeout_is_a_usage_error(course, tmp_path):
    for value in ("0", "-1", "inf", "nan"):
        done = grade("batch", str(tmp_path), "--out", str(tmp_path / "o"), "--timeout", value)
        assert done.returncode == 1 and "--timeout" in done.stderr, (value, done.stderr)


def test_every_limit_is_planned_from_the_default_or_the_timeout():
    train = next(c for s in COURSE.specs() for c in s.checks if c.timeout)  # exercise 6's
    plain = COURSE.find("1").checks[0]
    default = time_limits()
    assert default.call_timeout == CALL_SECONDS
    assert default.import_timeout == Limits().import_timeout
    assert call_seconds(plain, default) == CALL_SECONDS
    assert call_seconds(train, default) == train.timeout
    slow = time_limits(timeout=60)
    assert slow.call_timeout == 60 and slow.import_timeout == 60
    assert call_seconds(plain, slow, 60) == call_seconds(train, slow, 60) == 60
    fast = time_limits(timeout=0.2)  # a shorter default per call; nothing else is lowered
    assert call_seconds(plain, fast, 0.2) == 0.2 and call_seconds(train, fast, 0.2) == train.timeout
    assert fast.import_timeout == Limits().import_timeout


def test_the_batch_deadline_grows_with_the_timeout():
    from grader.batch import student_deadline

    specs = [COURSE.find("6")]
    assert student_deadline(specs, timeout=60) > student_deadline(specs) + 3 * 60


def test_correct_solutions_get_full_marks_on_a_busy_machine():
    """With the default limits (CALL_SECONDS per call: they count CPU time), every reference
    solution, exercise 6's training included, gets full marks while twice as many CPU-bound
    processes as cores keep the machine busy (`grade validate` says the same, unloaded)."""
    from grader.reader import read_submission

    # each in a session of its own, as other students' sandboxes are (Linux shares the CPU
    # between sessions first, with autogroups)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                start_new_session=True)
               for _ in range(2 * (os.cpu_count() or 1))]
    try:
        with Grader(COURSE) as grader:
            assert grader.limits.call_timeout == CALL_SECONDS
            results = [grader.grade(spec, read_submission(COURSE.solutions_dir / spec.solution))
                       for spec in COURSE.specs()]
    finally:
        for process in burners:
            process.kill()
            process.wait()
    for result in results:
        assert result.score == result.max_score, [c.message for c in result.checks
                                                  if not c.passed]
