"""The values a check looks at (case inputs, a student's output, the reference's), described
in words for a student and written to JSON and read back without loss.

One place for both, so that a report, the Markdown feedback and a result read back from its
own JSON say the same thing about the same value. The values are the sandbox's plain data
(`grader.sandbox.wire`): numpy arrays and scalars, Python numbers, strings, None, tuples,
lists and dicts, test functions, and `Unsupported` (what could not cross, in words).

JSON form (`encode` / `decode`): None, booleans, integers, strings and finite floats are
themselves; a list is a list of encoded values; everything else is an object with one
`__tag__` key:

    {"__array__": "<f8", "shape": [2, 2], "data": [[1.0, "nan"], ["-inf", 2.0]]}
    {"__scalar__": "<f4", "data": 0.1}          a numpy scalar (its dtype kept)
    {"__float__": "nan"}                        a Python float that JSON cannot hold
    {"__tuple__": [...]}, {"__dict__": {...}}, {"__items__": [[key, value], ...]}
    {"__unsupported__": "generator", "text": "a generator"}
    {"__function__": "sigmoid"}                 a test function, by name
    {"__excerpt__": ...}, {"__shown__": "..."}  what is kept of a value too big to keep

Non-finite entries of an array are the strings "nan", "inf" and "-inf" (JSON has no such
numbers); complex arrays add "imag" beside "data". Every dict is tagged, so a student's dict
with a key "__array__" stays a dict.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np

KEPT_ENTRIES = 4096  #: array entries kept in a result's JSON; beyond, what is shown is kept
SHOWN_ITEMS = 3  #: items of a list or tuple named in a one-line description
SHOWN_KEYS = 8  #: entries of a dict named in a one-line description


# -- values too big to keep ----------------------------------------------------------------------

class Shown:
    """What is kept of a value too big to keep in a result: the text a report shows of it."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self):
        return self.text

    def __eq__(self, other):
        return isinstance(other, Shown) and other.text == self.text


class ArrayExcerpt:
    """What is kept of a large 1-D or 2-D array: the entries a report shows (`rows` × `cols`
    of the array seen as a matrix, a 1-D array being one row; None marks a gap), its shape,
    dtype and one-line description (`describe`)."""

    def __init__(self, shape: tuple, dtype: str, rows: list, cols: list, values: np.ndarray,
                 summary: str):
        self.shape, self.dtype, self.rows, self.cols = tuple(shape), dtype, rows, cols
        self.values, self.summary = values, summary

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __eq__(self, other):
        return isinstance(other, ArrayExcerpt) and \
            (self.shape, self.dtype, self.rows, self.cols, self.summary) == \
            (other.shape, other.dtype, other.rows, other.cols, other.summary) and \
            np.array_equal(self.values, other.values, equal_nan=True)


def window(n: int, limit: int, focus: int) -> list:
    """The positions of `n` shown when at most `limit` fit: all of them, or the first, a gap
    (None), `limit - 1` around `focus`, a gap and the last."""
    if n <= limit:
        return list(range(n))
    half = limit // 2
    start = min(max(focus - half + 1, 0), n - limit + 1)
    ids = list(range(start, start + limit - 1))
    return ([0, None] if start > 0 else []) + ids + ([None, n - 1] if ids[-1] < n - 1 else [])


def excerpt(array: np.ndarray, rows: list, cols: list) -> ArrayExcerpt:
    """The entries of the 1-D or 2-D `array` at `rows` × `cols` (see `ArrayExcerpt`)."""
    matrix = array.reshape(1, -1) if array.ndim == 1 else array
    values = matrix[np.ix_([r for r in rows if r is not None], [c for c in cols if c is not None])]
    return ArrayExcerpt(array.shape, array.dtype.str, rows, cols, values.copy(), describe(array))


class _Never:
    """A type no value has."""


def _wire_types() -> tuple:
    """(Unsupported, FunctionRef) of the sandbox's wire format, when it is loaded: a value of
    either type can only come from it. Not imported here: reading a result back in a Jupyter
    kernel (`check(N)`) must not load the sandbox there."""
    wire = sys.modules.get("grader.sandbox.wire")
    return (wire.Unsupported, wire.FunctionRef) if wire is not None else (_Never, _Never)


# -- in words -------------------------------------------------------------------------------------

