"""Case inputs, built in the parent from a spec's `cases` and the seed."""

from __future__ import annotations

import random
import zlib

import numpy as np

from . import testfuncs
from .course import DEFAULT_SEED  # noqa: F401  (the public seed; grader.cases.DEFAULT_SEED)
from .spec import Case, Function, Spec
from .values import describe as summarize  # noqa: F401  (one description of a value)
from .variants import vary_inputs


def build_inputs(spec: Spec, case: Case, seed: int, references) -> dict:
    """The named inputs of `case`: literals, random draws and the exercise's generator (a
    public function, from `references`: grader.references), then, under any seed but
    `DEFAULT_SEED`, the case's `vary` steps (grader.variants). A release's key checks that
    they are the inputs it was made with (`references.case_inputs`).

    Built-in draws use Python's `random` (importing numpy.random costs more than a whole
    grading run of a small exercise); a generator gets a numpy Generator."""
    rng = random.Random(f"{seed}:{spec.number}:{case.name}")
    inputs = {name: _value(raw, case.dims, rng) for name, raw in case.inputs.items()}
    if case.generate:
        numpy_rng = np.random.default_rng([seed, spec.number, zlib.crc32(case.name.encode())])
        inputs.update(references.function(case.generate)(numpy_rng, **case.dims))
    if case.vary and seed != DEFAULT_SEED:  # the public cases stay exactly as written
        inputs = vary_inputs(spec, case, inputs, seed)
    references.case_inputs(case, inputs)
    return inputs


def call_args(function: Function, inputs: dict) -> tuple:
    """Positional arguments for `function`: its parameters, in order, that the case has."""
    args = []
    for name in function.params:
        if name not in inputs:
            break
        args.append(inputs[name])
    return tuple(args)


def _value(raw, dims, rng):
    if isinstance(raw, list):
        return np.array(raw, dtype=np.float64)
    if not isinstance(raw, dict):
        return raw
    if "function" in raw:
        return testfuncs.get(raw["function"])
    if "array" in raw:
        return np.array(raw["array"], dtype=raw.get("dtype", "float64"))
    kind = next(k for k in ("normal", "uniform", "integers") if k in raw)
    shape = tuple(dims[d] if isinstance(d, str) else d for d in raw[kind])
    count = int(np.prod(shape, dtype=np.int64))
    if kind == "normal":
        loc, scale = float(raw.get("loc", 0.0)), float(raw.get("scale", 1.0))
        values = [rng.gauss(loc, scale) for _ in range(count)]
    elif kind == "uniform":
        low, high = float(raw.get("low", 0.0)), float(raw.get("high", 1.0))
        values = [rng.uniform(low, high) for _ in range(count)]
    else:
        low, high = (int(dims.get(raw.get(k), raw.get(k, 0))) for k in ("low", "high"))
        return np.array([rng.randrange(low, high) for _ in range(count)],
                        dtype=np.int64).reshape(shape)
    return np.array(values, dtype=np.float64).reshape(shape)
