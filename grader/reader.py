"""The one reader: any submission (a `.py` file, a Jupyter notebook, a kernel's input history
for `check(N)`) becomes the `Submission` that is graded, the same way for `grade exercise`,
`check(N)`, `grade batch`, `grade watch` and Gradescope.

- A `.py` file is a Python module: the whole file runs. It is decoded as Python decodes
  source (PEP 263 and 3120, `tokenize.detect_encoding`: a UTF-8 byte-order mark, else a
  coding declaration on the first two lines, else UTF-8).
- A notebook, or a kernel's history, means what IPython runs, and only its definitions are
  graded (`grader.cells`): scratch work never costs a function its points, and a saved
  notebook gets the score `check(N)` gives in the kernel that ran it.

Lines of the graded code map back to where the student wrote them: `Submission.label(n)`
is "line n" for a `.py`, "cell k, line j" for a notebook (cells counted from 1 over all
cells, Markdown too, as Jupyter shows them) and "In [k], line j" for a kernel's history.

Opening never blocks: only regular files are read (O_NONBLOCK, then fstat). IPython is
imported only when a notebook or a history is read; nbformat only for a notebook older than
format 4 (the JSON is read as UTF-8, a byte-order mark tolerated). Bounds (the input is
hostile): a `.py`, and the code cells of a notebook, MAX_CODE_BYTES; a notebook file
MAX_NOTEBOOK_BYTES (outputs count there only); at most MAX_JSON_ITEMS JSON values, counted
(the `,`, `[` and `{` bytes) before parsing; at most MAX_CELLS cells (`grader.cells` bounds
the rest). Peak memory of reading a notebook (Python 3.11, maximum resident size added): a
7.6 MB notebook of plots, 15 MB in 0.04 s; 64 MB of base64 plot, 130 MB; the worst found
within the bounds, 64 MB in one string holding one emoji (Python then stores the text, and
the string, with 4 bytes a character), about 500 MB in 0.7 s; 2 million short strings,
230 MB.
"""

from __future__ import annotations

import ast
import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from .errors import GradewiseError

MAX_CODE_BYTES = 5 * 2 ** 20  #: a .py file, or the code cells of a notebook (bytes of UTF-8)
MAX_NOTEBOOK_BYTES = 64 * 2 ** 20  #: a notebook file, outputs (plots) included
MAX_JSON_ITEMS = 2_000_000  #: `,` `[` `{` bytes in a notebook: a bound on its JSON values
MAX_CELLS = 20_000  #: cells of a notebook or inputs of a kernel's history
MAX_PARSE_CHARS = 256 * 2 ** 10  #: longest code the grader's own process parses (≈150 MB)

class Definition(NamedTuple):  # a NamedTuple: made in a tenth of a dataclass's time
    """A top-level `def` of the graded code."""

    name: str
    line: int  #: its line in the graded code (the `def` line, after any decorator)
    stub: bool  #: its body only raises NotImplementedError (or is `pass` / `...`)


@dataclass(frozen=True)
class Submission:
    """What is graded. `code`: the Python sent to the sandbox (str); `filename`: the name it is
    compiled under (tracebacks); `kind`: "py" | "notebook" | "history"; `places`: for a
    notebook or history, (unit, line) per line of `code` ("cell 4", 2), None for a line the
    reader added; `notes`: sentences for the report; `commands`: the IPython commands that
    were not run, as "`%run helpers.py` (cell 1, line 1)"."""

    code: str
    filename: str
    kind: str = "py"
    places: tuple = ()
    notes: tuple = ()
    commands: tuple = ()

    def place(self, lineno: int):
        """Where line `lineno` of `code` is for the student: the line number itself for a
        .py file (int), "cell k, line j" / "In [k], line j" otherwise (str)."""
        if self.kind == "py":
            return lineno
        if 1 <= lineno <= len(self.places) and self.places[lineno - 1] is not None:
            unit, line = self.places[lineno - 1]
            return f"{unit}, line {line}"
        return f"line {lineno} of the graded code"

    def label(self, lineno: int) -> str:
        """`place(lineno)` in words: "line 12", "cell 4, line 2", "In [7], line 1"."""
        return line_label(self.place(lineno))

    @cached_property
    def definitions(self) -> tuple[Definition, ...]:
        """The top-level functions of `code`, in order (a name may come more than once)."""
        tree = parse_bounded(self.code)
        if tree is None:
            return ()
        return tuple(Definition(node.name, node.lineno, _is_stub(node)) for node in tree.body
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))


