"""Grading results: plain dataclasses that serialise to JSON and render themselves with rich.

rich is imported only inside the rendering methods, so `--json` never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .reader import line_label

MAX_SHOWN_ROWS, MAX_SHOWN_COLS = 6, 8


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

    def to_json(self) -> dict:
        return {"case": self.case, "worst_index": list(self.worst_index)
                if self.worst_index is not None else None,
                "relative_error": self.relative_error}

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
            grid.add_row(self.expected_label, format_value(self.expected, self.worst_index, "green"))
            grid.add_row("got", format_value(self.got, self.worst_index, "bold red"))
        if self.worst_index is not None and self.worst_index != ():
            grid.add_row("worst", Text(f"index {tuple(self.worst_index)}", style="yellow"))
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

    def to_json(self) -> dict:
        return {"name": self.name, "function": self.function, "kind": self.kind,
                "passed": self.passed, "score": self.score, "max_score": self.max_score,
                "message": self.message, "diagnosis": self.diagnosis, "hint": self.hint,
                "failed_cases": self.failed_cases,
                "evidence": self.evidence.to_json() if self.evidence else None}

    def __rich_console__(self, console, options):
        from rich.padding import Padding
        from rich.table import Table
        from rich.text import Text

        line = Table.grid(expand=True)
        line.add_column(ratio=1)
        line.add_column(justify="right", no_wrap=True)
        mark = Text("  ✓ ", style="green") if self.passed else Text("  ✗ ", style="red")
        mark.append(self.name)
        line.add_row(mark, Text(f"{_points(self.score)}/{_points(self.max_score)}",
                                style="green" if self.passed else "red"))
        yield line
        if self.passed:
            return
        if self.diagnosis == "not-implemented":  # the stub: nothing to show but that
            yield Padding(Text("not implemented yet", style="dim"), (0, 0, 0, 6))
            return
        message = Text(self.message)
        if self.diagnosis:
            message = Text.assemble((f"[{self.diagnosis}] ", "bold yellow"), self.message)
        if self.hint:
            message.append(f"  (see hint {self.hint})", style="cyan")
        yield Padding(message, (0, 0, 0, 6))
        if len(self.failed_cases) > 1:
            yield Padding(Text(f"failed on {len(self.failed_cases)} of {self.total_cases} cases: "
                               + ", ".join(self.failed_cases), style="dim"), (0, 0, 0, 6))
        if self.evidence:
            yield Padding(self.evidence, (0, 0, 0, 6))


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

    @property
    def full_marks(self) -> bool:
        return self.error is None and abs(self.score - self.max_score) < 1e-9

    def to_json(self) -> dict:
        return {"exercise": self.exercise, "slug": self.slug, "title": self.title,
                "score": self.score, "max_score": self.max_score, "error": self.error,
                "file": self.file, "checks": [c.to_json() for c in self.checks],
                "output": self.output, "output_dropped": self.output_dropped,
                "notes": list(self.notes)}


def format_value(value, worst_index=None, worst_style="bold red"):
    """A compact rich Text of an array or scalar with the worst entry highlighted."""
    from rich.text import Text

    if isinstance(value, np.ndarray) and value.ndim in (1, 2) and value.dtype.kind in "biuf":
        return _format_array(value, worst_index, worst_style)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
        return Text(_number(value), style=worst_style)  # a scalar, as the comparison holds it
    if isinstance(value, np.ndarray):
        return Text(f"array of shape {value.shape}, dtype {value.dtype}")
    if isinstance(value, float) or isinstance(value, np.floating):
        return Text(_number(value))
    if isinstance(value, tuple) and all(isinstance(v, np.ndarray) for v in value):
        return Text("(" + ", ".join(f"array {v.shape}" for v in value) + ")")
    text = repr(value)
    return Text(text if len(text) < 300 else text[:300] + " …")


def _format_array(array, worst_index, worst_style):
    from rich.text import Text

    matrix = array.reshape(1, -1) if array.ndim == 1 else array
    rows, cols = matrix.shape
    worst = None
    if worst_index is not None and len(worst_index) == array.ndim:
        worst = (0, worst_index[0]) if array.ndim == 1 else tuple(worst_index)
    row_ids = _window(rows, MAX_SHOWN_ROWS, worst[0] if worst else 0)
    col_ids = _window(cols, MAX_SHOWN_COLS, worst[1] if worst else 0)
    text = Text()
    depth = array.ndim
    for r_pos, r in enumerate(row_ids):
        text.append(("[" * depth) if r_pos == 0 else "\n" + " " * (depth - 1) + ("[" if r is not None else ""))
        if r is None:
            text.append("…")
            continue
        for c_pos, c in enumerate(col_ids):
            if c is None:
                text.append("        …")
                continue
            style = worst_style if worst == (r, c) else ""
            # the leading space keeps entries apart when one fills the width (-2.675e-04)
            text.append(f"{' ' + _number(matrix[r, c]):>9}", style=style)
        text.append("]" * (depth if r_pos == len(row_ids) - 1 else 1))
    if array.size > 1:
        text.append(f"  {array.shape}", style="dim")
    return text


def _window(n, limit, focus):
    if n <= limit:
        return list(range(n))
    half = limit // 2
    start = min(max(focus - half + 1, 0), n - limit + 1)
    ids = list(range(start, start + limit - 1))
    return ([0, None] if start > 0 else []) + ids + ([None, n - 1] if ids[-1] < n - 1 else [])


def _number(x) -> str:
    x = float(x)
    if x == 0 or np.isnan(x) or np.isinf(x):
        return str(x) if x != 0 else "0"
    return f"{x:.4g}" if 1e-3 <= abs(x) < 1e5 else f"{x:.3e}"


def _points(x: float) -> str:
    return f"{x:g}"
