"""Plain-data encoding of call inputs and outputs between the parent and the child.

A value becomes a JSON tree; an array travels as dtype, shape and its raw bytes (base64),
and only numeric dtypes are accepted back. Nothing is pickled, nothing is executed on
decoding: a function crosses only as the name of a test function from `grader.testfuncs`.
"""

from __future__ import annotations

import base64
import numbers

import numpy as np

MAX_ARRAY_BYTES = 16 * 2 ** 20


class Unsupported:
    """A value the child could not express as plain data (an object, a generator, ...)."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return f"<{self.type_name}: {self.text}>"


class FunctionRef:
    def __init__(self, name: str):
        self.name = name


def encode(value, function_names: dict | None = None):
    """`value` as a JSON-able tree (`function_names`: id of a test function → its name)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind not in "biufc":
            return _unsupported(value, f"array of dtype {value.dtype}")
        if value.nbytes > MAX_ARRAY_BYTES:
            return _unsupported(value, f"array of {value.nbytes / 2**20:.0f} MiB")
        data = base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii")
        return {"__array__": value.dtype.str, "shape": list(value.shape), "data": data}
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return {"__float__": repr(float(value))}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, function_names) for v in value]}
    if isinstance(value, list):
        return [encode(v, function_names) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v, function_names) for k, v in value.items()}}
    if isinstance(value, FunctionRef):
        return {"__function__": value.name}
    if callable(value) and function_names and id(value) in function_names:
        return {"__function__": function_names[id(value)]}
    return _unsupported(value, _short_repr(value))


def decode(tree, resolve_function=None):
    """The value encoded as `tree`; raises ValueError on anything malformed."""
    if isinstance(tree, list):
        return [decode(v, resolve_function) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__array__" in tree:
        return _array(tree)
    if "__float__" in tree:
        return float(tree["__float__"])
    if "__tuple__" in tree:
        return tuple(decode(v, resolve_function) for v in tree["__tuple__"])
    if "__dict__" in tree:
        return {k: decode(v, resolve_function) for k, v in tree["__dict__"].items()}
    if "__function__" in tree:
        name = tree["__function__"]
        return resolve_function(name) if resolve_function else FunctionRef(name)
    if "__unsupported__" in tree:
        return Unsupported(str(tree["__unsupported__"]), str(tree.get("text", "")))
    raise ValueError(f"malformed wire value: keys {sorted(tree)[:5]}")


def _array(tree) -> np.ndarray:
    dtype = np.dtype(str(tree["__array__"]))
    if dtype.kind not in "biufc" or dtype.hasobject:
        raise ValueError(f"array dtype {dtype} is not plain numbers")
    shape = tuple(int(n) for n in tree["shape"])
    data = base64.b64decode(tree["data"])
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _unsupported(value, text):
    return {"__unsupported__": type(value).__name__, "text": text[:200]}


def _short_repr(value):
    try:
        return repr(value)[:200]
    except Exception:  # a student's __repr__ may raise
        return f"<{type(value).__name__}>"
