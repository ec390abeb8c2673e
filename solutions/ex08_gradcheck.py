"""Reference solution of exercise 8 (a gradient checker of one's own) and its known mistakes.

The functions checked are named test functions of `grader.testfuncs` (sum_of_cubes, ...).
"""

import numpy as np


def numerical_gradient(f, x, eps=1e-5):
    return _numerical_gradient(f, x, eps)


def relative_error(a, b):
    return float(np.max(_relative_errors(a, b)))


def gradcheck(f, grad_f, x, tol=1e-5):
    analytic = np.asarray(grad_f(x), dtype=np.float64)
    numeric = numerical_gradient(f, x)
    errors = _relative_errors(analytic, numeric)
    worst = _index(np.argmax(errors), errors.shape)
    max_error = float(errors[worst])
    return max_error <= tol, max_error, worst


def _numerical_gradient(f, x, eps):
    # mistakes below call this, never `numerical_gradient`: a mistake replaces it when validated
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        plus = f(x)
        x[index] = old - eps
        minus = f(x)
        x[index] = old  # restore before the next coordinate (and for the caller)
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def _relative_errors(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def _index(flat, shape) -> tuple:
    return tuple(int(i) for i in np.unravel_index(int(flat), shape))


# -- known mistakes -----------------------------------------------------------------------

def mistake_one_sided_difference(f, x, eps=1e-5):
    grad, base = np.zeros(x.shape), f(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        grad[index] = (f(x) - base) / eps
        x[index] = old
    return grad


def mistake_eps_not_halved(f, x, eps=1e-5):
    return 2 * _numerical_gradient(f, x, eps)


def mistake_hardcoded_eps(f, x, eps=1e-5, *, step=1e-5):
    # `step`: the constant used instead of eps (the grader tries 1e-7 … 1e-3 around it)
    return _numerical_gradient(f, x, step)


def mistake_loops_over_rows(f, x, eps=1e-5):
    grad = np.zeros(x.shape)
    for i in range(len(x)):  # x[i] is a whole row when x has more than one axis
        old = x[i].copy()
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def mistake_loops_over_rows__view(f, x, eps=1e-5):
    """the row saved as `old = x[i]` is a view of x, not a copy: it moves with x[i], so the
    minus side is evaluated at x itself, a one-sided difference halved"""
    grad = np.zeros(x.shape)
    for i in range(len(x)):
        old = x[i]  # a view of the row when x has more than one axis
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def mistake_divided_by_b_only(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(b))))


def mistake_no_floor(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))


def mistake_signed_error(f, grad_f, x, tol=1e-5):
    a, b = np.asarray(grad_f(x), dtype=np.float64), _numerical_gradient(f, x, 1e-5)
    errors = (a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))  # no abs: the sign is kept
    worst = _index(np.argmax(errors), errors.shape)
    return float(errors[worst]) <= tol, float(errors[worst]), worst


def mistake_mean_error(f, grad_f, x, tol=1e-5):
    a, b = np.asarray(grad_f(x), dtype=np.float64), _numerical_gradient(f, x, 1e-5)
    errors = _relative_errors(a, b)
    mean = float(np.mean(errors))
    return mean <= tol, mean, _index(np.argmax(errors), errors.shape)


def mistake_absolute_error(f, grad_f, x, tol=1e-5):
    a, b = np.asarray(grad_f(x), dtype=np.float64), _numerical_gradient(f, x, 1e-5)
    errors = np.abs(a - b)
    worst = _index(np.argmax(errors), errors.shape)
    return float(errors[worst]) <= tol, float(errors[worst]), worst


def mistake_flat_worst_index(f, grad_f, x, tol=1e-5):
    a, b = np.asarray(grad_f(x), dtype=np.float64), _numerical_gradient(f, x, 1e-5)
    errors = _relative_errors(a, b)
    flat = int(np.argmax(errors))
    return float(errors.flat[flat]) <= tol, float(errors.flat[flat]), flat
