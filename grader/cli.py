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


def _output_options() -> argparse.ArgumentParser:
    """--json and --no-color: every command has them (a command that grades nothing and
    reads no workspace, such as `grade export`, has only them)."""
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    output.add_argument("--no-color", action="store_true",
                        help="no colours (NO_COLOR is honoured too)")
    return output


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False, parents=[_output_options()])
    common.add_argument("--seed", type=int, default=None,
                        help="seed of the random cases (default 0; in a student release, the "
                             "seeds it has keys for)")
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

    listed = find_course().listing()
    progress = Workspace.locate(args.workspace).progress()
    rows = []
    for item in listed:  # a broken spec is listed as such, with its error: not the end
        spec, entry = item.spec, progress.data["exercises"].get(str(item.number), {})
        rows.append({"exercise": item.number, "slug": item.slug,
                     "title": spec.title if spec else None,
                     "points": spec.points if spec else None, "best": entry.get("best"),
                     "attempts": entry.get("attempts", 0), "hints_shown": entry.get("hints_shown", 0),
                     "status": _status(entry, spec.points) if spec else "broken",
                     "error": item.error or None})
    if args.json:
        _print_json(rows)
        return EXIT_OK
    console = _console(args)
    table = _progress_table(rows, console.width)
    if progress.problem:
        console.print(f"[yellow]{progress.problem}[/]")
    console.print(table)
    from rich.text import Text

    for row in rows:
        if row["error"]:  # a Text: `checks[2].points` is no markup
            console.print(Text.assemble((f"Exercise {row['exercise']} is broken: ", "red"),
                                        row["error"]))
    return EXIT_OK


def _progress_table(rows: list[dict], width: int):
    from rich.table import Table

    columns = ["no.", "slug", "title", "pts", "best", "tries", "hints", "status"]
    cells = [[str(row["exercise"]), row["slug"], row["title"] or "—",
              "" if row["points"] is None else f"{row['points']:g}",
              "" if row["best"] is None else f"{row['best']:g}", str(row["attempts"]),
              str(row["hints_shown"]), row["status"]] for row in rows]
    # every column but the title keeps its width; the title gets the rest, cut with "…"
    others = sum(max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns) if i != 2)
    room = width - others - 3 * len(columns) - 1
    if room < 8:  # a narrow terminal: no title at all
        columns.pop(2)
        cells = [r[:2] + r[3:] for r in cells]
    table = Table(title="gradewise exercises", title_justify="left")
    for column in columns:
        table.add_column(column, justify="left" if column in ("slug", "title", "status") else "right",
                         no_wrap=True, max_width=room if column == "title" else None,
                         overflow="ellipsis")
    styles = {"passed": "green", "failing": "yellow", "not started": "dim", "broken": "red"}
    for row in cells:
        table.add_row(*row[:-1], f"[{styles[row[-1]]}]{row[-1]}[/]")
    return table


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
    _add_check(p)
    _add_timeout(p)
    p.set_defaults(handler=cmd_exercise)


def cmd_exercise(args) -> int:
    from .grading import Grader  # imports numpy; the sandbox forks before anything else loads
    from .course import find_course
    from .reader import read_submission
    from .report import CommandOptions
    from .workspace import Workspace

    course = find_course()
    if args.file is not None and args.which == "all":
        raise GradewiseError("--file grades one exercise: give its number, not 'all'")
    specs = course.specs() if args.which == "all" else [course.find(args.which)]
    _check_file_option(args.file, specs[0])
    check = _chosen_check(specs, args)
    numbers = course.numbers()
    workspace = Workspace.locate(args.workspace)
    if args.file is None:
        _announce_new_workspace(workspace, args)
    results, created, notes = [], [], []
    with Grader(course, seed=args.seed, timeout=_timeout(args)) as grader:
        for spec in specs:
            path = args.file
            if path is None:
                chosen = workspace.graded_file(spec)
                path = chosen.path
                created += [spec.number] if chosen.created else []
                notes += [chosen.note] if chosen.note else []
            result = grader.grade(spec, read_submission(path), str(path))
            if args.file is None:
                _record(workspace, result)
            results.append(result)
    from .writers import find

    shown = results if args.which == "all" else results[0]
    if args.json:
        print(find("exercise", "json").render(shown))
    else:
        options = CommandOptions(args.file, args.workspace, args.seed, args.timeout)
        _console(args).print(find("exercise", "terminal").render(shown, numbers=numbers,
                                                                created=created,
                                                                options=options))
    for note in notes:  # which file was graded, when the workspace holds a notebook
        print(f"Note: {note}", file=sys.stderr if args.json else sys.stdout)
    if check is not None and not _check_passed(results[0], check, args):
        return EXIT_NOT_FULL
    if args.strict and not all(r.full_marks for r in results):
        return EXIT_NOT_FULL
    return EXIT_OK


