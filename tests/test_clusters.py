"""Misconception clusters: students who failed a check with the same answer (within the
check's tolerance) that no diagnosis explains — in summary.json, the terminal summary, and
the same when read back from the batch's folder."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from grader import values
from grader.batch import BatchOptions, run_batch
from grader.clusters import MIN_STUDENTS, difference, find_clusters
from grader.course import Course
from grader.gradebook import summary_renderable
from grader.results import (CheckInfo, CheckResult, ClassResults, Evidence, ExerciseInfo,
                            ExerciseResult, StudentResults)
from grader.sandbox import Limits

from conftest import render

TOY = Course(Path(__file__).parent / "fixture_course")  # scale(x, k) and total(x)
TOTAL = "import numpy as np\n\ndef total(x):\n    return float(np.sum(x))\n\n"
SCALES = {
    "ada": "return x * k",                      # right
    "ben": "return x * k * 0.25",               # the same uncatalogued mistake ...
    "cy": "return x * k * 0.25",
    "dee": "return x * k * 0.25",
    "ivy": "return x * k * 0.25 * (1 + 1e-9)",  # ... within the check's rtol (1e-7)
    "jo": "return x * k * 0.25 * (1 + 1e-5)",   # ... but not this: alone
    "eve": "return x * k + 1",                  # two different wrong answers
    "fay": "return x * k + 2",
    "gus": "return np.array(x, copy=True)",     # a catalogued mistake (forgot-k), twice
    "hal": "return x.copy()",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("clusters") / "subs"
    for name, body in SCALES.items():
        (subs / name).mkdir(parents=True)
        (subs / name / "ex01_toy.py").write_text(f"{TOTAL}def scale(x, k):\n    {body}\n")
    out = subs.parent / "out"
    summary = run_batch(subs, out, TOY, TOY.specs(),
                        BatchOptions(jobs=2, limits=Limits(call_timeout=1.0, import_timeout=5.0)))
    return out, summary


def test_students_with_the_same_uncatalogued_wrong_answer_form_one_cluster(graded):
    _, summary = graded
    cluster, = summary["clusters"]
    assert cluster["check"] == "scale works" and cluster["case"] == "short"
    assert [s["name"] for s in cluster["students"]] == ["ben", "cy", "dee", "ivy"]
    assert cluster["size"] == 4 and cluster["exercise"] == 1 and cluster["function"] == "scale"
    assert cluster["difference"] == "every entry is 0.25 × the reference's"
    # eve and fay: different wrong answers; jo: alone; gus and hal: a catalogued mistake
    named = {s["name"] for c in summary["clusters"] for s in c["students"]}
    assert not named & {"eve", "fay", "jo", "gus", "hal", "ada"}
    assert MIN_STUDENTS == 2


def test_the_clusters_read_back_from_the_folder_are_the_same(graded):
    out, summary = graded
    read = ClassResults.read(out)
    assert [c.to_json() for c in find_clusters(read)] == summary["clusters"]
    assert json.loads((out / "summary.json").read_text())["clusters"] == summary["clusters"]
    check = json.loads((out / "summary.json").read_text())["exercises"][0]["checks"][0]
    assert (check["rtol"], check["atol"]) == (1e-7, 1e-9)  # the toy's compare defaults


def test_the_terminal_summary_shows_the_largest_clusters(graded, plain_env):
    _, summary = graded
    text = render(summary_renderable(summary), width=160)
    assert "Same wrong answer, no diagnosis" in text
    assert "scale works · case 'short'" in text and "0.25 × the reference's" in text
    assert "ben, cy, dee, ivy" in text
    assert "Same wrong answer" not in render(summary_renderable({**summary, "clusters": []}),
                                             width=160)


# -- from results made by hand: the tolerance, large values, old files --------------------------------

CHECK = CheckInfo("grad", "grad_W", 2, rtol=1e-6, atol=1e-9)
INFO = ExerciseInfo(5, "grad_W", "∂s/∂W", 2, (CHECK,))


def klass(answers: dict, expected) -> ClassResults:
    """A class whose students failed CHECK, without diagnosis, with `answers` on case 'c'."""
    students = {}
    for name, got in answers.items():
        evidence = Evidence("c", expected=expected, got=got, worst_index=(0, 0))
        check = CheckResult(CHECK.name, CHECK.function, "compare", False, 0, 2, "wrong",
                            evidence=evidence)
        students[name] = StudentResults(name, 0, [ExerciseResult(5, "grad_W", "t", 0, 2,
                                                                 checks=[check])])
    return ClassResults([INFO], 0, students, len(students))


def through_json(results: ClassResults) -> ClassResults:
    students = {name: StudentResults.from_json(json.loads(values.dumps(s.to_json())))
                for name, s in results.students.items()}
    return ClassResults(results.exercises, results.seed, students, results.submissions,
                        named_by_file=True)


def test_answers_too_big_to_keep_are_told_apart_by_what_is_kept_of_them():
    expected = np.arange(1.0, 10_001.0).reshape(100, 100)  # beyond values.KEPT_ENTRIES
    wrong = expected * 3
    elsewhere = wrong.copy()
    elsewhere[40:60] *= 2  # the same in every entry a report shows (the first and last rows)
    fresh = klass({"a": wrong, "b": wrong.copy(), "c": elsewhere, "d": elsewhere.copy()},
                  expected)
    read = through_json(fresh)
    assert isinstance(read.students["a"].results[0].checks[0].evidence.got, values.ArrayExcerpt)
    for results in (fresh, read):
        clusters = find_clusters(results)
        assert [[name for name, _ in c.students] for c in clusters] == [["a", "b"], ["c", "d"]]
    assert [c.to_json() for c in find_clusters(fresh)] == \
        [c.to_json() for c in find_clusters(read)]
    assert find_clusters(read)[0].difference == \
        "every entry is 3 × the reference's (on the entries kept)"


def test_feedback_and_summaries_of_an_older_gradewise_still_read(graded, tmp_path):
    evidence = Evidence.from_json({"case": "c", "got": 1.5, "expected": 2.0})
    assert evidence.got_sample is None and evidence.sampled_got() is None
    out, _ = graded
    summary = json.loads((out / "summary.json").read_text())
    for exercise in summary["exercises"]:
        for check in exercise["checks"]:
            del check["rtol"], check["atol"]
    old = tmp_path / "old"
    (old / "feedback").mkdir(parents=True)
    (old / "summary.json").write_text(json.dumps(summary))
    for path in (out / "feedback").glob("*.json"):
        (old / "feedback" / path.name).write_text(path.read_text())
    read = ClassResults.read(old)
    assert read.exercises[0].checks[0].rtol == 1e-7  # the defaults of `compare`
    assert len(find_clusters(read)) == 1


def test_the_difference_from_the_reference_in_words():
    def said(got, expected, worst=None):
        return difference(Evidence("c", expected=np.asarray(expected, dtype=float),
                                   got=np.asarray(got, dtype=float), worst_index=worst))

    assert said([2.0, 0.0, -4.0], [1.0, 0.0, -2.0]) == "every entry is 2 × the reference's"
    assert said([1.5, 2.5], [1.0, 2.0]) == "every entry is the reference's + 0.5"
    assert said([1.0, 9.0, 3.0], [1.0, 2.0, 4.0], (1,)) == \
        "worst entry at index (1,): 9 where the reference has 2"
    assert said(3.0, 2.0) == "returned 3 where the reference returns 2 (1.5 × it)"
    assert difference(Evidence("c", expected=np.zeros(3), got=(1, 2))) == \
        "returned [1, 2] (2 items) where the reference returns [0., 0., 0.]"


def test_a_diagnosed_or_passed_check_is_never_clustered():
    results = klass({"a": np.ones((2, 2)), "b": np.ones((2, 2))}, np.zeros((2, 2)))
    assert len(find_clusters(results)) == 1
    diagnosed = copy.deepcopy(results)
    for student in diagnosed.students.values():
        student.results[0].checks[0].diagnosis = "transposed"
    assert find_clusters(diagnosed) == []
    alone = klass({"a": np.ones((2, 2)), "b": np.full((2, 2), 2.0)}, np.zeros((2, 2)))
    assert find_clusters(alone) == []
