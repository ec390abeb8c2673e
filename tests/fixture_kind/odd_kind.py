"""A check kind defined outside gradewise, for tests: kind `odd`, f(−x) = −f(x).

Two calls per case (f(x), f(−x)), an option of its own, a sanity rule: the whole protocol,
written only against gradewise's public pieces (grader.kinds, grader.checks). As
grader.kinds asks, what judging needs is imported in the methods.
"""

from grader.kinds import CaseCall, Kind, Option


class Odd(Kind):
    name = "odd"
    options = {
        "input": Option(str, doc="the input negated", parameter=True),
        "atol": Option(float, 1e-9, "tolerance of f(−x) + f(x)"),
    }

    def calls(self, check, case, inputs):
        name = check.options["input"]
        return [CaseCall(inputs),
                CaseCall({**inputs, name: -inputs[name]}, ("negated", name),
                         f"called with −{name}")]

    def judge(self, check, run, ctx, outputs):
        from grader.checks import Verdict, evidence
        from grader.compare import as_float_array, mismatch

        plus, minus = outputs
        found = mismatch(minus, -as_float_array(plus), 0.0, check.options["atol"])
        if found is None:
            return None
        return Verdict(f"`{check.function}` must be odd in {check.options['input']}: "
                       f"f(−x) should be −f(x) ({found.text})", "not-odd",
                       evidence=evidence(run))

    def sanity(self, check, runs, ctx):
        from grader.compare import as_float_array

        if all(not as_float_array(ctx.reference(check, run.calls[0])).any() for run in runs):
            return ["the reference is 0 on every case, so any odd function passes"]
        return []


KIND = Odd()