def describe(value) -> str:
    """A value in one line, for a student: a small array in full, a larger one by shape, dtype
    and range, a test function by name, the first items of a container and its length."""
    Unsupported, FunctionRef = _wire_types()

    if isinstance(value, np.ndarray):
        if value.size == 0:
            return f"{value.shape} {value.dtype} (empty)"
        if value.size <= 6:
            return np.array2string(value, precision=4, separator=", ", suppress_small=False)
        if value.dtype.kind not in "biuf":  # complex, text: no range to give
            return f"{value.shape} {value.dtype}"
        finite = value[np.isfinite(value)] if value.dtype.kind == "f" else value
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (np.nan,
                                                                                    np.nan)
        return f"{value.shape} {value.dtype} in [{low:.4g}, {high:.4g}]"
    if isinstance(value, ArrayExcerpt):
        return value.summary
    if isinstance(value, (Shown, Unsupported)):
        return value.text
    if isinstance(value, FunctionRef):
        return f"test function {value.name}"
    if callable(value):
        return f"test function {getattr(value, '__name__', '?')}"
    if isinstance(value, dict):
        shown = [f"{k}: {describe(v)}" for k, v in list(value.items())[:SHOWN_KEYS]]
        more = ", …" if len(value) > SHOWN_KEYS else ""
        return "{" + ", ".join(shown) + more + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(v) for v in value[:SHOWN_ITEMS])
        return f"[{inner}{', …' if len(value) > SHOWN_ITEMS else ''}] ({len(value)} items)"
    return repr(value)


def noun(value) -> str:
    """What kind of value it is, as a noun phrase: "None", "a list", "the number 3"."""
    Unsupported, _ = _wire_types()

    if value is None:
        return "None"
    if isinstance(value, Unsupported):
        return value.text
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__}"
    if isinstance(value, np.ndarray):
        return "a 0-d array" if value.ndim == 0 else f"an array of shape {value.shape}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"the number {value:g}"
    return f"a {type(value).__name__}"


# -- numbers --------------------------------------------------------------------------------------

def distinct(a, b, digits: int = 6) -> tuple[str, str]:
    """a and b with `digits` significant digits, or as many more as it takes to tell them
    apart (up to 17, where every float64 is told apart): never "expected 0.0634309, got
    0.0634309"."""
    a, b = float(a), float(b)
    for shown in range(digits, 18):
        texts = f"{a:.{shown}g}", f"{b:.{shown}g}"
        if texts[0] != texts[1] or a == b or a != a or b != b:
            return texts
    return texts


class NumberFormat:
    """One way of writing every number of the arrays shown side by side (expected over got),
    so that their columns line up: fixed-point with `decimals` places, scientific with
    `decimals` digits after the point, or integers; `width`: of the widest entry."""

    def __init__(self, style: str, decimals: int, width: int = 0):
        self.style, self.decimals, self.width = style, decimals, width

    def __call__(self, x) -> str:
        x = float(x)
        if not np.isfinite(x):
            return "nan" if x != x else ("inf" if x > 0 else "-inf")
        if self.style == "int":
            return f"{x:.0f}"
        if self.style == "fixed":
            return f"{x:.{self.decimals}f}"
        return f"{x:.{self.decimals}e}"

    @classmethod
    def of(cls, *arrays, worst: list = ()) -> "NumberFormat":
        """The format for `arrays` (numbers, arrays or their entries), with as many digits as
        it takes to tell apart each pair of numbers in `worst` (expected, got): at least 4
        significant digits, at most 17."""
        values = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays]
                                or [np.zeros(0)])
        finite = values[np.isfinite(values)]
        if finite.size and np.all(finite == np.round(finite)) and np.max(np.abs(finite)) < 1e9:
            fmt = cls("int", 0)
        else:
            nonzero = np.abs(finite[finite != 0])
            small = float(np.min(nonzero)) if nonzero.size else 1.0
            large = float(np.max(nonzero)) if nonzero.size else 1.0
            if 1e-3 <= small and large < 1e6:
                fmt = cls("fixed", max(0, 3 - int(np.floor(np.log10(small)))))
            else:
                fmt = cls("sci", 3)
            limit = 20 if fmt.style == "fixed" else 16
            while fmt.decimals < limit and any(
                    float(a) != float(b) and fmt(a) == fmt(b) for a, b in worst):
                fmt.decimals += 1
        fmt.width = max((len(fmt(v)) for v in values), default=1)
        return fmt


