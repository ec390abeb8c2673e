"""Authoring that fails on the author, not on the students: the author's errors `grade
validate` finds in a solution module are spec errors (file, line, field; no traceback); a
reference that fails its own check is named once, in the author's words; a broken exercise
is contained (`grade list`, `grade batch --exercises`, `grade gradescope --exercises`, the
other exercises); `grade batch` and `grade gradescope` refuse an exercise whose reference
does not score full marks; the worked example of AUTHORING.md validates as written.

Each test builds a course of two toy exercises in tmp_path, breaks exercise 1, and checks
that exercise 2 is still graded."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.cli import main

from conftest import REPO

TOY = Path(__file__).parent / "fixture_course"

GRADIENT_CHECK = """\
  - name: gradient of the total
    function: total_grad
    kind: gradcheck
    of: {of}
    wrt: x
    cases: [short]
    points: 1
"""
TOTAL_GRAD = """\
  - name: total_grad
    signature: (x)
    docstring: The gradient of total(x) with respect to x.
"""


@pytest.fixture
def course(tmp_path, monkeypatch, plain_env):
    """Exercise 1 (the toy, to break) and exercise 2 (a copy of it, left alone)."""
    root = tmp_path / "course"
    shutil.copytree(TOY, root)
    spec = (root / "exercises" / "ex01_toy.yaml").read_text()
    (root / "exercises" / "ex02_other.yaml").write_text(
        spec.replace("number: 1\nslug: toy", "number: 2\nslug: other"))
    shutil.copy(root / "solutions" / "ex01_toy.py", root / "solutions" / "ex02_other.py")
    monkeypatch.setenv("GRADEWISE_COURSE", str(root))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "400")  # an error on one line, its path and all
    monkeypatch.chdir(tmp_path)
    return root


def edit(course: Path, check: str = "", case: str = "", function: str = "", solution: str = "",
         points: float = 0, replace: tuple = ()) -> Path:
    """Exercise 1 with a check, case, function, solution code added (the total follows)."""
    path = course / "exercises" / "ex01_toy.yaml"
    text = path.read_text()
    text = text.replace("points: 4\n", f"points: {4 + points:g}\n", 1)
    text = text.replace("hints:\n", check + "hints:\n", 1)
    text = text.replace("checks:\n", case + "checks:\n", 1)
    text = text.replace("cases:\n", function + "cases:\n", 1)
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    path.write_text(text)
    module = course / "solutions" / "ex01_toy.py"
    module.write_text(module.read_text() + "\n\n" + textwrap.dedent(solution))
    return path


def line_of(path: Path, fragment: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


def validate(capsys, *argv) -> tuple[int, str]:
    code = main(["validate", "--no-color", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, " ".join((out + err).split())


def assert_other_exercise_grades(capsys, course: Path):
    """Exercise 2, untouched, is still graded in full, whatever exercise 1 holds."""
    solution = course / "solutions" / "ex02_other.py"
    assert main(["exercise", "2", "--file", str(solution), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["exercise"], result["score"], result["max_score"]) == (2, 4, 4)


# -- the author's errors in the solution module are spec errors ----------------------------------

def test_a_gradient_check_target_that_returns_an_array_is_a_spec_error(course, capsys):
    spec = edit(course, check=GRADIENT_CHECK.format(of="total_vector"), points=1,
                function=TOTAL_GRAD, solution="""
                def total_grad(x):
                    return np.ones_like(x)

                def total_vector(x):
                    return x * 1.0
                """)
    code, out = validate(capsys)
    assert code == 1
    line = line_of(spec, "of: total_vector")
    assert (f"ex01_toy.yaml:{line}: checks[2].of: `total_vector` must return a number, the "
            "scalar whose gradient is checked; on case 'short' it returned an array of shape "
            "(3,)") in out
    assert re.search(r"ex02_other\.yaml\s*│\s*4/4\s*│\s*0/4\s*│\s*1/1\s*│\s*ok", out)
    assert_other_exercise_grades(capsys, course)


def test_a_predicate_that_raises_on_the_reference_is_a_spec_error(course, capsys):
    spec = edit(course, points=1, check="""\
  - name: total is a plain float
    function: total
    kind: property
    predicate: plain_float
    points: 1
