"""Why a check failed, in words: generic diagnoses and the exercise's known mistakes.

Every diagnosis has a stable id (docs/design.md, "Diagnoses") and a message template below.
Exercise-specific mistakes come from the spec: the solution module computes the wrong
answer on the same inputs, and a student output that matches it names the misconception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .compare import Mismatch, as_float_array, same
from .readings import (BETTER, FLOAT32, FLOAT64_ROUNDING, MATCH, distance, has_float32,
                       transforms)
from .values import noun

TEMPLATES = {
    "not-implemented": "`{function}` is not implemented yet (it still raises "
                       "NotImplementedError): fill it in in {file}.",
    "missing-function": "your file has no function `{function}` (renamed or deleted?): "
                        "it must be defined with exactly this name.",
    "returned-none": "`{function}` returned None: is a `return` statement missing?",
    "not-an-array": "`{function}` must return a numpy array of shape {expected_shape}, "
                    "but returned {got_kind}{hint}.",
    "wrong-shape": "`{function}` returned shape {got_shape}, expected {expected_shape}. "
                   "Shape convention: a gradient has the shape of its parameter; a Jacobian "
                   "of f: Rⁿ → Rᵐ is (m, n).",
    "wrong-dtype": "`{function}` returned dtype {got_dtype} where integers are expected (they "
                   "are used as indices): build the array with dtype=int, or `.astype(int)`.",
    "jacobian-form": "the values are right but the shape is {got_shape} instead of "
                     "{expected_shape}: {why}",
    "transposed": "your result is the transpose of the expected one (shape {got_shape}, "
                  "expected {expected_shape}): check the order of the factors and which "
                  "axis is which.",
    "sign-flipped": "your result is the negative of the expected one: a sign is flipped "
                    "somewhere (ŷ − y vs y − ŷ, a dropped minus in −log, ...).",
    "scaled-by-n": "your result is {factor} times the expected one: {how} over the "
                   "{n} examples of the batch?",
    "non-finite": "`{function}` returned {bad} where a finite number was expected: {cause}",
    "float32": "your result is computed in float32: it agrees with the expected one only to "
               "about {digits} significant digits (relative difference {relative:.1g}), as "
               "float32 arithmetic does. Compute in float64: `np.float64`, or "
               "`.astype(np.float64)` (and no `dtype=np.float32`).",
    "float32-far": "your result is in float32 and agrees with the expected one to only {digits} "
                   "significant digits: float32 keeps about 7, and a small step (x + eps) or "
                   "a difference of close numbers loses most of them. Compute in float64: "
                   "`np.float64`, or `.astype(np.float64)` (and no `dtype=np.float32`).",
    "mutated-input": "`{function}` left its input `{arg}` changed; functions must not "
                     "modify their inputs (compute `x - m`, not `x -= m`, work on a copy, and "
                     "put back any entry you perturb). This costs the points of one check; "
                     "the values you return are still checked everywhere else.",
    "restored-by-arithmetic": "`{function}` left its input `{arg}` changed in its last bits: "
                              "`{arg}{index}` came back as {after!r} instead of {before!r}. "
                              "Restored by arithmetic: x + h − 2h + h is not exactly x in "
                              "floating point; save the old value and assign it back "
                              "(`old = {arg}[i]` … `{arg}[i] = old`). This costs the points of "
                              "one check; your values are checked everywhere else.",
    "exception": "`{function}` raised {type}: {message}",
    "borrowed": "(the same wrong numbers as a known mistake of `{source}`, which returns the "
                "same quantity) {message}",
    "input-left-out-zero": "your result is exactly what `{function}` gives with `{arg}` = 0: "
                           "`{arg}` never enters your computation. Where is it added in? "
                           "(A bias, for one, belongs inside the activation: f(Wx + b).)",
    "input-left-out-one": "your result is exactly what `{function}` gives with every entry of "
                          "`{arg}` = 1: the factor `{arg}` is never multiplied in (an upstream "
                          "gradient or a weight left out of the chain rule?).",
    "timeout": "`{function}` did not finish within {seconds:g} s of computing time (or, "
               "waiting, three times that): an endless loop, or far too much work? (the "
               "other functions are still graded)",
    "memory": "`{function}` ran out of memory ({message}): an array far too large?",
    "crashed": "`{function}` stopped the process that runs your code: {detail}. Never "
               "call sys.exit, os._exit or os.kill in a graded function.",
    "misbehaved": "`{function}` scores 0 for this case: {detail}.",
    "grader-error": "the grader itself failed while checking this case ({error}); this is not "
                    "your fault: please report it. The other checks are not affected.",
    "uses-failing-function": "`{function}` calls your `{callee}`, which fails its own checks: "
                             "fix `{callee}` first, then grade again.",
    "callee-not-implemented": "`{function}` fails because `{callee}` is not implemented yet "
                              "(it still raises NotImplementedError): fill in `{callee}` "
                              "first.",
}
#: said of an error reading a file: the sandbox's working folder is empty on purpose (no
#: student may read another's files, nor the course's)
EMPTY_FOLDER = ("Graded code runs in an empty folder, without your other files: put the data "
                "your functions need in the code itself (e.g. `LOGITS = np.array([...])`), and "
                "keep code that reads files under `if __name__ == \"__main__\":` (a notebook's "
                "scratch cells are not run).")
#: what a catalogued mistake became under a generic transform, added to its message
COMPOSED = {
    "scaled": "On top of that, your result is {factor} times what this mistake alone gives: "
              "{how}.",
    "transposed": "On top of that, your result is transposed (shape {got_shape}).",
    "negated": "On top of that, its sign is flipped.",
    "reshaped": "On top of that, your result has shape {got_shape} instead of "
                "{expected_shape}.",
    "float32": "On top of that, it is computed in float32 (it agrees only to about 7 digits): "
               "compute in float64.",
}
COMPOSED_SCALE = {True: "the sum divided by N once too few (a sum where a mean over the {n} "
                        "examples is taken)",
                  False: "divided by N = {n} once too often"}
EXP_OVERFLOW = 709.0  #: exp(x) is inf in float64 beyond this
NON_FINITE_CAUSE = {
    "overflow": "with inputs as large as {largest:g}, exp overflows to inf (above ≈709 in "
                "float64), and inf − inf or inf/inf is NaN: subtract the maximum first. (A "
                "probability that underflows to 0 gives NaN too, in 0 · log 0.)",
    # the inputs are small, but a product of them (a score Wx) may not be: either can be
    "product": "a product of these inputs (a score like Wx) can reach about {largest:.3g}, "
               "and exp overflows to inf above ≈709 (inf − inf or inf/inf is NaN): subtract the "
               "maximum first. If you do, a probability that underflowed to 0 gives it: "
               "0 · log 0 = 0 · (−inf) is NaN, log 0 is −inf; take log-probabilities by "
               "log-sum-exp, never the log of a probability.",
    "nan": "no input, nor a product of two, is large enough to overflow exp, so the NaN most "
           "likely comes from 0 · log 0 = 0 · (−inf) (a probability that underflowed to 0), "
           "0/0 or inf − inf: is a log or a division applied to a value that can be 0?",
    "inf": "no input, nor a product of two, is large enough to overflow exp, so the inf most "
           "likely comes from log(0) = −inf or a division by 0: is a log or a division "
           "applied to a value that can be 0?",
}
JACOBIAN_FORM_WHY = {
    True: "the shape convention says a gradient has the shape of its parameter, so drop "
          "the extra axis (a (1, n) Jacobian row becomes the (n,) gradient).",
    False: "this answer is asked in Jacobian form, with the extra axis: use "
           "reshape(1, -1) or np.atleast_2d.",
}


@dataclass(frozen=True)
class Diagnosis:
    id: str
    message: str
    hint: int | None = None
    #: a catalogued mistake under a generic transform: a weaker reading than a failing
    #: function that the checked one calls (`blame_callees`)
    composed: bool = False


def of_outcome(outcome, function: str, file: str, timeout: float) -> Diagnosis:
    """A call that produced no value: why, from how it ended."""
    exc = outcome.exception or {}
    if outcome.status == "exception" and exc.get("type") == "NotImplementedError":
        callee = _raised_in(exc, function)
        if callee:  # whatever the names' history: the frame that raised says who it was
            return Diagnosis("uses-failing-function", TEMPLATES["callee-not-implemented"].format(
                function=function, callee=callee))
        return Diagnosis("not-implemented", TEMPLATES["not-implemented"].format(
            function=function, file=file))
    if outcome.status == "missing":
        return Diagnosis("missing-function", TEMPLATES["missing-function"].format(function=function))
    if outcome.status == "timeout":
        return Diagnosis("timeout", TEMPLATES["timeout"].format(function=function, seconds=timeout))
    if outcome.status == "memory":
        return Diagnosis("memory", TEMPLATES["memory"].format(
            function=function, message=exc.get("message") or "MemoryError"))
    if outcome.status == "misbehaved":
        return Diagnosis("misbehaved", TEMPLATES["misbehaved"].format(function=function,
                                                                      detail=outcome.detail))
    if outcome.status == "crashed":
        if "timeout" in outcome.detail:
            return Diagnosis("timeout", TEMPLATES["timeout"].format(function=function,
                                                                    seconds=timeout))
        if "memory" in outcome.detail:
            return Diagnosis("memory", TEMPLATES["memory"].format(function=function,
                                                                  message=outcome.detail))
        return Diagnosis("crashed", TEMPLATES["crashed"].format(function=function,
                                                                detail=outcome.detail))
    message = exc.get("message", "")
    text = TEMPLATES["exception"].format(function=function, type=exc.get("type", "an error"),
                                         message=message or "(no message)")
    if reads_a_missing_file(exc):
        text = f"{text.rstrip('.')}. {EMPTY_FOLDER}"
    return Diagnosis("exception", text)


def _raised_in(exc: dict, function: str) -> str | None:
    """The student function (other than `function`) in which the exception was raised: the
    innermost frame of the student's file, when it is a named function of its own."""
    lines = exc.get("lines") or []
    if not lines:
        return None
    innermost = str(lines[-1][1])
    return innermost if innermost != function and innermost.isidentifier() else None


