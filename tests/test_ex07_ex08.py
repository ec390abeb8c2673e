"""Exercises 7 (backprop on the lecture's graph) and 8 (gradient checking) beyond the
automatic course tests: hand-written student files, graded as a student would have them."""

from __future__ import annotations

import json

import numpy as np

from grader import testfuncs
from grader.cli import main
from grader.spec import load_spec

from conftest import COURSE, REPO, grade_text, render

EX07 = load_spec(COURSE.exercises_dir / "ex07_backprop_graph.yaml")
EX08 = load_spec(COURSE.exercises_dir / "ex08_gradcheck.yaml")

GATES = """
def add_backward(up):
    return [up, up]

def mul_backward(a, b, up):
    return b * up, a * up

def max_backward(a, b, up):
    if a >= b:
        return up, 0
    return 0, up
"""

# Right answers written the way students write them: numpy scalars, ints, lists, the
# backward pass through the gates.
EX07_OTHER_WAY = GATES + """
import numpy as np

def f_forward(x, y, z):
    return np.float64(x + y) * np.maximum(y, z)

def f_backward(x, y, z):
    a, b = x + y, max(y, z)
    da, db = mul_backward(a, b, 1)
    dx, dy_from_a = add_backward(da)
    dy_from_b, dz = max_backward(y, z, db)
    return dx, dy_from_a + dy_from_b, dz
"""

EX08_OTHER_WAY = """
import numpy as np

def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        i = it.multi_index
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        grad[i] = (f(xp) - f(xm)) / (2 * eps)
        it.iternext()
    return grad

def relative_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))

def gradcheck(f, grad_f, x, tol=1e-5):
    numeric, analytic = numerical_gradient(f, x), grad_f(x)
    errors = np.abs(analytic - numeric) / np.maximum(1e-8, np.abs(analytic) + np.abs(numeric))
    worst = np.unravel_index(np.argmax(errors), errors.shape)  # numpy ints, not Python ints
    err = relative_error(analytic, numeric)
    return err <= tol, err, worst
"""


def test_correct_answers_written_differently_score_full_marks(grader):
    for spec, source in ((EX07, EX07_OTHER_WAY), (EX08, EX08_OTHER_WAY)):
        result = grade_text(grader, spec, source)
        assert [c.name for c in result.checks if not c.passed] == [], spec.stem
        assert result.full_marks


# -- exercise 7 -------------------------------------------------------------------------------

def test_forgetting_one_of_ys_two_paths_is_named_with_the_sum_of_paths(grader, plain_env):
    source = GATES + """
def f_forward(x, y, z):
    return (x + y) * max(y, z)

def f_backward(x, y, z):
    a, b = x + y, max(y, z)
    dfdx = b
    dfdy = b * 1          # through a = x + y only
    dfdz = a if z > y else 0.0
    return dfdx, dfdy, dfdz
"""
    result = grade_text(grader, EX07, source)
    failing = {c.name: c.diagnosis for c in result.checks if not c.passed}
    assert failing == {"backward pass at or near the lecture's point": "y-sum-path-only",
                       "backward pass where z wins and with negative values": "y-sum-path-only",
                       "backward pass on a tie y = z": "y-sum-path-only"}
    lecture = next(c for c in result.checks if c.name == "backward pass at or near the lecture's point")
    assert "two successors" in lecture.message and "gradients add where paths meet" in lecture.message
    text = " ".join(render(lecture).split())
    assert "[y-sum-path-only]" in text and "2 + 3 = 5" in text and "see hint 4" in text
    assert "expected 5 got 2" in text  # ∂f/∂y at (1, 2, 0)
    assert result.score == EX07.points - 4


def test_the_other_path_alone_is_named_too(grader):
    source = GATES + """
def f_backward(x, y, z):
    a, b = x + y, max(y, z)
    return b, (a if y >= z else 0.0), (a if z > y else 0.0)   # y only through max
"""
    result = grade_text(grader, EX07, source)
    lecture = next(c for c in result.checks if c.name == "backward pass at or near the lecture's point")
    assert lecture.diagnosis == "y-max-path-only"
    assert "gradients add where paths meet" in lecture.message


