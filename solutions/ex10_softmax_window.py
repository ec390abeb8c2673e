"""Reference solution of exercise 10 (the softmax window classifier for NER): BIO tags to
class ids and back, windows of word vectors, softmax, the mean cross-entropy and its
gradients for W, b and the window vectors, the word-vector gradient, training and
prediction; the known mistakes. The data, the held-out evaluator and the case generators
are public: exercises/ex10_softmax_window_grading.py."""

import numpy as np

PAD_ID = 0


def tag_ids(tags, classes):
    index = {tag: i for i, tag in enumerate(classes)}
    return np.array([index[tag] for tag in tags], dtype=np.int64)


def tag_names(ids, classes):
    return [classes[int(i)] for i in ids]


def sentence_windows(E, token_ids, w=2, pad_id=0):
    return _window_vectors(E, token_ids, w, pad_id)


def window_probs(X, W, b):
    return _softmax(_scores(X, W, b))


def window_loss(X, y, W, b):
    log_p = _log_softmax(_scores(X, W, b))
    return float(-np.mean(log_p[np.arange(len(y)), y]))


def window_grads(X, y, W, b):
    delta = _delta(X, y, W, b)  # ∂J/∂F = (ŷ − onehot(y)) / N, one row per window
    return {"W": delta.T @ X, "b": delta.sum(axis=0), "X": delta @ W}


def word_vector_grad(E, token_ids, grad_X, w=2, pad_id=0):
    grad_E = np.zeros(np.shape(E), dtype=np.float64)
    words = _windows(token_ids, w, pad_id).reshape(-1)
    # piece k of row t goes to the k-th word of window t; a word in several windows (every
    # word is in up to 2w + 1 of them, the pad in many) gets the sum: add.at accumulates
    np.add.at(grad_E, words, np.asarray(grad_X, dtype=np.float64).reshape(len(words), -1))
    return grad_E


def train_softmax_window(sentences, tags, E, C, w=2, epochs=5, lr=0.5, seed=0):
    rng = np.random.default_rng(seed)
    m = (2 * w + 1) * np.shape(E)[1]
    params = {"W": rng.normal(0.0, 1.0 / np.sqrt(m), (C, m)), "b": np.zeros(C),
              "E": np.array(E, dtype=np.float64)}  # a copy: the caller's E stays as it was
    for _ in range(epochs):
        for j in rng.permutation(len(sentences)):  # one SGD step per sentence
            X = sentence_windows(params["E"], sentences[j], w, PAD_ID)
            grads = window_grads(X, tags[j], params["W"], params["b"])
            grads["E"] = word_vector_grad(params["E"], sentences[j], grads.pop("X"), w, PAD_ID)
            params = _sgd_step(params, grads, lr)
    return params