def reads_a_missing_file(exc: dict | None) -> bool:
    """Whether an exception (type, message) says a file was not found."""
    if not exc:
        return False
    if exc.get("type") == "FileNotFoundError":
        return True
    return exc.get("type") in ("OSError", "IOError") and \
        "No such file" in str(exc.get("message", ""))


def functions_called(source: str) -> dict[str, set[str]]:
    """For each top-level function of a student's source, the names its body uses."""
    import ast

    from .reader import parse_bounded

    tree = parse_bounded(source)
    if tree is None:
        return {}
    return {node.name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            for node in tree.body if isinstance(node, ast.FunctionDef)}


def blame_callees(checks, source: str, mistakes) -> None:
    """A failing check of g, where g calls a student function f that fails its own checks,
    is most likely f's fault: say so (unless g's failure is already explained on its own,
    by one of g's own catalogued `mistakes`, or g raised an exception on a line of its own:
    then that error is g's to fix, and is shown as it is)."""
    failing = {c.function for c in checks if not c.passed}
    if not failing:
        return
    own_mistakes: dict[str, set[str]] = {}
    for mistake in mistakes:
        own_mistakes.setdefault(mistake.function, set()).add(mistake.id)
    calls = functions_called(source)
    keep = {"not-implemented", "missing-function", "mutated-input", "uses-failing-function",
            "float32"}  # float32 in a caller is its own to fix, whatever its callees do
    for check in checks:
        if check.passed or check.diagnosis in keep or \
                check.diagnosis in own_mistakes.get(check.function, ()) and not check.composed:
            continue
        callees = sorted((calls.get(check.function, set()) & failing) - {check.function})
        trace = check.evidence.trace if check.evidence else []
        if check.diagnosis == "exception" and trace:
            raised_in = trace[-1][1]  # the innermost frame of the student's own code
            if raised_in == check.function:
                continue  # its own line raised, before any callee could be at fault
            callees = [raised_in] if raised_in in callees else callees
        if callees:
            check.diagnosis, check.hint = "uses-failing-function", None
            check.message = TEMPLATES["uses-failing-function"].format(
                function=check.function, callee=callees[0])