def test_wrong_gates_are_named_at_the_gate(grader):
    source = """
def add_backward(up):
    return 0.5 * up, 0.5 * up

def mul_backward(a, b, up):
    return a * up, b * up

def max_backward(a, b, up):
    return (0.0, up) if a > b else (up, 0.0)   # to the smaller input
"""
    result = grade_text(grader, EX07, source)
    failing = {c.name: c.diagnosis for c in result.checks
               if not c.passed and c.function.endswith("_backward") and c.function != "f_backward"}
    assert failing == {"add_backward distributes": "distributor-halves",
                       "mul_backward switches": "switcher-not-swapped",
                       "max_backward routes to the larger input": "router-to-smaller"}
    assert "distributor" in next(c for c in result.checks if c.function == "add_backward").message
    assert "switcher" in next(c for c in result.checks if c.function == "mul_backward").message


def test_a_backward_pass_through_a_gate_that_drops_ties_is_explained(grader):
    # The tie is lost in max_backward; f_backward, right wherever y ≠ z, is not told that it
    # drops a path (it does not: the gate it calls drops the tie) but to fix the gate first.
    source = EX07_OTHER_WAY.replace("if a >= b:", "if a > b:").replace(
        "    return 0, up", "    return (0, up) if b > a else (0, 0)")
    result = grade_text(grader, EX07, source)
    failing = {c.name: c.diagnosis for c in result.checks if not c.passed}
    assert failing == {"max_backward on a tie": "tie-drops-gradient",
                       "backward pass on a tie y = z": "uses-failing-function"}
    tie = next(c for c in result.checks if c.name == "backward pass on a tie y = z")
    assert "calls your `max_backward`" in tie.message


def test_mul_without_upstream_passes_only_where_up_is_one(grader):
    source = EX07_OTHER_WAY.replace("return b * up, a * up", "return b, a")
    result = grade_text(grader, EX07, source)
    check = next(c for c in result.checks if c.name == "mul_backward switches")
    assert check.diagnosis == "mul-ignores-upstream"
    assert "mul-lecture" not in check.failed_cases  # up = 1 there, as at the output
    assert [c.name for c in result.checks if not c.passed] == ["mul_backward switches"]


# -- exercise 8 -------------------------------------------------------------------------------

NOT_RESTORED = """
import numpy as np

def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += eps
        plus = f(x)
        x[i] -= 2 * eps
        minus = f(x)
        grad[i] = (plus - minus) / (2 * eps)   # x[i] is left at old - eps
    return grad
"""


def test_a_numerical_gradient_that_does_not_restore_x_is_reported_as_mutated_input(grader):
    result = grade_text(grader, EX08, NOT_RESTORED)
    checks = [c for c in result.checks if c.function == "numerical_gradient"]
    assert len(checks) == 3
    # fair credit: the changed input costs one check; the others judge the values returned
    [changed] = [c for c in checks if c.diagnosis == "mutated-input"]
    assert changed is checks[0] and not changed.passed
    assert "`numerical_gradient` left its input `x` changed" in changed.message
    assert "costs the points of one check" in changed.message
    assert checks[2].passed  # one coordinate: nothing left perturbed when f is evaluated
    # the values drift (later coordinates see earlier ones left perturbed): no false reading
    assert not checks[1].passed and checks[1].diagnosis is None


def test_a_gradcheck_that_calls_it_is_reported_as_changing_x_too(grader):
    source = NOT_RESTORED + EX08_OTHER_WAY[EX08_OTHER_WAY.index("def relative_error"):]
    result = grade_text(grader, EX08, source)
    gradchecks = [c for c in result.checks if c.function == "gradcheck"]
    [changed] = [c for c in gradchecks if c.diagnosis == "mutated-input"]
    assert "`gradcheck` left its input `x` changed" in changed.message


