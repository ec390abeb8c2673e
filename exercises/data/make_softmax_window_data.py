"""Make the data of exercise 10: a small corpus tagged with BIO tags for three entity
classes (persons, locations, organisations), and starting word vectors for its vocabulary.

    python exercises/data/make_softmax_window_data.py [--out DIR]

Deterministic (fixed seed, fixed formatting): running it again rewrites the same bytes.
Every sentence is filled in from the templates below, written for this project; the first
ones paraphrase the lecture's examples ("Lloyd Jones said on BBC radio", "Only France and
Britain backed Fischler's proposal", "Foreign Ministry spokesman Shen Guofang told
Reuters"). Some names belong to two classes (Charles Schwab is a person and a company,
Paris a city and a person, Jordan a country and a person): only the words around them,
inside a window of ±2, tell which.

Files written:
  softmax_window_train.txt    one sentence per line, tokens `word/TAG` separated by spaces,
                              TAG one of O, B-PER, I-PER, B-LOC, I-LOC, B-ORG, I-ORG
  softmax_window_heldout.txt  same format, new sentences from the same vocabulary
  softmax_window_vectors.txt  one word per line and its d = 6 starting word vector (GloVe's
                              text format); line 1 is the padding word `<pad>`, index 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEED = 310
N_TRAIN, N_HELDOUT = 300, 120
DIM = 6
PAD = "<pad>"
CLASSES = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")

# names of one or more words; the ambiguous ones appear in two lists
PERSONS = ["Lloyd Jones", "Shen Guofang", "Fischler", "Anna Berg", "John Smith", "Maria Lopez",
           "Peter Novak", "Larry Ellison", "Charles Schwab", "Paris Hilton", "Michael Jordan",
           "Kate", "Omar", "Lucy Grant", "David", "Sarah Kim"]
LOCATIONS = ["France", "Britain", "Germany", "Paris", "London", "New York", "Fort Smith",
             "Hong Kong", "Jordan", "Cairo", "Lima", "San Diego", "Oslo", "Rome", "Boston"]
ORGANISATIONS = ["BBC", "Reuters", "European Commission", "Foreign Ministry",
                 "First National Bank", "Charles Schwab", "United Nations", "NFU", "Siemens",
                 "Welsh National Farmers Union", "Acme", "World Bank", "Red Cross"]
TIMES = ["spring", "May", "the morning", "time", "a hurry", "winter"]
SLOTS = {"{PER}": ("PER", PERSONS), "{LOC}": ("LOC", LOCATIONS), "{ORG}": ("ORG", ORGANISATIONS)}

TEMPLATES = [
    "{PER} said on {ORG} radio .",
    "only {LOC} and {LOC} backed {PER} 's proposal .",
    "{ORG} spokesman {PER} told {ORG} .",
    "the {ORG} said on Thursday it disagreed .",
    "museums in {LOC} are amazing .",
    "{PER} lives in {LOC} .",
    "{PER} works for {ORG} in {LOC} .",
    "shares of {ORG} rose on Monday .",
    "the {ORG} opened an office in {LOC} .",
    "{PER} flew from {LOC} to {LOC} .",
    "we met {PER} at the station .",
    "a letter to {PER} arrived today .",
    "the weather in {LOC} is cold today .",
    "{PER} joined {ORG} last year .",
    "{ORG} hired {PER} as chief economist .",
    "the mayor of {LOC} met {PER} .",
    "{PER} and {PER} are old friends .",
    "the train to {LOC} leaves at noon .",
    "she left {ORG} in {T} .",
    "we met in {T} .",
    "{ORG} reported a profit in {LOC} .",
    "talks between {ORG} and {ORG} ended .",
    "ask {PER} about the train .",
    "he moved to {LOC} last year .",
    "{LOC} beat {LOC} on Sunday .",
    "the plan of {ORG} worried {PER} .",
]
LECTURE = ["Lloyd/B-PER Jones/I-PER said/O on/O BBC/B-ORG radio/O ./O",
           "only/O France/B-LOC and/O Britain/B-LOC backed/O Fischler/B-PER 's/O proposal/O ./O"]


def make_sentence(template: str, rng) -> str:
    out = []
    for token in template.split():
        if token in SLOTS:
            kind, names = SLOTS[token]
            words = names[rng.integers(len(names))].split()
            out += [f"{word}/{'B' if i == 0 else 'I'}-{kind}" for i, word in enumerate(words)]
        elif token == "{T}":
            out += [f"{word}/O" for word in TIMES[rng.integers(len(TIMES))].split()]
        else:
            out.append(f"{token}/O")
    return " ".join(out)


def make_split(n: int, rng) -> list[str]:
    return [make_sentence(TEMPLATES[rng.integers(len(TEMPLATES))], rng) for _ in range(n)]


def vocabulary(sentences: list[str]) -> list[str]:
    words = {token.rsplit("/", 1)[0] for line in sentences for token in line.split()}
    return [PAD] + sorted(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    out = parser.parse_args().out
    rng = np.random.default_rng(SEED)
    train = LECTURE + make_split(N_TRAIN - len(LECTURE), rng)
    heldout = make_split(N_HELDOUT, rng)
    vocab = vocabulary(train)
    unseen = set(vocabulary(heldout)) - set(vocab)
    assert not unseen, f"held-out words missing from the training split: {sorted(unseen)}"
    tags = {token.rsplit("/", 1)[1] for line in train + heldout for token in line.split()}
    assert tags == set(CLASSES), tags
    # starting word vectors: small random numbers, nothing about the classes built in;
    # training learns them (the lecture: "word vectors are learned too")
    vectors = rng.normal(0.0, 0.5, (len(vocab), DIM))
    out.mkdir(parents=True, exist_ok=True)
    (out / "softmax_window_train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (out / "softmax_window_heldout.txt").write_text("\n".join(heldout) + "\n", encoding="utf-8")
    lines = [" ".join([word] + [f"{v:.6f}" for v in row]) for word, row in zip(vocab, vectors)]
    (out / "softmax_window_vectors.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
