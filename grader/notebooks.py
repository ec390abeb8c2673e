"""Writing Jupyter notebooks: `grade notebook` writes one per exercise (statement, stubs, a
scratch cell and the check cell `from grader import check; check(N)`).

A notebook is plain JSON in nbformat 4.5, written here without importing nbformat (slow to
import where Jupyter is installed; the tests validate what is written with it). Cell ids are
derived from the exercise and the cell's role, so regenerating a notebook gives the same file.

What `check(N)` does in the kernel is `grader.kernel`; the process that grades for it is
`grader.kernelcheck`. `python -m grader.notebooks` still starts that process (below), as
it did when these three jobs shared this module: a kernel that imported an older gradewise
still starts it by this name.
"""

from __future__ import annotations

import json
from pathlib import Path

from .files import atomic_write
from .spec import Spec
from .stubs import function_stub

NBFORMAT, NBFORMAT_MINOR = 4, 5
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}

INTRO = """\
# Exercise {number} · {slug} — {title}

Fill in each function below and run its cell, then run the **check** cell at the bottom: it
grades the functions as this kernel has them *now* (no need to save), in a separate process,
and says what is wrong. Stuck? `!grade hint {number}` in a cell shows the next hint.
"""
SCRATCH_INTRO = "## Try it\n\nA scratch cell: call your functions on small inputs before checking."
SCRATCH = "# for example:\n# print({call})\n"
CHECK_INTRO = ("## Check\n\nGrades the functions as defined in this kernel now. After changing "
               "a function, run its cell again, then this one.")
CHECK = "from grader import check; check({number})"


# -- writing notebooks ------------------------------------------------------------------------

def notebook(spec: Spec) -> dict:
    """The notebook of `spec` as nbformat v4.5 JSON data: no outputs, stable cell ids."""
    prefix = f"ex{spec.number:02d}"
    first = spec.functions[0]
    cells = [
        _markdown(f"{prefix}-title", INTRO.format(number=spec.number, slug=spec.slug,
                                                  title=spec.title)),
        _markdown(f"{prefix}-statement", spec.statement.strip()),
        _code(f"{prefix}-setup", "import numpy as np"),
        *(_code(_cell_id(f"{prefix}-fn-{f.name}"), function_stub(f)) for f in spec.functions),
        _markdown(f"{prefix}-scratch-intro", SCRATCH_INTRO),
        _code(f"{prefix}-scratch", SCRATCH.format(call=f"{first.name}{first.signature}")),
        _markdown(f"{prefix}-check-intro", CHECK_INTRO),
        _code(f"{prefix}-check", CHECK.format(number=spec.number)),
    ]
    return {"cells": cells, "nbformat": NBFORMAT, "nbformat_minor": NBFORMAT_MINOR,
            "metadata": {"kernelspec": KERNELSPEC,
                         "language_info": {"name": "python", "file_extension": ".py"},
                         "gradewise": {"exercise": spec.number, "slug": spec.slug}}}


def notebook_text(spec: Spec) -> str:
    """The file's text, laid out as Jupyter and nbformat write it."""
    return json.dumps(notebook(spec), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_notebook(spec: Spec, folder: Path, force: bool = False) -> tuple[Path, str, Path | None]:
    """Write `folder/exNN_slug.ipynb`: (path, "written" | "kept", backup). An existing notebook
    holds the student's work, so it is kept unless `force`, and then backed up first."""
    from .workspace import backup

    path = folder / f"{spec.stem}.ipynb"
    saved = None
    if path.exists():
        if not force:
            return path, "kept", None
        saved = backup(path)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(path, notebook_text(spec))
    return path, "written", saved


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _markdown(cell_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": _lines(text)}


def _code(cell_id: str, text: str) -> dict:
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "execution_count": None,
            "outputs": [], "source": _lines(text.rstrip("\n"))}


def _cell_id(text: str) -> str:
    return text[:64]  # nbformat: 1 to 64 of [a-zA-Z0-9-_]; function names fit


if __name__ == "__main__":  # the grading process behind check(N), by its former name
    from .kernelcheck import main

    main()
