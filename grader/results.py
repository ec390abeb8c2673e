"""Grading results: plain dataclasses that render themselves with rich and round-trip
through JSON without loss (`to_json`, then `from_json`, gives the same result, evidence
included), so that every writer (`grader.writers`) can work from results read back from a
file as well as from results just graded.

    ExerciseResult    one exercise of one submission: `grade exercise --json`
      CheckResult     one check of it; Evidence: the case that failed, expected vs got
    StudentResults    one student's exercises: `feedback/<student>.json` of a batch
    ClassResults      a class graded by `grade batch`: what its output folder holds
    ExerciseInfo      what a class's writers know of an exercise (its column, its checks)

rich is imported only inside the rendering methods, so `--json` never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import json
from pathlib import Path

import numpy as np

from .reader import line_label
from .values import (KEPT_ENTRIES, ArrayExcerpt, NumberFormat, Shown, decode, describe,
                     difference_text, distinct, encode, excerpt, window)

MAX_SHOWN_ROWS, MAX_SHOWN_COLS = 6, 8
MAX_SHOWN_CHARACTERS = 300  #: of a value shown in words
WORST_MARK = "◂"  #: after the worst entry, in expected and got: seen without colours too
#: of a numeric array too big to keep, the entries kept besides what a report shows of it,
#: so that two such answers can still be told apart (`sample`, `grader.clusters`)
SAMPLED_ENTRIES = 256
#: the tolerance of a check that states none (`CheckInfo`): the `compare` kind's defaults
DEFAULT_RTOL, DEFAULT_ATOL = 1e-7, 1e-9


@dataclass
class Evidence:
    """What a student needs to see a failure: the case, expected vs got, the worst entry."""

    case: str
    note: str = ""
    inputs: list = field(default_factory=list)  #: (name, one-line summary) pairs
    expected: object = None
    got: object = None
    worst_index: tuple | None = None
    relative_error: float | None = None
    expected_label: str = "expected"
    #: (place, function, code) in the student's file; place: see `reader.Submission.place`
    trace: list = field(default_factory=list)
    #: read back: `sample(got)` of a `got` too big to keep (the array itself is not kept)
    got_sample: np.ndarray | None = None

    def sampled_got(self) -> np.ndarray | None:
        """`sample` of `got` (None unless it is a numeric array too big to keep)."""
        return sample(self.got) if isinstance(self.got, np.ndarray) else self.got_sample

    def to_json(self) -> dict:
        """`case`, `worst_index` and `relative_error` (the contract), then the rest; a value
        too big to keep is kept as shown (`kept`), so a report of the result read back is
        the same, and `got` also as `got_sample` (`sample`: only then)."""
        data = {"case": self.case, "worst_index": list(self.worst_index)
                if self.worst_index is not None else None,
                "relative_error": self.relative_error, "note": self.note,
                "inputs": [[name, summary] for name, summary in self.inputs],
                "expected_label": self.expected_label,
                "expected": encode(kept(self.expected, self.worst_index)),
                "got": encode(kept(self.got, self.worst_index)),
                "trace": [list(frame) for frame in self.trace]}
        sampled = self.sampled_got()
        if sampled is not None:
            data["got_sample"] = encode(sampled)
        return data

    def _worst_pair(self):
        """(expected, got) at the worst entry, as numbers, when both are there and differ."""
        pair = []
        for value in (self.expected, self.got):
            if isinstance(value, ArrayExcerpt):
                value = _excerpt_entry(value, self.worst_index)
            elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
                index = tuple(self.worst_index) if self.worst_index is not None else ()
                value = value[index] if len(index) == value.ndim else None
            if not _is_real(value):
                return None
            pair.append(float(value))
        return tuple(pair) if pair[0] != pair[1] else None

    @classmethod
    def from_json(cls, data: dict) -> "Evidence":
        """The evidence `to_json` wrote (keys other than `case` may be missing: older files)."""
        worst = data.get("worst_index")
        sampled = decode(data.get("got_sample"))
        return cls(data["case"], data.get("note", ""),
                   [tuple(pair) for pair in data.get("inputs") or []],
                   decode(data.get("expected")), decode(data.get("got")),
                   tuple(worst) if worst is not None else None, data.get("relative_error"),
                   data.get("expected_label", "expected"),
                   [tuple(frame) for frame in data.get("trace") or []],
                   sampled if isinstance(sampled, np.ndarray) else None)

    def __rich_console__(self, console, options):
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        title = Text(self.case, style="bold")
        if self.note:
            title.append(f" — {self.note}", style="italic")
        grid.add_row("case", title)
        for name, summary in self.inputs:
            grid.add_row(f"  {name}", Text(summary))
        if self.expected is not None or self.got is not None:
            fmt = shared_format(self.expected, self.got, self.worst_index)
            grid.add_row(self.expected_label,
                         format_value(self.expected, self.worst_index, "bold green", fmt))
            grid.add_row("got", format_value(self.got, self.worst_index, "bold red", fmt))
        worst = self._worst_pair()
        if self.worst_index:  # an entry of an array: which, and its two numbers in full
            text = Text(f"index {tuple(self.worst_index)}", style="yellow")
            if worst:
                shown = distinct(*worst)
                text.append(f"; {shown[0]} vs {shown[1]}, {difference_text(*worst)}",
                            style="yellow")
            grid.add_row("worst", text)
        elif worst:  # two numbers, shown just above: how far apart they are
            grid.add_row("", Text(difference_text(*worst), style="yellow"))
        if self.relative_error is not None:
            grid.add_row("rel. error", Text(f"{self.relative_error:.3g}", style="yellow"))
        for place, function, code in self.trace:
            grid.add_row(line_label(place), Text.assemble((f"in {function}: ", "dim"),
                                                          (code.strip(), "bold")))
        yield grid


@dataclass
class CheckResult:
    name: str
    function: str
    kind: str
    passed: bool
    score: float
    max_score: float
    message: str = ""
    diagnosis: str | None = None
    hint: int | None = None
    evidence: Evidence | None = None
    failed_cases: list = field(default_factory=list)
    total_cases: int = 0
    #: the diagnosis is a catalogued mistake under a generic transform (used while grading
    #: only, not written: see `grader.diagnose.blame_callees`)
    composed: bool = field(default=False, compare=False, repr=False)

    def to_json(self) -> dict:
        return {"name": self.name, "function": self.function, "kind": self.kind,
                "passed": bool(self.passed), "score": float(self.score),
                "max_score": float(self.max_score), "message": self.message,
                "diagnosis": self.diagnosis, "hint": self.hint,
                "failed_cases": list(self.failed_cases),
                "evidence": self.evidence.to_json() if self.evidence else None,
                "total_cases": self.total_cases}

    @classmethod
    def from_json(cls, data: dict) -> "CheckResult":
        evidence = data.get("evidence")
        return cls(data["name"], data["function"], data["kind"], data["passed"], data["score"],
                   data["max_score"], data.get("message", ""), data.get("diagnosis"),
                   data.get("hint"), Evidence.from_json(evidence) if evidence else None,
                   list(data.get("failed_cases") or []), data.get("total_cases", 0))

    def __rich_console__(self, console, options):
        yield CheckGroup([self])

    def header(self):
        """The check's line: ✓ or ✗, its name, its points."""
        from rich.table import Table
        from rich.text import Text

        line = Table.grid(expand=True)
        line.add_column(ratio=1)
        line.add_column(justify="right", no_wrap=True)
        mark = Text("  ✓ ", style="green") if self.passed else Text("  ✗ ", style="red")
        mark.append(self.name)
        line.add_row(mark, Text(f"{_points(self.score)}/{_points(self.max_score)}",
                                style="green" if self.passed else "red"))
        return line


