"""`grade exercise N` in a workspace where the student worked in the notebook `grade notebook
N` wrote (GitHub Classroom runs `grade exercise N --check NAME` in their repository)."""

from __future__ import annotations

import json

import nbformat

from grader.cli import main

from conftest import COURSE, solution_source

EX1 = COURSE.find("1")


def notebook_with(path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(nb, str(path))


def test_a_workspace_with_only_the_notebook_grades_the_notebook(ws, capsys):
    notebook_with(ws / f"{EX1.stem}.ipynb", solution_source(EX1))
    check = EX1.checks[0].name
    assert main(["exercise", "1", "--check", check, "--json", "--no-color"]) == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert result["score"] == result["max_score"] > 0
    assert not (ws / f"{EX1.stem}.py").exists()  # no stub made beside it
    assert f"Graded {ws / EX1.stem}.ipynb" in out.err


def test_with_both_files_the_py_is_graded_and_the_notebook_named(ws, capsys):
    notebook_with(ws / f"{EX1.stem}.ipynb", solution_source(EX1))
    assert main(["exercise", "1", "--json"]) == 0  # the notebook alone: graded, no stub made
    first = json.loads(capsys.readouterr().out)
    assert first["score"] == first["max_score"]
    assert (ws / f"{EX1.stem}.py").exists() is False
    (ws / f"{EX1.stem}.py").write_text(solution_source(EX1))
    assert main(["exercise", "1", "--no-color"]) == 0
    out = capsys.readouterr().out
    notes = [line for line in out.splitlines() if "was not graded" in line]
    assert len(notes) == 1
    assert f"--file {ws / EX1.stem}.ipynb" in notes[0]
