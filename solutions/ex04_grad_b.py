"""Reference solution of exercise 4 (∂s/∂b) and its known mistakes.

The network: z = W x + b, h = σ(z), s = uᵀh, with x (m,), W (n, m), b (n,), u (n,).
The functions are independent of each other (each builds on the private helpers), so a
catalogued mistake in one function fails only that function's checks.
"""

import numpy as np


def score(x, W, b, u):
    return float(u @ _sigmoid(W @ x + b))


def local_error(x, W, b, u):
    return _delta(x, W, b, u)


def chain_jacobians(x, W, b, u):
    return _jacobians(x, W, b, u)


def grad_b(x, W, b, u):
    return _delta(x, W, b, u)


# -- helpers (mistakes call these, never the public names they replace) ---------------------

def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))  # no overflow for any z


def _sigmoid_grad(z):
    # σ(z)σ(−z) = σ(z)(1 − σ(z)), without the cancellation of 1 − σ(z) for large z
    return _sigmoid(z) * _sigmoid(-z)


def _delta(x, W, b, u):
    return u * _sigmoid_grad(W @ x + b)


def _jacobians(x, W, b, u):
    n = len(b)
    return u.reshape(1, n).copy(), np.diag(_sigmoid_grad(W @ x + b)), np.eye(n)


# -- known mistakes ---------------------------------------------------------------------------

def mistake_score_forgot_f(x, W, b, u):
    return float(u @ (W @ x + b))


def mistake_delta_forgot_fprime(x, W, b, u):
    return u.copy()


def mistake_delta_f_for_fprime(x, W, b, u):
    return u * _sigmoid(W @ x + b)


def mistake_delta_one_minus_z(x, W, b, u):
    z = W @ x + b
    return u * _sigmoid(z) * (1 - z)


def mistake_delta_dot_product(x, W, b, u):
    return float(u @ _sigmoid_grad(W @ x + b))


def mistake_delta_forgot_bias(x, W, b, u):
    return u * _sigmoid_grad(W @ x)


def mistake_ds_dh_is_h(x, W, b, u):
    n = len(b)
    z = W @ x + b
    return _sigmoid(z).reshape(1, n), np.diag(_sigmoid_grad(z)), np.eye(n)


def mistake_dh_dz_not_diagonal(x, W, b, u):
    n = len(b)
    return u.reshape(1, n), _sigmoid_grad(W @ x + b), np.eye(n)


def mistake_dz_db_ones(x, W, b, u):
    n = len(b)
    return u.reshape(1, n), np.diag(_sigmoid_grad(W @ x + b)), np.ones(n)


def mistake_dz_db_is_w(x, W, b, u):
    n = len(b)
    return u.reshape(1, n), np.diag(_sigmoid_grad(W @ x + b)), W.copy()


def mistake_forgot_fprime(x, W, b, u):
    return u.copy()


def mistake_f_for_fprime(x, W, b, u):
    return u * _sigmoid(W @ x + b)


def mistake_forgot_ds_dh(x, W, b, u):
    return _sigmoid_grad(W @ x + b)


def mistake_star_not_matmul(x, W, b, u):
    return u * np.diag(_sigmoid_grad(W @ x + b)) * np.eye(len(b))
