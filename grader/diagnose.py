"""Why a check failed, in words: generic diagnoses and the exercise's known mistakes.

Every diagnosis has a stable id (docs/design.md, "Diagnoses") and a message template below.
Exercise-specific mistakes come from the spec: the solution module computes the wrong
answer on the same inputs, and a student output that matches it names the misconception.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compare import Mismatch, as_float_array, same
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
    "non-finite": "`{function}` returned {bad} where a finite number was expected: an "
                  "overflow or 0/0? (exp overflows above ≈709 in float64; log(0) = −inf)",
    "mutated-input": "`{function}` left its input `{arg}` changed; functions must not "
                     "modify their inputs (compute `x - m`, not `x -= m`, work on a copy, and "
                     "put back any entry you perturb).",
    "exception": "`{function}` raised {type}: {message}",
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
    keep = {"not-implemented", "missing-function", "mutated-input", "uses-failing-function"}
    for check in checks:
        if check.passed or check.diagnosis in keep or \
                check.diagnosis in own_mistakes.get(check.function, ()):
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


def of_mutation(function: str, arg: str) -> Diagnosis:
    return Diagnosis("mutated-input", TEMPLATES["mutated-input"].format(function=function, arg=arg))


def of_exception_mistake(exception: dict | None, mistakes) -> Diagnosis | None:
    """A student exception that a known wrong formula raises too (e.g. no keepdims → broadcast)."""
    if not exception:
        return None
    for mistake, produce in mistakes:
        try:
            produce()
        except Exception as exc:  # the mistake is expected to fail on this case
            if type(exc).__name__ == exception["type"] and str(exc) == exception["message"]:
                return Diagnosis(mistake.id, mistake.message, mistake.hint)
    return None


def of_value(got, expected, found: Mismatch, function: str, mistakes, batch_sizes,
             rtol: float, atol: float) -> Diagnosis | None:
    """Why `got` differs from `expected`; `mistakes` pairs each known mistake with a thunk
    computing its (selected) output on the same inputs."""
    if got is None:
        return Diagnosis("returned-none", TEMPLATES["returned-none"].format(function=function))
    loose = dict(rtol=max(rtol, 1e-6), atol=max(atol, 1e-9))
    for mistake, produce in mistakes:
        try:
            wrong = produce()
        except Exception:  # a mistake formula may not apply to this case at all
            continue
        if same(got, wrong, **loose):
            return Diagnosis(mistake.id, mistake.message, mistake.hint)
    if found.kind == "non-finite":
        bad = "NaN" if np.isnan(np.asarray(found.got, dtype=float)).any() else "inf"
        return Diagnosis("non-finite", TEMPLATES["non-finite"].format(function=function, bad=bad))
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


def _transposed(ga, ea):
    return Diagnosis("transposed", TEMPLATES["transposed"].format(
        got_shape=ga.shape, expected_shape=ea.shape))


def _try_array(value):
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array