def _check_file_option(path: Path | None, spec) -> None:
    """`--file` names a file: a folder is said to be one (with the file it may hold)."""
    if path is None or not path.is_dir():
        return
    inside = next((p for p in (path / f"{spec.stem}.py", path / f"{spec.stem}.ipynb")
                   if p.is_file()), None)
    also = f" (it holds {inside}: `--file {inside}`)" if inside else ""
    raise GradewiseError(f"--file {path} is a folder{also}: give the .py or .ipynb file to "
                         f"grade, or --workspace {path} to grade {spec.stem}.py there")


def _announce_new_workspace(workspace, args) -> None:
    """A workspace named by --workspace that does not exist yet is announced before it is
    created: a typo must not silently start an empty one."""
    if workspace.root.exists() or not args.workspace:
        return
    print(f"Note: there is no workspace {workspace.root} yet, so it is created now (if you "
          "meant an existing one, check the spelling of --workspace).", file=sys.stderr)


def _add_check(parser) -> None:
    parser.add_argument("--check", metavar="NAME",
                        help="exit 0 only if this check passes, else 3 (a test of the GitHub "
                             "Classroom workflow, see `grade classroom`)")


def _chosen_check(specs, args) -> str | None:
    """The check `--check` names (None without it). Raises GradewiseError for `all` or a
    name the exercise has no check of, listing its checks."""
    if args.check is None:
        return None
    if args.which == "all":
        raise GradewiseError("--check names a check of one exercise: give its number, not 'all'")
    spec = specs[0]
    names = [check.name for check in spec.checks]
    if args.check not in names:
        import difflib

        close = difflib.get_close_matches(args.check, names, n=1)
        raise GradewiseError(
            f"exercise {spec.number} ({spec.slug}) has no check {args.check!r}"
            + (f"; did you mean {close[0]!r}?" if close else ".") + " Its checks: "
            + ", ".join(map(repr, names)))
    return args.check


def _check_passed(result, name: str, args) -> bool:
    """Whether check `name` of `result` passed; said in one line (on stderr with --json)."""
    check = next(c for c in result.checks if c.name == name)
    verdict = "passed" if check.passed else "failed"
    print(f"Check {name!r} {verdict}: {check.score:g}/{check.max_score:g} points.",
          file=sys.stderr if args.json else sys.stdout)
    return check.passed


def _record(workspace, result):
    progress = workspace.progress()
    progress.record(result)
    if progress.problem:
        print(f"Note: {progress.problem}", file=sys.stderr)


# -- grade hint -----------------------------------------------------------------------------

def _register_hint(sub, common):
    p = sub.add_parser("hint", parents=[common], help="the next hint for an exercise (progressive)")
    p.add_argument("which", help="exercise number or slug")
    p.add_argument("number", nargs="?", type=int,
                   help="show this hint (a failing check names the one that addresses it)")
    p.add_argument("--all", action="store_true", help="show every hint")
    p.set_defaults(handler=cmd_hint)


def cmd_hint(args) -> int:
    from .course import find_course
    from .workspace import Workspace

    spec = find_course().find(args.which)
    progress = Workspace.locate(args.workspace).progress()
    if args.number is not None and not 1 <= args.number <= len(spec.hints):
        raise GradewiseError(f"exercise {spec.number} has hints 1 to {len(spec.hints)}, "
                             f"not {args.number}")
    if args.all or args.number:
        count = len(spec.hints) if args.all else args.number
        progress.hints_seen(spec.number, count)
    else:
        count = progress.next_hint(spec.number, len(spec.hints))
    shown = list(enumerate(spec.hints[:count], 1))
    if not args.all:
        shown = shown[-1:]
    if args.json:
        _print_json({"exercise": spec.number, "total": len(spec.hints),
                     "hints": [{"number": n, "text": t} for n, t in shown]})
        return EXIT_OK
    from rich.markdown import Markdown
    from rich.panel import Panel

    console = _console(args)
    for number, text in shown:
        console.print(Panel(Markdown(text), title=f"Hint {number} of {len(spec.hints)} · exercise "
                            f"{spec.number} {spec.slug}", title_align="left", border_style="cyan"))
    if not args.all and not args.number and count < len(spec.hints):
        console.print(f"[dim]Run `grade hint {spec.number}` again for the next hint.[/]")
    return EXIT_OK


