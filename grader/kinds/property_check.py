"""Kind `property`: a named predicate of the exercise's public module holds of the
student's output.

`predicate(output, **case_inputs)` returns True/False or (passed, why not); `describe` is the
message when it gives no reason. A predicate that needs the right answer takes a parameter
named `expected`: it is given the reference's output on the case (the part the check
selects), so that the predicate holds no reference code and a student release can carry it.
When the property fails and the output also differs from the reference, the difference is
diagnosed as `compare` would (a catalogued mistake, ...). A predicate may raise on a
student's output (the check then fails, saying so); one that raises on the reference's own
output, or returns anything else than those two forms, is a spec error at `predicate`
(`grade validate`).
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from . import Kind, Option


class PropertyKind(Kind):
    name = "property"
    options = {
        "predicate": Option(str, doc="the public module's function `NAME(output, **inputs)` → "
                            "bool or (bool, why not)", public=True),
        "describe": Option(str, "", "the message when the predicate gives no reason"),
    }

    def judge(self, check, run, ctx, outputs):
        from ..checks import Verdict, evidence, select, value_verdict  # see grader.kinds
        from ..compare import mismatch

        got = outputs[0]
        try:
            answer = _ask(check, run, ctx, got)
        except Exception as exc:  # the student's value may be anything at all
            answer = (False, f"your output could not be checked ({type(exc).__name__}: {exc})")
        passed, text = answer if isinstance(answer, tuple) else (bool(answer), "")
        if passed:
            return None
        text = text or check.options["describe"] or f"property {check.options['predicate']} fails"
        expected = select(ctx.reference(check, run.calls[0]), check.select)[1]
        found = mismatch(got, expected, 1e-7, 1e-9)
        verdict = value_verdict(check, run, ctx, got, expected, found, 1e-7, 1e-9) if found \
            else Verdict(text, evidence=evidence(run))
        verdict.message = f"{text}" + (f" — {verdict.message}" if verdict.diagnosis else "")
        return verdict

    def author_errors(self, check, runs, ctx):
        from ..checks import select
        from ..values import noun
        from . import raised

        name = check.options["predicate"]
        for run in runs:
            try:
                output = select(ctx.reference(check, run.calls[0]), check.select)[1]
            except Exception:  # the reference itself fails: graded, and named, as such
                continue
            try:
                answer = _ask(check, run, ctx, output)
            except Exception as exc:
                return [("predicate", f"{raised(name, exc)} on the reference's own output, "
                         f"case {run.case.name!r}; a predicate is called as "
                         f"{name}(output, **inputs) and returns True/False or (passed, message)")]
            if not _an_answer(answer):
                return [("predicate", f"`{name}` must return True/False or (passed, message); "
                         f"on the reference's output for case {run.case.name!r} it returned "
                         f"{noun(answer)}")]
        return []


def _an_answer(answer) -> bool:
    booleans = (bool, np.bool_)
    if isinstance(answer, tuple):
        return len(answer) == 2 and isinstance(answer[0], booleans) and \
            isinstance(answer[1], str)
    return isinstance(answer, booleans)


def _ask(check, run, ctx, output):
    """The predicate's answer on `output` for `run`'s case: called with the case's inputs by
    name, and the reference's output as `expected` when it takes that parameter."""
    from ..checks import select

    predicate = ctx.function(check.options["predicate"])
    arguments = copy.deepcopy(run.inputs)
    if "expected" in inspect.signature(predicate).parameters:
        arguments["expected"] = select(ctx.reference(check, run.calls[0]), check.select)[1]
    return predicate(output, **arguments)


KIND = PropertyKind()
