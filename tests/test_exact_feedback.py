"""Feedback that stays exact on real student code (issue 10): diagnoses that compose, the
same diagnosis for the same wrong numbers, no false claims (float32 first), evidence that
shows the difference, the grouped report, fair credit for a changed input, next steps that
work. Each student file here is our own, written the way real submissions are."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from grader.cli import main
from grader.compare import mismatch
from grader.results import CheckResult, Evidence, ExerciseResult, StudentResults

from conftest import COURSE, grade_text, mistake_source, render, solution_source

EX = {n: COURSE.find(str(n)) for n in range(1, 11)}


def failing(result, function=None) -> dict:
    return {c.name: c.diagnosis for c in result.checks
            if not c.passed and (function is None or c.function == function)}


# -- diagnoses compose ------------------------------------------------------------------------

ALL_PAIRS_SUM_OVER_N = """
import numpy as np

def softmax_cross_entropy(F, y):
    # CS231n style: scores[:, y] is an (N, N) block; the block's sum divided by N once
    N = F.shape[0]
    shifted = F - F.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[:, y].sum() / N)
"""

ALL_PAIRS_LSE_PER_ROW = """
import numpy as np

def softmax_cross_entropy(F, y):
    m = np.max(F, axis=1, keepdims=True)
    z = F - m
    lse = np.log(np.sum(np.exp(z), axis=1))      # once per row
    return float((np.sum(lse) - np.sum(z[:, y])) / len(y))
"""


@pytest.mark.parametrize("source", [ALL_PAIRS_SUM_OVER_N, ALL_PAIRS_LSE_PER_ROW],
                         ids=["block-sum-over-n", "lse-once-per-row"])
def test_a_catalogued_mistake_divided_by_n_once_is_named_with_what_differs(grader, source):
    result = grade_text(grader, EX[2], solution_source(EX[2]) + source)
    found = failing(result, "softmax_cross_entropy")
    assert found == {"J is the mean over the batch": "all-pairs-indexing",
                     "J stays finite for scores of ±1e4": "all-pairs-indexing"}
    mean = next(c for c in result.checks if c.name == "J is the mean over the batch")
    assert "[:, y]" in mean.message and "times what this mistake alone gives" in mean.message
    assert "divided by N" in mean.message


ROWS_SAVED_AS_A_VIEW = """
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros(x.shape)
    for i in range(len(x)):
        saved = x[i]                        # a view of the row: it moves with x
        x[i] = saved + eps
        up = f(x)
        x[i] = saved - eps
        down = f(x)
        x[i] = saved
        grad[i] = (up - down) / (2 * eps)
    return grad
"""


def test_a_loop_over_rows_whose_saved_row_is_a_view_is_named_with_how_it_differs(grader):
    result = grade_text(grader, EX[8], solution_source(EX[8]) + ROWS_SAVED_AS_A_VIEW)
    assert failing(result, "numerical_gradient") == {
        "numerical_gradient of a matrix and a 3-D array": "loops-over-rows"}
    check = next(c for c in result.checks if c.diagnosis == "loops-over-rows")
    assert "range(len(x))" in check.message and "is a view of x, not a copy" in check.message


def test_the_plain_catalogued_form_is_named_without_a_transform(grader):
    wrong = "\ndef softmax_cross_entropy(F, y):\n    return float(-np.mean(_log_softmax(F)[:, y]))\n"
    result = grade_text(grader, EX[2], solution_source(EX[2]) + wrong)
    mean = next(c for c in result.checks if c.name == "J is the mean over the batch")
    assert mean.diagnosis == "all-pairs-indexing" and "On top of that" not in mean.message


@pytest.mark.parametrize("transform,clause", [
    ("-{}", "sign is flipped"),
    ("5 * {}", "5 times what this mistake alone gives"),
    ("{} / 5", "1/5 times what this mistake alone gives"),
])
def test_a_mistake_under_a_generic_transform_names_both(transform, clause):
    class Mistake:
        id, message, hint = "forgot-onehot", "you forgot the one-hot.", 4

    expected = np.array([[0.1, -0.3, 0.2], [0.4, 0.1, -0.5], [0.2, 0.2, -0.4],
                         [0.3, -0.1, -0.2], [-0.6, 0.5, 0.1]])
    wrong = np.abs(expected) + 0.05
    got = eval(transform.format("wrong"))
    found = mismatch(got, expected, 1e-7, 1e-9)
    from grader import diagnose
    result = diagnose.of_value(got, expected, found, "grad", [(Mistake, lambda: wrong)], {5},
                               1e-7, 1e-9)
    assert result.id == "forgot-onehot" and clause in result.message and result.composed


def test_a_mistake_transposed_and_reshaped_is_named():
    from grader import diagnose

    class Mistake:
        id, message, hint = "forgot-fprime", "δ = u: f′ is missing.", 1

    wrong = np.arange(12.0).reshape(3, 4) / 7 + 0.1
    expected = wrong * 0.3 - 0.2
    for got, clause in ((wrong.T.copy(), "transposed"), (wrong.reshape(1, 12), "shape (1, 12)")):
        found = mismatch(got, expected, 1e-7, 1e-9)
        result = diagnose.of_value(got, expected, found, "g", [(Mistake, lambda: wrong)], set(),
                                   1e-7, 1e-9)
        assert result.id == "forgot-fprime" and clause in result.message


FIXED_STEP = """
import numpy as np

