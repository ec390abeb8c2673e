"""How closely a student's value matches a reading of it: the expected value, a known wrong
formula, either under a generic transform (scaled by N, transposed, negated, reshaped), or
rounded to float32.

`grader.diagnose` names the reading that matches best; this module only measures. Values are
the sandbox's plain data (arrays, numbers, tuples, lists, dicts, booleans, strings).
"""

from __future__ import annotations

import numbers

import numpy as np

#: a reading matches when every entry is this close to it, relatively (see `distance`)
MATCH = 1e-6
#: float32 keeps about 7 significant digits, and a few operations lose a few more: a value
#: this close to the expected one (and no closer than float64 rounding) reads as float32
FLOAT32 = 2e-5
FLOAT64_ROUNDING = 1e-12
#: a mistake is named only when it matches this many times better than the right answer
BETTER = 10.0
#: entries smaller than this share of a value's largest entry are compared absolutely, so
#: an entry that is 0 in one and 1e-17 in the other does not read as "different"
FLOOR = 1e-3


def distance(got, reading, depth: int = 0) -> float:
    """How far `got` is from `reading`: the largest |g − r| / (|r| + floor) over the entries
    (floor: `FLOOR` times the largest entry of either, so tiny entries count absolutely),
    0 when equal, inf when their structure differs (type, length, keys, shape, integers held
    as floats) or their non-finite entries do (a NaN or ±inf must sit where the reading has
    the same)."""
    if depth > 20:
        return np.inf
    if _is_boolean(got) and _is_boolean(reading):  # True/False: equal or not
        return 0.0 if np.shape(got) == np.shape(reading) and np.array_equal(got, reading) \
            else np.inf
    if isinstance(got, np.ndarray) and isinstance(reading, np.ndarray) and \
            reading.dtype.kind in "iu" and got.dtype.kind not in "iu":
        return np.inf  # integers (indices) held as floats: as `grader.compare` sees it
    a, b = numeric(got), numeric(reading)
    if a is not None and b is not None:
        return _array_distance(a, b)
    if isinstance(reading, dict):
        if not isinstance(got, dict) or set(got) != set(reading):
            return np.inf
        return max((distance(got[k], reading[k], depth + 1) for k in reading), default=0.0)
    if isinstance(reading, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(reading):
            return np.inf
        return max((distance(g, r, depth + 1) for g, r in zip(got, reading)), default=0.0)
    try:
        return 0.0 if type(got) is type(reading) and got == reading else np.inf
    except Exception:  # a comparison that does not give a bool
        return np.inf


def numeric(value):
    """`value` as a float64 array when it is a number, a numeric array, or a flat tuple/list
    of numbers (ex07's gradients); else None. Booleans are not numbers here."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float64) if value.dtype.kind in "iuf" else None
    if _is_number(value):
        return np.asarray(float(value))
    if isinstance(value, (tuple, list)) and value and len(value) <= 64 and \
            all(_is_number(v) for v in value):
        return np.asarray([float(v) for v in value])
    return None


def has_float32(value, depth: int = 0) -> bool:
    """Whether `value` shows float32 arithmetic: it is or holds a float32 array or scalar, or
    numbers that are all exactly float32 numbers (a float32 result made a Python float),
    one of them at least not a whole number."""
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype == np.float32:
        return True
    a = numeric(value)
    if a is not None:
        # every number a float32 one, and one at least with more digits than float16 keeps
        # (0.5 or 0.25 are no sign of float32; 0.06343091 is)
        finite = a[np.isfinite(a)]
        with np.errstate(over="ignore"):
            return bool(np.all(finite.astype(np.float32) == finite)) and \
                bool(np.any(finite.astype(np.float16) != finite))
    if depth > 20:
        return False
    items = value.values() if isinstance(value, dict) else value
    return isinstance(value, (dict, tuple, list)) and \
        any(has_float32(v, depth + 1) for v in list(items)[:1000])


def transforms(reading, got, batch_sizes) -> list[tuple[str, dict, object]]:
    """The generic transforms of `reading` that could give `got`: (name, fields, value).
    Names: `scaled` (fields factor, n), `transposed`, `negated`, `reshaped`."""
    r, g = numeric(reading), numeric(got)
    if r is None or g is None or not np.any(np.isfinite(r) & (r != 0)):
        return []
    found = []
    if r.shape == g.shape:
        for n in sorted({n for n in batch_sizes if isinstance(n, int) and n > 1}):
            found += [("scaled", {"factor": n, "n": n}, r * n),
                      ("scaled", {"factor": 1 / n, "n": n}, r / n)]
        found.append(("negated", {}, -r))
    if r.ndim == 2 and g.shape == r.T.shape and not np.array_equal(r, r.T):
        found.append(("transposed", {}, r.T))
    if r.size == g.size and r.shape != g.shape:
        found.append(("reshaped", {"shape": g.shape}, r.reshape(g.shape)))
    return found


def nonfinite_pattern(value):
    """The non-finite entries of a numeric value, as an array (NaN and ±inf kept, finite
    entries 0), or None when it is not numeric."""
    a = numeric(value)
    return None if a is None else np.where(np.isfinite(a), 0.0, a)


def _array_distance(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return np.inf
    finite_a, finite_b = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(finite_a, finite_b):
        return np.inf
    bad = ~finite_a
    if np.any(bad) and not np.array_equal(a[bad], b[bad], equal_nan=True):
        return np.inf
    if not np.any(finite_a):
        return 0.0
    x, y = a[finite_a], b[finite_a]
    scale = max(float(np.max(np.abs(x))), float(np.max(np.abs(y))))
    floor = max(FLOOR * scale, 1e-300)
    with np.errstate(over="ignore", invalid="ignore"):
        worst = float(np.max(np.abs(x - y) / (np.abs(y) + floor)))
    return worst if np.isfinite(worst) else np.inf


def _is_boolean(value) -> bool:
    return isinstance(value, (bool, np.bool_)) or \
        isinstance(value, np.ndarray) and value.dtype.kind == "b"


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_)) \
        and not isinstance(value, complex)