""", solution="""
                def plain_float(value, **inputs):
                    return value.dtype == np.float64
                """)
    code, out = validate(capsys)
    assert code == 1
    line = line_of(spec, "predicate: plain_float")
    assert (f"ex01_toy.yaml:{line}: checks[2].predicate: `plain_float` raised AttributeError: "
            "'float' object has no attribute 'dtype' (solutions/ex01_toy.py:") in out
    assert "`return value.dtype == np.float64`) on the reference's own output, case 'short'" \
        in out
    assert_other_exercise_grades(capsys, course)


@pytest.mark.parametrize("returned,problem", [
    ("rng.normal(size=n), 2.0", "`make_x` must return a dict of the case's inputs by name "
                                "({'x': ..., 'W': ...}); it returned a tuple"),
    ("{'x': rng.normal(size=n), 'k': object()}", "`make_x` returned 'k' = a object, which "
                                                "cannot be handed to student code"),
    ("{'x': rng.normal(size=n)}", "case 'made' has no input 'k' (`make_x` returns x), which "
                                  "`scale(x, k)` needs for check 'scale works'"),
], ids=["a-tuple", "an-object", "an-input-missing"])
def test_a_generator_that_returns_the_wrong_shape_is_a_spec_error(course, capsys, returned,
                                                                   problem):
    spec = edit(course, case="  - name: made\n    dims: {n: 4}\n    generate: make_x\n",
                solution=f"""
                def make_x(rng, n):
                    return {returned}
                """)
    code, out = validate(capsys)
    line = line_of(spec, "generate: make_x")
    assert code == 1 and f"ex01_toy.yaml:{line}: cases[2].generate: {problem}" in out
    if "a tuple" in problem:  # grading a student meets it too: the same error, no traceback
        assert main(["exercise", "1", "--json"]) == 1
        err = capsys.readouterr().err
        assert f"ex01_toy.yaml:{line}: cases[2].generate: `make_x` must return" in err
        assert "Traceback" not in err
    assert_other_exercise_grades(capsys, course)


def test_a_name_split_by_a_comma_says_to_quote_it(course, capsys):
    spec = edit(course, replace=("    kind: compare\n    points: 2\n  - name: total works",
                                 "    kind: compare\n    points: 2\n  - name: total, summed"))
    text = spec.read_text().replace("fails: [scale works]", "fails: [total, summed]")
    spec.write_text(text)
    code, out = validate(capsys)
    assert code == 1
    assert (f"ex01_toy.yaml:{line_of(spec, 'fails: [total, summed]')}: mistakes[0].fails[0]: "
            "unknown check 'total'; expected one of scale works, 'total, summed' (in a list "
            "written [..., ...] a comma ends a name: quote it, [\"total, summed\"])") in out


# -- a reference that fails its own check: named once, in the author's words -------------------

WRONG_REFERENCE = dict(
    check=GRADIENT_CHECK.format(of="total"), points=1, function=TOTAL_GRAD,
    replace=("fails: [scale works]\n", "fails: [scale works]\n"
             "  - id: doubled\n    function: total_grad\n"
             "    message: you computed twice the gradient; halve it.\n"
             "    fails: [gradient of the total]\n"),
    solution="""
        def total_grad(x):
            return 2.0 * np.ones_like(x)  # wrong: the gradient of the sum is 1

        def mistake_doubled(x):
            return 2.0 * np.ones_like(x)
        """)


def test_a_reference_that_fails_its_own_check_is_named_once_as_the_authors_error(course,
                                                                                   capsys):
    edit(course, **WRONG_REFERENCE)
    code, out = validate(capsys, "--json")
    assert code == 1
    reports = {r["spec"]: r for r in json.loads(out)}
    toy = reports["ex01_toy.yaml"]
    assert toy["reference"] == "4/5" and toy["mistakes"] == "not checked"
    assert toy["problems"] == [
        "the reference `total_grad` fails 'gradient of the total' on case 'short': its "
        "gradient at index (0,) is 2, finite differences of `total` with respect to x give 1 "
        "(relative error 0.333, threshold 1e-06): either the gradient or `total` is wrong"]
    assert reports["ex02_other.yaml"]["ok"]
    code, out = validate(capsys)
    assert "you computed" not in out and "mistake " not in out  # no student voice, no echo
    assert_other_exercise_grades(capsys, course)


@pytest.mark.parametrize("code,error", [
    ("def broken(:\n    pass\n", "SyntaxError: invalid syntax"),
    ("X = undefined_name + 1\n", "NameError: name 'undefined_name' is not defined"),
])
def test_a_solution_module_that_does_not_import_is_named_with_its_line(course, capsys, code,
                                                                       error):
    module = course / "solutions" / "ex01_toy.py"
    module.write_text(module.read_text() + "\n\n" + code)
    line = len(module.read_text().splitlines()) - code.count("\n") + 1
    code, out = validate(capsys)
    assert code == 1
    assert f"{module}:{line}: the reference solution cannot be imported: {error}" in out
    assert main(["exercise", "1", "--json"]) == 1
    assert f"{module}:{line}: the reference solution cannot be imported" in \
        capsys.readouterr().err
    assert_other_exercise_grades(capsys, course)


def test_a_reference_that_reads_the_course_when_imported_is_named(course, capsys):
    """It loads in the parent, but student code runs without the course's files."""
    (course / "exercises" / "data").mkdir()
    (course / "exercises" / "data" / "k.txt").write_text("2.0\n")
    module = course / "solutions" / "ex01_toy.py"
    module.write_text("from pathlib import Path\n\nK = float((Path(__file__).parent.parent / "
                      "'exercises' / 'data' / 'k.txt').read_text())\n" + module.read_text())
    code, out = validate(capsys)
    assert code == 1
    assert ("ex01_toy.yaml: the reference solution could not be loaded where student code "
            "runs (an empty folder, without the course's files: a solution reads its data in "
            "a case's generator, never when it is imported): solutions/ex01_toy.py raised "
            "FileNotFoundError while it was loaded (line 3)") in out
    assert_other_exercise_grades(capsys, course)