# -- grade validate -------------------------------------------------------------------------

def _register_validate(sub, common):
    p = sub.add_parser("validate", parents=[common],
                       help="authoring: specs valid, reference = full marks, stub = 0, mistakes recognised")
    p.set_defaults(handler=cmd_validate)


def cmd_validate(args) -> int:
    from .course import NO_SOLUTIONS, find_course
    from .validate import report_renderable, validate_course

    course = find_course()
    if course.release is not None:
        raise GradewiseError(f"{NO_SOLUTIONS} `grade validate` checks the full course.")
    reports = validate_course(course, seed=args.seed)
    if args.json:
        _print_json([r.to_json() for r in reports])
    else:
        _console(args).print(report_renderable(reports))
    return EXIT_OK if all(r.ok for r in reports) else EXIT_USER_ERROR


# -- grade notebook -------------------------------------------------------------------------

def _register_notebook(sub, common):
    p = sub.add_parser("notebook", parents=[common],
                       help="write a Jupyter notebook per exercise: statement, stubs, check cell")
    p.add_argument("which", help="exercise number, slug, or 'all'")
    p.add_argument("--out", type=Path, metavar="DIR", help="folder (default: the workspace)")
    p.add_argument("--force", action="store_true",
                   help="overwrite an existing notebook (a backup is kept)")
    p.set_defaults(handler=cmd_notebook)


def cmd_notebook(args) -> int:
    from .course import find_course
    from .notebooks import write_notebook
    from .workspace import Workspace

    course = find_course()
    specs = course.specs() if args.which == "all" else [course.find(args.which)]
    folder = args.out or Workspace.locate(args.workspace).root
    written = [write_notebook(spec, folder, args.force) for spec in specs]
    if args.out is None:  # marks the folder as the workspace for `!grade ...` run from there
        Workspace(folder).progress_path.parent.mkdir(parents=True, exist_ok=True)
    if args.json:
        _print_json([{"exercise": spec.number, "path": str(path), "status": status,
                      "backup": str(saved) if saved else None}
                     for spec, (path, status, saved) in zip(specs, written)])
        return EXIT_OK
    console = _console(args)
    for path, status, saved in written:
        if status == "kept":
            console.print(f"Kept {path}: it holds your work (--force writes a fresh one, "
                          "keeping a backup).")
        else:
            console.print(f"Wrote {path}" + (f" (your old one is in {saved})" if saved else ""))
    check = f"check({specs[0].number})" if len(specs) == 1 else "check(N)"
    console.print(f"Open it in Jupyter (`jupyter lab {written[0][0]}`; no Jupyter yet? "
                  f"`pip install jupyterlab` where gradewise is installed): fill in the "
                  f"functions, then run the last cell, `{check}`.")
    return EXIT_OK


# -- grade watch ----------------------------------------------------------------------------

def _register_watch(sub, common):
    p = sub.add_parser("watch", parents=[common],
                       help="grade an exercise again whenever its file is saved (Ctrl-C to stop)")
    p.add_argument("which", help="exercise number or slug")
    p.add_argument("--file", type=Path, help="watch this .py or .ipynb instead of the workspace file")
    p.set_defaults(handler=cmd_watch)


