"""`grade release`: the student course holds no reference code, grades every file exactly as
the full course does (a clone of just the release, installed as its README says), and the
instructor's hidden seed catches a submission that copies the released keys."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import grader
from grader.checks import case_runs
from grader.cli import main
from grader.course import Course
from grader.errors import GradewiseError
from grader.grading import Grader
from grader.keys import KeyReferences
from grader.release import write_release
from grader.stubs import render_stub

from conftest import COURSE, REPO
from test_install import clean_env, install

SEEDS = [0, 1]
HIDDEN_SEED = 7
SPECS = COURSE.specs()


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "cs224n-release"
    write_release(out, COURSE, SPECS, SEEDS)
    return out


def secret_functions(spec) -> set[str]:
    """What the solution module of `spec` defines that a student must not get, read from
    the spec itself: the functions to write, the mistakes, `of:` and `reference:`."""
    names = {f.name for f in spec.functions} | {m.solution_attr for m in spec.mistakes}
    return names | {c.options[k] for c in spec.checks for k in ("of", "reference")
                    if c.options.get(k)}


def bodies(source: str) -> dict[str, str]:
    """Every top-level function's body (no docstring), lines stripped, blanks dropped."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            lines = source.splitlines()[body[0].lineno - 1:body[-1].end_lineno]
            found[node.name] = "\n".join(line.strip() for line in lines if line.strip())
    return found


def student_files(spec) -> dict[str, str]:
    """label → source: the reference, the stub, and the reference with each mistake."""
    reference = (COURSE.solutions_dir / spec.solution).read_text(encoding="utf-8")
    files = {"reference": reference, "stub": render_stub(spec)}
    files.update((m.id, f"{reference}\n\n{m.function} = {m.solution_attr}\n")
                 for m in spec.mistakes)
    return files


# -- nothing secret in it -------------------------------------------------------------------------

def test_a_release_holds_no_reference_code(release):
    files = {p.relative_to(release).as_posix(): p for p in release.rglob("*") if p.is_file()}
    assert {p.split("/")[0] for p in files} == {".gitignore", "README.md", "pyproject.toml",
                                                 "release.json", "grader", "exercises", "keys"}
    course_files = {rel: path.read_text(encoding="utf-8", errors="replace")
                    for rel, path in files.items() if not rel.startswith("grader/")}
    for spec in SPECS:
        secret = secret_functions(spec)
        code = bodies((COURSE.solutions_dir / spec.solution).read_text(encoding="utf-8"))
        for rel, text in course_files.items():
            flat = "\n".join(line.strip() for line in text.splitlines() if line.strip())
            assert not [n for n in secret if f"def {n}(" in text], rel
            # a body long enough to be more than `return x` never appears whole
            assert not [n for n in secret if len(code[n]) > 24 and code[n] in flat], rel
    # the copy of gradewise is gradewise, file for file, without its bundled course
    package = Path(grader.__file__).resolve().parent
    copied = {rel for rel in files if rel.startswith("grader/")}
    assert copied == {f"grader/{p.relative_to(package).as_posix()}"
                      for p in package.rglob("*.py") if "__pycache__" not in p.parts
                      and not p.relative_to(package).as_posix().startswith("_bundled/")
                      } | {"grader/_bundled/__init__.py"}
    assert all(files[rel].read_bytes() == (package / rel[len("grader/"):]).read_bytes()
               for rel in copied)
    # only the released seeds: in the manifest and in every key
    assert json.loads((release / "release.json").read_text())["seeds"] == SEEDS
    for spec in SPECS:
        key = json.loads((release / "keys" / f"{spec.stem}.json").read_text())
        assert sorted(map(int, key["seeds"])) == SEEDS


def test_importing_the_public_modules_defines_no_reference_function(release):
    probe = ("import importlib.util, json, sys, pathlib\n"
             "found = {}\n"
             "for path in sorted(pathlib.Path(sys.argv[1]).glob('*.py')):\n"
             "    spec = importlib.util.spec_from_file_location(path.stem, path)\n"
             "    module = importlib.util.module_from_spec(spec)\n"
             "    spec.loader.exec_module(module)\n"
             "    found[path.stem] = [n for n, v in vars(module).items() if callable(v)]\n"
             "print(json.dumps({'defined': found, 'modules': sorted(sys.modules)}))\n")
    done = subprocess.run([sys.executable, "-c", probe, str(release / "exercises")],
                          capture_output=True, text=True, timeout=60, cwd=release)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert sorted(answer["defined"]) == [f"{s.stem}_grading" for s in SPECS
                                         if COURSE.public_path(s).is_file()]
    for spec in SPECS:
        defined = set(answer["defined"].get(f"{spec.stem}_grading", []))
        assert not defined & secret_functions(spec), spec.stem
    assert not [m for m in answer["modules"] if "solution" in m]


