"""Grading one exercise: cases → isolated calls → checks → an `ExerciseResult`.

The `Grader` forks its sandbox when it is created, before any reference solution is
loaded: create it first, then grade as many exercises as needed, then close it.
"""

from __future__ import annotations

from .cases import DEFAULT_SEED, build_inputs, call_args
from .checks import CaseRun, Context, run_check
from .diagnose import blame_callees
from .results import CheckResult, ExerciseResult
from .sandbox import Call, Limits, Sandbox
from .spec import Spec

MODULE_ERRORS = {
    "syntax": "your file does not parse: {type}{at_line}: {message}. Fix it and grade again.",
    "exception": "your file raised {type} while it was loaded (line {line}): {message}. Code at "
                 "the top level of the file runs first; fix it or move it into a function.",
    "timeout": "your file's top-level code ran for more than {seconds:g} s, so no function could "
               "be graded: move demos and experiments under `if __name__ == \"__main__\":`.",
    "crashed": "your file's top-level code stopped the process ({detail}), so no function could "
               "be graded.",
    "misbehaved": "your file's top-level code misbehaved: {detail}. No function could be graded.",
}


class Grader:
    def __init__(self, course, seed: int = DEFAULT_SEED, limits: Limits | None = None,
                 hide=()):
        # first: forked while no solution is in memory; `hide`: more folders the student's
        # code must not see (submissions, output), besides every copy of the course
        self.sandbox = Sandbox(limits, hide=(*course.private_places(), *hide))
        self.course, self.seed = course, seed
        self.limits = self.sandbox.limits
        self._solutions: dict = {}
        self._memo: dict = {}  #: (spec path, seed) → inputs, references, finite differences

    def close(self):
        self.sandbox.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def solution(self, spec: Spec):
        if spec.path not in self._solutions:
            module = self.course.solution(spec)
            check_solution(spec, module)
            self._solutions[spec.path] = module
        return self._solutions[spec.path]

    def grade_source(self, spec: Spec, source: str, filename: str, shown_as: str = "") -> ExerciseResult:
        """Grade student code `source`; tracebacks name `filename`, messages `shown_as`."""
        solution = self.solution(spec)
        shown_as = shown_as or filename
        calls, runs = self._plan(spec, solution)
        outcome = self.sandbox.run(source, filename, calls)
        result = ExerciseResult(spec.number, spec.slug, spec.title, 0.0, spec.points,
                                file=shown_as, output=outcome.output,
                                output_dropped=outcome.output_dropped)
        if outcome.module_status != "ok":
            result.error, result.error_lines = _module_error(outcome, self.limits)
            result.checks = [_not_graded(check) for check in spec.checks]
            return result
        skip_reasons = {}
        for call, call_outcome in zip(calls, outcome.calls):
            if call_outcome.status in ("timeout", "crashed", "memory"):
                skip_reasons.setdefault(call.function, call_outcome)
        ctx = Context(spec, solution, shown_as, self.limits.call_timeout, skip_reasons,
                      self._memo.setdefault((spec.path, self.seed), {}))
        for check, check_runs in runs:
            for run in check_runs:
                run.outcome = outcome.calls[run.call_index]
            result.checks.append(run_check(check, check_runs, ctx))
        blame_callees(result.checks, source, spec.mistakes)
        result.score = sum(c.score for c in result.checks)
        return result

    def _plan(self, spec, solution):
        """The calls to make (one per function and case) and, per check, its case runs."""
        calls, index, runs = [], {}, []
        # keyed by the seed too: Gradescope's hidden pass sets `seed` on the same Grader
        inputs_of = self._memo.setdefault((spec.path, self.seed), {}).setdefault("inputs", {})
        for check in spec.checks:
            function = spec.function(check.function)
            timeout = check.timeout or self.limits.call_timeout
            check_runs = []
            for case in spec.cases_for(check):
                if case.name not in inputs_of:
                    inputs_of[case.name] = build_inputs(spec, case, self.seed, solution)
                inputs = inputs_of[case.name]
                args = call_args(function, inputs)
                key = (check.function, case.name)
                if key not in index:
                    index[key] = len(calls)
                    calls.append(Call(check.function, args, timeout))
                elif calls[index[key]].timeout < timeout:
                    calls[index[key]] = Call(check.function, args, timeout)
                check_runs.append(CaseRun(case, inputs, args, function.params[:len(args)],
                                          index[key]))
            runs.append((check, check_runs))
        return calls, runs


def check_solution(spec: Spec, module) -> None:
    """Every name the spec asks of the solution module exists there (else a SpecError)."""
    wanted = [(("functions", i, "name"), f.name) for i, f in enumerate(spec.functions)]
    wanted += [(("cases", i, "generate"), c.generate) for i, c in enumerate(spec.cases) if c.generate]
    for i, check in enumerate(spec.checks):
        for key in ("reference", "of", "predicate", "evaluator"):
            if check.options.get(key):
                wanted.append((("checks", i, key), check.options[key]))
    wanted += [(("mistakes", i, "id"), m.solution_attr) for i, m in enumerate(spec.mistakes)]
    for path, name in wanted:
        if not callable(getattr(module, name, None)):
            raise spec.error(path, f"the solution module solutions/{spec.solution} has no "
                             f"function {name!r}")


def _module_error(outcome, limits: Limits):
    status = outcome.module_status if outcome.module_status in MODULE_ERRORS else "crashed"
    exc = outcome.module_exception or {}
    lines = exc.get("lines") or []
    line = lines[-1][0] if lines else "?"
    text = MODULE_ERRORS[status].format(type=exc.get("type", ""), line=line,
                                        at_line=f" at line {line}" if lines else "",
                                        message=exc.get("message", ""),
                                        seconds=limits.import_timeout,
                                        detail=outcome.module_detail or "it ended early")
    return text, [(number, code) for number, _, code in lines]


def _not_graded(check) -> CheckResult:
    return CheckResult(check.name, check.function, check.kind, False, 0.0, check.points,
                       message="not graded: the file could not be loaded")
