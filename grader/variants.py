"""Seeded variants of a case: its `vary` steps, applied under a seed other than the public one.

A literal case (the ±1e4 logits, a tie, a saturated unit) is the same for every seed unless
its spec says how it varies; without a variant, a submission holding a table of the public
cases' answers would keep their points under `grade gradescope --hidden-seed`. Each step
(`grader.spec.Variation`) draws from Python's `random` seeded by the seed and the case
(importing numpy.random costs more than grading a small exercise) and, unless it says
`each`, changes every input it names with one draw: ties stay ties, pairs stay pairs.
"""

from __future__ import annotations

import math
import random

import numpy as np

from .spec import VARY_KINDS, Case, Spec, Variation

SHUFFLE_TRIES = 20  #: shuffles drawn at most until one changes the inputs


def vary_inputs(spec: Spec, case: Case, inputs: dict, seed: int) -> dict:
    """`inputs` with the case's `vary` steps applied (a new dict; `inputs` is not changed).

    Raises SpecError (with the spec's file and line) when a step does not fit an input that
    only the generator made (literal inputs were checked when the spec was read)."""
    rng = random.Random(f"{seed}:{spec.number}:{case.name}:vary")
    inputs = dict(inputs)
    index = spec.cases.index(case)
    for j, step in enumerate(case.vary):
        path = ("cases", index, "vary", j)
        missing = [n for n in step.inputs + step.labels if n not in inputs]
        if missing:
            raise spec.error(path, f"case {case.name!r} has no input {missing[0]!r}")
        kinds, kind_name = VARY_KINDS.get(step.op, ("fi", "numeric"))
        for name in step.inputs:
            value = inputs[name]
            if isinstance(value, (list, dict)) or _kind(value) not in kinds:
                what = type(value).__name__ if isinstance(value, (list, dict)) else _dtype(value)
                raise spec.error(path, f"case {case.name!r}: {step.op} needs {kind_name} "
                                 f"inputs; {name!r} is {what}")
        try:
            inputs.update(STEPS[step.op](step, {n: inputs[n] for n in step.inputs}, inputs, rng))
        except _Misfit as exc:
            raise spec.error(path, f"case {case.name!r}: {exc}") from None
    return inputs


class _Misfit(Exception):
    """A step that does not fit the inputs it is given."""


def _permute(step: Variation, named: dict, inputs: dict, rng) -> dict:
    arrays = {n: np.asarray(v) for n, v in named.items()}
    lengths = {a.shape[step.arg] if -a.ndim <= step.arg < a.ndim else None for a in arrays.values()}
    if len(lengths) != 1 or None in lengths:
        raise _Misfit(f"permute {step.arg}: the inputs need one length along that axis")
    length = lengths.pop()
    movable = [i for i in range(length) if i not in step.keep and i - length not in step.keep]
    for _ in range(SHUFFLE_TRIES):  # a shuffle that leaves every input as it was is no variant
        order = list(range(length))
        for position, value in zip(movable, rng.sample(movable, len(movable))):
            order[position] = value
        out = {n: _like(named[n], np.take(a, order, axis=step.arg)) for n, a in arrays.items()}
        if any(not np.array_equal(out[n], arrays[n]) for n in arrays):
            break
    new_position = np.argsort(order)  # an entry at position order[i] moved to i
    for name in step.labels:
        out[name] = _map_integers(out.get(name, inputs[name]), new_position, length)
    return out


def _scale(step, named, inputs, rng):
    return _combine(step, named, lambda: _uniform(rng, *step.arg), np.multiply)


def _shift(step, named, inputs, rng):
    integral = [n for n, v in named.items() if _kind(v) == "i"]
    if integral and not all(float(v).is_integer() for v in step.arg):
        raise _Misfit(f"shift {list(step.arg)}: {integral[0]!r} holds integers, so the bounds "
                      "must be integers")
    if integral:
        return _combine(step, named, lambda: rng.randint(*map(int, step.arg)), np.add)
    return _combine(step, named, lambda: _uniform(rng, *step.arg), np.add)