class CheckGroup:
    """Checks shown as one paragraph: the failing checks of one function with the same
    diagnosis (`grouped`), each on its line, then the diagnosis, the cases and the evidence
    once (the first check's). `same_as`: the function whose paragraph above shows the same
    numbers, so the evidence is not repeated."""

    def __init__(self, checks: list[CheckResult], same_as: str | None = None):
        self.checks, self.same_as = checks, same_as

    def __rich_console__(self, console, options):
        from rich.padding import Padding
        from rich.text import Text

        for check in self.checks:
            yield check.header()
        first = self.checks[0]
        if first.passed:
            return
        if first.diagnosis == "not-implemented":  # the stub: nothing to show but that
            yield Padding(Text("not implemented yet", style="dim"), (0, 0, 0, 6))
            return
        message = Text(first.message)
        if first.diagnosis:
            message = Text.assemble((f"[{first.diagnosis}] ", "bold yellow"), first.message)
        if self.same_as:
            message.append(f" (the same numbers as `{self.same_as}` above)", style="dim")
        if first.hint:
            message.append(f"  (see hint {first.hint})", style="cyan")
        yield Padding(message, (0, 0, 0, 6))
        cases = failed_cases_text(self.checks)
        if cases:
            yield Padding(Text(cases, style="dim"), (0, 0, 0, 6))
        if first.evidence and not self.same_as:
            yield Padding(first.evidence, (0, 0, 0, 6))


