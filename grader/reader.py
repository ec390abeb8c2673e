"""The one reader: any submission (a `.py` file, a Jupyter notebook, a kernel's input history
for `check(N)`) becomes the `Submission` that is graded, the same way everywhere.

- A `.py` file is Python's own module: the whole file runs. It is decoded as Python decodes
  source (PEP 263 and 3120: a UTF-8 byte-order mark, else a coding declaration on the first
  two lines, else UTF-8; `tokenize.detect_encoding`).
- A notebook (or a kernel's history) means what IPython runs. Each code cell goes through
  IPython's own input transformation (`IPython.core.inputtransformer2.TransformerManager`,
  the rules Jupyter applies): prompts and common indentation stripped, `%%time`, `%%capture`
  and `%%prun` cells keep their Python body (these magics run it in the kernel's namespace),
  any other cell magic (`%%bash`, `%%timeit`, whose body runs inside a function of its own)
  drops its cell, and line magics, shell and help lines (`%run x.py`, `!pip ...`, `np.sum?`)
  are never run; each dropped command is listed in the notes. Then only the *definitions*
  are graded, in cell order: functions and classes, the imports and assignments they use
  (guarded: one that fails prints a line naming its cell, and grading goes on), and every
  `from __future__` import, hoisted to the top (in IPython it holds for the later cells).
  Calls, prints, loops, plots, `input()` and the `check(N)` cell are not run, so scratch
  work never costs a function its points, and a notebook graded as a file gets the score
  `check(N)` gives in the kernel that ran it. A cell that does not compile defined nothing
  in the kernel either: it is skipped and noted.

Lines of the graded code map back to where the student wrote them: `Submission.label(n)`
is "line n" for a `.py`, "cell k, line j" for a notebook (cells counted from 1 over all
cells, Markdown too, as Jupyter shows them) and "In [k], line j" for a kernel's history.

IPython is imported only when a notebook or a history is read; nbformat only for a notebook
older than format 4. Bounds (the input is hostile): a `.py`, and the code cells of a notebook,
MAX_CODE_BYTES; a notebook file MAX_NOTEBOOK_BYTES (outputs count there, not above); at most
MAX_JSON_ITEMS JSON values, counted (the `,`, `[` and `{` bytes) before parsing; at most
MAX_CELLS cells; IPython's tokenizer (≈1 MB/s, run again after each command it rewrites) on
at most TOKENIZE_BUDGET characters. Peak memory of reading a notebook (Python 3.11, maximum
resident size added): a 7.6 MB notebook of plots, 17 MB; 64 MB of base64 plot, 130 MB;
the worst found within the bounds, 64 MB in one string holding one emoji (Python then stores
the whole text, and the string, with 4 bytes a character), about 510 MB; 2 million short
strings, 420 MB. Opening never blocks: only regular files are read (O_NONBLOCK, fstat).
"""

from __future__ import annotations

import ast
import os
import re
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .errors import GradewiseError

MAX_CODE_BYTES = 5 * 2 ** 20  #: a .py file, or the code cells of a notebook (bytes of UTF-8)
MAX_NOTEBOOK_BYTES = 64 * 2 ** 20  #: a notebook file, outputs (plots) included
MAX_JSON_ITEMS = 2_000_000  #: `,` `[` `{` bytes in a notebook: a bound on its JSON values
MAX_CELLS = 20_000  #: cells of a notebook or inputs of a kernel's history
TOKENIZE_BUDGET = 4 * 2 ** 20  #: characters IPython's transformation may tokenize, in all
MAX_NOTES = 12  #: notes kept (the rest are counted)

#: cell magics that run their body in the kernel's namespace: the body is what is graded
KEEP_BODY_MAGICS = {"time", "capture", "prun"}
#: a physical line that may hold IPython syntax: an escape first on the line (`%`, `!`, `?`,
#: `,`, `;`, `/`), an assignment from one (`x = !ls`), or a help query (`np.sum?`). Cells
#: without one skip the token transformations (a superset: IPython itself then decides)
_MAYBE_IPYTHON = re.compile(r"^[ \t\f]*[!?%,;/]|=[ \t]*[!%]|\?[ \t]*$", re.M)
_LOOP_LIMIT = 500  #: rewrites in one cell, as IPython's own TRANSFORM_LOOP_LIMIT
#: after a graded import or assignment: one that fails says so, and the others still load
_GUARD = ("except Exception as __gradewise_error:",
          "    print(f'[gradewise] {where} failed while grading "
          "({{type(__gradewise_error).__name__}}: {{__gradewise_error}}): what it defines "
          "is missing', file=__import__('sys').stderr)")

