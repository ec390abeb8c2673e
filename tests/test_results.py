"""The results model: read back from its own JSON it is the same result, evidence included,
and every writer of the registry makes the same output from results read back as from
results just graded (so any output can be made again from a batch's folder)."""

from __future__ import annotations

import copy
import io
import json

import numpy as np
import pytest

from grader import values
from grader.errors import GradewiseError
from grader.results import (ClassResults, ExerciseInfo, ExerciseResult, StudentResults,
                            format_value, kept)
from grader.sandbox import Unsupported
from grader.writers import WRITERS, BatchFolder, find

from conftest import COURSE, mistake_source, solution_source

EX1 = COURSE.find("1")
MISTAKE = EX1.mistakes[0]
RAISES = ("import numpy as np\n\ndef softmax(f):\n    shift = f - f.max()\n"
          "    raise ValueError('boom')\n\n"
          "def softmax_classifier(W, X):\n    return (x for x in X)\n")
HUGE = ("import numpy as np\nprint('hello from the student')\n\ndef softmax(f):\n"
        "    return np.full((700, 700), np.nan)\n\n"
        "def softmax_classifier(W, X):\n    return {'__array__': [1, 2], 7: 'x'}\n")


@pytest.fixture(scope="module")
def graded(grader):
    """Results with every kind of evidence: a known mistake, an exception and its lines, a
    generator returned (not plain data), an array too big to keep, a dict that looks like an
    encoded value, printed output, a file that does not parse."""
    sources = {"mistake": mistake_source(EX1, MISTAKE), "raises": RAISES, "huge": HUGE,
               "broken": "def softmax(f):\n    return f +\n", "right": solution_source(EX1)}
    return {name: grader.grade_source(EX1, source, f"/s/{name}.py", f"{name}.py")
            for name, source in sources.items()}


def through_json(data):
    return json.loads(values.dumps(data))


def test_a_result_read_back_from_its_json_is_the_same_evidence_included(graded):
    for result in graded.values():
        again = ExerciseResult.from_json(through_json(result.to_json()))
        assert again.to_json() == result.to_json()
        for check, back in zip(result.checks, again.checks):
            if check.evidence is None:
                continue
            for name in ("expected", "got"):
                kept, read = getattr(check.evidence, name), getattr(back.evidence, name)
                if isinstance(kept, np.ndarray) and kept.size <= values.KEPT_ENTRIES:
                    assert isinstance(read, np.ndarray) and read.dtype == kept.dtype
                    assert np.array_equal(read, kept, equal_nan=True)
                elif isinstance(kept, (Unsupported, str, type(None))):
                    assert read == kept
            assert back.evidence.trace == check.evidence.trace
            assert back.evidence.inputs == check.evidence.inputs
    raised = graded["raises"].checks[0].evidence
    assert raised.trace and raised.trace[-1][2].strip() == "raise ValueError('boom')"
    assert graded["broken"].error_lines


def test_values_round_trip_exactly():
    cases = [np.array([[1.5, np.nan], [-np.inf, -0.0]]), np.arange(6, dtype=np.int8),
             np.array([1 + 2j, 3], dtype=np.complex64), np.zeros((0, 3)), np.float32(0.1),
             np.array(2.5), (1, [2.0, None], "x"), {"__array__": [1], "k": (True,)},
             {7: "seven"}, float("nan"), Unsupported("generator", "a generator"), 10 ** 40]
    for value in cases:
        back = values.decode(json.loads(json.dumps(values.encode(value), allow_nan=False)))
        assert type(back) is type(value), value
        if isinstance(value, np.ndarray):
            assert back.dtype == value.dtype and back.shape == value.shape
            assert np.array_equal(back, value, equal_nan=True)
            if value.dtype.kind == "f":
                assert np.array_equal(np.signbit(back), np.signbit(value))  # -0.0 too
        elif isinstance(value, float):
            assert np.isnan(back)
        else:
            assert back == value


def test_a_value_too_big_to_keep_is_kept_as_the_report_shows_it(graded):
    check = graded["huge"].checks[0]
    got = check.evidence.got
    assert isinstance(got, np.ndarray) and got.size == 700 * 700
    text = values.dumps(check.to_json())
    assert len(text) < 20_000  # 490,000 numbers, of which a window is kept
    back = type(check).from_json(json.loads(text))
    assert isinstance(back.evidence.got, values.ArrayExcerpt)
    worst = check.evidence.worst_index
    assert format_value(back.evidence.got, worst).plain == format_value(got, worst).plain
    assert values.describe(back.evidence.got) == values.describe(got)