def numerical_gradient(f, x, eps=1e-5):
    h = 1e-3                                  # the student's own step; eps is ignored
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        i = it.multi_index
        saved = x[i]
        x[i] = saved + h
        up = f(x)
        x[i] = saved - h
        down = f(x)
        x[i] = saved
        grad[i] = (up - down) / (2 * h)
        it.iternext()
    return grad
"""


def test_a_hard_coded_step_is_told_the_step_it_matches(grader):
    result = grade_text(grader, EX[8], solution_source(EX[8]) + FIXED_STEP)
    found = failing(result, "numerical_gradient")
    assert set(found.values()) == {"hardcoded-eps"} and len(found) == 3
    assert all("a step of h = 0.001" in c.message for c in result.checks
               if c.diagnosis == "hardcoded-eps")


# -- the same wrong numbers, the same diagnosis ---------------------------------------------------

DELTA_WITHOUT_U = """
def local_error(x, W, b, u):
    s = _sigmoid(W @ x + b)
    return s * (1 - s)                       # the upstream gradient u never multiplied in
"""


def test_delta_without_u_is_named_in_local_error_as_in_grad_b(grader):
    result = grade_text(grader, EX[4], solution_source(EX[4]) + DELTA_WITHOUT_U)
    found = failing(result, "local_error")
    assert set(found.values()) == {"forgot-ds-dh"}
    message = next(c.message for c in result.checks if c.function == "local_error")
    assert "`grad_b`" in message and "∂s/∂h = uᵀ" in message


NO_BIAS_EX5 = """
import numpy as np

class Layer:
    def __init__(self, W, b):
        self.W, self.b = W, b                # b is stored, never added

    def forward(self, x):
        self.z = self.W.dot(x)
        self.h = 1 / (1 + np.exp(-self.z))
        return self.h

def _delta(x, W, b, u):
    h = Layer(W, b).forward(x)
    return u * h * (1 - h)

def grad_W(x, W, b, u):
    return np.outer(_delta(x, W, b, u), x)

def grad_x(x, W, b, u):
    return W.T @ _delta(x, W, b, u)

def grad_u(x, W, b, u):
    return Layer(W, b).forward(x)

def score_and_grads(x, W, b, u):
    h, d = Layer(W, b).forward(x), _delta(x, W, b, u)
    return float(u @ h), {"W": np.outer(d, x), "b": d, "u": h, "x": W.T @ d}
"""


def test_a_dropped_bias_is_named_in_every_function_of_exercise_5(grader):
    result = grade_text(grader, EX[5], NO_BIAS_EX5)
    found = failing(result)
    assert len(found) == 13
    assert set(found.values()) == {"grad-w-forgot-bias", "grad-x-forgot-bias",
                                   "grad-u-forgot-bias", "grads-forgot-bias"}
    assert all("bias" in c.message for c in result.checks if not c.passed)


WINDOW_SCORE_NO_BIAS = "\ndef window_score(x, W, b, u):\n    return float(u @ _sigmoid(W @ x))\n"


def test_a_bias_left_out_elsewhere_is_read_as_an_input_left_out(grader):
    # window_score has no catalogued missing-bias mistake: the generic reading names b
    result = grade_text(grader, EX[6], solution_source(EX[6]) + WINDOW_SCORE_NO_BIAS)
    check = next(c for c in result.checks if c.function == "window_score")
    assert check.diagnosis == "input-left-out" and "`b` = 0" in check.message


ADD_IGNORES_UP = "\ndef add_backward(up):\n    return 1.0, 1.0\n"


def test_an_upstream_gradient_ignored_is_read_as_an_input_left_out(grader):
    result = grade_text(grader, EX[7], solution_source(EX[7]) + ADD_IGNORES_UP)
    check = next(c for c in result.checks if c.function == "add_backward")
    assert check.diagnosis == "input-left-out" and "`up`" in check.message


# -- no false claims ------------------------------------------------------------------------------

def test_a_max_that_sends_a_tie_to_both_inputs_is_not_told_it_distributes(grader):
    both = """
