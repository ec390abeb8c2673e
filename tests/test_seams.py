"""What crosses module boundaries or leaves the code: module paths written into notebooks and
zips, package metadata, the one atomic write, the one reading of exercise numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from importlib import metadata

import pytest

import grader
from grader import files
from grader.course import Course, spec_number
from grader.gradescope import RUN_AUTOGRADER, build_autograder
from grader.htmlreport import REPORT_DEPENDENCIES
from grader.notebooks import CHECK
from grader.spec import load_spec

from conftest import COURSE, REPO, solution_source

EX1 = COURSE.find("1")
SOFTMAX = solution_source(EX1)


def test_module_paths_written_outside_the_code_still_resolve():
    """Written notebooks import `grader.check`; built zips run `-m grader.gradescope`; a
    kernel that imported an older gradewise starts `-m grader.notebooks` (below)."""
    assert CHECK.startswith("from grader import check;") and callable(grader.check)
    assert "-m grader.gradescope" in RUN_AUTOGRADER  # run for real: tests/test_gradescope.py


@pytest.mark.parametrize("module", ["grader.notebooks", "grader.kernelcheck"])
def test_both_names_of_the_process_behind_check_grade_a_history(module):
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    done = subprocess.run([sys.executable, "-m", module, "1"],
                          input=json.dumps({"cells": ["", SOFTMAX]}), capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["result"]["score"] == EX1.points and "Score 10/10" in answer["text"]


def test_package_metadata_comes_from_the_installed_distribution(tmp_path):
    installed = metadata.distribution("gradewise")
    assert grader.__version__ == installed.version
    zip_path = tmp_path / "ag.zip"
    build_autograder(zip_path, COURSE, [EX1])
    with zipfile.ZipFile(zip_path) as zf:
        pyproject = zf.read("gradewise/pyproject.toml").decode()
    assert f'version = "{installed.version}"' in pyproject
    assert f'requires-python = "{installed.metadata["Requires-Python"]}"' in pyproject
    for requirement in installed.requires:
        needed = "extra ==" not in requirement and not requirement.startswith(
            REPORT_DEPENDENCIES)  # the autograder writes no report.html
        assert (f'"{requirement}"' in pyproject) == needed


def test_a_write_is_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "grades.csv"
    files.atomic_write(path, "old\n", 0o600)
    assert path.read_text() == "old\n" and path.stat().st_mode & 0o777 == 0o600

    def fails(*args):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", fails)
    with pytest.raises(OSError):
        files.atomic_write(path, "new\n")
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["grades.csv"]
    (tmp_path / f".grades.csv.{os.getpid() + 1}.partial").write_text("left by a kill")
    files.remove_partials(tmp_path)
    assert os.listdir(tmp_path) == ["grades.csv"]


def test_exercise_numbers_are_read_from_spec_names_in_one_place(tmp_path):
    assert COURSE.numbers() == [load_spec(p).number for p in COURSE.spec_paths()]
    (tmp_path / "exercises").mkdir()
    text = (REPO / "exercises" / f"{EX1.stem}.yaml").read_text()
    (tmp_path / "exercises" / "ex12_later.yaml").write_text(text)
    assert Course(tmp_path).numbers() == [12]  # two digits, whatever the slug's length
    assert spec_number(tmp_path / "ex07_x.yaml") == 7
    with pytest.raises(ValueError):
        spec_number(tmp_path / "notes.yaml")