def course_copy(tmp_path, number: int) -> Path:
    """One exercise of the course, copied: spec, public module, solution, data."""
    spec = SPECS[number - 1]
    root = tmp_path / "course"
    (root / "solutions").mkdir(parents=True)
    shutil.copytree(REPO / "exercises" / "data", root / "exercises" / "data")
    shutil.copy(spec.path, root / "exercises")
    if COURSE.public_path(spec).is_file():
        shutil.copy(COURSE.public_path(spec), root / "exercises")
    shutil.copy(COURSE.solutions_dir / spec.solution, root / "solutions")
    return root


@pytest.mark.parametrize("added,said", [
    ("def grad_b(x, W, b, u):\n    return u\n", "defines 'grad_b'"),
    # exercise 4's private helper δ, under another name: its code is the answer
    ("def _error_signal(x, W, b, u):\n    return u * _sigmoid_grad(W @ x + b)\n",
     "holds the code of solutions/ex04_grad_b.py: _delta"),
], ids=["a-reference-function", "a-helper-s-code"])
def test_a_release_that_would_give_away_reference_code_is_refused(tmp_path, added, said):
    root = course_copy(tmp_path, 4)
    public = root / "exercises" / "ex04_grad_b_grading.py"
    public.write_text(public.read_text() + "\n\n" + added)
    course = Course(root)
    with pytest.raises(GradewiseError) as raised:
        write_release(tmp_path / "out", course, course.specs(), [0])
    assert said in str(raised.value)
    assert not (tmp_path / "out").exists()
    public.write_text(public.read_text().replace(added, ""))  # without it: released
    write_release(tmp_path / "out", course, course.specs(), [0])
    assert (tmp_path / "out" / "keys" / "ex04_grad_b.json").is_file()


def test_a_public_function_left_in_solutions_keeps_grading_but_is_not_released(tmp_path):
    root = course_copy(tmp_path, 2)
    public = root / "exercises" / "ex02_cross_entropy_grading.py"
    solution = root / "solutions" / "ex02_cross_entropy.py"
    solution.write_text(solution.read_text() + "\n\n" + public.read_text())  # the old layout
    public.unlink()
    course = Course(root)
    spec = course.find("2")
    with Grader(course) as g:
        assert g.grade_source(spec, solution.read_text(), "s.py").full_marks
    with pytest.raises(GradewiseError, match="move it there from solutions/ex02"):
        write_release(tmp_path / "out", course, [spec], [0])
    from grader.validate import validate_course

    problems = validate_course(course)[0].problems
    assert any("'dense_distributions', which is not in exercises/ex02_cross_entropy_grading.py"
               in p for p in problems), problems


# -- a student's clone grades as the full course ----------------------------------------------

GRADE_ALL = """\
import json, sys
from pathlib import Path
from grader.course import find_course
from grader.grading import Grader

files, seed = json.loads(Path(sys.argv[1]).read_text()), int(sys.argv[2])
course = find_course()
results = {}
with Grader(course, seed=seed) as g:
    for number, label, source in files:
        spec = course.find(str(number))
        results[f"{number}/{label}"] = g.grade_source(spec, source, "/submission/student.py",
                                                      "student.py").to_json()
print(json.dumps({"root": str(course.root), "release": course.release is not None,
                  "grader": __import__("grader").__file__, "results": results}))
"""


