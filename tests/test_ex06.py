"""Exercise 6 beyond tests/test_course.py: the shipped data and what the training check
separates (a correct training passes; ignoring the hinge or freezing the word vectors fails)."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import COURSE, grade_text, solution_source

SPEC = COURSE.find("window_ner")
TRAIN_CHECK = next(c for c in SPEC.checks if c.kind == "train")
THRESHOLD = TRAIN_CHECK.options["threshold"]
DATA = COURSE.exercises_dir / "data"
DATA_FILES = ("window_ner_train.txt", "window_ner_heldout.txt", "window_ner_vectors.txt")

# A student's own training loop, written apart from the reference (other initialisation,
# Python lists of windows), using the reference's other functions. LEARN_E = 0 is the
# student who never updates the word vectors.
STUDENT_TRAINING = '''
def train_window_ner(sentences, labels, E, w=2, hidden=8, epochs=4, lr=0.2, seed=0):
    rng = np.random.default_rng(seed)
    m = (2 * w + 1) * E.shape[1]
    params = {"W": rng.uniform(-0.3, 0.3, (hidden, m)), "b": np.zeros(hidden),
              "u": rng.uniform(-0.3, 0.3, hidden), "E": E.copy()}
    true, corrupt = [], []
    for sentence, y in zip(sentences, labels):
        for window, label in zip(make_windows(sentence, w), y):
            (true if label == 1 else corrupt).append(window)
    for _ in range(epochs):
        for j in rng.permutation(len(corrupt)):
            a, c = true[rng.integers(len(true))], corrupt[j]
            g = max_margin_grads(window_vector(params["E"], a), window_vector(params["E"], c),
                                 params["W"], params["b"], params["u"])
            g_E = embedding_grad(params["E"], a, g["x_true"]) + \\
                embedding_grad(params["E"], c, g["x_corrupt"])
            step = {"W": g["W"], "b": g["b"], "u": g["u"], "E": LEARN_E * g_E}
            params = sgd_step(params, step, lr)
    def score(window):
        return window_score(window_vector(params["E"], window), params["W"], params["b"],
                            params["u"])
    params["threshold"] = (min(map(score, true)) + max(map(score, corrupt))) / 2
    return params
'''


def test_data_script_rewrites_the_shipped_files(tmp_path):
    subprocess.run([sys.executable, str(DATA / "make_window_ner_data.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for name in DATA_FILES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_the_same_word_is_a_location_in_one_sentence_and_not_in_another():
    vocab, E, train, heldout = COURSE.public(SPEC).load_corpus()
    assert (len(train), len(heldout), E.shape) == (240, 100, (144, 4)) and vocab[0] == "<pad>"
    for split in (train, heldout):
        ids = np.concatenate([s for s, _ in split])
        labels = np.concatenate([y for _, y in split])
        both = set(ids[labels == 1]) & set(ids[labels == 0])
        assert {"Paris", "Sydney", "Florence"} <= {vocab[i] for i in both}


def heldout_f1(**replace) -> float:
    """Held-out F1 of the reference training with some of its functions replaced."""
    module, public = COURSE.solution(SPEC), COURSE.public(SPEC)  # fresh copies: patch freely
    for name, value in replace.items():
        setattr(module, name, getattr(module, value) if isinstance(value, str) else value)
    params = module.train_window_ner(**public.training_data(None))
    return public.heldout_location_f1(params)


def test_the_threshold_separates_the_reference_from_the_wrong_trainings():
    reference = heldout_f1()
    ignores_hinge = heldout_f1(max_margin_grads="mistake_gradient_when_margin_holds")
    fixed_vectors = heldout_f1(embedding_grad=lambda E, window, grad_x: np.zeros_like(E))
    assert reference >= 0.95 and reference >= THRESHOLD + 0.1
    assert ignores_hinge <= THRESHOLD - 0.1
    assert fixed_vectors <= THRESHOLD - 0.1


@pytest.mark.parametrize("student,passes", [
    (STUDENT_TRAINING + "\nLEARN_E = 1\n", True),
    (STUDENT_TRAINING + "\nLEARN_E = 0\n", False),
    ("\nmax_margin_grads = mistake_gradient_when_margin_holds\n", False),
], ids=["own-training", "own-training-never-updates-E", "gradient-ignores-hinge"])
def test_the_training_check(grader, student, passes):
    result = grade_text(grader, SPEC, solution_source(SPEC) + "\n" + student)
    check = next(c for c in result.checks if c.name == TRAIN_CHECK.name)
    assert check.passed is passes, check.message
    if "LEARN_E" in student and not passes:  # every other check passes: only training tells
        assert [c.name for c in result.checks if not c.passed] == [TRAIN_CHECK.name]
        f1 = float(re.search(r"F1 is (\d\.\d+)", check.message)[1])
        assert f1 <= THRESHOLD - 0.1
