"""Notebook cells as IPython runs them, and the part of them that is graded (for
`grader.reader`, which reads notebooks and kernel histories through `graded_code`).

Each cell goes through IPython's own input transformation (`IPython.core.inputtransformer2.
TransformerManager`, the rules Jupyter applies), step by step so that every line keeps the
cell line it came from: prompts and common indentation stripped; a `%%time`, `%%capture` or
`%%prun` cell keeps its body (those magics run it in the kernel's namespace), any other cell
magic drops its cell (`%%bash`; `%%timeit` runs its body inside a function of its own, so
it defines nothing in the kernel either); line magics, shell and help lines (`%run x.py`,
`!pip ...`, `np.sum?`) become `get_ipython()` calls, which are never run: each is listed in
the notes with its text and place. A cell that does not compile (with the `from __future__`
features of the cells before it) is skipped and noted.

Then only the definitions are graded, in the order the cells ran: every function and class,
the imports and assignments binding a name they read (transitively), assignments that call
nothing (`EPS = 1e-12`, `softmax = my_softmax`), each guarded (one that fails prints a line
naming its cell, and the rest still loads), and every `from __future__` import, hoisted to
the top. Calls, prints, loops, plots, `input()` and the check cell are scratch work: not
run, and noted for a notebook file (in a kernel they ran, in front of the student).

Bounds (cells are hostile): IPython's transformation tokenizes the whole cell again after
each command it rewrites, in pure Python (150 000 to 1 000 000 characters a second): cells
without IPython syntax skip it, and TOKENIZE_BUDGET bounds it for the rest (1 MB: at most
seconds, far above what real notebooks need). A cell over MAX_CELL_BYTES is not read (its
syntax tree alone could take hundreds of MB), and MAX_STATEMENTS bounds the summaries kept.
Selecting the definitions is linear in the statements; nothing recurses on a syntax tree.
Measured on hostile notebooks within the bounds (Python 3.11): at most ≈7 s (19 cells,
each one `def` of 240 KB) and ≈170 MB of added resident memory.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from .errors import GradewiseError

TOKENIZE_BUDGET = 2 ** 20  #: characters IPython's transformation may tokenize, in all
#: one cell's code (UTF-8 bytes): Python's syntax tree takes up to ≈600 bytes a byte of
#: source (`x=1` lines), so this bounds what one cell's tree (or tokens) may take, ≈150 MB
MAX_CELL_BYTES = 256 * 2 ** 10
MAX_STATEMENTS = 50_000  #: top-level statements of all cells (a summary of each is kept)
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
          "is missing' + (' (graded code runs in an empty folder, without your other files: "
          "put the data in the notebook itself)' if isinstance(__gradewise_error, OSError) "
          "else ''), file=__import__('sys').stderr)")

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
    "too-large": "{unit} holds more than {size} of code: not graded",
    "more": "… and {count} more notes",
}


@dataclass
class _Statement:
    """One top-level statement of a cell, as IPython transformed it: its text and what
    choosing it needs (its syntax tree is not kept: hostile cells make big ones)."""

    unit: str  #: "cell 4", "In [7]"
    lines: list  #: its text, one str per line (no newline)
    origin: list  #: the cell's line number of each of `lines`
    kind: str  #: "definition" (def, class) | "future" | "import" | "assignment" | "other"
    binds: set  #: names an import or assignment binds or changes
    calls: bool  #: whether running it calls anything
    inert: bool  #: left out, nobody misses it (`pass`, a bare string, the check cell)
    names: set = field(default_factory=set)  #: module-level names it reads


def graded_code(units: list[tuple[str, str]], kind: str, name: str):
    """The graded code of cells `units`, (unit, text) pairs such as ("cell 4", "%%time\\n...")
    in the order they ran; `kind`: "notebook" | "history". Returns (code: str, places:
    tuple of (unit, line) or None per line of code, notes: tuple of str, commands: tuple of
    str). Raises GradewiseError (naming `name`) beyond TOKENIZE_BUDGET."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # a dependency of gradewise, but an environment may lack it
        raise GradewiseError(f"{name}: reading a notebook needs IPython, which is not "
                             "installed here: `pip install ipython`, then grade again") from None
    reading = _Reading(TransformerManager(), name)
    statements = []
    for unit, text in units:
        statements += reading.cell(unit, text)
    code, places, scratch = _graded_lines(statements, _select(statements))
    notes = reading.notes
    if scratch and kind != "history":  # in a kernel they ran, in front of the student
        notes.append(NOTES["scratch"].format(units=_units(scratch)))
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES - 1] + [NOTES["more"].format(count=len(notes) - MAX_NOTES + 1)]
    return "\n".join(code) + "\n", tuple(places), tuple(notes), tuple(reading.commands)


