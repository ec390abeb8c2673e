"""Reference solution of exercise 1 (softmax) and its known mistakes."""

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
