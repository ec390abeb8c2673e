"""Exercise 10 (the softmax window classifier) beyond tests/test_course.py: the shipped data,
what the training check separates (a correct training passes; frozen word vectors or
gradients of the wrong sign fail), right answers written another way, a wrong file through
the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from grader.cli import main
from grader.grading import Grader

from conftest import COURSE, grade_text, mistake_source, solution_source

SPEC = COURSE.find("softmax_window")
TRAIN_CHECK = next(c for c in SPEC.checks if c.kind == "train")
THRESHOLD = TRAIN_CHECK.options["threshold"]
DATA = COURSE.exercises_dir / "data"
DATA_FILES = ("softmax_window_train.txt", "softmax_window_heldout.txt",
              "softmax_window_vectors.txt")

# Right answers written the way students write them: list.index, tuples, loops over the
# words, einsum, an explicit onehot matrix, the gradient of E by a loop of +=.
OTHER_WAY = """
import numpy as np

def tag_ids(tags, classes):
    return np.array([list(classes).index(t) for t in tags])

def tag_names(ids, classes):
    return tuple(classes[i] for i in ids)

def sentence_windows(E, token_ids, w=2, pad_id=0):
    ids = [pad_id] * w + list(token_ids) + [pad_id] * w
    return np.array([np.concatenate([E[i] for i in ids[t:t + 2 * w + 1]])
                     for t in range(len(token_ids))])

def _probs(X, W, b):
    F = np.einsum("nm,cm->nc", X, W) + b
    F = F - F.max(axis=1, keepdims=True)
    return np.exp(F) / np.exp(F).sum(axis=1, keepdims=True)

def window_probs(X, W, b):
    return _probs(X, W, b)

def window_loss(X, y, W, b):
    F = X @ W.T + b
    m = F.max(axis=1)
    lse = m + np.log(np.exp(F - m[:, None]).sum(axis=1))
    return float(np.mean(lse - F[np.arange(len(y)), y]))

def window_grads(X, y, W, b):
    Y = np.eye(W.shape[0])[y]
    D = (_probs(X, W, b) - Y) / X.shape[0]
    return {"W": D.T @ X, "b": D.sum(axis=0), "X": D @ W}

def word_vector_grad(E, token_ids, grad_X, w=2, pad_id=0):
    d = E.shape[1]
    G = np.zeros_like(E)
    ids = [pad_id] * w + list(token_ids) + [pad_id] * w
    for t in range(len(token_ids)):
        for k in range(2 * w + 1):
            G[ids[t + k]] += grad_X[t, k * d:(k + 1) * d]
    return G