def of_mutation(function: str, changed) -> Diagnosis:
    """`changed`: a `grader.checks.Mutation` (or the argument's name). The id is
    `mutated-input` either way; the message says when only the last bits changed."""
    arg = getattr(changed, "arg", changed)
    if getattr(changed, "index", None) is not None:
        index = "[" + ", ".join(map(str, changed.index)) + "]"
        return Diagnosis("mutated-input", TEMPLATES["restored-by-arithmetic"].format(
            function=function, arg=arg, index=index, before=changed.before,
            after=changed.after))
    return Diagnosis("mutated-input", TEMPLATES["mutated-input"].format(function=function, arg=arg))


def of_exception_mistake(exception: dict | None, mistakes) -> Diagnosis | None:
    """A student exception that a known wrong formula raises too (e.g. no keepdims → broadcast).
    `mistakes`: `Candidate`s or (mistake, thunk) pairs."""
    if not exception:
        return None
    for candidate in as_candidates(mistakes):
        try:
            candidate.produce()
        except Exception as exc:  # the mistake is expected to fail on this case
            if type(exc).__name__ == exception["type"] and str(exc) == exception["message"]:
                return _named(candidate)
    return None


@dataclass
class Candidate:
    """A wrong formula that a student's value may be: a catalogued mistake of the checked
    function (tier 0) or of another function that returns the same quantity (tier 1), or
    the reference computed with an input left out (tier 2, tried after the generic readings).

    `produce()` computes it on the failing case; `knobs`: the values of the mistake's own
    parameters it was computed with (the step it hard-codes, ...), filled into its message.
    `part`: for a mistake of a function whose reference gives a part of the checked one's
    output, that part (its reading is compared with the first difference found, a dict's
    entry, not the whole value). `on_others`: per other case of the function (`of_value`'s
    `others`), a thunk computing it there, or None. `key`: the same reading on every call."""

    mistake: object  #: has `id`, `message` (a template of the knobs), `hint`
    produce: Callable
    knobs: dict = field(default_factory=dict)
    tier: int = 0
    part: object = None
    on_others: list = field(default_factory=list)
    key: object = None


