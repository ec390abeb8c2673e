"""`grader.reader`: a notebook means what IPython runs (its own input transformation), every
line is shown where the student wrote it, a file is decoded as Python decodes it, only
regular files are opened, and hostile inputs are refused cheaply; and the messages that come
with it: what was not run, a function defined twice, a callee that is not implemented, a
file the code reads, a name an IPython command would have defined."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader import cells, reader
from grader.errors import GradewiseError
from grader.feedback import feedback_markdown
from grader.results import StudentResults
from grader.reader import read_cells, read_submission
from grader.report import exercise_renderable

from conftest import COURSE, REPO, render, solution_source

EX1 = COURSE.find("1")
SOFTMAX = ("def softmax(f):\n    e = np.exp(f - np.max(f, axis=-1, keepdims=True))\n"
           "    return e / np.sum(e, axis=-1, keepdims=True)\n")
CLASSIFIER = "def softmax_classifier(W, X):\n    return softmax(X @ W.T)\n"
STUB = "def softmax(f):\n    raise NotImplementedError\n"


def write_notebook(path: Path, *cells: str) -> Path:
    """Cell 1 is Markdown; code cells are 2, 3, ..."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Exercise 1")]
    nb.cells += [nbformat.v4.new_code_cell(text) for text in cells]
    nbformat.write(nb, path)
    return path


def run(code: str) -> dict:
    namespace = {}
    exec(compile(code, "<graded>", "exec", dont_inherit=True), namespace)
    return namespace


# -- IPython's rules ---------------------------------------------------------------------------

def test_lines_that_start_with_percent_or_not_equal_inside_an_expression_stay_python():
    submission = read_cells(["", "REMAINDER = (7\n% 4)\nDIFFERENT = (1\n  != 2)\n"
                                 "TEXT = '''\n%s\n!x'''",
                             "def uses():\n    return REMAINDER, DIFFERENT, TEXT"])
    assert run(submission.code)["uses"]() == (3, True, "\n%s\n!x")
    assert submission.notes == () and submission.commands == ()


def test_cell_magics_keep_their_body_when_they_run_it_in_the_kernel_namespace():
    submission = read_cells(["", "%%time\ndef a():\n    return 1",
                             "\n%%capture captured --no-stderr\n%%time\ndef b():\n    return 2",
                             "%%prun -q\ndef c():\n    return 3",
                             "%%timeit -n1\ndef d():\n    return 4",
                             "%%bash\necho not python", "%%writefile x.py\ndef e(): pass"])
    namespace = run(submission.code)
    assert [namespace[name]() for name in "abc"] == [1, 2, 3]
    assert "d" not in namespace and "e" not in namespace
    assert submission.label(submission.code.splitlines().index("def b():") + 1) == "In [2], line 4"
    assert submission.notes == (
        "In [4] is a `%%timeit` cell: IPython runs its code inside a function of its own, so "
        "nothing it defines is kept, in Jupyter as here. Define your functions in a cell of "
        "their own.",
        "not run while grading: In [5], a `%%bash` cell (only Python cells are graded)",
        "not run while grading: In [6], a `%%writefile` cell (only Python cells are graded)")


def test_line_magics_shell_and_help_lines_are_listed_with_their_cell_and_line(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "import numpy as np\n%matplotlib inline",
                          "files = !ls\n!pip install \\\n    numpy\nnp.sum?\n" + SOFTMAX,
                          "In [3]: x = %time 1 + 1\n>>> y = 2")
    submission = read_submission(path)
    assert submission.commands == ("`%matplotlib inline` (cell 2, line 2)",
                                   "`files = !ls` (cell 3, line 1)",
                                   "`!pip install numpy` (cell 3, line 2)",
                                   "`np.sum?` (cell 3, line 4)",
                                   "`x = %time 1 + 1` (cell 4, line 1)")
    assert all(f"not run while grading: {c}" in submission.notes for c in submission.commands)
    lines = submission.code.splitlines()
    assert submission.label(lines.index("def softmax(f):") + 1) == "cell 3, line 5"
    assert "get_ipython" not in submission.code and "softmax" in run(submission.code)