def cmd_watch(args) -> int:
    from .grading import Grader  # imports numpy; the sandbox forks before anything else loads
    from .course import find_course
    from .report import CommandOptions, exercise_renderable
    from .watch import WATCHING, watch
    from .writers import find
    from .workspace import Workspace

    course = find_course()
    spec = course.find(args.which)
    _check_file_option(args.file, spec)
    numbers = course.numbers()
    workspace = Workspace.locate(args.workspace)
    if args.file is None:
        _announce_new_workspace(workspace, args)
    path, created = args.file, False
    console = _console(args)
    if path is None:
        chosen = workspace.graded_file(spec)
        path, created = chosen.path, chosen.created
        if chosen.note:
            print(f"Note: {chosen.note}", file=sys.stderr if args.json else sys.stdout)
    options = CommandOptions(args.file, args.workspace, args.seed)

    def show(result):
        nonlocal created
        if isinstance(result, str):
            console.print(f"[yellow]{result}[/]")
        elif args.json:
            print(find("exercise", "json").render(result), flush=True)
        else:
            if console.is_terminal:
                console.clear()
            console.print(exercise_renderable(result, numbers, created, options=options))
            console.print(f"[dim]{WATCHING.format(file=path)}[/]")
            created = False
        sys.stdout.flush()

    record = None if args.file else (lambda result: _record(workspace, result))
    with Grader(course, seed=args.seed) as grader:
        session = watch(grader, spec, path, show, record)
    print(session.summary(), file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK


# -- grade reset ----------------------------------------------------------------------------

def _register_reset(sub, common):
    p = sub.add_parser("reset", parents=[common],
                       help="put an exercise's stub back (your file is backed up first)")
    p.add_argument("which", help="exercise number or slug")
    p.set_defaults(handler=cmd_reset)


def cmd_reset(args) -> int:
    from .course import find_course
    from .workspace import Workspace

    spec = find_course().find(args.which)
    workspace = Workspace.locate(args.workspace)
    saved = workspace.reset(spec)
    if args.json:
        _print_json({"exercise": spec.number, "path": str(workspace.file(spec)),
                     "backup": str(saved) if saved else None})
        return EXIT_OK
    kept = f"your previous file is saved as {saved}" if saved else "there was no work to keep"
    _console(args).print(f"Reset {workspace.file(spec)} to the stub; {kept}.")
    return EXIT_OK


def _add_timeout(parser) -> None:
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="seconds of computing time per call, and at least that for "
                             "every limit (a check's own, loading the file): more time on a "
                             "slow machine (default: 0.5 per call, 10 to load)")


def _timeout(args) -> float | None:
    """The instructor's --timeout (None: the course's limits). Raises GradewiseError."""
    if args.timeout is not None and not 0 < args.timeout < float("inf"):
        raise GradewiseError("--timeout: expected a positive number of seconds")
    return args.timeout


def _print_json(value) -> None:
    import json

    print(json.dumps(value, indent=2))


def _console(args, stderr: bool = False):
    from rich.console import Console

    return Console(no_color=args.no_color or None, highlight=False, stderr=stderr)


# -- grade solution ---------------------------------------------------------------------------

SOLVE_FIRST = ("{so_far}: its reference solution is shown once you have full marks. Stuck? "
               "`grade hint {number}` gives the next hint; `grade solution {number} --anyway` "
               "shows the solution now.")
CONFIRM = ("{so_far}. Working it out yourself is where the learning is. Show the reference "
           "solution anyway? [y/N] ")


def _register_solution(sub, common):
    p = sub.add_parser("solution", parents=[common],
                       help="the reference solution of an exercise, once you have full marks")
    p.add_argument("which", help="exercise number or slug")
    p.add_argument("--anyway", action="store_true",
                   help="show it before full marks (asks to confirm)")
    p.set_defaults(handler=cmd_solution)