# -- a broken exercise is contained -------------------------------------------------------------

def break_spec(course: Path) -> int:
    """Exercise 1's spec made unreadable; the line of the error."""
    path = edit(course, replace=("    points: 2\n", "    points: two\n"))
    return line_of(path, "points: two")


def test_grade_list_shows_a_broken_spec_with_its_error_and_the_others(course, capsys):
    line = break_spec(course)
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["exercise"], r["status"]) for r in rows] == [(1, "broken"), (2, "not started")]
    assert rows[0]["error"].endswith(f"ex01_toy.yaml:{line}: checks[0].points: expected a "
                                     "number, got 'two'")
    assert rows[1]["title"] == "A toy exercise for the grader's own tests" and \
        rows[1]["error"] is None
    assert main(["list", "--no-color"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "│ 1 │ toy │ — │" in out and "broken" in out and "│ 2 │ other │" in out
    assert f"Exercise 1 is broken: {course}/exercises/ex01_toy.yaml:{line}: checks[0].points" \
        in out
    assert_other_exercise_grades(capsys, course)


def run_cli(course: Path, *args) -> subprocess.CompletedProcess:
    """The real `grade` in a process of its own (batch and gradescope fork)."""
    env = {**os.environ, "GRADEWISE_COURSE": str(course), "NO_COLOR": "1", "COLUMNS": "300"}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def class_of_one(tmp_path: Path, course: Path) -> Path:
    subs = tmp_path / "subs"
    (subs / "ada").mkdir(parents=True)
    for stem in ("ex01_toy", "ex02_other"):
        shutil.copy(course / "solutions" / f"{stem}.py", subs / "ada" / f"{stem}.py")
    return subs


def test_batch_and_gradescope_grade_the_other_exercises_when_one_spec_is_broken(course,
                                                                                 tmp_path):
    line = break_spec(course)
    subs = class_of_one(tmp_path, course)
    done = run_cli(course, "batch", str(subs), "--out", str(tmp_path / "out"), "--exercises",
                   "2", "--json")
    assert done.returncode == 0, done.stderr
    assert [e["exercise"] for e in json.loads(done.stdout)["exercises"]] == [2]
    assert (tmp_path / "out" / "gradebook.csv").read_text().splitlines()[1] == "ada,4,4"
    done = run_cli(course, "batch", str(subs), "--out", str(tmp_path / "all"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"Error: exercise 1 cannot be read: {course}/exercises/ex01_toy.yaml:{line}: "
        "checks[0].points: expected a number, got 'two'. Fix its spec (`grade validate`), or "
        "leave it out: --exercises 2.")
    assert not (tmp_path / "all").exists()
    done = run_cli(course, "gradescope", "--out", str(tmp_path / "ag.zip"), "--exercises", "2")
    assert done.returncode == 0, done.stderr
    done = run_cli(course, "gradescope", "--out", str(tmp_path / "ag1.zip"), "--exercises", "1")
    assert done.returncode == 1 and "exercise 1 cannot be read" in done.stderr
    assert not (tmp_path / "ag1.zip").exists()
    done = run_cli(course, "release", "--out", str(tmp_path / "release"), "--exercises", "2")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "release" / "keys").iterdir()) == \
        ["ex02_other.json"]


def test_batch_and_gradescope_refuse_an_exercise_whose_reference_fails(course, tmp_path):
    edit(course, **WRONG_REFERENCE)
    subs = class_of_one(tmp_path, course)
    done = run_cli(course, "batch", str(subs), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(
        "Error: exercise 1 (toy) cannot be graded: the reference `total_grad` fails 'gradient "
        "of the total' on case 'short': its gradient at index (0,) is 2, finite differences")
    assert "No student was graded" in done.stderr and "--exercises" in done.stderr
    assert not (tmp_path / "out").exists()
    done = run_cli(course, "batch", str(subs), "--out", str(tmp_path / "out"), "--exercises", "2")
    assert done.returncode == 0, done.stderr
    done = run_cli(course, "gradescope", "--out", str(tmp_path / "ag.zip"))
    assert done.returncode == 1 and "exercise 1 (toy) cannot be graded" in done.stderr
    assert not (tmp_path / "ag.zip").exists()


def test_gradescope_checks_the_reference_on_the_hidden_cases_too(course, tmp_path):
    """A reference wrong only for negative x, and a case whose x is negative under every
    seed but the public one: fine for the public seed, refused with a hidden seed."""
    edit(course, points=1, function=TOTAL_GRAD,
         case="  - name: positive\n    inputs: {x: [1.0, 2.0, 0.5]}\n"
              "    vary: [{scale: [-2.0, -1.0]}]\n",
         check=GRADIENT_CHECK.format(of="total").replace("[short]", "[positive]"),
         solution="""
            def total_grad(x):
                return (np.asarray(x) > 0).astype(float)  # wrong where x < 0
            """)
    done = run_cli(course, "gradescope", "--out", str(tmp_path / "ag.zip"))
    assert done.returncode == 0, done.stderr
    done = run_cli(course, "gradescope", "--out", str(tmp_path / "hidden.zip"),
                   "--hidden-seed", "5")
    assert done.returncode == 1
    assert done.stderr.startswith("Error: exercise 1 (toy) cannot be graded with seed 5: the "
                                  "reference `total_grad` fails 'gradient of the total' on "
                                  "case 'positive'")
    assert not (tmp_path / "hidden.zip").exists()


# -- AUTHORING.md's worked example ----------------------------------------------------------

def worked_example() -> tuple[str, str]:
    text = (REPO / "AUTHORING.md").read_text(encoding="utf-8")
    example = text[text.index("## A worked example"):]
    blocks = re.findall(r"```(yaml|python)\n(.*?)```", example, re.S)
    return tuple(textwrap.dedent(code) for _, code in blocks[:2])


def test_the_worked_example_of_authoring_md_validates_as_written(tmp_path, monkeypatch,
                                                                 capsys):
    spec, solution = worked_example()
    root = tmp_path / "course"
    (root / "exercises").mkdir(parents=True)
    (root / "solutions").mkdir()
    (root / "exercises" / "ex11_leaky_relu.yaml").write_text(spec)
    (root / "solutions" / "ex11_leaky_relu.py").write_text(solution)
    monkeypatch.setenv("GRADEWISE_COURSE", str(root))
    for seed in ("0", "1"):
        code, out = validate(capsys, "--seed", seed)
        assert code == 0 and "1 specs, all valid." in out, out
    # and the error the page says an array-returning `of` gives
    (root / "solutions" / "ex11_leaky_relu.py").write_text(solution.replace(
        "return float(np.sum(leaky_relu(z, alpha)))", "return leaky_relu(z, alpha)"))
    code, out = validate(capsys)
    assert code == 1 and ("checks[2].of: `sum_leaky_relu` must return a number, the scalar "
                          "whose gradient is checked; on case 'z-vector' it returned an array "
                          "of shape (6,)") in out