def predict_classes(params, token_ids):
    d = params["E"].shape[1]
    w = (params["W"].shape[1] // d - 1) // 2
    X = sentence_windows(params["E"], token_ids, w)
    return np.argmax(X @ params["W"].T + params["b"], axis=1)
"""

# A student's own training loop, written apart from the reference (zeros for W, a loop over
# the sentences in order of a shuffled list), on the functions above. LEARN_E = 0 is the
# student who never updates the word vectors.
STUDENT_TRAINING = '''
def train_softmax_window(sentences, tags, E, C, w=2, epochs=5, lr=0.5, seed=0):
    rng = np.random.default_rng(seed)
    W, b, E = np.zeros((C, (2 * w + 1) * E.shape[1])), np.zeros(C), E.copy()
    order = list(range(len(sentences)))
    for _ in range(epochs):
        rng.shuffle(order)
        for j in order:
            X = sentence_windows(E, sentences[j], w)
            g = window_grads(X, tags[j], W, b)
            g_E = word_vector_grad(E, sentences[j], g["X"], w)
            W = W - lr * g["W"]
            b = b - lr * g["b"]
            E = E - lr * LEARN_E * g_E
    return {"W": W, "b": b, "E": E}
'''


def by_name(result):
    return {c.name: c for c in result.checks}


def test_data_script_rewrites_the_shipped_files(tmp_path):
    subprocess.run([sys.executable, str(DATA / "make_softmax_window_data.py"), "--out",
                    str(tmp_path)], check=True, capture_output=True)
    for name in DATA_FILES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_the_same_name_is_in_two_classes_and_every_class_is_in_both_splits():
    module = COURSE.public(SPEC)
    vocab, E, train, heldout = module.load_corpus()
    assert (len(train), len(heldout), E.shape) == (300, 120, (142, 6)) and vocab[0] == "<pad>"
    for split in (train, heldout):
        ids = np.concatenate([s for s, _ in split])
        classes = np.concatenate([y for _, y in split])
        assert set(classes) == set(range(len(module.CLASSES)))
        kinds = {}
        for word, c in zip(ids, classes):
            kinds.setdefault(vocab[word], set()).add(module.CLASSES[c][2:])
        assert {"PER", "ORG"} <= kinds["Charles"] and {"PER", "LOC"} <= kinds["Paris"]


def heldout_f1(**replace) -> float:
    """Held-out macro-F1 of the reference training with some of its functions replaced."""
    module = COURSE.solution(SPEC)  # a fresh copy: patching it touches nothing else
    public = COURSE.public(SPEC)
    for name, value in replace.items():
        setattr(module, name, getattr(module, value) if isinstance(value, str) else value)
    with np.errstate(all="ignore"):  # a wrong sign climbs the loss until the scores overflow
        params = module.train_softmax_window(**public.training_data(None))
        return public.heldout_macro_f1(params)


def test_the_threshold_separates_the_reference_from_broken_gradients():
    reference = heldout_f1()
    frozen_vectors = heldout_f1(word_vector_grad=lambda E, *args, **kwargs: np.zeros_like(E))
    wrong_sign = heldout_f1(window_grads="mistake_y_minus_yhat")
    overwritten = heldout_f1(word_vector_grad="mistake_repeated_words_overwritten")
    assert reference >= 0.99 and reference >= THRESHOLD + 0.05
    assert frozen_vectors <= THRESHOLD - 0.3
    assert wrong_sign <= THRESHOLD - 0.3
    assert overwritten <= THRESHOLD - 0.1


def test_right_answers_written_another_way_get_full_marks(grader):
    result = grade_text(grader, SPEC, OTHER_WAY + STUDENT_TRAINING + "\nLEARN_E = 1\n")
    assert [(c.name, c.message) for c in result.checks if not c.passed] == []


@pytest.mark.parametrize("student,passes", [
    (OTHER_WAY + STUDENT_TRAINING + "\nLEARN_E = 1\n", True),
    (OTHER_WAY + STUDENT_TRAINING + "\nLEARN_E = 0\n", False),
    (solution_source(SPEC) + "\nwindow_grads = mistake_y_minus_yhat\n", False),
], ids=["own-training", "own-training-never-updates-E", "gradient-of-the-wrong-sign"])
def test_the_training_check(grader, student, passes):
    result = grade_text(grader, SPEC, student)
    check = by_name(result)[TRAIN_CHECK.name]
    assert check.passed is passes, check.message
    if "LEARN_E = 0" in student:  # every other check passes: only training tells
        assert [c.name for c in result.checks if not c.passed] == [TRAIN_CHECK.name]
        f1 = float(re.search(r"macro-F1 is (\d\.\d+)", check.message)[1])
        assert f1 <= THRESHOLD - 0.3


def test_the_gradient_for_the_windows_without_the_mean_through_the_cli(ws, tmp_path, capsys):
    """The lecture's ∂s/∂x = Wᵀδ for each window, without the 1/N of the mean."""
    path = tmp_path / "grads.py"
    path.write_text(OTHER_WAY.replace('"X": D @ W', '"X": D @ W * X.shape[0]')
                    + STUDENT_TRAINING + "\nLEARN_E = 1\n")
    assert main(["exercise", "10", "--file", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    failing = {c["name"]: c for c in result["checks"] if not c["passed"]}
    assert set(failing) == {"∂J/∂x_window passes a gradient check",
                            "the gradients for scores in the thousands"}
    check = failing["∂J/∂x_window passes a gradient check"]
    assert check["diagnosis"] == "x-grad-without-1-over-n"
    assert "N times too large" in check["message"] and check["failed_cases"] == ["batch"]
    assert result["score"] == SPEC.points - 1.5


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
