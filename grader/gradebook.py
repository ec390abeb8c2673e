"""A class at a glance, from its results (`grader.results.ClassResults`): the gradebook
(`gradebook.csv`), the class summary (`summary.json`) and the same summary as rich tables.

    gradebook.csv   student, one column per exercise (exNN_slug), total; one row per student
                    (with a roster: its columns too, every roster student, see `roster_csv`)
    summary.json    per exercise: submissions, mean, full marks, histogram; per check: pass
                    rate, most common diagnosis, tolerance; the misconception clusters
                    (`grader.clusters`); the files that matched nothing; the sandbox;
                    with a roster, who on it has no submission and who is not on it
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from .results import ClassResults
from .safetext import csv_cell, visible
from .values import dumps

HISTOGRAM_BINS = 5
SHOWN_CLUSTERS = 3  #: in the terminal; summary.json and report.html hold them all
SHOWN_CLUSTER_NAMES = 6  #: students named per cluster in the terminal


def gradebook_csv(results: ClassResults) -> str:
    """One row per student (sorted by name), one column per exercise, then the total; an
    exercise without a result scores 0. With a roster, `roster_csv`."""
    if results.roster is not None:
        return roster_csv(results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *[e.stem for e in results.exercises], "total"])
    for name in sorted(results.students):
        row = scores(results.students[name], results.exercises)
        writer.writerow([csv_cell(name), *[f"{s:g}" for s in row], f"{sum(row):g}"])
    return buffer.getvalue()


def roster_csv(results: ClassResults) -> str:
    """The gradebook with the roster's columns (`roster.COLUMNS`): one row per roster
    student, in its order (0 for every exercise of a student with no submission), then one
    per student graded but not on the roster; the last column, `note`, says which."""
    from .roster import COLUMNS, join

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS, *[e.stem for e in results.exercises], "total", "note"])
    joined = join(results.roster, results)
    rows = [([getattr(student, c) for c in COLUMNS], graded,
             "" if graded else "not submitted") for student, graded in joined.rows]
    rows += [([name, *[""] * (len(COLUMNS) - 1)], graded, "not on the roster")
             for name, graded in joined.extra]
    for cells, graded, note in rows:
        row = scores(graded, results.exercises)
        writer.writerow([*map(csv_cell, cells), *[f"{s:g}" for s in row], f"{sum(row):g}",
                         note])
    return buffer.getvalue()


def scores(student, exercises) -> list[float]:
    """The score of `student` (StudentResults, or None: nothing graded) on each of
    `exercises`, in their order; 0 for an exercise without a result."""
    got = {r.exercise: r.score for r in student.results} if student is not None else {}
    return [got.get(e.number, 0.0) for e in exercises]


def summary_json(results: ClassResults) -> str:
    return dumps(class_summary(results), indent=1)


def class_summary(results: ClassResults) -> dict:
    """What summary.json holds (see the module's docstring)."""
    from .clusters import find_clusters

    students = results.students.values()
    exercises = []
    for info in results.exercises:
        graded = [r for student in students for r in student.results if r.exercise == info.number]
        scores = [r.score for r in graded]
        submitted = [r for r in graded if r.submitted]
        exercises.append({
            "exercise": info.number, "slug": info.slug, "title": info.title,
            "max_score": info.points, "graded": len(graded), "submitted": len(submitted),
            "mean": _mean(scores), "mean_submitted": _mean([r.score for r in submitted]),
            "full_marks": sum(abs(s - info.points) < 1e-9 for s in scores),
            "histogram": histogram(scores, info.points),
            "checks": [_check_summary(check, submitted) for check in info.checks]})
    isolation = Counter(s.isolation for s in students if s.isolation)
    exposed = sorted({p for s in students for p in s.exposed})
    summary = {"students": results.submissions, "graded": len(results.students),
               "seed": results.seed, "max_score": sum(e.points for e in results.exercises),
               "mean": _mean([s.score for s in students]),
               "exercises": exercises,
               "clusters": [cluster.to_json() for cluster in find_clusters(results)],
               "unmatched": results.unmatched,
               "isolation": isolation.most_common(1)[0][0] if isolation else "",
               "exposed": exposed}
    if results.roster is not None:
        summary["roster"] = roster_summary(results)
    return summary


def roster_summary(results: ClassResults) -> dict:
    """summary.json's `roster`: how many students it lists, those on it with nothing graded
    (they score 0) and those graded who are not on it (their `student` names)."""
    from .roster import join

    joined = join(results.roster, results)
    return {"students": len(joined.rows),
            "not_submitted": [student.student for student in joined.not_submitted],
            "not_on_roster": [name for name, _ in joined.extra]}


def _check_summary(check, submitted) -> dict:
    outcomes = [next((c for c in r.checks if c.name == check.name), None) for r in submitted]
    outcomes = [c for c in outcomes if c is not None]
    passed = sum(c.passed for c in outcomes)
    diagnoses = Counter(c.diagnosis for c in outcomes if not c.passed and c.diagnosis)
    # most common, then first by name: the same in whatever order the students came
    common, count = min(diagnoses.items(), key=lambda p: (-p[1], p[0])) if diagnoses \
        else (None, 0)
    return {"name": check.name, "function": check.function, "max_score": check.points,
            "rtol": check.rtol, "atol": check.atol, "attempted": len(outcomes), "passed": passed,
            "pass_rate": passed / len(outcomes) if outcomes else None,
            "most_common_diagnosis": common, "diagnosis_count": count,
            "failed_without_diagnosis": len(outcomes) - passed - sum(diagnoses.values())}


def histogram(scores, max_score, bins: int = HISTOGRAM_BINS) -> dict:
    """Counts of scores in `bins` equal ranges of [0, max_score], the last one closed."""
    edges = [max_score * i / bins for i in range(bins + 1)]
    counts = [0] * bins
    for score in scores:
        at = int(score / max_score * bins) if max_score else 0
        counts[min(max(at, 0), bins - 1)] += 1
    return {"edges": edges, "counts": counts}


def _mean(values):
    return sum(values) / len(values) if values else None


# -- the class summary, rendered --------------------------------------------------------------

SPARKS = " ▁▂▃▄▅▆▇█"


def summary_terminal(results: ClassResults, out: Path | None = None):
    """`summary_renderable` of the class."""
    return summary_renderable(class_summary(results), out)


def summary_renderable(summary: dict, out: Path | None = None):
    """Per exercise the mean and distribution, per check the pass rate and the most common
    diagnosis, then the files that matched nothing (`summary`: as `class_summary` makes it).
    The tables take the console's width: counts and rates are never cut, long check names
    and diagnoses wrap; exercises nobody submitted are named in one line (summary.json has
    them in full)."""
    from rich.console import Group
    from rich.text import Text

    submitted = [ex for ex in summary["exercises"] if ex["submitted"]]
    scores = _table(f"Class summary · {summary['graded']} of {summary['students']} students "
                    "graded", [("no.", "right", 0), ("exercise", "left", 2),
                               ("submitted", "right", 0), ("mean", "right", 0),
                               ("full marks", "right", 0),
                               (f"distribution (0 → max, {HISTOGRAM_BINS} bins)", "left", 3)])
    for ex in submitted:
        mean = "—" if ex["mean"] is None else f"{ex['mean']:.2f}/{ex['max_score']:g}"
        counts = ex["histogram"]["counts"]
        scores.add_row(str(ex["exercise"]), ex["slug"], f"{ex['submitted']}/{ex['graded']}", mean,
                       str(ex["full_marks"]), f"{_sparkline(counts)}  {' '.join(map(str, counts))}")
    # "id ×N" joined by a no-break space: when the column is narrow, N stays whole
    checks = _table("Checks: what the class did not understand",
                    [("no.", "right", 0), ("check", "left", 3), ("passed", "right", 0),
                     ("most common diagnosis", "left", 2)])
    for ex in submitted:
        for check in ex["checks"]:
            rate = check["pass_rate"]
            style = "green" if rate is not None and rate >= 0.8 else \
                "yellow" if rate is not None and rate >= 0.5 else "red"
            shown = "—" if rate is None else \
                f"{check['passed']}/{check['attempted']} [{style}]{rate:4.0%}[/]"
            diagnosis = (f"{check['most_common_diagnosis']}\u00a0×{check['diagnosis_count']}"
                         if check["most_common_diagnosis"] else
                         f"[dim](none)\u00a0×{check['failed_without_diagnosis']}[/]"
                         if check["failed_without_diagnosis"] else "")
            checks.add_row(str(ex["exercise"]), Text(check["name"]), shown, diagnosis)
    _fit_numbers(scores)
    _fit_numbers(checks)
    parts = [scores, checks] if submitted else [Text("Nobody submitted any of these exercises.")]
    nobody = [ex for ex in summary["exercises"] if not ex["submitted"]]
    if nobody and submitted:
        parts.append(Text("Submitted by nobody (not shown): " + ", ".join(
            f"{ex['exercise']} {ex['slug']}" for ex in nobody) + ".", style="dim"))
    if summary.get("clusters"):
        parts.append(_clusters_table(summary["clusters"]))
    if summary["unmatched"]:
        text = Text(f"{len(summary['unmatched'])} file(s) matched no exercise and were not "
                    "graded:", style="yellow")
        for item in summary["unmatched"][:15]:
            text.append(f"\n  {visible(item['path'], False)}: {visible(item['reason'], False)}",
                        style="")
        if len(summary["unmatched"]) > 15:
            text.append(f"\n  … {len(summary['unmatched']) - 15} more in summary.json", style="dim")
        parts.append(text)
    if summary.get("roster"):
        parts.append(_roster_text(summary["roster"]))
    if summary.get("isolation"):
        parts.append(Text(f"Sandbox: {summary['isolation']}", style="dim"))
    if summary.get("exposed"):
        parts.append(Text("Warning: student code could read " + ", ".join(summary["exposed"])
                          + ". Run as root, or make them unreadable to other users "
                          "(chmod -R go-rwx); see SECURITY.md.", style="bold red"))
    if out is not None:
        roster = f", {out}/roster.csv (a copy of the roster)" if summary.get("roster") else ""
        parts.append(Text.assemble(("Written: ", "bold"), f"{out}/report.html (open it in a "
                                   f"browser), {out}/gradebook.csv, {out}/summary.json,"
                                   f" {out}/feedback/<student>.json and .md{roster}"))
    return Group(*parts)


def _clusters_table(clusters: list[dict]):
    """The largest clusters (SHOWN_CLUSTERS): size, where, how the answer differs, who."""
    from rich.text import Text

    title = "Same wrong answer, no diagnosis: mistakes not catalogued yet" + (
        f" (top {SHOWN_CLUSTERS} of {len(clusters)}; all in report.html)"
        if len(clusters) > SHOWN_CLUSTERS else "")
    table = _table(title, [("students", "right", 0), ("check, case", "left", 2),
                           ("how it differs from the reference", "left", 3),
                           ("who", "left", 2)])
    for cluster in clusters[:SHOWN_CLUSTERS]:
        names = [visible(s["name"], False) for s in cluster["students"]]
        more = len(names) - SHOWN_CLUSTER_NAMES
        who = ", ".join(names[:SHOWN_CLUSTER_NAMES]) + (f", … {more} more" if more > 0 else "")
        table.add_row(str(cluster["size"]),
                      Text(f"{cluster['exercise']} {cluster['slug']} · {cluster['check']} · "
                           f"case '{cluster['case']}'"),
                      Text(cluster["difference"]), Text(who))
    _fit_numbers(table)
    return table


def _roster_text(roster: dict, shown: int = 15):
    """The roster's line of the summary: who on it has no submission, who is not on it."""
    from rich.text import Text

    def names(listed):
        more = f", … {len(listed) - shown} more in summary.json" if len(listed) > shown else ""
        return ", ".join(visible(name, False) for name in listed[:shown]) + more

    text = Text(f"Roster: {roster['students']} students.", style="dim")
    if roster["not_submitted"]:
        text.append(f"\n  {len(roster['not_submitted'])} on the roster with no submission "
                    f"(0 on every exercise): {names(roster['not_submitted'])}", style="yellow")
    if roster["not_on_roster"]:
        text.append(f"\n  {len(roster['not_on_roster'])} graded but not on the roster (add "
                    f"them to it, then `grade export`): {names(roster['not_on_roster'])}",
                    style="yellow")
    return text


def _table(title: str, columns):
    """A table of `columns` (header, justify, ratio): a ratio of 0 for numbers (never cut or
    wrapped, see `_fit_numbers`), else the share of the room left that the column takes
    when the console is too narrow for all of it (its text then wraps)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for header, justify, ratio in columns:
        table.add_column(header, justify=justify, no_wrap=not ratio, overflow="fold",
                         ratio=ratio or None)
    return table


def _fit_numbers(table) -> None:
    """Columns of numbers keep the width of their longest cell, however narrow the console
    (the other columns wrap instead)."""
    from rich.text import Text

    for column in table.columns:
        if column.no_wrap:
            cells = [Text.from_markup(c) if isinstance(c, str) else c for c in column.cells]
            column.min_width = max((c.cell_len for c in cells), default=0)


def _sparkline(counts) -> str:
    top = max(counts) or 1
    return "".join(SPARKS[round(c / top * (len(SPARKS) - 1))] if c else SPARKS[0] for c in counts)
