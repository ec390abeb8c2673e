"""Check kinds, keyed by the spec's `kind`: compare, gradcheck, property, train.

A kind looks at one case of one check (the part of the student's output that the check
selects) and returns None (passed) or a `Verdict`. A check
passes when every one of its cases passes; it scores all its points or none.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass

import numpy as np

from . import diagnose
from .cases import summarize
from .compare import as_float_array, mismatch, relative_error
from .results import CheckResult, Evidence
from .spec import Case, Check


@dataclass
class CaseRun:
    """One case of one check: its inputs and what the student's call produced."""

    case: Case
    inputs: dict
    args: tuple
    arg_names: tuple
    call_index: int  #: which of the run's calls this case is
    outcome: object = None  #: its sandbox.CallOutcome, once the run is back


@dataclass
class Verdict:
    message: str
    diagnosis: str | None = None
    hint: int | None = None
    evidence: Evidence | None = None


class Context:
    """What the kinds share while grading one exercise: spec, solution, caches."""

    def __init__(self, spec, solution, file: str, default_timeout: float, skip_reasons: dict,
                 cache: dict | None = None):
        self.spec, self.solution, self.file = spec, solution, file
        self.default_timeout = default_timeout
        self.skip_reasons = skip_reasons  #: function → the outcome that made it skip cases
        # references and finite differences depend on the cases only: shared by every
        # student graded with the same spec and seed
        self._cache = {} if cache is None else cache
        self._mutated: dict = {}

    def reference(self, check: Check, run: CaseRun):
        name = check.options.get("reference") or check.function
        key = ("reference", name, run.case.name)
        if key not in self._cache:
            self._cache[key] = getattr(self.solution, name)(*copy.deepcopy(run.args))
        return self._cache[key]

    def numeric_gradient(self, check: Check, run: CaseRun):
        key = ("numeric", check.options["of"], check.options["wrt"], check.options["eps"],
               run.case.name)
        if key not in self._cache:
            self._cache[key] = _central_differences(
                getattr(self.solution, check.options["of"]), run.inputs,
                check.options["wrt"], check.options["eps"])
        return self._cache[key]

    def mistakes(self, check: Check, run: CaseRun):
        """(mistake, thunk) pairs; the thunk computes the mistake's selected output."""
        pairs = []
        for mistake in self.spec.mistakes:
            if mistake.function == check.function:
                wrong = getattr(self.solution, mistake.solution_attr)
                pairs.append((mistake, lambda wrong=wrong: select(
                    wrong(*copy.deepcopy(run.args)), check.select)[1]))
        return pairs

    def mutated_arg(self, run: CaseRun) -> str | None:
        """The first input array the call left changed (checked once per call)."""
        key = id(run.outcome)
        if key not in self._mutated:
            pairs = zip(run.arg_names, run.args, run.outcome.args_after or [])
            self._mutated[key] = next((name for name, before, after in pairs
                                       if _is_data(before) and not _unchanged(before, after)), None)
        return self._mutated[key]

    def timeout(self, check: Check) -> float:
        return check.timeout or self.default_timeout


def run_check(check: Check, runs: list[CaseRun], ctx: Context) -> CheckResult:
    kind = KINDS[check.kind]
    failures = []
    for run in runs:
        try:
            verdict = _call_problem(check, run, ctx) or _judge(kind, check, run, ctx)
        except Exception as exc:  # a bug of ours (or a value we did not foresee): this check only
            verdict = _grader_error(check, run, exc)
        if verdict:
            failures.append((run, verdict))
    result = CheckResult(check.name, check.function, check.kind, not failures,
                         0.0 if failures else check.points, check.points,
                         total_cases=len(runs))
    if failures:
        run, verdict = failures[0]
        result.message = f"case '{run.case.name}': {verdict.message}"
        result.diagnosis, result.hint = verdict.diagnosis, verdict.hint
        result.evidence = verdict.evidence or _evidence(run)
        result.failed_cases = [r.case.name for r, _ in failures]
    return result


def _grader_error(check, run, exc) -> Verdict:
    import logging
    logging.getLogger("gradewise").error("check %r, case %r: the grader failed", check.name,
                                         run.case.name, exc_info=exc)
    error = f"{type(exc).__name__}: {exc}"[:300]
    return Verdict(diagnose.TEMPLATES["grader-error"].format(error=error), "grader-error",
                   evidence=_evidence(run))


def _judge(kind, check, run, ctx) -> Verdict | None:
    """The kind's verdict on the part of the output the check selects."""
    ok, got, problem = select(run.outcome.value, check.select)
    if not ok:
        return Verdict(problem, "wrong-shape", evidence=_evidence(run))
    return kind(check, run, ctx, got)


def _call_problem(check, run, ctx) -> Verdict | None:
    outcome = run.outcome
    if outcome.status == "skipped":
        outcome = ctx.skip_reasons.get(check.function, outcome)
        if outcome.status == "skipped":
            return Verdict(outcome.detail or "not run: an earlier call stopped the process",
                           "crashed")
    if outcome.status != "ok":
        found = diagnose.of_exception_mistake(outcome.exception, ctx.mistakes(check, run)) \
            if outcome.status == "exception" else None
        found = found or diagnose.of_outcome(outcome, check.function, ctx.file, ctx.timeout(check))
        evidence = _evidence(run)
        evidence.trace = (outcome.exception or {}).get("lines", [])
        return Verdict(found.message, found.id, found.hint, evidence)
    name = ctx.mutated_arg(run)
    if name:
        found = diagnose.of_mutation(check.function, name)
        return Verdict(found.message, found.id, None, _evidence(run))
    return None


