"""The `grade` command: parse, call the core, render. Exit status: 0 graded, 1 user error,
2 bad usage, 3 `--strict` and the score is not full."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import GradewiseError

EXIT_OK, EXIT_USER_ERROR, EXIT_USAGE, EXIT_NOT_FULL = 0, 1, 2, 3


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only cost
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args)
    except GradewiseError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


def run() -> None:
    """The console script: `main`, then a fast exit (the interpreter's teardown of numpy
    costs more than a whole grading run; everything is flushed and saved by then)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    common.add_argument("--no-color", action="store_true", help="no colours (NO_COLOR is honoured too)")
    common.add_argument("--seed", type=int, default=0, help="seed of the random cases (default 0)")
    common.add_argument("--workspace", metavar="DIR",
                        help="the student's folder (default ./workspace or $GRADEWISE_WORKSPACE)")
    parser = argparse.ArgumentParser(
        prog="grade", description="gradewise: auto-graded matrix-calculus exercises (CS224N lecture 3).")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in COMMANDS:
        register(sub, common)
    return parser


# -- grade list -----------------------------------------------------------------------------

def _register_list(sub, common):
    p = sub.add_parser("list", parents=[common], help="the exercises, points and your progress")
    p.set_defaults(handler=cmd_list)


def cmd_list(args) -> int:
    from .course import find_course
    from .workspace import Workspace

    specs = find_course().specs()
    progress = Workspace.locate(args.workspace).progress()
    rows = []
    for spec in specs:
        entry = progress.data["exercises"].get(str(spec.number), {})
        rows.append({"exercise": spec.number, "slug": spec.slug, "title": spec.title,
                     "points": spec.points, "best": entry.get("best"),
                     "attempts": entry.get("attempts", 0), "hints_shown": entry.get("hints_shown", 0),
                     "status": _status(entry, spec.points)})
    if args.json:
        import json
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    from rich.table import Table

    table = Table(title="gradewise exercises", title_justify="left")
    for column in ("no.", "slug", "title", "points", "best", "attempts", "status"):
        table.add_column(column, justify="right" if column in ("no.", "points", "best", "attempts") else "left")
    styles = {"passed": "green", "failing": "yellow", "not started": "dim"}
    for row in rows:
        best = "" if row["best"] is None else f"{row['best']:g}"
        table.add_row(str(row["exercise"]), row["slug"], row["title"], f"{row['points']:g}", best,
                      str(row["attempts"]), f"[{styles[row['status']]}]{row['status']}[/]")
    console = _console(args)
    if progress.problem:
        console.print(f"[yellow]{progress.problem}[/]")
    console.print(table)
    return EXIT_OK


def _status(entry: dict, points: float) -> str:
    if not entry.get("attempts"):
        return "not started"
    return "passed" if float(entry.get("best", 0)) >= points - 1e-9 else "failing"


# -- grade exercise -------------------------------------------------------------------------

def _register_exercise(sub, common):
    p = sub.add_parser("exercise", parents=[common], help="grade one exercise (number or slug) or all")
    p.add_argument("which", help="exercise number, slug, or 'all'")
    p.add_argument("--file", type=Path, help="grade this .py or .ipynb instead of the workspace file")
    p.add_argument("--strict", action="store_true", help="exit 3 unless the score is full")
    p.set_defaults(handler=cmd_exercise)


def cmd_exercise(args) -> int:
    from .grading import Grader  # imports numpy; the sandbox forks before anything else loads
    from .course import find_course
    from .sources import read_source
    from .workspace import Workspace

    course = find_course()
    if args.file is not None and args.which == "all":
        raise GradewiseError("--file grades one exercise: give its number, not 'all'")
    if args.file is not None and not args.file.is_file():
        raise GradewiseError(f"{args.file}: no such file")
    specs = course.specs() if args.which == "all" else [course.find(args.which)]
    numbers = [int(p.name[2:4]) for p in course.spec_paths()]
    workspace = Workspace.locate(args.workspace)
    results, created = [], []
    with Grader(course, seed=args.seed) as grader:
        for spec in specs:
            path = args.file or workspace.file(spec)
            if args.file is None and workspace.ensure_stub(spec):
                created.append(spec.number)
            result = grader.grade_source(spec, read_source(path), str(path.resolve()), str(path))
            if args.file is None:
                workspace.progress().record(result)
            results.append(result)
    if args.json:
        from .report import to_json
        print(to_json(results if args.which == "all" else results[0]))
    else:
        _print_results(args, results, numbers, created, summary=args.which == "all")
    if args.strict and not all(r.full_marks for r in results):
        return EXIT_NOT_FULL
    return EXIT_OK


def _print_results(args, results, numbers, created, summary):
    from .report import exercise_renderable, summary_renderable

    console = _console(args)
    for result in results:
        console.print(exercise_renderable(result, numbers, result.exercise in created))
        console.print()
    if summary:
        console.print(summary_renderable(results))
        unfinished = [r for r in results if not r.full_marks]
        if unfinished:
            console.print(f"Next: work on exercise {unfinished[0].exercise} "
                          f"(`grade exercise {unfinished[0].exercise}`).")


# -- grade hint -----------------------------------------------------------------------------

def _register_hint(sub, common):
    p = sub.add_parser("hint", parents=[common], help="the next hint for an exercise (progressive)")
    p.add_argument("which", help="exercise number or slug")
    p.add_argument("--all", action="store_true", help="show every hint")
    p.set_defaults(handler=cmd_hint)


def cmd_hint(args) -> int:
    from .course import find_course
    from .workspace import Workspace

    spec = find_course().find(args.which)
    progress = Workspace.locate(args.workspace).progress()
    count = len(spec.hints) if args.all else progress.next_hint(spec.number, len(spec.hints))
    shown = list(enumerate(spec.hints[:count], 1))
    if not args.all:
        shown = shown[-1:]
    if args.json:
        import json
        print(json.dumps({"exercise": spec.number, "total": len(spec.hints),
                          "hints": [{"number": n, "text": t} for n, t in shown]}, indent=2))
        return EXIT_OK
    from rich.markdown import Markdown
    from rich.panel import Panel

    console = _console(args)
    for number, text in shown:
        console.print(Panel(Markdown(text), title=f"Hint {number} of {len(spec.hints)} · exercise "
                            f"{spec.number} {spec.slug}", title_align="left", border_style="cyan"))
    if not args.all and count < len(spec.hints):
        console.print(f"[dim]Run `grade hint {spec.number}` again for the next hint.[/]")
    return EXIT_OK


# -- grade validate -------------------------------------------------------------------------

def _register_validate(sub, common):
    p = sub.add_parser("validate", parents=[common],
                       help="authoring: specs valid, reference = full marks, stub = 0, mistakes recognised")
    p.set_defaults(handler=cmd_validate)


def cmd_validate(args) -> int:
    from .validate import validate_course, report_renderable

    reports = validate_course(seed=args.seed)
    if args.json:
        import json
        print(json.dumps([r.to_json() for r in reports], indent=2))
    else:
        _console(args).print(report_renderable(reports))
    return EXIT_OK if all(r.ok for r in reports) else EXIT_USER_ERROR


def _console(args):
    from rich.console import Console

    return Console(no_color=args.no_color or None, highlight=False)


COMMANDS = [_register_list, _register_exercise, _register_hint, _register_validate]


if __name__ == "__main__":  # pragma: no cover
    run()