def as_candidates(mistakes) -> list[Candidate]:
    """`Candidate`s, or (mistake, thunk) pairs made candidates of tier 0."""
    return [c if isinstance(c, Candidate) else Candidate(*c) for c in mistakes]


class Borrowed:
    """A catalogued mistake of another function `source` that returns the same quantity:
    the same wrong numbers get the same diagnosis, saying where it comes from."""

    def __init__(self, mistake, source: str):
        self.id, self.hint = mistake.id, mistake.hint
        self.message = TEMPLATES["borrowed"].format(source=source, message=mistake.message)


class Form:
    """Another way of writing a catalogued mistake (a `grader.references.Variant`'s form)."""

    def __init__(self, mistake, description: str):
        self.id, self.hint = mistake.id, mistake.hint
        self.message = f"{mistake.message.rstrip()} (Here: {description}.)"


class LeftOut:
    """The reference computed with the input `arg` set to `value` (0: never added in; 1:
    never multiplied in): the student's code does not use that input."""

    def __init__(self, function: str, arg: str, value: float):
        self.id, self.hint = "input-left-out", None
        self.message = TEMPLATES["input-left-out-" + ("zero" if value == 0 else "one")].format(
            function=function, arg=arg)


@dataclass
class _Match:
    distance: float
    order: tuple
    candidate: Candidate
    value: object  #: the candidate's value (after the transform, when there is one)
    base: object = None  #: before the transform


