"""Check kinds: `monotone` in exercise 3 and on softmax's largest entry, a kind from outside
grader/ (registered in the process, and as an entry point of the `grade` command), each
kind's own rule in `grade validate`, and spec errors in a kind's options."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import kinds
from grader.cli import main
from grader.course import Course
from grader.grading import Grader
from grader.sandbox import Limits
from grader.validate import validate_course

from conftest import COURSE, REPO, grade_text, mistake_source, solution_source

FIXTURE_KIND = Path(__file__).parent / "fixture_kind"
EX03 = COURSE.find("3")
FAST = Limits(call_timeout=5.0, import_timeout=5.0)


def by_name(result):
    return {c.name: c for c in result.checks}


def add_to_toy(root: Path, check: str = "", points: float = 0, case: str = "",
               solution: str = "", function: str = "") -> Path:
    """Edit the copy of the toy course: one more check (its YAML lines), case, function,
    solution code; the total follows the points."""
    spec = root / "exercises" / "ex01_toy.yaml"
    text = spec.read_text()
    total = 4 + points
    text = text.replace("points: 4\n", f"points: {total:g}\n", 1)
    text = text.replace("hints:\n", check + "hints:\n", 1)
    text = text.replace("checks:\n", case + "checks:\n", 1)
    text = text.replace("cases:\n", function + "cases:\n", 1)
    spec.write_text(text)
    if solution:
        module = root / "solutions" / "ex01_toy.py"
        module.write_text(module.read_text() + "\n\n" + solution)
    return spec


# -- monotone in exercise 3 --------------------------------------------------------------------

def test_a_sigmoid_that_falls_as_z_grows_fails_the_monotone_check_naming_the_entry(grader):
    falling = solution_source(EX03) + (
        "\n\ndef sigmoid(z):\n    return np.exp(-np.asarray(z, dtype=float))\n")
    check = by_name(grade_text(grader, EX03, falling))["σ is increasing"]
    assert not check.passed and check.kind == "monotone" and check.score == 0
    found = re.search(r"case 'z-vector': `sigmoid` is increasing in z: raising z\[(\d)\] from "
                      r"(\S+) to (\S+) must not lower the output there, but yours went from "
                      r"(\S+) to (\S+)$", check.message)
    assert found, check.message
    x, x2, y, y2 = map(float, found.groups()[1:])
    assert x < x2 and y > y2  # raised, and the output fell
    assert check.evidence.worst_index == (int(found[1]),)
    assert [name for name, _ in check.evidence.inputs] == ["z", "z′"]
    assert check.failed_cases == ["z-vector", "z-matrix", "z-at-zero"]


def test_sigma_of_minus_z_is_named_by_the_monotone_check(grader):
    mistake = next(m for m in EX03.mistakes if m.id == "wrong-sign-in-exponent")
    check = by_name(grade_text(grader, EX03, mistake_source(EX03, mistake)))["σ is increasing"]
    assert check.diagnosis == "wrong-sign-in-exponent" and check.hint == 2
    assert check.message.startswith("case 'z-vector': `sigmoid` is increasing in z: raising z[")
    assert "— you computed 1/(1 + e^z), which is σ(−z)" in check.message


def test_a_right_sigmoid_written_another_way_passes_the_monotone_check(grader):
    other = solution_source(EX03) + (
        "\n\ndef sigmoid(z):\n    return 0.5 * (1 + np.tanh(np.asarray(z) / 2))\n")
    checks = by_name(grade_text(grader, EX03, other))
    assert checks["σ is increasing"].passed and checks["σ(z) elementwise"].passed


def test_a_call_that_fails_only_on_the_raised_input_shows_that_input(grader):
    """Every call of a case is checked as the first one is: an exception, a mutated input."""
    # z-vector's largest entry is below 3 and, raised, above it (under the default seed)
    raises = solution_source(EX03) + (
        "\n\ndef sigmoid(z):\n    if np.max(z) > 2.55:\n        raise ValueError('too big')\n"
        "    return _sigmoid(z)\n")
    check = by_name(grade_text(grader, EX03, raises))["σ is increasing"]
    assert check.diagnosis == "exception" and "ValueError: too big" in check.message
    assert "called with z raised: each entry by 0.1 to 1" in check.evidence.note
    assert any("raise ValueError" in code for _, _, code in check.evidence.trace)
    shown_z = dict(check.evidence.inputs)["z"]
    assert max(map(float, re.findall(r"-?\d+\.\d+", shown_z))) > 2.55

    mutates = solution_source(EX03) + (
        "\n\ndef sigmoid(z):\n    s = _sigmoid(z)\n    if np.max(z) > 2.55:\n        z[0] = 7\n"
        "    return s\n")
    check = by_name(grade_text(grader, EX03, mutates))["σ is increasing"]
    assert check.diagnosis == "mutated-input" and "`z`" in check.message


def test_rounding_of_a_flat_output_is_not_a_wrong_direction(toy_course_copy):
    """A clipped function is flat where it clips: one unit in the last place of 1e8 (1.5e-8,
    far above atol) is rounding; a thousand of them is not."""
    add_to_toy(toy_course_copy, points=1, check=(
        "  - name: floor_at is increasing\n    function: floor_at\n    kind: monotone\n"
        "    input: x\n    cases: [clipped]\n    points: 1\n"),
        function="  - name: floor_at\n    signature: (x, c)\n    docstring: max(x, c).\n",
        case="  - name: clipped\n    dims: {n: 4}\n    inputs: {x: {normal: [n]}, c: 1.0e+8}\n",
        solution="def floor_at(x, c):\n    return np.maximum(x, c)\n")
    course = Course(toy_course_copy)
    spec = course.find("1")
    student = (course.solutions_dir / "ex01_toy.py").read_text() + (
        "\n\nCALLS = []\n\n\ndef floor_at(x, c):\n    CALLS.append(x)\n"
        "    y = np.maximum(x, c)\n"  # the second call is the one with x raised
        "    return y if len(CALLS) == 1 else y - {ulps} * np.spacing(y)\n")
    with Grader(course, limits=FAST) as grader:
        rounded = grader.grade_source(spec, student.format(ulps=1), "s.py")
        dropped = grader.grade_source(spec, student.format(ulps=1000), "s.py")
    assert by_name(rounded)["floor_at is increasing"].passed
    check = by_name(dropped)["floor_at is increasing"]
    assert not check.passed and "yours went from 100000000 to 99999999.99999" in check.message


# -- monotone on softmax: only the largest entry -------------------------------------------------

TOP_SCORE = {"name": "raising the top score does not lower its probability",
             "function": "softmax", "kind": "monotone", "input": "f", "entries": "largest",
             "cases": ["vector", "integer-scores", "batch", "huge-logits-batch"],
             "points": 0.5}
# what else the new check catches: NaN (no max subtracted); the other rows' top scores
# lowering a probability normalised over a column or over the batch; a (1, C) vector
CAUGHT_TOO = ("no-max-subtraction", "wrong-axis", "sum-without-axis", "no-keepdims", "always-2d")
MAX_MINUS_F = {"id": "max-minus-f", "function": "softmax",
               "message": "you subtracted the wrong way round: exp(max f − f), not "
                          "exp(f − max f)."}


@pytest.fixture
def softmax_course(tmp_path):
    """Exercise 1 with a monotone check on softmax's largest entry (`entries` as given) and
    one more mistake, that only a sign error makes: softmax(−f)."""
    import yaml

    root = tmp_path / "course"
    for folder in ("exercises", "solutions"):
        (root / folder).mkdir(parents=True)
    shutil.copy(REPO / "exercises" / "ex01_softmax_grading.py", root / "exercises")
    (root / "solutions" / "ex01_softmax.py").write_text(
        (REPO / "solutions" / "ex01_softmax.py").read_text()
        + "\n\ndef mistake_max_minus_f(f):\n    f = np.asarray(f, dtype=np.float64)\n"
        "    with np.errstate(over='ignore', invalid='ignore'):\n"
        "        e = np.exp(np.max(f, axis=-1, keepdims=True) - f)\n"
        "        return e / np.sum(e, axis=-1, keepdims=True)\n")

    def write(entries):
        spec = yaml.safe_load((REPO / "exercises" / "ex01_softmax.yaml").read_text())
        spec["points"] += TOP_SCORE["points"]
        spec["checks"].append({**TOP_SCORE, "entries": entries})
        for mistake in spec["mistakes"]:
            if mistake["id"] in CAUGHT_TOO:
                mistake["fails"].append(TOP_SCORE["name"])
        # wrong everywhere, and NaN for ±1e4 logits (max f − f reaches 2e4)
        spec["mistakes"].append({**MAX_MINUS_F, "fails": [c["name"] for c in spec["checks"]]})
        (root / "exercises" / "ex01_softmax.yaml").write_text(
            yaml.safe_dump(spec, allow_unicode=True))
        return Course(root)

    return write


@pytest.mark.parametrize("seed", [0, 3])
def test_softmax_largest_entry_check_validates_and_names_its_mistake(softmax_course, seed):
    course = softmax_course("largest")
    reports = validate_course(course, seed=seed)
    assert [r.problems for r in reports] == [[]]
    assert reports[0].mistakes == "8/8"
    spec = course.find("1")
    with Grader(course, seed=seed, limits=FAST) as grader:
        source = (course.solutions_dir / spec.solution).read_text() + (
            "\n\ndef softmax(f):\n    return mistake_max_minus_f(f)\n")
        check = by_name(grader.grade_source(spec, source, "s.py"))[
            "raising the top score does not lower its probability"]
    assert check.diagnosis == "max-minus-f"
    assert "`softmax` is increasing in f (each row's largest entry): raising f[" in check.message


def test_every_entry_is_not_what_softmax_promises(softmax_course):
    """`entries: every` compares every entry: softmax's others fall when theirs rise less."""
    report = validate_course(softmax_course("every"))[0]
    assert report.reference == "10/10.5" and report.mistakes == "not checked"
    [problem] = report.problems  # named once, as the author's error
    assert problem.startswith("the reference `softmax` fails 'raising the top score does not "
                              "lower its probability' on case 'vector' (and 3 other cases): "
                              "raising f[")
    assert "so it is not increasing in f: either the function or the check's `direction` " \
           "(or `entries`) is wrong" in problem
    assert "yours" not in problem


