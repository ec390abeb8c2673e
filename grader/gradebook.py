"""The output of a batch: `DIR/gradebook.csv`, `summary.json`, `feedback/<student>.json` and
`.md`, each written atomically, and the class summary as a rich table.

Kept apart from `grader.batch` (finding and grading submissions): this is the report stage
for a whole class, used by batch grading and by the Gradescope autograder alike.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from pathlib import Path

from .reader import line_label
from .safetext import csv_cell, markdown_block, markdown_code, markdown_inline, visible

HISTOGRAM_BINS = 5



class Output:
    """DIR/gradebook.csv, DIR/summary.json, DIR/feedback/<student>.json and .md."""

    def __init__(self, root: Path):
        self.root = root
        self.feedback_dir = root / "feedback"
        # readable by the instructor only: without namespaces, student code runs as another
        # user of this machine, and must not read the class's grades or feedback
        self.feedback_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.feedback_dir, 0o700)
        for stale in [*root.glob(".*.partial"), *self.feedback_dir.glob(".*.partial")]:
            stale.unlink(missing_ok=True)  # left by a batch killed mid-write

    def previous(self, students, specs, seed) -> dict:
        """Records of students already graded with the same exercises and seed (--resume)."""
        wanted = [s.number for s in specs]
        found = {}
        for student in students:
            try:
                record = json.loads((self.feedback_dir / f"{student.name}.json").read_text("utf-8"))
                if record.get("seed") == seed and \
                        [r["exercise"] for r in record["results"]] == wanted:
                    found[student.name] = record
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found

    def feedback(self, name: str, record: dict):
        markdown = record.pop("markdown", "")
        atomic_write(self.feedback_dir / f"{name}.md", markdown)
        atomic_write(self.feedback_dir / f"{name}.json", json.dumps(record, indent=1))

    def write_tables(self, state) -> dict:
        summary = class_summary(state["records"], state["specs"], state["plan"],
                                state["options"].seed)
        atomic_write(self.root / "gradebook.csv", gradebook_csv(state["records"], state["specs"]))
        atomic_write(self.root / "summary.json", json.dumps(summary, indent=1))
        return summary


def atomic_write(path: Path, text: str) -> None:
    """`path` holds either its old content or all of `text`, whenever the process is killed:
    written under a hidden temporary name in the same folder, then renamed over. Mode 0600:
    grades and feedback are the instructor's to hand out."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(partial, path)


def gradebook_csv(records: dict, specs) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *[spec.stem for spec in specs], "total"])
    for name in sorted(records):
        scores = {r["exercise"]: r["score"] for r in records[name]["results"]}
        row = [scores.get(spec.number, 0.0) for spec in specs]
        writer.writerow([csv_cell(name), *[f"{s:g}" for s in row], f"{sum(row):g}"])
    return buffer.getvalue()


def class_summary(records: dict, specs, plan, seed: int) -> dict:
    exercises = []
    for spec in specs:
        results = [_result(record, spec.number) for record in records.values()]
        results = [r for r in results if r is not None]
        scores = [r["score"] for r in results]
        submitted = [r for r in results if r.get("submitted", True)]
        exercises.append({
            "exercise": spec.number, "slug": spec.slug, "title": spec.title,
            "max_score": spec.points, "graded": len(results), "submitted": len(submitted),
            "mean": _mean(scores), "mean_submitted": _mean([r["score"] for r in submitted]),
            "full_marks": sum(abs(s - spec.points) < 1e-9 for s in scores),
            "histogram": histogram(scores, spec.points),
            "checks": [_check_summary(check, submitted) for check in spec.checks]})
    isolation = Counter(r.get("isolation") for r in records.values() if r.get("isolation"))
    totals = [r["score"] for r in records.values()]
    exposed = sorted({p for r in records.values() for p in r.get("exposed") or []})
    return {"students": len(plan.students), "graded": len(records), "seed": seed,
            "max_score": sum(s.points for s in specs), "mean": _mean(totals),
            "exercises": exercises, "unmatched": plan.unmatched,
            "isolation": isolation.most_common(1)[0][0] if isolation else "",
            "exposed": exposed}


def _result(record, number):
    return next((r for r in record["results"] if r["exercise"] == number), None)


