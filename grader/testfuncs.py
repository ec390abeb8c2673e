"""Named test functions handed to student functions that take a function as input.

A case input `{function: NAME}` becomes the function `NAME` below, both in the child (for
the student's call) and in the parent (for the reference). They are shipped with the grader
so that nothing from the parent's solutions ever crosses into the child. All are pure
numpy, deterministic, and do not modify their argument.
"""

import numpy as np

_A = np.array([[1.0, -2.0, 0.5, 3.0], [0.0, 1.5, -1.0, 2.0], [2.5, 0.3, 1.0, -0.7]])


def affine_map(x):
    """R^4 → R^3: A x + 1, Jacobian A (non-square, so a transposed Jacobian shows)."""
    return _A @ x + 1.0


def tanh_map(x):
    """R^4 → R^3: tanh(A x), curved, Jacobian diag(1 − tanh²) A."""
    return np.tanh(_A @ x)


def softmax_map(x):
    """R^n → R^n: softmax, Jacobian diag(p) − p pᵀ."""
    e = np.exp(x - np.max(x))
    return e / e.sum()


def cube_map(x):
    """R^n → R^n: x³ elementwise, Jacobian diag(3x²)."""
    return x ** 3


def sum_of_cubes(x):
    """R^shape → R: Σ x³; forward differences are off by about 3·eps·x."""
    return float(np.sum(x ** 3))


def sum_of_cubes_grad(x):
    return 3.0 * x ** 2


def sum_of_cubes_grad_wrong(x):
    """A gradient with one entry wrong, for checking a gradient checker."""
    g = 3.0 * x ** 2
    g.flat[-1] += 0.5
    return g


def exp_quadratic(x):
    """R^shape → R: exp(−½ Σ x²) · Σ sin x, curved in every direction."""
    return float(np.exp(-0.5 * np.sum(x ** 2)) * np.sum(np.sin(x)))


def exp_quadratic_grad(x):
    e = np.exp(-0.5 * np.sum(x ** 2))
    return e * np.cos(x) - x * e * np.sum(np.sin(x))


def log_sum_exp(x):
    """R^shape → R: log Σ exp x (stable)."""
    m = np.max(x)
    return float(m + np.log(np.sum(np.exp(x - m))))


def log_sum_exp_grad(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def log_sum_exp_grad_transposed(x):
    """A gradient with the wrong layout, for checking a gradient checker."""
    return np.ascontiguousarray(log_sum_exp_grad(x).T).reshape(x.shape) if x.ndim == 2 \
        else log_sum_exp_grad(x)[::-1].copy()


def sum_of_cubes_grad_too_small(x):
    """3x² − 0.3: too small everywhere, for a checker that keeps the sign of the error."""
    return 3.0 * x ** 2 - 0.3


def tiny_cubes(x):
    """R^shape → R: 1e-6 · Σ x³, gradients of order 1e-6 (an absolute error hides mistakes)."""
    return float(1e-6 * np.sum(x ** 3))


def tiny_cubes_grad_wrong(x):
    """1e-6 · 3x instead of 1e-6 · 3x²: far off relatively, within 1e-5 absolutely."""
    return 3e-6 * x


def leading_cubes(x):
    """R^shape → R: Σ x³ over the first half of the entries (flat order). The other entries
    are never read, so their gradient is exactly 0, by finite differences too."""
    flat = x.reshape(-1)
    return float(np.sum(flat[: flat.size // 2] ** 3))


def leading_cubes_grad(x):
    g = 3.0 * x ** 2
    g.reshape(-1)[g.size // 2:] = 0.0
    return g


NAMES = tuple(name for name, value in dict(globals()).items()
              if callable(value) and not name.startswith("_") and value.__module__ == __name__)


def get(name):
    return globals()[name]
