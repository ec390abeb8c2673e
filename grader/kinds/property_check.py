"""Kind `property`: a named predicate of the solution module holds of the student's output.

`predicate(output, **case_inputs)` returns True/False or (passed, why not); `describe` is the
message when it gives no reason. When the property fails and the output also differs from
the reference, the difference is diagnosed as `compare` would (a catalogued mistake, ...).
A predicate may raise on a student's output (the check then fails, saying so); one that
raises on the reference's own output, or returns anything else than those two forms, is a
spec error at `predicate` (`grade validate`).
"""

from __future__ import annotations

import copy

import numpy as np

from . import Kind, Option


class PropertyKind(Kind):
    name = "property"
    options = {
        "predicate": Option(str, doc="the solution's function `NAME(output, **inputs)` → bool "
                            "or (bool, why not)", solution=True),
        "describe": Option(str, "", "the message when the predicate gives no reason"),
    }

    def judge(self, check, run, ctx, outputs):
        from ..checks import Verdict, evidence, select, value_verdict  # see grader.kinds
        from ..compare import mismatch

        got = outputs[0]
        predicate = getattr(ctx.solution, check.options["predicate"])
        try:
            answer = predicate(got, **copy.deepcopy(run.inputs))
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
        predicate = getattr(ctx.solution, name)
        for run in runs:
            try:
                output = select(ctx.reference(check, run.calls[0]), check.select)[1]
            except Exception:  # the reference itself fails: graded, and named, as such
                continue
            try:
                answer = predicate(output, **copy.deepcopy(run.inputs))
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


KIND = PropertyKind()