def test_a_checker_with_a_signed_error_passes_a_too_small_gradient_and_is_caught(grader, plain_env):
    source = EX08_OTHER_WAY.split("def gradcheck")[0] + """
def gradcheck(f, grad_f, x, tol=1e-5):
    a, b = grad_f(x), numerical_gradient(f, x)
    err = (a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
    i = np.argmax(err)
    return err.max() <= tol, err.max(), np.unravel_index(i, x.shape)
"""
    result = grade_text(grader, EX08, source)
    failing = {c.name: (c.diagnosis, c.failed_cases) for c in result.checks if not c.passed}
    assert failing["gradcheck rejects a wrong gradient"] == ("signed-error", ["gc-too-small"])
    assert failing["gradcheck's max_rel_error"][0] == "signed-error"
    assert set(failing) == {"gradcheck rejects a wrong gradient", "gradcheck's max_rel_error",
                            "gradcheck's worst_index"}
    check = next(c for c in result.checks if c.name == "gradcheck rejects a wrong gradient")
    text = " ".join(render(check).split())
    assert "too small everywhere gets a negative" in text and "expected False got True" in text


def test_a_one_sided_difference_fails_the_checker_on_a_correct_gradient(grader):
    source = EX08_OTHER_WAY.replace("xm[i] -= eps", "pass").replace("(2 * eps)", "eps")
    result = grade_text(grader, EX08, source)
    failing = {c.name: c.diagnosis for c in result.checks if not c.passed}
    assert failing["numerical_gradient of a vector"] == "one-sided-difference"
    assert failing["gradcheck accepts a correct gradient"] == "uses-failing-function"
    assert "relative_error" not in failing


def test_a_flat_worst_index_gets_its_diagnosis_through_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRADEWISE_COURSE", str(REPO))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.chdir(tmp_path)
    student = tmp_path / "mine.py"
    student.write_text(EX08_OTHER_WAY.replace(
        "np.unravel_index(np.argmax(errors), errors.shape)", "int(np.argmax(errors))"),
        encoding="utf-8")
    assert main(["exercise", "8", "--file", str(student), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    failing = {c["name"]: c["diagnosis"] for c in result["checks"] if not c["passed"]}
    assert failing == {"gradcheck's worst_index": "flat-worst-index"}
    assert result["score"] == EX08.points - 1.5


def test_the_test_functions_behind_the_cases_do_what_the_cases_say():
    # unused entries: the central difference is exactly 0, so rel = 0 / 1e-8 = 0
    x = np.array([[0.4, -1.2, 0.7], [2.0, -0.5, 1.1]])
    for i in [(1, 0), (1, 1), (1, 2)]:
        plus, minus = x.copy(), x.copy()
        plus[i] += 1e-5
        minus[i] -= 1e-5
        assert testfuncs.leading_cubes(plus) - testfuncs.leading_cubes(minus) == 0.0
        assert testfuncs.leading_cubes_grad(x)[i] == 0.0
    # tiny gradients: relative errors up to 0.67, absolute ones within 1e-5
    x = np.array([0.5, 1.3, 0.2, 0.9])
    a, b = testfuncs.tiny_cubes_grad_wrong(x), 3e-6 * x ** 2
    assert np.max(np.abs(a - b)) < 1e-5
    assert 0.66 < np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))) < 0.67
    # too small everywhere: a − b < 0 in every entry
    x = np.array([[[0.5, -0.9], [1.3, 0.4]], [[-0.7, 1.1], [0.6, -1.6]]])
    assert np.all(testfuncs.sum_of_cubes_grad_too_small(x) < testfuncs.sum_of_cubes_grad(x))
    # none of them changes its argument
    for name in ("leading_cubes", "leading_cubes_grad", "tiny_cubes", "tiny_cubes_grad_wrong",
                 "sum_of_cubes_grad_too_small"):
        before = x.copy()
        testfuncs.get(name)(x)
        assert np.array_equal(x, before), name