def _graded_lines(statements: list[_Statement], keep: list[bool]):
    """(lines of code, their places, the units with statements left out)."""
    code, places, scratch = [], [], []
    for statement in statements:  # first: a future import must open the module
        if statement.kind == "future":
            code += statement.lines
            places += [(statement.unit, line) for line in statement.origin]
    for statement, kept in zip(statements, keep):
        if statement.kind == "future":
            continue
        if not kept:
            if not statement.inert and statement.unit not in scratch:
                scratch.append(statement.unit)
            continue
        mapped = [(statement.unit, line) for line in statement.origin]
        if statement.kind == "definition":
            code += statement.lines
            places += mapped
        else:  # guarded: it may have failed in the kernel too, where it then had no effect
            # only its first line is indented: the others continue it (brackets, strings,
            # backslashes), where indentation does not count and a string's must not change
            where = f"{statement.unit}, line {statement.origin[0]}"
            code += ["try:", "    " + statement.lines[0], *statement.lines[1:], _GUARD[0],
                     _GUARD[1].format(where=where)]
            places += [None, *mapped, None, None]
    return code, places, scratch


class _Reading:
    """Reads cells in order: the IPython transformation, line numbers kept, notes taken."""

    def __init__(self, manager, name: str):
        self.manager, self.name = manager, name
        self.budget = TOKENIZE_BUDGET
        self.future_flags = 0  # a `from __future__` import holds for the later cells too
        self.statements = 0
        self.notes: list[str] = []
        self.commands: list[str] = []

    def cell(self, unit: str, text: str) -> list[_Statement]:
        if len(text) > MAX_CELL_BYTES and len(text.encode("utf-8")) > MAX_CELL_BYTES:
            self.notes.append(NOTES["too-large"].format(unit=unit,
                                                        size=f"{MAX_CELL_BYTES // 1024} KB"))
            return []
        lines = _split(text)
        origin = list(range(1, len(lines) + 1))
        try:  # as IPython's TransformerManager.transform_cell, one step at a time
            lines, origin = self._cell_magics(unit, lines, origin)
            if lines is None:
                return []
            lines, origin = self._commands(unit, lines, origin)
        except (SyntaxError, ValueError, RecursionError, MemoryError, RuntimeError) as exc:
            # RuntimeError: too many rewrites; in a kernel the cell fails to run at all
            self.notes.append(NOTES["unreadable"].format(unit=unit, error=type(exc).__name__))
            return []
        return self._statements(unit, *_rejoin(lines, origin))

    def _cell_magics(self, unit, lines, origin):
        """Prompts and indentation stripped, and the body of a `%%time` cell (or
        `%%capture out`, ...); (None, None) for a cell magic whose cell is not run."""
        while True:
            for transform in self.manager.cleanup_transforms:
                lines, origin, _ = _tracked(lines, transform(lines), origin)
            first = lines[0] if lines else ""
            if not first.startswith("%%") or re.match(r"%%\w+\?", first):
                return lines, origin  # `%%time?` is a help query: a command, below
            magic = first[2:].rstrip().partition(" ")[0]  # as IPython's cell_magic splits it
            if magic not in KEEP_BODY_MAGICS:
                key = "timeit" if magic == "timeit" else "cell-magic"
                self.notes.append(NOTES[key].format(unit=unit, magic=magic))
                return None, None
            lines, origin = lines[1:], origin[1:]  # the body is a cell of its own

    def _commands(self, unit, lines, origin):
        """Line magics, shell and help lines rewritten by IPython, each one noted."""
        if not _MAYBE_IPYTHON.search("".join(lines)):
            return lines, origin
        for _ in range(_LOOP_LIMIT):
            self.budget -= sum(len(line) for line in lines)
            if self.budget < 0:
                raise GradewiseError(f"{self.name}: too much IPython syntax to read in "
                                     f"reasonable time ({unit}), not graded")
            changed, new = self.manager.do_one_token_transform(lines)
            if not changed:
                return lines, origin
            old, old_origin = lines, origin
            lines, origin, replaced = _tracked(old, new, old_origin)
            if replaced and replaced[0] < replaced[1]:
                start, end = replaced
                self._command(unit, old_origin[start], _joined(old[start:end]))
        raise RuntimeError("more rewrites than IPython allows in one cell")

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
        self.statements += len(tree.body)
        if self.statements > MAX_STATEMENTS:
            raise GradewiseError(f"{self.name}: more than {MAX_STATEMENTS:,} statements, "
                                 "not graded")
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
                text = _segment(texts, node)
            statements.append(_summary(unit, node, text, origin[first - 1:first - 1 + len(text)]))
        return statements