def grouped(checks: list[CheckResult]) -> list[list[CheckResult]]:
    """The checks in their order, the failing checks of one function that share a diagnosis
    gathered at the place of the first: what a report shows as one paragraph."""
    groups: list[list[CheckResult]] = []
    by_key: dict = {}
    for check in checks:
        key = (check.function, check.diagnosis)
        if check.passed or check.diagnosis is None:
            groups.append([check])
        elif key in by_key:
            by_key[key].append(check)
        else:
            by_key[key] = [check]
            groups.append(by_key[key])
    return groups


def failed_cases_text(checks: list[CheckResult]) -> str:
    """"failed on 2 of 3 cases: a, b" for one check; for several, the cases named once."""
    if len(checks) == 1:
        check = checks[0]
        if len(check.failed_cases) > 1:
            return (f"failed on {len(check.failed_cases)} of {check.total_cases} cases: "
                    + ", ".join(check.failed_cases))
        return ""
    names = list(dict.fromkeys(name for c in checks for name in c.failed_cases))
    every = all(len(c.failed_cases) == c.total_cases for c in checks)
    if not names:
        return ""
    scope = "every case of these checks" if every else "these cases"
    return f"failed on {scope}: " + ", ".join(names)


def same_evidence(a: Evidence | None, b: Evidence | None) -> bool:
    """Whether two checks show the same case with the same expected and got values."""
    if a is None or b is None or a.case != b.case:
        return False
    return _same_value(a.expected, b.expected) and _same_value(a.got, b.got)


def _same_value(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and \
            a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    try:
        return bool(a == b) and a is not None
    except Exception:  # a comparison that does not give one bool
        return False


@dataclass
class ExerciseResult:
    exercise: int
    slug: str
    title: str
    score: float
    max_score: float
    error: str | None = None
    checks: list[CheckResult] = field(default_factory=list)
    file: str = ""
    output: str = ""
    output_dropped: int = 0
    error_lines: list = field(default_factory=list)  #: (place, text) of the student's file
    #: what the student should know beyond the checks, one sentence each: what was not run
    #: while grading (a magic, a cell that does not parse), a function defined twice, ...
    notes: list[str] = field(default_factory=list)
    submitted: bool = True  #: False: no file of the student's was graded for it

    @property
    def defines_none(self) -> bool:
        """No function of the exercise is in the file (an empty or wrong file): a report
        says so in one line rather than once per check."""
        return bool(self.checks) and all(c.diagnosis == "missing-function" for c in self.checks)

    @property
    def full_marks(self) -> bool:
        return self.error is None and abs(self.score - self.max_score) < 1e-9

    def to_json(self) -> dict:
        return {"exercise": self.exercise, "slug": self.slug, "title": self.title,
                "score": float(self.score), "max_score": float(self.max_score),
                "error": self.error, "file": self.file,
                "checks": [c.to_json() for c in self.checks],
                "output": self.output, "output_dropped": self.output_dropped,
                "notes": list(self.notes),
                "error_lines": [list(line) for line in self.error_lines],
                "submitted": self.submitted}

    @classmethod
    def from_json(cls, data: dict) -> "ExerciseResult":
        """The result `to_json` wrote (keys after `checks` may be missing: older files)."""
        return cls(data["exercise"], data["slug"], data["title"], data["score"],
                   data["max_score"], data.get("error"),
                   [CheckResult.from_json(c) for c in data["checks"]], data.get("file", ""),
                   data.get("output", ""), data.get("output_dropped", 0),
                   [tuple(line) for line in data.get("error_lines") or []],
                   list(data.get("notes") or []), data.get("submitted", True))


@dataclass
class StudentResults:
    """One student's results, as `grade batch` writes them to `feedback/<student>.json`.

    `student`: the name as shown (made safe to print: `safetext.visible`); `seed`: of the
    cases; `isolation`: what the sandbox enforced, in words; `seconds`: wall time of the
    grading (None when it did not finish); `exposed`: folders the student's code could
    still read. For Gradescope: `unmatched`, the files of the submission that matched no
    exercise ({"path", "reason"}), and `hidden`, the results on cases drawn with the hidden
    seed of the checks whose cases change with the seed (None: no hidden pass)."""

    student: str
    seed: int
    results: list[ExerciseResult] = field(default_factory=list)
    isolation: str = ""
    seconds: float | None = None
    exposed: list[str] = field(default_factory=list)
    unmatched: list[dict] = field(default_factory=list)
    hidden: list[ExerciseResult] | None = None

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)

    def to_json(self) -> dict:
        data = {"student": self.student, "seed": self.seed, "score": float(self.score),
                "max_score": float(self.max_score), "isolation": self.isolation,
                "results": [r.to_json() for r in self.results], "seconds": self.seconds,
                "exposed": list(self.exposed)}
        if self.unmatched:
            data["unmatched"] = list(self.unmatched)
        if self.hidden is not None:
            data["hidden"] = [r.to_json() for r in self.hidden]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "StudentResults":
        hidden = data.get("hidden")
        return cls(data["student"], data["seed"],
                   [ExerciseResult.from_json(r) for r in data["results"]],
                   data.get("isolation", ""), data.get("seconds"),
                   list(data.get("exposed") or []), list(data.get("unmatched") or []),
                   [ExerciseResult.from_json(r) for r in hidden] if hidden is not None else None)