def cmd_solution(args) -> int:
    from .course import NO_SOLUTIONS, find_course
    from .workspace import Workspace

    course = find_course()
    spec = course.find(args.which)
    if course.release is not None:
        raise GradewiseError(NO_SOLUTIONS)
    entry = Workspace.locate(args.workspace).progress().data["exercises"].get(str(spec.number), {})
    best = entry.get("best")
    if best is None or best < spec.points - 1e-9:
        so_far = (f"you have not graded exercise {spec.number} yet" if best is None else
                  f"your best score on exercise {spec.number} is {best:g}/{spec.points:g}")
        if not args.anyway:
            raise GradewiseError(SOLVE_FIRST.format(so_far=so_far, number=spec.number))
        print(CONFIRM.format(so_far=so_far[0].upper() + so_far[1:]), end="", file=sys.stderr,
              flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("Not shown. `grade hint {0}` gives the next hint.".format(spec.number),
                  file=sys.stderr)
            return EXIT_OK
    code = course.reference_code(spec)
    if args.json:
        _print_json({"exercise": spec.number, "file": f"solutions/{spec.solution}",
                     "code": code})
        return EXIT_OK
    from rich.syntax import Syntax

    console = _console(args)
    console.rule(f"Reference solution · exercise {spec.number} {spec.slug} "
                 f"(solutions/{spec.solution}, without its catalogued mistakes)")
    console.print(Syntax(code, "python", theme="ansi_dark", background_color="default",
                         word_wrap=True))
    return EXIT_OK


COMMANDS = [_register_list, _register_exercise, _register_hint, _register_validate,
            _register_notebook, _register_watch, _register_reset, _register_solution]


# -- grade batch (instructors) --------------------------------------------------------------

def _register_batch(sub, common):
    p = sub.add_parser("batch", parents=[common],
                       help="instructor: grade a class (gradebook, feedback, summary)")
    p.add_argument("subs", type=Path, metavar="SUBS",
                   help="a folder per student with exNN_slug.py/.ipynb files, or one "
                        ".py/.ipynb per student holding several exercises")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="where gradebook.csv, summary.json and feedback/ go")
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="students graded in parallel (default: the number of cores)")
    _add_timeout(p)
    p.add_argument("--resume", action="store_true",
                   help="keep the feedback in DIR graded from the same files, course, seed "
                        "and limits; grade the other students")
    p.add_argument("--exercises", metavar="LIST", help="which exercises, e.g. 1,3-5 (default: all)")
    _add_roster(p)
    p.set_defaults(handler=cmd_batch)


def cmd_batch(args) -> int:
    import signal

    from .batch import BatchInterrupted, BatchOptions, grade_class, select_exercises
    from .course import find_course
    from .writers import find

    if args.jobs < 0:
        raise GradewiseError("--jobs: expected a number of processes, 1 or more (0: all cores)")
    course = find_course()
    specs = select_exercises(course, args.exercises)
    options = BatchOptions(jobs=args.jobs, seed=course.seed(args.seed), timeout=_timeout(args),
                           resume=args.resume, roster=_roster(args))
    console = _console(args, stderr=args.json)  # --json: stdout holds the JSON alone
    console.on_broken_pipe = _broken_pipe  # rich's own exits 1: the batch must go on
    # SIGTERM (a closed session, `kill`) ends the batch as Ctrl-C does: saying what is saved
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with _BatchProgress(console, args.subs, args.out, quiet=args.json) as progress:
            results = grade_class(args.subs, args.out, course, specs, options,
                                  on_status=progress.update)
    except BatchInterrupted as exc:
        console.print(f"Interrupted: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 130
    except KeyboardInterrupt:
        console.print(f"Interrupted before any student was graded: nothing changed in "
                      f"{args.out}.", markup=False, highlight=False)
        return 130
    if args.json:
        _unless_closed(sys.stdout, lambda: print(find("class", "json").render(results),
                                                 flush=True))
    else:
        _unless_closed(console.file,
                       lambda: console.print(find("class", "terminal").render(results,
                                                                             out=args.out)))
    return EXIT_OK


def _unless_closed(stream, write) -> bool:
    """Call `write()`, which writes to `stream`; False when the stream's reader has gone
    (`grade batch … | head -1`: BrokenPipeError). The stream is then sent to /dev/null for
    the rest of the run (Python's advice for SIGPIPE, "Note on SIGPIPE" in the `signal`
    docs), so that whatever prints later, the flush at exit included, cannot fail: the
    batch goes on grading and writing its files, and ends with its usual exit status."""
    try:
        write()
        stream.flush()
        return True
    except BrokenPipeError:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError):
            pass
        return False


def _broken_pipe() -> None:
    """A rich Console's `on_broken_pipe` that lets `_unless_closed` decide (rich's own
    sends stdout to /dev/null and exits 1)."""
    raise BrokenPipeError("the output's reader has gone")