NOTES = {
    "command": "not run while grading: `{text}` ({where})",
    "cell-magic": "not run while grading: {unit}, a `%%{magic}` cell (only Python cells are "
                  "graded)",
    "timeit": "{unit} is a `%%timeit` cell: IPython runs its code inside a function of its "
              "own, so nothing it defines is kept, in Jupyter as here. Define your functions "
              "in a cell of their own.",
    "syntax": "{unit} does not compile ({type} at {where}: {message}), so nothing in it was "
              "graded (running it defines nothing in Jupyter either)",
    "scratch": "only definitions are graded (functions, classes, and the imports and "
               "constants they use): the other statements of {units} were not run",
    "unreadable": "{unit} could not be read as IPython reads it ({error}): not graded",
    "more": "… and {count} more notes",
}


@dataclass(frozen=True)
class Definition:
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
        tree = _parse(self.code)
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
    BOM, else a PEP 263 declaration (`# -*- coding: latin-1 -*-`), else UTF-8."""
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
    return _from_units(units, filename, "notebook", str(path))


def read_cells(cells: list[str], filename: str = "<kernel>") -> Submission:
    """A kernel's input history (`In`, raw as typed: `input_hist_raw`), entry k shown as
    `In [k]`: read exactly as a notebook's cells are. Raises GradewiseError when it is
    beyond the bounds."""
    if len(cells) > MAX_CELLS:
        raise GradewiseError(f"this kernel ran {len(cells)} cells, more than {MAX_CELLS}: "
                             "restart it, run your cells again, then check")
    units = [(f"In [{number}]", text if isinstance(text, str) else "")
             for number, text in enumerate(cells)]
    return _from_units(units, filename, "history", "this kernel's history")


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


def _megabytes(size: int) -> str:
    return f"{size / 2 ** 20:g} MB"


# -- cells as IPython runs them ---------------------------------------------------------------

@dataclass
class _Statement:
    """One top-level statement of a cell, as IPython transformed it."""

    unit: str  #: "cell 4", "In [7]"
    node: ast.stmt
    lines: list  #: its text, one str per line (no newline)
    origin: list  #: the cell's line number of each of `lines`
    names: set = field(default_factory=set)  #: module-level names it reads


def _from_units(units: list[tuple[str, str]], filename: str, kind: str, name: str) -> Submission:
    """The submission made of `units`, (unit, cell text) pairs; `name` says what they are
    read from in a GradewiseError (too much code, too much IPython syntax)."""
    from IPython.core.inputtransformer2 import TransformerManager

    # as UTF-8: lone surrogates (JSON allows "\\ud800") cannot be source, nor be printed
    encoded = [(unit, text.encode("utf-8", "replace")) for unit, text in units]
    if sum(len(data) for _, data in encoded) > MAX_CODE_BYTES:
        raise GradewiseError(f"{name}: its code cells hold more than "
                             f"{_megabytes(MAX_CODE_BYTES)} of code, not graded")
    units = [(unit, data.decode("utf-8")) for unit, data in encoded]
    del encoded
    reading = _Reading(TransformerManager(), name)
    statements = []
    for unit, text in units:
        statements += reading.cell(unit, text)
    keep = _select(statements)
    code, places = [], []
    futures = [s for s in statements if _is_future(s.node)]
    for statement in futures:
        code += statement.lines
        places += [(statement.unit, line) for line in statement.origin]
    scratch = []
    for statement, kept in zip(statements, keep):
        if _is_future(statement.node):
            continue
        if not kept:
            if not _is_inert(statement) and statement.unit not in scratch:
                scratch.append(statement.unit)
            continue
        mapped = [(statement.unit, line) for line in statement.origin]
        if isinstance(statement.node, _DEFINITIONS):
            code += statement.lines
            places += mapped
        else:  # guarded: it may have failed in the kernel too, where it then had no effect
            where = f"{statement.unit}, line {statement.origin[0]}"
            code += ["try:", "    " + statement.lines[0], *statement.lines[1:], _GUARD[0],
                     _GUARD[1].format(where=where.replace("'", ""))]
            places += [None, *mapped, None, None]
    notes = reading.notes
    if scratch and kind != "history":  # in a kernel they ran, in front of the student
        notes.append(NOTES["scratch"].format(units=_units(scratch)))
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES - 1] + [NOTES["more"].format(count=len(notes) - MAX_NOTES + 1)]
    return Submission("\n".join(code) + "\n", filename, kind, tuple(places), tuple(notes),
                      tuple(reading.commands))


class _Reading:
    """Reads cells in order: the IPython transformation, line numbers kept, notes taken."""

    def __init__(self, manager, name: str):
        self.manager, self.name = manager, name
        self.budget = TOKENIZE_BUDGET
        self.future_flags = 0  # a `from __future__` import holds for the later cells too
        self.notes: list[str] = []
        self.commands: list[str] = []

    def cell(self, unit: str, text: str) -> list[_Statement]:
        lines = _split(text)
        origin = list(range(1, len(lines) + 1))
        try:
            lines, origin = self._python(unit, lines, origin)
        except (RecursionError, MemoryError, RuntimeError, ValueError) as exc:
            self.notes.append(NOTES["unreadable"].format(unit=unit, error=type(exc).__name__))
            return []
        if lines is None:
            return []
        return self._statements(unit, *_rejoin(lines, origin))

    def _python(self, unit, lines, origin):
        """The cell as Python, as IPython's TransformerManager.transform_cell makes it, with
        each line's origin; (None, None) for a cell magic that is not run."""
        manager = self.manager
        while True:
            for transform in manager.cleanup_transforms:
                lines, origin, _ = _tracked(lines, transform(lines), origin)
            first = lines[0] if lines else ""
            if not first.startswith("%%") or re.match(r"%%\w+\?", first):
                break  # `%%time?` is a help query, rewritten below
            magic = first[2:].rstrip().partition(" ")[0]  # as IPython's cell_magic splits it
            if magic not in KEEP_BODY_MAGICS:
                key = "timeit" if magic == "timeit" else "cell-magic"
                self.notes.append(NOTES[key].format(unit=unit, magic=magic))
                return None, None
            lines, origin = lines[1:], origin[1:]  # `%%time`, `%%capture out`: the body
        if not _MAYBE_IPYTHON.search("".join(lines)):
            return lines, origin
        for _ in range(_LOOP_LIMIT):
            self.budget -= sum(len(line) for line in lines)
            if self.budget < 0:
                raise GradewiseError(f"{self.name}: too much IPython syntax to read in "
                                     f"reasonable time ({unit}), not graded")
            changed, new = manager.do_one_token_transform(lines)
            if not changed:
                return lines, origin
            old, old_origin = lines, origin
            lines, origin, replaced = _tracked(old, new, old_origin)
            if replaced and replaced[0] < replaced[1]:
                start, end = replaced
                pieces = [line.strip() for line in old[start:end]]  # `!cmd \\` continued
                command = " ".join([p[:-1].strip() if p.endswith("\\") else p
                                    for p in pieces[:-1]] + pieces[-1:])
                self._command(unit, old_origin[start], command)
        raise RuntimeError("IPython's limit of rewrites in one cell")

    def _command(self, unit, line, text):
        shown = text if len(text) <= 60 else text[:57] + "..."
        where = f"{unit}, line {line}"
        self.commands.append(f"`{shown}` ({where})")
        self.notes.append(NOTES["command"].format(text=shown, where=where))

    def _statements(self, unit, lines, origin) -> list[_Statement]:
        import __future__

        source = "".join(lines)
        try:
            tree = compile(source, unit, "exec", ast.PyCF_ONLY_AST | self.future_flags,
                           dont_inherit=True)
            compile(tree, unit, "exec", self.future_flags, dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
            line = getattr(exc, "lineno", None) or 1
            where = f"line {origin[line - 1] if 0 < line <= len(origin) else line}"
            message = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
            self.notes.append(NOTES["syntax"].format(unit=unit, type=type(exc).__name__,
                                                     where=where, message=message))
            return []
        texts = [line.rstrip("\n") for line in lines]
        statements = []
        for node in tree.body:
            if _is_future(node):
                for alias in node.names:
                    feature = getattr(__future__, alias.name, None)
                    self.future_flags |= getattr(feature, "compiler_flag", 0)
            if isinstance(node, _DEFINITIONS):  # whole lines, from the first decorator
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                text = texts[first - 1:node.end_lineno]
            else:  # only the statement: `a = 1; b = f()` share a line
                first = node.lineno
                text = (ast.get_source_segment(source, node) or "").split("\n")
            statements.append(_Statement(unit, node, text,
                                         origin[first - 1:first - 1 + len(text)]))
        return statements


def _split(text: str) -> list[str]:
    """A cell's lines as Python counts them (only \\n, \\r\\n and \\r end a line), each
    ending with a newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line + "\n" for line in text.split("\n")]
    return lines[:-1] if text.endswith("\n") or not text else lines


def _rejoin(lines, origin):
    """IPython's transforms split with str.splitlines, which also breaks at \\x0c, \\x1c,
    \\u2028...: join such pieces back into Python's lines (each keeps its first origin)."""
    if all(line.endswith("\n") for line in lines):
        return lines, origin
    joined, joined_origin, pending = [], [], ""
    for line, where in zip(lines, origin):
        if not pending:
            joined_origin.append(where)
        pending += line
        if pending.endswith("\n"):
            joined.append(pending)
            pending = ""
    if pending:
        joined.append(pending + "\n")
    return joined, joined_origin


def _tracked(lines, new, origin):
    """`new`, the lines a transform made of `lines`, with each line's origin in the cell:
    lines left alone keep theirs; a replaced run maps line for line when it kept its length
    (prompts stripped), else every new line maps to the run's first line (a command
    continued with a backslash became one line). Returns (new, its origins, the replaced
    (start, end) of `lines`, or None)."""
    if new == lines:
        return lines, origin, None
    start, limit = 0, min(len(lines), len(new))
    while start < limit and lines[start] == new[start]:
        start += 1
    tail = 0
    while tail < limit - start and lines[-1 - tail] == new[-1 - tail]:
        tail += 1
    old_end, new_end = len(lines) - tail, len(new) - tail
    replaced = origin[start:old_end]
    if len(replaced) == new_end - start:
        middle = replaced
    else:
        anchor = replaced[0] if replaced else origin[min(start, len(origin) - 1)] if origin else 1
        middle = [anchor] * (new_end - start)
    return new, origin[:start] + middle + origin[old_end:], (start, old_end)


# -- which statements are graded --------------------------------------------------------------

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _select(statements: list[_Statement]) -> list[bool]:
    """Which statements are graded: every definition; the imports and assignments binding
    a name a graded statement reads (transitively); assignments that call nothing
    (`softmax = my_softmax`, `EPS = 1e-12`). Statements that use `get_ipython` (IPython
    commands) never: they cannot run outside IPython. Linear in the statements."""
    for statement in statements:
        statement.names = _global_names("\n".join(statement.lines))
    keep = [isinstance(s.node, _DEFINITIONS) for s in statements]
    binders: dict[str, list[int]] = {}
    wanted: list[str] = []
    for i, statement in enumerate(statements):
        if keep[i]:
            wanted += statement.names
            continue
        binds = _binds(statement.node)
        if not binds or "get_ipython" in statement.names:
            continue
        if not _calls(statement.node) and not _is_import(statement.node):
            keep[i] = True
            wanted += statement.names
        for name in binds:
            binders.setdefault(name, []).append(i)
    seen = set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        for i in binders.pop(name, []):
            if not keep[i]:
                keep[i] = True
                wanted += statements[i].names
    return keep


def _global_names(text: str) -> set[str]:
    """Module-level names a statement reads, inside its functions and classes too."""
    import symtable

    try:
        table = symtable.symtable(text, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names, tables = set(), [table]
    while tables:
        table = tables.pop()
        names |= {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
        tables += table.get_children()
    return names


def _is_import(node: ast.stmt) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom))


def _is_future(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


def _is_inert(statement: _Statement) -> bool:
    """Statements left out that nobody misses: `pass`, a bare string, an unused import, an
    IPython command (noted on its own), gradewise's check cell (`check(1)`)."""
    node = statement.node
    if isinstance(node, (ast.Pass, ast.Import, ast.ImportFrom)) or \
            "get_ipython" in statement.names:
        return True
    if isinstance(node, ast.Expr):
        value = node.value
        if isinstance(value, ast.Constant):
            return True
        if isinstance(value, ast.Call):
            func = value.func
            return getattr(func, "id", None) == "check" or getattr(func, "attr", None) == "check"
    return False


def _is_grader_import(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        return bool(node.module) and node.module.split(".")[0] == "grader"
    return isinstance(node, ast.Import) and all(a.name.split(".")[0] == "grader"
                                                for a in node.names)


def _calls(node: ast.AST) -> bool:
    """Whether running the statement calls anything (a lambda's body is not run)."""
    if isinstance(node, ast.Call):
        return True
    return any(_calls(child) for child in ast.iter_child_nodes(node)
               if not isinstance(child, ast.Lambda))


def _binds(node: ast.stmt) -> set[str]:
    """Names an import or assignment binds or changes (`d["k"] = v` changes `d`)."""
    if isinstance(node, ast.Import):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.ImportFrom):
        if _is_grader_import(node) or _is_future(node):
            return set()
        return {a.asname or a.name for a in node.names}
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    else:
        return set()
    names = set()
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, (ast.Attribute, ast.Subscript, ast.Starred)):
            targets.append(target.value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            targets += target.elts
    return names


def _units(units: list[str]) -> str:
    """"cell 4", "cell 4 and cell 6", "cell 1, cell 2, ... and 3 more"."""
    if len(units) > 6:
        return ", ".join(units[:6]) + f" and {len(units) - 6} more"
    return units[0] if len(units) == 1 else ", ".join(units[:-1]) + " and " + units[-1]


def _parse(code: str):
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
