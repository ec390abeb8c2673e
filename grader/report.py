"""Arranging results for the terminal (rich) and as JSON: the `exercise` writers of
`grader.writers`. Results render themselves; this module lays them out and words the next
step."""

from __future__ import annotations

from .reader import line_label
from .results import ExerciseResult
from .safetext import visible
from .values import dumps

NEXT_STEP = {
    "error": "Fix the problem above in {file}, then run `grade exercise {number}` again.",
    "start": "Open {file}: the statement is at the top. Fill in `{function}` first, then run "
             "`grade exercise {number}`.",
    "fix": "Fix `{function}` ({check}), then run `grade exercise {number}` again.{hint}",
    "done": "Full marks. On to exercise {next}: `grade exercise {next}`.",
    "last": "Full marks. That was the last exercise: `grade list` shows where you stand.",
    "hint": " Hint {hint} is about this: `grade hint {number} {hint}`.",
    "stuck": " Stuck? `grade hint {number}`.",
}
# the same steps for a learner in Jupyter, where `check(N)` grades (see grader.kernel)
NOTEBOOK_NEXT_STEP = {
    "error": "Fix the problem above, run its cell, then run `check({number})` again.",
    "start": "Fill in `{function}` first, run its cell, then run `check({number})` again.",
    "fix": "Fix `{function}` ({check}), run its cell, then `check({number})` again.{hint}",
    "done": "Full marks. On to exercise {next}: `!grade notebook {next}` in a cell writes its "
            "notebook.",
    "last": NEXT_STEP["last"],
    "hint": " Hint {hint} is about this: `!grade hint {number} {hint}` in a cell.",
    "stuck": " Stuck? `!grade hint {number}` in a cell shows the next hint.",
}


def next_step(result: ExerciseResult, numbers: list[int], notebook: bool = False) -> str:
    steps = NOTEBOOK_NEXT_STEP if notebook else NEXT_STEP
    fields = {"file": result.file, "number": result.exercise}
    if result.error:
        return steps["error"].format(**fields)
    if result.full_marks:
        later = [n for n in numbers if n > result.exercise]
        return steps["done"].format(next=later[0]) if later else steps["last"]
    failing = [c for c in result.checks if not c.passed]
    if all(c.diagnosis == "not-implemented" for c in failing):
        return steps["start"].format(function=failing[0].function, **fields)
    first = failing[0]
    hint = (steps["hint"].format(hint=first.hint, **fields) if first.hint
            else steps["stuck"].format(**fields))
    return steps["fix"].format(function=first.function, check=first.name, hint=hint, **fields)


def exercise_renderable(result: ExerciseResult, numbers: list[int], created: bool = False,
                        notebook: bool = False):
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
    else:
        function = None
        for check in result.checks:
            if check.function != function:
                function = check.function
                parts.append(Text(function, style="bold magenta"))
            parts.append(check)
    if result.output or result.output_dropped:
        parts.append(_output_panel(result))
    parts.append(_score_line(result))
    parts.append(Text.assemble(("Next: ", "bold"), next_step(result, numbers, notebook)))
    return Group(*parts)


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


def exercises_terminal(results, numbers: list[int], created=(), notebook: bool = False):
    """The report of each result (`created`: numbers of the exercises whose stub was just
    written), then, for several, the summary table and the exercise to work on next."""
    from rich.console import Group
    from rich.text import Text

    several = not isinstance(results, ExerciseResult)
    results = list(results) if several else [results]
    parts = []
    for result in results:
        parts += [exercise_renderable(result, numbers, result.exercise in created, notebook),
                  Text("")]
    if several:
        parts.append(summary_renderable(results))
        unfinished = [r for r in results if not r.full_marks]
        parts.append(Text(f"Next: work on exercise {unfinished[0].exercise} "
                          f"(`grade exercise {unfinished[0].exercise}`)." if unfinished else
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
    from rich.panel import Panel
    from rich.text import Text

    lines = result.output.rstrip("\n").splitlines()
    shown = lines[-12:]
    text = Text("\n".join(shown), style="dim")
    more = len(lines) - len(shown)
    if more or result.output_dropped:
        text.append(f"\n… {more} more lines" if more else "\n…", style="italic")
        if result.output_dropped:
            text.append(f", {result.output_dropped} more bytes not kept", style="italic")
    return Panel(text, title="your code printed", border_style="dim", title_align="left")


def _score_line(result):
    from rich.text import Text

    style = "bold green" if result.full_marks else ("bold red" if result.score == 0 else "bold yellow")
    passed = sum(c.passed for c in result.checks)
    return Text.assemble(("Score ", "bold"), (f"{result.score:g}/{result.max_score:g}", style),
                         f"  ({passed} of {len(result.checks)} checks passed)")
