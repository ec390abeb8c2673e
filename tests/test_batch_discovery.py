"""`grade batch` finds what students really upload: names that Colab, Drive, browsers, Windows,
macOS and LMS downloads produce; archives (unpacked safely, hostile ones refused with the
reason); files that are not regular files; and it never stalls: every student has a deadline
of their own in the pool."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

import grader.archives as archives
from grader.batch import BatchOptions, run_batch
from grader.grading import Limits  # the sandbox's, wherever it lives

from conftest import COURSE, REPO, mistake_source, solution_source

EX1, EX2 = COURSE.find("1"), COURSE.find("2")
MISTAKE = EX1.mistakes[0]
FAST = BatchOptions(jobs=2, limits=Limits(call_timeout=1.0, import_timeout=2.0))
RIGHT, WRONG = solution_source(EX1), mistake_source(EX1, MISTAKE)
FULL = f"{EX1.points:g}"


def notebook(source: str) -> str:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]))


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def zip_bytes(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _patched_zip(name: str, text: str, fields: dict, size: int) -> bytes:
    """A zip of one entry, with header fields overwritten: `fields` maps an offset in the
    local header (the directory entry's is 2 further) to the value written there over
    `size` bytes (PKWARE APPNOTE 4.3.7 and 4.3.12)."""
    raw = bytearray(zip_bytes({name: text}))
    local, central = raw.find(b"PK\3\4"), raw.find(b"PK\1\2")
    for offset, value in fields.items():
        for at in (local + offset, central + offset + 2):
            raw[at:at + size] = value.to_bytes(size, "little")
    return bytes(raw)


def tar_bytes(members: dict, mode="w:gz") -> bytes:
    """`members`: name → text, or a TarInfo type (SYMTYPE, FIFOTYPE…) for a special entry."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(data, bytes) and len(data) == 1:  # a type flag: a link, FIFO, device
                info.type, info.linkname = data, "/etc/passwd"
                tf.addfile(info)
            else:
                raw = data.encode()
                info.size = len(raw)
                tf.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def batch(subs: Path, out: Path, specs=(EX1,), options=FAST, **kwargs):
    summary = run_batch(subs, out, COURSE, list(specs), options, **kwargs)
    with open(out / "gradebook.csv", newline="") as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    return rows, {u["path"]: u["reason"] for u in summary["unmatched"]}


def feedback(out: Path, name: str) -> dict:
    return json.loads((out / "feedback" / f"{name}.json").read_text())


# -- names -----------------------------------------------------------------------------------

DRIVE_NAMES = {  # student → the name their correct ex01 arrived under
    "colab": "Copy of ex01_softmax.ipynb", "drive": "ex01_softmax (1).py",
    "upper": "EX01_Softmax.PY", "space": "ex01 softmax.py", "dash": "ex01-softmax.ipynb",
    "nozero": "ex1_softmax.py", "twice": "Copy of Copy of ex01_softmax.py",
    "windows": "ex01_softmax - Copy (2).py", "mac": "ex01_softmax 2.py",
    "canvas": "smithjo_1234_5678_ex01_softmax-1.py", "word": "Exercise 1.ipynb",
    "moodle": "Ann Lee_123_assignsubmission_file_/ex01_softmax.py",
}
NOT_EXERCISE_1 = {"ten": "ex10_softmax.py", "eleven": "ex011.py", "index": "index1.py",
                  "both": "ex01_ex02.py"}


def test_drive_and_lms_names_are_matched_and_others_are_not(tmp_path):
    subs = tmp_path / "subs"
    for student, name in {**DRIVE_NAMES, **NOT_EXERCISE_1}.items():
        write(subs / student / name, notebook(RIGHT) if name.endswith(".ipynb") else RIGHT)
        write(subs / student / "scratch.py", "x = 1\n")  # so that no file is a "whole" one
    write(subs / "wrong" / "Copy of ex01_softmax (1).py", WRONG)  # the name is not the grade
    rows, unmatched = batch(subs, tmp_path / "out")
    assert {s: rows[s][EX1.stem] for s in DRIVE_NAMES} == {s: FULL for s in DRIVE_NAMES}
    assert {s: rows[s][EX1.stem] for s in NOT_EXERCISE_1} == {s: "0" for s in NOT_EXERCISE_1}
    assert 0 < float(rows["wrong"][EX1.stem]) < EX1.points
    assert "no exercise 10" in unmatched["ten/ex10_softmax.py"]
    assert "no exercise 11" in unmatched["eleven/ex011.py"]
    assert "cannot tell which exercise" in unmatched["index/index1.py"]
    assert "names exercises 1, 2" in unmatched["both/ex01_ex02.py"]
    colab = feedback(tmp_path / "out", "colab")["results"][0]
    assert colab["file"] == "colab/Copy of ex01_softmax.ipynb" and colab["notes"] == []


def test_several_candidates_the_closest_name_is_graded_and_the_student_is_told(tmp_path):
    subs = tmp_path / "subs"
    write(subs / "ann" / f"{EX1.stem}.py", WRONG)  # the exact name wins over a newer copy
    write(subs / "ann" / f"Copy of {EX1.stem}.py", RIGHT)
    write(subs / "bo" / f"{EX1.stem} (1).py", RIGHT)  # a copy of the name beats another name
    write(subs / "bo" / "old" / "ex1.py", WRONG)
    write(subs / "bo" / f"{EX1.stem} (2).ipynb", notebook(RIGHT))
    rows, unmatched = batch(subs, tmp_path / "out")
    assert 0 < float(rows["ann"][EX1.stem]) < EX1.points and rows["bo"][EX1.stem] == FULL
    assert unmatched[f"ann/Copy of {EX1.stem}.py"] == f"exercise 1 is graded from ann/{EX1.stem}.py"
    ann = feedback(tmp_path / "out", "ann")["results"][0]
    assert ann["file"] == f"ann/{EX1.stem}.py"
    [note] = ann["notes"]
    assert f"`ann/{EX1.stem}.py` was graded" in note
    assert f"`ann/Copy of {EX1.stem}.py` (different content)" in note and "name it" in note
    [note] = feedback(tmp_path / "out", "bo")["results"][0]["notes"]
    assert note.startswith(f"3 files could be exercise 1: `bo/{EX1.stem} (1).py` was graded")
    assert f"`bo/{EX1.stem} (2).ipynb` (different content)" in note  # a notebook: other bytes
    assert "`bo/old/ex1.py` (different content)" in note
    assert "Note: 3 files could be exercise 1" in (tmp_path / "out/feedback/bo.md").read_text()


def test_the_cli_grades_a_drive_named_file_given_with_file(ws, tmp_path):
    path = write(tmp_path / "Copy of ex01_softmax (1).ipynb", notebook(RIGHT))
    done = subprocess.run([sys.executable, "-m", "grader.cli", "exercise", "1", "--file",
                           str(path), "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["score"] == EX1.points


# -- archives --------------------------------------------------------------------------------

def test_archives_in_a_folder_or_as_the_folder_are_unpacked_and_graded(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "gus" / "submission.zip", zip_bytes({
        f"gus/{EX1.stem}.py": RIGHT, f"__MACOSX/gus/._{EX1.stem}.py": "\0\5\26\7 metadata",
        "gus/.DS_Store": "x", "gus/data.csv": "1,2"}))
    write(subs / "tia" / "hw.tar.gz", tar_bytes({f"hw/{EX1.stem}.ipynb": notebook(RIGHT)}))
    write(subs / "tom" / "hw.tgz", tar_bytes({"all_my_work.py": RIGHT + "\n" + solution_source(EX2)}))
    write(subs / "hal.zip", zip_bytes({f"{EX2.stem}.py": solution_source(EX2)}))  # an LMS zip
    write(subs / "lms.zip", zip_bytes({"lms_123/upload.zip": zip_bytes({f"{EX1.stem}.py": RIGHT}),
                                       "deeper.zip": zip_bytes({"a.zip": zip_bytes({})})}))
    write(subs / "wes" / "hw.zip", zip_bytes({f"{EX1.stem}.py": WRONG}))  # unpacked, still wrong
    rows, unmatched = batch(subs, out, specs=(EX1, EX2))
    assert rows["gus"][EX1.stem] == rows["tia"][EX1.stem] == rows["lms"][EX1.stem] == FULL
    assert rows["tom"]["total"] == f"{EX1.points + EX2.points:g}"  # one module, in a .tgz
    assert rows["hal"][EX2.stem] == f"{EX2.points:g}" and rows["hal"][EX1.stem] == "0"
    assert 0 < float(rows["wes"][EX1.stem]) < EX1.points
    gus = feedback(out, "gus")["results"][0]
    assert gus["file"] == f"gus/submission.zip:gus/{EX1.stem}.py"
    assert "`gus/submission.zip` was unpacked" in gus["notes"][0]
    assert unmatched["gus/submission.zip:__MACOSX/"].startswith("macOS")  # listed once
    assert unmatched["gus/submission.zip:gus/.DS_Store"] == "hidden file, ignored"
    assert unmatched["gus/submission.zip:gus/data.csv"] == "not a .py or .ipynb file"
    assert feedback(out, "lms")["results"][0]["file"] == \
        f"lms.zip:lms_123/upload.zip:{EX1.stem}.py"
    assert "inside an archive inside an archive" in unmatched["lms.zip:deeper.zip:a.zip"]
    assert feedback(out, "tom")["results"][1]["notes"] == ["`tom/hw.tgz` was unpacked by the "
                                                           "grader: the file graded came from it."]
    assert not list(subs.rglob(f"{EX1.stem}.py"))  # nothing unpacked into the submissions


def test_hostile_archive_members_are_listed_never_written(tmp_path, monkeypatch):
    subs, out = tmp_path / "subs", tmp_path / "out"
    escapes = {"../escaped.py": "x = 1", "/tmp/absolute.py": "x = 1", "C:\\drive.py": "x = 1",
               "a/../../up.py": "x = 1"}
    write(subs / "zed" / "evil.zip", zip_bytes({**escapes, f"{EX1.stem}.py": RIGHT}))
    write(subs / "tar" / "evil.tar", tar_bytes({
        "link.py": tarfile.SYMTYPE, "hard.py": tarfile.LNKTYPE, "pipe.py": tarfile.FIFOTYPE,
        "dev.py": tarfile.CHRTYPE, "../up.py": "x = 1", f"{EX1.stem}.py": RIGHT}, mode="w"))
    write(subs / "lock" / "secret.zip", _patched_zip(f"{EX1.stem}.py", RIGHT, {6: 1}, 2))
    rows, unmatched = batch(subs, out)
    assert rows["zed"][EX1.stem] == rows["tar"][EX1.stem] == FULL  # the rest is still graded
    assert "leaves the archive" in unmatched["zed/evil.zip:../escaped.py"]
    assert "absolute path" in unmatched["zed/evil.zip:/tmp/absolute.py"]
    assert "absolute path" in unmatched["zed/evil.zip:C:/drive.py"]
    assert "leaves the archive" in unmatched["zed/evil.zip:a/../../up.py"]
    for name, kind in (("link", "symbolic link"), ("hard", "hard link"),
                       ("pipe", "named pipe"), ("dev", "device")):
        assert kind in unmatched[f"tar/evil.tar:{name}.py"]
    assert "leaves the archive" in unmatched["tar/evil.tar:../up.py"]
    lock = feedback(out, "lock")["results"][0]
    assert lock["score"] == 0 and "encrypted" in lock["error"]
    assert not [p for p in (tmp_path, Path("/tmp")) if (p / "escaped.py").exists()
                or (p / "absolute.py").exists() or (p / "up.py").exists()]


def test_bombs_and_broken_archives_are_refused_and_the_student_is_told_why(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_MEMBERS", 5)
    monkeypatch.setattr(archives, "MAX_MEMBER_BYTES", 50_000)
    monkeypatch.setattr(archives, "MAX_STUDENT_BYTES", 120_000)
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "many" / "hw.zip", zip_bytes({f"f{i}.txt": "x" for i in range(6)}))
    write(subs / "big" / "hw.zip", zip_bytes({f"{EX1.stem}.py": RIGHT + "#" * 60_000}))
    write(subs / "liar" / "hw.zip", _patched_zip(f"{EX1.stem}.py", RIGHT, {22: 100}, 4))
    write(subs / "lots" / "hw.zip", zip_bytes({f"{i}/x.py": "#" * 45_000 for i in range(3)}))
    write(subs / "stream" / "hw.tgz", tar_bytes({"a.txt": "0" * 300_000}))
    monkeypatch.setattr(archives, "MAX_TAR_STREAM_BYTES", 200_000)
    write(subs / "junk" / "submission.zip", b"PK\3\4 this is no zip")
    write(subs / "junk" / f"{EX2.stem}.py", solution_source(EX2))
    rows, unmatched = batch(subs, out, specs=(EX1, EX2))
    assert "6 entries, more than the 5" in unmatched["many/hw.zip"]
    assert "more than 50000 bytes" in unmatched[f"big/hw.zip:{EX1.stem}.py"]
    assert "could not be extracted" in unmatched[f"liar/hw.zip:{EX1.stem}.py"]  # declares 100 B
    assert "more than 120000 bytes of files to grade" in unmatched["lots/hw.zip:2/x.py"]
    assert "once decompressed" in unmatched["stream/hw.tgz"]
    assert "damaged" in unmatched["junk/submission.zip"]
    assert rows["junk"][EX2.stem] == f"{EX2.points:g}"  # the folder's own file is graded
    junk = feedback(out, "junk")["results"]
    assert junk[0]["error"].startswith("no ex01_softmax.py or .ipynb was found, and "
                                       "junk/submission.zip could not be unpacked (it is damaged")
    assert junk[0]["submitted"] is False and "not submitted" not in junk[0]["error"]
    assert junk[1]["notes"][0].startswith("`junk/submission.zip` was not unpacked: it is damaged")
    for name in ("big", "liar", "many"):
        result = feedback(out, name)["results"][0]
        assert result["score"] == 0 and "not submitted" not in result["error"], name


# -- files that are not regular files; a student who never finishes --------------------------

def run_cli(*args, timeout=120):
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_named_pipe_where_a_submission_should_be_does_not_stall_the_batch(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "alice" / f"{EX1.stem}.py", RIGHT)
    (subs / "bob").mkdir()
    os.mkfifo(subs / "bob" / f"{EX1.stem}.py")
    (subs / "cy").mkdir()
    os.mkfifo(subs / "cy" / "submission.zip")
    os.mkfifo(subs / "dee.zip")
    done = run_cli("batch", str(subs), "--out", str(out), "--exercises", "1", "--json")
    assert done.returncode == 0, done.stderr
    unmatched = {u["path"]: u["reason"] for u in json.loads(done.stdout)["unmatched"]}
    assert "named pipe (FIFO)" in unmatched[f"bob/{EX1.stem}.py"]
    assert "named pipe (FIFO)" in unmatched["cy/submission.zip"]
    assert "named pipe (FIFO)" in unmatched["dee.zip"]
    bob = feedback(out, "bob")["results"][0]
    assert bob["score"] == 0 and "named pipe (FIFO), not a regular file" in bob["error"]
    assert feedback(out, "alice")["score"] == EX1.points


@pytest.fixture
def alarm():
    """Fail, rather than hang the suite, should a batch stall."""
    def stalled(signum, frame):
        raise TimeoutError("the batch stalled")

    previous = signal.signal(signal.SIGALRM, stalled)
    signal.alarm(90)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_student_stuck_in_the_pool_gets_a_deadline_and_the_batch_goes_on(tmp_path, monkeypatch,
                                                                          alarm):
    import grader.batch as batch_module

    real = batch_module.grade_student

    def stuck_on_bob(grader, specs, student):
        if student.name == "bob":
            time.sleep(3600)  # a hung read, a stuck sandbox, a grader bug
        return real(grader, specs, student)

    monkeypatch.setattr(batch_module, "grade_student", stuck_on_bob)
    subs = tmp_path / "subs"
    for name in ("ada", "bob", "cy", "dan"):
        write(subs / name / f"{EX1.stem}.py", RIGHT)
    options = BatchOptions(jobs=1, limits=FAST.limits, deadline=3.0)
    rows, _ = batch(subs, tmp_path / "out", options=options)
    assert {name: row["total"] for name, row in rows.items()} == \
        {"ada": FULL, "bob": "0", "cy": FULL, "dan": FULL}
    bob = feedback(tmp_path / "out", "bob")["results"][0]
    assert bob["error"].startswith("grading did not finish within 3 s")
    assert "did not finish within 3 s" in (tmp_path / "out/feedback/bob.md").read_text()


def test_a_submission_replaced_by_a_named_pipe_after_discovery_cannot_stall_it(tmp_path, alarm):
    """A pipe the pool process opens (the file changed after it was found) costs that student
    their deadline at most, whatever the reader does with it."""
    subs = tmp_path / "subs"
    for name in ("alice", "bob"):
        write(subs / name / f"{EX1.stem}.py", RIGHT)

    def swap(name, record, done, total):
        if name is None:  # discovery is over, grading about to start
            os.unlink(subs / "bob" / f"{EX1.stem}.py")
            os.mkfifo(subs / "bob" / f"{EX1.stem}.py")

    options = BatchOptions(jobs=1, limits=FAST.limits, deadline=3.0)
    rows, _ = batch(subs, tmp_path / "out", options=options, on_result=swap)
    assert rows["alice"]["total"] == FULL and rows["bob"]["total"] == "0"
    error = feedback(tmp_path / "out", "bob")["results"][0]["error"]
    assert any(why in error for why in ("did not finish within 3 s", "regular file", "pipe",
                                        "FIFO")), error


def test_the_deadline_follows_the_time_limits_and_the_exercises():
    from grader.batch import student_deadline

    short, long = Limits(call_timeout=1, import_timeout=2), Limits(call_timeout=5)
    assert student_deadline([EX1], short) < student_deadline([EX1], long)
    assert student_deadline([EX1], long) < student_deadline([EX1, EX2], long)
    calls = sum(len(EX1.cases_for(check)) for check in EX1.checks)  # at least one per function
    assert student_deadline([EX1], long) > 10 + calls  # import and call limits, plus margins
