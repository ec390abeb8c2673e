"""Arranging results for the terminal (rich) and as JSON: the `exercise` writers of
`grader.writers`. Results render themselves; this module lays them out and words the next
step."""

from __future__ import annotations

from .reader import line_label
from .results import ExerciseResult
from .safetext import visible
from .values import dumps

NEXT_STEP = {
    "error": "Fix the problem above in {file}, then run `{grade}` again.",
    "start": "Open {file}: the statement is at the top. Fill in `{function}` first, then run "
             "`{grade}`.",
    "fix": "Fix `{function}` ({check}), then run `{grade}` again.{hint}",
    "none": "Define the functions in {file} (or grade the file that has them), then run "
            "`{grade}` again.",
    "done": "Full marks. On to exercise {next}: `{grade_next}`.",
    "last": "Full marks. That was the last exercise: `grade list{workspace}` shows where you "
            "stand.",
    "hint": " Hint {hint} is about this: `grade hint {number} {hint}{workspace}`.",
    "stuck": " Stuck? `grade hint {number}{workspace}`.",
}
SHOWN_OUTPUT_LINES = 12  #: the last lines of what the student's code printed
NONE_DEFINED = ("{file} defines none of the functions of this exercise ({names}): is it the "
                "right file? Each function must be defined at the top level, with exactly "
                "this name.")
# the same steps for a learner in Jupyter, where `check(N)` grades (see grader.kernel)
NOTEBOOK_NEXT_STEP = {
    "error": "Fix the problem above, run its cell, then run `check({number})` again.",
    "start": "Fill in `{function}` first, run its cell, then run `check({number})` again.",
    "fix": "Fix `{function}` ({check}), run its cell, then `check({number})` again.{hint}",
    "none": "Define the functions in the notebook, run their cells, then `check({number})` "
            "again.",
    "done": "Full marks. On to exercise {next}: `!grade notebook {next}` in a cell writes its "
            "notebook.",
    "last": "Full marks. That was the last exercise: `!grade list` in a cell shows where you "
            "stand.",
    "hint": " Hint {hint} is about this: `!grade hint {number} {hint}` in a cell.",
    "stuck": " Stuck? `!grade hint {number}` in a cell shows the next hint.",
}


def next_step(result: ExerciseResult, numbers: list[int], notebook: bool = False,
              options: CommandOptions | None = None) -> str:
    """What to do next, as a sentence with commands that, pasted, grade the same file in the
    same workspace (`options`: those the student gave)."""
    steps = NOTEBOOK_NEXT_STEP if notebook else NEXT_STEP
    options = options or CommandOptions()
    fields = {"file": result.file, "number": result.exercise,
              "grade": f"grade exercise {result.exercise}{options.grading}",
              "workspace": options.workspace_only}
    if result.error:
        return steps["error"].format(**fields)
    if result.full_marks:
        later = [n for n in numbers if n > result.exercise]
        return steps["done"].format(
            next=later[0], grade_next=f"grade exercise {later[0]}{options.workspace_only}",
            **fields) if later else steps["last"].format(**fields)
    if result.defines_none:
        return steps["none"].format(**fields)
    failing = [c for c in result.checks if not c.passed]
    if all(c.diagnosis == "not-implemented" for c in failing):
        return steps["start"].format(function=failing[0].function, **fields)
    first = failing[0]
    hint = (steps["hint"].format(hint=first.hint, **fields) if first.hint
            else steps["stuck"].format(**fields))
    return steps["fix"].format(function=first.function, check=first.name, hint=hint, **fields)


class CommandOptions:
    """The options of `grade exercise` that a pasted command must repeat: `--file` (this
    exercise only), `--workspace` (every command), `--seed` and `--timeout` (seconds; every
    grading command)."""

    def __init__(self, file: str | None = None, workspace: str | None = None, seed: int = 0,
                 timeout: float | None = None):
        import shlex

        self.workspace_only = f" --workspace {shlex.quote(str(workspace))}" if workspace else ""
        self.grading = (f" --file {shlex.quote(str(file))}" if file else "") + \
            self.workspace_only + (f" --seed {seed}" if seed else "") + \
            (f" --timeout {timeout:g}" if timeout is not None else "")


def exercise_renderable(result: ExerciseResult, numbers: list[int], created: bool = False,
                        notebook: bool = False, options: CommandOptions | None = None):
    from rich.console import Group
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.text import Text

    parts = []
    if created:
        parts.append(Text(f"Created {result.file} from the exercise spec: your functions go there.",
                          style="cyan"))
    parts.append(Rule(Text(f"Exercise {result.exercise} · {result.slug} — {result.title}",
                           style="bold"), style="blue"))
    if not notebook:  # in a notebook the statement is right above
        parts.append(Text.assemble(("Statement: ", "dim"), f"the top of {result.file}",
                                   (f"  (or `grade notebook {result.exercise}`)", "dim")))
    if result.notes:
        parts.append(_notes_text(result.notes))
    if result.error:
        parts.append(Panel(_error_text(result), title="could not grade", border_style="red"))
    elif result.defines_none:
        names = ", ".join(f"`{name}`" for name in dict.fromkeys(c.function for c in result.checks))
        parts.append(Text(NONE_DEFINED.format(file=result.file, names=names), style="red"))
    else:
        parts += _checks_renderables(result.checks)
    if result.output or result.output_dropped:
        parts.append(_output_panel(result))
    parts.append(_score_line(result))
    parts.append(Text.assemble(("Next: ", "bold"), next_step(result, numbers, notebook,
                                                              options)))
    return Group(*parts)