def max_backward(a, b, up):
    m = a if a > b else b
    da = up if a == m else 0.0
    db = up if b == m else 0.0
    return da, db
"""
    result = grade_text(grader, EX[7], solution_source(EX[7]) + both)
    assert failing(result, "max_backward") == {"max_backward on a tie": "tie-to-both"}


def test_a_stable_loss_that_logs_an_underflowed_probability_is_not_told_no_max(grader):
    source = """
def softmax_cross_entropy(F, y):
    z = F - F.max(axis=1, keepdims=True)
    P = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    onehot = np.zeros_like(P)
    onehot[np.arange(len(y)), y] = 1
    return float(-(onehot * np.log(P)).sum(axis=1).mean())
"""
    result = grade_text(grader, EX[2], solution_source(EX[2]) + source)
    check = next(c for c in result.checks if c.name == "J stays finite for scores of ±1e4")
    assert check.diagnosis == "onehot-times-log" and "although you subtract the maximum" \
        in check.message


UNSTABLE_WINDOW_LOSS = """
def window_loss(X, y, W, b):
    F = X @ W.T + b
    P = np.exp(F) / np.exp(F).sum(axis=1, keepdims=True)    # no maximum subtracted
    return float(-np.mean(np.log(P[np.arange(len(y)), y])))
"""

STABLE_WINDOW_LOSS_LOG_OF_ZERO = """
def window_loss(X, y, W, b):
    P = window_probs(X, W, b)                               # stable: the maximum subtracted
    Y = np.zeros_like(P)
    Y[np.arange(len(y)), y] = 1.0
    return float(-np.mean(np.sum(Y * np.log(P), axis=1)))
"""


def test_the_same_nan_is_told_apart_by_the_cases_where_it_does_not_happen(grader):
    # exercise 10: both losses are NaN for scores in the thousands; only the unstable one is
    # NaN for scores near 1000 that are close together, where no probability underflows
    stable = grade_text(grader, EX[10], solution_source(EX[10]) + STABLE_WINDOW_LOSS_LOG_OF_ZERO)
    assert failing(stable) == {"J stays finite for scores in the thousands": "onehot-times-log"}
    unstable = grade_text(grader, EX[10], solution_source(EX[10]) + UNSTABLE_WINDOW_LOSS)
    check = next(c for c in unstable.checks if not c.passed)
    assert failing(unstable) == {check.name: "non-finite"}
    assert check.failed_cases == ["large-scores", "large-close-scores"]
    assert "a product of these inputs" in check.message and "exp overflows" in check.message


def test_a_nan_no_reading_explains_says_where_it_comes_from():
    from grader import diagnose

    expected = np.array([0.5, 0.25, 0.25])
    got = np.array([0.5, np.nan, 0.25])
    found = mismatch(got, expected, 1e-7, 1e-9)
    small = diagnose.of_value(got, expected, found, "f", [], set(), 1e-7, 1e-9,
                              inputs={"F": np.array([1.0, -3.0])})
    large = diagnose.of_value(got, expected, found, "f", [], set(), 1e-7, 1e-9,
                              inputs={"F": np.array([1e4, -3.0])})
    # small inputs whose product (a score Wx) overflows exp: either cause may be, both said
    scores = diagnose.of_value(got, expected, found, "f", [], set(), 1e-7, 1e-9,
                               inputs={"X": np.array([[3.0, -2.0]]),
                                       "W": np.array([[300.0, -200.0], [1.0, 2.0]]),
                                       "y": np.array([1000, 2000])})
    assert small.id == large.id == scores.id == "non-finite"
    assert "0 · log 0" in small.message and "no input, nor a product of two, is large" in \
        small.message
    assert "exp overflows to inf" in large.message and "subtract the maximum" in large.message
    assert "no input" not in scores.message and "can reach about 1.8e+03" in scores.message
    assert "subtract the maximum" in scores.message and "0 · log 0" in scores.message


FLOAT32 = """
import numpy as np

