"""Reference solution of exercise 6 (window NER): windows, the max-margin loss and its
gradients, the word-vector gradient, SGD and training; the loss its gradient checks
differentiate, and the known mistakes. The data, the case generators and the held-out
evaluator are public: exercises/ex06_window_ner_grading.py."""

import numpy as np

PAD_ID = 0


def make_windows(token_ids, w=2, pad_id=0):
    return _windows(token_ids, w, pad_id)


def window_vector(E, window):
    return E[np.asarray(window)].reshape(-1)


def window_score(x, W, b, u):
    return float(u @ _sigmoid(W @ x + b))


def max_margin_loss(s, s_c, margin=1.0):
    return float(max(0.0, margin - s + s_c))


def max_margin_grads(x_true, x_corrupt, W, b, u):
    (s, h, delta), (s_c, h_c, delta_c) = _forward(x_true, W, b, u), _forward(x_corrupt, W, b, u)
    if 1.0 - s + s_c <= 0.0:  # the margin holds: J = 0 around here, nothing to learn
        return _zero_grads(x_true, x_corrupt, W, b, u)
    # J = 1 − s + s_c: ∂J/∂s = −1, ∂J/∂s_c = +1, then each score's own chain rule
    return {"W": -np.outer(delta, x_true) + np.outer(delta_c, x_corrupt),
            "b": -delta + delta_c,
            "u": -h + h_c,
            "x_true": -W.T @ delta,
            "x_corrupt": W.T @ delta_c}


def embedding_grad(E, window, grad_x):
    grad_E = np.zeros(E.shape, dtype=np.float64)
    window = np.asarray(window)
    # a word twice in the window gets both gradients: add.at accumulates, `=` would not
    np.add.at(grad_E, window, np.asarray(grad_x).reshape(len(window), E.shape[1]))
    return grad_E


def sgd_step(params, grads, lr):
    return {name: params[name] - lr * grads[name] for name in params}


def train_window_ner(sentences, labels, E, w=2, hidden=8, epochs=4, lr=0.2, seed=0):
    rng = np.random.default_rng(seed)
    m = (2 * w + 1) * E.shape[1]
    params = {"W": rng.normal(0.0, 1.0 / np.sqrt(m), (hidden, m)), "b": np.zeros(hidden),
              "u": rng.normal(0.0, 1.0 / np.sqrt(hidden), hidden),
              "E": np.array(E, dtype=np.float64)}
    windows = np.concatenate([make_windows(s, w, PAD_ID) for s in sentences])
    is_location = np.concatenate([np.asarray(y) for y in labels]) == 1
    true_windows, corrupt_windows = windows[is_location], windows[~is_location]
    for _ in range(epochs):
        # every window that is not a location, in random order, as the corrupt window s_c
        for j in rng.permutation(len(corrupt_windows)):
            window = true_windows[rng.integers(len(true_windows))]
            corrupt = corrupt_windows[j]
            E_now = params["E"]
            grads = max_margin_grads(window_vector(E_now, window), window_vector(E_now, corrupt),
                                     params["W"], params["b"], params["u"])
            grads["E"] = (embedding_grad(E_now, window, grads.pop("x_true"))
                          + embedding_grad(E_now, corrupt, grads.pop("x_corrupt")))
            params = sgd_step(params, grads, lr)
    # the loss only ranks windows: decide in the middle of the margin, halfway between the
    # lowest-scored location window and the highest-scored other window
    scores = np.array([window_score(window_vector(params["E"], win), params["W"], params["b"],
                                    params["u"]) for win in windows])
    params["threshold"] = 0.5 * (scores[is_location].min() + scores[~is_location].max())
    return params


def predict_locations(params, sentence):
    E, W, b, u = params["E"], params["W"], params["b"], params["u"]
    w = (W.shape[1] // E.shape[1] - 1) // 2
    scores = [window_score(window_vector(E, win), W, b, u)
              for win in make_windows(sentence, w, PAD_ID)]
    return (np.array(scores, dtype=np.float64) > params["threshold"]).astype(np.int64)


# -- helpers (mistakes call these, never the public names they replace) ---------------------

def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^−z), without overflow warnings


def _forward(x, W, b, u):
    """s = uᵀσ(Wx + b), h = σ(z) and δ = ∂s/∂z = u ∘ σ′(z)."""
    h = _sigmoid(W @ x + b)
    return float(u @ h), h, u * h * (1.0 - h)


