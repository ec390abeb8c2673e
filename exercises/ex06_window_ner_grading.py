"""Exercise 6 (window NER): what its checks need that gives no answer away (public: a
student release carries it): the corpus, the case generators, the windows' integer check
and the held-out evaluator of training. Evaluating a trained classifier means computing its
windows and scores, so the helpers below do. The reference solution, the loss the gradient
checks differentiate and the known mistakes are in solutions/."""

import functools
from pathlib import Path

import numpy as np

PAD_ID = 0
DATA = Path(__file__).resolve().parent / "data"


# -- helpers ----------------------------------------------------------------------------------

def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^−z), without overflow warnings


def _windows(token_ids, w, pad_id):
    ids = np.asarray(token_ids, dtype=np.int64)
    padded = np.concatenate([np.full(w, pad_id, dtype=np.int64), ids,
                             np.full(w, pad_id, dtype=np.int64)])
    # row t holds padded[t], ..., padded[t + 2w]: centred on word t, which is padded[t + w]
    return padded[np.arange(len(ids))[:, None] + np.arange(2 * w + 1)]


def _scores(params, windows):
    """Scores of many windows at once: rows of E[windows] concatenated, then uᵀσ(Wx + b)."""
    E, W, b, u = params["E"], params["W"], params["b"], params["u"]
    X = np.asarray(E, dtype=np.float64)[windows].reshape(len(windows), -1)
    return _sigmoid(X @ np.asarray(W).T + b) @ u


# -- data -------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def load_corpus():
    """(vocabulary, E, train, heldout); a split is a list of (token ids, 0/1 labels)."""
    vocab, rows = [], []
    for line in (DATA / "window_ner_vectors.txt").read_text(encoding="utf-8").splitlines():
        word, *numbers = line.split()
        vocab.append(word)
        rows.append([float(v) for v in numbers])
    index = {word: i for i, word in enumerate(vocab)}

    def split(name):
        out = []
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            tokens = [t.split("/") for t in line.split()]
            out.append((np.array([index[t[0]] for t in tokens], dtype=np.int64),
                        np.array([int(t[1:] == ["LOC"]) for t in tokens], dtype=np.int64)))
        return out

    return (tuple(vocab), np.array(rows, dtype=np.float64), split("window_ner_train.txt"),
            split("window_ner_heldout.txt"))


def location_f1(predicted, gold) -> float:
    """Token-level F1 of the location class."""
    predicted, gold = np.concatenate(predicted) == 1, np.concatenate(gold) == 1
    tp = np.sum(predicted & gold)
    if tp == 0:
        return 0.0
    precision, recall = tp / np.sum(predicted), tp / np.sum(gold)
    return float(2 * precision * recall / (precision + recall))


# -- cases ------------------------------------------------------------------------------------

def training_data(rng):
    """The training split and the starting word vectors; the held-out split stays here."""
    _, E, train, _ = load_corpus()
    return {"sentences": [ids for ids, _ in train], "labels": [y for _, y in train], "E": E,
            "w": 2, "hidden": 8, "epochs": 4, "lr": 0.2, "seed": 0}


def margin_violated(rng, d, w, n):
    """Two windows with s − s_c = 0.2: J = 0.8 > 0, every gradient is needed."""
    return _two_windows(rng, d, w, n, s_minus_s_c=0.2)


def margin_holds(rng, d, w, n):
    """s − s_c = 1.8: the margin of 1 holds, J = 0 and so does every gradient."""
    return _two_windows(rng, d, w, n, s_minus_s_c=1.8)


def margin_barely_holds(rng, d, w, n):
    """s − s_c = 1.05: J = 0, though 1 − s + s_c is only just negative."""
    return _two_windows(rng, d, w, n, s_minus_s_c=1.05)


def same_window_twice(rng, d, w, n):
    """x_corrupt = x_true: J = 1; W, b, u's two terms cancel, the word vectors' do not."""
    case = _two_windows(rng, d, w, n, s_minus_s_c=0.0)
    case["x_corrupt"] = case["x_true"].copy()
    return case


def _two_windows(rng, d, w, n, s_minus_s_c):
    m = (2 * w + 1) * d
    x_true, x_corrupt = rng.normal(0, 1, m), rng.normal(0, 1, m)
    W, b = rng.normal(0, 1 / np.sqrt(m), (n, m)), rng.normal(0, 0.5, n)
    # choose u along h − h_c so that uᵀh − uᵀh_c is exactly the wanted gap
    diff = _sigmoid(W @ x_true + b) - _sigmoid(W @ x_corrupt + b)
    u = rng.normal(0, 1, n)
    u += (s_minus_s_c - u @ diff) / (diff @ diff) * diff
    return {"x_true": x_true, "x_corrupt": x_corrupt, "W": W, "b": b, "u": u}


def sgd_params(rng, V, d, n, m):
    shapes = {"W": (n, m), "b": (n,), "u": (n,), "E": (V, d)}
    return {"params": {k: rng.normal(0, 1, s) for k, s in shapes.items()},
            "grads": {k: rng.normal(0, 1, s) for k, s in shapes.items()}}


def trained_params(rng, V, d, n, w, T):
    """Random parameters and a sentence; the threshold splits the sentence's scores."""
    m = (2 * w + 1) * d
    params = {"W": rng.normal(0, 1 / np.sqrt(m), (n, m)), "b": rng.normal(0, 0.5, n),
              "u": rng.normal(0, 2, n), "E": rng.normal(0, 1, (V, d))}
    sentence = rng.integers(1, V, T)
    scores = np.sort(_scores(params, _windows(sentence, w, PAD_ID)))
    middle = len(scores) // 2  # T ≥ 2: about half the words above, half below
    params["threshold"] = float(0.5 * (scores[middle - 1] + scores[middle]))
    return {"params": params, "sentence": sentence}


# -- checks -------------------------------------------------------------------------------

def windows_are_indices(windows, **inputs):
    if not isinstance(windows, np.ndarray) or windows.dtype.kind not in "iu":
        kind = windows.dtype if isinstance(windows, np.ndarray) else type(windows).__name__
        return False, (f"the windows must be integer word indices (they index the rows of E), "
                       f"got {kind}: np.zeros and np.full make floats unless given dtype=int")
    return True, ""


def heldout_location_f1(params, E=None, **inputs):
    """Token-level F1 of the location class on the held-out split, by the reference rule.

    E: the word vectors the training got. The case gives the words other ids under a hidden
    seed (its `vary` shuffles the rows of E): the held-out words take the ids their vectors
    went to. Without E, the corpus's own ids."""
    _, corpus_E, _, heldout = load_corpus()
    new_id = np.arange(len(corpus_E))
    if E is not None:
        id_of_row = {row.tobytes(): i for i, row in enumerate(np.asarray(E, dtype=np.float64))}
        new_id = np.array([id_of_row[row.tobytes()] for row in corpus_E], dtype=np.int64)
    w = (np.shape(params["W"])[1] // np.shape(params["E"])[1] - 1) // 2
    predicted = [_scores(params, _windows(new_id[ids], w, PAD_ID)) > float(params["threshold"])
                 for ids, _ in heldout]
    return location_f1(predicted, [y for _, y in heldout])