def test_future_imports_are_hoisted_and_hold_for_later_cells():
    submission = read_cells(["", "import numpy as np",
                             "from __future__ import annotations\ndef f(x: Undefined) -> int:\n"
                             "    return 1",
                             "def g(x: AlsoUndefined):\n    return 2",
                             "x = 1\nfrom __future__ import annotations"])  # not at the top
    assert submission.code.startswith("from __future__ import annotations\n")
    namespace = run(submission.code)
    assert namespace["f"](0) == 1 and namespace["g"](0) == 2
    assert any(n.startswith("In [4] does not compile (SyntaxError at line 2: from __future__ "
                            "imports must occur at the beginning of the file)")
               for n in submission.notes)


def test_scratch_cells_are_not_run_and_noted_once_per_notebook(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "import numpy as np\nimport json", SOFTMAX,
                          "print(softmax(logits))", "n = int(input())\nimport time\ntime.sleep(99)",
                          "from grader import check; check(1)", '"""a note"""\npass')
    submission = read_submission(path)
    assert submission.notes == ("only definitions are graded (functions, classes, and the "
                                "imports and constants they use): the other statements of "
                                "cell 4 and cell 5 were not run",)
    assert "input" not in submission.code and "check" not in submission.code


def test_a_graded_assignment_that_fails_says_where_and_why(grader, tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "import numpy as np",
                          "LOGITS = np.loadtxt('my_logits.txt')\n" + SOFTMAX
                          + "\ndef softmax_classifier(W, X):\n"
                            "    return softmax(X @ W.T) + 0 * LOGITS.sum()\n")
    result = grader.grade(EX1, read_submission(path), "nb.ipynb")
    assert "[gradewise] cell 3, line 1 failed while grading (FileNotFoundError: " in result.output
    assert "(graded code runs in an empty folder, without your other files" in result.output
    classifier = [c for c in result.checks if c.function == "softmax_classifier"]
    assert all("NameError: name 'LOGITS' is not defined" in c.message for c in classifier)
    assert result.score == EX1.points - sum(c.max_score for c in classifier)


# -- places: cell k, line j ------------------------------------------------------------------

def test_tracebacks_and_your_line_point_to_the_cell_and_its_line(grader, tmp_path):
    raising = "def softmax(f):\n    x = 1\n    raise ValueError('boom')\n"
    path = write_notebook(tmp_path / "nb.ipynb", "import numpy as np", "# scratch\nx = 3",
                          raising, CLASSIFIER)
    result = grader.grade(EX1, read_submission(path), "nb.ipynb")
    first = result.checks[0]
    assert first.evidence.trace == [("cell 4, line 3", "softmax", "raise ValueError('boom')")]
    assert "cell 4, line 3 in softmax: raise ValueError('boom')" in render(first)
    assert "- your cell 4, line 3 in `softmax`: `raise ValueError('boom')`" in \
        feedback_markdown(StudentResults("s", 0, [result]))
    calls = result.checks[-1].evidence.trace
    assert calls[0] == ("cell 5, line 2", "softmax_classifier", "return softmax(X @ W.T)")


def test_an_error_while_the_definitions_load_names_the_cell(grader, tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "import numpy as np",
                          "@undefined_decorator\n" + SOFTMAX)
    result = grader.grade(EX1, read_submission(path), "nb.ipynb")
    assert result.error.startswith("your notebook raised NameError while its definitions were "
                                   "loaded (cell 3, line 1): name 'undefined_decorator' is not "
                                   "defined")
    assert result.error_lines == [("cell 3, line 1", "@undefined_decorator")]
    assert "cell 3, line 1: @undefined_decorator" in render(exercise_renderable(result, [1, 2]))


# -- decoding ------------------------------------------------------------------------------------

def test_a_py_file_is_decoded_as_python_decodes_it(tmp_path):
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbfNAME = 'caf\xc3\xa9'\n")
    assert run(read_submission(bom).code)["NAME"] == "café"
    declared = tmp_path / "latin.py"
    declared.write_bytes(b"# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n")
    assert run(read_submission(declared).code)["NAME"] == "café"
    assert subprocess.run([sys.executable, str(declared)]).returncode == 0  # as Python does


def test_a_file_that_is_not_utf8_and_declares_nothing_is_refused_in_one_line(tmp_path):
    path = tmp_path / "ex01.py"
    path.write_bytes(b"import numpy as np\n\nNAME = 'caf\xe9'\n")
    with pytest.raises(GradewiseError) as info:
        read_submission(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line 3 is not UTF-8 text (byte 0xe9): save the file "
                              "as UTF-8, or declare its encoding")
    assert "\n" not in message
    unknown = tmp_path / "unknown.py"
    unknown.write_bytes(b"# coding: klingon\nx = 1\n")
    with pytest.raises(GradewiseError, match="unknown encoding: klingon"):
        read_submission(unknown)


