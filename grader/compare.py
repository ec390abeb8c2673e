"""Comparing a student's value with the expected one: where and how they differ.

Values are plain data from the wire: arrays, Python scalars, tuples, lists and dicts.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .sandbox import Unsupported


@dataclass
class Mismatch:
    """The first difference found. `kind`: type | length | keys | shape | dtype | boolean |
    non-finite | values. `path` locates it inside a tuple/dict output (e.g. `[1]['W']`)."""

    kind: str
    path: str
    expected: object
    got: object
    text: str
    worst_index: tuple | None = None
    worst_error: float | None = None


def is_scalar(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool) or (
        isinstance(value, np.ndarray) and value.ndim == 0)


def as_float_array(value):
    """`value` as a float array if it is numeric array-like, else None."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(np.float64)
    if is_scalar(value):
        return np.asarray(value, dtype=np.float64)
    return None


def mismatch(got, expected, rtol: float, atol: float, path: str = "") -> Mismatch | None:
    if isinstance(expected, (tuple, list)):
        return _sequence(got, expected, rtol, atol, path)
    if isinstance(expected, dict):
        return _mapping(got, expected, rtol, atol, path)
    if isinstance(expected, np.ndarray) and expected.ndim > 0:
        return _array(got, expected, rtol, atol, path)
    if is_scalar(expected):
        return _scalar(got, expected, rtol, atol, path)
    return _plain(got, expected, path)


def _plain(got, expected, path):
    """Anything else the reference returns (True/False, a string, None): the same type, equal."""
    booleans = (bool, np.bool_)
    same_type = type(got) is type(expected) or \
        isinstance(got, booleans) and isinstance(expected, booleans)
    if not same_type:
        want = "True or False" if isinstance(expected, booleans) else \
            f"a {type(expected).__name__}"
        return Mismatch("type", path, expected, got, f"expected {want}, got {_brief(got)}")
    if (bool(got) != bool(expected)) if isinstance(expected, booleans) else got != expected:
        return Mismatch("values", path, expected, got, f"expected {expected!r}, got {_brief(got)}")
    return None


def _sequence(got, expected, rtol, atol, path):
    kind = type(expected).__name__
    if not isinstance(got, (tuple, list)):
        return Mismatch("type", path, expected, got,
                        f"expected a {kind} of {len(expected)} values, got {_brief(got)}")
    if len(got) != len(expected):
        return Mismatch("length", path, expected, got,
                        f"expected a {kind} of {len(expected)} values, got {len(got)}")
    for i, (g, e) in enumerate(zip(got, expected)):
        found = mismatch(g, e, rtol, atol, f"{path}[{i}]")
        if found:
            return found
    return None


def _mapping(got, expected, rtol, atol, path):
    if not isinstance(got, dict):
        return Mismatch("type", path, expected, got,
                        f"expected a dict with keys {sorted(expected)}, got {_brief(got)}")
    if set(got) != set(expected):
        missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
        text = "expected keys " + ", ".join(map(repr, sorted(expected)))
        text += f"; missing {missing}" if missing else ""
        text += f"; unexpected {extra}" if extra else ""
        return Mismatch("keys", path, expected, got, text)
    for key in expected:
        found = mismatch(got[key], expected[key], rtol, atol, f"{path}[{key!r}]")
        if found:
            return found
    return None


def _array(got, expected, rtol, atol, path):
    if not isinstance(got, np.ndarray) or got.ndim == 0:
        return Mismatch("type", path, expected, got,
                        f"expected a numpy array of shape {expected.shape}, got {_brief(got)}")
    if got.shape != expected.shape:
        return Mismatch("shape", path, expected, got,
                        f"expected shape {expected.shape}, got {got.shape}")
    if got.dtype.kind not in "biuf":
        return Mismatch("dtype", path, expected, got, f"expected numbers, got dtype {got.dtype}")
    if got.dtype.kind == "b" and expected.dtype.kind == "f":
        return _booleans(got, expected, path)
    if expected.dtype.kind in "iu" and got.dtype.kind not in "iub":
        return Mismatch("dtype", path, expected, got,
                        f"expected integers (dtype {expected.dtype}), got dtype {got.dtype}")
    return _values(got.astype(np.float64), expected.astype(np.float64), rtol, atol, path)


def _booleans(got, expected, path):
    """True/False where the spec holds floats: numpy would count them as 1.0 and 0.0, but a
    value that is meant to be multiplied into a formula (a derivative, a probability) must
    be a number; "kind" `boolean`, not `dtype`, whose diagnosis is about integers."""
    return Mismatch("boolean", path, expected, got,
                    f"expected numbers (dtype {expected.dtype}), got True/False values (dtype "
                    f"bool): a comparison gives booleans; turn them into numbers with "
                    f".astype(float)")


def _scalar(got, expected, rtol, atol, path):
    if isinstance(got, (np.ndarray, np.bool_)) and np.asarray(got).dtype.kind == "b":
        return _booleans(np.asarray(got), np.asarray(float(expected)), path)
    value = as_float_array(got)
    if value is None or value.ndim != 0:
        shape = f" of shape {got.shape}" if isinstance(got, np.ndarray) else ""
        return Mismatch("type", path, expected, got,
                        f"expected a single number, got {_brief(got)}{shape}")
    return _values(value, np.asarray(float(expected)), rtol, atol, path)


def _values(got, expected, rtol, atol, path):
    bad_finite = ~np.isfinite(got) & np.isfinite(expected)
    if np.any(bad_finite):
        index = tuple(int(i) for i in np.argwhere(bad_finite)[0])
        return Mismatch("non-finite", path, expected, got,
                        f"got {got[index] if index else got} where {_num(expected[index] if index else expected)} "
                        "was expected", index, float("inf"))
    close = np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    if np.all(close):
        return None
    error = np.abs(got - expected)
    error = np.where(close, 0.0, np.nan_to_num(error, nan=np.inf))
    index = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
    index = tuple(int(i) for i in index)
    count = int(np.size(close) - np.count_nonzero(close))
    where = f" at index {index}" if index else ""
    return Mismatch("values", path, expected, got,
                    f"{count} of {np.size(close)} values differ; worst{where}: expected "
                    f"{_num(expected[index])}, got {_num(got[index])}", index, float(error[index]))


def relative_error(a, b):
    """|a−b| / max(1e-8, |a|+|b|), elementwise (the lecture's gradient-check measure)."""
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def same(got, expected, rtol=1e-7, atol=1e-9) -> bool:
    try:
        return mismatch(got, expected, rtol, atol) is None
    except (TypeError, ValueError):
        return False


def _num(x) -> str:
    return f"{float(x):.6g}"


def _brief(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, Unsupported):
        return value.text
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)[:6]}"
    if is_scalar(value):
        return f"the number {_num(value)}"
    return f"a {type(value).__name__}"
