"""A correct solution in every odd form seen in real submissions gets full marks, the same
in `grade exercise --file`, in `grade batch` and through Gradescope's `run_autograder`:
notebooks with scratch cells that raise, call input(), sleep or plot; definitions inside
`%%time` / `%%capture` cells; a `from __future__` import at the top of a later cell; lines
of an expression that start with `%` or `!=`; megabytes of plot outputs; IPython commands;
a stub cell followed by the solution; a cell that does not compile; the notebook that
`grade notebook` writes, check cell included; a .py saved with a byte-order mark, or in
Latin-1 with a PEP 263 declaration, or calling `check(N)` itself.

Only public surfaces are used (the CLI, run_batch, run_autograder), so these tests also run
against an older gradewise, where each form scored 0 or failed outright."""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.batch import BatchOptions, run_batch
from grader.cli import main
from grader.notebooks import notebook_text
from grader.sandbox import Limits
from grader.stubs import function_stub

from conftest import COURSE, REPO, solution_source

EX1, EX2 = COURSE.find("1"), COURSE.find("2")
FAST = BatchOptions(jobs=2, limits=Limits(call_timeout=2.0, import_timeout=5.0))


def notebook(*cells: str, outputs: int = 0) -> bytes:
    """A notebook of code cells, after a Markdown cell; `outputs` plot cells of 0.5 MB each."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# My homework")]
    nb.cells += [nbformat.v4.new_code_cell(text) for text in cells]
    noise = random.Random(0)
    for number in range(outputs):
        cell = nbformat.v4.new_code_cell(f"plt.imshow(np.random.randn(64, 64))  # figure {number}")
        png = base64.b64encode(noise.randbytes(375_000)).decode()
        cell.outputs = [nbformat.v4.new_output("display_data", data={
            "image/png": png, "text/plain": "<Figure size 640x480 with 1 Axes>"})]
        nb.cells.append(cell)
    return nbformat.writes(nb).encode("utf-8")


def generated_notebook(spec) -> bytes:
    """What `grade notebook N` writes, with the reference code in the setup cell (the stub
    cells emptied) and the check cell `from grader import check; check(N)` left as it is."""
    nb = nbformat.reads(notebook_text(spec), as_version=4)
    for cell in nb.cells:
        if cell.get("id") == f"ex{spec.number:02d}-setup":
            cell.source = solution_source(spec)
        elif cell.get("id", "").startswith(f"ex{spec.number:02d}-fn-"):
            cell.source = "# done above"
    return nbformat.writes(nb).encode("utf-8")


def stubs(spec) -> str:
    return "\n\n".join(function_stub(f) for f in spec.functions)


#: form → (suffix, the file's bytes for a spec)
FORMS = {
    "nb-scratch-cell-raises": (".ipynb", lambda spec: notebook(
        solution_source(spec), "print(softmax(logits))  # `logits` was never defined")),
    "nb-scratch-cell-calls-input": (".ipynb", lambda spec: notebook(
        solution_source(spec), 'n = int(input("how many classes? "))\nprint(n)')),
    "nb-scratch-cells-sleep-and-plot": (".ipynb", lambda spec: notebook(
        solution_source(spec), "import time\ntime.sleep(600)",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()")),
    "nb-definitions-in-time-and-capture-cells": (".ipynb", lambda spec: notebook(
        "%%capture out\nimport numpy as np", "%%time\n" + solution_source(spec))),
    "nb-future-import-in-a-later-cell": (".ipynb", lambda spec: notebook(
        "import numpy as np", "from __future__ import annotations\n" + solution_source(spec)
        + "\n\ndef annotated(x: NotDefinedAnywhere) -> NotDefinedEither:\n    return x\n")),
    "nb-lines-starting-with-percent-or-not-equal": (".ipynb", lambda spec: notebook(
        solution_source(spec) + "\n\nREMAINDER = (7\n% 4)\nDIFFERENT = (1\n!= 2)\n"
        "\n\ndef constants():\n    return REMAINDER, DIFFERENT\n")),
    "nb-over-5mb-of-plot-outputs": (".ipynb", lambda spec: notebook(
        "import numpy as np\nimport matplotlib.pyplot as plt", solution_source(spec),
        outputs=14)),
    "nb-ipython-commands": (".ipynb", lambda spec: notebook(
        "%run helpers.py\n%matplotlib inline\n!pip install numpy\nnp.sum?",
        solution_source(spec), "%timeit softmax\n%%bash\necho hello")),
    "nb-stub-cell-then-the-solution": (".ipynb", lambda spec: notebook(
        stubs(spec), solution_source(spec))),
    "nb-a-cell-that-does-not-compile": (".ipynb", lambda spec: notebook(
        solution_source(spec), "def unfinished(x:\n    return", "return 5")),
    "nb-written-by-grade-notebook": (".ipynb", generated_notebook),
    "py-utf8-byte-order-mark": (".py", lambda spec: b"\xef\xbb\xbf"
                                + solution_source(spec).encode("utf-8")),
    "py-latin-1-with-a-coding-declaration": (".py", lambda spec: (
        "# -*- coding: latin-1 -*-\n# café: 0 · log 0 = 0\n" + solution_source(spec))
        .encode("latin-1")),
    "py-calling-check": (".py", lambda spec: (
        solution_source(spec) + f"\n\nfrom grader import check\ncheck({spec.number})\n")
        .encode("utf-8")),
}


def write_form(folder: Path, form: str, spec) -> Path:
    suffix, build = FORMS[form]
    path = folder / f"{spec.stem}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build(spec))
    return path


@pytest.mark.parametrize("form", FORMS)
def test_grade_exercise_file_gives_full_marks(form, ws, tmp_path, capsys):
    path = write_form(tmp_path / form, form, EX1)
    assert main(["exercise", "1", "--file", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["error"], result["score"]) == (None, EX1.points), result
    assert "check(1) grades" not in result["output"]  # check() stays quiet when graded


def test_grade_batch_gives_full_marks(tmp_path):
    subs = tmp_path / "subs"
    for form in FORMS:
        for spec in (EX1, EX2):
            write_form(subs / form, form, spec)
    summary = run_batch(subs, tmp_path / "out", COURSE, [EX1, EX2], FAST)
    assert summary["unmatched"] == []
    for form in FORMS:
        record = json.loads((tmp_path / "out" / "feedback" / f"{form}.json").read_text())
        assert record["score"] == EX1.points + EX2.points, (form, record["results"])


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("gs") / "autograder.zip"
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "gradescope", "--out", str(out),
                           "--exercises", "1-2"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return out


FORM_PAIRS = list(zip(list(FORMS)[::2], list(FORMS)[1::2]))


@pytest.mark.parametrize("first,second", FORM_PAIRS, ids=lambda form: form)
def test_run_autograder_gives_full_marks(first, second, autograder_zip, tmp_path):
    """Exercise 1 in one form, exercise 2 in another: one run grades both."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(root / "source")
    write_form(root / "submission", first, EX1)
    write_form(root / "submission", second, EX2)
    env = {**os.environ, "GRADEWISE_AUTOGRADER_ROOT": str(root),
           "GRADEWISE_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    failed = [t for t in results["tests"] if t["status"] != "passed"]
    assert results["score"] == pytest.approx(EX1.points + EX2.points), failed