def _summary(unit: str, node: ast.stmt, lines: list, origin: list) -> _Statement:
    kind = ("definition" if isinstance(node, _DEFINITIONS) else "future" if _is_future(node)
            else "import" if isinstance(node, (ast.Import, ast.ImportFrom))
            else "assignment" if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
            else "other")
    names = _global_names("\n".join(lines))
    if kind == "definition":  # always graded: what it binds or calls does not matter
        return _Statement(unit, lines, origin, kind, set(), False, False, names)
    return _Statement(unit, lines, origin, kind, _binds(node), _calls(node),
                      _is_inert(node, kind, names), names)


def _segment(texts: list[str], node: ast.stmt) -> list[str]:
    """The statement's own text, as lines: like ast.get_source_segment, whose cost grows
    with the whole cell at every call (its offsets count UTF-8 bytes)."""
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return [_cut(texts[first], node.col_offset, node.end_col_offset)]
    return [_cut(texts[first], node.col_offset, None), *texts[first + 1:last],
            _cut(texts[last], 0, node.end_col_offset)]


def _cut(line: str, start: int, end: int | None) -> str:
    data = line.encode("utf-8")
    return data[start:end].decode("utf-8")


def _joined(lines: list[str]) -> str:
    """A command as IPython runs it: lines continued with a backslash joined by a space."""
    pieces = [line.strip() for line in lines]
    return " ".join([p[:-1].strip() if p.endswith("\\") else p for p in pieces[:-1]]
                    + pieces[-1:])


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
    keep = [s.kind == "definition" for s in statements]
    binders: dict[str, list[int]] = {}
    wanted: list[str] = []
    for i, statement in enumerate(statements):
        if keep[i]:
            wanted += statement.names
            continue
        if not statement.binds or "get_ipython" in statement.names:
            continue
        if not statement.calls and statement.kind != "import":
            keep[i] = True
            wanted += statement.names
        for name in statement.binds:
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


def _is_future(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


def _is_inert(node: ast.stmt, kind: str, names: set) -> bool:
    """Statements left out that nobody misses: `pass`, a bare string, an unused import, an
    IPython command (noted on its own), gradewise's check cell (`check(1)`)."""
    if isinstance(node, ast.Pass) or kind in ("import", "future") or "get_ipython" in names:
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
    stack = [node]  # not recursive: a hostile cell nests deeper than Python's stack
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            return True
        stack += [child for child in ast.iter_child_nodes(node)
                  if not isinstance(child, ast.Lambda)]
    return False


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


