"""`grade gradescope`: the zip, unpacked as Gradescope's /autograder (the root is configurable:
GRADEWISE_AUTOGRADER_ROOT), graded by run_autograder with the installed package on a correct
and a wrong submission (setup.sh's pip install is not run here)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import COURSE, REPO, mistake_source, solution_source

EX1, EX2 = COURSE.find("1"), COURSE.find("2")
MISTAKE = EX1.mistakes[0]


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("gs") / "autograder.zip"
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "gradescope", "--out", str(out),
                           "--exercises", "1-2", "--hidden-seed", "7", "--json"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["points"] == EX1.points + EX2.points
    return out


def run_autograder(zip_path: Path, root: Path, files: dict) -> dict:
    """Lay out `root` as Gradescope's /autograder and run run_autograder in it."""
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    for name, data in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            (root / "submission" / name).write_bytes(data)
        else:
            (root / "submission" / name).write_text(data)
    (root / "submission").mkdir(exist_ok=True)
    env = {**os.environ, "GRADEWISE_AUTOGRADER_ROOT": str(root), "GRADEWISE_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_the_zip_holds_setup_run_autograder_the_package_and_the_chosen_course(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        setup = zf.read("setup.sh").decode()
        config = json.loads(zf.read("config.json"))
    assert {"setup.sh", "run_autograder", "config.json", "gradewise/pyproject.toml",
            "gradewise/grader/sandbox/parent.py", "gradewise/grader/gradescope.py",
            f"gradewise/exercises/{EX1.path.name}", f"gradewise/solutions/{EX2.solution}"} <= names
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert not [n for n in names if "__pycache__" in n]
    assert not [n for n in names if n.startswith("gradewise/solutions/ex03")]
    assert config == {"exercises": [1, 2], "seed": 0, "hidden_seed": 7, "timeout": None}
    assert "pip install" in setup and "chmod -R go-rwx /autograder/source" in setup
    assert subprocess.run(["bash", "-n", "-c", setup]).returncode == 0


def test_a_correct_submission_gets_full_marks(autograder_zip, tmp_path):
    results = run_autograder(autograder_zip, tmp_path / "autograder", {
        f"{EX1.stem}.py": solution_source(EX1), f"{EX2.stem}.py": solution_source(EX2)})
    total = EX1.points + EX2.points
    assert results["score"] == pytest.approx(total)
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(total)
    assert isinstance(results["execution_time"], int) and results["output"].startswith("# Feedback")
    assert all(t["status"] == "passed" for t in results["tests"])
    visibility = {t["visibility"] for t in results["tests"]}
    assert visibility == {"visible", "after_published"}
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}


def test_a_wrong_submission_says_what_is_wrong(autograder_zip, tmp_path):
    results = run_autograder(autograder_zip, tmp_path / "autograder", {
        f"{EX1.stem}.py": mistake_source(EX1, MISTAKE), "notes.txt": "hello"})
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert 0 < results["score"] < EX1.points
    assert any(MISTAKE.message.split(":")[0][:30] in t["output"] for t in failed)
    ex2 = [t for t in results["tests"] if t["name"].startswith("Exercise 2")]
    assert ex2 and all(t["score"] == 0 and "not submitted" in t["output"] for t in ex2)
    assert "notes.txt" in results["output"]


def test_an_uploaded_zip_and_drive_names_are_graded_like_in_grade_batch(autograder_zip, tmp_path):
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(f"homework/Copy of {EX1.stem} (1).py", solution_source(EX1))
        zf.writestr(f"__MACOSX/homework/._{EX1.stem}.py", "metadata")
    results = run_autograder(autograder_zip, tmp_path / "autograder", {
        "homework.zip": buffer.getvalue(), f"{EX2.stem} - Copy.py": solution_source(EX2)})
    assert results["score"] == pytest.approx(EX1.points + EX2.points)
    assert f"homework.zip:homework/Copy of {EX1.stem} (1).py" in results["output"]
    assert "`homework.zip` was unpacked" in results["output"]
    assert "__MACOSX" in results["output"]  # listed among the files not graded


def test_a_broken_upload_is_explained_not_called_missing(autograder_zip, tmp_path):
    results = run_autograder(autograder_zip, tmp_path / "autograder", {
        "homework.zip": b"PK\3\4 cut short by the upload"})
    assert results["score"] == 0
    ex1 = [t for t in results["tests"] if t["name"].startswith("Exercise 1")]
    assert all("homework.zip could not be unpacked" in t["output"] for t in ex1)
    assert not any("not submitted" in t["output"] for t in ex1)
