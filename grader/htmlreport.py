"""`report.html`: the class at a glance, in one self-contained page (`grade batch` writes it
when a batch ends; `grade report DIR` makes it again from the batch's folder).

Per exercise the distribution of scores (a plot), per check its pass rate and the diagnoses
behind its failures (a check × diagnosis heat map, and the same numbers in a table), the
misconception clusters (`grader.clusters`), then every student's scores and feedback, each
at an anchor `#student-<file name>` (the name of their files in `feedback/`, made ASCII:
`anchor`).

The page is made from `ClassResults` (just graded, or read back with `ClassResults.read`:
the same page) with a Jinja2 template (`grader/templates/report.html.j2`) and matplotlib's
SVG (`grader.plots`), both imported only here. It holds no script and no address outside
itself: no link, image, font or style is fetched, so it opens offline by double-click; its
Content-Security-Policy forbids fetching anything anyway. Text from a student (names,
messages, printed output, file names) goes through `safetext.visible` and the template's
autoescaping: shown, never obeyed; only the plots, which hold no student text, are inserted
as markup.
"""

from __future__ import annotations

from collections import Counter

from .feedback import hint_command, ungraded_text
from .gradebook import class_summary
from .reader import line_label
from .results import ClassResults, ExerciseResult, StudentResults
from .safetext import visible

#: the distributions the report needs, and nothing else (not Gradescope's autograder)
REPORT_DEPENDENCIES = ("jinja2", "matplotlib")
SHOWN_OUTPUT_LINES = 10  #: the last lines of what a student's code printed
SHOWN_OUTPUT_CHARACTERS = 2000
NO_DIAGNOSIS = "no diagnosis"  #: the heat map's column of failures no diagnosis explains


def report_html(results: ClassResults) -> str:
    """The page (UTF-8 text), for `results` of a class."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    summary = class_summary(results)
    students = [_student(results, key) for key in sorted(results.students, key=results.file_name)]
    table = _table(results, students)
    environment = Environment(loader=PackageLoader("grader", "templates"),
                              autoescape=select_autoescape(default=True,
                                                           default_for_string=True),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["anchor"] = anchor
    environment.filters["code_spans"] = code_spans
    return environment.get_template("report.html.j2").render(
        summary=summary, exercises=[_exercise(results, ex) for ex in summary["exercises"]],
        clusters=[{**c, "students": [{"name": visible(s["name"], False), "file": s["file"]}
                                     for s in c["students"]]}
                  for c in summary["clusters"]],
        students=students, table=table, mean=_mean_total(table), unfinished=unfinished(summary),
        numbers=[ex.number for ex in results.exercises],
        unmatched=[{"path": visible(u["path"], False), "reason": visible(u["reason"], False)}
                   for u in summary["unmatched"]])


def anchor(file_name: str) -> str:
    """The id of a student's section: `student-` and the name of their feedback files
    (`files.file_stem`), percent-encoded as UTF-8 with every `%` written `_` (and `_` itself
    encoded first, so two names never share an id). The id is ASCII letters, digits and
    `-._~` only: a URL's fragment holds it as it is, so `report.html#<id>` finds it in every
    browser (a browser percent-decodes a fragment before matching it with an id, and an id
    holding `%20` or non-ASCII letters would be matched in some and not in others)."""
    from urllib.parse import quote

    encoded = quote(file_name, safe="-.~").replace("_", "%5F")  # quote keeps `_` as it is
    return "student-" + encoded.replace("%", "_")


def unfinished(summary: dict) -> str:
    """What to say of a batch that graded fewer students than it found ("": it graded them
    all): `grade batch` was interrupted, `--resume` finishes it."""
    if summary["graded"] >= summary["students"]:
        return ""
    return (f"{summary['graded']} of {summary['students']} students graded: the batch did not "
            "finish; `grade batch SUBS --out DIR --resume` (with the same SUBS and DIR) "
            "finishes it.")


def _table(results: ClassResults, students: list[dict]) -> list[dict]:
    """The rows of the students' table: every student graded and, with a roster, every
    roster student with no submission (0 everywhere, no feedback to link); `note` says
    "not submitted" or "not on the roster", as gradebook.csv's `note` does."""
    if results.roster is None:
        return students
    from .roster import join

    joined = join(results.roster, results)
    extra = {name for name, _ in joined.extra}
    rows = [{**s, "note": "not on the roster" if s["student"] in extra else ""}
            for s in students]
    points = sum(ex.points for ex in results.exercises)
    for student in joined.not_submitted:
        rows.append({"name": visible(student.name or student.student, False), "file": None,
                     "score": 0.0, "max_score": points,
                     "scores": [0.0] * len(results.exercises), "note": "not submitted"})
    return rows


def _mean_total(table: list[dict]) -> float | None:
    """The mean total of the table's rows: a roster student with no submission counts as 0,
    as in gradebook.csv."""
    return sum(row["score"] for row in table) / len(table) if table else None


