"""Make the window-NER data of exercise 6: a small labelled corpus and its word vectors.

    python exercises/data/make_window_ner_data.py [--out DIR]

Deterministic (fixed seed, fixed formatting): running it again rewrites the same bytes.
Every sentence is filled in from the templates below, written for this project. Location
tokens are marked `/LOC`. Some words are a place in one sentence and a person in another
(the lecture's "museums in Paris are amazing" vs "Paris Hilton wowed in a sequin gown"):
only the words around them, inside a window of ±2, tell which.

Files written:
  window_ner_train.txt    one sentence per line, tokens separated by spaces, `Paris/LOC`
  window_ner_heldout.txt  same format, new sentences from the same vocabulary
  window_ner_vectors.txt  one word per line and its d = 4 starting word vector (GloVe's text
                          format); line 1 is the padding word `<pad>`, index 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEED = 224
N_TRAIN, N_HELDOUT = 240, 100
DIM = 4
PAD = "<pad>"

PLACES = ["London", "Berlin", "Rome", "Madrid", "Vienna", "Prague", "Lisbon", "Oslo", "Dublin",
          "Cairo", "Tokyo", "Lima", "Boston", "Munich", "Athens", "Warsaw", "Seoul", "Nairobi"]
PEOPLE = ["Anna", "John", "Maria", "Peter", "Lucy", "David", "Sarah", "Tom", "Emma", "James",
          "Laura", "Mark", "Nina", "Paul", "Kate", "Omar"]
# places in one sentence, people in another
AMBIGUOUS = ["Paris", "Florence", "Sydney", "Jordan", "Georgia", "Austin", "Charlotte",
             "Victoria"]
TIMES = ["spring", "summer", "winter", "the morning", "the evening", "May", "time", "a hurry"]

# {L}: a place (marked LOC), {P}: a person, {T}: a time or manner, never a location
TEMPLATES = [
    "museums in {L} are amazing",
    "not all museums in {L} are amazing",
    "we flew from {L} to {L} last week",
    "the train to {L} leaves at noon",
    "she lives in {L} now",
    "he moved to {L} last year",
    "the weather in {L} is cold today",
    "hotels in {L} are expensive",
    "the mayor of {L} gave a speech",
    "they drove through {L} and {L}",
    "our office near {L} is closed",
    "a flight from {L} was late",
    "I grew up in {L}",
    "rents in {L} keep rising",
    "{L} airport was closed all day",
    "the streets of {L} were empty",
    "last night {P} Hilton wowed in a sequin gown",
    "{P} said the museums are amazing",
    "I met {P} at the station",
    "{P} and {P} are old friends",
    "ask {P} about the train",
    "{P} told us a long story",
    "a letter to {P} arrived today",
    "a gift from {P} was on the table",
    "we had lunch with {P} today",
    "thank {P} for the tickets",
    "{P} smiled and waved",
    "I met {P} in {L}",
    "{P} flew to {L} on Monday",
    "{P} lives in {L} with {P}",
    "we met in {T}",
    "the shop opens in {T}",
    "she left in {T}",
    "the museum is closed in {T}",
    "he runs to the station every day",
    "the train was late again",
]
LECTURE = ["museums in Paris/LOC are amazing", "last night Paris Hilton wowed in a sequin gown"]


def make_sentence(template: str, rng) -> str:
    out = []
    for token in template.split():
        if token == "{L}":
            word = _pick(PLACES, rng)
            out.append(f"{word}/LOC")
        elif token == "{P}":
            out.append(_pick(PEOPLE, rng))
        elif token == "{T}":
            out.append(TIMES[rng.integers(len(TIMES))])
        else:
            out.append(token)
    return " ".join(out)


def _pick(words, rng) -> str:
    # a third of the places and people are the ambiguous words
    if rng.random() < 1 / 3:
        return AMBIGUOUS[rng.integers(len(AMBIGUOUS))]
    return words[rng.integers(len(words))]


def make_split(n: int, rng) -> list[str]:
    return [make_sentence(TEMPLATES[rng.integers(len(TEMPLATES))], rng) for _ in range(n)]


def vocabulary(sentences: list[str]) -> list[str]:
    words = {token.split("/")[0] for line in sentences for token in line.split()}
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
    # starting word vectors: small random numbers, no knowledge of places built in;
    # training must learn them (the lecture: "word vectors are learned too")
    vectors = rng.normal(0.0, 0.5, (len(vocab), DIM))
    out.mkdir(parents=True, exist_ok=True)
    (out / "window_ner_train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (out / "window_ner_heldout.txt").write_text("\n".join(heldout) + "\n", encoding="utf-8")
    lines = [" ".join([word] + [f"{v:.6f}" for v in row]) for word, row in zip(vocab, vectors)]
    (out / "window_ner_vectors.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
