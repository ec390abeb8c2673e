"""A batch an instructor can leave running: --resume regrades what changed, one batch per
output folder, any student name, Ctrl-C and SIGTERM say what is saved, a progress estimate
that counts the students in progress."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.batch import BatchOptions, BatchStatus, readable, run_batch
from grader.course import Course
from grader.files import MAX_NAME_BYTES, file_stem
from grader.safetext import csv_cell, visible
from grader.sandbox import Limits

TOY_DIR = Path(__file__).parent / "fixture_course"
TOY = Course(TOY_DIR)
FAST = Limits(call_timeout=1.0, import_timeout=2.0)
RIGHT = "def scale(x, k):\n    return x * k\n\ndef total(x):\n    return float(sum(x))\n"
STUB = "def scale(x, k):\n    raise NotImplementedError\n\ndef total(x):\n    return float(sum(x))\n"
LOOPING = "def total(x):\n    return float(sum(x))\n\ndef scale(x, k):\n    while True:\n        pass\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def gradebook(out: Path) -> dict:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


def batch(subs, out, course=TOY, statuses=None, **options):
    options = BatchOptions(jobs=options.pop("jobs", 2), limits=options.pop("limits", FAST),
                           **options)
    return run_batch(subs, out, course, course.specs(), options) if statuses is None else \
        _with_status(subs, out, course, options, statuses)


def _with_status(subs, out, course, options, statuses):
    from grader.batch import grade_class
    return grade_class(subs, out, course, course.specs(), options,
                       on_status=lambda status: statuses.append(status))


def cli(*args, course_dir=TOY_DIR, **kwargs):
    env = {**os.environ, "GRADEWISE_COURSE": str(course_dir), "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "grader.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def finished(process, timeout=180):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


# -- --resume: a resubmission, a new course, another seed or other limits are graded again ----

def test_resume_regrades_a_resubmission_and_keeps_the_rest(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "ann" / "ex01_toy.py", RIGHT)
    write(subs / "bob" / "ex01_toy.py", STUB)
    write(subs / "cy.py", RIGHT)
    batch(subs, out)
    assert gradebook(out)["bob"]["total"] == "2"
    ann_feedback = out / "feedback" / "ann.json"
    before = ann_feedback.stat().st_mtime_ns
    write(subs / "bob" / "ex01_toy.py", RIGHT)  # the resubmission
    os.utime(subs / "cy.py", (1, 1))  # touched, same content: nothing to regrade
    statuses = []
    batch(subs, out, statuses=statuses, resume=True)
    first = statuses[0]
    assert first.kept == 2 and first.regraded == {"files": ["bob"]}
    assert gradebook(out)["bob"]["total"] == "4"
    assert ann_feedback.stat().st_mtime_ns == before
    record = json.loads((out / "feedback" / "bob.json").read_text())["graded_from"]
    assert record["files"]["1"]["file"] == "bob/ex01_toy.py" and len(record["course"]) == 64


def test_resume_regrades_for_another_course_seed_limits_or_an_unrecorded_feedback(tmp_path):
    course_dir = tmp_path / "course"
    shutil.copytree(TOY_DIR, course_dir)
    course = Course(course_dir)
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "ann" / "ex01_toy.py", RIGHT)
    write(subs / "bob" / "ex01_toy.py", RIGHT)
    batch(subs, out, course)

    def regraded(**options):
        statuses = []
        batch(subs, out, course, statuses=statuses, resume=True, **options)
        return statuses[0].regraded

    assert regraded() == {}
    solution = course_dir / "solutions" / "ex01_toy.py"
    solution.write_text(solution.read_text() + "\n# a fix of the reference\n")
    assert regraded() == {"course": ["ann", "bob"]}
    assert regraded(seed=3) == {"seed": ["ann", "bob"]}
    assert regraded(seed=3, timeout=2.0) == {"limits": ["ann", "bob"]}
    path = out / "feedback" / "ann.json"  # as an older gradewise wrote it
    data = json.loads(path.read_text())
    del data["graded_from"]
    path.write_text(json.dumps(data))
    assert regraded(seed=3, timeout=2.0) == {"unrecorded": ["ann"]}


def test_the_cli_says_who_is_graded_again_and_why(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "ann.py", RIGHT)
    write(subs / "bob.py", STUB)
    assert finished(cli("batch", str(subs), "--out", str(out)))[0] == 0
    write(subs / "bob.py", RIGHT)
    code, stdout, stderr = finished(cli("batch", str(subs), "--out", str(out), "--resume"))
    assert code == 0, stderr
    assert f"Resuming: 1 of 2 students already graded in {out} kept; graded again: 1 whose " \
           "files changed (bob)." in stdout
    assert gradebook(out)["bob"]["total"] == "4"


# -- one batch per output folder --------------------------------------------------------------

def test_a_second_batch_is_refused_while_the_first_runs_and_accepted_once_it_is_killed(tmp_path):
    first, second, out = tmp_path / "first", tmp_path / "second", tmp_path / "out"
    for name in ("a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"):
        write(first / name / "ex01_toy.py", LOOPING)
    write(second / "b1" / "ex01_toy.py", RIGHT)
    running = cli("batch", str(first), "--out", str(out), "--jobs", "1", "--timeout", "1")
    lock = out / ".gradewise-batch.lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    code, stdout, stderr = finished(cli("batch", str(second), "--out", str(out)))
    assert code == 1 and "is being written by another batch" in stderr
    assert f"process {running.pid}" in stderr and str(first) in stderr  # names the running one
    assert running.poll() is None, "the first batch ended too soon for this test"
    assert not (out / "feedback" / "b1.json").exists()
    os.kill(running.pid, signal.SIGKILL)  # the main process only: its lock dies with it
    running.communicate()
    code, stdout, stderr = finished(cli("batch", str(second), "--out", str(out)))
    assert code == 0, stderr
    assert gradebook(out)["b1"]["total"] == "4"


def test_feedback_of_students_of_another_batch_is_reported(tmp_path):
    out = tmp_path / "out"
    write(tmp_path / "secA" / "ann.py", RIGHT)
    write(tmp_path / "secB" / "bob.py", RIGHT)
    statuses = []
    batch(tmp_path / "secA", out)
    batch(tmp_path / "secB", out, statuses=statuses)
    assert statuses[0].others == ["ann"]
    assert "feedback also holds 1 student(s) not in" in " ".join(
        statuses[0].notes(tmp_path / "secB", out))


# -- any student name -------------------------------------------------------------------------

NAMES = [
    "Александра Константиновна Преображенская-Верхнедубровская_1234567_assignsubmission_file_"
    + "Ж" * 54,  # 250 bytes
    "a∕b", "a／b", "back\\slash", "red\x1b[31mname", "new\nline", "tab\there",
    "Jose\u0301 (NFD)", "Z\u0335\u0321a\u0336l\u0334g\u0337o" * 8, "\u202eevil",
    "=cmd()", "-rf", "ada",
]


def test_any_student_name_is_graded_under_a_short_safe_file_name(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    raw = [os.fsencode(name) for name in NAMES] + [b"caf\xe9 (latin-1)"]
    assert len(raw[0]) == 250
    for name in raw:
        os.makedirs(os.fsencode(subs) + b"/" + name)
        with open(os.fsencode(subs) + b"/" + name + b"/ex01_toy.py", "w") as fh:
            fh.write(RIGHT)
    code, stdout, stderr = finished(cli("batch", str(subs), "--out", str(out)))
    assert code == 0, stderr
    shown = [readable(os.fsdecode(name)) for name in raw]
    rows = gradebook(out)
    assert sorted(rows) == sorted(csv_cell(name) for name in shown)  # the real names
    assert all(row["total"] == "4" for row in rows.values())
    files = sorted(p.name for p in (out / "feedback").iterdir())
    assert files == sorted(f"{file_stem(name)}.{ext}" for name in shown for ext in ("json", "md"))
    for name in files:
        assert len(name.encode()) <= MAX_NAME_BYTES + len(".json") + 11
        assert name.isprintable() and "/" not in name and "\\" not in name and "∕" not in name
    assert "ada.json" in files  # a plain name stays as it is
    for name in shown:
        data = json.loads((out / "feedback" / f"{file_stem(name)}.json").read_text())
        assert data["student"] == visible(name, False)  # the name, made safe to show
    # the same names, the same files: --resume finds every student graded
    code, stdout, stderr = finished(cli("batch", str(subs), "--out", str(out), "--resume"))
    assert code == 0 and f"{len(raw)} of {len(raw)} students already graded" in stdout, stderr


def test_file_stems_are_stable_distinct_and_safe():
    names = ["ada", "a∕b", "a_b", "a／b", "x" * 300, "x" * 301, "Jose\u0301", "José", "", "a~1"]
    stems = [file_stem(name) for name in names]
    assert stems == [file_stem(name) for name in names]  # the same in every run
    assert len(set(stems)) == len(names)
    assert stems[0] == "ada" and stems[2] == "a_b" and stems[7] == "José"
    assert stems[1].startswith("a_b~") and stems[4].startswith("x" * 60 + "~")
    assert all(len(s.encode()) <= MAX_NAME_BYTES for s in stems)


# -- Ctrl-C and SIGTERM -----------------------------------------------------------------------

@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_batch_says_what_is_saved_and_resume_finishes_it(tmp_path, how):
    subs, out = tmp_path / "subs", tmp_path / "out"
    names = [f"s{i}" for i in range(6)]
    for name in names:
        write(subs / name / "ex01_toy.py", LOOPING)
    argv = ["batch", str(subs), "--out", str(out), "--jobs", "1", "--timeout", "0.5"]
    running = cli(*argv, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list((out / "feedback").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    if how == "ctrl-c":  # a terminal sends SIGINT to the whole foreground process group
        os.killpg(running.pid, signal.SIGINT)
    else:
        os.kill(running.pid, signal.SIGTERM)
    code, stdout, stderr = finished(running, timeout=60)
    saved = sorted(p.stem for p in (out / "feedback").glob("*.json"))
    assert code == 130, stderr
    assert 1 <= len(saved) < len(names)
    assert f"Interrupted: {len(saved)} of {len(names)} students saved in {out}; run the same " \
           "command with --resume to finish." in stdout
    assert sorted(gradebook(out)) == saved  # the gradebook holds exactly what is saved
    assert "died" not in json.dumps([json.loads((out / "feedback" / f"{n}.json").read_text())
                                     for n in saved])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # no grading process is left behind
        try:
            os.killpg(running.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("processes of the interrupted batch are still running")
    code, stdout, stderr = finished(cli(*argv, "--resume"))
    assert code == 0, stderr
    assert sorted(gradebook(out)) == names and f"[{len(names)}/{len(names)}]" in stdout


# -- progress ---------------------------------------------------------------------------------

def test_the_estimate_counts_the_students_in_progress():
    """Two quick students graded, two taking long: the time left grows while they last,
    instead of staying at what the two quick ones suggested."""
    now = 1000.0
    status = BatchStatus(total=12, jobs=2, done=2, started=now - 0.2, took=[0.1, 0.1],
                         running={"slow1": now - 0.1, "slow2": now - 0.1})
    early = status.seconds_left(now)
    later = status.seconds_left(now + 8)
    assert later > early and later > 8 * 8 / 2 / 2  # 8 waiting, each about as long so far
    assert BatchStatus(total=3, jobs=2, done=2, took=[0.1, 0.1],
                       running={"slow": now - 8}).seconds_left(now) is None
    assert BatchStatus(total=3, done=3, took=[1, 1, 1]).seconds_left(now) == 0
    assert BatchStatus(total=3).seconds_left(now) is None


# -- the class summary ------------------------------------------------------------------------

LONG_CHECK = "the gradient of the max-margin loss with respect to every window vector matches"


def summary_class():
    from grader.results import (CheckInfo, CheckResult, ClassResults, ExerciseInfo,
                                ExerciseResult, StudentResults)

    checks = (CheckInfo(LONG_CHECK, "max_margin_grads", 4.0), CheckInfo("short", "f", 1.0))
    infos = [ExerciseInfo(1, "window_ner", "NER", 5.0, checks),
             ExerciseInfo(2, "nobody_did_this", "Unsubmitted", 5.0, (CheckInfo("c", "g", 5.0),))]
    students = {}
    for i in range(1500):
        wrong = i < 1234
        results = [ExerciseResult(1, "window_ner", "NER", 1.0 if wrong else 5.0, 5.0, checks=[
            CheckResult(LONG_CHECK, "max_margin_grads", "gradcheck", not wrong,
                        0.0 if wrong else 4.0, 4.0,
                        diagnosis="uses-failing-function" if wrong else None),
            CheckResult("short", "f", "compare", True, 1.0, 1.0)]),
            ExerciseResult(2, "nobody_did_this", "Unsubmitted", 0.0, 5.0, submitted=False,
                           error="not submitted")]
        students[f"s{i}"] = StudentResults(f"s{i}", 0, results)
    return ClassResults(infos, 0, students, len(students))


@pytest.mark.parametrize("width", [80, 120])
def test_the_summary_table_fits_the_terminal_without_cutting_counts(width):
    import io

    from rich.console import Console

    from grader.gradebook import class_summary, summary_terminal

    klass = summary_class()
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(summary_terminal(klass))
    text = console.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    assert "×1234" in text  # the diagnosis may wrap, its count is never cut
    assert "266/1500" in text and "1500/1500" in text
    words = " ".join(text.replace("│", " ").split())
    assert all(word in words for word in LONG_CHECK.split())  # wrapped, never cut
    assert "nobody_did_this" not in text.split("Submitted by nobody")[0]
    assert "Submitted by nobody (not shown): 2 nobody_did_this." in " ".join(text.split())
    assert [e["slug"] for e in class_summary(klass)["exercises"]] == ["window_ner",
                                                                      "nobody_did_this"]