# -- kinds ------------------------------------------------------------------------------------

def compare(check, run, ctx, got) -> Verdict | None:
    expected = select(ctx.reference(check, run), check.select)[1]
    rtol, atol = check.options["rtol"], check.options["atol"]
    found = mismatch(got, expected, rtol, atol)
    return _value_verdict(check, run, ctx, got, expected, found, rtol, atol) if found else None


def gradcheck(check, run, ctx, got) -> Verdict | None:
    numeric = ctx.numeric_gradient(check, run)
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
                          f"{check.options['threshold']:g}): ∂ differs from finite differences")
    verdict = _value_verdict(check, run, ctx, got, numeric, found, 1e-5, 1e-7)
    if verdict.evidence:
        verdict.evidence.expected_label = "finite diff."
        verdict.evidence.relative_error = found.worst_error if found.kind == "values" else None
    return verdict


def property_check(check, run, ctx, got) -> Verdict | None:
    predicate = getattr(ctx.solution, check.options["predicate"])
    try:
        answer = predicate(got, **copy.deepcopy(run.inputs))
    except Exception as exc:  # the student's value may be anything at all
        answer = (False, f"your output could not be checked ({type(exc).__name__}: {exc})")
    passed, text = answer if isinstance(answer, tuple) else (bool(answer), "")
    if passed:
        return None
    text = text or check.options["describe"] or f"property {check.options['predicate']} fails"
    expected = select(ctx.reference(check, run), check.select)[1]
    found = mismatch(got, expected, 1e-7, 1e-9)
    verdict = _value_verdict(check, run, ctx, got, expected, found, 1e-7, 1e-9) if found \
        else Verdict(text, evidence=_evidence(run))
    verdict.message = f"{text}" + (f" — {verdict.message}" if verdict.diagnosis else "")
    return verdict


def train(check, run, ctx, got) -> Verdict | None:
    evaluator = getattr(ctx.solution, check.options["evaluator"])
    metric_name, threshold = check.options["metric"], check.options["threshold"]
    try:
        metric = float(evaluator(got, **copy.deepcopy(run.inputs)))
    except Exception as exc:  # malformed parameters from the student
        return Verdict(f"the returned parameters could not be evaluated "
                       f"({type(exc).__name__}: {exc})", evidence=_evidence(run))
    if np.isfinite(metric) and metric >= threshold:
        return None
    return Verdict(f"after training, {metric_name} is {metric:.3f}; at least {threshold:g} is "
                   "needed. Check your gradients first (the other checks), then the update "
                   "step and the loop.", evidence=_evidence(run))


KINDS = {"compare": compare, "gradcheck": gradcheck, "property": property_check, "train": train}


# -- helpers ----------------------------------------------------------------------------------

def select(value, path) -> tuple[bool, object, str]:
    """(ok, the part of `value` at `path`, the problem when it is not there)."""
    for step in path:
        if isinstance(step, int) and isinstance(value, (tuple, list)) and -len(value) <= step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            if isinstance(step, str) and isinstance(value, dict):
                return False, None, (f"expected a dict with key {step!r}; yours has keys "
                                     f"{sorted(map(str, value))}")
            want = f"a tuple/list with item {step}" if isinstance(step, int) else f"a dict with key {step!r}"
            return False, None, f"expected {want}, got {type(value).__name__}"
    return True, value, ""


def _value_verdict(check, run, ctx, got, expected, found, rtol, atol) -> Verdict:
    batch = _batch_sizes(run)
    found_d = diagnose.of_value(got, expected, found, check.function, ctx.mistakes(check, run),
                                batch, rtol, atol)
    where = f"in {check.function}(…){found.path}: " if found.path else ""
    message = where + (found_d.message if found_d else found.text)
    evidence = _evidence(run)
    evidence.expected, evidence.got, evidence.worst_index = found.expected, found.got, found.worst_index
    return Verdict(message, found_d.id if found_d else None, found_d.hint if found_d else None,
                   evidence)


def _evidence(run) -> Evidence:
    inputs = [(name, summarize(value)) for name, value in run.inputs.items()]
    return Evidence(run.case.name, run.case.note, inputs)


def _batch_sizes(run) -> set:
    sizes = {v for v in run.case.dims.values() if isinstance(v, int)}
    sizes |= {v.shape[0] for v in run.inputs.values() if isinstance(v, np.ndarray) and v.ndim >= 2}
    return sizes


def _is_data(value) -> bool:
    return isinstance(value, (np.ndarray, list, dict))


def _unchanged(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return isinstance(after, np.ndarray) and after.shape == before.shape and \
            np.array_equal(after, before, equal_nan=before.dtype.kind in "fc")
    if isinstance(before, dict):
        return isinstance(after, dict) and set(after) == set(before) and \
            all(_unchanged(before[k], after[k]) for k in before)
    if isinstance(before, list):
        return isinstance(after, list) and len(after) == len(before) and \
            all(_unchanged(b, a) for b, a in zip(before, after))
    return True


def _central_differences(func, inputs: dict, wrt: str, eps: float):
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
