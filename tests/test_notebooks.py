"""Notebooks: what `grade notebook` writes, `grade exercise --file` on notebooks, and
`check(N)` run for real in an IPython kernel through nbclient."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.cli import main
from grader.grading import Grader
from grader.notebooks import notebook_text
from grader.reader import read_cells, read_submission
from grader.sandbox import Limits
from grader.spec import load_spec

from conftest import COURSE, REPO

SOFTMAX = ("def softmax(f):\n    e = np.exp(f - np.max(f, axis=-1, keepdims=True))\n"
           "    return e / np.sum(e, axis=-1, keepdims=True)\n")
SOFTMAX_OVERFLOWS = "def softmax(f):\n    e = np.exp(f)\n    return e / e.sum(axis=-1, keepdims=True)\n"
CLASSIFIER = "def softmax_classifier(W, X):\n    return softmax(X @ W.T)\n"


def filled(spec, **sources) -> nbformat.NotebookNode:
    """The generated notebook of `spec` with some cells' sources replaced (by cell role)."""
    nb = nbformat.reads(notebook_text(spec), as_version=4)
    for cell in nb.cells:
        role = cell.id.split("-", 1)[1].replace("-", "_")
        if role in sources:
            cell.source = sources[role]
    return nb


# -- generated notebooks ---------------------------------------------------------------------

@pytest.mark.parametrize("spec_path", COURSE.spec_paths(), ids=lambda p: p.stem)
def test_generated_notebooks_are_valid_nbformat_4_with_stable_ids(spec_path):
    spec = load_spec(spec_path)
    nb = nbformat.reads(notebook_text(spec), as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4 and nb.nbformat_minor >= 5
    assert notebook_text(spec) == notebook_text(spec)  # byte for byte: ids are not random
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)
    kinds = [c.cell_type for c in nb.cells]
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert kinds[:2] == ["markdown", "markdown"]
    assert nb.cells[0].source.startswith(f"# Exercise {spec.number} · {spec.slug}")
    assert nb.cells[1].source == spec.statement.strip()  # Markdown with $...$ for MathJax
    assert code[0] == "import numpy as np"
    for function in spec.functions:
        assert any(c.startswith(f"def {function.name}{function.signature}:") for c in code)
    assert code[-1] == f"from grader import check; check({spec.number})"
    assert all(c.outputs == [] and c.execution_count is None
               for c in nb.cells if c.cell_type == "code")


