"""Exercise 9 (nonlinearities): what its checks need that gives no answer away (public: a
student release carries it). The reference solution, the sums whose gradients are checked
and the known mistakes are in solutions/."""

import numpy as np


# -- properties ---------------------------------------------------------------------------

def one_layer_does_what_two_did(collapsed, W1, b1, W2, b2, **inputs):
    """The returned (W, b) maps inputs x exactly as W₂(W₁x + b₁) + b₂ does."""
    if not isinstance(collapsed, (tuple, list)) or len(collapsed) != 2:
        return False, "collapse_linear must return the pair (W, b)"
    W, b = (np.asarray(part, dtype=np.float64) for part in collapsed)
    X = np.random.default_rng(0).normal(size=(6, W1.shape[1]))
    two_layers = (X @ W1.T + b1) @ W2.T + b2
    if W.shape != (W2.shape[0], W1.shape[1]) or b.shape != (W2.shape[0],):
        return False, (f"W has shape {W.shape} and b {b.shape}; one layer from R^{W1.shape[1]} "
                       f"to R^{W2.shape[0]} needs W {(W2.shape[0], W1.shape[1])} and b "
                       f"{(W2.shape[0],)}")
    one_layer = X @ W.T + b
    if not np.allclose(one_layer, two_layers, rtol=1e-9, atol=1e-9):
        worst = float(np.max(np.abs(one_layer - two_layers)))
        return False, (f"on inputs x drawn at random, W x + b differs from W₂(W₁x + b₁) + b₂ "
                       f"by up to {worst:.3g}")
    return True, ""


# -- case generators ----------------------------------------------------------------------

def two_layers(rng, d, h, c):
    """Two linear layers R^d → R^h → R^c, with biases."""
    return {"W1": rng.normal(0, 1, (h, d)), "b1": rng.normal(0, 1, h),
            "W2": rng.normal(0, 1, (c, h)), "b2": rng.normal(0, 1, c)}