def _sign(step, named, inputs, rng):
    # + 0 turns the −0.0 of a flipped zero into 0.0: a student reading the case sees 0
    return _combine(step, named, lambda: rng.choice((-1, 1)), lambda v, s: np.multiply(v, s) + 0)


def _normalize(step, named, inputs, rng):
    out = {}
    for name, value in named.items():
        array = np.asarray(value, dtype=np.float64)
        out[name] = _like(value, array / array.sum(axis=step.arg, keepdims=True))
    return out


def _relabel(step, named, inputs, rng):
    values = sorted({int(v) for value in named.values() for v in _integers(value)} - set(step.keep))
    free = [v for v in range(*step.arg) if v not in step.keep]
    if len(free) < len(values):
        raise _Misfit(f"relabel {list(step.arg)}: {len(values)} distinct values, but only "
                      f"{len(free)} labels to give them")
    table = dict(zip(values, rng.sample(free, len(values))))
    table.update((k, k) for k in step.keep)
    return {name: _map_integers(value, table, None) for name, value in named.items()}


STEPS = {"permute": _permute, "scale": _scale, "shift": _shift, "sign": _sign,
         "normalize": _normalize, "relabel": _relabel}


# -- helpers ----------------------------------------------------------------------------------

def _combine(step, named, draw, operation) -> dict:
    """Apply `operation(value, draw)`: one draw for all, or one per entry with `each`."""
    drawn = None if step.each else draw()
    out = {}
    for name, value in named.items():
        if step.each:
            drawn = np.reshape([draw() for _ in range(np.size(value))], np.shape(value))
        out[name] = _like(value, _tidy(np.asarray(operation(value, drawn)).astype(_dtype(value))))
    return out


def _tidy(array):
    """Floats to 12 significant digits: 1 + (−0.2131) reads 0.7869, not 0.7868999999999999."""
    if array.dtype.kind != "f":
        return array
    return np.array([float(f"{v:.12g}") for v in array.ravel()]).reshape(array.shape)


def _uniform(rng, low, high) -> float:
    """A draw in [low, high], rounded to about a thousandth of the range: the variant reads
    like a hand-written case (x = 1.3176, not 1.317602967...) in a student's report."""
    digits = max(0, math.ceil(-math.log10((high - low) / 1000))) if high > low else 0
    return round(rng.uniform(low, high), digits)


def _like(original, array):
    """`array` in the form of `original`: a Python number stays a Python number."""
    array = np.asarray(array)
    return array.item() if array.ndim == 0 and not isinstance(original, np.ndarray) else array


def _dtype(value):
    return np.asarray(value).dtype


def _kind(value) -> str:
    """f (float), i (integer, signed or not), b (boolean), or numpy's kind of anything else."""
    return "i" if _dtype(value).kind in "iu" else _dtype(value).kind


def _integers(value):
    """Every integer of an integer input: a number, an array, or a list of arrays."""
    if isinstance(value, list):
        return [v for item in value for v in _integers(item)]
    if _kind(value) != "i":
        raise _Misfit(f"expected integers, got {_dtype(value)}")
    return np.asarray(value).ravel().tolist()


def _map_integers(value, table, length):
    """Integers looked up in `table` (a dict, or an array over 0..length−1)."""
    if isinstance(value, list):
        return [_map_integers(item, table, length) for item in value]
    array = np.asarray(value)
    if _kind(array) != "i":
        raise _Misfit(f"labels must be integers, got {array.dtype}")
    if length is not None and array.size and not (0 <= array.min() and array.max() < length):
        raise _Misfit(f"labels must be positions 0..{length - 1} along the axis, got "
                      f"{array.min()}..{array.max()}")
    mapped = np.vectorize(table.__getitem__, otypes=[array.dtype])(array) if isinstance(
        table, dict) else np.asarray(table)[array].astype(array.dtype)
    return _like(value, mapped)
