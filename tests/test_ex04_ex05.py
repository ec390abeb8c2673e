"""Exercises 4 (∂s/∂b) and 5 (∂s/∂W, ∂s/∂x, ∂s/∂u) beyond the automatic course tests:
hand-written student files, graded as a student would have them graded."""

from __future__ import annotations

import json
import textwrap

import pytest

from grader.cli import main
from grader.spec import load_spec

from conftest import COURSE, REPO, grade_text, render

EX04 = load_spec(COURSE.exercises_dir / "ex04_grad_b.yaml")
EX05 = load_spec(COURSE.exercises_dir / "ex05_grad_W.yaml")

SIGMOID = """
import numpy as np

def sigmoid(z):
    return 1 / (1 + np.exp(-z))
"""

# Right answers written the way students write them: the naive sigmoid, σ(1 − σ) (which
# cancels for large z), broadcasting instead of np.outer, numpy scalars instead of floats.
EX04_OTHER_WAY = SIGMOID + """
def score(x, W, b, u):
    return np.dot(u, sigmoid(W.dot(x) + b))

def local_error(x, W, b, u):
    h = sigmoid(W @ x + b)
    return u * h * (1 - h)

def chain_jacobians(x, W, b, u):
    h = sigmoid(W @ x + b)
    return u[np.newaxis, :], np.diag(h * (1 - h)), np.identity(b.shape[0])

def grad_b(x, W, b, u):
    ds_dh, dh_dz, dz_db = chain_jacobians(x, W, b, u)
    return (ds_dh @ dh_dz @ dz_db).ravel()
"""

EX05_OTHER_WAY = SIGMOID + """
def _delta(x, W, b, u):
    h = sigmoid(W @ x + b)
    return u * h * (1 - h)

def grad_W(x, W, b, u):
    return _delta(x, W, b, u)[:, None] * x[None, :]

def grad_x(x, W, b, u):
    return np.dot(W.T, _delta(x, W, b, u))

def grad_u(x, W, b, u):
    return sigmoid(W @ x + b)

def score_and_grads(x, W, b, u):
    h = sigmoid(W @ x + b)
    d = u * h * (1 - h)
    return u @ h, dict(W=np.outer(d, x), b=d, u=h, x=W.T @ d)
"""


def test_correct_answers_written_differently_score_full_marks(grader):
    for spec, source in ((EX04, EX04_OTHER_WAY), (EX05, EX05_OTHER_WAY)):
        result = grade_text(grader, spec, source)
        assert [c.name for c in result.checks if not c.passed] == [], spec.stem
        assert result.full_marks


ZEROS = {
    EX04.stem: """
import numpy as np

def score(x, W, b, u):
    return 0.0

def local_error(x, W, b, u):
    return np.zeros_like(b)

def chain_jacobians(x, W, b, u):
    n = len(b)
    return np.zeros((1, n)), np.zeros((n, n)), np.zeros((n, n))

def grad_b(x, W, b, u):
    return np.zeros_like(b)
""",
    EX05.stem: """
import numpy as np

def grad_W(x, W, b, u):
    return np.zeros_like(W)

def grad_x(x, W, b, u):
    return np.zeros_like(x)

def grad_u(x, W, b, u):
    return np.zeros_like(u)

def score_and_grads(x, W, b, u):
    return 0.0, {"W": np.zeros_like(W), "b": np.zeros_like(b), "u": np.zeros_like(u),
                 "x": np.zeros_like(x)}
""",
}


@pytest.mark.parametrize("spec", [EX04, EX05], ids=lambda s: s.stem)
def test_zero_gradients_pass_no_gradient_check(grader, spec):
    result = grade_text(grader, spec, ZEROS[spec.stem])
    gradchecks = [c for c in result.checks if c.kind == "gradcheck"]
    assert len(gradchecks) == (1 if spec is EX04 else 7)
    assert [c.name for c in gradchecks if c.passed] == []
    # only the shape convention holds for zeros of the right shapes
    assert {c.name for c in result.checks if c.passed} <= {"every gradient has the shape of its parameter"}


