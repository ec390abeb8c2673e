"""Running the checks of one exercise: each case's calls → its kind's verdict → a result.

The kinds themselves (compare, gradcheck, property, train, monotone) live in `grader.kinds`,
one module each. A case needs one call of the checked function or more (its kind says which:
`Kind.calls`); `_plan` in grader.grading makes each distinct call once. Whatever the kind, a
call that raised, timed out, crashed or changed its inputs fails the case here, with the
same diagnosis; otherwise the kind judges the part of each output that the check selects and
returns None (passed) or a `Verdict`. A check passes when every one of its cases passes; it
scores all its points or none.

What a kind may use besides: `Context` (the reference outputs, the catalogued mistakes, the
exercise's public functions, a cache), `select`, `value_verdict` (a wrong value with its
diagnosis and evidence) and `evidence`. The context gets reference values from a reference
source (grader.references): the solution module, or a student release's key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import diagnose, kinds
from .cases import build_inputs, call_args, summarize
from .results import CheckResult, Evidence
from .spec import Case, Check, Spec


@dataclass
class CallRun:
    """One call a case needs (a kind's `CaseCall`, bound to the checked function) and what
    it gave back."""

    key: tuple  #: (case name, the CaseCall's key): the same key, the same inputs
    inputs: dict
    args: tuple
    arg_names: tuple
    note: str = ""  #: the CaseCall's note
    index: int = -1  #: which of the run's calls this is (set by the plan)
    outcome: object = None  #: its sandbox.CallOutcome, once the run is back


@dataclass
class CaseRun:
    """One case of one check: its inputs and the calls it needs, in the kind's order."""

    case: Case
    inputs: dict  #: the case's own inputs
    calls: list


def case_runs(spec: Spec, check: Check, seed: int, references, built: dict) -> list[CaseRun]:
    """The runs of `check`, one per case, each with the calls its kind asks for. A case's
    inputs are built once for the seed into `built` (case name → inputs), shared by the
    checks, with the public generators of `references` (grader.references). Call indices
    are left to the plan."""
    kind = kinds.get(check.kind)
    function = spec.function(check.function)
    runs = []
    for case in spec.cases_for(check):
        if case.name not in built:
            built[case.name] = build_inputs(spec, case, seed, references)
        inputs = built[case.name]
        calls = []
        for planned in kind.calls(check, case, inputs):
            args = call_args(function, planned.inputs)
            calls.append(CallRun((case.name, planned.key), planned.inputs, args,
                                 function.params[:len(args)], planned.note))
        runs.append(CaseRun(case, inputs, calls))
    return runs


@dataclass
class Verdict:
    message: str
    diagnosis: str | None = None
    hint: int | None = None
    evidence: Evidence | None = None


class Context:
    """What the kinds share while grading one exercise: spec, reference source
    (grader.references), caches."""

    def __init__(self, spec, references, file: str, default_timeout: float, skip_reasons: dict,
                 cache: dict | None = None):
        self.spec, self.references, self.file = spec, references, file
        self.default_timeout = default_timeout
        self.skip_reasons = skip_reasons  #: function → the outcome that made it skip cases
        # references and finite differences depend on the cases only: shared by every
        # student graded with the same spec and seed
        self._cache = {} if cache is None else cache
        self._mutated: dict = {}

    def cached(self, key: tuple, compute):
        """`compute()`, once per key for every student graded with this spec and seed: the
        key must hold everything the value depends on besides the spec and the seed."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def reference(self, check: Check, call: CallRun):
        """The reference output of `call` (the solution's function named by the check's
        `reference` option, else the checked function's own name)."""
        name = check.options.get("reference") or check.function
        return self.cached(("reference", name, call.key),
                           lambda: self.references.output(name, call))

    def mistakes(self, check: Check, call: CallRun):
        """(mistake, thunk) pairs; the thunk computes the mistake's selected output."""
        pairs = []
        for mistake in self.spec.mistakes:
            if mistake.function == check.function:
                pairs.append((mistake, lambda mistake=mistake: select(
                    self.references.mistake(mistake, call), check.select)[1]))
        return pairs

    def function(self, name: str):
        """A public function of the exercise (a predicate, an evaluator), by name."""
        return self.references.function(name)

    def mutated_arg(self, call: CallRun) -> str | None:
        """The first input array the call left changed (checked once per call)."""
        key = id(call.outcome)
        if key not in self._mutated:
            pairs = zip(call.arg_names, call.args, call.outcome.args_after or [])
            self._mutated[key] = next((name for name, before, after in pairs
                                       if _is_data(before) and not _unchanged(before, after)), None)
        return self._mutated[key]

    def timeout(self, check: Check) -> float:
        return check.timeout or self.default_timeout


def run_check(check: Check, runs: list[CaseRun], ctx: Context) -> CheckResult:
    kind = kinds.get(check.kind)
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
        result.evidence = verdict.evidence or evidence(run)
        result.failed_cases = [r.case.name for r, _ in failures]
    return result


def _grader_error(check, run, exc) -> Verdict:
    import logging
    logging.getLogger("gradewise").error("check %r, case %r: the grader failed", check.name,
                                         run.case.name, exc_info=exc)
    error = f"{type(exc).__name__}: {exc}"[:300]
    return Verdict(diagnose.TEMPLATES["grader-error"].format(error=error), "grader-error",
                   evidence=evidence(run))


def _judge(kind, check, run, ctx) -> Verdict | None:
    """The kind's verdict on the part of each call's output that the check selects."""
    outputs = []
    for call in run.calls:
        ok, got, problem = select(call.outcome.value, check.select)
        if not ok:
            return Verdict(problem, "wrong-shape", evidence=evidence(run, call))
        outputs.append(got)
    return kind.judge(check, run, ctx, outputs)


def _call_problem(check, run, ctx) -> Verdict | None:
    """The first call of the case that gave no value to judge, or changed its inputs."""
    for call in run.calls:
        verdict = _one_call_problem(check, run, call, ctx)
        if verdict:
            return verdict
    return None


def _one_call_problem(check, run, call, ctx) -> Verdict | None:
    outcome = call.outcome
    if outcome.status == "skipped":
        outcome = ctx.skip_reasons.get(check.function, outcome)
        if outcome.status == "skipped":
            return Verdict(outcome.detail or "not run: an earlier call stopped the process",
                           "crashed")
    if outcome.status != "ok":
        found = diagnose.of_exception_mistake(outcome.exception, ctx.mistakes(check, call)) \
            if outcome.status == "exception" else None
        found = found or diagnose.of_outcome(outcome, check.function, ctx.file, ctx.timeout(check))
        shown = evidence(run, call)
        shown.trace = (outcome.exception or {}).get("lines", [])
        return Verdict(found.message, found.id, found.hint, shown)
    name = ctx.mutated_arg(call)
    if name:
        found = diagnose.of_mutation(check.function, name)
        return Verdict(found.message, found.id, None, evidence(run, call))
    return None


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


def value_verdict(check, run, ctx, got, expected, found, rtol, atol, call=None) -> Verdict:
    """A wrong value `got` of `call` (default: the case's first), where `expected` was
    expected and `found` (grader.compare.mismatch) says how they differ: diagnosed (a
    catalogued mistake, a transpose, ...), with the evidence."""
    call = call or run.calls[0]
    batch = _batch_sizes(run)
    found_d = diagnose.of_value(got, expected, found, check.function, ctx.mistakes(check, call),
                                batch, rtol, atol)
    where = f"in {check.function}(…){found.path}: " if found.path else ""
    message = where + (found_d.message if found_d else found.text)
    shown = evidence(run, call)
    shown.expected, shown.got, shown.worst_index = found.expected, found.got, found.worst_index
    return Verdict(message, found_d.id if found_d else None, found_d.hint if found_d else None,
                   shown)


def evidence(run, call=None) -> Evidence:
    """The case as the student sees it: its name, its note and the inputs of `call` (default:
    the case's own inputs), with the call's note."""
    inputs = run.inputs if call is None else call.inputs
    note = "; ".join(filter(None, (run.case.note, call.note if call else "")))
    return Evidence(run.case.name, note,
                    [(name, summarize(value)) for name, value in inputs.items()])


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
