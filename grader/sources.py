"""Student source code from a `.py` file or a Jupyter notebook.

Notebooks: code cells in order; IPython magics (`%...`, `%%...` cells) and shell lines
(`!...`) are removed, since plain Python runs the result. nbformat is imported only here,
only for notebooks (it is slow to import where Jupyter is installed).
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import GradewiseError


def read_source(path: Path) -> str:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GradewiseError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GradewiseError(f"{path}: cannot read it ({exc})") from None
    if path.suffix == ".ipynb":
        return notebook_code(raw, path)
    return raw


def notebook_code(raw: str, path: Path) -> str:
    import nbformat

    try:
        notebook = nbformat.reads(raw, as_version=4)
    except Exception as exc:  # nbformat raises many kinds for a broken file
        raise GradewiseError(f"{path}: not a readable Jupyter notebook ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    cells = []
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if source.lstrip().startswith("%%"):
            continue
        cells.append("\n".join(_plain_python(line) for line in source.splitlines()))
    return "\n\n".join(cells) + "\n"


# `files = !ls`, `t = %timeit -o f(x)`: the name stays defined (as None), the magic goes
_ASSIGNED_MAGIC = re.compile(r"^(\s*[A-Za-z_]\w*\s*)=\s*[!%]")


def _plain_python(line: str) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith(("%", "!", "?")) or (stripped.endswith("?") and "#" not in stripped):
        return indent + "pass  # removed: " + stripped[:60]  # magics, shell lines, `np.sum?`
    assigned = _ASSIGNED_MAGIC.match(line)
    if assigned:
        return f"{assigned[1].rstrip()} = None  # removed: " + line[assigned.end() - 1:][:60]
    return line