def test_grade_notebook_writes_keeps_and_forces(ws, tmp_path, capsys):
    out = tmp_path / "nb"
    assert main(["notebook", "1", "--out", str(out), "--no-color"]) == 0
    path = out / "ex01_softmax.ipynb"
    assert path.is_file() and "Wrote" in capsys.readouterr().out
    path.write_text(path.read_text().replace("raise NotImplementedError", "return 1"))
    assert main(["notebook", "1", "--out", str(out), "--no-color"]) == 0
    assert "Kept" in capsys.readouterr().out and "return 1" in path.read_text()
    assert main(["notebook", "1", "--out", str(out), "--force", "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["status"] == "written" and "return 1" in Path(entry["backup"]).read_text()
    assert path.read_text() == notebook_text(COURSE.find("1"))
    assert main(["notebook", "all", "--json"]) == 0  # default: into the workspace
    written = {Path(e["path"]).name for e in json.loads(capsys.readouterr().out)}
    assert written == {f"{p.stem}.ipynb" for p in COURSE.spec_paths()}
    assert all((ws / name).is_file() for name in written)


# -- grade exercise --file on notebooks -------------------------------------------------------

def test_a_notebook_file_grades_its_definitions_and_lists_what_was_not_run(ws, tmp_path, capsys):
    spec = COURSE.find("1")
    nb = filled(spec, fn_softmax=SOFTMAX, fn_softmax_classifier=CLASSIFIER,
                scratch="%matplotlib inline\n!pip install nothing\nfiles = !ls\n"
                        "print(softmax(np.array([1.0, 2.0])).round(3))")
    nb.cells.insert(3, nbformat.v4.new_code_cell("%%bash\necho this cell is not Python"))
    path = tmp_path / "work.ipynb"
    nbformat.write(nb, path)
    assert main(["exercise", "1", "--file", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["error"] is None and result["score"] == result["max_score"]
    assert result["output"] == ""  # prints are scratch work: not run, and check(1) neither
    scratch = 1 + next(i for i, c in enumerate(nb.cells) if c.get("id") == "ex01-scratch")
    assert result["notes"] == [
        "not run while grading: cell 4, a `%%bash` cell (only Python cells are graded)",
        f"not run while grading: `%matplotlib inline` (cell {scratch}, line 1)",
        f"not run while grading: `!pip install nothing` (cell {scratch}, line 2)",
        f"not run while grading: `files = !ls` (cell {scratch}, line 3)",
        "only definitions are graded (functions, classes, and the imports and constants they "
        f"use): the other statements of cell {scratch} were not run"]


def test_a_long_running_demo_in_a_notebook_is_not_run(tmp_path):
    spec = COURSE.find("1")
    nb = filled(spec, fn_softmax=SOFTMAX, fn_softmax_classifier=CLASSIFIER,
                scratch="import time\nfor epoch in range(1000):\n    time.sleep(1)")
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    with Grader(COURSE, limits=Limits(import_timeout=1.0)) as grader:
        result = grader.grade(spec, read_submission(path), "demo.ipynb")
        assert result.score == 10  # the loop would have run into the 1 s limit
        # the same loop in a .py file runs (module semantics), and is stopped
        module = tmp_path / "demo.py"
        module.write_text("import time\nfor epoch in range(1000):\n    time.sleep(1)\n")
        result = grader.grade(spec, read_submission(module), "demo.py")
    assert result.score == 0 and "top-level code ran for more than 1 s" in result.error
    assert 'if __name__ == "__main__":' in result.error


# -- the kernel's definitions -----------------------------------------------------------------

def kernel_code(history: list[str]) -> str:
    return read_cells(history).code


def test_kernel_history_keeps_the_latest_definitions_and_what_they_need():
    history = [
        "",
        "import numpy as np\nimport json\nEPS = 1e-12\nW = np.random.randn(3, 4)",
        "def softmax(f):\n    return 0",
        "%time x = 1\nprint(softmax(W))\nfor i in range(9**9): pass",
        "def softmax(f:\n",  # does not parse: defined nothing in the kernel either
        "@staticmethod\ndef helper(x): return x + EPS\n\ndef softmax(f):\n    return helper(np.exp(f))",
        "from grader import check; check(1)",
        "P = softmax(W); slow = train_for_an_hour()",
    ]
    source = kernel_code(history)
    compile(source, "<kernel>", "exec")
    assert "import numpy as np" in source and "EPS = 1e-12" in source
    for left_out in ("import json", "W = ", "print(softmax", "range(9**9)", "get_ipython", "grader",
                     "train_for_an_hour", "def softmax(f:\n"):
        assert left_out not in source, left_out
    assert source.index("return 0") < source.index("return helper(np.exp(f))")
    assert "@staticmethod" in source
    namespace = {}
    exec(source, namespace)
    assert namespace["softmax"](0.0) == pytest.approx(1.0 + 1e-12)
    notes = read_cells(history).notes
    assert "not run while grading: `%time x = 1` (In [3], line 1)" in notes
    assert any(n.startswith("In [4] does not compile (SyntaxError at line 1") for n in notes)


def test_kernel_history_keeps_an_assignment_a_function_reads(capsys):
    source = kernel_code(["W = load()\nscale = 2.0\ncache = {}\ncache['k'] = 1\nunused = f(3)",
                          "def f(x):\n    return x * scale + cache['k']\n\ndef g():\n    return W"])
    namespace = {}
    exec(source, namespace)  # `W = load()` fails here as it did in the kernel: it is guarded
    assert namespace["f"](1.0) == 3.0 and "W = load()" in source and "unused = f(3)" not in source
    assert ("[gradewise] In [0], line 1 failed while grading (NameError: name 'load' is not "
            "defined): what it defines is missing") in capsys.readouterr().err


def test_kernel_history_keeps_aliases_and_lambdas():
    source = kernel_code(["import numpy as np\nsoftmax = lambda f: np.exp(f) / np.exp(f).sum()",
                          "def _impl(W, X):\n    return X @ W.T\n\nsoftmax_classifier = _impl",
                          "alias = softmax_classifier(1, 2)"])
    namespace = {}
    exec(source, namespace)
    assert namespace["softmax"](np.zeros(2)).tolist() == [0.5, 0.5]
    assert namespace["softmax_classifier"] is namespace["_impl"] and "alias" not in source


def grade_for_kernel(which: str, *cells: str) -> dict:
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "grader.notebooks", which],
                          input=json.dumps({"cells": ["", *cells]}),
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_grading_process_behind_check_answers_in_json():
    answer = grade_for_kernel("softmax", "import numpy as np\n" + SOFTMAX)
    assert answer["result"]["score"] == 6.5  # softmax_classifier was never run in the kernel
    assert "run the cell that defines `softmax_classifier` first" in answer["text"]
    assert answer["html"].startswith("<pre") and "Score" in answer["html"]
    assert "unknown exercise '42'" in grade_for_kernel("42")["error"]


def test_check_outside_a_kernel_says_where_to_grade(capsys):
    from grader import check

    assert check(1) is None
    assert "grade exercise 1" in capsys.readouterr().err


# -- check(N) in a real kernel ---------------------------------------------------------------

def run_notebook(nb, folder: Path):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    return nb


def check_cell_text(nb, cell_id) -> str:
    [cell] = [c for c in nb.cells if c.get("id") == cell_id]
    texts = []
    for output in cell.outputs:
        assert output.output_type != "error", output
        texts.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


def test_a_correct_notebook_gets_full_marks_in_the_kernel(ws, tmp_path):
    spec = COURSE.find("1")
    nb = filled(spec, fn_softmax=SOFTMAX, fn_softmax_classifier=CLASSIFIER,
                scratch="%time p = softmax(np.array([1.0, 2.0]))\n!echo shell\nprint(p)")
    nb.cells.append(nbformat.v4.new_code_cell("r = check(1)\nprint('score', r.score, r.full_marks)"))
    run_notebook(nb, tmp_path)
    check_cell = [c for c in nb.cells if c.get("id") == "ex01-check"][0]
    [output] = check_cell.outputs  # shown once: the returned result does not repeat it
    assert output.output_type == "display_data"
    assert "<pre" in output.data["text/html"] and "Score" in output.data["text/html"]
    text = output.data["text/plain"]
    assert "Exercise 1 · softmax" in text and "Score 10/10" in text
    assert "check(1)" not in text and "grade notebook 2" in text  # the notebook's next step
    assert "score 10.0 True" in check_cell_text(nb, nb.cells[-1].id)
    progress = json.loads((ws / ".gradewise" / "progress.json").read_text())
    assert progress["exercises"]["1"]["best"] == 10 and progress["exercises"]["1"]["attempts"] == 2


def test_a_mistake_in_the_kernel_shows_its_diagnosis_and_grading_stays_out_of_the_kernel(ws, tmp_path):
    spec = COURSE.find("1")
    nb = filled(spec, fn_softmax=SOFTMAX_OVERFLOWS, fn_softmax_classifier=CLASSIFIER)
    probe = ("import sys\nprint('solutions loaded:', [m for m in sys.modules "
             "if 'solution' in m or m in ('grader.grading', 'grader.sandbox.parent')])")
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    run_notebook(nb, tmp_path)
    text = " ".join(check_cell_text(nb, "ex01-check").split())  # whatever the line breaks
    assert "[no-max-subtraction]" in text and "subtract each row's maximum" in text
    assert "(see hint 2)" in text and "check(1)` again" in text
    assert "Score 5.5/10" in text
    assert "solutions loaded: []" in check_cell_text(nb, nb.cells[-1].id)


@pytest.mark.parametrize("softmax,score", [(SOFTMAX, 10), (SOFTMAX_OVERFLOWS, 5.5)],
                         ids=["correct", "overflows"])
def test_check_in_the_kernel_and_file_on_the_saved_notebook_agree(softmax, score, ws, tmp_path,
                                                                  capsys):
    """Scratch cells that raise and call input(), a definition in a `%%time` cell, a
    `from __future__` import at the top of a later cell: one notebook, one score."""
    spec = COURSE.find("1")
    later = ("from __future__ import annotations\n\ndef softmax_classifier(W: np.ndarray, "
             "X: NotDefinedInTheKernel) -> np.ndarray:\n    return softmax(X @ W.T)\n")
    nb = filled(spec, fn_softmax="%%time\n" + softmax, fn_softmax_classifier=later,
                scratch="print(softmax(logits))  # logits: never defined")
    at = next(i for i, c in enumerate(nb.cells) if c.get("id") == "ex01-check")
    nb.cells.insert(at, nbformat.v4.new_code_cell('n = int(input("how many classes? "))'))
    nb.cells.append(nbformat.v4.new_code_cell(
        "r = check(1)\nprint('kernel', r.score, [c.passed for c in r.checks])"))
    nbclient = pytest.importorskip("nbclient")
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o.ename for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == ["NameError", "StdinNotImplementedError"]  # the scratch cells failed
    kernel = check_cell_text(nb, nb.cells[-1].id).strip().splitlines()[-1]  # after its report
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    assert main(["exercise", "1", "--file", str(path), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert kernel == f"kernel {float(score)} {[c['passed'] for c in from_file['checks']]}"
    assert from_file["score"] == score
