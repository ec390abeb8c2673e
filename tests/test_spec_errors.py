"""Spec errors name the file, the line and the field, and `grade` exits 1 without a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.cli import main



@pytest.fixture
def course(toy_course_copy):
    return toy_course_copy


def spec_file(course) -> Path:
    return course / "exercises" / "ex01_toy.yaml"


def edit(course, old, new):
    path = spec_file(course)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def line_of(course, fragment) -> int:
    lines = spec_file(course).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if fragment in line)


def run_grade(capsys, *argv):
    code = main(["exercise", "1", "--json", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_fixture_course_is_valid(course, capsys):
    code, out, err = run_grade(capsys)
    assert code == 0 and err == ""


def test_missing_key(course, capsys):
    edit(course, "title: A toy exercise for the grader's own tests\n", "")
    code, out, err = run_grade(capsys)
    assert code == 1 and out == ""
    assert err.startswith(f"Error: {spec_file(course)}:1: missing key 'title'")
    assert "Traceback" not in err


def test_wrong_type(course, capsys):
    edit(course, "    points: 2\n", "    points: two\n")
    code, _, err = run_grade(capsys)
    line = line_of(course, "points: two")
    assert code == 1
    assert f"ex01_toy.yaml:{line}: checks[0].points: expected a number, got 'two'" in err


def test_unknown_check_kind(course, capsys):
    edit(course, "kind: compare", "kind: comparee")
    code, _, err = run_grade(capsys)
    line = line_of(course, "kind: comparee")
    assert code == 1
    assert f"ex01_toy.yaml:{line}: checks[0].kind: unknown check kind 'comparee'" in err
    assert "compare, gradcheck, property, train" in err


def test_check_of_a_function_not_in_functions(course, capsys):
    edit(course, "    function: total\n    kind", "    function: totl\n    kind")
    code, _, err = run_grade(capsys)
    line = line_of(course, "function: totl")
    assert code == 1
    assert f"ex01_toy.yaml:{line}: checks[1].function: unknown function 'totl'" in err
    assert "expected one of scale, total" in err


def test_mistake_without_a_function_in_the_solution_module(course, capsys):
    edit(course, "id: forgot-k", "id: forgot-the-k")
    code, _, err = run_grade(capsys)
    line = line_of(course, "id: forgot-the-k")
    assert code == 1
    assert f"ex01_toy.yaml:{line}: mistakes[0].id: the solution module" in err
    assert "has no function 'mistake_forgot_the_k'" in err


def test_yaml_syntax_error(course, capsys):
    edit(course, "  - name: short\n", "  - name: short\n    dims: {n: 3\n")
    code, _, err = run_grade(capsys)
    assert code == 1
    assert "ex01_toy.yaml:" in err and "YAML syntax error" in err


def test_unknown_key_and_format_version(course, capsys):
    edit(course, "format_version: 1", "format_version: 2")
    code, _, err = run_grade(capsys)
    assert code == 1 and "format_version: expected 1, got 2" in err
    edit(course, "format_version: 2", "format_version: 1\ncolour: blue")
    code, _, err = run_grade(capsys)
    assert code == 1 and "ex01_toy.yaml:2: colour: unknown key 'colour'" in err


def test_points_must_add_up(course, capsys):
    edit(course, "points: 4", "points: 5")
    code, _, err = run_grade(capsys)
    assert code == 1 and "points: expected the sum of the checks' points (4), got 5" in err


def test_validate_reports_a_broken_spec_and_exits_1(course, capsys):
    edit(course, "    points: 2\n", "    points: two\n")
    assert main(["validate", "--no-color"]) == 1
    out = capsys.readouterr().out
    assert "expected a number, got 'two'" in out
