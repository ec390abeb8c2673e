"""Kind `train`: the parameters the student's training function returns, evaluated by the
exercise's public `evaluator(params, **case_inputs)`, reach `threshold` on `metric`.

`grade validate` runs the reference's training in the parent too: an evaluator that raises
on the reference's parameters or does not return a number is a spec error at `evaluator`;
a reference below the threshold is named, with the value it reached."""

from __future__ import annotations

import copy

import numpy as np

from . import Kind, Option


class Train(Kind):
    name = "train"
    options = {
        "evaluator": Option(str, doc="the public module's function `NAME(params, **inputs)` "
                            "→ a number", public=True),
        "threshold": Option(float, doc="the least value of the metric that passes"),
        "metric": Option(str, "score", "what the evaluator measures, named for the student"),
    }

    def judge(self, check, run, ctx, outputs):
        from ..checks import Verdict, evidence  # here: see "imported" in grader.kinds

        evaluator = ctx.function(check.options["evaluator"])
        metric_name, threshold = check.options["metric"], check.options["threshold"]
        try:
            metric = float(evaluator(outputs[0], **copy.deepcopy(run.inputs)))
        except Exception as exc:  # malformed parameters from the student
            return Verdict(f"the returned parameters could not be evaluated "
                           f"({type(exc).__name__}: {exc})", evidence=evidence(run))
        if np.isfinite(metric) and metric >= threshold:
            return None
        return Verdict(f"after training, {metric_name} is {metric:.3f}; at least {threshold:g} "
                       "is needed. Check your gradients first (the other checks), then the "
                       "update step and the loop.", evidence=evidence(run))

    def author_errors(self, check, runs, ctx):
        from . import raised

        name = check.options["evaluator"]
        for run in runs:
            try:
                metric = self._reference_metric(check, run, ctx)
            except _ReferenceFailed:  # the reference itself fails: graded, and named, as such
                continue
            except Exception as exc:
                return [("evaluator", f"{raised(name, exc)} on the parameters the reference "
                         f"returns for case {run.case.name!r}")]
            if isinstance(metric, bool) or not isinstance(metric, (int, float, np.number)) \
                    or np.ndim(metric) != 0:
                from ..values import noun
                return [("evaluator", f"`{name}` must return a number (the "
                         f"{check.options['metric']}); on the reference's parameters for case "
                         f"{run.case.name!r} it returned {noun(metric)}")]
        return []

    def explain_reference(self, check, run, ctx):
        metric = float(self._reference_metric(check, run, ctx))
        return (f"after training, its {check.options['metric']} is {metric:.3f}, below the "
                f"threshold {check.options['threshold']:g}: lower the threshold, or train "
                "longer (the case's epochs, its learning rate)")

    def _reference_metric(self, check, run, ctx):
        """The evaluator's value of the reference's parameters (trained once per case)."""
        from ..checks import select

        try:
            params = select(ctx.reference(check, run.calls[0]), check.select)[1]
        except Exception as exc:
            raise _ReferenceFailed from exc
        evaluator = ctx.function(check.options["evaluator"])
        return evaluator(params, **copy.deepcopy(run.inputs))


class _ReferenceFailed(Exception):
    """The reference's training raised: not the evaluator's fault."""


    def reference_values(self, check, runs, ctx):
        pass  # the evaluator is public: no reference value is used


KIND = Train()
