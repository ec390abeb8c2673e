"""Hidden cases vary everywhere: a literal case stays as written under the public seed and
varies under any other, keeping what it is there to test (its `vary:` steps); a table of
the public answers, literal cases included, keeps the public points through Gradescope and
loses the hidden half; a bad `vary` is a spec error naming the file, the line and the field."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import COURSE, REPO
from grader.cases import DEFAULT_SEED, build_inputs, call_args
from grader.checks import case_runs
from grader.cli import main
from grader.errors import SpecError
from test_gradescope import run_autograder

SPECS = COURSE.specs()
SOLUTIONS = {spec.number: COURSE.references(spec) for spec in SPECS}  # reference sources
OTHER_SEEDS = (1, 2, 3, 7, 42, 4242)
RANDOM_DRAWS = {"normal", "uniform", "integers"}


def inputs(spec_number, case_name, seed) -> dict:
    spec = SPECS[spec_number - 1]
    return build_inputs(spec, spec.case(case_name), seed, SOLUTIONS[spec_number])


def as_written(raw):
    if isinstance(raw, list):
        return np.array(raw, dtype=np.float64)
    if isinstance(raw, dict):
        return np.array(raw["array"], dtype=raw.get("dtype", "float64"))
    return raw


def is_literal(raw) -> bool:
    return not isinstance(raw, dict) or "array" in raw


def same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    if callable(a):
        return a is b
    return np.shape(a) == np.shape(b) and np.asarray(a).dtype == np.asarray(b).dtype \
        and np.array_equal(a, b)


# -- (1) the public cases as written; every other seed a variant --------------------------------

def test_literal_inputs_are_exactly_as_written_under_the_public_seed():
    checked = 0
    for spec in SPECS:
        for case in spec.cases:
            built = build_inputs(spec, case, DEFAULT_SEED, SOLUTIONS[spec.number])
            for name, raw in case.inputs.items():
                if is_literal(raw):
                    assert same(built[name], as_written(raw)), (spec.number, case.name, name)
                    checked += 1
    assert checked > 100


def test_every_case_differs_from_its_public_version_under_any_other_seed():
    fixed = []
    for spec in SPECS:
        for case in spec.cases:
            public = build_inputs(spec, case, DEFAULT_SEED, SOLUTIONS[spec.number])
            for seed in OTHER_SEEDS:
                hidden = build_inputs(spec, case, seed, SOLUTIONS[spec.number])
                assert same(hidden, public) == case.fixed, (spec.number, case.name, seed)
            if case.fixed:
                fixed.append(case.name)
    assert fixed == ["up-one"]  # upstream 1 is all it holds and its point (see the spec)


def _z(i):
    return i["W"] @ i["x"] + i["b"]


def _top_two_gap(f):
    top = np.sort(np.ravel(f))
    return top[-1] - top[-2]


# what each literal case is there to test, asserted on the public case and its variants
KEEPS = {
    (1, "integer-scores"): lambda i: i["f"].dtype == np.int64 and i["f"].shape == (4,),
    (1, "huge-logits"): lambda i: i["f"].max() > 709 and i["f"].min() < -709
    and _top_two_gap(i["f"]) < 2,  # exp overflows; p is not one-hot
    (1, "huge-logits-batch"): lambda i: i["f"].max() > 709
    and any(row.max() < -709 for row in i["f"]),  # one row overflows, one underflows
    (1, "very-negative"): lambda i: i["f"].max() < -709,
    (2, "zeros-in-p-and-q"): lambda i: np.isclose(i["p"].sum(), 1) and np.isclose(i["q"].sum(), 1)
    and (i["p"] == 0).sum() == 2 and ((i["p"] == 0) & (i["q"] == 0)).sum() == 1,
    (2, "one-hot-both"): lambda i: np.array_equal(i["p"], i["q"]) and sorted(i["p"]) == [0, 0, 1],
    (2, "huge-logits"): lambda i: i["F"].max() > 709 and i["F"].shape == (4, 3)
    and max(row.max() - row[y] for row, y in zip(i["F"], i["y"])) > 1.5e4,
    (3, "z-at-zero"): lambda i: (i["z"] == 0).sum() == 1,
    (3, "z-extreme"): lambda i: i["z"].max() >= 800 and i["z"].min() <= -800,
    (3, "softmax-huge"): lambda i: i["f"].max() > 709 and i["f"].min() < -709
    and _top_two_gap(i["f"]) < 2,  # diag(p) − p pᵀ ≠ 0 off the diagonal
    (3, "nj-integer-point"): lambda i: i["x"].dtype == np.int64,
    (4, "saturated"): lambda i: sorted(np.abs(_z(i)) > 30) == [False, True, True]
    and np.abs(_z(i)).min() < 2,
    (5, "saturated"): lambda i: sorted(np.abs(_z(i)) > 30) == [False, True, True],
    (6, "windows-w2"): lambda i: 0 not in i["token_ids"] and len(set(i["token_ids"])) == 6,
    (6, "windows-pad-id"): lambda i: i["pad_id"] != 0 and i["pad_id"] not in i["token_ids"],
    (6, "loss-violated"): lambda i: 0 < i["s"] - i["s_c"] < 1,
    (6, "loss-holds"): lambda i: i["s"] - i["s_c"] > 1,
    (6, "loss-margin-2"): lambda i: i["margin"] == 2 and i["s"] - i["s_c"] < 1,
    (6, "training"): lambda i: np.array_equal(i["E"][0], SOLUTIONS[6].public.load_corpus()[1][0])
    and sorted(map(bytes, i["E"])) == sorted(map(bytes, SOLUTIONS[6].public.load_corpus()[1])),
    (7, "lecture-point"): lambda i: i["y"] > i["z"] and i["x"] + i["y"] > 0,
    (7, "z-wins"): lambda i: i["z"] > i["y"],
    (7, "negative-values"): lambda i: max(i.values()) < 0 and i["y"] > i["z"],
    (7, "z-wins-negative"): lambda i: i["z"] > i["y"] and i["z"] < 0 and i["x"] + i["y"] < 0,
    (7, "tie"): lambda i: i["y"] == i["z"],
    (7, "tie-negative"): lambda i: i["y"] == i["z"] < 0,
    (7, "up-one"): lambda i: i["up"] == 1,
    (7, "mul-lecture"): lambda i: i["up"] == 1 and i["a"] != i["b"],
    (7, "max-lecture"): lambda i: i["a"] > i["b"],
    (7, "max-tie"): lambda i: i["a"] == i["b"],
    (7, "max-tie-negative"): lambda i: i["a"] == i["b"] < 0,
    (7, "gate-mixed"): lambda i: i["a"] < i["b"] and i["up"] < 0,
    (8, "re-zeros"): lambda i: ((i["a"] == 0) & (i["b"] == 0)).sum() == 1
    and ((i["a"] != 0) & (i["b"] == 0)).sum() == 1,
    (8, "gc-cubes-small"): lambda i: np.abs(i["x"]).min() <= 0.07,
    (8, "gc-too-small"): lambda i: np.abs(i["x"]).min() > 0.35,
    (8, "gc-tiny-wrong"): lambda i: ((0 < i["x"]) & (i["x"] < 1.7)).all(),
    (9, "z-kinks"): lambda i: sorted(i["z"]) == [-3, -1, -0.25, 0, 0.5, 1, 2],
    (9, "z-extreme"): lambda i: i["z"].max() >= 800 and i["z"].min() <= -800
    and np.sum(np.abs(i["z"]) < 30) == 3,
    (9, "jac-relu"): lambda i: i["f"] == "relu" and (i["z"] == 0).sum() == 1,
    (9, "jac-hard-tanh"): lambda i: i["f"] == "hard_tanh" and sorted(i["z"][np.abs(i["z"]) == 1])
    == [-1, 1],
    (9, "count-small"): lambda i: min(i["d"], i["h"], i["c"]) >= 1,
    (9, "deep-no-hidden"): lambda i: i["sizes"].shape == (2,) and i["sizes"].min() >= 1,
    (9, "deep-four-layers"): lambda i: i["sizes"].shape == (4,) and i["sizes"].min() >= 1,
    (10, "windows-w2"): lambda i: 0 not in i["token_ids"] and len(set(i["token_ids"])) == 6
    and i["token_ids"].max() < 8,
    (10, "windows-w1"): lambda i: 0 not in i["token_ids"] and len(set(i["token_ids"])) == 3
    and i["token_ids"][0] == i["token_ids"][3],
    (10, "windows-pad-id"): lambda i: i["pad_id"] == 7 and 7 not in i["token_ids"],
    (10, "grad-words-repeated"): lambda i: np.bincount(i["token_ids"]).max() == 3
    and 0 not in i["token_ids"] and i["token_ids"].max() < 9,
    (10, "training"): lambda i: np.array_equal(i["E"][0], SOLUTIONS[10].public.load_corpus()[1][0])
    and sorted(map(bytes, i["E"])) == sorted(map(bytes, SOLUTIONS[10].public.load_corpus()[1])),
}


@pytest.mark.parametrize("spec_number, case_name", KEEPS)
def test_a_variant_keeps_what_its_case_tests(spec_number, case_name):
    keeps = KEEPS[spec_number, case_name]
    assert keeps(inputs(spec_number, case_name, DEFAULT_SEED))
    for seed in range(1, 40):
        assert keeps(inputs(spec_number, case_name, seed)), seed


# -- (2) a table of the public answers through Gradescope -------------------------------------

# The student's lookup key of a call's arguments; the test runs the same text to build it.
KEY_SOURCE = '''
import hashlib
import numpy as np

def _canonical(value):
    if callable(value):
        return "function " + value.__name__
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ",".join(k + ":" + _canonical(value[k]) for k in sorted(value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    array = np.asarray(value, dtype=np.float64)
    return str(array.shape) + array.tobytes().hex()

def _key(args):
    return hashlib.sha256(_canonical(list(args)).encode()).hexdigest()
'''
KEY = {}
exec(KEY_SOURCE, KEY)


def literal(value) -> str:
    """Python source that evaluates to `value` (with numpy as np)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r}, dtype={value.dtype.str!r})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + "".join(literal(v) + ", " for v in value) + ")"
    if isinstance(value, np.generic):
        return repr(value.item())
    return repr(value)


