"""Every output gradewise makes from results, by name: the registry of writers.

A writer takes results (`grader.results`) and makes one thing of them: the text of a file,
or, for `terminal`, what a terminal shows (a rich renderable). It works as well on results
read back from JSON (`ClassResults.read`, `StudentResults.from_json`) as on results just
graded, so any output can be made again from a batch's folder.

    scope     takes                                       writers
    exercise  an ExerciseResult or a list of them         terminal, json
    student   StudentResults                              json, markdown, gradescope
    class     ClassResults                                terminal, json, csv

`grade batch` writes, into its output folder, every student and class writer that has a
`path` (`BatchFolder`); a command that remakes an output from that folder reads it with
`ClassResults.read` and calls one writer (`find`). A new format is a function of the
results and one line in WRITERS (with a `path` if `grade batch` should write it too).

Writers import their module when first called: `grade exercise --json` never pays for rich.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Callable

from .errors import GradewiseError
from .files import atomic_write, remove_partials
from .results import ClassResults, StudentResults
from .values import dumps

SCOPES = ("exercise", "student", "class")
PRIVATE = 0o600  #: grades and feedback are the instructor's to hand out


@dataclass(frozen=True)
class Writer:
    """`render(results, **options)` → the text of one file (a rich renderable for the
    terminal). `path`: where `grade batch` writes it in its output folder (`{student}`: the
    name of the student's submission), "" when it does not."""

    name: str
    scope: str
    render: Callable
    path: str = ""
    about: str = ""


def _lazy(module: str, function: str) -> Callable:
    """`module.function`, imported when first called."""
    def render(results, **options):
        return getattr(import_module(module, __package__), function)(results, **options)

    render.__qualname__ = f"{module.lstrip('.')}.{function}"
    return render


def _student_json(student: StudentResults) -> str:
    return dumps(student.to_json(), indent=1)


WRITERS = [
    Writer("terminal", "exercise", _lazy(".report", "exercises_terminal"),
           about="the report of `grade exercise` (rich)"),
    Writer("json", "exercise", _lazy(".report", "to_json"),
           about="`grade exercise --json`: one object, or a list for several"),
    Writer("json", "student", _student_json, "feedback/{student}.json",
           "the student's results, every check with its evidence"),
    Writer("markdown", "student", _lazy(".feedback", "feedback_markdown"),
           "feedback/{student}.md", "feedback to hand back"),
    Writer("gradescope", "student", _lazy(".gradescope", "results_json"),
           about="Gradescope's results.json: one test per check"),
    Writer("terminal", "class", _lazy(".gradebook", "summary_terminal"),
           about="the class summary of `grade batch` (rich)"),
    Writer("json", "class", _lazy(".gradebook", "summary_json"), "summary.json",
           "per exercise and per check: the class at a glance"),
    Writer("csv", "class", _lazy(".gradebook", "gradebook_csv"), "gradebook.csv",
           "one row per student, one column per exercise, the total"),
]


def find(scope: str, name: str) -> Writer:
    """The writer `name` of `scope`. Raises GradewiseError naming those there are."""
    for writer in WRITERS:
        if writer.scope == scope and writer.name == name:
            return writer
    known = ", ".join(w.name for w in WRITERS if w.scope == scope)
    raise GradewiseError(f"no {scope} format {name!r}: there are {known}")


def batch_writers(scope: str) -> list[Writer]:
    """The writers of `scope` whose output `grade batch` writes."""
    return [w for w in WRITERS if w.scope == scope and w.path]


class BatchFolder:
    """The output folder of `grade batch`: every student and class writer with a `path`,
    each file written atomically (whole or not at all) as soon as its results are known."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.feedback_dir = self.root / "feedback"
        # readable by the instructor only: without namespaces, student code runs as another
        # user of this machine, and must not read the class's grades or feedback
        self.feedback_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.feedback_dir, 0o700)
        remove_partials(self.root)  # left by a batch killed mid-write
        remove_partials(self.feedback_dir)

    def previous(self, names, seed: int, numbers: list[int]) -> dict[str, StudentResults]:
        """The students among `names` already graded with the same exercises and seed, as
        their feedback JSON holds them (for --resume); a damaged file is graded again."""
        found = {}
        for name in names:
            try:
                path = self.root / find("student", "json").path.format(student=name)
                student = StudentResults.from_json(json.loads(path.read_text("utf-8")))
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
            if student.seed == seed and [r.exercise for r in student.results] == numbers:
                found[name] = student
        return found

    def write_student(self, name: str, student: StudentResults) -> None:
        """Its files, the JSON last: a student with feedback JSON is done (--resume)."""
        done = find("student", "json")
        for writer in [w for w in batch_writers("student") if w != done] + [done]:
            atomic_write(self.root / writer.path.format(student=name), writer.render(student),
                         PRIVATE)

    def write_class(self, results: ClassResults) -> None:
        for writer in batch_writers("class"):
            atomic_write(self.root / writer.path, writer.render(results), PRIVATE)