def predict_classes(params, token_ids):
    E, W, b = params["E"], params["W"], params["b"]
    w = (np.shape(W)[1] // np.shape(E)[1] - 1) // 2
    return np.argmax(sentence_windows(E, token_ids, w, PAD_ID) @ np.asarray(W).T + b,
                     axis=1).astype(np.int64)


# -- helpers (mistakes call these, never the public names they replace) ---------------------

def _sgd_step(params, grads, lr):
    """θ_new = θ_old − α ∇_θ J, for every parameter, as a new dict."""
    return {name: params[name] - lr * grads[name] for name in params}


def _windows(token_ids, w, pad_id):
    ids = np.asarray(token_ids, dtype=np.int64)
    padded = np.concatenate([np.full(w, pad_id, dtype=np.int64), ids,
                             np.full(w, pad_id, dtype=np.int64)])
    return padded[np.arange(len(ids))[:, None] + np.arange(2 * w + 1)]  # row t: centred on t


def _window_vectors(E, token_ids, w, pad_id):
    windows = _windows(token_ids, w, pad_id)
    return np.asarray(E, dtype=np.float64)[windows].reshape(len(windows), -1)


def _scores(X, W, b):
    return np.asarray(X, dtype=np.float64) @ np.asarray(W, dtype=np.float64).T + b


def _log_softmax(F):
    shifted = F - np.max(F, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _softmax(F):
    return np.exp(_log_softmax(F))


def _onehot(y, C):
    Y = np.zeros((len(y), C))
    Y[np.arange(len(y)), y] = 1.0
    return Y


def _delta(X, y, W, b):
    P = _softmax(_scores(X, W, b))
    return (P - _onehot(y, P.shape[1])) / len(y)


# -- known mistakes -----------------------------------------------------------------------

def mistake_float_ids(tags, classes):
    ids = np.zeros(len(tags))
    for t, tag in enumerate(tags):
        ids[t] = list(classes).index(tag)
    return ids


def mistake_own_class_numbering(tags, classes):
    index = {tag: i for i, tag in enumerate(sorted(set(tags)))}
    return np.array([index[tag] for tag in tags], dtype=np.int64)


def mistake_not_padded(E, token_ids, w=2, pad_id=0):
    ids = np.asarray(token_ids, dtype=np.int64)
    starts = np.arange(max(len(ids) - 2 * w, 0))
    windows = ids[starts[:, None] + np.arange(2 * w + 1)]
    return np.asarray(E, dtype=np.float64)[windows].reshape(len(windows), -1)


def mistake_pad_with_zeros(E, token_ids, w=2, pad_id=0):
    d = np.shape(E)[1]
    vectors = np.asarray(E, dtype=np.float64)[np.asarray(token_ids, dtype=np.int64)]
    padded = np.concatenate([np.zeros((w, d)), vectors, np.zeros((w, d))])
    return np.stack([padded[t:t + 2 * w + 1].reshape(-1) for t in range(len(vectors))])


def mistake_word_blocks_interleaved(E, token_ids, w=2, pad_id=0):
    windows = _windows(token_ids, w, pad_id)
    return np.asarray(E, dtype=np.float64)[windows].transpose(0, 2, 1).reshape(len(windows), -1)


def mistake_no_max_subtraction(X, W, b):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(_scores(X, W, b))
        return e / np.sum(e, axis=1, keepdims=True)


def mistake_forgot_bias(X, W, b):
    return _softmax(_scores(X, W, 0.0))


def mistake_softmax_over_windows(X, W, b):
    F = _scores(X, W, b)
    e = np.exp(F - np.max(F, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def mistake_loss_sum_not_mean(X, y, W, b):
    return float(-np.sum(_log_softmax(_scores(X, W, b))[np.arange(len(y)), y]))


def mistake_log_of_softmax(X, y, W, b):
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(_softmax(_scores(X, W, b))[np.arange(len(y)), y])))


def mistake_x_grad_without_1_over_n(X, y, W, b):
    delta = _delta(X, y, W, b)
    return {"W": delta.T @ X, "b": delta.sum(axis=0), "X": len(y) * delta @ W}


def mistake_y_minus_yhat(X, y, W, b):
    delta = -_delta(X, y, W, b)
    return {"W": delta.T @ X, "b": delta.sum(axis=0), "X": delta @ W}


def mistake_w_grad_transposed(X, y, W, b):
    delta = _delta(X, y, W, b)
    return {"W": np.asarray(X).T @ delta, "b": delta.sum(axis=0), "X": delta @ W}


def mistake_b_grad_not_summed(X, y, W, b):
    delta = _delta(X, y, W, b)
    return {"W": delta.T @ X, "b": delta, "X": delta @ W}


def mistake_repeated_words_overwritten(E, token_ids, grad_X, w=2, pad_id=0):
    grad_E = np.zeros(np.shape(E), dtype=np.float64)
    words = _windows(token_ids, w, pad_id).reshape(-1)
    grad_E[words] = np.asarray(grad_X, dtype=np.float64).reshape(len(words), -1)
    return grad_E


def mistake_center_word_only(E, token_ids, grad_X, w=2, pad_id=0):
    grad_E = np.zeros(np.shape(E), dtype=np.float64)
    d = np.shape(E)[1]
    centre = np.asarray(grad_X, dtype=np.float64)[:, w * d:(w + 1) * d]
    np.add.at(grad_E, np.asarray(token_ids, dtype=np.int64), centre)
    return grad_E


def mistake_argmax_without_axis(params, token_ids):
    E, W, b = params["E"], params["W"], params["b"]
    w = (np.shape(W)[1] // np.shape(E)[1] - 1) // 2
    return np.argmax(_window_vectors(E, token_ids, w, PAD_ID) @ np.asarray(W).T + b)