class _BatchProgress:
    """What the batch does, as it does it (`grade_class`'s `on_status`): first what --resume
    keeps and grades again; then students done / total, those in progress, the rate and the
    time left, as a bar on a terminal (refreshed every second), else one line per student
    (`quiet`: the first notes only)."""

    def __init__(self, console, subs, out, quiet: bool = False):
        self.console, self.subs, self.out, self.quiet = console, Path(subs), Path(out), quiet
        self.begun = False
        self.bar = self.task = None
        self.shown = 0  #: students whose line is printed (no bar)
        self.closed = False  #: the output's reader has gone: show nothing more

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            _unless_closed(self.console.file, self.bar.stop)

    def update(self, status) -> None:
        """Show `status`; once the output is closed (a pipe's reader gone), nothing more."""
        if not self.closed and not _unless_closed(self.console.file,
                                                  lambda: self._show(status)):
            self.closed, self.bar = True, None

    def _show(self, status) -> None:
        import time

        if not self.begun:  # the first call: before grading
            self.begun, self.shown = True, status.done
            for line in status.notes(self.subs, self.out):
                self.console.print(line, markup=False, highlight=False, soft_wrap=True)
            if self.console.is_terminal and not self.quiet:
                self._start_bar(status.total)
        if self.quiet:
            return
        now = time.monotonic()
        rate, left = status.rate(now), status.seconds_left(now)
        if self.bar is not None:
            self.bar.update(self.task, completed=status.done, total=status.total,
                            running=f"{len(status.running)} in progress" if status.running
                            else "", rate=f"{rate:.1f}/s" if status.took else "",
                            left=f"about {_duration(left)} left" if left else "")
            self.bar.refresh()
        elif status.done > self.shown and status.last is not None:
            from .safetext import visible

            self.shown = status.done
            name, student = status.last
            ahead = f", about {_duration(left)} left" if left else ""
            self.console.print(f"[{status.done}/{status.total}] {visible(name, False)}: "
                               f"{student.score:g}/{student.max_score:g}  ({rate:.1f} "
                               f"students/s{ahead})", markup=False, highlight=False,
                               soft_wrap=True)

    def _start_bar(self, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        # no refresh thread: the batch forks processes, and a fork must not copy a lock;
        # the batch calls `update` at least once a second
        self.bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("students {task.fields[running]}"),
                            TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[left]}"),
                            console=self.console, auto_refresh=False)
        self.task = self.bar.add_task("grading", total=total, running="", rate="", left="")
        self.bar.start()