def _checks_renderables(checks) -> list:
    """Each function's name, then its checks, the failing ones of the same diagnosis as one
    paragraph; a paragraph with the same numbers as one above does not repeat them."""
    from rich.text import Text

    from .results import CheckGroup, grouped, same_evidence

    parts, function, shown = [], None, []
    for group in grouped(checks):
        first = group[0]
        if first.function != function:
            function = first.function
            parts.append(Text(function, style="bold magenta"))
        same_as = None
        if not first.passed and first.evidence and first.evidence.got is not None:
            same_as = next((f for f, e in shown if f != function and
                            same_evidence(e, first.evidence)), None)
            shown.append((function, first.evidence))
        parts.append(CheckGroup(group, same_as))
    return parts


def summary_renderable(results: list[ExerciseResult]):
    from rich.table import Table

    table = Table(title="Summary", title_justify="left")
    for column, justify in (("no.", "right"), ("exercise", "left"), ("score", "right"),
                            ("status", "left")):
        table.add_column(column, justify=justify)
    for r in results:
        status = ("[green]full marks[/]" if r.full_marks else
                  "[red]error[/]" if r.error else
                  f"[yellow]{sum(not c.passed for c in r.checks)} checks failing[/]")
        table.add_row(str(r.exercise), r.slug, f"{r.score:g}/{r.max_score:g}", status)
    total, possible = sum(r.score for r in results), sum(r.max_score for r in results)
    table.add_row("", "[bold]total[/]", f"[bold]{total:g}/{possible:g}[/]", "")
    return table


def exercises_terminal(results, numbers: list[int], created=(), notebook: bool = False,
                       options: CommandOptions | None = None):
    """The report of each result (`created`: numbers of the exercises whose stub was just
    written; `options`: those of the command, repeated in the next steps), then, for
    several, the summary table and the exercise to work on next."""
    from rich.console import Group
    from rich.text import Text

    several = not isinstance(results, ExerciseResult)
    results = list(results) if several else [results]
    parts = []
    for result in results:
        parts += [exercise_renderable(result, numbers, result.exercise in created, notebook,
                                      options), Text("")]
    if several:
        parts.append(summary_renderable(results))
        unfinished = [r for r in results if not r.full_marks]
        workspace = (options or CommandOptions()).workspace_only
        parts.append(Text(f"Next: work on exercise {unfinished[0].exercise} "
                          f"(`grade exercise {unfinished[0].exercise}{workspace}`)."
                          if unfinished else
                          "Every exercise has full marks. Well done."))
    return Group(*parts)


def to_json(results) -> str:
    """`grade exercise --json`: one result as an object, several as a list (docs/design.md,
    "Results")."""
    if isinstance(results, ExerciseResult):
        return dumps(results.to_json(), indent=2)
    return dumps([r.to_json() for r in results], indent=2)


def _error_text(result):
    from rich.text import Text

    text = Text(visible(result.error))
    for place, code in result.error_lines:
        text.append(f"\n  {line_label(place)}: ", style="dim")
        text.append(visible(code.strip(), False), style="bold")
    return text


def _notes_text(notes):
    from rich.text import Text

    text = Text("Note" + ("s" if len(notes) > 1 else "") + ":", style="bold yellow")
    for note in notes:
        text.append(f"\n  • {visible(note, False)}", style="yellow")
    return text


def _output_panel(result):
    """The last lines the student's code printed; what was left out is said at the top,
    where it was left out."""
    from rich.panel import Panel
    from rich.text import Text

    lines = result.output.rstrip("\n").splitlines()
    shown = lines[-SHOWN_OUTPUT_LINES:]
    earlier = len(lines) - len(shown)
    text = Text()
    if earlier:
        text.append(f"… {earlier} earlier line{'s' if earlier != 1 else ''} not shown\n",
                    style="italic")
    text.append("\n".join(shown), style="dim")
    if result.output_dropped:  # the sandbox keeps the first bytes: the rest came after
        text.append(f"\n… then {result.output_dropped} more bytes, not kept", style="italic")
    return Panel(text, title="your code printed", border_style="dim", title_align="left")


def _score_line(result):
    from rich.text import Text

    style = "bold green" if result.full_marks else ("bold red" if result.score == 0 else "bold yellow")
    passed = sum(c.passed for c in result.checks)
    return Text.assemble(("Score ", "bold"), (f"{result.score:g}/{result.max_score:g}", style),
                         f"  ({passed} of {len(result.checks)} checks passed)")