# -- grade validate: each kind's own rule --------------------------------------------------------

def test_validate_flags_a_monotone_case_where_the_reference_does_not_move(toy_course_copy):
    add_to_toy(toy_course_copy, points=1, check=(
        "  - name: scale grows with x\n    function: scale\n    kind: monotone\n    input: x\n"
        "    cases: [short, flat]\n    points: 1\n"),
        case="  - name: flat\n    dims: {n: 3}\n    inputs: {x: {normal: [n]}, k: 0.0}\n")
    problems = validate_course(Course(toy_course_copy))[0].problems
    assert problems == ["check 'scale grows with x': on case 'flat' the reference's output "
                        "does not move when x is raised, so the case cannot tell an "
                        "increasing function from a decreasing one: choose inputs where it "
                        "does (not saturated, not flat)"]


def test_validate_flags_a_gradient_check_whose_true_gradient_is_zero(toy_course_copy):
    add_to_toy(toy_course_copy, points=1, check=(
        "  - name: gradient of a flat loss\n    function: zero_grad\n    kind: gradcheck\n"
        "    of: flat_loss\n    wrt: x\n    points: 1\n"),
        function="  - name: zero_grad\n    signature: (x)\n    docstring: zeros like x.\n",
        solution="def flat_loss(x):\n    return 0.0\n\n\ndef zero_grad(x):\n"
                 "    return np.zeros_like(x)\n")
    problems = validate_course(Course(toy_course_copy))[0].problems
    assert problems == ["check 'gradient of a flat loss': the true gradient is zero on every "
                        "case, so a function returning zeros would pass"]