def of_value(got, expected, found: Mismatch, function: str, mistakes, batch_sizes,
             rtol: float, atol: float, others=(), inputs=None,
             float32_seen: bool = False) -> Diagnosis | None:
    """Why `got` differs from `expected`, or None when nothing explains it.

    `mistakes`: `Candidate`s or (mistake, thunk) pairs; `others`: (got, expected) of the same function on its other
    cases, where a diagnosis must not be contradicted; `inputs`: the case's inputs (to tell
    where a NaN comes from); `float32_seen`: the submission returned float32 somewhere (else
    only these values can show it). The reading that matches best wins, in this order: float32 rounding of the right answer (unless a mistake matches far
    better), a mistake as it is, a generic reading of the expected value (transposed,
    negated, scaled by N, Jacobian form), an input left out, a mistake under a generic
    transform, then what the value is (non-finite, the wrong type)."""
    if got is None:
        return Diagnosis("returned-none", TEMPLATES["returned-none"].format(function=function))
    computed = _computed(as_candidates(mistakes))
    as_is = _best(got, expected, found, [m for m in computed if m.candidate.tier < 2], others)
    float32 = _float32_if_shown(got, expected, as_is, float32_seen or has_float32(got) or any(
        has_float32(g) for g, _ in others))
    if float32:
        return float32
    if as_is:
        return _named(as_is.candidate)
    generic = _generic(got, expected, found, function, batch_sizes, rtol, atol)
    if generic and generic.id != "wrong-shape":  # a shape alone: a mistake may say more
        return generic
    left_out = _best(got, expected, found, [m for m in computed if m.candidate.tier == 2],
                     others)
    if left_out:
        return _named(left_out.candidate)
    composed = _composed(got, expected, found, computed, batch_sizes, others)
    if composed:
        return composed
    if generic:
        return generic
    if has_float32(got) and found.kind == "values":
        # held in float32 and nothing else explains it: float32 lost more digits here
        relative = distance(got, expected)
        return Diagnosis("float32", TEMPLATES["float32-far"].format(
            digits=max(0, int(-np.log10(relative))) if np.isfinite(relative) else 0))
    if found.kind == "non-finite":
        return _non_finite(function, found, inputs)
    return None


def _computed(candidates) -> list[_Match]:
    """Each candidate computed (a formula that does not apply to the case, raising, is left
    out)."""
    computed = []
    for order, candidate in enumerate(candidates):
        try:
            value = candidate.produce()
        except Exception:  # a mistake formula may not apply to this case at all
            continue
        computed.append(_Match(np.inf, (candidate.tier, order), candidate, value))
    return computed


def _best(got, expected, found, computed, others, transform=None) -> _Match | None:
    """The closest of `computed` (each after `transform`, if given) that matches `got`
    better than the right answer does and is not contradicted on the other cases."""
    best = None
    for match in computed:
        target, right = (found.got, found.expected) if _is_part(match) else (got, expected)
        value = match.value if transform is None else transform(match.value, target)
        if value is None:
            continue
        d = distance(target, value)
        if d > MATCH or d * BETTER >= distance(target, right):
            continue
        # a function's own mistakes first; among them the closest (the step that matches)
        if best is not None and (match.order[0], d, match.order) >= \
                (best.order[0], best.distance, best.order):
            continue
        if _contradicted(match, others):
            continue
        best = _Match(d, match.order, match.candidate, value, match.value)
    return best


def _contradicted(match: _Match, others) -> bool:
    """Whether the student's values on the other cases rule the reading out: a NaN where
    it gives none, a finite value where it gives a NaN or inf, or the right answer where it
    gives a wrong one."""
    from .readings import nonfinite_pattern

    for (got, expected), compute in zip(others, match.candidate.on_others):
        if compute is None:
            continue
        try:
            value = compute()
        except Exception:  # does not apply there: nothing to hold against it
            continue
        g, v = nonfinite_pattern(got), nonfinite_pattern(value)
        if g is not None and v is not None and g.shape == v.shape and \
                not np.array_equal(g, v, equal_nan=True):
            return True
        if distance(got, expected) <= MATCH and distance(value, expected) > MATCH * BETTER:
            return True
    return False


def _named(candidate: Candidate) -> Diagnosis:
    mistake = candidate.mistake
    return Diagnosis(mistake.id, fill(mistake.message, candidate.knobs), mistake.hint)


def _is_part(match: _Match) -> bool:
    return match.candidate.part is not None


def float32_reading(got, expected, mistakes, found, others=()) -> Diagnosis | None:
    """The `float32` diagnosis if `got` reads as the right answer computed in float32,
    whether or not the submission shows float32 anywhere (`grader.checks` keeps it for the
    case a later function does)."""
    as_is = _best(got, expected, found,
                  _computed([c for c in as_candidates(mistakes) if c.tier < 2]), others)
    return _float32_if_shown(got, expected, as_is, True)