def test_grad_b_reusing_a_wrong_local_error_is_blamed_on_it(grader, plain_env):
    source = SIGMOID + """
def local_error(x, W, b, u):
    z = W @ x + b
    return u * sigmoid(z) * (1 - z)

def grad_b(x, W, b, u):
    return local_error(x, W, b, u)
"""
    result = grade_text(grader, EX04, source)
    by_function = {}
    for check in result.checks:
        by_function.setdefault(check.function, set()).add(check.diagnosis)
    assert by_function["local_error"] == {"delta-one-minus-z"}
    assert by_function["grad_b"] == {"uses-failing-function"}
    text = render(result.checks[1])
    assert "[delta-one-minus-z]" in text and "not 1 − z" in text and "see hint 2" in text
    grad_b_check = next(c for c in result.checks if c.function == "grad_b")
    assert "calls your `local_error`" in grad_b_check.message


def test_grad_b_as_a_jacobian_row_gets_the_generic_diagnosis(grader):
    source = textwrap.dedent("""
        import numpy as np

        def grad_b(x, W, b, u):
            h = 1 / (1 + np.exp(-(W @ x + b)))
            return (u * h * (1 - h)).reshape(1, -1)
    """)
    result = grade_text(grader, EX04, source)
    failing = {c.name: c.diagnosis for c in result.checks
               if c.function == "grad_b" and not c.passed}
    assert failing == {"∂s/∂b = δ, with the shape of b": "jacobian-form",
                       "∂s/∂b passes a gradient check": "jacobian-form"}


def test_chain_factors_that_cannot_be_multiplied_are_explained(grader):
    source = SIGMOID + """
def chain_jacobians(x, W, b, u):
    h = sigmoid(W @ x + b)
    return u, h * (1 - h), np.ones(len(b))
"""
    result = grade_text(grader, EX04, source)
    product = next(c for c in result.checks if c.kind == "property")
    assert not product.passed
    assert "every Jacobian of the chain rule is a matrix" in product.message


WRONG_EX05 = SIGMOID + """
def grad_W(x, W, b, u):
    z = W @ x + b
    delta = u * sigmoid(z) * (1 - sigmoid(z))
    return np.outer(x, delta)

def grad_x(x, W, b, u):
    z = W @ x + b
    delta = u * sigmoid(z) * (1 - sigmoid(z))
    return W @ delta

def grad_u(x, W, b, u):
    return W @ x + b

def score_and_grads(x, W, b, u):
    z = W @ x + b
    h = sigmoid(z)
    delta = u * sigmoid(h) * (1 - sigmoid(h))
    return u @ h, {"W": np.outer(delta, x), "b": delta, "u": h, "x": W.T @ delta}
"""


def test_typical_wrong_ex05_file_through_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRADEWISE_COURSE", str(REPO))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.chdir(tmp_path)
    student = tmp_path / "wrong.py"
    student.write_text(WRONG_EX05, encoding="utf-8")
    assert main(["exercise", "5", "--file", str(student), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    diagnoses = {c["name"]: c["diagnosis"] for c in result["checks"]}
    assert diagnoses == {
        "∂s/∂W = δᵀxᵀ has the shape of W (n ≠ m)": "outer-transposed",
        "∂s/∂W when n = m": "outer-transposed",
        "∂s/∂W passes a gradient check": "outer-transposed",
        "∂s/∂x = Wᵀδ has the shape of x": "w-not-transposed",
        "∂s/∂x passes a gradient check": "w-not-transposed",
        "∂s/∂u = h": "grad-u-is-z",
        "∂s/∂u passes a gradient check": "grad-u-is-z",
        "score_and_grads returns the score s": None,
        "every gradient has the shape of its parameter": None,
        "the gradients agree with the single functions": "grads-fprime-at-h",
        'grads["W"] passes a gradient check': "grads-fprime-at-h",
        'grads["b"] passes a gradient check': "grads-fprime-at-h",
        'grads["u"] passes a gradient check': None,
        'grads["x"] passes a gradient check': "grads-fprime-at-h",
    }
    assert result["score"] == 1.5 and result["max_score"] == 12
    transposed = result["checks"][0]
    assert "your ∂s/∂W is x δᵀ, the transpose" in transposed["message"]


def test_transposed_grad_W_shows_as_a_shape_or_as_values(grader):
    mistake = next(m for m in EX05.mistakes if m.id == "outer-transposed")
    source = (COURSE.solutions_dir / EX05.solution).read_text(encoding="utf-8")
    result = grade_text(grader, EX05, f"{source}\ngrad_W = {mistake.solution_attr}\n")
    non_square, square = result.checks[0], result.checks[1]
    assert non_square.evidence.case == "basic"
    assert non_square.evidence.got.shape == non_square.evidence.expected.shape[::-1] == (4, 3)
    assert square.evidence.case == "square"
    assert square.evidence.got.shape == square.evidence.expected.shape == (3, 3)
