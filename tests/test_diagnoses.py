"""The generic diagnoses, each shown to fire on its signature and not on a plain wrong value."""

from __future__ import annotations

import numpy as np
import pytest

from grader import diagnose
from grader.compare import mismatch

EXPECTED = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]])


def diagnosis_of(got, expected=EXPECTED, batch=(2,)):
    found = mismatch(got, expected, 1e-7, 1e-9)
    assert found is not None
    result = diagnose.of_value(got, expected, found, "f", [], set(batch), 1e-7, 1e-9)
    return result.id if result else None


@pytest.mark.parametrize("got,diagnosis", [
    (None, "returned-none"),
    (EXPECTED.tolist(), "not-an-array"),
    (EXPECTED.T.copy(), "transposed"),
    (-EXPECTED, "sign-flipped"),
    (2 * EXPECTED, "scaled-by-n"),
    (EXPECTED / 2, "scaled-by-n"),
    (np.where(EXPECTED > 5, np.nan, EXPECTED), "non-finite"),
    (np.zeros((3, 3)), "wrong-shape"),
    (EXPECTED + np.eye(2, 3), None),
])
def test_generic_diagnoses(got, diagnosis):
    assert diagnosis_of(got) == diagnosis


def test_jacobian_form_both_ways():
    vector = np.array([1.0, -2.0, 0.5])
    assert diagnosis_of(vector.reshape(1, 3), vector) == "jacobian-form"
    assert diagnosis_of(vector.reshape(3, 1), vector) == "jacobian-form"
    found = mismatch(vector, vector.reshape(1, 3), 1e-7, 1e-9)
    result = diagnose.of_value(vector, vector.reshape(1, 3), found, "f", [], set(), 1e-7, 1e-9)
    assert result.id == "jacobian-form" and "Jacobian form" in result.message


def test_scaled_by_n_needs_a_batch_size_that_explains_it():
    assert diagnosis_of(3 * EXPECTED, batch=(2,)) is None
    assert diagnosis_of(3 * EXPECTED, batch=(3,)) == "scaled-by-n"


def test_integers_expected_float_given():
    windows = np.array([[0, 5, 3], [5, 3, 0]])
    assert diagnosis_of(windows.astype(float), windows) == "wrong-dtype"
    assert mismatch(windows.astype(bool), windows.astype(bool), 0, 0) is None


def test_a_known_mistake_wins_over_the_generic_reading():
    class Mistake:
        id, message, hint = "sum-not-mean", "you summed", 2
    got = 2 * EXPECTED
    found = mismatch(got, EXPECTED, 1e-7, 1e-9)
    result = diagnose.of_value(got, EXPECTED, found, "f", [(Mistake, lambda: 2 * EXPECTED)],
                               {2}, 1e-7, 1e-9)
    assert (result.id, result.hint) == ("sum-not-mean", 2)


def test_an_exception_raised_by_a_known_wrong_formula_names_it():
    class Mistake:
        id, message, hint = "no-keepdims", "keep the axis", 3

    def wrong():
        return np.ones((4, 3)) / np.ones(4)

    try:
        wrong()
    except ValueError as exc:
        exception = {"type": "ValueError", "message": str(exc)}
    assert diagnose.of_exception_mistake(exception, [(Mistake, wrong)]).id == "no-keepdims"
    other = {"type": "ValueError", "message": "something else"}
    assert diagnose.of_exception_mistake(other, [(Mistake, wrong)]) is None


def test_a_failing_callee_is_blamed_only_when_the_caller_has_no_reason_of_its_own():
    from grader.results import CheckResult

    source = "def f(x):\n    return x\n\ndef g(x):\n    return f(x) + 1\n\ndef h(x):\n    return x\n"
    checks = [CheckResult("f ok", "f", "compare", False, 0, 1, diagnosis="transposed"),
              CheckResult("g ok", "g", "compare", False, 0, 1, diagnosis=None),
              CheckResult("h ok", "h", "compare", False, 0, 1, diagnosis=None),
              CheckResult("g stub", "g", "compare", False, 0, 1, diagnosis="not-implemented")]
    diagnose.blame_callees(checks, source, ())
    assert [c.diagnosis for c in checks] == ["transposed", "uses-failing-function", None,
                                              "not-implemented"]
    assert "calls your `f`" in checks[1].message


def test_a_caller_that_raises_on_its_own_line_is_not_blamed_on_its_callee(grader, course):
    """`softmax` fails its checks (no max subtracted), but `softmax_classifier` raises on its
    own line (`X @ W`, shapes that do not match) before calling it: that error is shown."""
    source = ("import numpy as np\ndef softmax(f):\n    e = np.exp(f)\n"
              "    return e / np.sum(e, axis=-1, keepdims=True)\n"
              "def softmax_classifier(W, X):\n    return softmax(X @ W)\n")
    result = grader.grade_source(course.find("1"), source, "/sub/ex01.py", "ex01.py")
    classifier = [c for c in result.checks if c.function == "softmax_classifier"]
    assert all(c.diagnosis == "exception" and "matmul" in c.message for c in classifier)
    fixed = source.replace("X @ W)", "X @ W.T)")
    result = grader.grade_source(course.find("1"), fixed, "/sub/ex01.py", "ex01.py")
    classifier = [c for c in result.checks if c.function == "softmax_classifier"]
    assert any(c.diagnosis == "uses-failing-function" for c in classifier)
