"""What every class and student writer says of a hint, a note with `code`, and a batch that
did not finish: made from results built here, through the writers' registry."""

from __future__ import annotations

import json
import re

from grader.results import (CheckInfo, CheckResult, ClassResults, ExerciseInfo, ExerciseResult,
                            StudentResults)
from grader.writers import find

HOSTILE = "<i>x</i>"
NOTE = f"Cell 3 ran `%timeit {HOSTILE}`: it was not run while grading."


def a_class(graded_of: int = 1) -> ClassResults:
    """One student, failing a check of exercise 1 on 2 of 3 cases, whose hint is hint 3."""
    check = CheckResult("softmax on a batch", "softmax", "compare", False, 0.0, 2.0,
                        message=f"`softmax` returned {HOSTILE} where `W @ x` was expected",
                        hint=3, failed_cases=["a", "b"], total_cases=3)
    result = ExerciseResult(1, "softmax", "Softmax", 0.0, 2.0, checks=[check], notes=[NOTE],
                            file="ada/ex01_softmax.py")
    info = ExerciseInfo(1, "softmax", "Softmax", 2.0, (CheckInfo("softmax on a batch",
                                                                 "softmax", 2.0),))
    return ClassResults([info], 0, {"ada": StudentResults("ada", 0, [result])},
                        submissions=graded_of)


def test_every_writer_names_the_hint_with_the_command_that_shows_it():
    results = a_class()
    student = results.students["ada"]
    markdown = find("student", "markdown").render(student)
    gradescope = json.loads(find("student", "gradescope").render(student))
    html = find("class", "html").render(results)
    for text in (markdown, gradescope["output"], html):
        assert "grade hint 1 3" in text
        assert not re.search(r"grade hint 1(?! 3)", text)  # never the next hint's command
    assert ")(" not in html and "cases)</span> <span" in html.replace("\n", "")


def test_code_spans_of_a_note_are_code_and_student_text_stays_text():
    html = find("class", "html").render(a_class())
    assert "<code>%timeit &lt;i&gt;x&lt;/i&gt;</code>" in html
    assert "<code>softmax</code> returned &lt;i&gt;x&lt;/i&gt;" in html
    assert "<i>" not in html and "`" not in html.split("<main>")[1]


def test_a_report_of_an_unfinished_batch_says_so_and_how_to_finish_it():
    assert "did not finish" not in find("class", "html").render(a_class(graded_of=1))
    html = find("class", "html").render(a_class(graded_of=20))
    assert "1 of 20 students graded: the batch did not finish" in html
    assert "--resume</code>" in html
