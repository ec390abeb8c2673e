"""Reference solution of exercise 2 (cross-entropy) and its known mistakes."""

import numpy as np


def cross_entropy(p, q):
    return _cross_entropy(p, q)


def softmax_cross_entropy(F, y):
    log_p = _log_softmax(F)
    return float(-np.mean(log_p[np.arange(len(y)), y]))


def softmax_cross_entropy_grad(F, y):
    F = np.asarray(F, dtype=np.float64)
    return (_softmax(F) - _onehot(y, F.shape[1])) / F.shape[0]


def _cross_entropy(p, q):
    # mistakes below call the helpers, never the public names they may replace
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    support = p > 0  # 0 · log 0 = 0: only outcomes that p says can happen contribute
    with np.errstate(divide="ignore"):  # q = 0 where p > 0: H is +inf, rightly
        return float(-np.sum(p[support] * np.log(q[support])))


def _log_softmax(F):
    F = np.asarray(F, dtype=np.float64)
    shifted = F - np.max(F, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _softmax(F):
    return np.exp(_log_softmax(F))


def _onehot(y, C):
    Y = np.zeros((len(y), C))
    Y[np.arange(len(y)), y] = 1.0
    return Y


# -- known mistakes -------------------------------------------------------------------------

def mistake_zero_log_zero_nan(p, q):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.sum(np.asarray(p) * np.log(q)))


def mistake_sign_dropped(p, q):
    return -_cross_entropy(p, q)


def mistake_arguments_swapped(p, q):
    return _cross_entropy(q, p)


def mistake_assumes_one_hot(p, q):
    return float(-np.log(np.asarray(q)[np.argmax(p)]))


def mistake_sum_not_mean(F, y):
    return float(-np.sum(_log_softmax(F)[np.arange(len(y)), y]))


def mistake_log_of_underflowed_probability(F, y):
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(_softmax(F)[np.arange(len(y)), y])))


def mistake_no_max_subtraction(F, y):
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        e = np.exp(np.asarray(F, dtype=np.float64))
        P = e / np.sum(e, axis=1, keepdims=True)
        return float(-np.mean(np.log(P[np.arange(len(y)), y])))


def mistake_all_pairs_indexing(F, y):
    return float(-np.mean(_log_softmax(F)[:, y]))


def mistake_mean_over_all_entries(F, y):
    F = np.asarray(F, dtype=np.float64)
    return float(-np.mean(_onehot(y, F.shape[1]) * _log_softmax(F)))


def mistake_y_minus_yhat(F, y):
    F = np.asarray(F, dtype=np.float64)
    return (_onehot(y, F.shape[1]) - _softmax(F)) / F.shape[0]


def mistake_one_subtracted_everywhere(F, y):
    F = np.asarray(F, dtype=np.float64)
    return (_softmax(F) - 1.0) / F.shape[0]


def mistake_forgot_onehot(F, y):
    F = np.asarray(F, dtype=np.float64)
    return _softmax(F) / F.shape[0]


def mistake_grad_sum_not_mean(F, y):
    F = np.asarray(F, dtype=np.float64)
    return _softmax(F) - _onehot(y, F.shape[1])

