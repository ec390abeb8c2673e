"""`grade batch SUBS --out DIR | head -1`: the reader of the progress goes away early; the
batch grades every student, writes every file, and exits 0 all the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import COURSE, REPO, solution_source

EX1 = COURSE.find("1")


@pytest.mark.parametrize("json_output", [False, True])
def test_a_batch_whose_output_is_closed_keeps_grading(tmp_path, json_output):
    subs, out = tmp_path / "subs", tmp_path / "out"
    names = [f"s{n:02d}" for n in range(6)]
    for name in names:
        (subs / name).mkdir(parents=True)
        (subs / name / f"{EX1.stem}.py").write_text(solution_source(EX1), encoding="utf-8")
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO), "NO_COLOR": "1"}
    argv = [sys.executable, "-m", "grader.cli", "batch", str(subs), "--out", str(out),
            "--exercises", "1", "--jobs", "1"] + (["--json"] if json_output else [])
    stream = "stdout"  # progress lines; with --json, stdout holds the summary alone
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE if json_output else subprocess.DEVNULL,
                          text=True) as batch:
        if json_output:  # the progress notes go to stderr: close both early
            batch.stderr.close()
        else:
            batch.stdout.readline()
        batch.stdout.close()  # `head -1` has what it wanted
        assert batch.wait(timeout=300) == 0
    assert sorted(p.stem for p in (out / "feedback").glob("*.json")) == names
    assert (out / "report.html").is_file() and (out / "gradebook.csv").is_file()
    assert json.loads((out / "summary.json").read_text())["graded"] == len(names)
