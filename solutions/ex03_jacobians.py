"""Reference solution of exercise 3 (Jacobians) and its known mistakes."""

import numpy as np


def sigmoid(z):
    return _sigmoid(z)


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1.0 - s)


def activation_jacobian(z):
    return np.diag(sigmoid_grad(z))


def affine_jacobians(W, x, b):
    return np.array(W, dtype=np.float64), np.eye(len(b))


def dot_jacobian(u, h):
    return np.array(h, dtype=np.float64).reshape(1, -1)


def softmax_jacobian(f):
    p = _softmax(f)
    return np.diag(p) - np.outer(p, p)


def numerical_jacobian(func, x, eps=1e-6):
    return _numerical_jacobian(func, x, eps, central=True)


# -- helpers: the mistakes below call these, never the public names they may replace -------

def _sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))  # ≤ 1: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_grad(z):
    s = _sigmoid(z)
    return s * (1.0 - s)


def _softmax(f):
    f = np.asarray(f, dtype=np.float64)
    e = np.exp(f - np.max(f))
    return e / np.sum(e)


def _numerical_jacobian(func, x, eps, central=True, copy_as_float=True):
    x = np.array(x, dtype=np.float64) if copy_as_float else np.array(x)
    columns = []
    for j in range(x.size):
        old = x[j]
        x[j] = old + eps
        plus = np.array(func(x), dtype=np.float64)
        x[j] = old - eps if central else old
        minus = np.array(func(x), dtype=np.float64)
        x[j] = old
        columns.append((plus - minus) / ((2 * eps) if central else eps))
    return np.stack(columns, axis=1)  # column j: how every output moves with x_j


# -- known mistakes -------------------------------------------------------------------------

def mistake_exp_over_one_plus_exp(z):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(z, dtype=np.float64))
        return e / (1.0 + e)


def mistake_wrong_sign_in_exponent(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(np.asarray(z, dtype=np.float64)))


def mistake_fprime_returns_sigma(z):
    return _sigmoid(z)


def mistake_sigma_applied_twice(z):
    s = _sigmoid(_sigmoid(z))
    return s * (1.0 - s)


def mistake_formula_on_z(z):
    z = np.asarray(z, dtype=np.float64)
    return z * (1.0 - z)


def mistake_quotient_rule_overflow(z):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(-np.asarray(z, dtype=np.float64))
        return e / (1.0 + e) ** 2


def mistake_vector_not_diag(z):
    return _sigmoid_grad(z)


def mistake_full_matrix(z):
    d = _sigmoid_grad(z)
    return np.ones((d.size, d.size)) * d


def mistake_transposed_w(W, x, b):
    return np.array(W, dtype=np.float64).T, np.eye(len(b))


def mistake_bias_jacobian_ones(W, x, b):
    return np.array(W, dtype=np.float64), np.ones(len(b))


def mistake_bias_jacobian_scalar(W, x, b):
    return np.array(W, dtype=np.float64), 1.0


def mistake_identity_size_of_x(W, x, b):
    return np.array(W, dtype=np.float64), np.eye(len(x))


def mistake_gradient_form(u, h):
    return np.array(h, dtype=np.float64)


def mistake_column_not_row(u, h):
    return np.array(h, dtype=np.float64).reshape(-1, 1)


def mistake_returned_u(u, h):
    return np.array(u, dtype=np.float64).reshape(1, -1)


def mistake_only_diag(f):
    return np.diag(_softmax(f))


def mistake_elementwise_like_sigmoid(f):
    p = _softmax(f)
    return np.diag(p * (1.0 - p))


def mistake_outer_minus_diag(f):
    p = _softmax(f)
    return np.outer(p, p) - np.diag(p)


def mistake_forgot_softmax(f):
    f = np.asarray(f, dtype=np.float64)
    return np.diag(f) - np.outer(f, f)


def mistake_unstable_softmax(f):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(f, dtype=np.float64))
        p = e / np.sum(e)
        return np.diag(p) - np.outer(p, p)


def mistake_one_sided_differences(func, x, eps=1e-6):
    return _numerical_jacobian(func, x, eps, central=False)


def mistake_transposed_jacobian(func, x, eps=1e-6):
    return _numerical_jacobian(func, x, eps).T


def mistake_missing_factor_two(func, x, eps=1e-6):
    return 2.0 * _numerical_jacobian(func, x, eps)


def mistake_integer_copy(func, x, eps=1e-6):
    return _numerical_jacobian(func, x, eps, copy_as_float=False)