def grade_all(python, cwd, env, files_json, seed) -> dict:
    done = subprocess.run([str(python), str(files_json.parent / "grade_all.py"), str(files_json),
                           str(seed)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_clone_of_just_the_release_grades_every_file_as_the_full_course(release, tmp_path):
    published = tmp_path / "published"
    shutil.copytree(release, published)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "release"]):
        subprocess.run([*git, *command], cwd=published, check=True, timeout=60)
    clone = tmp_path / "student" / "cs224n"
    subprocess.run(["git", "clone", "-q", str(published), str(clone)], check=True, timeout=60)
    assert not (clone / "solutions").exists()
    python = install(clone, tmp_path / "venv", editable=True)  # `pip install -e .`
    env = clean_env()

    work = tmp_path / "work"
    work.mkdir()
    (work / "grade_all.py").write_text(GRADE_ALL)
    files = [[spec.number, label, source] for spec in SPECS
             for label, source in student_files(spec).items()]
    (work / "files.json").write_text(json.dumps(files))
    for seed in SEEDS:
        student = grade_all(python, clone, env, work / "files.json", seed)
        full = grade_all(sys.executable, work, {**env, "GRADEWISE_COURSE": str(REPO)},
                         work / "files.json", seed)
        assert student["release"] and not full["release"]
        assert Path(student["grader"]).is_relative_to(clone)
        assert student["results"].keys() == full["results"].keys()
        differ = [k for k in full["results"] if student["results"][k] != full["results"][k]]
        assert not differ, differ[:5]
        scores = {k: r["score"] for k, r in full["results"].items()}
        assert all(scores[f"{s.number}/reference"] == s.points for s in SPECS)
        assert all(scores[f"{s.number}/stub"] == 0 for s in SPECS)
        assert all(scores[f"{s.number}/{m.id}"] < s.points for s in SPECS for m in s.mistakes)

    # the README's two commands, then what a student types next
    grade = str(python.parent / "grade")
    done = subprocess.run([grade, "exercise", "1"], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and (clone / "workspace" / "ex01_softmax.py").is_file(), done.stderr
    assert "Score 0/10" in done.stdout
    (work / "mine.py").write_text(student_files(SPECS[0])["reference"])
    done = subprocess.run([grade, "exercise", "1", "--file", str(work / "mine.py"), "--json",
                           "--seed", "1"], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=120)
    assert json.loads(done.stdout)["score"] == 10, done.stderr
    done = subprocess.run([grade, "exercise", "1", "--seed", "9"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "seeds 0, 1 only" in done.stderr
    done = subprocess.run([grade, "solution", "1", "--anyway"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=120, input="y\n")
    assert done.returncode == 1 and "holds no reference solutions" in done.stderr
    # check(1) in a notebook: the kernel's history graded by grader.kernelcheck
    done = subprocess.run([str(python), "-m", "grader.kernelcheck", "1", "--shown-as", "nb.ipynb"],
                          cwd=clone, env=env, capture_output=True, text=True, timeout=120,
                          input=json.dumps({"cells": ["", student_files(SPECS[0])["reference"]]}))
    assert json.loads(done.stdout)["result"]["score"] == 10, done.stderr


# -- the instructor's hidden seed -------------------------------------------------------------

def key_copying_submission(release: Path, spec) -> str:
    """Functions that look their arguments up in a table of the key's reference outputs, for
    every call of every check on every released seed: what a student could write with the
    release alone."""
    course = Course(release)
    table = {}
    for seed in SEEDS:
        references, built = course.references(spec, seed), {}
        for check in spec.checks:
            for run in case_runs(spec, check, seed, references, built):
                for call in run.calls:
                    answer = references.output(check.function, call)
                    table[check.function + repr([_plain(a) for a in call.args])] = _plain(answer)
    functions = "".join(
        f"\n\ndef {f.name}{f.signature}:\n"
        f"    return np.array(_TABLE[{f.name!r} + repr([_plain(a) for a in "
        f"({', '.join(f.params)},)])])\n" for f in spec.functions)
    return ("import numpy as np\n\n_TABLE = " + repr(table) + "\n\n\n"
            "def _plain(a):\n    return np.asarray(a).tolist()\n" + functions)


def _plain(value):
    return np.asarray(value).tolist()


def test_batch_with_a_hidden_seed_catches_the_key_copying_submission(release, tmp_path,
                                                                      monkeypatch):
    spec = SPECS[0]
    cheat = key_copying_submission(release, spec)
    assert "def softmax(" in cheat and "np.exp" not in cheat
    with Grader(Course(release)) as g:  # the release, as the student has it: full marks
        for seed in SEEDS:
            g.seed = seed
            assert g.grade_source(spec, cheat, "cheat.py").score == spec.points
    subs = tmp_path / "subs"
    for name, source in (("cheat", cheat), ("honest", student_files(spec)["reference"])):
        (subs / name).mkdir(parents=True)
        (subs / name / f"{spec.stem}.py").write_text(source)
    monkeypatch.setenv("GRADEWISE_COURSE", str(REPO))
    out = tmp_path / "grades"
    assert main(["batch", str(subs), "--out", str(out), "--exercises", "1", "--seed",
                 str(HIDDEN_SEED), "--jobs", "1", "--json"]) == 0
    scores = {name: json.loads((out / "feedback" / f"{name}.json").read_text())["score"]
              for name in ("cheat", "honest")}
    assert scores == {"cheat": 0, "honest": spec.points}


# -- grading from the keys, and only the released seeds ---------------------------------------

@pytest.fixture
def in_release(release, monkeypatch, tmp_path, plain_env):
    monkeypatch.setenv("GRADEWISE_COURSE", str(release))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "ws"))
    (tmp_path / "ref1.py").write_text(student_files(SPECS[0])["reference"])
    return release


def test_grading_reads_the_key_not_a_solution(release, tmp_path):
    copy = tmp_path / "release"
    shutil.copytree(release, copy)
    key_path = copy / "keys" / "ex01_softmax.json"
    key = json.loads(key_path.read_text())
    for row in key["seeds"]["0"]["outputs"]:  # every reference output of softmax: doubled
        if row[0] == "softmax":
            value = row[2]["value"]
            value["data"] = (2 * np.array(value["data"], dtype=float)).tolist()
    key_path.write_text(json.dumps(key))
    course = Course(copy)
    with Grader(course) as g:
        result = g.grade_source(course.find("1"), student_files(SPECS[0])["reference"], "r.py")
    failed = {c.function for c in result.checks if not c.passed}
    assert "softmax" in failed and "softmax_classifier" not in failed


def test_a_seed_outside_the_release_names_the_released_seeds(in_release, tmp_path, capsys):
    assert main(["exercise", "1", "--seed", "4"]) == 1
    assert "this release of the course grades the cases of seeds 0, 1 only" in \
        capsys.readouterr().err
    assert main(["exercise", "1", "--file", str(tmp_path / "ref1.py"), "--seed", "1",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == 10


def test_a_release_without_seed_0_grades_its_own_seed_by_default(tmp_path, monkeypatch, capsys):
    out = tmp_path / "release"
    write_release(out, COURSE, SPECS[:1], [3])
    monkeypatch.setenv("GRADEWISE_COURSE", str(out))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "ws"))
    (tmp_path / "ref1.py").write_text(student_files(SPECS[0])["reference"])
    assert main(["exercise", "1", "--file", str(tmp_path / "ref1.py"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == 10


@pytest.mark.parametrize("command,said", [
    (["list", "--no-color"], "softmax"),
    (["hint", "4", "--no-color"], "Hint 1 of"),
    (["notebook", "1"], "Wrote"),
])
def test_the_other_student_commands_work_in_a_release(in_release, tmp_path, command, said,
                                                      capsys):
    assert main(command) == 0
    assert said in capsys.readouterr().out
    if command[0] == "notebook":
        assert (tmp_path / "ws" / "ex01_softmax.ipynb").is_file()


@pytest.mark.parametrize("command", [["solution", "1"], ["validate"],
                                     ["gradescope", "--out", "ag.zip"]])
def test_what_needs_the_solutions_says_a_release_has_none(in_release, command, capsys):
    assert main(command) == 1
    assert "holds no reference solutions" in capsys.readouterr().err


@pytest.mark.parametrize("damage,said", [
    ("spec", "is not the spec its reference key (ex02_cross_entropy.json) was made for"),
    ("key", "keys/ex02_cross_entropy.json is damaged"),
    ("generator", "case 'distributions': its inputs are not those the reference key"),
])
def test_a_release_whose_files_changed_refuses_to_grade(release, tmp_path, monkeypatch,
                                                        capsys, damage, said):
    copy = tmp_path / "release"
    shutil.copytree(release, copy)
    if damage == "spec":
        path = copy / "exercises" / "ex02_cross_entropy.yaml"
        path.write_text(path.read_text().replace("rtol: 1e-7", "rtol: 1e-1", 1))
    elif damage == "key":
        (copy / "keys" / "ex02_cross_entropy.json").write_text('{"format": 1, "seeds": ')
    else:
        path = copy / "exercises" / "ex02_cross_entropy_grading.py"
        path.write_text(path.read_text().replace("rng.dirichlet(np.ones(C))",
                                                 "rng.dirichlet(2 * np.ones(C))", 1))
    monkeypatch.setenv("GRADEWISE_COURSE", str(copy))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "ws"))
    assert main(["exercise", "2"]) == 1
    assert said in capsys.readouterr().err


def test_a_crlf_clone_still_fits_its_keys(release, tmp_path):
    copy = tmp_path / "release"
    shutil.copytree(release, copy)
    path = copy / "exercises" / "ex01_softmax.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # git's autocrlf on Windows
    course = Course(copy)
    with Grader(course) as g:
        assert g.grade_source(course.find("1"), student_files(SPECS[0])["reference"],
                              "r.py").full_marks


def test_release_updates_an_earlier_one_in_place_and_refuses_other_folders(tmp_path,
                                                                          monkeypatch, capsys):
    monkeypatch.setenv("GRADEWISE_COURSE", str(REPO))
    out = tmp_path / "release"
    assert main(["release", "--out", str(out), "--exercises", "1-2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["exercises"] == [1, 2]
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    workflow = out / ".github" / "workflows" / "classroom.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: Autograding Tests\n")
    assert main(["release", "--out", str(out), "--exercises", "3", "--seeds", "0-2"]) == 0
    assert "seeds 0, 1, 2" in capsys.readouterr().out
    assert (out / ".git" / "HEAD").is_file() and workflow.read_text() == "name: Autograding Tests\n"
    assert sorted(p.name for p in (out / "keys").iterdir()) == ["ex03_jacobians.json"]
    assert not (out / "exercises" / "ex01_softmax.yaml").exists()
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("x")
    assert main(["release", "--out", str(other)]) == 1
    assert "holds other files (todo.txt)" in capsys.readouterr().err
    assert main(["release", "--out", str(tmp_path / "x"), "--seeds", "1,a"]) == 1
    assert "--seeds: expected numbers like 0,1,2" in capsys.readouterr().err


# -- grade validate compares the two ------------------------------------------------------------

def test_validate_reports_a_file_graded_otherwise_from_the_key(monkeypatch):
    from grader.validate import validate_course

    real = KeyReferences.output

    def off_by_a_little(self, name, call):
        value = real(self, name, call)
        return value * (1 + 1e-3) if name == "total" else value

    monkeypatch.setattr(KeyReferences, "output", off_by_a_little)
    toy = Course(REPO / "tests" / "fixture_course")
    problems = validate_course(toy)[0].problems
    assert problems and "the reference solution is graded otherwise in a student release" \
        in problems[0]
    assert "check 'total works', passed: True from the solutions, False from the key" in problems[0]
    monkeypatch.setattr(KeyReferences, "output", real)
    assert validate_course(toy)[0].problems == []


# -- grade solution ------------------------------------------------------------------------------

def test_solution_is_shown_once_solved_or_anyway_after_confirming(tmp_path, monkeypatch, capsys,
                                                                  plain_env):
    import io

    monkeypatch.setenv("GRADEWISE_COURSE", str(REPO))
    monkeypatch.setenv("GRADEWISE_WORKSPACE", str(tmp_path / "ws"))
    assert main(["solution", "1"]) == 1
    assert "you have not graded exercise 1 yet: its reference solution is shown once you have " \
        "full marks" in " ".join(capsys.readouterr().err.split())
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert main(["solution", "1", "--anyway"]) == 0
    out, err = capsys.readouterr()
    assert "Show the reference solution anyway? [y/N]" in err and "def softmax" not in out
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert main(["solution", "1", "--anyway", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["code"]
    assert "def softmax(f):" in shown and "mistake_" not in shown
    assert "# -- known mistakes" not in shown
    (tmp_path / "ref1.py").write_text(student_files(SPECS[0])["reference"])
    assert main(["exercise", "1", "--json"]) == 0  # the stub: 0, recorded
    capsys.readouterr()
    assert main(["solution", "1"]) == 1
    assert "your best score on exercise 1 is 0/10" in capsys.readouterr().err
    (tmp_path / "ws" / "ex01_softmax.py").write_text(student_files(SPECS[0])["reference"])
    assert main(["exercise", "1", "--json"]) == 0  # full marks, recorded
    capsys.readouterr()
    assert main(["solution", "1", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "Reference solution · exercise 1 softmax" in out and "def softmax(f):" in out
    assert "def mistake_" not in out