def public_answers(spec) -> dict:
    """function → {key of the public arguments: the reference's answer}, for every call
    of every case (a case's own, and those its kind derives: monotone's raised input)."""
    solution = SOLUTIONS[spec.number]
    table = {f.name: {} for f in spec.functions}
    for check in spec.checks:
        for run in case_runs(spec, check, DEFAULT_SEED, solution, {}):
            for call in run.calls:
                answer = getattr(solution.solution, check.function)(*copy.deepcopy(call.args))
                table[check.function][KEY["_key"](call.args)] = answer
    return table


def lookup_table_source(spec) -> str:
    """A student file that answers the public cases from a table, and nothing else."""
    rows = []
    for function, answers in public_answers(spec).items():
        rows.append(f"    {function!r}: {{\n" + "".join(
            f"        {key!r}: {literal(answer)},\n" for key, answer in answers.items()) + "    },")
        rows.append("")
    functions = "".join(f"\n\ndef {f.name}(*args):\n    return _answer({f.name!r}, args)\n"
                        for f in spec.functions)
    return (KEY_SOURCE + "\n\nTABLE = {\n" + "\n".join(rows) + "}\n\n\n"
            "def _answer(function, args):\n"
            "    answers = TABLE[function]\n"
            "    if _key(args) not in answers:\n"
            "        raise LookupError('not one of the public cases')\n"
            "    return answers[_key(args)]\n" + functions)