# -- a kind's options in the spec ----------------------------------------------------------------

MONOTONE_ON_SCALE = ("  - name: scale grows with x\n    function: scale\n    kind: monotone\n"
                     "{options}    cases: [short]\n    points: 1\n")


@pytest.mark.parametrize("options,error,line_holds", [
    ("    input: z\n", r"checks\[2\]\.input: 'z' is not a parameter of scale\(x, k\)",
     "input: z"),
    ("    input: x\n    direction: up\n",
     r"checks\[2\]\.direction: expected one of increasing, decreasing, got 'up'", "direction: up"),
    ("", r"checks\[2\]: missing key 'input' \(needed by kind 'monotone'\)",
     "- name: scale grows with x"),
    ("    input: x\n    atol: tiny\n", r"checks\[2\]\.atol: expected a number, got 'tiny'",
     "atol: tiny"),
    ("    input: x\n    rtol: 1e-9\n", r"checks\[2\]\.rtol: unknown key 'rtol'; expected one "
                                       r"of atol, cases, direction, entries, function, input",
     "rtol: 1e-9"),
])
def test_a_kinds_options_are_checked_with_file_line_and_field(toy_course_copy, capsys,
                                                              options, error, line_holds):
    spec = add_to_toy(toy_course_copy, points=1,
                      check=MONOTONE_ON_SCALE.format(options=options))
    assert main(["exercise", "1", "--json"]) == 1
    err = capsys.readouterr().err
    found = re.search(rf"ex01_toy\.yaml:(\d+): {error}", err)
    assert found, err
    assert line_holds in spec.read_text().splitlines()[int(found[1]) - 1]
    assert "Traceback" not in err


def test_a_monotone_input_that_is_not_numeric_is_a_clear_error(toy_course_copy, capsys):
    add_to_toy(toy_course_copy, points=1, check=MONOTONE_ON_SCALE.format(
        options="    input: k\n").replace("[short]", "[words]"),
        case="  - name: words\n    inputs: {x: [1.0, 2.0], k: two}\n")
    assert main(["exercise", "1", "--json"]) == 1
    err = capsys.readouterr().err
    assert "check 'scale grows with x' (kind monotone) raises the input 'k', but case " \
           "'words' has 'two' there: a number or a numeric array is needed" in err
    assert "Traceback" not in err


