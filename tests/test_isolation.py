"""Issue-2 runner behaviours on a toy course: one misbehaving function is reported in words,
and the other function of the same file still gets its points."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from grader.course import Course
from grader.grading import Grader
from grader.sandbox import Limits

TOY = Course(Path(__file__).parent / "fixture_course")
GOOD_TOTAL = "import numpy as np\n\ndef total(x):\n    return float(np.sum(x))\n"


@pytest.fixture(scope="module")
def toy_grader():
    with Grader(TOY, limits=Limits(call_timeout=1.0, import_timeout=2.0)) as g:
        yield g


@pytest.fixture(scope="module")
def spec():
    return TOY.find("1")


def grade(toy_grader, spec, scale_body: str, extra: str = ""):
    source = f"{GOOD_TOTAL}{extra}\n\ndef scale(x, k):\n{scale_body}\n"
    return toy_grader.grade_source(spec, source, "/sub/ex01_toy.py", "ex01_toy.py")


def checks(result):
    return {c.function: c for c in result.checks}


def test_infinite_loop_is_stopped_and_the_other_function_keeps_its_points(toy_grader, spec):
    started = time.monotonic()
    result = grade(toy_grader, spec, "    while True:\n        try:\n            pass\n"
                                     "        except BaseException:\n            pass")
    assert time.monotonic() - started < 6
    scale, total = checks(result)["scale"], checks(result)["total"]
    assert scale.diagnosis == "timeout" and "did not finish within 1 s" in scale.message
    assert total.passed and result.score == 2


def test_exception_names_the_students_own_line(toy_grader, spec):
    result = grade(toy_grader, spec, "    y = x * k\n    raise ValueError('oops: ' + str(k))")
    scale = checks(result)["scale"]
    assert scale.diagnosis == "exception"
    assert "ValueError: oops: 2.0" in scale.message
    assert [line for line, _, _ in scale.evidence.trace] == [9]
    assert "raise ValueError" in scale.evidence.trace[0][2]
    assert checks(result)["total"].passed


def test_os_exit_is_reported_and_grading_goes_on(toy_grader, spec):
    result = grade(toy_grader, spec, "    import os\n    os._exit(7)")
    scale = checks(result)["scale"]
    assert scale.diagnosis == "crashed"
    assert "exited with code 7" in scale.message
    assert checks(result)["total"].passed and result.score == 2


def test_sys_exit_is_an_exception_not_the_end(toy_grader, spec):
    result = grade(toy_grader, spec, "    import sys\n    sys.exit(0)")
    assert checks(result)["scale"].diagnosis == "exception"
    assert "SystemExit" in checks(result)["scale"].message
    assert checks(result)["total"].passed


def test_megabytes_of_output_are_bounded(toy_grader, spec):
    result = grade(toy_grader, spec, "    for i in range(200000):\n        print('spam', i)\n"
                                     "    return x * k")
    assert result.score == 4
    assert len(result.output) <= Limits().output_bytes
    assert result.output_dropped > 1_000_000


def test_mutated_input_fails_even_with_the_right_value(toy_grader, spec):
    result = grade(toy_grader, spec, "    x *= k\n    return x")
    scale = checks(result)["scale"]
    assert scale.diagnosis == "mutated-input"
    assert "`x`" in scale.message
    assert checks(result)["total"].passed


def test_syntax_error_grades_nothing_and_says_where(toy_grader, spec):
    result = toy_grader.grade_source(spec, "def scale(x, k)\n    return x\n", "/s.py", "s.py")
    assert result.score == 0 and "does not parse" in result.error
    assert result.error_lines[0][0] == 1
    assert all(c.message.startswith("not graded") for c in result.checks)


def test_top_level_code_that_never_ends_is_stopped(toy_grader, spec):
    started = time.monotonic()
    result = toy_grader.grade_source(spec, "while True:\n    pass\n", "/s.py", "s.py")
    assert time.monotonic() - started < 6
    assert "top-level code ran for more than 2 s" in result.error


def test_no_process_of_the_submission_outlives_grading(toy_grader, spec, tmp_path):
    marker = tmp_path / "alive"
    body = (f"    import os, time\n    if os.fork() == 0:\n        time.sleep(3)\n"
            f"        open({str(marker)!r}, 'w').close()\n        os._exit(0)\n    return x * k")
    result = grade(toy_grader, spec, body)
    assert result.score == 4
    time.sleep(3.5)
    assert not marker.exists()


def test_child_never_has_the_solutions_in_memory(toy_grader, spec):
    probe = ("    import sys\n    leaked = [m for m in sys.modules if 'solution' in m]\n"
             "    return x * k if not leaked else x")
    result = grade(toy_grader, spec, probe)
    assert result.score == 4
    assert toy_grader.solution(spec) is not None  # the parent has it, the child does not


def test_monkeypatching_numpy_in_the_child_changes_nothing_in_the_parent(toy_grader, spec):
    cheat = "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
    result = grade(toy_grader, spec, "    return x", extra=cheat)
    assert not checks(result)["scale"].passed
    assert checks(result)["scale"].diagnosis == "forgot-k"
    assert os.getpid() > 0


def test_modules_installed_below_tmp_stay_importable_in_the_sandbox(tmp_path, monkeypatch):
    # a virtual environment or an editable install may live in /tmp, which the sandbox
    # replaces with a private, empty one
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "helper_below_tmp.py").write_text("FACTOR = 1.0\n")
    monkeypatch.syspath_prepend(str(site))
    source = (f"{GOOD_TOTAL}\n\ndef scale(x, k):\n    import helper_below_tmp\n"
              "    return x * k * helper_below_tmp.FACTOR\n")
    with Grader(TOY, limits=Limits(call_timeout=2.0)) as g:  # its zygote sees the new path
        result = g.grade_source(TOY.find("1"), source, "/sub/ex01_toy.py", "ex01_toy.py")
    assert result.score == 4, [c.message for c in result.checks]