# -- opening ---------------------------------------------------------------------------------

def test_a_named_pipe_is_refused_at_once_by_every_path(tmp_path, ws):
    fifo = tmp_path / "subs" / "ann" / "ex01_softmax.py"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    with pytest.raises(GradewiseError, match="not a regular file"):
        read_submission(fifo)
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "exercise", "1", "--file",
                           str(fifo)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1 and "not a regular file (a named pipe?" in done.stderr
    done = subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(tmp_path / "subs"),
                           "--out", str(tmp_path / "out"), "--exercises", "1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "out" / "feedback" / "ann.json").read_text())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert record["score"] == 0
    assert "ann/ex01_softmax.py" in json.dumps(summary["unmatched"]) + json.dumps(record)


def test_a_folder_is_not_a_file(tmp_path):
    (tmp_path / "work.ipynb").mkdir()
    with pytest.raises(GradewiseError, match="a folder, not a file"):
        read_submission(tmp_path / "work.ipynb")


# -- bounds ----------------------------------------------------------------------------------

def test_hostile_notebooks_are_refused_cheaply(tmp_path):
    many = tmp_path / "many.ipynb"
    many.write_bytes(b'{"cells": [' + b"[]," * 1_000_000 + b'[]], "x": "'
                     + b"," * 1_000_000 + b'"}')
    deep = tmp_path / "deep.ipynb"
    deep.write_bytes(b"[" * 200_000)
    code = tmp_path / "code.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1\n" * 1_000_000)])
    nbformat.write(nb, code)
    huge = tmp_path / "huge.ipynb"
    with open(huge, "wb") as fh:
        fh.truncate(reader.MAX_NOTEBOOK_BYTES + 1)  # sparse: refused by its size, unread
    for path, problem in ((huge, "larger than 64 MB, not graded"),
                          (many, "more than 2,000,000 JSON values"),
                          (deep, "not a readable Jupyter notebook"),
                          (code, "its code cells hold more than 5 MB of code")):
        with pytest.raises(GradewiseError, match=problem):
            read_submission(path)


def test_ipython_syntax_beyond_the_tokenizer_budget_is_refused(monkeypatch):
    monkeypatch.setattr(cells, "TOKENIZE_BUDGET", 50_000)
    cell = "%time x = 1\n" * 100 + "y = 2\n" * 2000
    with pytest.raises(GradewiseError, match="too much IPython syntax to read in reasonable "
                                             r"time \(In \[1\]\), not graded"):
        read_cells(["", cell])
    assert read_cells(["", "%time x = 1\n" + "y = 2\n" * 100]).commands  # within it


# -- messages --------------------------------------------------------------------------------

def test_a_function_defined_twice_is_named_with_both_places(grader, tmp_path):
    module = tmp_path / "ex01.py"
    module.write_text("import numpy as np\n\n" + SOFTMAX + "\n" + CLASSIFIER + "\n" + STUB)
    result = grader.grade(EX1, read_submission(module), "ex01.py")
    assert result.notes == ["`softmax` is defined twice: at line 3 and at line 10. The last "
                            "one, at line 10, is the one graded (in Python the last "
                            "definition wins)."]
    path = write_notebook(tmp_path / "nb.ipynb", "import numpy as np", SOFTMAX, CLASSIFIER, STUB)
    result = grader.grade(EX1, read_submission(path), "nb.ipynb")
    assert result.notes == ["`softmax` is defined twice: at cell 3, line 1 and at cell 5, line "
                            "1. The last one, at cell 5, line 1, is the one graded (in Python "
                            "the last definition wins)."]
    classifier = [c for c in result.checks if c.function == "softmax_classifier"]
    assert {c.diagnosis for c in classifier} == {"uses-failing-function"}
    assert all("`softmax_classifier` fails because `softmax` is not implemented yet" in c.message
               for c in classifier)