def line_label(place) -> str:
    """A place in the student's code (`Submission.place`) in words: "line 12" for a line of a
    .py file (int); a notebook's place is already in words ("cell 4, line 2")."""
    return f"line {place}" if isinstance(place, int) else str(place)


# -- reading files ----------------------------------------------------------------------------

def read_submission(path: Path, filename: str | None = None,
                    follow_symlinks: bool = True) -> Submission:
    """The submission in file `path` (.ipynb: a notebook; anything else: Python source).
    `filename`: the name tracebacks give it (default: the resolved path). Raises
    GradewiseError (one line naming `path`) for a missing, unreadable, non-regular (a named
    pipe, a device), oversized, undecodable or broken file."""
    path = Path(path)
    filename = filename or str(path.resolve())
    if path.suffix.lower() == ".ipynb":
        return _read_notebook(path, filename, follow_symlinks)
    raw = read_regular_file(path, MAX_CODE_BYTES, follow_symlinks)
    return python_source(decode_python(raw, path), filename)


def read_regular_file(path: Path, limit: int, follow_symlinks: bool = True) -> bytes:
    """At most `limit` bytes of `path`, which must be a regular file: it is opened without
    blocking (a named pipe with no writer would block a plain open forever) and checked
    with fstat before anything is read. Raises GradewiseError."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise GradewiseError(f"{path}: no such file") from None
    except OSError as exc:
        raise GradewiseError(f"{path}: cannot read it ({exc.strerror})") from None
    found = os.fstat(fd)
    if not stat.S_ISREG(found.st_mode) or found.st_size > limit:
        os.close(fd)
        if stat.S_ISDIR(found.st_mode):
            raise GradewiseError(f"{path}: a folder, not a file")
        if not stat.S_ISREG(found.st_mode):
            raise GradewiseError(f"{path}: not a regular file (a named pipe? a device?), "
                                 "not read")
        raise GradewiseError(f"{path}: larger than {_megabytes(limit)}, not graded")
    chunks, size, want = [], 0, found.st_size + 1  # + 1: a file growing meanwhile reads on
    with open(fd, "rb", buffering=0) as fh:
        try:
            while size <= limit:
                chunk = fh.read(min(want, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size, want = size + len(chunk), 2 ** 20
        except OSError as exc:
            raise GradewiseError(f"{path}: cannot read it ({exc.strerror})") from None
    if size > limit:
        raise GradewiseError(f"{path}: larger than {_megabytes(limit)}, not graded")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode_python(raw: bytes, path) -> str:
    """Python source bytes as text, decoded as the interpreter decodes a module: a UTF-8
    BOM, else a PEP 263 declaration (`# -*- coding: latin-1 -*-`), else UTF-8. Raises
    GradewiseError, one line naming `path`, the line and the byte, and what to do."""
    import io
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        if "unknown encoding" in str(exc) or "encoding problem" in str(exc):
            raise GradewiseError(f"{path}: {exc.msg} in its coding declaration: declare a "
                                 "known encoding (utf-8) or remove the line") from None
        encoding = "utf-8"  # the first lines are not UTF-8 and declare nothing
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        start = getattr(exc, "start", 0)
        line = raw.count(b"\n", 0, start) + 1
        shown = "UTF-8" if encoding.startswith("utf-8") else encoding
        raise GradewiseError(
            f"{path}: line {line} is not {shown} text (byte 0x{raw[start]:02x}): save the "
            "file as UTF-8, or declare its encoding on the first line (`# -*- coding: "
            "latin-1 -*-`)") from None


def python_source(text: str, filename: str) -> Submission:
    """A `.py` file's text: graded as it is (Python's module semantics)."""
    return Submission(text, filename)


def _read_notebook(path: Path, filename: str, follow_symlinks: bool) -> Submission:
    """A notebook file (nbformat 4 JSON, UTF-8; older formats are converted by nbformat):
    its code cells, read as IPython runs them (module docstring). The file's bytes, its text
    and its parsed JSON are dropped as soon as they are no longer needed."""
    import json

    raw = read_regular_file(path, MAX_NOTEBOOK_BYTES, follow_symlinks)
    items = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if items > MAX_JSON_ITEMS:
        raise GradewiseError(f"{path}: not a readable Jupyter notebook (more than "
                             f"{MAX_JSON_ITEMS:,} JSON values), not graded")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GradewiseError(f"{path}: not a readable Jupyter notebook (not UTF-8: byte "
                             f"0x{raw[exc.start]:02x} at offset {exc.start})") from None
    del raw
    try:
        data = json.loads(text)
    except (ValueError, RecursionError, MemoryError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GradewiseError(f"{path}: not a readable Jupyter notebook ({reason})") from None
    if isinstance(data, dict) and "cells" not in data and "worksheets" in data:
        data = _upgrade(text, path)
    del text
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise GradewiseError(f"{path}: not a readable Jupyter notebook (no list of cells)")
    if len(cells) > MAX_CELLS:
        raise GradewiseError(f"{path}: {len(cells)} cells, more than {MAX_CELLS}: not graded")
    units = [(f"cell {number}", _cell_source(cell))
             for number, cell in enumerate(cells, 1)
             if isinstance(cell, dict) and cell.get("cell_type") == "code"]
    del data, cells  # the outputs
    return _cells_submission(units, filename, "notebook", str(path))


def read_cells(cells: list[str], filename: str = "<kernel>") -> Submission:
    """A kernel's input history (`In`, raw as typed: `input_hist_raw`), entry k shown as
    `In [k]`: read exactly as a notebook's cells are. Raises GradewiseError when it is
    beyond the bounds."""
    if len(cells) > MAX_CELLS:
        raise GradewiseError(f"this kernel ran {len(cells)} cells, more than {MAX_CELLS}: "
                             "restart it, run your cells again, then check")
    units = [(f"In [{number}]", text if isinstance(text, str) else "")
             for number, text in enumerate(cells)]
    return _cells_submission(units, filename, "history", "this kernel's history")


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):  # nbformat: a string, or a list of lines
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _upgrade(text: str, path) -> dict:
    """A notebook of format 3 or older, converted to format 4 by nbformat."""
    import nbformat

    try:
        return nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many kinds for a broken file
        raise GradewiseError(f"{path}: not a readable Jupyter notebook ({type(exc).__name__})") \
            from None


def _cells_submission(units: list[tuple[str, str]], filename: str, kind: str,
                      name: str) -> Submission:
    """The submission made of `units`, (unit, cell text) pairs, read by `grader.cells`;
    `name` says what they come from in a GradewiseError."""
    from .cells import graded_code

    # as UTF-8: lone surrogates (JSON allows "\\ud800") cannot be source, nor be printed
    encoded = [(unit, text.encode("utf-8", "replace")) for unit, text in units]
    if sum(len(data) for _, data in encoded) > MAX_CODE_BYTES:
        raise GradewiseError(f"{name}: its code cells hold more than "
                             f"{_megabytes(MAX_CODE_BYTES)} of code, not graded")
    units = [(unit, data.decode("utf-8")) for unit, data in encoded]
    del encoded
    code, places, notes, commands = graded_code(units, kind, name)
    return Submission(code, filename, kind, places, notes, commands)


def _megabytes(size: int) -> str:
    return f"{size / 2 ** 20:g} MB"


def parse_bounded(code: str):
    """The syntax tree (ast.Module) of student code, or None when it does not parse or is
    longer than MAX_PARSE_CHARS: a tree takes up to ≈600 bytes a character of source, and
    the grader's own process must not hold one of gigabytes (the sandbox compiles the code
    itself, under its limits)."""
    if len(code) > MAX_PARSE_CHARS:
        return None
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _is_stub(node) -> bool:
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    if len(body) != 1:
        return False
    only = body[0]
    if isinstance(only, ast.Pass) or (isinstance(only, ast.Expr) and
                                      isinstance(only.value, ast.Constant) and
                                      only.value.value is Ellipsis):
        return True
    if isinstance(only, ast.Raise) and only.exc is not None:
        exc = only.exc.func if isinstance(only.exc, ast.Call) else only.exc
        return getattr(exc, "id", None) == "NotImplementedError"
    return False
