"""Kind `gradcheck`: the student's gradient vs central finite differences of the reference's
scalar function `of`, with respect to the input `wrt`.

Relative error |a − b| / max(1e-8, |a| + |b|) per entry, at most `threshold`; an entry within
`atol` of the finite difference passes whatever its relative error. The failure shows the
worst entry, its index and its relative error. `grade validate` flags a check whose true
gradient is zero on every case: a function returning zeros would pass it; and, as a spec
error at `of` or `wrt`, an `of` that does not return a number on a case's inputs (an array,
say), raises, or takes an input the case does not have, and a `wrt` that is not a numeric
input of the case.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from . import Kind, Option


class GradCheck(Kind):
    name = "gradcheck"
    options = {
        "of": Option(str, doc="the solution's scalar function, called with the case's inputs "
                     "by name", solution=True),
        "wrt": Option(str, doc="the input the gradient is taken with respect to"),
        "eps": Option(float, 1e-6, "step of the central differences"),
        "threshold": Option(float, 1e-6, "largest relative error that passes"),
        "atol": Option(float, 1e-7, "an entry this close to the finite difference passes"),
    }

    def judge(self, check, run, ctx, outputs):
        from ..checks import value_verdict  # here: see "imported" in grader.kinds
        from ..compare import as_float_array, mismatch, relative_error

        got = outputs[0]
        numeric = self.numeric_gradient(check, run, ctx)
        # structure first; a finite atol, since numpy ≥ 2.4 makes inf·0 tolerances NaN (a
        # finite-difference entry of exactly 0 would then "differ")
        found = mismatch(got, numeric, rtol=0.0, atol=np.finfo(np.float64).max)
        if found is None:
            a, b = as_float_array(got), numeric
            if not np.all(np.isfinite(a)):
                found = mismatch(got, numeric, 0, 0)
            else:
                error = np.where(np.abs(a - b) <= check.options["atol"], 0.0, relative_error(a, b))
                worst = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
                worst = tuple(int(i) for i in worst)
                if error[worst] <= check.options["threshold"]:
                    return None
                found = mismatch(got, numeric, 0, check.options["atol"])
                found.worst_index, found.worst_error = worst, float(error[worst])
                found.text = (f"relative error {error[worst]:.3g} at index {worst} (threshold "
                              f"{check.options['threshold']:g}): ∂ differs from finite "
                              "differences")
        verdict = value_verdict(check, run, ctx, got, numeric, found, 1e-5, 1e-7)
        if verdict.evidence:
            verdict.evidence.expected_label = "finite diff."
            verdict.evidence.relative_error = found.worst_error if found.kind == "values" else None
        return verdict

    def reference_values(self, check, runs, ctx):
        for run in runs:  # the finite differences; never the reference's own output
            self.numeric_gradient(check, run, ctx)

    def sanity(self, check, runs, ctx):
        gradients = [self.numeric_gradient(check, run, ctx) for run in runs]
        if all(np.all(np.abs(g) <= check.options["atol"]) for g in gradients):
            return ["the true gradient is zero on every case, so a function returning zeros "
                    "would pass"]
        return []

    def author_errors(self, check, runs, ctx):
        from ..values import noun

        of, wrt = check.options["of"], check.options["wrt"]
        function = ctx.references.solution_function(of)
        parameters = inspect.signature(function).parameters
        needed = [name for name, p in parameters.items() if p.default is p.empty
                  and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        for run in runs:
            case, inputs = run.case.name, run.inputs
            if wrt not in inputs:
                return [("wrt", f"case {case!r} has no input {wrt!r}; the gradient is taken "
                         f"with respect to one of its inputs: {', '.join(inputs)}")]
            if not _numeric(inputs[wrt]):
                return [("wrt", f"the input {wrt!r} of case {case!r} is {noun(inputs[wrt])}: "
                         "a gradient needs numbers")]
            missing = [name for name in needed if name not in inputs]
            if missing:
                return [("of", f"`{of}` takes {missing[0]!r}, which case {case!r} does not "
                         "have: it is called with the case's inputs, by name")]
            try:
                value = function(**{n: copy.deepcopy(inputs[n]) for n in parameters
                                    if n in inputs})
            except Exception as exc:
                from . import raised
                return [("of", f"{raised(of, exc)} on case {case!r}")]
            if not _numeric(value) or np.ndim(value) != 0:
                return [("of", f"`{of}` must return a number, the scalar whose gradient is "
                         f"checked; on case {case!r} it returned {noun(value)}")]
        return []

    def explain_reference(self, check, run, ctx):
        from ..checks import select
        from ..compare import as_float_array, relative_error
        from ..values import noun

        of, wrt = check.options["of"], check.options["wrt"]
        got = select(ctx.reference(check, run.calls[0]), check.select)[1]
        numeric, array = self.numeric_gradient(check, run, ctx), as_float_array(got)
        if array is None or array.shape != numeric.shape:
            return (f"it returns {noun(got)}, but the gradient of `{of}` with respect to {wrt} "
                    f"has the shape of {wrt}, {numeric.shape}")
        error = np.where(np.abs(array - numeric) <= check.options["atol"], 0.0,
                         relative_error(array, numeric))
        worst = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
        at = f" at index {tuple(int(i) for i in worst)}" if worst else ""
        return (f"its gradient{at} is {float(array[worst]):.6g}, finite differences of `{of}` "
                f"with respect to {wrt} give {float(numeric[worst]):.6g} (relative error "
                f"{float(error[worst]):.3g}, threshold {check.options['threshold']:g}): either "
                f"the gradient or `{of}` is wrong")

    def numeric_gradient(self, check, run, ctx):
        of, wrt, eps = (check.options[key] for key in ("of", "wrt", "eps"))
        return ctx.cached(("numeric", of, wrt, eps, run.case.name),
                          lambda: ctx.references.finite_differences(of, wrt, eps, run))


def central_differences(func, inputs: dict, wrt: str, eps: float):
    """∂func/∂inputs[wrt] by central differences, in float64, of the shape of inputs[wrt];
    `func` is called with the inputs it takes, by name, and must return a number."""
    names = list(inspect.signature(func).parameters)
    kwargs = {n: copy.deepcopy(inputs[n]) for n in names if n in inputs}
    x = np.array(kwargs[wrt], dtype=np.float64)
    kwargs[wrt] = x
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = float(func(**kwargs))
        flat[i] = old - eps
        minus = float(func(**kwargs))
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def _numeric(value) -> bool:
    """A number or an array of numbers (booleans are not)."""
    if isinstance(value, (bool, np.bool_)):
        return False
    try:
        return np.asarray(value).dtype.kind in "iuf"
    except (TypeError, ValueError):  # a ragged list, an object numpy cannot hold
        return False


KIND = GradCheck()