def difference_text(expected, got) -> str:
    """"difference 3.2e-09, relative 5.1e-08": how far `got` is from `expected`."""
    expected, got = float(expected), float(got)
    absolute = abs(got - expected)
    if not np.isfinite(absolute):
        return "not a finite difference"
    text = f"difference {absolute:.2g}"
    if expected != 0 and np.isfinite(absolute):
        text += f", relative {absolute / abs(expected):.2g}"
    return text


# -- JSON -----------------------------------------------------------------------------------------

def encode(value):
    """`value` as JSON data, read back by `decode` (see the module's docstring). Never raises
    for the value's sake: anything else becomes its description, as an `Unsupported`."""
    Unsupported, FunctionRef = _wire_types()

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return {"__scalar__": value.dtype.str, **_data(np.asarray(value))}
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"__float__": repr(float(value))}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__dict__": {k: encode(v) for k, v in value.items()}}
        return {"__items__": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, Shown):
        return {"__shown__": value.text}
    if isinstance(value, ArrayExcerpt):
        return {"__excerpt__": value.dtype, "shape": list(value.shape), "rows": value.rows,
                "cols": value.cols, "summary": value.summary, **_data(value.values)}
    if isinstance(value, Unsupported):
        return {"__unsupported__": value.type_name, "text": value.text}
    if isinstance(value, FunctionRef):
        return {"__function__": value.name}
    if callable(value) and hasattr(value, "__name__"):  # a test function (grader.testfuncs)
        return {"__function__": value.__name__}
    return {"__unsupported__": type(value).__name__, "text": describe(value)}


def decode(data):
    """The value `encode` wrote as `data`. Raises ValueError on data it did not write."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        raise ValueError(f"not an encoded value: {type(data).__name__}")
    if "__array__" in data:
        return _array_from(data, data["__array__"]).reshape(data["shape"])
    if "__scalar__" in data:
        return _array_from(data, data["__scalar__"])[()]
    if "__float__" in data:
        return float(data["__float__"])
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__dict__" in data:
        return {k: decode(v) for k, v in data["__dict__"].items()}
    if "__items__" in data:
        return {decode(k): decode(v) for k, v in data["__items__"]}
    if "__shown__" in data:
        return Shown(data["__shown__"])
    if "__excerpt__" in data:
        values = _array_from(data, data["__excerpt__"]).reshape(
            len([r for r in data["rows"] if r is not None]),
            len([c for c in data["cols"] if c is not None]))
        return ArrayExcerpt(tuple(data["shape"]), data["__excerpt__"], data["rows"],
                            data["cols"], values, data["summary"])
    if "__unsupported__" in data:
        from .sandbox.wire import Unsupported
        return Unsupported(data["__unsupported__"], data["text"])
    if "__function__" in data:
        from .sandbox.wire import FunctionRef
        return FunctionRef(data["__function__"])
    raise ValueError(f"not an encoded value: keys {sorted(data)[:5]}")


def _array(array: np.ndarray):
    if array.dtype.kind not in "biufc":  # never from the sandbox; a reference's own oddity
        return {"__unsupported__": "ndarray", "text": describe(array)}
    return {"__array__": array.dtype.str, "shape": list(array.shape), **_data(array)}


def _data(array: np.ndarray) -> dict:
    """{"data": nested lists} (and "imag" for complex numbers), non-finite entries as text."""
    if array.dtype.kind == "c":
        return {"data": _finite(array.real), "imag": _finite(array.imag)}
    return {"data": _finite(array)}


def _finite(array: np.ndarray):
    data = array.tolist()
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        data = _spelled(data)
    return data


def _spelled(data):
    if isinstance(data, list):
        return [_spelled(v) for v in data]
    return data if math.isfinite(data) else repr(data)  # 'nan', 'inf', '-inf'


def _array_from(data: dict, dtype: str) -> np.ndarray:
    kind = np.dtype(dtype)
    if kind.kind == "c":
        return (np.asarray(data["data"], dtype=np.float64) +
                1j * np.asarray(data["imag"], dtype=np.float64)).astype(kind)
    # float("nan") and friends: numpy reads the spelled entries when the dtype is given
    return np.array(data["data"], dtype=kind)


# -- JSON text ------------------------------------------------------------------------------------

def dumps(data, indent: int | None = None) -> str:
    """JSON text of plain data; a numpy scalar left in it is written as its Python number.
    Anything else is a bug of the caller: TypeError."""
    return json.dumps(data, indent=indent, default=_number)


def _number(value):
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    raise TypeError(f"not JSON data: {type(value).__name__}")
