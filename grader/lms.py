"""Gradebooks a learning-management system imports as they are: the `canvas` and `moodle`
class writers of `grader.writers`, and `grade export DIR --format canvas|moodle|csv`.

Both are CSV files (RFC 4180: UTF-8, fields with a comma or a quote in double quotes, CRLF
line ends) with one row per student of the class's roster (`grader.roster`), in its order,
and one column per exercise the batch graded, named as in gradebook.csv (`ex01_softmax`, …):
an exercise a student gave no file for, or a roster student with no submission at all, scores
0 (`grade export` leaves out the exercises nobody submitted, unless `--exercises` names them:
each column the LMS does not know becomes a new assignment). Scores are
plain decimal numbers with a point (`7.5`, at most 4 decimals, never `1e-05`). Every text
cell is written through `safetext.csv_cell`: a name cannot become a spreadsheet formula.
No total: each LMS computes its own.

Canvas — "How do I import grades in the Gradebook?", Canvas Instructor Guide,
https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807
    columns `Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`, then one per
    assignment. Canvas finds each student by ID, SIS User ID, SIS Login ID or name; the
    roster gives `SIS User ID` (its `id`), `SIS Login ID` (`login`), `Section` and
    `Student` (`name`, else the folder's name); `ID`, Canvas's own number of the student,
    stays empty. An assignment column is matched by the name of a Canvas assignment (or by
    "Name (id)"); a column that matches none becomes a new assignment.

Moodle — "Grade import", MoodleDocs, https://docs.moodle.org/en/Grade_import (the CSV import
of the gradebook, `grade/import/csv`)
    at import the teacher maps one column to the user field that identifies each student
    ("Map from" → "Map to": ID number → useridnumber, Email address → useremail, Username →
    username), and each grade column to a grade item (or a new one). Columns `Name`,
    `ID number`, `Email address`, `Username` (the roster's `name`, `id`, `email`, `login`),
    then one per exercise. Moodle matches emails case-sensitively and skips a row whose
    identifying cell is empty: `check` refuses a roster that leaves one empty.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GradewiseError
from .safetext import csv_cell

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Name", "ID number", "Email address", "Username")
#: the roster's column for each of Moodle's identifying columns
MOODLE_IDENTIFIERS = {"ID number": "id", "Email address": "email", "Username": "login"}
DECIMALS = 4
MOODLE_CHOICES = ("`id` (Moodle's ID number), `email` (email address) or `login` "
                  "(username)")


def canvas_csv(results) -> str:
    """The Canvas gradebook import of `results` (a ClassResults; the module's docstring).
    Without a roster, every student graded, named by their folder."""
    return _table(CANVAS_COLUMNS, results, lambda s: [s.name or s.student, "", s.id, s.login,
                                                      s.section])


def moodle_csv(results) -> str:
    """The Moodle CSV grade import of `results` (a ClassResults; the module's docstring).
    Without a roster, every student graded, named by their folder."""
    return _table(MOODLE_COLUMNS, results, lambda s: [s.name or s.student, s.id, s.email,
                                                      s.login])


def number(score: float) -> str:
    """`7.5`, `10`, `0.3333`: a point, no exponent, no trailing zeros, at most DECIMALS."""
    text = f"{score:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _table(columns, results, cells_of) -> str:
    """A header of `columns` and the exercises' stems; per roster student, `cells_of(student)`
    then their scores."""
    from .gradebook import scores
    from .roster import join

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*columns, *[e.stem for e in results.exercises]])
    for student, graded in join(_roster(results), results).rows:
        writer.writerow([*map(csv_cell, cells_of(student)),
                         *map(number, scores(graded, results.exercises))])
    return buffer.getvalue()


def _roster(results):
    """The class's roster, or, without one, a roster of the students graded (their folders'
    names, nothing else)."""
    from .roster import Roster, Student

    if results.roster is not None:
        return results.roster
    return Roster(tuple(Student(graded.student) for _, graded in
                        sorted(results.students.items(), key=lambda item: item[1].student)))


# -- grade export ------------------------------------------------------------------------------

@dataclass
class Export:
    """What `export` made: the text of the file, its rows, and the students to tell the
    instructor about (`student` names)."""

    text: str
    rows: int
    not_submitted: list[str] = field(default_factory=list)
    not_on_roster: list[str] = field(default_factory=list)
    roster: str = ""  #: the roster file used ("" without one)
    on_roster: int = 0  #: rows of roster students (the others: graded, not on the roster)
    exercises: list[int] = field(default_factory=list)  #: the exercises written, by number
    left_out: list[int] = field(default_factory=list)  #: graded, but nobody submitted them


def export(folder: Path, fmt: str, roster: Path | None = None,
           exercises: str | None = None) -> Export:
    """The gradebook of the batch folder `folder` in format `fmt` (`canvas`, `moodle`, or
    `csv`: gradebook.csv's), with the roster `roster` instead of the folder's own when given,
    and a column per exercise of `exercises` (`1,3-5`, among those the batch graded; None:
    for Canvas and Moodle, those the batch graded that someone submitted, as each column
    an LMS does not know becomes a new assignment; for csv, all the batch graded).
    Raises GradewiseError when `folder` is not a batch's output, a roster cannot be read,
    `exercises` names one the batch did not grade, or the LMS could not match every roster
    student (`check`)."""
    from .results import ClassResults
    from .roster import join, read_roster
    from .writers import find

    folder = Path(folder)
    try:
        results = ClassResults.read(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GradewiseError(f"{folder}: not the output folder of `grade batch` ({exc}): give "
                             "the --out folder of a batch") from None
    if roster is not None:
        results.roster = read_roster(roster)
    check(results, fmt)
    graded = [e.number for e in results.exercises]
    results.exercises = _chosen(results, folder, exercises, fmt)
    written = [e.number for e in results.exercises]
    left_out = [n for n in graded if n not in written] if exercises is None else []
    text = find("class", fmt).render(results)
    if results.roster is None:
        return Export(text, len(results.students), exercises=written, left_out=left_out)
    joined = join(results.roster, results)
    return Export(text, len(joined.rows) + (len(joined.extra) if fmt == "csv" else 0),
                  [s.student for s in joined.not_submitted], [n for n, _ in joined.extra],
                  results.roster.source, len(joined.rows), written, left_out)


def _chosen(results, folder: Path, exercises: str | None, fmt: str) -> list:
    """The ExerciseInfos of `results` to write (`export`'s `exercises`)."""
    from .batch import parse_exercises

    if exercises is not None:
        try:
            return parse_exercises(exercises, results.exercises)
        except GradewiseError:
            graded = ", ".join(str(e.number) for e in results.exercises)
            raise GradewiseError(f"--exercises {exercises}: the batch in {folder} graded "
                                 f"exercise(s) {graded}: choose among them, e.g. 1,3-5") \
                from None
    if fmt == "csv":
        return results.exercises
    submitted = {r.exercise for s in results.students.values() for r in s.results
                 if r.submitted}
    return [e for e in results.exercises if e.number in submitted] or results.exercises


def check(results, fmt: str) -> None:
    """Raise GradewiseError when the LMS of `fmt` could not tell who a row is: no roster, or
    (Moodle) no identifying column filled for every roster student, (Canvas) a roster
    student with no id, login or name."""
    if fmt == "csv":
        return
    roster = results.roster
    lms = fmt.capitalize()
    if roster is None:
        raise GradewiseError(
            f"a {lms} gradebook needs to know who each student is: give --roster roster.csv "
            "(to `grade batch` or `grade export`), a CSV with a header such as "
            "student,id,name,email,section (student: the name of their folder in the "
            "submissions)")
    if fmt == "canvas":
        unnamed = [s for s in roster.students if not (s.id or s.login or s.name)]
        if unnamed:
            raise GradewiseError(f"{roster.source}:{unnamed[0].line}: {unnamed[0].student!r} "
                                 "has no id, login or name: Canvas could not find them. Fill "
                                 "in their id (their SIS User ID)")
        return
    gaps = {column: [s for s in roster.students if not getattr(s, column)]
            for column in MOODLE_IDENTIFIERS.values()}
    column, missing = min(gaps.items(), key=lambda item: len(item[1]))
    if not missing:
        return
    said = (f"{roster.source}: Moodle finds each student by one column chosen at import: "
            f"{MOODLE_CHOICES}; it skips a row where that column is empty")
    if len(missing) == len(roster.students):  # no such column, or an empty one
        raise GradewiseError(
            f"{said}, and the roster has none of them filled in. Add a column `id`, `email` "
            f"or `login` to its header, filled in for every student (e.g. "
            f"student,name,id with their ID numbers in Moodle)")
    listed = ", ".join(f"{s.student!r} (line {s.line})" for s in missing[:5])
    raise GradewiseError(
        f"{said}, and none of them is filled in for every student: the fullest, `{column}`, "
        f"is empty for {listed}{', …' if len(missing) > 5 else ''}. Fill in their `{column}`")