def _check_summary(check, submitted) -> dict:
    outcomes = [next((c for c in r["checks"] if c["name"] == check.name), None) for r in submitted]
    outcomes = [c for c in outcomes if c is not None]
    passed = sum(c["passed"] for c in outcomes)
    diagnoses = Counter(c["diagnosis"] for c in outcomes if not c["passed"] and c["diagnosis"])
    common, count = diagnoses.most_common(1)[0] if diagnoses else (None, 0)
    return {"name": check.name, "function": check.function, "max_score": check.points,
            "attempted": len(outcomes), "passed": passed,
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


# -- feedback to hand back --------------------------------------------------------------------

def feedback_markdown(record: dict, results, title: str | None = None) -> str:
    """Readable feedback for one student, from the record (and the results, for evidence)."""
    lines = [f"# {title or 'Feedback for ' + _md(record['student'])}", "",
             f"**Total: {record['score']:g} / {record['max_score']:g}**", "",
             "| exercise | score |", "|---|---|"]
    for r in record["results"]:
        lines.append(f"| {r['exercise']} {r['slug']} | {r['score']:g} / {r['max_score']:g} |")
    by_number = {r.exercise: r for r in results}
    for r in record["results"]:
        lines += ["", f"## Exercise {r['exercise']} · {r['slug']} — {r['title']} "
                      f"({r['score']:g} / {r['max_score']:g})", ""]
        if r.get("file"):
            lines += [f"File: {_code(r['file'])}", ""]
        for note in r.get("notes") or []:
            lines.append(f"- Note: {_md(note)}")
        if r.get("notes"):
            lines.append("")
        if r["error"]:
            lines += [f"**Not graded:** {_md(r['error'])}", ""]
            result = by_number.get(r["exercise"])
            for place, code in getattr(result, "error_lines", []) or []:
                lines.append(f"- your {line_label(place)}: {_code(code)}")
            continue
        full = {c.name: c for c in getattr(by_number.get(r["exercise"]), "checks", [])}
        for check in r["checks"]:
            mark = "✓" if check["passed"] else "✗"
            line = f"- {mark} {_md(check['name'])} ({check['score']:g} / {check['max_score']:g})"
            if not check["passed"]:
                tag = f"**[{check['diagnosis']}]** " if check["diagnosis"] else ""
                line += f" — {tag}{_md(check['message'])}"
                if check.get("hint"):
                    line += f" (see hint {check['hint']}: `grade hint {r['exercise']}`)"
            lines.append(line)
            evidence = getattr(full.get(check["name"]), "evidence", None)
            for place, function, code in (evidence.trace if evidence else [])[-2:]:
                lines.append(f"  - your {line_label(place)} in {_code(function)}: {_code(code)}")
        if r.get("output"):
            shown = "\n".join(r["output"].rstrip("\n").splitlines()[-10:])
            lines += ["", "Your code printed (last lines):", "", *markdown_block(shown)]
    return "\n".join(lines) + "\n"


_md, _code = markdown_inline, markdown_code  # what a student wrote, shown, never obeyed


# -- the class summary, rendered --------------------------------------------------------------

SPARKS = " ▁▂▃▄▅▆▇█"


def summary_renderable(summary: dict, out: Path | None = None):
    """Per exercise the mean and distribution, per check the pass rate and the most common
    diagnosis, then the files that matched nothing."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    scores = Table(title=f"Class summary · {summary['graded']} of {summary['students']} "
                         "students graded", title_justify="left")
    for column, justify in (("no.", "right"), ("exercise", "left"), ("submitted", "right"),
                            ("mean", "right"), ("full marks", "right"),
                            (f"distribution (0 → max, {HISTOGRAM_BINS} bins)", "left")):
        scores.add_column(column, justify=justify)
    for ex in summary["exercises"]:
        mean = "—" if ex["mean"] is None else f"{ex['mean']:.2f}/{ex['max_score']:g}"
        counts = ex["histogram"]["counts"]
        scores.add_row(str(ex["exercise"]), ex["slug"], f"{ex['submitted']}/{ex['graded']}", mean,
                       str(ex["full_marks"]), f"{_sparkline(counts)}  {' '.join(map(str, counts))}")
    checks = Table(title="Checks: what the class did not understand", title_justify="left")
    checks.add_column("no.", justify="right", no_wrap=True, min_width=3)
    checks.add_column("check", no_wrap=True, overflow="ellipsis", max_width=30)
    # widths that fit an 80-column terminal without cutting a pass rate ("100/100 100%")
    checks.add_column("passed", justify="right", no_wrap=True, min_width=11)
    checks.add_column("most common diagnosis", no_wrap=True, overflow="ellipsis", max_width=22)
    for ex in summary["exercises"]:
        for check in ex["checks"]:
            rate = check["pass_rate"]
            style = "green" if rate is not None and rate >= 0.8 else \
                "yellow" if rate is not None and rate >= 0.5 else "red"
            shown = "—" if rate is None else \
                f"{check['passed']}/{check['attempted']} [{style}]{rate:4.0%}[/]"
            diagnosis = (f"{check['most_common_diagnosis']} ×{check['diagnosis_count']}"
                         if check["most_common_diagnosis"] else
                         f"[dim](none) ×{check['failed_without_diagnosis']}[/]"
                         if check["failed_without_diagnosis"] else "")
            checks.add_row(str(ex["exercise"]), check["name"], shown, diagnosis)
    parts = [scores, checks]
    if summary["unmatched"]:
        text = Text(f"{len(summary['unmatched'])} file(s) matched no exercise and were not "
                    "graded:", style="yellow")
        for item in summary["unmatched"][:15]:
            text.append(f"\n  {visible(item['path'], False)}: {visible(item['reason'], False)}",
                        style="")
        if len(summary["unmatched"]) > 15:
            text.append(f"\n  … {len(summary['unmatched']) - 15} more in summary.json", style="dim")
        parts.append(text)
    if summary.get("isolation"):
        parts.append(Text(f"Sandbox: {summary['isolation']}", style="dim"))
    if summary.get("exposed"):
        parts.append(Text("Warning: student code could read " + ", ".join(summary["exposed"])
                          + ". Run as root, or make them unreadable to other users "
                          "(chmod -R go-rwx); see SECURITY.md.", style="bold red"))
    if out is not None:
        parts.append(Text.assemble(("Written: ", "bold"), f"{out}/gradebook.csv, {out}/summary.json,"
                                   f" {out}/feedback/<student>.json and .md"))
    return Group(*parts)


def _sparkline(counts) -> str:
    top = max(counts) or 1
    return "".join(SPARKS[round(c / top * (len(SPARKS) - 1))] if c else SPARKS[0] for c in counts)
