"""Feedback to hand back to one student, in Markdown: `feedback/<student>.md` of a batch, and
the overall output of Gradescope's results.json.

Everything a student wrote (names, messages, printed output, code lines) goes through
`grader.safetext`: shown, never obeyed (no link, image, HTML or heading can come from it).
"""

from __future__ import annotations

from .reader import line_label
from .results import ExerciseResult, StudentResults, failed_cases_text, grouped
from .safetext import markdown_block, markdown_code, markdown_inline

SHOWN_OUTPUT_LINES = 10  #: the last lines of what the student's code printed
SHOWN_TRACE_LINES = 2  #: the student's own lines of a failing call, innermost last

_md, _code = markdown_inline, markdown_code  # what a student wrote, shown, never obeyed
NOT_SUBMITTED = "not submitted"  #: how a batch's reason for a missing file begins


def feedback_markdown(student: StudentResults, title: str | None = None) -> str:
    """The student's scores, then per exercise: the file graded, the notes, every check with
    its diagnosis and message, the student's failing lines, what their code printed.
    `title`: the first heading (default "Feedback for <student>")."""
    lines = [f"# {title or 'Feedback for ' + _md(student.student)}", "",
             f"**Total: {student.score:g} / {student.max_score:g}**", "",
             "| exercise | score |", "|---|---|"]
    for r in student.results:
        lines.append(f"| {r.exercise} {r.slug} | {r.score:g} / {r.max_score:g} |")
    for result in student.results:
        lines += ["", *_exercise(result)]
    if student.unmatched:
        lines += ["", "**Files not graded:**", "", *(
            f"- {_code(u['path'])}: {_md(u['reason'])}" for u in student.unmatched)]
    return "\n".join(lines) + "\n"


def ungraded_text(r: ExerciseResult) -> str:
    """Why `r` has no checks run, in one line: `Not submitted: no ex03_jacobians.py or .ipynb
    in ada/`, or `Not graded: <the error>` (a reason that says "not submitted" itself is not
    said twice)."""
    error = r.error or ""
    if error.lower().startswith(NOT_SUBMITTED):
        error = error[len(NOT_SUBMITTED):].lstrip(" :")
    return f"{'Not graded' if r.submitted else 'Not submitted'}: {error}"


def hint_command(number: int, hint: int) -> str:
    """The command that shows hint `hint` of exercise `number` (`grade hint N` alone shows
    the next one, not this one)."""
    return f"grade hint {number} {hint}"


def _exercise(r: ExerciseResult) -> list[str]:
    lines = [f"## Exercise {r.exercise} · {r.slug} — {r.title} ({r.score:g} / {r.max_score:g})",
             ""]
    if r.file:
        lines += [f"File: {_code(r.file)}", ""]
    lines += [f"- Note: {_md(note)}" for note in r.notes]
    if r.notes:
        lines.append("")
    if r.error:
        label, _, reason = ungraded_text(r).partition(": ")
        lines += [f"**{label}:** {_md(reason)}", ""]
        lines += [f"- your {line_label(place)}: {_code(code)}" for place, code in r.error_lines]
        return lines
    if r.defines_none:
        names = ", ".join(_code(name) for name in dict.fromkeys(c.function for c in r.checks))
        lines.append(f"**None of the functions of this exercise is in the file** ({names}): "
                     "each must be defined at the top level, with exactly this name.")
    else:
        for group in grouped(r.checks):
            lines += _group(r, group)
    if r.output:
        printed = r.output.rstrip("\n").splitlines()
        earlier = len(printed) - SHOWN_OUTPUT_LINES
        said = f" (the last {SHOWN_OUTPUT_LINES} lines; {earlier} earlier not shown)" \
            if earlier > 0 else ""
        lines += ["", f"Your code printed{said}:", "",
                  *markdown_block("\n".join(printed[-SHOWN_OUTPUT_LINES:]))]
    return lines


def _group(r: ExerciseResult, group) -> list[str]:
    """One paragraph: a line per check, then the diagnosis and the student's lines once."""
    lines = []
    for check in group:
        mark = "✓" if check.passed else "✗"
        lines.append(f"- {mark} {_md(check.name)} ({check.score:g} / {check.max_score:g})")
    first = group[0]
    if first.passed:
        return lines
    tag = f"**[{first.diagnosis}]** " if first.diagnosis else ""
    text = f"{tag}{_md(first.message)}"
    if first.hint:
        text += f" (see hint {first.hint}: `{hint_command(r.exercise, first.hint)}`)"
    if len(group) == 1:
        lines[-1] += f" — {text}"
    else:
        lines.append(f"  - {text}")
    cases = failed_cases_text(group)
    if len(group) > 1 and cases:
        lines.append(f"  - {_md(cases)}")
    trace = first.evidence.trace if first.evidence else []
    for place, function, code in trace[-SHOWN_TRACE_LINES:]:
        lines.append(f"  - your {line_label(place)} in {_code(function)}: {_code(code)}")
    return lines
