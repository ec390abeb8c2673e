"""Exercises 2 (cross-entropy) and 3 (Jacobians) beyond the automatic course tests:
hand-written student files, graded as a student would have them graded."""

from __future__ import annotations

import json
import textwrap

import pytest

from grader.cli import main
from grader.grading import Grader
from grader.spec import load_spec

from conftest import COURSE, REPO, grade_text, mistake_source, solution_source

EX02 = load_spec(COURSE.exercises_dir / "ex02_cross_entropy.yaml")
EX03 = load_spec(COURSE.exercises_dir / "ex03_jacobians.yaml")

# Right answers written the way students write them: masks and np.dot, log-sum-exp by hand,
# `P[rows, y] -= 1` on a fresh array, the naive sigmoid (it warns at −800 but is right),
# np.eye products, column_stack of perturbed copies.
EX02_OTHER_WAY = """
import numpy as np

def cross_entropy(p, q):
    mask = p != 0
    return -np.dot(p[mask], np.log(q[mask]))

def softmax_cross_entropy(F, y):
    m = F.max(axis=1)
    lse = m + np.log(np.exp(F - m[:, None]).sum(axis=1))
    return np.mean(lse - F[np.arange(F.shape[0]), y])

def softmax_cross_entropy_grad(F, y):
    P = np.exp(F - F.max(axis=1, keepdims=True))
    P = P / P.sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1
    return P / len(y)
"""

EX03_OTHER_WAY = """
import numpy as np

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

def sigmoid_grad(z):
    s = sigmoid(z)
    return s - s ** 2

def activation_jacobian(z):
    return np.eye(len(z)) * sigmoid_grad(z)

def affine_jacobians(W, x, b):
    return W, np.identity(b.shape[0])

def dot_jacobian(u, h):
    return h[np.newaxis, :]

def softmax_jacobian(f):
    p = np.exp(f - np.max(f))
    p /= p.sum()
    return np.diag(p) - p[:, None] * p[None, :]

def numerical_jacobian(func, x, eps=1e-6):
    x = np.asarray(x, dtype=float)
    steps = np.eye(x.size) * eps
    return np.column_stack([(func(x + e) - func(x - e)) / (2 * eps) for e in steps])
"""


def by_name(result):
    return {c.name: c for c in result.checks}


@pytest.fixture
def ws(tmp_path, monkeypatch, plain_env):
    monkeypatch.setenv("GRADEWISE_COURSE", str(REPO))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("spec,source", [(EX02, EX02_OTHER_WAY), (EX03, EX03_OTHER_WAY)],
                         ids=["ex02", "ex03"])
def test_right_answers_written_another_way_get_full_marks(grader, spec, source):
    result = grade_text(grader, spec, source)
    assert [(c.name, c.message) for c in result.checks if not c.passed] == []