def only_literal_cases(spec, check) -> bool:
    """Every case of `check` written out in the spec: before `vary`, the same for every seed,
    so graded once, in full, on cases a table of the public answers holds."""
    return not any(case.generate or any(isinstance(v, dict) and RANDOM_DRAWS & set(v)
                                        for v in case.inputs.values())
                   for case in spec.cases_for(check))


def test_without_vary_the_hidden_literal_cases_are_the_public_ones():
    """The counterfactual: strip every `vary`, and the table answers every literal check's
    hidden cases (and the words of the training case keep their public ids)."""
    def unvaried(spec, check):
        return [replace(case, vary=()) for case in spec.cases_for(check)]

    literal_checks = 0
    for spec in SPECS:
        table = public_answers(spec)
        for check in spec.checks:
            if not only_literal_cases(spec, check) and check.name != \
                    "training reaches a held-out location F1 of 0.85":
                continue
            literal_checks += 1
            function = spec.function(check.function)
            for case in unvaried(spec, check):
                args = call_args(function, build_inputs(spec, case, 7, SOLUTIONS[spec.number]))
                assert KEY["_key"](args) in table[function.name], (check.name, case.name)
    assert literal_checks >= 20


@pytest.fixture(scope="module")
def every_exercise_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("gs-all") / "autograder.zip"
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "gradescope", "--out", str(out),
                           "--hidden-seed", "7", "--json"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return out


