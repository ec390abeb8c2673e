"""Every output gradewise makes from results, by name: the registry of writers.

A writer takes results (`grader.results`) and makes one thing of them: the text of a file,
or, for `terminal`, what a terminal shows (a rich renderable). It works as well on results
read back from JSON (`ClassResults.read`, `StudentResults.from_json`) as on results just
graded, so any output can be made again from a batch's folder.

    scope     takes                                       writers
    exercise  an ExerciseResult or a list of them         terminal, json
    student   StudentResults                              json, markdown, gradescope
    class     ClassResults                                terminal, json, csv, html, canvas,
                                                          moodle

`grade batch` writes, into its output folder, every student and class writer that has a
`path` (`BatchFolder`): as soon as its results are known, or, for a writer `at_end` (the
HTML report: its plots take a second), once every student is graded. A command that
remakes an output from that folder reads it with `ClassResults.read` and calls one writer
(`find`). A new format is a function of the results and one line in WRITERS (with a `path`
if `grade batch` should write it too).

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
from .files import FolderLock, atomic_write, file_stem, remove_partials
from .results import ClassResults, StudentResults
from .values import dumps

SCOPES = ("exercise", "student", "class")
PRIVATE = 0o600  #: grades and feedback are the instructor's to hand out
LOCK_NAME = ".gradewise-batch.lock"  #: in a batch's folder: held by the batch writing it
#: in a student's feedback JSON: what the results were graded from (`grader.batch`)
GRADED_FROM = "graded_from"


@dataclass(frozen=True)
class Writer:
    """`render(results, **options)` → the text of one file (a rich renderable for the
    terminal). `path`: where `grade batch` writes it in its output folder (`{student}`: the
    name of the student's submission, made a safe file name by `files.file_stem`), "" when
    it does not; `at_end`: written when the batch ends, not after each student."""

    name: str
    scope: str
    render: Callable
    path: str = ""
    about: str = ""
    at_end: bool = False


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
    Writer("html", "class", _lazy(".htmlreport", "report_html"), "report.html",
           "the class at a glance: plots, clusters, every student's feedback", at_end=True),
    Writer("canvas", "class", _lazy(".lms", "canvas_csv"),
           about="Canvas's gradebook import: one row per roster student (`grade export`)"),
    Writer("moodle", "class", _lazy(".lms", "moodle_csv"),
           about="Moodle's CSV grade import: one row per roster student (`grade export`)"),
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
    each file written atomically (whole or not at all) as soon as its results are known.

    One batch at a time: opening the folder takes its lock (`files.FolderLock`, the file
    LOCK_NAME), held until `close` or the end of the process, and raises `files.FolderBusy`
    naming the batch that holds it (`holder`, a line of the batch's own). A student's files
    are named after `files.file_stem` of their name (`{student}` in a writer's path); their
    JSON also records what they were graded from (GRADED_FROM: the batch's own record)."""

    def __init__(self, root: Path, holder: str = ""):
        self.root = Path(root)
        self.feedback_dir = self.root / "feedback"
        # readable by the instructor only: without namespaces, student code runs as another
        # user of this machine, and must not read the class's grades or feedback
        self.feedback_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.feedback_dir, 0o700)
        self.lock = FolderLock(self.root / LOCK_NAME, holder or f"process {os.getpid()}")
        remove_partials(self.root)  # left by a batch killed mid-write (not one running now)
        remove_partials(self.feedback_dir)

    def close(self) -> None:
        self.lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def student_path(self, name: str, writer: Writer | None = None) -> Path:
        """Where `writer` (default: the student JSON) writes the files of student `name`."""
        writer = writer or find("student", "json")
        return self.root / writer.path.format(student=file_stem(name))

    def graded(self, name: str) -> tuple[StudentResults, dict] | None:
        """The results in student `name`'s feedback JSON and the record of what they were
        graded from (GRADED_FROM; {} in feedback of an older gradewise); None when there is
        no feedback, or it cannot be read (it is then graded again)."""
        try:
            data = json.loads(self.student_path(name).read_text("utf-8"))
            return StudentResults.from_json(data), dict(data.get(GRADED_FROM) or {})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def others(self, names) -> list[str]:
        """The file names (without .json) of the feedback in the folder of students not
        among `names` (left by a batch of other students)."""
        ours = {file_stem(name) for name in names}
        return sorted(path.stem for path in self.feedback_dir.glob("*.json")
                      if not path.name.startswith(".") and path.stem not in ours)

    def write_student(self, name: str, student: StudentResults, graded_from=None) -> None:
        """Its files, the JSON last: a student with feedback JSON is done (--resume).
        `graded_from`: what the results were graded from, kept in the JSON (GRADED_FROM)."""
        done = find("student", "json")
        for writer in [w for w in batch_writers("student") if w != done]:
            atomic_write(self.student_path(name, writer), writer.render(student), PRIVATE)
        data = student.to_json()
        if graded_from is not None:
            data[GRADED_FROM] = graded_from
        atomic_write(self.student_path(name, done), dumps(data, indent=1), PRIVATE)

    def write_class(self, results: ClassResults, at_end: bool = False) -> None:
        """The class's files; `at_end` (every student graded): those written once too."""
        for writer in batch_writers("class"):
            if at_end or not writer.at_end:
                atomic_write(self.root / writer.path, writer.render(results), PRIVATE)

    def write_roster(self, roster) -> None:
        """Keep a copy of the class's roster (`grader.roster.Roster`), which `ClassResults.read`
        reads back: `grade export` then needs no roster."""
        from .roster import ROSTER_FILE

        atomic_write(self.root / ROSTER_FILE, roster.to_csv(), PRIVATE)