def test_a_caller_of_an_unimplemented_function_is_not_called_unimplemented(grader):
    result = grader.grade_source(EX1, "import numpy as np\n\n" + STUB + "\n" + CLASSIFIER,
                                 "/s/ex01.py", "ex01.py")
    by_function = {c.function: c for c in result.checks}
    assert by_function["softmax"].diagnosis == "not-implemented"
    assert by_function["softmax_classifier"].diagnosis == "uses-failing-function"
    assert "fill in `softmax` first" in by_function["softmax_classifier"].message
    own = grader.grade_source(EX1, "import numpy as np\n\n" + SOFTMAX
                              + "\ndef softmax_classifier(W, X):\n    raise NotImplementedError\n",
                              "/s/ex01.py", "ex01.py")
    assert own.checks[-1].diagnosis == "not-implemented" and own.score == 6.5


def test_in_a_kernel_only_a_stub_run_again_over_the_code_is_worth_a_note():
    edits = read_cells(["", "def softmax(f):\n    return 0", "def softmax(f):\n    return 1"])
    from grader.grading import defined_again

    assert defined_again(EX1, edits) == []  # editing a function and running it again
    stub_again = read_cells(["", "def softmax(f):\n    return 0", STUB])
    assert defined_again(EX1, stub_again) == [
        "`softmax` was defined again as the unfilled stub at In [2], line 1, after your code "
        "at In [1], line 1: the kernel now has the stub, and that is what is graded. Run the "
        "cell with your code again."]


def test_files_read_by_the_code_get_the_empty_folder_explanation(grader, tmp_path):
    (tmp_path / "logits.txt").write_text("1 2 3\n")
    module = tmp_path / "ex01.py"
    module.write_text("import numpy as np\nDATA = np.loadtxt('logits.txt')\n" + SOFTMAX
                      + CLASSIFIER)
    result = grader.grade(EX1, read_submission(module), "ex01.py")
    assert "FileNotFoundError while it was loaded (line 2)" in result.error
    assert "Graded code runs in an empty folder, without your other files" in result.error
    in_a_call = grader.grade_source(EX1, "import numpy as np\n" + CLASSIFIER
                                    + "def softmax(f):\n    return np.loadtxt('logits.txt')\n",
                                    "/s/ex01.py", "ex01.py")
    assert all("Graded code runs in an empty folder" in c.message
               for c in in_a_call.checks if c.function == "softmax")
    other = grader.grade_source(EX1, "import numpy as np\n" + CLASSIFIER
                                + "def softmax(f):\n    raise ValueError('no')\n",
                                "/s/x.py", "x.py")
    assert not any("empty folder" in c.message for c in other.checks)


def test_a_missing_name_points_to_the_ipython_command_that_was_not_run(grader, tmp_path):
    (tmp_path / "helpers.py").write_text("def shift(f):\n    return f - f.max()\n")
    path = write_notebook(tmp_path / "nb.ipynb", "%run helpers.py\nimport numpy as np",
                          "def softmax(f):\n    e = np.exp(shift(f))\n    return e / e.sum()\n",
                          CLASSIFIER)
    result = grader.grade(EX1, read_submission(path), "nb.ipynb")
    assert "not run while grading: `%run helpers.py` (cell 2, line 1)" in result.notes
    assert result.checks[0].message.endswith(
        "`softmax` raised NameError: name 'shift' is not defined. Not run while grading: "
        "`%run helpers.py` (cell 2, line 1). If `shift` comes from there, define it in the "
        "notebook itself.")


def test_check_called_by_a_graded_py_file_is_quiet_and_imports_nothing(grader):
    # as when the package's files are out of the sandbox's sight: any import of it fails
    source = (solution_source(EX1) + "\nimport sys\nsys.modules['grader.kernel'] = None\n"
              "from grader import check\nprint('answer', check(1))\n")
    result = grader.grade_source(EX1, source, "/s/ex01.py", "ex01.py")
    assert result.score == EX1.points and result.output == "answer None\n"


def test_hostile_cells_are_bounded_and_the_rest_still_read():
    huge_cell = "x = 1\n" * (cells.MAX_CELL_BYTES // 6 + 1)
    deep = "x = " + "f(" * 5000 + ")" * 5000
    submission = read_cells(["", huge_cell, deep, "def g():\n    return 1"])
    assert "In [1] holds more than 256 KB of code: not graded" in submission.notes
    assert any(n.startswith("In [2] does not compile") for n in submission.notes)
    assert run(submission.code)["g"]() == 1
    with pytest.raises(GradewiseError, match="more than 50,000 statements"):
        read_cells(["", *["x = 1\n" * 10_000] * 6])
