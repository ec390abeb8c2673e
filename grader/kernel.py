"""`check(N)` inside a Jupyter kernel: grade the functions the kernel defines now.

`check(N)` never runs the student's code, nor loads a reference solution, inside the kernel.
It sends the kernel's input history, as typed (`input_hist_raw`), to a fresh
`python -m grader.kernelcheck` process, which reads it with `grader.reader.read_cells` (the
very reading `grade exercise N --file` gives a saved notebook: IPython's transformation,
then the definitions) and grades it with the same core. A fresh process rather than a
`Grader` kept in the kernel because the Grader's sandbox forks from the process that creates
it: forked from a kernel, every worker would hold a copy of the kernel (its threads, zmq
sockets, the student's variables and any solution an earlier grading there had loaded). A
grading process costs about 0.2 s. The process answers with the result as JSON
(`ExerciseResult.to_json`, read back here without loss) and its report as text and HTML.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .results import ExerciseResult

NOT_IN_KERNEL = ("check({number}) grades the functions of a running Jupyter notebook; "
                 "outside Jupyter run `grade exercise {number}` (or `grade watch {number}`).")


def check(exercise, workspace=None):
    """Grade exercise `exercise` (number or slug) on the functions this kernel defines now."""
    shell = _kernel()
    if shell is None:
        print(NOT_IN_KERNEL.format(number=exercise), file=sys.stderr)
        return None
    cells = list(shell.history_manager.input_hist_raw)  # as typed: magics not yet rewritten
    answer = grade_elsewhere(str(exercise), cells, _notebook_name(shell),
                             _progress_folder(workspace))
    if "error" in answer:
        print(f"Error: {answer['error']}", file=sys.stderr)
        return None
    from IPython.display import display

    bundle = {"text/plain": answer["text"], "text/html": answer["html"]}
    display(bundle, raw=True)
    return NotebookResult.shown(answer["result"], bundle, shell.execution_count)


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


def grade_elsewhere(which: str, cells: list, shown_as: str, folder: str | None) -> dict:
    """What `grader.kernelcheck` answers for the kernel's history `cells`: {"result",
    "text", "html"}, or {"error"} for a user error. Raises RuntimeError when the process
    fails (a bug: its traceback is in the message)."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [package_parent,
                                                       os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "grader.kernelcheck", which, "--shown-as", shown_as]
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
    def shown(cls, data: dict, bundle: dict, shown_in) -> "NotebookResult":
        """The result in `data` (`ExerciseResult.to_json`), displayed as `bundle`, already
        shown by the cell of execution count `shown_in`."""
        result = cls(**vars(ExerciseResult.from_json(data)))
        result._bundle, result._shown_in = bundle, shown_in
        return result

    def _ipython_display_(self):
        kernel = _kernel()
        if kernel is not None and kernel.execution_count == self._shown_in:
            self._shown_in = None  # shown once by check(); `result` in a later line shows it
            return
        from IPython.display import display

        display(self._bundle, raw=True)
