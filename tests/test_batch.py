"""`grade batch`: the layouts, the gradebook, feedback and summary, --resume, a batch killed
mid-way, and the real CLI (exit status, --json, plain progress lines when not a terminal)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader.batch import BatchOptions, parse_exercises, run_batch
from grader.gradebook import histogram
from grader.errors import GradewiseError
from grader.sandbox import Limits

from conftest import COURSE, REPO, mistake_source, solution_source

SPECS = [COURSE.find("1"), COURSE.find("2")]
EX1, EX2 = SPECS
MISTAKE = EX1.mistakes[0]
FAST = BatchOptions(jobs=2, limits=Limits(call_timeout=1.0, import_timeout=2.0))


def notebook(*sources: str) -> str:
    cells = [nbformat.v4.new_markdown_cell("# my homework"),
             nbformat.v4.new_code_cell("%matplotlib inline\n!pip install numpy")]
    cells += [nbformat.v4.new_code_cell(source) for source in sources]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One class with every layout, graded once for the tests below."""
    subs = tmp_path_factory.mktemp("class") / "subs"
    out = subs.parent / "out"
    write(subs / "ada" / f"{EX1.stem}.py", solution_source(EX1))
    write(subs / "ada" / f"{EX2.stem}.ipynb", notebook(solution_source(EX2)))
    write(subs / "ben" / f"{EX1.stem}.py", mistake_source(EX1, MISTAKE))
    write(subs / "ben" / "notes.txt", "my notes")
    write(subs / "ben" / "ex99_bogus.py", "x = 1\n")
    write(subs / "ben" / ".ipynb_checkpoints" / f"{EX1.stem}-checkpoint.ipynb", notebook("x = 1"))
    write(subs / "cy.py", solution_source(EX1) + "\n\n" + solution_source(EX2))
    write(subs / "dee.ipynb", notebook(solution_source(EX1)))
    write(subs / "eve" / f"{EX1.stem}.ipynb", '{"cells": [ broken')
    write(subs / "fay" / "homework" / "ex1-softmax-final.py", solution_source(EX1))
    write(subs / "README.txt", "instructions")
    os.symlink(COURSE.solutions_dir / EX2.solution, subs / "ben" / f"{EX2.stem}.py")
    summary = run_batch(subs, out, COURSE, SPECS, FAST)
    return subs, out, summary


def gradebook(out: Path) -> dict:
    with open(out / "gradebook.csv", newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


def test_every_layout_lands_in_the_gradebook(graded):
    _, out, _ = graded
    rows = gradebook(out)
    full = f"{EX1.points + EX2.points:g}"
    assert list(next(iter(rows.values()))) == ["student", EX1.stem, EX2.stem, "total"]
    assert rows["ada"]["total"] == full  # a .py and a notebook with magics
    assert rows["cy"]["total"] == full  # one module holding both exercises
    assert rows["dee"][EX1.stem] == f"{EX1.points:g}" and rows["dee"][EX2.stem] == "0"
    assert rows["fay"][EX1.stem] == f"{EX1.points:g}"  # exNN… found below the folder
    assert 0 < float(rows["ben"][EX1.stem]) < EX1.points and rows["ben"][EX2.stem] == "0"
    assert rows["eve"]["total"] == "0"
    assert sorted(rows) == ["ada", "ben", "cy", "dee", "eve", "fay"]


def test_feedback_json_holds_the_results_and_the_reasons(graded):
    _, out, _ = graded
    ben = json.loads((out / "feedback" / "ben.json").read_text())
    assert ben["student"] == "ben" and ben["max_score"] == EX1.points + EX2.points
    ex1, ex2 = ben["results"]
    assert ex1["exercise"] == 1 and ex1["file"] == f"ben/{EX1.stem}.py" and ex1["error"] is None
    failed = {c["name"]: c for c in ex1["checks"] if not c["passed"]}
    assert set(failed) == set(MISTAKE.fails)
    assert {c["diagnosis"] for c in failed.values()} <= {MISTAKE.id, "uses-failing-function"}
    assert ex2["submitted"] is False and "symbolic link" in ex2["error"]  # said, not "missing"
    fay = json.loads((out / "feedback" / "fay.json").read_text())
    assert fay["results"][1]["error"].startswith("not submitted")
    eve = json.loads((out / "feedback" / "eve.json").read_text())
    assert "not a readable Jupyter notebook" in eve["results"][0]["error"]
    dee = json.loads((out / "feedback" / "dee.json").read_text())
    assert "defines none of" in dee["results"][1]["error"]


def test_feedback_markdown_is_readable(graded):
    _, out, _ = graded
    text = (out / "feedback" / "ben.md").read_text()
    assert text.startswith("# Feedback for ben")
    assert f"[{MISTAKE.id}]" in text and "✗" in text and "✓" in text
    assert "symbolic link" in text  # why ex02_cross_entropy.py was not graded
    assert "**Not submitted:** no ex02" in (out / "feedback" / "fay.md").read_text()


def test_summary_has_means_histograms_pass_rates_and_unmatched_files(graded):
    _, out, summary = graded
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert summary["students"] == summary["graded"] == 6
    ex1 = summary["exercises"][0]
    assert sum(ex1["histogram"]["counts"]) == 6 and ex1["submitted"] == 6
    assert ex1["full_marks"] == 4  # ada, cy, dee, fay
    stable = next(c for c in ex1["checks"] if c["name"] == MISTAKE.fails[0])
    assert stable["most_common_diagnosis"] == MISTAKE.id and stable["pass_rate"] == 4 / 6
    unmatched = {u["path"]: u["reason"] for u in summary["unmatched"]}
    assert "README.txt" in unmatched and "ben/notes.txt" in unmatched
    assert "no exercise 99" in unmatched["ben/ex99_bogus.py"]
    assert "symbolic link" in unmatched[f"ben/{EX2.stem}.py"]
    assert "ben/.ipynb_checkpoints" in unmatched


def test_resume_grades_only_the_students_still_missing(graded, tmp_path):
    subs, out, _ = graded
    import shutil
    shutil.copytree(out, tmp_path / "out")
    before = (tmp_path / "out" / "feedback" / "ada.json").stat().st_mtime_ns
    write(subs.parent / "subs2" / "zed" / f"{EX1.stem}.py", solution_source(EX1))
    shutil.copytree(subs, subs.parent / "subs2", dirs_exist_ok=True, symlinks=True)
    seen = []
    run_batch(subs.parent / "subs2", tmp_path / "out", COURSE, SPECS,
              BatchOptions(jobs=1, limits=FAST.limits, resume=True),
              on_result=lambda name, record, done, total: seen.append((name, done, total)))
    assert seen == [(None, 6, 7), ("zed", 7, 7)]
    assert (tmp_path / "out" / "feedback" / "ada.json").stat().st_mtime_ns == before
    assert gradebook(tmp_path / "out")["zed"]["total"] == f"{EX1.points:g}"


def test_exercise_selection_and_its_errors():
    specs = COURSE.specs()
    assert [s.number for s in parse_exercises("1,2-2", specs)] == [1, 2]
    with pytest.raises(GradewiseError, match="1,3-5"):
        parse_exercises("one", specs)
    with pytest.raises(GradewiseError, match="no exercise"):
        parse_exercises("98-99", specs)


def test_histogram_bins_close_on_the_maximum():
    assert histogram([0, 1.9, 2, 9.99, 10], 10)["counts"] == [2, 1, 0, 0, 2]


# -- the real CLI ------------------------------------------------------------------------------

def run_cli(*args, **kwargs):
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, **kwargs)