def _duration(seconds: float) -> str:
    """`1 s` (at least), `45 s`, `3 min`, `1 h 05 min`."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


# -- grade gradescope (instructors) -----------------------------------------------------------

def _register_gradescope(sub, common):
    p = sub.add_parser("gradescope", parents=[common],
                       help="instructor: build a Gradescope autograder (.zip)")
    p.add_argument("--out", type=Path, required=True, metavar="ZIP", help="the zip to write")
    p.add_argument("--exercises", metavar="LIST", help="which exercises, e.g. 1,3-5 (default: all)")
    _add_timeout(p)
    p.add_argument("--hidden-seed", type=int, metavar="N",
                   help="also grade the random cases drawn with seed N; those results are "
                        "shown to students once grades are published")
    p.set_defaults(handler=cmd_gradescope)


def cmd_gradescope(args) -> int:
    from .batch import select_exercises
    from .course import NO_SOLUTIONS, find_course
    from .gradescope import build_autograder

    course = find_course()
    if course.release is not None:
        raise GradewiseError(f"{NO_SOLUTIONS} An autograder is built from the full course.")
    specs = select_exercises(course, args.exercises)
    built = build_autograder(args.out, course, specs, seed=course.seed(args.seed),
                             hidden_seed=args.hidden_seed, timeout=_timeout(args))
    if args.json:
        _print_json(built)
    else:
        _console(args).print(f"Wrote {args.out}: {len(specs)} exercise(s), "
                             f"{built['points']:g} points. Upload it as the autograder of a "
                             "Gradescope programming assignment (Ubuntu base image).")
    return EXIT_OK


# -- grade release (instructors) -----------------------------------------------------------------

def _register_release(sub, common):
    p = sub.add_parser("release", parents=[common],
                       help="instructor: write the course for students, without solutions")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="the folder to write (new, empty, or an earlier release to update)")
    p.add_argument("--exercises", metavar="LIST", help="which exercises, e.g. 1,3-5 (default: all)")
    p.add_argument("--seeds", metavar="LIST", default="0",
                   help="the seeds students grade locally, e.g. 0,1,2 (default 0); keep your "
                        "hidden seeds out of it")
    p.set_defaults(handler=cmd_release)


def cmd_release(args) -> int:
    from .batch import select_exercises
    from .course import find_course
    from .release import write_release

    course = find_course()
    specs = select_exercises(course, args.exercises)
    written = write_release(args.out, course, specs, _numbers(args.seeds, "--seeds"))
    if args.json:
        _print_json(written)
        return EXIT_OK
    seeds = ", ".join(map(str, written["seeds"]))
    _console(args).print(
        f"Wrote {written['out']}: {len(specs)} exercise(s), {written['points']:g} points, "
        f"reference keys for seed{'s' if len(written['seeds']) > 1 else ''} {seeds}, no "
        f"solutions. Publish it (e.g. as a git repository); students run `pip install -e .` "
        f"in their clone, then `grade exercise {specs[0].number}`. Grade their submissions "
        "here, in the full course, with a seed they do not have (`grade batch --seed N`, "
        "`grade gradescope --hidden-seed N`).", markup=False)
    return EXIT_OK


def _numbers(text: str, option: str) -> list[int]:
    """`0,1,2` or `0-4,7` → the numbers (each ≥ 0). Raises GradewiseError."""
    numbers = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or high and not high.isdigit() or high and int(high) < int(low):
            raise GradewiseError(f"{option}: expected numbers like 0,1,2 or 0-4, got {text!r}")
        numbers += range(int(low), int(high or low) + 1)
    return numbers


# -- the roster, grade export, grade classroom (instructors) -------------------------------------

def _add_roster(parser) -> None:
    parser.add_argument("--roster", type=Path, metavar="CSV",
                        help="who the students are: a CSV with a header such as "
                             "student,id,name,email,section (student: the name of their "
                             "folder or file in SUBS)")


def _roster(args):
    """The roster `--roster` names, read (None without it). Raises GradewiseError."""
    from .roster import read_roster

    return read_roster(args.roster) if args.roster is not None else None


EXPORT_FORMATS = ("canvas", "moodle", "csv")  #: class writers of an LMS gradebook (`grader.lms`)


def _register_export(sub, common):
    p = sub.add_parser("export", parents=[_output_options()],
                       help="instructor: a batch's gradebook for Canvas, Moodle, or as CSV")
    p.add_argument("dir", type=Path, metavar="DIR", help="the --out folder of `grade batch`")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS,
                   help="canvas: Canvas's gradebook import; moodle: Moodle's CSV grade import; "
                        "csv: gradebook.csv (with the roster's columns)")
    _add_roster(p)
    p.add_argument("--out", metavar="FILE",
                   help="the file to write (default DIR/gradebook-FORMAT.csv; - for stdout)")
    p.add_argument("--exercises", metavar="LIST",
                   help="a column for each of these exercises the batch graded, e.g. 1,3-5 "
                        "(default: canvas and moodle, those someone submitted; csv, all)")
    p.set_defaults(handler=cmd_export)


def cmd_export(args) -> int:
    from .files import atomic_write
    from .lms import export
    from .writers import PRIVATE

    made = export(args.dir, args.format, args.roster, args.exercises)
    out = args.out or str(args.dir / f"gradebook-{args.format}.csv")
    if out == "-":  # the file on stdout, what to know about it on stderr
        sys.stdout.write(made.text)
    else:
        atomic_write(Path(out), made.text, PRIVATE)
    if args.json and out != "-":
        _print_json({"out": out, "format": args.format, "rows": made.rows,
                     "roster": made.roster or None, "not_submitted": made.not_submitted,
                     "not_on_roster": made.not_on_roster, "exercises": made.exercises,
                     "left_out": made.left_out})
        return EXIT_OK
    from .safetext import visible

    def names(listed):
        return ", ".join(visible(n, False) for n in listed[:10]) + (", …" if listed[10:] else "")

    console = _console(args, stderr=out == "-")
    written = "Written to stdout" if out == "-" else f"Wrote {out}"
    counted = f"{made.rows} students"
    if made.roster:
        extra = made.rows - made.on_roster
        counted = (f"{made.on_roster} students of the roster {made.roster}"
                   + (f" and {extra} not on it" if extra else ""))
    console.print(f"{written}: {counted}, exercise(s) "
                  f"{', '.join(map(str, made.exercises))}.", markup=False, soft_wrap=True)
    if made.left_out:
        console.print(f"Left out exercise(s) {', '.join(map(str, made.left_out))}: nobody "
                      "submitted them (--exercises LIST chooses the columns).", markup=False,
                      soft_wrap=True)
    if made.not_submitted:
        console.print(f"{len(made.not_submitted)} on the roster with no submission score 0: "
                      f"{names(made.not_submitted)}.", markup=False, style="yellow",
                      soft_wrap=True)
    if made.not_on_roster and args.format != "csv":
        console.print(f"Left out, not on the roster: {names(made.not_on_roster)}. Add them to "
                      "the roster and export again (--roster FILE).", markup=False,
                      style="bold yellow", soft_wrap=True)
    return EXIT_OK


def _register_classroom(sub, common):
    p = sub.add_parser("classroom", parents=[_output_options()],
                       help="instructor: the GitHub Classroom autograding workflow, one test "
                            "per check")
    p.add_argument("--out", type=Path, default=Path(".github/workflows/classroom.yml"),
                   metavar="FILE", help="default .github/workflows/classroom.yml")
    p.add_argument("--exercises", metavar="LIST", help="which exercises, e.g. 1,3-5 (default: all)")
    _add_timeout(p)
    p.set_defaults(handler=cmd_classroom)


def cmd_classroom(args) -> int:
    from .batch import select_exercises
    from .classroom import workflow
    from .course import find_course
    from .files import atomic_write

    specs = select_exercises(find_course(), args.exercises)
    made = workflow(specs, _timeout(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out, made.text)
    if args.json:
        _print_json({"out": str(args.out), "tests": made.steps, "points": made.points,
                     "scale": made.scale, "exercises": [s.number for s in specs]})
        return EXIT_OK
    scaled = (f" (every check's points ×{made.scale}: GitHub Classroom counts whole points)"
              if made.scale != 1 else "")
    _console(args).print(
        f"Wrote {args.out}: {made.steps} tests, one per check of {len(specs)} exercise(s), "
        f"{made.points} points{scaled}. Put it in the template repository of the assignment "
        "(your release, `grade release`), as .github/workflows/classroom.yml: GitHub "
        "Classroom runs it in each student's repository on every push.", markup=False,
        soft_wrap=True)
    return EXIT_OK


COMMANDS += [_register_batch, _register_gradescope, _register_release, _register_export,
             _register_classroom]


# -- grade report (instructors) ------------------------------------------------------------------

def _register_report(sub, common):
    p = sub.add_parser("report", parents=[_output_options()],
                       help="instructor: make DIR/report.html again from a batch's output folder")
    p.add_argument("dir", type=Path, metavar="DIR", help="the --out folder of `grade batch`")
    p.set_defaults(handler=cmd_report)


def cmd_report(args) -> int:
    from .files import FolderBusy, FolderLock, atomic_write
    from .results import ClassResults
    from .writers import LOCK_NAME, PRIVATE, find

    folder, writer = args.dir, find("class", "html")
    if not folder.is_dir():
        raise GradewiseError(f"{folder}: no such folder: give the --out folder of `grade "
                             "batch`")
    if not (folder / "summary.json").is_file():
        raise GradewiseError(f"{folder}: no summary.json in it, so it is not the output folder "
                             f"of a batch: grade the class first (`grade batch SUBS/ --out "
                             f"{folder}`), which writes {writer.path} too")
    try:
        lock = FolderLock(folder / LOCK_NAME, f"grade report, process {os.getpid()}")
    except FolderBusy as exc:
        raise GradewiseError(f"{folder}: a batch is writing it ({exc}); it writes "
                             f"{writer.path} when it ends") from None
    try:
        try:
            results = ClassResults.read(folder)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise GradewiseError(f"{folder}: its results cannot be read ({type(exc).__name__}: "
                                 f"{exc}); grade the class again with `grade batch SUBS/ --out "
                                 f"{folder}`") from None
        path = folder / writer.path
        try:
            atomic_write(path, writer.render(results), PRIVATE)
        except OSError as exc:
            raise GradewiseError(f"{path}: cannot be written ({exc.strerror})") from None
    finally:
        lock.release()
    from .htmlreport import unfinished

    incomplete = unfinished({"graded": len(results.students), "students": results.submissions})
    if args.json:
        _print_json({"report": str(path), "students": len(results.students),
                     "found": results.submissions, "incomplete": bool(incomplete)})
    else:
        _console(args).print(f"Wrote {path}: {len(results.students)} students, "
                             f"{len(results.exercises)} exercise(s). Open it in a browser."
                             + (f" Incomplete: {incomplete}" if incomplete else ""),
                             markup=False, highlight=False)
    return EXIT_OK


COMMANDS.append(_register_report)

if __name__ == "__main__":  # pragma: no cover
    run()