def test_a_table_of_the_public_answers_loses_every_hidden_point(every_exercise_zip, tmp_path):
    files = {f"{spec.stem}.py": lookup_table_source(spec) for spec in SPECS}
    results = run_autograder(every_exercise_zip, tmp_path / "autograder", files)
    tests = {t["name"]: t for t in results["tests"]}
    total = sum(spec.points for spec in SPECS)
    hidden = [t for t in results["tests"] if t["visibility"] == "after_published"]
    public = [t for t in results["tests"] if t["visibility"] == "visible"]
    assert all(t["status"] == "passed" for t in public), [t["name"] for t in public
                                                            if t["status"] != "passed"]
    assert len(hidden) == len(public) == sum(len(spec.checks) for spec in SPECS)
    assert [t["name"] for t in hidden if t["status"] != "failed"] == []
    assert results["score"] == pytest.approx(total / 2)
    # the checks such a table kept in full before: literal cases only, graded once
    literal = [f"Exercise {spec.number} ({spec.slug}) · {check.name}"
               for spec in SPECS for check in spec.checks if only_literal_cases(spec, check)]
    assert len(literal) >= 20
    for name in literal:
        assert tests[name]["score"] == tests[name]["max_score"] > 0
        assert tests[f"{name} (hidden random cases)"]["score"] == 0
    # and the training check, whose generated case used to be the same for every seed
    train = "Exercise 6 (window_ner) · training reaches a held-out location F1 of 0.85"
    assert tests[train]["status"] == "passed"
    assert tests[f"{train} (hidden random cases)"]["score"] == 0


# -- (3) a bad `vary` names the file, the line and the field -------------------------------

LITERAL_CASE = """\
  - name: written
    inputs: {x: [1.0, -2.0, 0.5], k: 2.0, ids: {array: [1, 2], dtype: int64}}
    vary: VARY
checks:
"""


@pytest.fixture
def toy_course(toy_course_copy):
    return toy_course_copy / "exercises" / "ex01_toy.yaml"


def with_vary(spec_file: Path, vary: str) -> int:
    """Add a literal case varied by `vary`; returns the line of its `vary:`."""
    text = spec_file.read_text()
    spec_file.write_text(text.replace("checks:\n", LITERAL_CASE.replace("VARY", vary), 1))
    return next(n for n, line in enumerate(spec_file.read_text().splitlines(), 1)
                if line.startswith("    vary:"))


@pytest.mark.parametrize("vary, field, problem", [
    ("[{jiggle: 1}]", "vary[0]", "expected exactly one of permute, normalize, scale, shift"),
    ("[{scale: [2.0, 1.0], inputs: [x]}]", "vary[0].scale", "expected [low, high] with low ≤ high"),
    ("[{scale: 1.5, inputs: [x, k]}]", "vary[0].scale", "expected [low, high]"),
    ("[{shift: [-1.5, 1.5], inputs: [ids]}]", "vary[0].shift", "(integers)"),
    ("[{sign: true, inputs: [q]}]", "vary[0].inputs[0]", "unknown input 'q'; expected one of x, k, ids"),
    ("[{permute: 1, inputs: [x]}]", "vary[0].permute", "axis 1 is out of range for 'x' of shape (3,)"),
    ("[{permute: 0, inputs: [x, ids]}]", "vary[0].inputs", "the same length along axis 0"),
    ("[{scale: [0.5, 2.0], inputs: [ids]}]", "vary[0].inputs[0]", "scale needs float inputs; 'ids' is integer"),
    ("[{sign: true, each: 2}]", "vary[0].each", "expected true or false, got 2"),
    ("[{sign: true, by: 2}]", "vary[0].by", "unknown key 'by'"),
    ("[]", "vary", "expected a list of steps"),
    ("sometimes", "vary", "expected a list"),
])
def test_a_bad_vary_is_a_spec_error_with_file_line_and_field(toy_course, capsys, vary, field,
                                                             problem):
    line = with_vary(toy_course, vary)
    code = main(["exercise", "1", "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and "Traceback" not in err
    assert f"{toy_course}:{line}: cases[2].{field}: " in err
    assert problem in err


def test_vary_fixed_is_refused_on_a_random_case(toy_course, capsys):
    text = toy_course.read_text()
    toy_course.write_text(text.replace("    inputs: {x: {normal: [n]}, k: 2.0}\n",
                                       "    inputs: {x: {normal: [n]}, k: 2.0}\n    vary: fixed\n"))
    assert main(["exercise", "1", "--json"]) == 1
    assert "cases[0].vary: 'fixed', but the case draws random inputs" in capsys.readouterr().err



def test_a_step_that_does_not_fit_a_generated_input_names_the_spec_line():
    spec = SPECS[5]
    training = spec.case("training")
    typo = replace(training, vary=(replace(training.vary[0], inputs=("E_typo",)),))
    spec = replace(spec, cases=tuple(typo if c is training else c for c in spec.cases))
    with pytest.raises(SpecError) as raised:
        build_inputs(spec, typo, 7, SOLUTIONS[6])
    line = next(n for n, text in enumerate(spec.path.read_text().splitlines(), 1)
                if text.startswith("    vary: [{permute: 0, inputs: [E]"))
    assert str(raised.value).startswith(f"{spec.path}:{line}: cases[{spec.cases.index(typo)}]"
                                        ".vary[0]: case 'training' has no input 'E_typo'")
