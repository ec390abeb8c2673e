"""The self-study loop in the terminal: watch mode, progress that survives restarts and
corruption, progressive hints, reset with a backup."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.cli import main
from grader.course import Course
from grader.stubs import render_stub

from conftest import COURSE, REPO

TOY = Path(__file__).parent / "fixture_course"

SOLUTION = (REPO / "solutions" / "ex01_softmax.py").read_text()
OVERFLOWS = ("import numpy as np\n\ndef softmax(f):\n    e = np.exp(f)\n"
             "    return e / e.sum(axis=-1, keepdims=True)\n\n"
             "def softmax_classifier(W, X):\n    return softmax(X @ W.T)\n")


@pytest.fixture
def small_course(tmp_path) -> Course:
    """Exercise 1 of the course and the toy exercise as number 2: the loop over a whole
    course, without grading every shipped exercise."""
    root = tmp_path / "course"
    for folder in ("exercises", "solutions"):
        (root / folder).mkdir(parents=True)
    shutil.copy(REPO / "exercises" / "ex01_softmax.yaml", root / "exercises")
    shutil.copy(REPO / "exercises" / "ex01_softmax_grading.py", root / "exercises")
    shutil.copy(REPO / "solutions" / "ex01_softmax.py", root / "solutions")
    toy = (TOY / "exercises" / "ex01_toy.yaml").read_text().replace("number: 1", "number: 2")
    (root / "exercises" / "ex02_toy.yaml").write_text(toy)
    shutil.copy(TOY / "solutions" / "ex01_toy.py", root / "solutions" / "ex02_toy.py")
    return Course(root)


@pytest.fixture
def ws(tmp_path, monkeypatch, plain_env, small_course):
    monkeypatch.setenv("GRADEWISE_COURSE", str(small_course.root))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "workspace"


def list_rows(capsys) -> dict:
    assert main(["list", "--json"]) == 0
    return {row["exercise"]: row for row in json.loads(capsys.readouterr().out)}


# -- grade watch ------------------------------------------------------------------------------

class Lines:
    """A subprocess's stdout read by a thread, so a test can wait for a line with a timeout."""

    def __init__(self, stream):
        self.queue, self.seen = queue.Queue(), []
        threading.Thread(target=lambda: [self.queue.put(line) for line in stream], daemon=True).start()

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} within {timeout} s; got:\n{''.join(self.seen)}")


def test_watch_regrades_on_every_save_survives_syntax_errors_and_stops_on_ctrl_c(ws, tmp_path):
    env = {**os.environ, "GRADEWISE_WORKSPACE": str(ws),
           "NO_COLOR": "1", "COLUMNS": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "watch", "1"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out = Lines(proc.stdout)
        out.wait_for("Score 0/10")
        out.wait_for("Watching")
        path = ws / "ex01_softmax.py"
        assert "raise NotImplementedError" in path.read_text()  # created by watch
        path.write_text(OVERFLOWS)
        out.wait_for("[no-max-subtraction]")
        out.wait_for("Score 5.5/10")
        path.write_text("def softmax(f)\n")  # mid-edit
        out.wait_for("does not parse")
        path.write_text(SOLUTION)
        out.wait_for("Score 10/10")
        out.wait_for("Watching")
        proc.send_signal(signal.SIGINT)
        summary = out.wait_for("Stopped watching")
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
    assert "graded 4 times, best 10/10 (full marks)" in summary
    assert "Traceback" not in "".join(out.seen) and "Interrupted" not in "".join(out.seen)
    progress = json.loads((ws / ".gradewise" / "progress.json").read_text())
    assert progress["exercises"]["1"]["attempts"] == 4 and progress["exercises"]["1"]["best"] == 10


def test_watch_grades_a_burst_of_writes_once(tmp_path, course):
    from grader.grading import Grader
    from grader.watch import watch

    spec, path = course.find("1"), tmp_path / "work.py"
    path.write_text(SOLUTION)
    scores = []

    def editor():  # saves three times in quick succession, after the first grading
        while not scores:
            time.sleep(0.01)
        for text in (OVERFLOWS[:40], OVERFLOWS[:80], OVERFLOWS):
            path.write_text(text)
            time.sleep(0.02)

    threading.Thread(target=editor, daemon=True).start()
    with Grader(course) as grader:
        session = watch(grader, spec, path, lambda r: scores.append(r.score), max_gradings=2,
                        poll=0.05, settle=0.3)
    assert scores == [10, 5.5] and session.gradings == 2 and session.best == 10


def test_watch_reads_a_notebook_as_every_other_command_does(tmp_path, course):
    """A scratch cell that raises and a `%%time` cell: graded as `--file` grades them; a
    change to the notebook is graded again, with the failing line as cell k, line j."""
    import nbformat

    from grader.grading import Grader
    from grader.watch import watch

    spec, path = course.find("1"), tmp_path / "work.ipynb"

    def save(softmax_cell):
        cells = ["import numpy as np", softmax_cell, "print(softmax(logits))"]
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c)
                                                       for c in cells]), path)

    save("%%time\n" + SOLUTION)
    results = []

    def editor():  # after the first grading, a softmax that raises on its third line
        while not results:
            time.sleep(0.01)
        save("%%time\ndef softmax(f):\n    f = f + 0\n    raise ValueError('not yet')")

    threading.Thread(target=editor, daemon=True).start()
    with Grader(course) as grader:
        session = watch(grader, spec, path, results.append, max_gradings=2, poll=0.05,
                        settle=0.2)
    assert [r.score for r in results] == [10, 0] and session.best == 10
    assert results[0].notes == ["only definitions are graded (functions, classes, and the "
                                "imports and constants they use): the other statements of "
                                "cell 3 were not run"]
    assert results[1].checks[0].evidence.trace[-1][0] == "cell 2, line 4"


