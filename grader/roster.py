"""The class roster: who each student of a batch is, for the gradebooks an LMS imports.

    roster.csv    a header line, then one line per student; columns (any order, any case):
      student     required: the name of the student's folder or file in SUBS (`ada` for
                  SUBS/ada/ or SUBS/ada.ipynb), as `grade batch` names them
      id          the institution's student id (Canvas: SIS User ID; Moodle: ID number)
      name        the student's name as the LMS shows it ("Lovelace, Ada")
      email       their email address (Moodle can match students by it)
      section     their section (Canvas's Section column)
      login       their login (Canvas: SIS Login ID; Moodle: username)

Read the way a spreadsheet writes it: UTF-8 with or without a byte-order mark (Excel's "CSV
UTF-8"), commas (or semicolons or tabs, as some locales save), blank lines and lines of
empty cells skipped, spaces around a cell ignored, columns gradewise does not know ignored.
What would make a student's grade go to someone else is refused, with the file, the line and
what to do (`read_roster`): no `student` column, a student, id, email or login given twice,
a line with more cells than the header (an unquoted comma in a name), a quote never closed.

A batch keeps a copy of its roster (ROSTER_FILE in its folder, `Roster.to_csv`) so that
`grade export DIR` needs no roster again; `join` pairs the roster with a class's results.
"""

from __future__ import annotations

import csv
import difflib
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import GradewiseError

ROSTER_FILE = "roster.csv"  #: the batch folder's copy of its roster
COLUMNS = ("student", "id", "name", "email", "section", "login")
#: other headers a spreadsheet or an LMS export may use for the same columns
ALIASES = {"folder": "student", "student_id": "id", "sis_user_id": "id", "id_number": "id",
           "full_name": "name", "e_mail": "email", "email_address": "email",
           "username": "login", "login_id": "login", "sis_login_id": "login"}
UNIQUE = ("student", "id", "email", "login")  #: two students never share one of these
MAX_BYTES = 16 * 1024 * 1024  #: a roster of 100,000 students is far below it
EXAMPLE = "student,id,name,email,section"


@dataclass(frozen=True)
class Student:
    """One line of a roster (`line`: its line in the file, 1 for the header). Every field but
    `student` may be ""."""

    student: str
    id: str = ""
    name: str = ""
    email: str = ""
    section: str = ""
    login: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        """`student` as it is compared with a submission's name."""
        return _key(self.student)


