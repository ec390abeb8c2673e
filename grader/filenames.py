"""Which exercise a submitted file's name means, and how close it is to the name asked for.

The course asks for `exNN_slug.py` or `.ipynb`. What arrives has been through Colab, Google
Drive, a browser, Windows, macOS, Canvas or Moodle:

    Copy of ex01_softmax.ipynb          Colab / Drive "Make a copy" (also "Copy of Copy of …",
                                        and Drive's translations: "Kopie von", "Copie de", …)
    ex01_softmax (1).py                 a browser's or Drive's second download
    ex01_softmax - Copy.py              Windows Explorer's copy (" - Copy (2)")
    ex01_softmax copy.py, … 2.py        macOS Finder's duplicate
    ex01_softmax-1.py                   Canvas: a file uploaded again
    smithjo_1234_5678_ex01_softmax.py   Canvas / Moodle / Blackboard: a prefix per student
    EX01_Softmax.PY, ex1 softmax.py,
    ex01-softmax.ipynb, Exercise 1.py   case, spaces, dashes, no leading zero, the full word

The exercise is the number after `ex` or `exercise` when that word starts a word of its
own (`index1.py` and `latex2.py` are not exercises) and the whole number is read (`ex10` is
exercise 10, never 1; `ex011` is 11). A name that mentions two different exercises matches
neither. Then each name gets a tier, best first:

    0  the exact name asked for (case aside): ex01_softmax.py
    1  the same words written differently: EX01-Softmax, ex1 softmax, exercise_1_softmax
    2  the same with copy or download marks around it: Copy of …, … (1), prefix_…, …-1
       (any prefix counts as one mark, or as many "Copy of"s as it holds)
    3  any other name with the number: ex01.py, ex1-softmax-final.py, Exercise 1.ipynb
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = re.compile(r"(?<![a-z0-9])ex(?:ercise)?[\s_.\-]*0*(\d+)(?!\d)", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s_.\-]+")
_COPY_OF = re.compile(r"(copy of|kopie von|copie de|copia de|cópia de)\s", re.IGNORECASE)
# marks added around a name by copying or downloading it, stripped from its end
_TRAILING_MARKS = re.compile(
    r"(\s*\(\d+\)"  # "ex01_softmax (1)", "ex01_softmax(2)"
    r"|\s*-\s*copy(\s*\(\d+\))?"  # Windows: "ex01_softmax - Copy", "… - Copy (2)"
    r"|\s+copy(\s+\d+)?"  # macOS: "ex01_softmax copy", "… copy 2"
    r"|\s+\d+"  # macOS: "ex01_softmax 2"
    r"|-\d+)$",  # Canvas: "ex01_softmax-1"
    re.IGNORECASE)

TIERS = ("the exact name", "the exercise's name written differently",
         "the exercise's name with copy or download marks", "another name with the number")


@dataclass(frozen=True)
class NameMatch:
    """`number`: the exercise; `tier`: 0 (exact) … 3 (see the module's docstring); `marks`:
    how many copy/download marks the name carries (fewer is closer)."""

    number: int
    tier: int
    marks: int = 0


def exercise_numbers(stem: str) -> set[int]:
    """The exercise numbers a file name (without its suffix) mentions."""
    return {int(m[1]) for m in _NUMBER.finditer(stem)}


def match_name(stem: str, stems: dict[int, str]) -> NameMatch | None:
    """What `stem` (a file name without .py/.ipynb) means, given the stem asked for by each
    exercise number (`{1: "ex01_softmax", …}`); None if it names no single exercise."""
    numbers = exercise_numbers(stem)
    if len(numbers) != 1:
        return None
    number = numbers.pop()
    wanted = stems.get(number)
    if wanted is None:
        return NameMatch(number, 3)
    if stem.lower() == wanted.lower():
        return NameMatch(number, 0)
    if _words(stem) == _words(wanted):
        return NameMatch(number, 1)
    found = _NUMBER.search(stem)
    prefix, core = stem[:found.start()], stem[found.start():]
    marks = max(len(_COPY_OF.findall(prefix)), 1) if prefix.strip() else 0
    while (mark := _TRAILING_MARKS.search(core)) and mark.start() > 0:
        core, marks = core[:mark.start()], marks + 1
    if _words(core) == _words(wanted):
        return NameMatch(number, 2, marks)
    return NameMatch(number, 3)


def _words(stem: str) -> str:
    """`EX01-Softmax` → `ex1_softmax`: case, separators, zeros and `exercise` aside."""
    text = _NUMBER.sub(lambda m: f" ex{int(m[1])} ", stem.lower())
    return _SEPARATORS.sub("_", text).strip("_")
