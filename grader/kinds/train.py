"""Kind `train`: the parameters the student's training function returns, evaluated by the
exercise's public `evaluator(params, **case_inputs)`, reach `threshold` on `metric`."""

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


    def reference_values(self, check, runs, ctx):
        pass  # the evaluator is public: no reference value is used


KIND = Train()