# -- progress ---------------------------------------------------------------------------------

def test_progress_survives_restarts_and_keeps_the_best_score(ws, capsys):
    assert list_rows(capsys)[1]["status"] == "not started"
    ws.mkdir()
    (ws / "ex01_softmax.py").write_text(SOLUTION)
    main(["exercise", "1", "--json"])
    (ws / "ex01_softmax.py").write_text(OVERFLOWS)
    main(["exercise", "1", "--json"])
    capsys.readouterr()
    row = list_rows(capsys)[1]
    assert row["best"] == 10 and row["attempts"] == 2 and row["status"] == "passed"
    assert main(["list", "--no-color"]) == 0
    table = capsys.readouterr().out
    assert "softmax" in table and "passed" in table and "not started" in table


def test_a_corrupt_progress_file_is_reported_and_rebuilt(ws, capsys):
    progress = ws / ".gradewise" / "progress.json"
    progress.parent.mkdir(parents=True)
    progress.write_text('{"exercises": {"1": {"best": 10, "att')
    assert main(["list", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "unreadable" in out and "afresh" in out
    assert json.loads(progress.read_text()) == {"exercises": {}}  # rebuilt
    assert (progress.parent / "progress.json.bad").read_text().startswith('{"exercises"')
    assert main(["list", "--no-color"]) == 0
    assert "unreadable" not in capsys.readouterr().out


def test_damaged_entries_are_dropped_and_the_rest_kept(ws, capsys):
    progress = ws / ".gradewise" / "progress.json"
    progress.parent.mkdir(parents=True)
    progress.write_text(json.dumps({"exercises": {"1": {"best": "ten", "attempts": 3},
                                                  "2": [1, 2], "x": {}}}))
    assert main(["list", "--no-color"]) == 0
    assert "damaged entries" in capsys.readouterr().out
    row = list_rows(capsys)[1]
    assert row["attempts"] == 3 and row["best"] is None and row["status"] == "failing"
    assert main(["exercise", "1", "--json"]) == 0  # grading goes on and records
    assert json.loads(progress.read_text())["exercises"]["1"]["attempts"] == 4


def test_a_progress_file_that_cannot_be_read_never_stops_grading(ws, capsys):
    progress = ws / ".gradewise" / "progress.json"
    progress.parent.mkdir(parents=True)
    progress.write_text("[]")
    assert main(["exercise", "1", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["exercise"] == 1
    assert "Note:" in captured.err and "afresh" in captured.err


def test_exercise_all_ends_with_the_total_and_the_next_exercise(ws, capsys):
    ws.mkdir()
    (ws / "ex01_softmax.py").write_text(SOLUTION)
    assert main(["exercise", "all", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "total" in out and "10/14" in out
    assert "Next: work on exercise 2" in out
    (ws / "ex02_toy.py").write_text("def scale(x, k):\n    return x * k\n\n"
                                    "def total(x):\n    return float(x.sum())\n")
    assert main(["exercise", "all", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "14/14" in out and "Every exercise has full marks" in out


# -- hints ------------------------------------------------------------------------------------

def test_hints_are_counted_and_a_failing_check_points_to_its_hint(ws, tmp_path, capsys):
    spec = COURSE.find("1")
    main(["hint", "1", "--no-color"])
    assert "Hint 1 of" in capsys.readouterr().out
    assert list_rows(capsys)[1]["hints_shown"] == 1
    main(["hint", "1", "--all", "--json"])
    assert len(json.loads(capsys.readouterr().out)["hints"]) == len(spec.hints)
    assert list_rows(capsys)[1]["hints_shown"] == len(spec.hints)
    path = tmp_path / "w.py"
    path.write_text(OVERFLOWS)
    main(["exercise", "1", "--file", str(path), "--no-color"])
    out = capsys.readouterr().out
    assert "[no-max-subtraction]" in out and "(see hint 2)" in out
    assert "Hint 2 is about this" in out


# -- grade reset ------------------------------------------------------------------------------

def test_reset_restores_the_stub_and_keeps_a_backup(ws, capsys):
    spec = COURSE.find("1")
    ws.mkdir()
    (ws / "ex01_softmax.py").write_text(OVERFLOWS)
    assert main(["reset", "1", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert (ws / "ex01_softmax.py").read_text() == render_stub(spec)
    [backup] = (ws / ".gradewise" / "backup").glob("ex01_softmax.*.py")
    assert backup.read_text() == OVERFLOWS
    assert backup.name in out.replace("\n", "")
    assert main(["reset", "softmax", "--json"]) == 0  # the stub again: nothing to keep
    assert json.loads(capsys.readouterr().out)["backup"] is None
    (ws / "ex01_softmax.py").write_text(SOLUTION)
    assert main(["reset", "1", "--json"]) == 0  # a second backup in the same second
    assert Path(json.loads(capsys.readouterr().out)["backup"]).read_text() == SOLUTION
    assert len(list((ws / ".gradewise" / "backup").iterdir())) == 2
