"""Reference solution of exercise 1 (softmax), its property checks and known mistakes."""

import numpy as np


def softmax(f):
    return _softmax(f)


def softmax_classifier(W, X):
    return softmax(X @ W.T)


def _softmax(f):
    # mistakes below call this, never `softmax`: a mistake replaces `softmax` when validated
    f = np.asarray(f, dtype=np.float64)
    e = np.exp(f - np.max(f, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


# -- properties -------------------------------------------------------------------------

def rows_are_distributions(P, **inputs):
    P = np.asarray(P, dtype=np.float64)
    if not np.all(np.isfinite(P)):
        return False, "the output contains NaN or inf"
    if np.any(P < 0):
        return False, "some probabilities are negative"
    sums = P.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=1e-9):
        return False, f"the rows sum to {np.round(sums, 4).tolist()} instead of 1"
    return True, ""


# -- known mistakes -----------------------------------------------------------------------

def mistake_no_max_subtraction(f):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(f, dtype=np.float64))
        return e / np.sum(e, axis=-1, keepdims=True)


def mistake_wrong_axis(f):
    f = np.asarray(f, dtype=np.float64)
    e = np.exp(f - np.max(f, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def mistake_sum_without_axis(f):
    f = np.asarray(f, dtype=np.float64)
    e = np.exp(f - np.max(f))
    return e / np.sum(e)


def mistake_no_keepdims(f):
    f = np.asarray(f, dtype=np.float64)
    e = np.exp(f - np.max(f, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1)


def mistake_always_2d(f):
    return np.atleast_2d(_softmax(f))


def mistake_forgot_softmax(W, X):
    return X @ W.T


def mistake_classifier_transposed_scores(W, X):
    return _softmax(W @ X.T)
