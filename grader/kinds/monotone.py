"""Kind `monotone`: raising an input moves the output one way only (σ, ReLU, tanh are
increasing; softmax's largest probability rises with its own score).

Two calls per case: f(x) with the case's inputs, and f(x′) with the input named by `input`
raised, x′ ≥ x entry by entry. The step of each raised entry is drawn in [0.1, 1] (1, 2 or 3
for an integer input) by a generator seeded with x's bytes, so x′ is the same whenever x
is, and changes with x under another seed. The part of the output the check `select`s must have the shape of x.
With `direction: increasing`, each compared entry must not go down,
f(x′)ᵢ ≥ f(x)ᵢ − `atol` − a few units in the last place of f (rounding); with
`decreasing`, not up. Which entries are raised and compared (`entries`):

- `every` (default): every entry of x, each output entry compared with itself, as for a
  function applied elementwise;
- `largest`: in each row (last axis) of x only its largest entry (the first, on a tie), and
  only the output entry at its position: "raising the top score does not lower its
  probability" for softmax, whose other entries go down.

A wrong direction is found on the student's outputs alone; the message names the entry
("raising z[2] from −0.31 to 0.42 must not lower the output, but yours went from 0.58 to
0.4"). Then, as for `property`, the student's outputs are compared with the reference's, so
that a catalogued mistake that explains them is named (σ(−z): `wrong-sign-in-exponent`).
`grade validate` flags a case whose reference output does not move when x is raised: such a
case cannot tell an increasing function from a decreasing one. A monotone check does not check values:
pair it with a `compare` check (a constant function is monotone).
"""

from __future__ import annotations

import random

import numpy as np

from ..errors import GradewiseError
from . import CaseCall, Kind, Option

STEP = (0.1, 1.0)  #: range of the step of a raised float entry
INTEGER_STEP = (1, 3)
ROUNDING_ULPS = 8  #: how far an output may move the wrong way besides `atol`, in its ulps
MESSAGE = ("`{function}` is {direction} in {input}{scope}: raising {input}{at} from {x} to {x2} "
           "must not {move} the output{there}, but yours went from {y} to {y2}")
NOT_MOVING = ("on case {case!r} the reference's output{there} does not move when {input} is "
              "raised, so the case cannot tell an increasing function from a decreasing one: "
              "choose inputs where it does (not saturated, not flat)")
WRONG_SHAPE = ("on case {case!r} the reference's output has shape {got}, not the shape {want} "
               "of {input}: `select` the part of the output that follows {input} entry by entry")


