"""Reference solution of exercise 10 (the softmax window classifier for NER): BIO tags to
class ids and back, windows of word vectors, softmax, the mean cross-entropy and its
gradients for W, b and the window vectors, the word-vector gradient, training and
prediction; the data, the held-out evaluator, the case generators and the known mistakes."""

import functools
from pathlib import Path

import numpy as np

PAD_ID = 0
DATA = Path(__file__).resolve().parent.parent / "exercises" / "data"
CLASSES = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")


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


# -- data -------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def load_corpus():
    """(vocabulary, E, train, heldout); a split is a list of (token ids, class ids)."""
    vocab, rows = [], []
    for line in (DATA / "softmax_window_vectors.txt").read_text(encoding="utf-8").splitlines():
        word, *numbers = line.split()
        vocab.append(word)
        rows.append([float(v) for v in numbers])
    index = {word: i for i, word in enumerate(vocab)}

    def split(name):
        out = []
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            tokens = [token.rsplit("/", 1) for token in line.split()]
            out.append((np.array([index[word] for word, _ in tokens], dtype=np.int64),
                        tag_ids([tag for _, tag in tokens], CLASSES)))
        return out

    return (tuple(vocab), np.array(rows, dtype=np.float64), split("softmax_window_train.txt"),
            split("softmax_window_heldout.txt"))


def macro_f1(predicted, gold, C) -> float:
    """The mean over the entity classes 1..C−1 (every class but O) of each class's
    token-level F1: a class never predicted right scores 0."""
    predicted, gold = np.concatenate(predicted), np.concatenate(gold)
    scores = []
    for c in range(1, C):
        tp = np.sum((predicted == c) & (gold == c))
        found, there = np.sum(predicted == c), np.sum(gold == c)
        scores.append(0.0 if tp == 0 else 2 * tp / (found + there))
    return float(np.mean(scores))


# -- cases ------------------------------------------------------------------------------------

def training_data(rng):
    """The training split and the starting word vectors; the held-out split stays here."""
    _, E, train, _ = load_corpus()
    return {"sentences": [ids for ids, _ in train], "tags": [y for _, y in train], "E": E,
            "C": len(CLASSES), "w": 2, "epochs": 5, "lr": 0.5, "seed": 0}


def corpus_tags(rng):
    """The BIO tags of a sentence of the corpus, and the classes in an order of the draw's
    (O first): ids follow the list given, not a list of one's own."""
    _, _, train, _ = load_corpus()
    sentences = [y for _, y in train if len(set(y.tolist())) >= 4]
    ids = sentences[rng.integers(len(sentences))]
    classes = [CLASSES[0]] + [CLASSES[i] for i in 1 + rng.permutation(len(CLASSES) - 1)]
    return {"tags": [CLASSES[i] for i in ids], "classes": classes}


def corpus_ids(rng):
    """Class ids of a corpus sentence and the classes (in the draw's order) they index."""
    case = corpus_tags(rng)
    return {"ids": tag_ids(case["tags"], case["classes"]), "classes": case["classes"]}


def random_params(rng, V, d, C, w, T):
    """Parameters of a classifier for windows of 2w + 1 words, and a sentence of T words."""
    m = (2 * w + 1) * d
    return {"params": {"W": rng.normal(0, 1, (C, m)), "b": rng.normal(0, 1, C),
                       "E": rng.normal(0, 1, (V, d))},
            "token_ids": rng.integers(1, V, T)}


# -- checks -------------------------------------------------------------------------------

def rows_are_distributions(P, **inputs):
    P = np.asarray(P, dtype=np.float64)
    if not np.all(np.isfinite(P)):
        return False, "the output contains NaN or inf"
    if np.any(P < 0):
        return False, "some probabilities are negative"
    sums = P.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=1e-9):
        return False, f"the rows sum to {np.round(sums, 4).tolist()} instead of 1"
    return True, ""


def heldout_macro_f1(params, E=None, **inputs):
    """Macro-F1 of the entity classes on the held-out split, predicted by the reference rule.

    E: the word vectors the training got. Under a hidden seed the case gives the words other
    ids (its `vary` shuffles the rows of E): the held-out words take the ids their vectors
    went to. Without E, the corpus's own ids."""
    _, corpus_E, _, heldout = load_corpus()
    new_id = np.arange(len(corpus_E))
    if E is not None:
        id_of_row = {row.tobytes(): i for i, row in enumerate(np.asarray(E, dtype=np.float64))}
        new_id = np.array([id_of_row[row.tobytes()] for row in corpus_E], dtype=np.int64)
    W, b, learned = (np.asarray(params[k], dtype=np.float64) for k in ("W", "b", "E"))
    w = (W.shape[1] // learned.shape[1] - 1) // 2
    predicted = [np.argmax(_scores(_window_vectors(learned, new_id[ids], w, PAD_ID), W, b),
                           axis=1) for ids, _ in heldout]
    return macro_f1(predicted, [y for _, y in heldout], len(CLASSES))


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