def test_a_typical_wrong_cross_entropy_file_through_the_cli(ws, capsys):
    path = ws / "wrong.py"
    path.write_text(textwrap.dedent("""
        import numpy as np

        def cross_entropy(p, q):
            return -np.sum(p * np.log(q))

        def softmax_cross_entropy(F, y):
            e = np.exp(F)
            P = e / e.sum(axis=1, keepdims=True)
            return -np.sum(np.log(P[np.arange(len(y)), y]))

        def softmax_cross_entropy_grad(F, y):
            P = np.exp(F - F.max(axis=1, keepdims=True))
            P = P / P.sum(axis=1, keepdims=True)
            Y = np.zeros_like(P)
            Y[np.arange(len(y)), y] = 1
            return (Y - P) / len(y)
        """))
    assert main(["exercise", "2", "--file", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in result["checks"]}
    assert result["score"] == 1.5
    assert checks["cross-entropy of two distributions"]["passed"]
    assert checks["0 · log 0 counts as 0"]["diagnosis"] == "zero-log-zero-nan"
    assert "0 · log 0" in checks["0 · log 0 counts as 0"]["message"]
    assert checks["J is the mean over the batch"]["diagnosis"] == "sum-not-mean"
    assert "N times too large" in checks["J is the mean over the batch"]["message"]
    assert checks["J is the mean over the batch"]["failed_cases"] == ["batch", "many-classes"]
    assert checks["J stays finite for scores of ±1e4"]["diagnosis"] == "no-max-subtraction"
    gradient = checks["∂J/∂F matches finite differences of J"]
    assert gradient["diagnosis"] == "y-minus-yhat" and "ŷ − y" in gradient["message"]
    assert gradient["evidence"]["relative_error"] == pytest.approx(1.0)


def test_the_terminal_shows_the_loss_expected_and_got_as_numbers(ws, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line per message, whatever the words
    path = ws / "wrong.py"
    path.write_text(solution_source(EX02) + textwrap.dedent("""
        def softmax_cross_entropy(F, y):
            return -np.sum(_log_softmax(F)[np.arange(len(y)), y])
        """))
    assert main(["exercise", "2", "--file", str(path), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "[sum-not-mean]" in out and "J(θ) is the mean over the N examples" in out
    assert "array of shape ()" not in out  # a scalar loss is shown as a number
    expected = next(line for line in out.splitlines() if line.strip().startswith("expected"))
    got = next(line for line in out.splitlines() if line.strip().startswith("got"))
    assert float(got.split()[1]) == pytest.approx(5 * float(expected.split()[1]), rel=1e-3)
    assert "Score 6.5/10" in out  # the ±1e4 batch has N = 4 too


STABLE_SOFTMAX = """
import numpy as np

def _softmax(F):
    e = np.exp(F - F.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)

def cross_entropy(p, q):
    return -np.sum(p[p > 0] * np.log(q[p > 0]))

def softmax_cross_entropy_grad(F, y):
    P = _softmax(F)
    P[np.arange(len(y)), y] -= 1
    return P / len(y)
"""


@pytest.mark.parametrize("loss,diagnosis,words", [
    # the textbook softmax, then the log: inf/inf = nan
    ("e = np.exp(F); P = e / e.sum(axis=1, keepdims=True)\n"
     "    return -np.mean(np.log(P[np.arange(len(y)), y]))", "no-max-subtraction", "nan"),
    # a stable softmax, then the log of an underflowed probability: −log 0 = inf
    ("return -np.mean(np.log(_softmax(F)[np.arange(len(y)), y]))",
     "log-of-underflowed-probability", "−log 0 = inf"),
    # log-sum-exp without the max: inf − inf = nan
    ("lse = np.log(np.exp(F).sum(axis=1))\n"
     "    return np.mean(lse - F[np.arange(len(y)), y])", "no-max-subtraction", "overflow"),
    # a stable softmax, but the log of every probability times the one-hot: 0 · log 0 = nan;
    # it subtracts the maximum, so it is never told it does not (finite on large-close-logits)
    ("Y = np.eye(F.shape[1])[y]\n"
     "    return -np.mean(np.sum(Y * np.log(_softmax(F)), axis=1))", "onehot-times-log",
     "0 · (−inf) = nan"),
])
def test_huge_logits_show_why_the_loss_is_not_finite(grader, loss, diagnosis, words):
    source = STABLE_SOFTMAX + f"\ndef softmax_cross_entropy(F, y):\n    {loss}\n"
    checks = by_name(grade_text(grader, EX02, source))
    assert checks["J is the mean over the batch"].passed
    huge = checks["J stays finite for scores of ±1e4"]
    assert not huge.passed and huge.diagnosis == diagnosis and words in huge.message
    assert huge.evidence.case == "huge-logits"
    assert all(c.passed for c in checks.values() if c.function != "softmax_cross_entropy")


def test_a_sigmoid_that_overflows_costs_only_the_extreme_checks(grader):
    source = EX03_OTHER_WAY.replace("return 1 / (1 + np.exp(-z))",
                                    "return np.exp(z) / (1 + np.exp(z))")
    result = grade_text(grader, EX03, source)
    checks = by_name(result)
    failed = {c.name for c in result.checks if not c.passed}
    assert failed == {"σ(z) stays finite for |z| ≥ 800", "σ′(z) stays finite for |z| ≥ 800"}
    own = checks["σ(z) stays finite for |z| ≥ 800"]
    assert own.diagnosis == "exp-over-one-plus-exp" and "σ(800) came out nan" in own.message
    assert own.evidence.worst_index == (0,)  # z = 800, the overflowing entry
    caller = checks["σ′(z) stays finite for |z| ≥ 800"]
    assert caller.diagnosis == "uses-failing-function" and "`sigmoid`" in caller.message
    assert result.score == 9


def test_a_wrong_jacobians_file_reads_well_in_the_terminal(ws, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    path = ws / "wrong.py"
    path.write_text(EX03_OTHER_WAY + textwrap.dedent("""
        def activation_jacobian(z):
            return sigmoid_grad(z)

        def affine_jacobians(W, x, b):
            return W, 1

        def softmax_jacobian(f):
            p = np.exp(f - f.max())
            return np.diag(p / p.sum())
        """))
    assert main(["exercise", "3", "--file", str(path), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "[vector-not-diag]" in out and "diag(f′(z))" in out
    assert "[bias-jacobian-scalar]" in out and "np.eye(n)" in out
    assert "[only-diag]" in out and "softmax is not elementwise" in out
    assert "(see hint 3)" in out and "(see hint 4)" in out
    assert "Score 7/10" in out


def test_one_sided_differences_pass_on_a_linear_map_but_not_on_curved_ones(grader):
    source = EX03_OTHER_WAY + textwrap.dedent("""
        def numerical_jacobian(func, x, eps=1e-6):
            x = np.asarray(x, dtype=float)
            f0 = func(x)
            J = np.zeros((f0.size, x.size))
            for j in range(x.size):
                xp = x.copy()
                xp[j] += eps
                J[:, j] = (func(xp) - f0) / eps
            return J
        """)
    checks = by_name(grade_text(grader, EX03, source))
    assert checks["numerical Jacobian of a linear map R⁴ → R³"].passed
    assert checks["numerical Jacobian at an integer point"].passed
    curved = checks["central differences on curved maps"]
    assert curved.diagnosis == "one-sided-differences" and "O(ε²)" in curved.message


def test_perturbing_x_in_place_without_restoring_it_is_reported(grader):
    source = EX03_OTHER_WAY + textwrap.dedent("""
        def numerical_jacobian(func, x, eps=1e-6):
            J = []
            for j in range(x.size):
                x[j] += eps
                plus = func(x)
                x[j] -= 2 * eps
                J.append((plus - func(x)) / (2 * eps))
            return np.array(J).T
        """)
    checks = by_name(grade_text(grader, EX03, source))
    linear = checks["numerical Jacobian of a linear map R⁴ → R³"]
    assert linear.diagnosis == "mutated-input" and "`x`" in linear.message


@pytest.mark.parametrize("seed", [3, 11])
def test_other_seeds_keep_every_mistake_recognised(seed):
    with Grader(COURSE, seed=seed) as grader:
        for spec in (EX02, EX03):
            assert grade_text(grader, spec, solution_source(spec)).score == spec.points
            for mistake in spec.mistakes:
                result = grade_text(grader, spec, mistake_source(spec, mistake))
                failed = {c.name for c in result.checks if not c.passed}
                assert failed == set(mistake.fails), (spec.stem, mistake.id)
                assert {c.diagnosis for c in result.checks if not c.passed} <= \
                    {mistake.id, "uses-failing-function"}, (spec.stem, mistake.id)
