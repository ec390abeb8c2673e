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

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import diagnose, kinds
from .cases import build_inputs, call_args
from .results import CheckResult, Evidence
from .spec import Case, Check, Spec
from .values import describe

#: a changed input whose every entry moved by at most this many units in its last place was
#: put back by arithmetic (x + h − 2h + h), not left perturbed
LAST_BITS_ULPS = 4
MAX_OTHER_CALLS = 24  #: other calls of a function a diagnosis is held against


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
class Mutation:
    """An input a call left changed: its name and, when only its last bits changed (an entry
    put back by arithmetic), the first such entry's index, value before and after."""

    arg: str
    index: tuple | None = None
    before: float | None = None
    after: float | None = None


@dataclass
class Verdict:
    message: str
    diagnosis: str | None = None
    hint: int | None = None
    evidence: Evidence | None = None
    composed: bool = False  #: see `diagnose.Diagnosis.composed`
    #: the diagnosis to give instead, should the submission turn out to compute in float32
    if_float32: object = None


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
        #: function → the check that an input left changed costs (the first one that saw it)
        self.charged_mutation: dict[str, str] = {}
        #: (function, reference) → its calls seen so far (by call key): a diagnosis must not
        #: be contradicted by what the student's function did on its other cases
        self.calls_seen: dict[tuple, dict] = {}
        self._calls_memo: dict = {}
        #: some function of the submission returned float32 values (seen so far)
        self.float32_seen = False
        #: (result, case, float32 diagnosis) of failed checks judged before float32 was seen
        self.float32_pending: list = []

    def cached(self, key: tuple, compute):
        """`compute()`, once per key for every student graded with this spec and seed: the
        key must hold everything the value depends on besides the spec and the seed."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def reference(self, check: Check, call: CallRun):
        """The reference output of `call` (the solution's function named by the check's
        `reference` option, else the checked function's own name)."""
        name = _reference_name(check)
        return self.cached(("reference", name, call.key),
                           lambda: self.references.output(name, call))

    def mistakes(self, check: Check, call: CallRun) -> list:
        """The catalogued mistakes of the checked function on `call`: a `diagnose.Candidate`
        for each of their variants (grader.references), computing the part of the output
        the check selects."""
        return self._mistakes_of(check.function, call, check.select)

    def function(self, name: str):
        """A public function of the exercise (a predicate, an evaluator), by name."""
        return self.references.function(name)

    def readings(self, check: Check, call: CallRun) -> list:
        """Every wrong formula a failing output of `call` may be, as `diagnose.Candidate`s:
        the checked function's own mistakes (`mistakes`); the mistakes of every other
        function with the same parameters (tier 1; `part` when that function's reference
        gives only a part of this one's output); the reference with a numeric input set to
        0 or to 1 (tier 2). A release's key holds the value of each (grader.keys), and the
        reference output of `call`, so that a diagnosis reads the same from it."""
        key = ("readings", check.name, call.key)
        if key not in self._calls_memo:
            try:
                expected = select(self.reference(check, call), check.select)[1]
            except Exception:  # the reference does not apply: nothing else to compare with
                expected = None
            self._calls_memo[key] = self.mistakes(check, call) + \
                self._borrowed(check, call, expected) + self._left_out(check, call)
        return self._calls_memo[key]

    def candidates(self, check: Check, call: CallRun, found) -> list:
        """`readings` of `call` that may explain the mismatch `found`, each with what it
        gives on the function's other calls (`others`, where it must not be contradicted). A
        reading that is a part of the output applies only where the mismatch is that part."""
        from .compare import same

        others = [{c.key: c.produce for c in self.readings(check, other)}
                  for other in self._other_calls(check, call)]
        return [dataclasses.replace(c, on_others=[None if c.part is not None else
                                                  there.get(c.key) for there in others])
                for c in self.readings(check, call)
                if c.part is None or found.path and same(c.part, found.expected, 1e-12, 0.0)]

    def others(self, check: Check, call: CallRun) -> list:
        """(got, expected) of the check's selection on the function's other calls seen so far
        (this check's cases and those of the function's earlier checks)."""
        return [(select(other.outcome.value, check.select)[1],
                 select(self.reference(check, other), check.select)[1])
                for other in self._other_calls(check, call)]

    def _other_calls(self, check: Check, call: CallRun) -> list:
        key = ("others", check.name, call.key)
        if key not in self._calls_memo:
            keep, seen = [], self.calls_seen.get((check.function, _reference_name(check)), {})
            for other in seen.values():
                if other.key == call.key or other.outcome is None or \
                        other.outcome.status != "ok" or not select(other.outcome.value,
                                                                   check.select)[0]:
                    continue
                try:
                    self.reference(check, other)
                except Exception:  # a reference that does not apply to that call's inputs
                    continue
                keep.append(other)
            self._calls_memo[key] = keep[:MAX_OTHER_CALLS]
        return self._calls_memo[key]

    def _variants(self, mistake) -> list:
        return self.cached(("variants", mistake.id), lambda: self.references.variants(mistake))

    def _computing(self, key: tuple, call: CallRun, path, compute):
        """A thunk: the part at `path` of `compute(call)`, computed once per `key` and call
        for every student graded with this spec and seed."""
        return lambda: select(self.cached((*key, call.key), lambda: compute(call)), path)[1]

    def _borrowed(self, check: Check, call: CallRun, expected) -> list:
        from .compare import same

        params = self.spec.function(check.function).params
        borrowed = []
        for name in dict.fromkeys(m.function for m in self.spec.mistakes):
            if expected is None or name == check.function or \
                    self.spec.function(name).params != params:
                continue
            try:
                theirs = self.cached(("reference", name, call.key),
                                     lambda name=name: self.references.output(name, call))
            except Exception:  # their reference does not apply to these inputs
                continue
            part = None if same(theirs, expected, 1e-12, 0.0) else theirs
            borrowed += [dataclasses.replace(c, mistake=diagnose.Borrowed(c.mistake, name),
                                             tier=1, part=part)
                         for c in self._mistakes_of(name, call, ())]
        return borrowed

    def _mistakes_of(self, function: str, call: CallRun, path) -> list:
        return [diagnose.Candidate(_named(variant), self._computing(
                    ("mistake", variant.id), call, path,
                    lambda at, variant=variant: self.references.mistake(variant, at)),
                    dict(variant.knobs), key=variant.id)
                for mistake in self.spec.mistakes if mistake.function == function
                for variant in self._variants(mistake)]

    def _left_out(self, check: Check, call: CallRun) -> list:
        name = _reference_name(check)
        found = []
        for arg, value in zip(call.arg_names, call.args):
            array = _float_input(value)
            for neutral in (0.0, 1.0):
                if array is None or np.all(array == neutral):
                    continue
                without = dataclasses.replace(
                    call, key=(*call.key, ("left out", arg, neutral)),
                    args=tuple(_filled(v, neutral) if a == arg else v
                               for a, v in zip(call.arg_names, call.args)))
                found.append(diagnose.Candidate(
                    diagnose.LeftOut(check.function, arg, neutral),
                    self._computing(("reference", name), without, check.select,
                                    lambda at: self.references.output(name, at)),
                    tier=2, key=("left out", arg, neutral)))
        return found

    def mutated_arg(self, call: CallRun) -> Mutation | None:
        """The first input the call left changed, and how (checked once per call)."""
        key = id(call.outcome)
        if key not in self._mutated:
            pairs = zip(call.arg_names, call.args, call.outcome.args_after or [])
            self._mutated[key] = next((Mutation(name, *_last_bits(before, after))
                                       for name, before, after in pairs
                                       if _is_data(before) and not _unchanged(before, after)),
                                      None)
        return self._mutated[key]

    def timeout(self, check: Check) -> float:
        return check.timeout or self.default_timeout


def run_check(check: Check, runs: list[CaseRun], ctx: Context) -> CheckResult:
    kind = kinds.get(check.kind)
    failures = []
    seen = ctx.calls_seen.setdefault((check.function, _reference_name(check)), {})
    for run in runs:  # a diagnosis must hold on every case, not only the first that fails
        for call in run.calls:
            seen.setdefault(call.key, call)
    _look_for_float32(runs, ctx)
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
        result.composed = verdict.composed
        if verdict.if_float32 is not None:
            ctx.float32_pending.append((result, run.case.name, verdict.if_float32))
        result.evidence = verdict.evidence or evidence(run)
        result.failed_cases = [r.case.name for r, _ in failures]
    return result


def _look_for_float32(runs, ctx) -> None:
    """Float32 seen in an output of these runs makes the checks judged before it that read
    as float32 say so (`float32_pending`): the report does not depend on the checks' order."""
    from .readings import has_float32

    if ctx.float32_seen or not any(call.outcome is not None and call.outcome.status == "ok"
                                   and has_float32(call.outcome.value)
                                   for run in runs for call in run.calls):
        return
    ctx.float32_seen = True
    for result, case, found in ctx.float32_pending:
        result.diagnosis, result.hint, result.composed = found.id, found.hint, False
        result.message = f"case '{case}': {found.message}"
    ctx.float32_pending.clear()


def _grader_error(check, run, exc) -> Verdict:
    import logging
    logging.getLogger("gradewise").error("check %r, case %r: the grader failed", check.name,
                                         run.case.name, exc_info=exc)
    error = f"{type(exc).__name__}: {exc}"[:300]
    return Verdict(diagnose.TEMPLATES["grader-error"].format(error=error), "grader-error",
                   evidence=evidence(run))


def _judge(kind, check, run, ctx) -> Verdict | None:
    """The kind's verdict on the part of each call's output that the check selects. A value
    the student's process could not send back (`sandbox.Unsupported`: an object, a generator)
    is reported here, for every kind, by what it was: no kind has to handle it."""
    from .compare import holds_unsupported, mismatch

    outputs = []
    for call in run.calls:
        ok, got, problem = select(call.outcome.value, check.select)
        if not ok:
            return Verdict(problem, "wrong-shape", evidence=evidence(run, call))
        if holds_unsupported(got):
            expected = select(ctx.reference(check, call), check.select)[1]
            found = mismatch(got, expected, 0.0, 0.0)
            if found is not None:
                return value_verdict(check, run, ctx, got, expected, found, 0.0, 0.0, call)
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
    changed = ctx.mutated_arg(call)
    # Fair credit: an input left changed costs the function the points of one check (the
    # first that sees it); its other checks judge the values it returned, as for any function
    if changed and ctx.charged_mutation.setdefault(check.function, check.name) == check.name:
        found = diagnose.of_mutation(check.function, changed)
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
    candidates, others = ctx.candidates(check, call, found), ctx.others(check, call)
    found_d = diagnose.of_value(got, expected, found, check.function, candidates, batch, rtol,
                                atol, others, call.inputs, ctx.float32_seen)
    where = f"in {check.function}(…){found.path}: " if found.path else ""
    message = where + (found_d.message if found_d else found.text)
    shown = evidence(run, call)
    shown.expected, shown.got, shown.worst_index = found.expected, found.got, found.worst_index
    verdict = Verdict(message, found_d.id if found_d else None,
                      found_d.hint if found_d else None, shown, bool(found_d and found_d.composed))
    if not ctx.float32_seen and (found_d is None or found_d.id != "float32"):
        verdict.if_float32 = diagnose.float32_reading(got, expected, candidates, found, others)
    return verdict


def evidence(run, call=None) -> Evidence:
    """The case as the student sees it: its name, its note and the inputs of `call` (default:
    the case's own inputs), with the call's note."""
    inputs = run.inputs if call is None else call.inputs
    note = "; ".join(filter(None, (run.case.note, call.note if call else "")))
    return Evidence(run.case.name, note,
                    [(name, describe(value)) for name, value in inputs.items()])


def _batch_sizes(run) -> set:
    sizes = {v for v in run.case.dims.values() if isinstance(v, int)}
    sizes |= {v.shape[0] for v in run.inputs.values() if isinstance(v, np.ndarray) and v.ndim >= 2}
    return sizes


def _reference_name(check: Check) -> str:
    """The reference function giving the expected output of `check`."""
    return check.options.get("reference") or check.function


def _named(variant):
    """What a diagnosis by `variant` (grader.references) says: its mistake's id, message and
    hint, and how the form differs when it is another form."""
    return diagnose.Form(variant.mistake, variant.description) if variant.form else \
        variant.mistake


def _float_input(value):
    """A float input (a number or a float array) as an array, else None."""
    if isinstance(value, float):
        return np.asarray(value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size:
        return value
    return None


def _filled(value, neutral: float):
    return np.full_like(value, neutral) if isinstance(value, np.ndarray) else neutral


def _is_data(value) -> bool:
    return isinstance(value, (np.ndarray, list, dict))


def _last_bits(before, after) -> tuple:
    """(index, before, after) of the first changed entry when `after` differs from the float
    array `before` only by rounding (each entry within a few units in its last place, as
    x + h − 2h + h leaves it), else ()."""
    if not (isinstance(before, np.ndarray) and isinstance(after, np.ndarray)
            and before.dtype.kind == "f" and after.shape == before.shape
            and np.all(np.isfinite(before)) and np.all(np.isfinite(after))):
        return ()
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ulps = np.abs(after.astype(np.float64) - before) / \
            np.spacing(np.abs(before).astype(before.dtype))
    if not np.all(ulps <= LAST_BITS_ULPS):
        return ()
    index = tuple(int(i) for i in np.argwhere(after != before)[0])
    return index, float(before[index]), float(after[index])


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