def test_cli_batch_prints_progress_lines_then_the_class_summary(graded, tmp_path):
    subs, _, _ = graded
    done = run_cli("batch", str(subs), "--out", str(tmp_path / "o"), "--exercises", "1",
                   "--jobs", "2", "--timeout", "1")
    assert done.returncode == 0, done.stderr
    assert "[6/6]" in done.stdout and "students/s" in done.stdout
    assert "Class summary" in done.stdout and "most common diagnosis" in done.stdout
    assert "ben/notes.txt" in done.stdout


def test_cli_batch_json_prints_only_the_summary(graded, tmp_path):
    subs, _, _ = graded
    done = run_cli("batch", str(subs), "--out", str(tmp_path / "o"), "--exercises", "2",
                   "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["graded"] == 6 and [e["exercise"] for e in summary["exercises"]] == [2]


def test_cli_batch_user_errors_exit_1(tmp_path):
    done = run_cli("batch", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"))
    assert done.returncode == 1 and done.stderr.startswith("Error:")


def test_a_killed_batch_leaves_complete_files_and_resume_finishes_it(tmp_path):
    toy = Path(__file__).parent / "fixture_course"  # one exercise: scale (loops here), total
    subs, out = tmp_path / "subs", tmp_path / "out"
    names = ["s0", "s1", "s2", "s3"]
    for name in names:
        write(subs / name / "ex01_toy.py", "def total(x):\n    return float(sum(x))\n\n"
                                           "def scale(x, k):\n    while True:\n        pass\n")
    argv = [sys.executable, "-m", "grader.cli", "batch", str(subs), "--out", str(out),
            "--jobs", "1", "--timeout", "0.3"]
    env = {**os.environ, "GRADEWISE_COURSE": str(toy)}
    batch = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 60
    while not list((out / "feedback").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(batch.pid, signal.SIGKILL)
    batch.wait()
    graded_before = sorted(p.stem for p in (out / "feedback").glob("*.json"))
    assert 1 <= len(graded_before) < len(names)
    for path in [*out.iterdir(), *(out / "feedback").iterdir()]:  # every visible file is whole
        if path.is_file() and not path.name.startswith("."):
            text = path.read_text()
            if path.suffix == ".json":
                json.loads(text)
            elif path.suffix == ".csv":
                assert text.endswith("\n") and text.startswith("student,")
    assert set(gradebook(out)) <= set(graded_before)  # the gradebook follows the feedback
    done = subprocess.run(argv + ["--resume"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(gradebook(out)) == names
    assert f"[{len(names)}/{len(names)}]" in done.stdout
    assert not [p for p in out.rglob(".*.partial")]


def test_a_grading_process_that_dies_costs_only_its_student(tmp_path, monkeypatch):
    """Should a pool process die (a grader bug, the OOM killer), its student is graded once
    more, then scores 0 with the reason; the others are graded and the batch finishes."""
    import grader.batch as batch

    real = batch.grade_student

    def dies_on_bob(grader, specs, student):
        if student.name == "bob":
            os._exit(1)
        return real(grader, specs, student)

    monkeypatch.setattr(batch, "grade_student", dies_on_bob)
    for name in ("ada", "bob", "cy"):
        write(tmp_path / "subs" / name / f"{EX1.stem}.py", solution_source(EX1))
    summary = run_batch(tmp_path / "subs", tmp_path / "out", COURSE, [EX1], FAST)
    rows = gradebook(tmp_path / "out")
    assert summary["graded"] == 3 and rows["bob"]["total"] == "0"
    assert rows["ada"]["total"] == rows["cy"]["total"] == f"{EX1.points:g}"
    bob = json.loads((tmp_path / "out" / "feedback" / "bob.json").read_text())
    assert "grading process died" in bob["results"][0]["error"]