class Monotone(Kind):
    name = "monotone"
    calls_per_case = 2  # f(x), f(x')
    options = {
        "input": Option(str, doc="the input raised: a number or a numeric array",
                        parameter=True),
        "direction": Option(str, "increasing", "whether the output may only go up when the "
                            "input is raised, or only down", ("increasing", "decreasing")),
        "entries": Option(str, "every", "which entries of the input are raised and of the "
                          "output compared: all, or each row's largest", ("every", "largest")),
        "atol": Option(float, 1e-12, "how far an output entry may move the wrong way (besides "
                       "a few units in its last place, always allowed)"),
    }

    def calls(self, check, case, inputs):
        name, entries = check.options["input"], check.options["entries"]
        x = inputs.get(name)
        array = _numeric(x)
        if array is None:
            from ..cases import summarize

            raise GradewiseError(f"check {check.name!r} (kind monotone) raises the input "
                                 f"{name!r}, but case {case.name!r} has {summarize(x)} there: "
                                 "a number or a numeric array is needed")
        low, high = INTEGER_STEP if array.dtype.kind in "iu" else STEP
        which = "each entry" if entries == "every" else "each row's largest entry"
        note = f"called with {name} raised: {which} by {low:g} to {high:g}"
        return [CaseCall(inputs),
                CaseCall({**inputs, name: _raised(x, entries)}, (self.name, name, entries), note)]

    def judge(self, check, run, ctx, outputs):
        from ..compare import as_float_array  # here: see "imported" in grader.kinds

        name, atol = check.options["input"], check.options["atol"]
        x, x2 = (_numeric(call.inputs[name]) for call in run.calls)
        before, after = (as_float_array(output) for output in outputs)
        if before is None or after is None or before.shape != x.shape or after.shape != x.shape:
            return self._against_reference(check, run, ctx, outputs, None)  # says what it is
        sign = 1.0 if check.options["direction"] == "increasing" else -1.0
        with np.errstate(invalid="ignore"):
            moved = np.where(after == before, 0.0, sign * (after - before))  # inf to inf: 0
            moved[np.isnan(moved)] = -np.inf  # NaN: as wrong as can be
            # a few units in the last place of the outputs are rounding, whatever `atol` says
            ulps = ROUNDING_ULPS * np.finfo(np.float64).eps * np.nan_to_num(
                np.maximum(np.abs(before), np.abs(after)), nan=0.0, posinf=0.0)
        wrong = (x2 > x) & (moved < -(atol + ulps))
        if not wrong.any():
            return None
        worst = np.unravel_index(int(np.argmin(np.where(wrong, moved, np.inf))), x.shape)
        at = f"[{', '.join(str(int(i)) for i in worst)}]" if x.ndim else ""
        text = MESSAGE.format(
            function=check.function, direction=check.options["direction"], input=name,
            scope=" (each row's largest entry)" if check.options["entries"] == "largest" else "",
            at=at, **dict(zip(("x", "x2"), _distinct(x[worst], x2[worst]))),
            move="lower" if sign > 0 else "raise", there=" there" if x.ndim else "",
            **dict(zip(("y", "y2"), _distinct(before[worst], after[worst]))))
        return self._against_reference(check, run, ctx, outputs, text,
                                       tuple(int(i) for i in worst))

    def _against_reference(self, check, run, ctx, outputs, text, worst=None):
        """The verdict once the property failed (`text`) or could not be judged (None): the
        first output that differs from the reference's, diagnosed, else `text` alone."""
        from ..cases import summarize
        from ..checks import Verdict, evidence, select, value_verdict
        from ..compare import mismatch

        verdict = None
        for call, got in zip(run.calls, outputs):
            expected = select(ctx.reference(check, call), check.select)[1]
            found = mismatch(got, expected, 1e-7, 1e-9)
            if found:
                verdict = value_verdict(check, run, ctx, got, expected, found, 1e-7, 1e-9, call)
                if call is not run.calls[0]:
                    verdict.evidence.expected_label = f"expected at {check.options['input']}′"
                break
        if verdict is None:
            verdict = Verdict(text or "the output does not follow the input entry by entry",
                              evidence=evidence(run))
        elif text:
            verdict.message = text + (f" — {verdict.message}" if verdict.diagnosis else "")
        shown, name = verdict.evidence, check.options["input"]
        shown.note = run.case.note  # the case, with x and x′ side by side
        shown.inputs = [(n, summarize(v)) for n, v in run.inputs.items()]
        shown.inputs.append((f"{name}′", summarize(run.calls[1].inputs[name])))
        if worst is not None:  # the entry the message names, in f(x) and f(x′) alike
            shown.worst_index = worst
        return verdict

    def sanity(self, check, runs, ctx):
        from ..checks import select
        from ..compare import as_float_array

        name, atol = check.options["input"], check.options["atol"]
        sign = 1.0 if check.options["direction"] == "increasing" else -1.0
        there = " at each row's largest entry" if check.options["entries"] == "largest" else ""
        problems = []
        for run in runs:
            x, x2 = (_numeric(call.inputs[name]) for call in run.calls)
            before, after = (as_float_array(select(ctx.reference(check, call), check.select)[1])
                             for call in run.calls)
            if before is None or before.shape != x.shape:
                problems.append(WRONG_SHAPE.format(
                    case=run.case.name, got=getattr(before, "shape", type(before).__name__),
                    want=x.shape, input=name))
            elif not np.any((x2 > x) & (sign * (after - before) > atol)):
                problems.append(NOT_MOVING.format(case=run.case.name, there=there, input=name))
        return problems

    def explain_reference(self, check, run, ctx):
        from ..checks import select
        from ..compare import as_float_array

        name = check.options["input"]
        x, x2 = (_numeric(call.inputs[name]) for call in run.calls)
        before, after = (as_float_array(select(ctx.reference(check, call), check.select)[1])
                         for call in run.calls)
        if before is None or after is None or before.shape != x.shape:
            return None  # `sanity` says it: the output does not follow the input
        sign = 1.0 if check.options["direction"] == "increasing" else -1.0
        moved = np.where((x2 > x) & np.isfinite(after - before), sign * (after - before), np.inf)
        worst = np.unravel_index(int(np.argmin(moved)), x.shape)
        at = f"[{', '.join(str(int(i)) for i in worst)}]" if x.ndim else ""
        x_shown, x2_shown = _distinct(x[worst], x2[worst])
        y_shown, y2_shown = _distinct(before[worst], after[worst])
        return (f"raising {name}{at} from {x_shown} to {x2_shown} moves its output from "
                f"{y_shown} to {y2_shown}, so it is not {check.options['direction']} in {name}: "
                "either the function or the check's `direction` (or `entries`) is wrong")


def _numeric(value):
    """`value` as an int or float array, or None (a string, a bool, a test function...)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    array = np.asarray(value) if isinstance(value, (int, float, np.ndarray)) else None
    return array if array is not None and array.dtype.kind in "iuf" else None


def _raised(x, entries: str):
    """x with the entries `entries` names raised, each by a step drawn from x's own bytes;
    of x's type (a Python number stays one, an array keeps its dtype)."""
    array = _numeric(x)
    rng = random.Random(b"%s:%s:%s" % (entries.encode(), str(array.shape).encode(),
                                       np.ascontiguousarray(array).tobytes()))
    if entries == "every" or array.ndim == 0:
        chosen = np.ones(array.shape, dtype=bool)
    else:
        chosen = np.zeros(array.shape, dtype=bool)
        np.put_along_axis(chosen, np.argmax(array, axis=-1)[..., None], True, axis=-1)
    integer = array.dtype.kind in "iu"
    steps = [rng.randint(*INTEGER_STEP) if integer else rng.uniform(*STEP)
             for _ in range(array.size)]
    raised = array + np.where(chosen, np.reshape(steps, array.shape), 0).astype(array.dtype)
    return raised if isinstance(x, np.ndarray) else raised.item()


def _distinct(a, b) -> tuple[str, str]:
    """a and b with 4 significant digits, or as many more as it takes to tell them apart
    (10000 raised by 0.5 is not "1e+04 to 1e+04")."""
    for digits in range(4, 18):
        shown = f"{float(a):.{digits}g}", f"{float(b):.{digits}g}"
        if shown[0] != shown[1]:
            break
    return shown


KIND = Monotone()