@dataclass(frozen=True)
class CheckInfo:
    """A check as a class's writers know it. `rtol`, `atol`: how far two values may differ
    and count as the same for this check (its own tolerance; a gradient check's relative
    `threshold` as `rtol`): two students' answers within it are the same answer
    (`grader.clusters`)."""

    name: str
    function: str
    points: float
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    @classmethod
    def of(cls, check) -> "CheckInfo":
        """From a `spec.Check`."""
        options = check.options
        # a gradient check's threshold bounds |a − b| / (|a| + |b|): a relative tolerance
        rtol = options.get("threshold") if check.kind == "gradcheck" else options.get("rtol")
        return cls(check.name, check.function, check.points,
                   float(rtol if rtol is not None else DEFAULT_RTOL),
                   float(options.get("atol", DEFAULT_ATOL)))


@dataclass(frozen=True)
class ExerciseInfo:
    """What a class's writers know of an exercise: its gradebook column and its checks."""

    number: int
    slug: str
    title: str
    points: float
    checks: tuple[CheckInfo, ...] = ()

    @property
    def stem(self) -> str:
        return f"ex{self.number:02d}_{self.slug}"

    @classmethod
    def of(cls, spec) -> "ExerciseInfo":
        """From a `spec.Spec`."""
        return cls(spec.number, spec.slug, spec.title, spec.points,
                   tuple(CheckInfo.of(c) for c in spec.checks))


