"""Exercise 9 (non-linearities) beyond tests/test_course.py: right answers written the way
students write them, the value used at the kinks, booleans where numbers are expected, the
monotone checks, and a wrong file through the CLI."""

from __future__ import annotations

import json

import pytest

from grader.cli import main
from grader.grading import Grader

from conftest import COURSE, grade_text, mistake_source, solution_source

SPEC = COURSE.find("nonlinearities")

# Right answers written another way: np.where and np.heaviside, sech² (cosh overflows to inf
# at 800 and 1/inf² is 0: a warning, the right number), np.eye products, loops over layers,
# numpy integers from np.prod.
OTHER_WAY = """
import numpy as np

def relu(z):
    return np.where(z > 0, z, 0.0)

def relu_grad(z):
    return np.heaviside(z, 0.0)

def tanh_grad(z):
    return 1.0 / np.cosh(z) ** 2

def hard_tanh(z):
    return np.minimum(1.0, np.maximum(-1.0, z))

def hard_tanh_grad(z):
    return np.where(np.abs(z) < 1, 1.0, 0.0)

def activation_jacobian(z, f):
    if f == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        d = s * (1 - s)
    elif f == "tanh":
        d = 1 - np.tanh(z) ** 2
    elif f == "relu":
        d = (z > 0) * 1.0
    else:
        d = ((z > -1) & (z < 1)) * 1.0
    return np.eye(len(z)) * d

def collapse_linear(W1, b1, W2, b2):
    return np.dot(W2, W1), np.dot(W2, b1) + b2

def mlp_param_count(d, h, c):
    return d * h + h + h * c + c

def deep_param_count(sizes):
    total = 0
    for i in range(len(sizes) - 1):
        total += np.prod([sizes[i] + 1, sizes[i + 1]])
    return total
"""


def by_name(result):
    return {c.name: c for c in result.checks}


def failed(result):
    return {c.name for c in result.checks if not c.passed}


def test_right_answers_written_another_way_get_full_marks(grader):
    result = grade_text(grader, SPEC, OTHER_WAY)
    assert [(c.name, c.message) for c in result.checks if not c.passed] == []


@pytest.mark.parametrize("kink_value,diagnosis", [(0.0, None), (0.5, None),
                                                   (1.0, "relu-grad-one-at-zero")])
def test_the_value_at_the_kink_is_zero_and_only_the_kink_check_says_so(grader, kink_value,
                                                                        diagnosis):
    source = OTHER_WAY.replace("np.heaviside(z, 0.0)", f"np.heaviside(z, {kink_value})")
    result = grade_text(grader, SPEC, source)
    assert failed(result) == (set() if kink_value == 0 else {"ReLU′(0) = 0 at the kink"})
    if kink_value:
        kink = by_name(result)["ReLU′(0) = 0 at the kink"]
        assert kink.evidence.case == "z-kinks" and kink.diagnosis == diagnosis
        assert kink.evidence.got[kink.evidence.worst_index] == kink_value
        assert "1 of 7 values differ" in kink.message if diagnosis is None else \
            "uses 0: compare strictly" in kink.message


def test_booleans_where_numbers_are_expected_fail_with_a_message_integers_do_not(grader):
    booleans = grade_text(grader, SPEC, OTHER_WAY.replace("np.heaviside(z, 0.0)", "z > 0"))
    assert failed(booleans) == {"ReLU′ passes a gradient check", "ReLU′(0) = 0 at the kink"}
    check = by_name(booleans)["ReLU′(0) = 0 at the kink"]
    assert check.diagnosis == "relu-grad-boolean" and "booleans (True/False)" in check.message
    # a boolean hard tanh′ is no catalogued mistake: the comparison's own words say it
    hard = grade_text(grader, SPEC, OTHER_WAY.replace("np.where(np.abs(z) < 1, 1.0, 0.0)",
                                                      "np.abs(z) < 1"))
    assert failed(hard) == {"hard tanh′ passes a gradient check",
                            "hard tanh′(±1) = 0 at the kinks"}
    message = by_name(hard)["hard tanh′(±1) = 0 at the kinks"].message
    assert "got True/False values (dtype bool)" in message and ".astype(float)" in message
    integers = grade_text(grader, SPEC, OTHER_WAY.replace("np.heaviside(z, 0.0)",
                                                          "(z > 0).astype(int)"))
    assert failed(integers) == set()


def test_a_relu_that_falls_fails_the_monotone_check_naming_the_entry(grader):
    result = grade_text(grader, SPEC, OTHER_WAY.replace("np.where(z > 0, z, 0.0)", "np.abs(z)"))
    assert failed(result) == {"ReLU elementwise", "ReLU is increasing"}
    check = by_name(result)["ReLU is increasing"]
    assert "`relu` is increasing in z: raising z[" in check.message
    assert "must not lower the output there" in check.message


def test_collapsing_layers_in_the_wrong_order_is_named_even_when_it_raises(grader):
    """W₁ @ W₂ raises for these shapes: the same exception as the catalogued mistake's."""
    source = OTHER_WAY.replace("np.dot(W2, W1), np.dot(W2, b1) + b2", "W1 @ W2, W2 @ b1 + b2")
    result = grade_text(grader, SPEC, source)
    checks = by_name(result)
    assert failed(result) == {"(W, b) = (W₂W₁, W₂b₁ + b₂)",
                              "one linear layer does what the two did"}
    assert checks["(W, b) = (W₂W₁, W₂b₁ + b₂)"].diagnosis == "product-reversed"


def test_a_wrong_counting_file_through_the_cli(ws, tmp_path, capsys):
    path = tmp_path / "counts.py"
    path.write_text(solution_source(SPEC) + (
        "\n\ndef mlp_param_count(d, h, c):\n    return d * h + h * c\n"
        "\n\ndef deep_param_count(sizes):\n"
        "    return (sizes[0] + 1) * sizes[1] + (sizes[1] + 1) * sizes[-1]\n"))
    assert main(["exercise", "9", "--file", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in result["checks"]}
    assert result["score"] == SPEC.points - 2
    count = checks["(d + 1)·h + (h + 1)·c parameters"]
    assert count["diagnosis"] == "weights-without-biases" and "has a bias too" in count["message"]
    evidence = count["evidence"]
    assert (evidence["expected"]["data"], evidence["got"]["data"]) == (23, 18)
    deep = checks["parameters of a deeper perceptron"]
    assert deep["diagnosis"] == "two-layer-formula"
    assert deep["failed_cases"] == ["deep-no-hidden", "deep-four-layers", "deep-five-layers"]


@pytest.mark.parametrize("seed", [2, 3])
def test_other_seeds_keep_the_reference_full_and_every_mistake_recognised(seed):
    with Grader(COURSE, seed=seed) as grader:
        assert grade_text(grader, SPEC, solution_source(SPEC)).score == SPEC.points
        for mistake in SPEC.mistakes:
            result = grade_text(grader, SPEC, mistake_source(SPEC, mistake))
            failed = {c.name for c in result.checks if not c.passed}
            assert failed == set(mistake.fails), mistake.id
            assert {c.diagnosis for c in result.checks if not c.passed} <= \
                {mistake.id, "uses-failing-function"}, mistake.id
