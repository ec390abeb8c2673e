"""Kind `compare`: the student's output equals the reference's on the same inputs.

Type, length, keys, shape, dtype, finiteness, then the values within `rtol`/`atol`
(`numpy.isclose`); a mismatch is diagnosed (a catalogued mistake, transposed, scaled by N, ...).
"""

from __future__ import annotations

from . import Kind, Option


class Compare(Kind):
    name = "compare"
    options = {
        "rtol": Option(float, 1e-7, "relative tolerance of the values"),
        "atol": Option(float, 1e-9, "absolute tolerance of the values"),
        "reference": Option(str, "", "the solution function giving the expected output "
                            "(default: the one named like the checked function)", solution=True),
    }

    def judge(self, check, run, ctx, outputs):
        from ..checks import select, value_verdict  # here: see "imported" in grader.kinds
        from ..compare import mismatch

        got = outputs[0]
        expected = select(ctx.reference(check, run.calls[0]), check.select)[1]
        rtol, atol = check.options["rtol"], check.options["atol"]
        found = mismatch(got, expected, rtol, atol)
        return value_verdict(check, run, ctx, got, expected, found, rtol, atol) if found else None


KIND = Compare()