def test_one_description_of_a_value_wherever_it_is_shown(graded):
    generator = Unsupported("generator", "a generator")
    assert values.describe(generator) == values.noun(generator) == "a generator"
    assert format_value(generator).plain == "a generator"  # never its repr, <generator: …>
    classifier = next(c for c in graded["raises"].checks if c.function == "softmax_classifier")
    assert "a generator" in classifier.message
    assert values.describe([1.0, 2.0, 3.0, 4.0]) == "[1.0, 2.0, 3.0, …] (4 items)"
    big = {str(i): i for i in range(100_000)}
    assert len(format_value(big).plain) < 400  # bounded, whatever the student returned
    assert format_value([np.array([True] * 8)]).plain == "[(8,) bool in [1, 1]] (1 items)"
    assert isinstance(kept("x" * 100_000), values.Shown)


# -- every writer, on results read back ---------------------------------------------------------

def samples(graded, tmp_path):
    """(results just graded, the same read back from JSON) for each scope."""
    results = list(graded.values())
    hidden = [copy.deepcopy(r) for r in results]
    for result in hidden:
        result.checks = result.checks[:1]
    student = StudentResults("ada", 0, results, "pid namespace", 1.25, ["/secret"],
                             [{"path": "notes.txt", "reason": "not a .py or .ipynb file"}],
                             hidden)
    other = StudentResults("ben", 0, [graded["right"]], "pid namespace", 0.5)
    klass = ClassResults([ExerciseInfo.of(EX1)], 0, {"ada": student, "ben": other}, 3,
                         [{"path": "README.txt", "reason": "not a student folder"}])
    folder = BatchFolder(tmp_path / "out")
    for name, one in klass.students.items():
        folder.write_student(name, one)
    folder.write_class(klass)
    read = ClassResults.read(tmp_path / "out")
    return {"exercise": (results, [ExerciseResult.from_json(through_json(r.to_json()))
                                   for r in results]),
            "student": (student, StudentResults.from_json(through_json(student.to_json()))),
            "class": (klass, read)}


def output(writer, results) -> str:
    needs_numbers = (writer.scope, writer.name) == ("exercise", "terminal")  # the next step
    options = {"numbers": COURSE.numbers()} if needs_numbers else {}
    made = writer.render(results, **options)
    if isinstance(made, str):
        return made
    from rich.console import Console  # a terminal writer: rendered with its colours

    console = Console(file=io.StringIO(), width=100, force_terminal=True,
                      color_system="truecolor")
    console.print(made)
    return console.file.getvalue()


def test_every_writer_makes_the_same_output_from_results_read_back_from_json(graded, tmp_path,
                                                                            plain_env):
    pairs = samples(graded, tmp_path)
    for writer in WRITERS:
        fresh, read_back = pairs[writer.scope]
        made = output(writer, fresh)
        assert made.strip(), writer
        assert output(writer, read_back) == made, f"{writer.scope} writer {writer.name!r}"
    shown = output(find("exercise", "terminal"), pairs["exercise"][1])
    assert "got" in shown and "nan" in shown and "in softmax" in shown  # evidence, read back
    assert "boom" in output(find("student", "markdown"), pairs["student"][1])


def test_the_files_of_a_batch_folder_are_its_writers_outputs(graded, tmp_path):
    klass, read = samples(graded, tmp_path)["class"]
    out = tmp_path / "out"
    assert (out / "gradebook.csv").read_text() == find("class", "csv").render(read)
    assert json.loads((out / "summary.json").read_text())["students"] == 3
    ada = StudentResults.from_json(json.loads((out / "feedback" / "ada.json").read_text()))
    assert (out / "feedback" / "ada.md").read_text() == find("student", "markdown").render(ada)
    assert (out / "feedback" / "ada.json").stat().st_mode & 0o077 == 0


def test_an_unknown_format_names_those_there_are():
    with pytest.raises(GradewiseError, match="there are terminal, json, csv"):
        find("class", "blackboard")