@dataclass(frozen=True)
class Roster:
    """The students of a roster, in its order; `source`: the file it was read from."""

    students: tuple[Student, ...]
    source: str = ""

    def to_csv(self) -> str:
        """The roster as a CSV of COLUMNS (what `read_roster` reads back the same)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for student in self.students:
            writer.writerow([getattr(student, column) for column in COLUMNS])
        return buffer.getvalue()


@dataclass(frozen=True)
class Joined:
    """A roster paired with a class's results (`join`).

    `rows`: per roster student, in the roster's order, (Student, StudentResults or None when
    nothing of theirs was graded); `extra`: (name, StudentResults) of the students graded
    but not on the roster, by name."""

    rows: list
    extra: list

    @property
    def not_submitted(self) -> list[Student]:
        return [student for student, results in self.rows if results is None]


def join(roster: Roster, results) -> Joined:
    """Pair `roster` with `results` (a `results.ClassResults`): a roster student is the
    student whose submission has their `student` name (compared in Unicode's composed form,
    NFC, as macOS may store a folder's name decomposed), or whose feedback files have that
    name (`files.file_stem`, as `ClassResults.read` names them)."""
    by_name = {}
    for key, graded in results.students.items():
        for name in (graded.student, key):
            by_name.setdefault(_key(name), key)
    rows, taken = [], set()
    for student in roster.students:
        key = by_name.get(student.key)
        if key is not None:
            taken.add(key)
        rows.append((student, results.students[key] if key is not None else None))
    extra = sorted(((graded.student, graded) for key, graded in results.students.items()
                    if key not in taken), key=lambda pair: pair[0])
    return Joined(rows, extra)


def read_roster(path: Path) -> Roster:
    """The roster in the CSV file `path` (the module's docstring). Raises GradewiseError
    naming the file, the line and what to do."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise GradewiseError(f"{path}: no such file (the roster: a CSV file with a header "
                             f"line such as {EXAMPLE}, then one line per student)") from None
    except OSError as exc:
        raise GradewiseError(f"{path}: cannot read it ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise GradewiseError(f"{path}: larger than {MAX_BYTES // 2**20} MB: is it the roster?")
    lines = list(_rows(path, _text(path, data)))
    if not lines:
        raise GradewiseError(f"{path}: empty: a roster has a header line such as {EXAMPLE}, "
                             "then one line per student")
    header_line, header = lines[0]
    columns = _columns(path, header_line, header)
    students, seen = [], {}
    for line, cells in lines[1:]:
        if len(cells) > len(header):
            raise GradewiseError(
                f"{path}:{line}: {len(cells)} cells where the header has {len(header)}: a "
                f"cell holding a comma must be in double quotes (\"Lovelace, Ada\")")
        values = {column: cells[i] if i < len(cells) else "" for column, i in columns.items()}
        student = Student(**values, line=line)
        if not student.student:
            raise GradewiseError(f"{path}:{line}: no student: the `student` column holds the "
                                 "name of the student's folder or file in the submissions")
        for column in UNIQUE:
            value = getattr(student, column)
            same = _key(value).casefold() if column == "email" else _key(value)
            other = seen.get((column, same)) if value else None
            if other is not None and column == "student":
                raise GradewiseError(f"{path}:{line}: student {value!r} is on line "
                                     f"{other.line} too: keep one line per student")
            if other is not None:
                raise GradewiseError(
                    f"{path}:{line}: {column} {value!r} is {other.student}'s too (line "
                    f"{other.line}): two students cannot share one; correct one of the lines")
            seen[(column, same)] = student
        students.append(student)
    return Roster(tuple(students), str(path))


def _text(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise GradewiseError(f"{path}: UTF-16 text (Excel's \"Unicode Text\"): save it as "
                             "\"CSV UTF-8\" instead")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise GradewiseError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}): "
                             "save the roster as \"CSV UTF-8\" (Excel: File › Save As)") from None


def _rows(path: Path, text: str):
    """(line number, stripped cells) of each line that is not empty or only empty cells."""
    first = next((line for line in text.splitlines() if line.strip()), "")  # the header
    delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            if any("\n" in cell or "\r" in cell for cell in cells):
                raise GradewiseError(f"{path}:{line}: a double quote opened on this line is "
                                     "never closed: close it, or remove it")
            cells = [cell.strip() for cell in cells]
            if any(cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise GradewiseError(f"{path}:{reader.line_num}: {exc}") from None


def _columns(path: Path, line: int, header: list[str]) -> dict:
    """Column → its index in `header`. Raises GradewiseError for a column given twice, a
    missing `student` column, or an unknown column that looks like a known one missing."""
    found, unknown = {}, []
    for i, cell in enumerate(header):
        name = "_".join(cell.lower().replace("-", " ").split())
        column = ALIASES.get(name, name)
        if column not in COLUMNS:
            unknown.append(cell)
        elif column in found:
            raise GradewiseError(f"{path}:{line}: two columns hold {column!r} "
                                 f"({header[found[column]]!r} and {cell!r}): keep one")
        else:
            found[column] = i
    missing = [column for column in COLUMNS if column not in found]
    for cell in unknown:  # a misspelt column would be ignored, and its values lost
        close = difflib.get_close_matches(cell.lower(), missing, n=1, cutoff=0.75)
        if close:
            raise GradewiseError(f"{path}:{line}: unknown column {cell!r}: did you mean "
                                 f"{close[0]!r}? (columns: {', '.join(COLUMNS)})")
    if "student" not in found:
        raise GradewiseError(
            f"{path}:{line}: no `student` column (the name of each student's folder or file "
            f"in the submissions); the header has {', '.join(map(repr, header))}. Start the "
            f"file with a header such as {EXAMPLE}")
    return found


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name.strip())

