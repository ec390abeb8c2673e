"""Reference solution of exercise 5 (∂s/∂W and friends), its score and its known mistakes.

The network: z = W x + b, h = σ(z), s = uᵀh, with x (m,), W (n, m), b (n,), u (n,), and the
local error signal δ = uᵀ ∘ f′(z) of exercise 4. The functions are independent of each other
(each builds on the private helpers), so a catalogued mistake fails only its own checks.
"""

import numpy as np


def grad_W(x, W, b, u):
    return np.outer(_delta(x, W, b, u), x)


def grad_x(x, W, b, u):
    return W.T @ _delta(x, W, b, u)


def grad_u(x, W, b, u):
    return _sigmoid(W @ x + b)


def score_and_grads(x, W, b, u):
    z = W @ x + b
    h = _sigmoid(z)
    delta = u * _sigmoid_grad(z)  # once, for W, b and x
    return float(u @ h), {"W": np.outer(delta, x), "b": delta, "u": h, "x": W.T @ delta}


# -- the scalar function the gradient checks differentiate -------------------------------------

def network_score(x, W, b, u):
    return float(u @ _sigmoid(W @ x + b))


# -- helpers (mistakes call these, never the public names they replace) ---------------------

def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))  # no overflow for any z


def _sigmoid_grad(z):
    return _sigmoid(z) * _sigmoid(-z)  # σ(z)(1 − σ(z)) without cancellation at large z


def _delta(x, W, b, u):
    return u * _sigmoid_grad(W @ x + b)


# -- known mistakes ---------------------------------------------------------------------------

def mistake_outer_transposed(x, W, b, u):
    return np.outer(x, _delta(x, W, b, u))


def mistake_hadamard_not_outer(x, W, b, u):
    return _delta(x, W, b, u) * x


def mistake_grad_w_forgot_fprime(x, W, b, u):
    return np.outer(u, x)


def mistake_w_not_transposed(x, W, b, u):
    return W @ _delta(x, W, b, u)


def mistake_grad_x_forgot_fprime(x, W, b, u):
    return W.T @ u


def mistake_grad_u_is_z(x, W, b, u):
    return W @ x + b


def mistake_grad_u_is_fprime(x, W, b, u):
    return _sigmoid_grad(W @ x + b)


def mistake_grads_fprime_at_h(x, W, b, u):
    h = _sigmoid(W @ x + b)
    delta = u * _sigmoid_grad(h)  # σ′ applied to h = σ(z): σ twice
    return float(u @ h), {"W": np.outer(delta, x), "b": delta, "u": h, "x": W.T @ delta}


def mistake_grads_w_transposed(x, W, b, u):
    z = W @ x + b
    h = _sigmoid(z)
    delta = u * _sigmoid_grad(z)
    return float(u @ h), {"W": np.outer(x, delta), "b": delta, "u": h, "x": W.T @ delta}


def mistake_grads_forgot_fprime(x, W, b, u):
    h = _sigmoid(W @ x + b)
    delta = u.copy()
    return float(u @ h), {"W": np.outer(delta, x), "b": delta, "u": h, "x": W.T @ delta}
