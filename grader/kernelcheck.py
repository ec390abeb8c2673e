"""The process that grades for `check(N)` (`grader.kernel`): a kernel's history in, the
result and its report out.

    python -m grader.kernelcheck WHICH [--shown-as NAME] [--workspace DIR]
        stdin:  {"cells": [In[0], In[1], ...]}   the kernel's history, as typed
        stdout: {"result": ExerciseResult.to_json(), "text": report, "html": report}
                or {"error": "..."} for a user error (an unknown exercise, a broken spec)

The history is read as a saved notebook is (`grader.reader.read_cells`) and graded by the
same core as `grade exercise`; the progress is recorded in `--workspace`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .values import dumps

REPORT_WIDTH = 100  # characters; rich's own default in Jupyter is 115
MISSING_NOTE = ("check() grades what this kernel has defined: run the cell that defines {names} "
                "first.")


def grade_history(argv: list[str]) -> dict:
    """`python -m grader.kernelcheck WHICH --shown-as NAME [--workspace DIR]`: grade the
    kernel's history, `{"cells": [In[0], In[1], ...]}` on stdin; print the result, its report
    as text and HTML, or a user error, as JSON."""
    import argparse

    from .grading import Grader  # first: the sandbox forks before a solution is loaded

    parser = argparse.ArgumentParser(prog="python -m grader.kernelcheck")
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
    text, html = _report(result, course.numbers())
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


def main() -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    print(dumps(grade_history(sys.argv[1:])))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
