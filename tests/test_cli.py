"""The `grade` CLI end to end in a temporary workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grader.cli import build_parser, main

from conftest import REPO


def solution_file(tmp_path, name="ex01_softmax.py", extra=""):
    path = tmp_path / name
    path.write_text((REPO / "solutions" / "ex01_softmax.py").read_text() + extra)
    return path


def test_first_run_creates_the_stub_and_scores_zero(ws, capsys):
    assert main(["exercise", "1", "--no-color"]) == 0
    out = capsys.readouterr().out
    stub = ws / "ex01_softmax.py"
    assert stub.exists() and "raise NotImplementedError" in stub.read_text()
    assert "Created" in out and "Exercise 1 · softmax" in out
    assert "not implemented yet" in out and "Score 0/10" in out
    assert "Fill in `softmax` first" in out
    assert "\x1b[" not in out


def test_json_is_only_json_even_when_the_student_prints(ws, tmp_path, capsys):
    path = solution_file(tmp_path, extra="\nprint('{\"score\": 999}')\n")
    assert main(["exercise", "softmax", "--file", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out)
    assert result["score"] == result["max_score"] == 10
    assert result["exercise"] == 1 and result["slug"] == "softmax" and result["error"] is None
    assert {"name", "function", "kind", "passed", "score", "max_score", "message",
            "diagnosis"} <= set(result["checks"][0])
    assert result["output"].strip() == '{"score": 999}'


def test_a_wrong_file_shows_what_is_wrong(ws, tmp_path, capsys):
    path = tmp_path / "wrong.py"
    path.write_text("import numpy as np\n\ndef softmax(f):\n    e = np.exp(f)\n"
                    "    return e / e.sum(axis=-1, keepdims=True)\n\n"
                    "def softmax_classifier(W, X):\n    return softmax(X @ W.T)\n")
    assert main(["exercise", "1", "--file", str(path), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "[no-max-subtraction]" in out and "subtract each row's maximum" in out
    assert "huge-logits" in out and "expected" in out and "got" in out and "nan" in out
    assert "Score 5.5/10" in out
    assert "grade hint 1 2`" in out  # the failing check points to its hint


def test_strict_exit_codes(ws, tmp_path, capsys):
    assert main(["exercise", "1", "--strict", "--json"]) == 3
    assert main(["exercise", "1", "--strict", "--json", "--file", str(solution_file(tmp_path))]) == 0


def test_user_errors_exit_1_and_usage_errors_exit_2(ws, tmp_path, capsys):
    assert main(["exercise", "42"]) == 1
    assert "unknown exercise '42'" in capsys.readouterr().err
    assert main(["exercise", "1", "--file", str(tmp_path / "nope.py")]) == 1
    assert "nope.py: no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["exercise"])
    assert exit_info.value.code == 2


def test_exercise_all_grades_every_exercise_and_sums_up(ws, capsys):
    assert main(["exercise", "all", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    numbers = [int(p.name[2:4]) for p in sorted((REPO / "exercises").glob("ex*.yaml"))]
    assert [r["exercise"] for r in results] == numbers
    assert main(["exercise", "all", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "Summary" in out and "total" in out and "Next: work on exercise 1" in out


def test_list_shows_progress_after_a_run(ws, tmp_path, capsys):
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["status"] == "not started"
    main(["exercise", "1", "--json"])
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["status"] == "failing" and row["attempts"] == 1 and row["best"] == 0


def test_hints_are_progressive(ws, capsys):
    main(["hint", "1", "--json"])
    first = json.loads(capsys.readouterr().out)
    main(["hint", "1", "--json"])
    second = json.loads(capsys.readouterr().out)
    assert [h["number"] for h in first["hints"]] == [1]
    assert [h["number"] for h in second["hints"]] == [2]
    main(["hint", "1", "--all", "--no-color"])
    out = capsys.readouterr().out
    assert "Hint 1 of" in out and f"Hint {first['total']} of" in out
    main(["hint", "1", "3", "--json"])
    assert [h["number"] for h in json.loads(capsys.readouterr().out)["hints"]] == [3]
    assert main(["hint", "1", "99"]) == 1
    assert "has hints 1 to" in capsys.readouterr().err


def test_seed_changes_the_random_cases(ws, tmp_path, capsys):
    path = tmp_path / "w.py"
    path.write_text("def softmax(f):\n    raise ValueError(repr(f.ravel()[0]))\n")
    main(["exercise", "1", "--file", str(path), "--json", "--seed", "1"])
    one = json.loads(capsys.readouterr().out)["checks"][0]["message"]
    main(["exercise", "1", "--file", str(path), "--json", "--seed", "2"])
    two = json.loads(capsys.readouterr().out)["checks"][0]["message"]
    main(["exercise", "1", "--file", str(path), "--json", "--seed", "1"])
    assert json.loads(capsys.readouterr().out)["checks"][0]["message"] == one != two


def test_every_command_has_help_and_a_readme_entry():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    readme = (REPO / "README.md").read_text()
    for name, sub in commands.items():
        assert sub.description or sub.format_help(), name
        assert f"grade {name}" in readme, f"README does not mention `grade {name}`"


def test_the_installed_command_runs_and_honours_no_color(tmp_path):
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO), "NO_COLOR": "1",
           "FORCE_COLOR": "", "GRADEWISE_WORKSPACE": str(tmp_path / "w")}
    env.pop("FORCE_COLOR")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "exercise", "1"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Score 0/10" in done.stdout and "\x1b[" not in done.stdout
