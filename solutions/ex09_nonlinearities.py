"""Reference solution of exercise 9 (non-linearities): ReLU, tanh′ and hard tanh with their
derivatives, diag(f′(z)) for four activations, two linear layers collapsed into one, the
parameter count of a multilayer perceptron; the scalar functions of the gradient checks,
a property, the case generators and the known mistakes."""

import numpy as np

ACTIVATIONS = ("sigmoid", "tanh", "relu", "hard_tanh")


def relu(z):
    return _relu(z)


def relu_grad(z):
    return _relu_grad(z)


def tanh_grad(z):
    return _tanh_grad(z)


def hard_tanh(z):
    return _hard_tanh(z)


def hard_tanh_grad(z):
    return _hard_tanh_grad(z)


def activation_jacobian(z, f):
    return np.diag(_derivative(f, z))


def collapse_linear(W1, b1, W2, b2):
    # W₂(W₁x + b₁) + b₂ = (W₂W₁)x + (W₂b₁ + b₂): one linear layer
    return W2 @ W1, W2 @ b1 + b2


def mlp_param_count(d, h, c):
    return (d + 1) * h + (h + 1) * c


def deep_param_count(sizes):
    sizes = [int(n) for n in sizes]
    # each layer: a weight from every unit below, plus a bias, into every unit above
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


# -- helpers: the mistakes below call these, never the public names they may replace -------

def _relu(z):
    return np.maximum(np.asarray(z, dtype=np.float64), 0.0)


def _relu_grad(z):
    # ReLU′(0) = 0: the value at the kink, as PyTorch and JAX use
    return (np.asarray(z, dtype=np.float64) > 0).astype(np.float64)


def _tanh_grad(z):
    return 1.0 - np.tanh(np.asarray(z, dtype=np.float64)) ** 2


def _hard_tanh(z):
    return np.clip(np.asarray(z, dtype=np.float64), -1.0, 1.0)


def _hard_tanh_grad(z):
    # 0 at the kinks z = ±1, as PyTorch uses: 1 only strictly inside (−1, 1)
    z = np.asarray(z, dtype=np.float64)
    return ((z > -1.0) & (z < 1.0)).astype(np.float64)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))  # no overflow


def _activation(f, z):
    return {"sigmoid": _sigmoid, "tanh": np.tanh, "relu": _relu, "hard_tanh": _hard_tanh}[f](
        np.asarray(z, dtype=np.float64))


def _derivative(f, z):
    if f == "sigmoid":
        s = _sigmoid(z)
        return s * (1.0 - s)
    return {"tanh": _tanh_grad, "relu": _relu_grad, "hard_tanh": _hard_tanh_grad}[f](z)


# -- the scalar functions whose gradients are checked (grade validate, gradcheck) -----------

def sum_relu(z):
    """Σ ReLU(z): its gradient is ReLU′(z), entry by entry."""
    return float(np.sum(_relu(z)))


def sum_tanh(z):
    """Σ tanh(z): its gradient is tanh′(z), entry by entry."""
    return float(np.sum(np.tanh(z)))


def sum_hard_tanh(z):
    """Σ hard tanh(z): its gradient is hard tanh′(z), entry by entry."""
    return float(np.sum(_hard_tanh(z)))


# -- known mistakes -------------------------------------------------------------------------

def mistake_max_not_maximum(z):
    return np.max(np.asarray(z, dtype=np.float64), 0)


def mistake_relu_minimum(z):
    return np.minimum(np.asarray(z, dtype=np.float64), 0.0)


def mistake_relu_grad_nan_at_zero(z):
    z = np.asarray(z, dtype=np.float64)
    return np.where(z > 0, 1.0, np.where(z < 0, 0.0, np.nan))


def mistake_relu_grad_one_at_zero(z):
    return (np.asarray(z, dtype=np.float64) >= 0).astype(np.float64)


def mistake_relu_grad_boolean(z):
    return np.asarray(z, dtype=np.float64) > 0


def mistake_one_minus_tanh(z):
    return 1.0 - np.tanh(np.asarray(z, dtype=np.float64))


def mistake_sigmoid_formula_on_tanh(z):
    t = np.tanh(np.asarray(z, dtype=np.float64))
    return t * (1.0 - t)


def mistake_tanh_by_hand_overflows(z):
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        t = (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
    return 1.0 - t ** 2


def mistake_hard_tanh_masks(z):
    z = np.asarray(z, dtype=np.float64)
    return z * (np.abs(z) <= 1.0)


def mistake_hard_tanh_upper_only(z):
    return np.minimum(np.asarray(z, dtype=np.float64), 1.0)


def mistake_hard_tanh_grad_one_at_kinks(z):
    return (np.abs(np.asarray(z, dtype=np.float64)) <= 1.0).astype(np.float64)


def mistake_vector_not_diag(z, f):
    return _derivative(f, z)


def mistake_diag_of_f(z, f):
    return np.diag(_activation(f, z))


def mistake_product_reversed(W1, b1, W2, b2):
    return W1 @ W2, W2 @ b1 + b2


def mistake_bias_skips_w2(W1, b1, W2, b2):
    return W2 @ W1, b1 + b2


def mistake_first_bias_lost(W1, b1, W2, b2):
    return W2 @ W1, np.array(b2, dtype=np.float64)


def mistake_weights_without_biases(d, h, c):
    return d * h + h * c


def mistake_bias_node_gets_weights(d, h, c):
    return (d + 1) * (h + 1) + (h + 1) * c


def mistake_deep_weights_only(sizes):
    sizes = [int(n) for n in sizes]
    return sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def mistake_two_layer_formula(sizes):
    d, h, c = int(sizes[0]), int(sizes[1]), int(sizes[-1])
    return (d + 1) * h + (h + 1) * c
