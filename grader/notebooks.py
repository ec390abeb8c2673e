"""Jupyter notebooks: `grade notebook` writes one per exercise, and `check(N)` grades the
functions a running kernel has defined.

A notebook is plain JSON in nbformat 4.5, written here without importing nbformat (slow to
import where Jupyter is installed; the tests validate what is written with it). Cell ids are
derived from the exercise and the cell's role, so regenerating a notebook gives the same file.

`check(N)` never runs the student's code, nor loads a reference solution, inside the kernel.
It sends the kernel's input history, as typed (`input_hist_raw`), to a fresh
`python -m grader.notebooks` process, which reads it with `grader.reader.read_cells` (the
very reading `grade exercise N --file` gives a saved notebook: IPython's transformation,
then the definitions) and grades it with the same core. A fresh process rather than a
`Grader` kept in the kernel because the Grader's sandbox forks from the process that creates
it: forked from a kernel, every worker would hold a copy of the kernel (its threads, zmq
sockets, the student's variables and any solution an earlier grading there had loaded). A
grading process costs about 0.2 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .results import CheckResult, ExerciseResult
from .spec import Spec
from .stubs import function_stub

NBFORMAT, NBFORMAT_MINOR = 4, 5
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
REPORT_WIDTH = 100  # characters; rich's own default in Jupyter is 115

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

NOT_IN_KERNEL = ("check({number}) grades the functions of a running Jupyter notebook; "
                 "outside Jupyter run `grade exercise {number}` (or `grade watch {number}`).")
MISSING_NOTE = ("check() grades what this kernel has defined: run the cell that defines {names} "
                "first.")


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
    tmp = path.with_suffix(".ipynb.tmp")
    tmp.write_text(notebook_text(spec), encoding="utf-8")
    os.replace(tmp, path)
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


# -- check(N) inside a kernel -----------------------------------------------------------------

def check(exercise, workspace=None):
    """Grade exercise `exercise` (number or slug) on the functions this kernel defines now."""
    shell = _kernel()
    if shell is None:
        print(NOT_IN_KERNEL.format(number=exercise), file=sys.stderr)
        return None
    cells = list(shell.history_manager.input_hist_raw)  # as typed: magics not yet rewritten
    answer = _grade_elsewhere(str(exercise), cells, _notebook_name(shell),
                              _progress_folder(workspace))
    if "error" in answer:
        print(f"Error: {answer['error']}", file=sys.stderr)
        return None
    from IPython.display import display

    bundle = {"text/plain": answer["text"], "text/html": answer["html"]}
    display(bundle, raw=True)
    return NotebookResult.from_json(answer["result"], bundle, shell.execution_count)


def _kernel():
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if getattr(shell, "history_manager", None) is not None else None


def _notebook_name(shell) -> str:
    for key in ("__session__", "__vsc_ipynb_file__"):  # set by Jupyter Server, VS Code
        value = shell.user_ns.get(key)
        if isinstance(value, str) and value.endswith(".ipynb"):
            return Path(value).name
    return "this notebook"


def _progress_folder(workspace) -> str | None:
    """Where `grade list` will look: $GRADEWISE_WORKSPACE, else the notebook's folder when it
    is a workspace (notebooks are written there by default), else ./workspace if it exists."""
    if workspace or os.environ.get("GRADEWISE_WORKSPACE"):
        return str(workspace or os.environ["GRADEWISE_WORKSPACE"])
    here = Path.cwd()
    if (here / ".gradewise").is_dir() or any(here.glob("ex[0-9][0-9]_*.ipynb")):
        return str(here)
    return str(here / "workspace") if (here / "workspace").is_dir() else None


def _grade_elsewhere(which: str, cells: list, shown_as: str, folder: str | None) -> dict:
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [package_parent,
                                                       os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "grader.notebooks", which, "--shown-as", shown_as]
    if folder:
        command += ["--workspace", folder]
    done = subprocess.run(command, input=json.dumps({"cells": cells}), capture_output=True,
                          text=True, env=env)
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise RuntimeError(f"the grading process failed (exit {done.returncode}):\n"
                           f"{done.stderr[-3000:]}") from None


class NotebookResult(ExerciseResult):
    """`check()`'s return value: an ExerciseResult that shows its report when displayed,
    except right after `check()` has shown it (the check cell's last line)."""

    _bundle: dict = None
    _shown_in = None

    @classmethod
    def from_json(cls, data: dict, bundle: dict, shown_in) -> "NotebookResult":
        checks = [CheckResult(c["name"], c["function"], c["kind"], c["passed"], c["score"],
                              c["max_score"], c.get("message", ""), c.get("diagnosis"),
                              c.get("hint"), failed_cases=c.get("failed_cases") or [])
                  for c in data["checks"]]
        result = cls(data["exercise"], data["slug"], data["title"], data["score"],
                     data["max_score"], data.get("error"), checks, data.get("file", ""),
                     data.get("output", ""), data.get("output_dropped", 0),
                     notes=list(data.get("notes") or []))
        result._bundle, result._shown_in = bundle, shown_in
        return result

    def _ipython_display_(self):
        kernel = _kernel()
        if kernel is not None and kernel.execution_count == self._shown_in:
            self._shown_in = None  # shown once by check(); `result` in a later line shows it
            return
        from IPython.display import display

        display(self._bundle, raw=True)


# -- the grading process behind check() --------------------------------------------------------

def _grade_for_kernel(argv: list[str]) -> dict:
    """`python -m grader.notebooks WHICH --shown-as NAME [--workspace DIR]`: grade the
    kernel's history, `{"cells": [In[0], In[1], ...]}` on stdin; print the result, its report
    as text and HTML, or a user error, as JSON."""
    import argparse

    from .grading import Grader  # first: the sandbox forks before a solution is loaded

    parser = argparse.ArgumentParser(prog="python -m grader.notebooks")
    parser.add_argument("which")
    parser.add_argument("--shown-as", default="this notebook")
    parser.add_argument("--workspace")
    args = parser.parse_args(argv)
    cells = json.loads(sys.stdin.read())["cells"]
    from .course import find_course
    from .errors import GradewiseError
    from .reader import read_cells

    try:
        with Grader(find_course()) as grader:
            course = grader.course
            spec = course.find(args.which)
            result = grader.grade(spec, read_cells(cells, args.shown_as), args.shown_as)
    except GradewiseError as exc:
        return {"error": str(exc)}
    if args.workspace:
        from .workspace import Workspace
        Workspace(Path(args.workspace)).progress().record(result)
    numbers = [int(p.name[2:4]) for p in course.spec_paths()]
    text, html = _report(result, numbers)
    return {"result": result.to_json(), "text": text, "html": html}


def _report(result, numbers) -> tuple[str, str]:
    import io

    from rich.console import Console, Group
    from rich.jupyter import JUPYTER_HTML_FORMAT
    from rich.text import Text

    from .report import exercise_renderable

    parts = [exercise_renderable(result, numbers, notebook=True)]
    missing = [f"`{c.function}`" for c in result.checks if c.diagnosis == "missing-function"]
    if missing:
        names = ", ".join(dict.fromkeys(missing))
        parts.insert(0, Text(MISSING_NOTE.format(names=names), style="bold cyan"))
    console = Console(file=io.StringIO(), record=True, width=REPORT_WIDTH, color_system="truecolor",
                      force_terminal=True, force_jupyter=False, highlight=False)
    console.print(Group(*parts))
    text = "\n".join(line.rstrip() for line in console.export_text(clear=False).splitlines())
    return text, console.export_html(inline_styles=True, code_format=JUPYTER_HTML_FORMAT)


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    print(json.dumps(_grade_for_kernel(sys.argv[1:]), default=lambda v: v.item()))
    sys.stdout.flush()
    os._exit(0)
