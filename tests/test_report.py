"""How results read in the terminal, and what the fast path does not import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from grader.report import next_step
from grader.results import CheckResult, Evidence, ExerciseResult, format_value

from conftest import REPO, render


def test_a_failed_check_shows_case_expected_got_and_the_worst_entry(plain_env):
    evidence = Evidence("batch", "N ≠ C", [("F", "(4, 3) float64 in [-2, 2]")],
                        expected=np.array([[0.25, 0.5], [1.0, 2.0]]),
                        got=np.array([[0.25, 0.5], [1.0, 9.0]]), worst_index=(1, 1),
                        relative_error=0.64, expected_label="finite diff.")
    check = CheckResult("gradient", "grad", "gradcheck", False, 0, 2,
                        message="case 'batch': relative error 0.64", diagnosis="transposed",
                        hint=2, evidence=evidence, failed_cases=["batch", "square"], total_cases=3)
    text = render(check, width=80)
    assert "✗ gradient" in text and "0/2" in text
    assert "[transposed] case 'batch': relative error 0.64" in text and "(see hint 2)" in text
    assert "failed on 2 of 3 cases: batch, square" in text
    assert "batch — N ≠ C" in text and "F" in text and "(4, 3) float64" in text
    assert "finite diff." in text and "rel. error   0.64" in text and "index (1, 1)" in text
    # one format for expected and got, columns aligned, the worst entry's difference told
    assert "[[ 0.2500 0.5000]" in text and "9.0000◂]]  (2, 2)" in text
    assert "2.0000 vs 9.0000" not in text and "2 vs 9, difference 7, relative 3.5" in text


def test_the_worst_entry_is_highlighted():
    text = format_value(np.array([1.0, 2.0, 3.0]), worst_index=(2,), worst_style="bold red")
    assert [span.style for span in text.spans if text.plain[span.start:span.end].strip() == "3"] \
        == ["bold red"]


def test_large_arrays_are_cut_around_the_worst_entry():
    array = np.arange(400.0).reshape(20, 20)
    plain = format_value(array, worst_index=(15, 17)).plain
    assert "317" in plain and "…" in plain and plain.count("\n") < 10


def test_next_step_words_each_situation():
    stub = ExerciseResult(3, "jacobians", "J", 0, 10, file="workspace/ex03_jacobians.py",
                          checks=[CheckResult("c", "sigmoid", "compare", False, 0, 10,
                                              diagnosis="not-implemented")])
    assert "Fill in `sigmoid` first" in next_step(stub, [1, 2, 3, 4])
    wrong = ExerciseResult(3, "jacobians", "J", 0, 10, file="f.py",
                           checks=[CheckResult("c", "sigmoid", "compare", False, 0, 10,
                                               diagnosis="transposed", hint=2)])
    assert "Fix `sigmoid` (c)" in next_step(wrong, [3]) and "Hint 2" in next_step(wrong, [3])
    done = ExerciseResult(3, "jacobians", "J", 10, 10, checks=[])
    assert "grade exercise 4" in next_step(done, [1, 2, 3, 4])
    assert "last exercise" in next_step(done, [1, 2, 3])


def test_grading_a_py_file_as_json_imports_neither_rich_nor_nbformat(tmp_path):
    probe = ("import sys\nfrom grader.cli import main\n"
             f"main(['exercise', '1', '--file', {str(REPO / 'solutions' / 'ex01_softmax.py')!r}, '--json'])\n"
             "print([m for m in ('rich', 'nbformat', 'numpy.random') if m in sys.modules])\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={"GRADEWISE_COURSE": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