def _float32_if_shown(got, expected, as_is, shown: bool) -> Diagnosis | None:
    """`float32` when `got` is within `FLOAT32` of the right answer yet beyond float64
    rounding, float32 is `shown` (the values are float32, or the submission's are
    elsewhere: a float64 student off by 1e-7 has another reason), and no mistake matches far
    better (a step hard-coded to 1e-4 is off by as little)."""
    d = distance(got, expected)
    if not (shown and FLOAT64_ROUNDING < d <= FLOAT32):
        return None
    if as_is is not None and as_is.distance * 100 <= d:
        return None
    relative = max(d, np.finfo(np.float32).eps / 2)
    return Diagnosis("float32", TEMPLATES["float32"].format(
        relative=relative, digits=max(1, int(-np.log10(relative)))))


def _composed(got, expected, found, computed, batch_sizes, others) -> Diagnosis | None:
    """A catalogued mistake (tiers 0 and 1) under one generic transform, or computed in
    float32; the message adds what the transform did to it."""
    for name in ("scaled", "transposed", "negated", "reshaped"):
        best = _best(got, expected, found, [m for m in computed if m.candidate.tier < 2],
                     others, lambda value, target, name=name: _transformed(
                         value, target, name, batch_sizes)[1])
        if best:
            target = found.got if _is_part(best) else got
            fields = _transformed(best.base, target, name, batch_sizes)[0]
            return _with_clause(best, name, fields, got, expected)
    for match in (m for m in computed if m.candidate.tier < 2):
        target = found.got if _is_part(match) else got
        d = distance(target, match.value)
        if FLOAT64_ROUNDING < d <= FLOAT32 and has_float32(target) and \
                not _contradicted(match, others):
            return _with_clause(match, "float32", {}, got, expected)
    return None


def _transformed(value, target, name: str, batch_sizes) -> tuple[dict, object]:
    """(fields, value) of the transform `name` of `value` that matches `target`, else
    ({}, None)."""
    for kind, fields, changed in transforms(value, target, batch_sizes):
        if kind == name and distance(target, changed) <= MATCH:
            return fields, changed
    return {}, None


def _with_clause(match: _Match, transform: str, fields: dict, got, expected) -> Diagnosis:
    named = _named(match.candidate)
    shapes = {"got_shape": np.shape(got), "expected_shape": np.shape(expected)}
    factor = fields.get("factor")
    if factor is not None:
        n = fields["n"]
        fields = {**fields, "factor": f"{n}" if factor > 1 else f"1/{n}",
                  "how": COMPOSED_SCALE[factor > 1].format(n=n)}
    clause = COMPOSED[transform].format(**fields, **shapes)
    return Diagnosis(named.id, f"{named.message.rstrip()} {clause}", named.hint, composed=True)


