"""Exercise 10 (the softmax window classifier): what its checks need that gives no answer
away (public: a student release carries it): the corpus, the case generators, the rows
property and the held-out evaluator of training. Evaluating a trained classifier means
computing its windows and class scores, so the helpers below do. The reference solution and
the known mistakes are in solutions/."""

import functools
from pathlib import Path

import numpy as np

PAD_ID = 0
DATA = Path(__file__).resolve().parent / "data"
CLASSES = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")


# -- helpers ----------------------------------------------------------------------------------

def _class_of(tag: str) -> int:
    return CLASSES.index(tag)


def _predictions(params, token_ids, w):
    """The class of each word of a sentence: windows of word vectors, scored W x + b."""
    ids = np.asarray(token_ids, dtype=np.int64)
    padded = np.concatenate([np.full(w, PAD_ID), ids, np.full(w, PAD_ID)]).astype(np.int64)
    windows = padded[np.arange(len(ids))[:, None] + np.arange(2 * w + 1)]
    E, W, b = (np.asarray(params[k], dtype=np.float64) for k in ("E", "W", "b"))
    return np.argmax(E[windows].reshape(len(ids), -1) @ W.T + b, axis=1)


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
                        np.array([_class_of(tag) for _, tag in tokens], dtype=np.int64)))
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
    position = {name: i for i, name in enumerate(case["classes"])}
    return {"ids": np.array([position[tag] for tag in case["tags"]], dtype=np.int64),
            "classes": case["classes"]}


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
    W, learned = (np.asarray(params[k], dtype=np.float64) for k in ("W", "E"))
    w = (W.shape[1] // learned.shape[1] - 1) // 2
    predicted = [_predictions(params, new_id[ids], w) for ids, _ in heldout]
    return macro_f1(predicted, [y for _, y in heldout], len(CLASSES))