def code_spans(text: str):
    """`text` as markup: escaped whole first, then each `code` span (backticks, on one
    line) made a <code> element. Only the <code> tags are markup: what was between the
    backticks is the escaped text, so nothing a student wrote becomes an element."""
    import re

    from markupsafe import Markup, escape

    return Markup(re.sub(r"`([^`\n]+)`", r"<code>\1</code>", str(escape(text))))


# -- per exercise ---------------------------------------------------------------------------

def _exercise(results: ClassResults, summary: dict) -> dict:
    """`summary` (an exercise of `class_summary`) with its plots and diagnosis counts."""
    from . import plots

    number, slug = summary["exercise"], summary["slug"]
    histogram = summary["histogram"]
    ranges = [f"{low:g}–{high:g} points: {count}" for low, high, count in
              zip(histogram["edges"], histogram["edges"][1:], histogram["counts"])]
    mean = "—" if summary["mean"] is None else f"{summary['mean']:.2f}"
    caption = (f"Scores of exercise {number} ({slug}), {summary['graded']} students "
               f"({summary['submitted']} submitted): {'; '.join(ranges)}. Mean {mean} of "
               f"{summary['max_score']:g}; full marks: {summary['full_marks']}.")
    rows = _diagnoses(results, number, summary["checks"])
    failures = [r for r in rows if r["diagnoses"]]
    heat = None
    if failures:
        totals = Counter()
        for row in failures:
            totals.update(dict(row["diagnoses"]))
        columns = [d for d, _ in _most_common(totals) if d != NO_DIAGNOSIS]
        columns += [NO_DIAGNOSIS] if NO_DIAGNOSIS in totals else []
        heat = plots.heat_map(
            f"heat-{number}", [r["name"] for r in failures], columns,
            [[dict(r["diagnoses"]).get(d, 0) for d in columns] for r in failures],
            f"Diagnoses of exercise {number}",
            f"Why checks of exercise {number} failed: students per check and diagnosis. " +
            " ".join(f"{r['name']}: " + ", ".join(f"{d} {n}" for d, n in r["diagnoses"]) + "."
                     for r in failures))
    return {**summary, "mean_text": mean, "histogram_caption": caption,
            "histogram_svg": plots.score_histogram(
                f"scores-{number}", histogram["edges"], histogram["counts"],
                f"Scores of exercise {number}", caption) if summary["submitted"] else None,
            "rows": rows, "heat_svg": heat}


def _diagnoses(results: ClassResults, number: int, checks: list[dict]) -> list[dict]:
    """Each check of `checks` (as in `class_summary`) with the diagnoses of its failures
    among the submitted results (NO_DIAGNOSIS for those without one) and their counts,
    most common first."""
    outcomes = [r for s in results.students.values() for r in s.results
                if r.exercise == number and r.submitted]
    rows = []
    for check in checks:
        failed = [c for r in outcomes for c in r.checks if c.name == check["name"] and not c.passed]
        rows.append({**check, "diagnoses": _most_common(
            Counter(c.diagnosis or NO_DIAGNOSIS for c in failed))})
    return rows


def _most_common(counts: Counter) -> list[tuple[str, int]]:
    """(item, count), most common first, then by name: the same whatever order the
    students came in (a batch's or its folder's)."""
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


# -- per student ----------------------------------------------------------------------------------

def _student(results: ClassResults, key: str) -> dict:
    student: StudentResults = results.students[key]
    scores = {r.exercise: r for r in student.results}
    return {"name": visible(student.student, False), "student": student.student,
            "file": results.file_name(key),
            "score": student.score, "max_score": student.max_score,
            "scores": [scores[ex.number].score if ex.number in scores else None
                       for ex in results.exercises],
            "exercises": [_feedback(r) for r in student.results],
            "unmatched": [{"path": visible(u.get("path", ""), False),
                           "reason": visible(u.get("reason", ""), False)}
                          for u in student.unmatched]}


def _feedback(r: ExerciseResult) -> dict:
    """One exercise of a student's feedback, every text from the student made visible."""
    output = r.output.rstrip("\n")
    shown = "\n".join(output.splitlines()[-SHOWN_OUTPUT_LINES:])[-SHOWN_OUTPUT_CHARACTERS:]
    return {"number": r.exercise, "slug": r.slug, "title": r.title, "score": r.score,
            "max_score": r.max_score, "submitted": r.submitted,
            "file": visible(r.file, False), "error": r.error and visible(ungraded_text(r), False),
            "error_lines": [f"{line_label(place)}: {visible(code, False)}"
                            for place, code in r.error_lines],
            "notes": [visible(note, False) for note in r.notes],
            "output": visible(shown) if output else "",
            "output_cut": shown != output,
            "checks": [{"name": c.name, "passed": c.passed, "score": c.score,
                        "max_score": c.max_score, "diagnosis": c.diagnosis,
                        "message": visible(c.message, False), "hint": c.hint,
                        "hint_command": c.hint and hint_command(r.exercise, c.hint),
                        "failed_cases": len(c.failed_cases), "total_cases": c.total_cases,
                        "trace": [f"{line_label(place)} in {visible(function, False)}: "
                                  f"{visible(code.strip(), False)}"
                                  for place, function, code in
                                  (c.evidence.trace[-2:] if c.evidence else [])]}
                       for c in r.checks]}
