"""Kind `property`: a named predicate of the exercise's public module holds of the
student's output.

`predicate(output, **case_inputs)` returns True/False or (passed, why not); `describe` is the
message when it gives no reason. A predicate that needs the right answer takes a parameter
named `expected`: it is given the reference's output on the case (the part the check
selects), so that the predicate holds no reference code and a student release can carry it.
When the property fails and the output also differs from the reference, the difference is
diagnosed as `compare` would (a catalogued mistake, ...).
"""

from __future__ import annotations

import copy
import inspect

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
        predicate = ctx.function(check.options["predicate"])
        arguments = copy.deepcopy(run.inputs)
        if "expected" in inspect.signature(predicate).parameters:
            arguments["expected"] = select(ctx.reference(check, run.calls[0]), check.select)[1]
        try:
            answer = predicate(got, **arguments)
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


KIND = PropertyKind()