def _to32(value):
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value.astype(np.float32)
    if isinstance(value, float):
        return float(np.float32(value))
    if isinstance(value, (tuple, list)):
        return type(value)(_to32(v) for v in value)
    if isinstance(value, dict):
        return {k: _to32(v) for k, v in value.items()}
    return value


def _float32_version(function):
    def computed_in_float32(*args, **kwargs):     # inputs and results in float32
        return _to32(function(*[_to32(a) for a in args], **kwargs))
    return computed_in_float32
"""


@pytest.mark.parametrize("number", range(1, 11))
def test_float32_versions_of_the_references_get_one_diagnosis_float32(grader, number):
    spec = EX[number]
    source = solution_source(spec) + FLOAT32 + "".join(
        f"\n{f.name} = _float32_version({f.name})\n" for f in spec.functions)
    result = grade_text(grader, spec, source)
    found = failing(result)
    if number != 7:  # (x + y)·max(y, z) of the cases is exact in float32
        assert found
    # a verdict that cannot be float32 (True/False, an index) blames the float32 function
    for name, diagnosis in found.items():
        check = next(c for c in result.checks if c.name == name)
        assert diagnosis == "float32" or (
            diagnosis == "uses-failing-function" and "numerical_gradient" in check.message), \
            (name, diagnosis, check.message)
    assert all("float64" in c.message for c in result.checks if c.diagnosis == "float32")


def test_a_float64_result_off_by_as_little_is_not_called_float32(grader):
    # x never restored: later coordinates see earlier ones perturbed, 1e-6 off, in float64
    drifts = """
def numerical_gradient(f, x, eps=1e-5):
    x = x.copy()
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += eps
        plus = f(x)
        x[i] -= 2 * eps
        minus = f(x)
        grad[i] = (plus - minus) / (2 * eps)
    return grad
"""
    result = grade_text(grader, EX[8], solution_source(EX[8]) + drifts)
    assert "float32" not in failing(result).values()
    assert failing(result, "numerical_gradient")


def test_property_predicates_say_what_an_unsendable_value_was(grader):
    source = solution_source(EX[1]) + (
        "\ndef softmax(f):\n    return (v for v in _softmax(f))\n")
    result = grade_text(grader, EX[1], source)
    for check in (c for c in result.checks if c.function == "softmax"):
        assert not check.passed and "Unsupported" not in check.message
        assert "generator" in check.message


# -- the same diagnoses in a student release ----------------------------------------------------

@pytest.mark.parametrize("number,source", [
    (2, ALL_PAIRS_LSE_PER_ROW),                # another form of a mistake, scaled
    (8, ROWS_SAVED_AS_A_VIEW),                 # another form, as it is
    (8, FIXED_STEP),                           # a mistake's knob (the step it hard-codes)
    (4, DELTA_WITHOUT_U),                      # a mistake of a function of the same quantity
    (5, NO_BIAS_EX5),
    (6, WINDOW_SCORE_NO_BIAS),                 # an input left out
    (7, ADD_IGNORES_UP),
    (10, UNSTABLE_WINDOW_LOSS),                # held against the other cases
    (10, STABLE_WINDOW_LOSS_LOG_OF_ZERO),
], ids=["form-scaled", "form", "knob", "borrowed", "bias-ex5", "left-out-0", "left-out-1",
        "non-finite", "others"])
def test_a_release_diagnoses_from_its_key_as_the_full_course_does(grader, number, source):
    from grader.keys import released

    spec = EX[number]
    source = source if number == 5 else solution_source(spec) + source
    key = released(spec, grader.references(spec), grader.seed, COURSE.public(spec))
    from_key = grader.grade_source(spec, source, "/submission/student.py", "student.py",
                                   references=key)
    full = grade_text(grader, spec, source)
    assert failing(full) and all(failing(full).values())
    assert from_key.to_json() == full.to_json()


# -- evidence shows the difference ----------------------------------------------------------------

def test_numbers_get_the_digits_that_tell_them_apart(plain_env):
    evidence = Evidence("v", expected=np.array([5.066, 0.0634309]),
                        got=np.array([5.066, 0.06343091]), worst_index=(1,))
    text = render(evidence, width=80)
    assert "0.06343090" in text and "0.06343091" in text
    assert "difference 1e-08, relative 1.6e-07" in text
    found = mismatch(0.06343091, 0.0634309, 1e-9, 0)
    assert "expected 0.0634309, got 0.06343091" in found.text and "difference 1e-08" in found.text


def _columns(line: str) -> list[int]:
    """Where each number of a rendered array row ends."""
    ends, inside = [], False
    for i, ch in enumerate(line):
        number = ch.isdigit() or ch in ".-+e"
        if inside and not number:
            ends.append(i)
        inside = number
    return ends


def test_a_transposed_4x3_matrix_lines_up_with_the_expected_one_at_80_columns(plain_env,
                                                                             monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    expected = np.array([[-5.33e-04, 1.772e-03, -1.742e-03], [9.537e-04, 1.819e-02, -6.048e-02],
                         [5.946e-02, -3.255e-02, -4.222e-02], [1.404e-01, -1.38e-01, 7.554e-02]])
    got = expected.T.copy()
    text = render(Evidence("basic", expected=expected, got=got), width=80)
    rows = [line for line in text.splitlines() if "e-0" in line]
    assert len(rows) == 7
    # one format for both: every entry ends at one of the same four column positions
    assert {end for row in rows for end in _columns(row.split("  (")[0])} <= \
        set(_columns(rows[0].split("  (")[0])) | set(_columns(rows[4].split("  (")[0]))
    wrong = expected.copy()
    wrong[2, 1] = 0.5
    marked = render(Evidence("basic", expected=expected, got=wrong, worst_index=(2, 1)), 80)
    assert marked.count("◂") == 2  # the worst entry, in expected and in got
    assert "index (2, 1)" in marked


# -- the grouped report ---------------------------------------------------------------------------

TRANSPOSED_W = """
import numpy as np

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))