def test_reading_every_spec_imports_no_grading_machinery():
    """`grade list` and `grade hint` read every spec, and reading a spec imports its kinds:
    a kind imports what judging needs (the sandbox, via grader.compare) when it judges."""
    code = ("import json, pathlib, sys; from grader.course import Course; "
            "Course(pathlib.Path(sys.argv[1])).specs(); "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('grader'))))")
    done = subprocess.run([sys.executable, "-c", code, str(REPO)], capture_output=True,
                          text=True, check=True)
    loaded = json.loads(done.stdout)
    assert {"grader.kinds.compare", "grader.kinds.monotone"} <= set(loaded)  # read, for real
    heavy = ("checks", "compare", "diagnose", "results", "cases", "sandbox")
    assert [m for m in loaded if m.split(".")[1:2] and m.split(".")[1] in heavy] == []


# -- a kind from outside grader/ ------------------------------------------------------------------

ODD_CHECK = ("  - name: scale is odd in x\n    function: scale\n    kind: odd\n    input: x\n"
             "    points: 1\n")
EVEN_SCALE = "def scale(x, k):\n    return abs(x) * k\n"


@pytest.fixture
def odd_kind(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURE_KIND))
    from odd_kind import KIND

    kinds.register(KIND)
    yield KIND
    kinds.unregister("odd")


def test_a_kind_registered_from_outside_grader_grades_end_to_end(toy_course_copy, odd_kind):
    add_to_toy(toy_course_copy, points=1, check=ODD_CHECK)
    course = Course(toy_course_copy)
    assert [r.problems for r in validate_course(course)] == [[]]  # its sanity rule ran too
    spec = course.find("1")
    assert spec.checks[-1].options == {"input": "x", "atol": 1e-9}  # its default filled in
    good = (course.solutions_dir / "ex01_toy.py").read_text()
    with Grader(course, limits=FAST) as grader:
        right = grader.grade_source(spec, good, "right.py")
        wrong = grader.grade_source(spec, good + "\n\n" + EVEN_SCALE, "wrong.py")
    assert right.score == right.max_score == 5
    odd = by_name(wrong)["scale is odd in x"]
    assert not odd.passed and odd.diagnosis == "not-odd" and odd.kind == "odd"
    assert odd.message.startswith(
        "case 'short': `scale` must be odd in x: f(−x) should be −f(x)")
    assert odd.failed_cases == ["short", "long"] and odd.evidence.case == "short"


def test_a_kind_not_registered_is_an_unknown_kind_listing_the_known_ones(toy_course_copy, capsys):
    add_to_toy(toy_course_copy, points=1, check=ODD_CHECK)
    assert main(["exercise", "1", "--json"]) == 1
    err = capsys.readouterr().err
    assert "checks[2].kind: unknown check kind 'odd'; expected one of compare, gradcheck, " \
           "property, train, monotone" in err


def test_registering_a_taken_name_is_refused(odd_kind):
    kinds.register(odd_kind)  # the same kind again: harmless
    with pytest.raises(ValueError, match="'odd' exists already"):
        kinds.register(type(odd_kind)())
    with pytest.raises(ValueError, match="'compare' exists already"):
        kinds.register(kinds.get("compare"))


def test_a_kind_declared_as_an_entry_point_works_with_the_grade_command(toy_course_copy,
                                                                          tmp_path):
    add_to_toy(toy_course_copy, points=1, check=ODD_CHECK)
    dist = tmp_path / "site" / "odd_kind_fixture-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: odd-kind-fixture\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[gradewise.kinds]\nodd = odd_kind:KIND\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(FIXTURE_KIND), str(dist.parent)])}
    grade = Path(sys.executable).parent / "grade"
    wrong = tmp_path / "wrong.py"
    wrong.write_text((toy_course_copy / "solutions" / "ex01_toy.py").read_text()
                     + "\n\n" + EVEN_SCALE)
    done = subprocess.run([str(grade), "exercise", "1", "--file", str(wrong), "--json"],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    odd = {c["name"]: c for c in json.loads(done.stdout)["checks"]}["scale is odd in x"]
    assert odd["kind"] == "odd" and odd["diagnosis"] == "not-odd" and not odd["passed"]
    done = subprocess.run([str(grade), "validate", "--no-color"], capture_output=True,
                          text=True, cwd=tmp_path, env=env)
    assert done.returncode == 0 and "1 specs, all valid." in done.stdout, done.stdout
