"""Shared fixtures: the repository's course, a module-wide Grader, plain rendering."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from grader.course import Course
from grader.grading import Grader

REPO = Path(__file__).resolve().parent.parent
# the parsed-spec cache of this test session, never the user's (removed at the end)
os.environ["GRADEWISE_CACHE"] = tempfile.mkdtemp(prefix="gradewise-cache-")
atexit.register(shutil.rmtree, os.environ["GRADEWISE_CACHE"], True)
COURSE = Course(REPO)


@pytest.fixture(scope="session")
def course() -> Course:
    return COURSE


@pytest.fixture(scope="session")
def grader():
    with Grader(COURSE) as g:
        yield g


@pytest.fixture
def plain_env(monkeypatch):
    """Rendering tests must not depend on the caller's NO_COLOR / FORCE_COLOR."""
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "TERM"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ws(tmp_path, monkeypatch, plain_env):
    """A temporary workspace, run from its parent folder, grading the repository's course."""
    monkeypatch.setenv("GRADEWISE_COURSE", str(REPO))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "workspace"


@pytest.fixture
def toy_course_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the toy fixture course that a test may edit, used by the CLI as the course."""
    root = tmp_path / "course"
    shutil.copytree(Path(__file__).parent / "fixture_course", root)
    monkeypatch.setenv("GRADEWISE_COURSE", str(root))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "ws"))
    return root


def render(renderable, width=100) -> str:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(renderable)
    return console.file.getvalue()


def solution_source(spec) -> str:
    return (COURSE.solutions_dir / spec.solution).read_text(encoding="utf-8")


def mistake_source(spec, mistake) -> str:
    """A wrong student file: the reference, with one function replaced by a known mistake."""
    return f"{solution_source(spec)}\n\n{mistake.function} = {mistake.solution_attr}\n"


def grade_text(grader, spec, source: str, name="student.py"):
    return grader.grade_source(spec, source, f"/submission/{name}", name)