@dataclass
class ClassResults:
    """A class graded by `grade batch`, as its output folder holds it (`read`).

    `exercises`: those graded, in order; `students`: their results by the name of their
    submission (a folder or file of SUBS), or, read back (`named_by_file`), by the name of
    their files in `feedback/` (`file_name` gives the latter in both cases); `submissions`:
    how many students were found, graded or not (yet); `unmatched`: the files that matched
    no exercise, {"path", "reason"} relative to SUBS; `roster`: who the students are
    (`grader.roster.Roster`, kept in the folder as `roster.ROSTER_FILE`), None without one."""

    exercises: list[ExerciseInfo]
    seed: int
    students: dict[str, StudentResults] = field(default_factory=dict)
    submissions: int = 0
    unmatched: list[dict] = field(default_factory=list)
    roster: object = None
    named_by_file: bool = False  #: `students` is keyed by their feedback files' names

    def file_name(self, key: str) -> str:
        """The name of the feedback files (without suffix) of the student `key` of
        `students`: `files.file_stem` of their name, the same whether the class was just
        graded or read back (a stem is never made again: it would change)."""
        from .files import file_stem

        return key if self.named_by_file else file_stem(key)

    @classmethod
    def read(cls, folder: Path) -> "ClassResults":
        """The class in a batch's output folder: `summary.json`, `feedback/*.json` and the
        roster, if the batch had one. Raises OSError or ValueError when they cannot be read,
        GradewiseError for a damaged roster."""
        from .roster import ROSTER_FILE, read_roster

        folder = Path(folder)
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        exercises = [ExerciseInfo(e["exercise"], e["slug"], e["title"], e["max_score"],
                                  tuple(CheckInfo(c["name"], c["function"], c["max_score"],
                                                  c.get("rtol", DEFAULT_RTOL),
                                                  c.get("atol", DEFAULT_ATOL))
                                        for c in e["checks"]))
                     for e in summary["exercises"]]
        students = {path.stem: StudentResults.from_json(json.loads(path.read_text("utf-8")))
                    for path in sorted((folder / "feedback").glob("*.json"))
                    if not path.name.startswith(".")}
        roster = read_roster(folder / ROSTER_FILE) if (folder / ROSTER_FILE).exists() else None
        return cls(exercises, summary["seed"], students, summary["students"],
                   summary["unmatched"], roster, named_by_file=True)


def kept(value, worst_index=None):
    """`value` as a result's JSON keeps it: itself, or, beyond KEPT_ENTRIES entries, what
    `format_value` shows of it (an excerpt of a 1-D or 2-D array around the worst entry, or
    the text)."""
    if _entries(value) <= KEPT_ENTRIES:
        return value
    if _is_table(value):
        rows, cols, _ = _positions(value.shape, worst_index)
        return excerpt(value, rows, cols)
    return Shown(value_text(value))


def sample(value) -> np.ndarray | None:
    """Of a numeric array too big to keep (beyond KEPT_ENTRIES entries), SAMPLED_ENTRIES
    entries at evenly spaced places of it (flattened), as float64: with its shape and the
    entries a report shows, what tells two such values apart once read back. None for any
    other value (a value kept whole needs none)."""
    if not (isinstance(value, np.ndarray) and value.dtype.kind in "biuf"
            and value.size > KEPT_ENTRIES):
        return None
    places = np.linspace(0, value.size - 1, SAMPLED_ENTRIES).round().astype(np.int64)
    return value.reshape(-1)[places].astype(np.float64)


def format_value(value, worst_index=None, worst_style="bold red", fmt=None):
    """A compact rich Text of an array or scalar with the worst entry highlighted; `fmt`: a
    `values.NumberFormat` shared with the value shown beside it (default: its own)."""
    from rich.text import Text

    if _is_table(value) or isinstance(value, ArrayExcerpt) and value.ndim in (1, 2):
        return _format_array(value, worst_index, worst_style, fmt or shared_format(value))
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf" or \
            isinstance(value, (float, np.floating)):
        # a scalar, as the comparison holds it
        return Text((fmt or shared_format(value))(value).strip(), style=worst_style)
    return Text(value_text(value))


def shared_format(expected, got=None, worst_index=None) -> NumberFormat:
    """One `NumberFormat` for the numbers of `expected` and `got` as shown, with the digits
    that tell their worst entries apart."""
    shown = [v for v in (_shown_numbers(v, worst_index) for v in (expected, got))
             if v is not None]
    pair = Evidence("", expected=expected, got=got, worst_index=worst_index)._worst_pair()
    return NumberFormat.of(*shown, worst=[pair] if pair else [])


def _shown_numbers(value, worst_index):
    """The numbers of `value` that `format_value` shows, as a float array, or None."""
    if isinstance(value, ArrayExcerpt):
        return value.values.astype(np.float64)
    if _is_table(value):
        rows, cols, _ = _positions(value.shape, worst_index)
        return excerpt(value, rows, cols).values.astype(np.float64)
    if _is_real(value) or isinstance(value, np.ndarray) and value.ndim == 0 and \
            value.dtype.kind in "biuf":
        return np.asarray([float(value)])
    return None


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and \
        not isinstance(value, (bool, np.bool_))