def _zero_grads(x_true, x_corrupt, W, b, u):
    return {"W": np.zeros_like(W, dtype=np.float64), "b": np.zeros_like(b, dtype=np.float64),
            "u": np.zeros_like(u, dtype=np.float64),
            "x_true": np.zeros_like(x_true, dtype=np.float64),
            "x_corrupt": np.zeros_like(x_corrupt, dtype=np.float64)}


def _windows(token_ids, w, pad_id):
    ids = np.asarray(token_ids, dtype=np.int64)
    padded = np.concatenate([np.full(w, pad_id, dtype=np.int64), ids,
                             np.full(w, pad_id, dtype=np.int64)])
    # row t holds padded[t], ..., padded[t + 2w]: centred on word t, which is padded[t + w]
    return padded[np.arange(len(ids))[:, None] + np.arange(2 * w + 1)]


# -- the scalar function the gradient checks differentiate --------------------------------

def margin_loss(x_true, x_corrupt, W, b, u):
    """J = max(0, 1 − s + s_c) for two window vectors: what max_margin_grads differentiates."""
    return max(0.0, 1.0 - _forward(x_true, W, b, u)[0] + _forward(x_corrupt, W, b, u)[0])


# -- known mistakes -----------------------------------------------------------------------

def mistake_padding_one_side(token_ids, w=2, pad_id=0):
    ids = np.asarray(token_ids, dtype=np.int64)
    padded = np.concatenate([np.full(2 * w, pad_id, dtype=np.int64), ids])
    return padded[np.arange(len(ids))[:, None] + np.arange(2 * w + 1)]


def mistake_summed_word_vectors(E, window):
    return E[np.asarray(window)].sum(axis=0)


def mistake_averaged_word_vectors(E, window):
    return E[np.asarray(window)].mean(axis=0)


def mistake_loss_without_hinge(s, s_c, margin=1.0):
    return float(margin - s + s_c)


def mistake_gradient_when_margin_holds(x_true, x_corrupt, W, b, u):
    (_, h, delta), (_, h_c, delta_c) = _forward(x_true, W, b, u), _forward(x_corrupt, W, b, u)
    return {"W": -np.outer(delta, x_true) + np.outer(delta_c, x_corrupt), "b": -delta + delta_c,
            "u": -h + h_c, "x_true": -W.T @ delta, "x_corrupt": W.T @ delta_c}


def mistake_true_corrupt_signs_swapped(x_true, x_corrupt, W, b, u):
    (s, h, delta), (s_c, h_c, delta_c) = _forward(x_true, W, b, u), _forward(x_corrupt, W, b, u)
    if 1.0 - s + s_c <= 0.0:
        return _zero_grads(x_true, x_corrupt, W, b, u)
    return {"W": np.outer(delta, x_true) - np.outer(delta_c, x_corrupt), "b": delta - delta_c,
            "u": h - h_c, "x_true": W.T @ delta, "x_corrupt": -W.T @ delta_c}


def mistake_corrupt_window_missing(x_true, x_corrupt, W, b, u):
    (s, h, delta), (s_c, _, _) = _forward(x_true, W, b, u), _forward(x_corrupt, W, b, u)
    if 1.0 - s + s_c <= 0.0:
        return _zero_grads(x_true, x_corrupt, W, b, u)
    return {"W": -np.outer(delta, x_true), "b": -delta, "u": -h, "x_true": -W.T @ delta,
            "x_corrupt": np.zeros_like(x_corrupt, dtype=np.float64)}


def mistake_window_grad_reshaped_d_first(E, window, grad_x):
    grad_E = np.zeros(E.shape, dtype=np.float64)
    window = np.asarray(window)
    np.add.at(grad_E, window, np.asarray(grad_x).reshape(E.shape[1], len(window)).T)
    return grad_E


def mistake_repeated_words_overwritten(E, window, grad_x):
    grad_E = np.zeros(E.shape, dtype=np.float64)
    grad_E[np.asarray(window)] = np.asarray(grad_x).reshape(len(window), E.shape[1])
    return grad_E


def mistake_gradient_ascent(params, grads, lr):
    return {name: params[name] + lr * grads[name] for name in params}