def _delta(x, W, b, u):
    h = _sigmoid(W @ x + b)
    return u * h * (1 - h)

def grad_W(x, W, b, u):
    return np.outer(x, _delta(x, W, b, u))       # x δᵀ: transposed

def grad_x(x, W, b, u):
    return W.T @ _delta(x, W, b, u)

def grad_u(x, W, b, u):
    return _sigmoid(W @ x + b)

def score_and_grads(x, W, b, u):
    h, delta = _sigmoid(W @ x + b), _delta(x, W, b, u)
    return float(u @ h), {"W": grad_W(x, W, b, u), "b": delta, "u": h, "x": W.T @ delta}
"""


def test_a_transposed_grad_w_is_one_paragraph(ws, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    path = tmp_path / "transposed.py"
    path.write_text(TRANSPOSED_W)
    main(["exercise", "5", "--file", str(path)])
    out = capsys.readouterr().out
    assert out.count("[outer-transposed]") == 1 and out.count("expected [[") == 1
    assert out.count("case     basic") == 1
    assert "the same numbers as `grad_W` above" in out
    assert len(out.splitlines()) < 60
    main(["exercise", "5", "--file", str(path), "--json"])
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert len(checks) == 14 and sum(not c["passed"] for c in checks) == 6  # one per check
    assert all(c["evidence"] for c in checks if not c["passed"])


def test_a_file_with_none_of_the_functions_is_one_line(ws, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    path = tmp_path / "empty.py"
    path.write_text("# nothing yet\n")
    main(["exercise", "5", "--file", str(path)])
    out = " ".join(capsys.readouterr().out.split())
    assert "defines none of the functions of this exercise" in out
    assert "no function" not in out and out.count("✗") == 0


def test_markdown_feedback_groups_the_same_way_and_names_the_hint(grader):
    result = grade_text(grader, EX[5], TRANSPOSED_W)
    from grader.feedback import feedback_markdown

    text = feedback_markdown(StudentResults("ada", 0, [result]))
    assert text.count("[outer-transposed]") == 1
    assert "(see hint 2: `grade hint 5 2`)" in text
    empty = ExerciseResult(5, "grad_W", "t", 0, 12, checks=[
        CheckResult("c", f, "compare", False, 0, 1, diagnosis="missing-function",
                    message="no function") for f in ("grad_W", "grad_x")])
    markdown = feedback_markdown(StudentResults("ben", 0, [empty]))
    assert "None of the functions" in markdown and "no function" not in markdown


# -- fair credit for a changed input --------------------------------------------------------------

RESTORED_BY_ARITHMETIC = """
def numerical_gradient(f, x, eps=1e-5):
    g = np.zeros(x.shape)
    for k in np.ndindex(x.shape):
        x[k] = x[k] + eps
        up = f(x)
        x[k] = x[k] - 2 * eps
        down = f(x)
        x[k] = x[k] + eps                    # back where it was... up to rounding
        g[k] = (up - down) / (2 * eps)
    return g
