"""Every shipped exercise proven both ways: reference = full marks, stub = 0 with
"not implemented", and each catalogued mistake fails exactly its checks with its diagnosis."""

from __future__ import annotations

import pytest

from grader.spec import load_spec
from grader.stubs import render_stub

from conftest import COURSE, grade_text, mistake_source, solution_source

SPECS = [load_spec(p) for p in COURSE.spec_paths()]
MISTAKES = [(s, m) for s in SPECS for m in s.mistakes]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.stem)
def test_reference_solution_scores_full_marks(grader, spec):
    result = grade_text(grader, spec, solution_source(spec))
    assert result.error is None
    assert [c.name for c in result.checks if not c.passed] == []
    assert result.score == spec.points


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.stem)
def test_untouched_stub_scores_zero_and_says_not_implemented(grader, spec):
    result = grade_text(grader, spec, render_stub(spec), f"{spec.stem}.py")
    assert result.score == 0
    for check in result.checks:
        assert check.diagnosis == "not-implemented", check
        assert "not implemented yet" in check.message
        assert f"`{check.function}`" in check.message


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.stem)
def test_every_exercise_has_hints_and_mistakes(spec):
    assert len(spec.hints) >= 3
    assert len(spec.mistakes) >= 4
    assert all(m.fails for m in spec.mistakes), "each mistake lists the checks it fails"


@pytest.mark.parametrize("spec,mistake", MISTAKES, ids=lambda x: getattr(x, "stem", None) or x.id)
def test_catalogued_mistake_fails_its_checks_with_its_diagnosis(grader, spec, mistake):
    result = grade_text(grader, spec, mistake_source(spec, mistake))
    failed = {c.name for c in result.checks if not c.passed}
    assert failed == set(mistake.fails)
    for check in result.checks:
        if not check.passed and check.function == mistake.function:
            assert check.diagnosis == mistake.id, check
        elif not check.passed:  # a function that calls the mistaken one
            assert check.diagnosis == "uses-failing-function", check
            assert f"`{mistake.function}`" in check.message
        if not check.passed:
            assert check.score == 0
        else:
            assert check.score == check.max_score
    assert 0 < result.score < spec.points or not set(c.name for c in spec.checks) - failed