def _excerpt_entry(array: ArrayExcerpt, worst_index):
    if worst_index is None or len(worst_index) != array.ndim:
        return None
    r, c = (0, worst_index[0]) if array.ndim == 1 else tuple(worst_index)
    if r not in array.rows or c not in array.cols:
        return None
    rows = [x for x in array.rows if x is not None]
    cols = [x for x in array.cols if x is not None]
    return array.values[rows.index(r), cols.index(c)]


def value_text(value) -> str:
    """What `format_value` shows of a value that is not a table of numbers, as plain text."""
    if isinstance(value, (np.ndarray, ArrayExcerpt)):
        return f"array of shape {value.shape}, dtype {np.dtype(value.dtype)}"
    if isinstance(value, (float, np.floating)):
        return _number(value)
    if isinstance(value, tuple) and all(isinstance(v, np.ndarray) for v in value):
        return "(" + ", ".join(f"array {v.shape}" for v in value) + ")"
    text = describe(value)
    return text if len(text) < MAX_SHOWN_CHARACTERS else text[:MAX_SHOWN_CHARACTERS] + " …"


def _is_table(value) -> bool:
    return isinstance(value, np.ndarray) and value.ndim in (1, 2) and value.dtype.kind in "biuf"


def _entries(value, depth: int = 0) -> int:
    """Numbers and items in `value` (what keeping it costs), counted up to past the bound."""
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, str):
        return 1 + len(value) // 16
    if isinstance(value, (list, tuple, dict)) and depth < 40:
        items = value.values() if isinstance(value, dict) else value
        total = len(value)
        for item in items:
            total += _entries(item, depth + 1)
            if total > KEPT_ENTRIES:
                break
        return total
    return 1


def _positions(shape, worst_index):
    """The rows and columns of the array (a 1-D one seen as one row) that are shown, and
    the position of the worst entry in that view (None when there is none)."""
    rows, cols = (1, shape[0]) if len(shape) == 1 else shape
    worst = None
    if worst_index is not None and len(worst_index) == len(shape):
        worst = (0, worst_index[0]) if len(shape) == 1 else tuple(worst_index)
    return (window(rows, MAX_SHOWN_ROWS, worst[0] if worst else 0),
            window(cols, MAX_SHOWN_COLS, worst[1] if worst else 0), worst)


def _format_array(array, worst_index, worst_style, fmt: NumberFormat):
    from rich.text import Text

    row_ids, col_ids, worst = _positions(array.shape, worst_index)
    if isinstance(array, ArrayExcerpt):  # the entries kept are those shown
        row_ids, col_ids = array.rows, array.cols
        at_row = {r: i for i, r in enumerate(r for r in row_ids if r is not None)}
        at_col = {c: i for i, c in enumerate(c for c in col_ids if c is not None)}
        entry = lambda r, c: array.values[at_row[r], at_col[c]]  # noqa: E731
    else:
        matrix = array.reshape(1, -1) if array.ndim == 1 else array
        entry = lambda r, c: matrix[r, c]  # noqa: E731
    text = Text()
    depth = array.ndim
    for r_pos, r in enumerate(row_ids):
        text.append(("[" * depth) if r_pos == 0 else "\n" + " " * (depth - 1) + ("[" if r is not None else ""))
        if r is None:
            text.append("…")
            continue
        marked = False  # the worst entry is marked after it, in the next separator's place
        for c in col_ids:
            text.append(WORST_MARK if marked else " ", style=worst_style if marked else "")
            marked = worst == (r, c)
            if c is None:
                text.append("…".rjust(fmt.width))
                continue
            text.append(fmt(entry(r, c)).rjust(fmt.width), style=worst_style if marked else "")
        if marked:
            text.append(WORST_MARK, style=worst_style)
        text.append("]" * (depth if r_pos == len(row_ids) - 1 else 1))
    if array.size > 1:
        text.append(f"  {tuple(array.shape)}", style="dim")
    return text


def _number(x) -> str:
    x = float(x)
    if x == 0 or np.isnan(x) or np.isinf(x):
        return str(x) if x != 0 else "0"
    return f"{x:.4g}" if 1e-3 <= abs(x) < 1e5 else f"{x:.3e}"


def _points(x: float) -> str:
    return f"{x:g}"