def _generic(got, expected, found, function, batch_sizes, rtol, atol) -> Diagnosis | None:
    """The generic readings of the expected value itself, and what the value is."""
    loose = dict(rtol=max(rtol, 1e-6), atol=max(atol, 1e-9))
    g, e = found.got, found.expected
    if found.kind == "type" and isinstance(e, np.ndarray):
        array = _try_array(g)
        hint = ""
        if array is not None and array.shape == e.shape and same(array, e, **loose):
            hint = " (the values are right: wrap them in np.array)"
        return Diagnosis("not-an-array", TEMPLATES["not-an-array"].format(
            function=function, expected_shape=e.shape, got_kind=noun(g), hint=hint))
    if found.kind == "dtype" and isinstance(g, np.ndarray):
        return Diagnosis("wrong-dtype", TEMPLATES["wrong-dtype"].format(function=function,
                                                                       got_dtype=g.dtype))
    ga, ea = as_float_array(g), as_float_array(e)
    if ga is None or ea is None:
        return None
    if ga.shape != ea.shape:
        if ga.size == ea.size and ga.squeeze().shape == ea.squeeze().shape \
                and same(ga.reshape(ea.shape), ea, **loose):
            why = JACOBIAN_FORM_WHY[ea.ndim < ga.ndim]
            return Diagnosis("jacobian-form", TEMPLATES["jacobian-form"].format(
                got_shape=ga.shape, expected_shape=ea.shape, why=why))
        if ga.ndim == 2 and ga.shape == ea.T.shape and same(ga, ea.T, **loose):
            return _transposed(ga, ea)
        return Diagnosis("wrong-shape", TEMPLATES["wrong-shape"].format(
            function=function, got_shape=ga.shape, expected_shape=ea.shape))
    if found.kind == "non-finite":
        return None  # what gives the NaN is asked of the other readings first
    if ga.ndim == 2 and not same(ea, ea.T, **loose) and same(ga, ea.T, **loose):
        return _transposed(ga, ea)
    if np.any(np.abs(ea) > atol) and same(ga, -ea, **loose):
        return Diagnosis("sign-flipped", TEMPLATES["sign-flipped"])
    for n in sorted({n for n in batch_sizes if n > 1}):
        for factor, how in ((n, "a sum where the mean is asked (or 1/N missing)"),
                            (1 / n, "a mean where the sum is asked (or an extra 1/N)")):
            if np.any(np.abs(ea) > atol) and same(ga, ea * factor, **loose):
                return Diagnosis("scaled-by-n", TEMPLATES["scaled-by-n"].format(
                    factor=f"{factor:g}" if factor >= 1 else f"1/{n}", how=how, n=n))
    return None


def _non_finite(function: str, found: Mismatch, inputs) -> Diagnosis:
    """A NaN or inf that no reading explains, with where it most likely comes from: an
    overflow of exp needs an input beyond ≈709 (then it is said), or a product of inputs
    that can reach it (then either may be: both are said); otherwise a log or a division
    of 0."""
    bad = "NaN" if np.isnan(np.asarray(found.got, dtype=float)).any() else "inf"
    arrays = [a for a in map(_finite_magnitudes, (inputs or {}).values()) if a is not None]
    largest = max((float(np.max(a)) for a in arrays), default=0.0)
    product = _largest_product(arrays)
    if largest > EXP_OVERFLOW:
        cause = NON_FINITE_CAUSE["overflow"].format(largest=largest)
    elif product > EXP_OVERFLOW:
        cause = NON_FINITE_CAUSE["product"].format(largest=product)
    else:
        cause = NON_FINITE_CAUSE["nan" if bad == "NaN" else "inf"]
    return Diagnosis("non-finite", TEMPLATES["non-finite"].format(function=function, bad=bad,
                                                                  cause=cause))


def _finite_magnitudes(value):
    """|value| of a float input, its non-finite entries 0, or None (integers are labels and
    sizes, not magnitudes)."""
    float_array = isinstance(value, np.ndarray) and value.dtype.kind == "f"
    array = _try_array(value) if float_array or isinstance(value, float) else None
    if array is None or not array.size:
        return None
    return np.where(np.isfinite(array), np.abs(array), 0.0)


def _largest_product(arrays) -> float:
    """A bound on the entries of a product of two inputs (W @ x sums n products over an
    axis of length n that both share): max |a| · max |b| · n."""
    largest = 0.0
    for i, a in enumerate(arrays):
        for b in arrays[i + 1:]:
            shared = set(np.shape(a)) & set(np.shape(b)) or {1}
            largest = max(largest, float(np.max(a)) * float(np.max(b)) * max(shared))
    return largest


def fill(template: str, fields: dict) -> str:
    """`template` with each `{name}` or `{name:spec}` whose name is in `fields` replaced
    (other braces are left as they are: a catalogued message is text, not a format)."""
    if not fields:
        return template

    def replace(match):
        name, spec = match.group(1), match.group(2) or ""
        return format(fields[name], spec) if name in fields else match.group(0)

    return re.sub(r"\{(\w+)(?::([^{}]*))?\}", replace, template)


def _transposed(ga, ea):
    return Diagnosis("transposed", TEMPLATES["transposed"].format(
        got_shape=ga.shape, expected_shape=ea.shape))


def _try_array(value):
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array