"""


def test_restoring_by_arithmetic_costs_one_check_with_its_own_message(grader):
    result = grade_text(grader, EX[8], solution_source(EX[8]) + RESTORED_BY_ARITHMETIC)
    # the reference's gradcheck calls it, so gradcheck leaves x changed too: one check each
    assert failing(result) == {"numerical_gradient of a vector": "mutated-input",
                               "gradcheck accepts a correct gradient": "mutated-input"}
    for check in (c for c in result.checks if not c.passed):
        assert "Restored by arithmetic" in check.message and "came back as" in check.message
    assert result.score == result.max_score - 2


def test_an_input_changed_costs_one_check_whatever_the_kind(grader):
    # right values, but u scaled in place and back: a gradient check and compares alike
    in_place = """
def grad_u(x, W, b, u):
    u *= 2.0
    return _sigmoid(W @ x + b)
"""
    result = grade_text(grader, EX[5], solution_source(EX[5]) + in_place)
    assert failing(result) == {"∂s/∂u = h": "mutated-input"}
    wrong_too = in_place.replace("return _sigmoid(W @ x + b)", "return _sigmoid(W @ x)")
    result = grade_text(grader, EX[5], solution_source(EX[5]) + wrong_too)
    assert failing(result) == {"∂s/∂u = h": "mutated-input",
                               "∂s/∂u passes a gradient check": "grad-u-forgot-bias"}


# -- next steps that work -------------------------------------------------------------------------

def _next_commands(out: str) -> list[str]:
    text = " ".join(out.split("Next:")[-1].split())
    return [part for i, part in enumerate(text.split("`"))
            if i % 2 == 1 and part.startswith("grade ")]


def test_next_steps_grade_the_same_file_in_the_same_workspace(ws, tmp_path, capsys,
                                                             monkeypatch):
    monkeypatch.delenv("GRADEWISE_WORKSPACE")
    monkeypatch.setenv("NO_COLOR", "1")
    folder = tmp_path / "my work"
    folder.mkdir()
    path = folder / "softmax attempt.py"
    path.write_text(mistake_source(EX[1], EX[1].mistakes[0]))
    main(["exercise", "1", "--file", str(path), "--workspace", str(folder), "--timeout", "2.5"])
    grade, hint = _next_commands(capsys.readouterr().out)
    assert shlex.split(grade)[:3] == ["grade", "exercise", "1"]
    assert shlex.split(grade)[-2:] == ["--timeout", "2.5"]
    assert hint.startswith("grade hint 1 ") and f"--workspace {shlex.quote(str(folder))}" in hint
    main(shlex.split(grade)[1:] + ["--json"])  # pasted: the same file, the same workspace
    again = json.loads(capsys.readouterr().out)
    assert again["file"] == str(path)
    main(shlex.split(hint)[1:] + ["--json"])
    assert json.loads(capsys.readouterr().out)["hints"]


def test_a_new_workspace_is_announced_before_it_is_created(ws, tmp_path, capsys):
    typo = tmp_path / "worksapce"
    main(["exercise", "1", "--workspace", str(typo), "--json"])
    err = capsys.readouterr().err
    assert f"there is no workspace {typo} yet" in err and typo.is_dir()
    main(["exercise", "1", "--workspace", str(typo), "--json"])
    assert "no workspace" not in capsys.readouterr().err


def test_a_folder_given_as_file_is_said_to_be_one(ws, tmp_path, capsys):
    assert main(["exercise", "1", "--file", str(tmp_path)]) == 1
    assert "is a folder" in capsys.readouterr().err


def test_watch_says_at_once_that_the_file_is_missing(grader, tmp_path):
    from grader.watch import watch

    shown = []

    def show(value):
        shown.append(value)
        raise KeyboardInterrupt  # stop at the first thing shown

    session = watch(grader, EX[1], tmp_path / "missing.py", show, poll=0.01, settle=0.01)
    assert session.gradings == 0 and "does not exist" in shown[0]


def test_cut_output_says_how_many_earlier_lines_at_the_top(plain_env):
    from grader.report import exercise_renderable

    printed = "".join(f"line {i}\n" for i in range(1, 21))
    result = ExerciseResult(1, "softmax", "t", 0, 10, file="f.py", output=printed, checks=[
        CheckResult("c", "softmax", "compare", False, 0, 10, message="wrong")])
    text = render(exercise_renderable(result, [1]), width=80)
    panel = text[text.index("your code printed"):]
    assert panel.index("8 earlier lines not shown") < panel.index("line 9")
    assert "line 8\n" not in panel and "line 20" in panel
