"""Plain-data encoding of call inputs and outputs between the parent and the student process.

A value becomes a JSON tree. An array becomes `{"__array__": dtype, "shape": [...], "at": ref}`
where `ref` says where its raw bytes are: for a call's arguments, an offset in memory the
parent shares with the call (so that the parent reads the arguments back itself after the
call); for a result, the index of a binary blob sent after the JSON header. Only numeric
dtypes cross. Nothing is pickled, nothing is executed on decoding: a function crosses only as
the name of a test function from `grader.testfuncs`.

Both directions are bounded: encoding gives up on values nested deeper than `MAX_DEPTH`, with
more than `MAX_ITEMS` items, arrays above `MAX_ARRAY_BYTES` or integers of more than
`MAX_INT_DIGITS` digits (each becomes an `Unsupported` value with a sentence saying why), and
decoding refuses the same before building anything big.
"""

from __future__ import annotations

import fcntl
import math
import mmap  # here, not where it is used: the student's user may not read Python's folders
import os

import numpy as np

from grader.safetext import visible

MAX_ARRAY_BYTES = 16 * 2 ** 20  #: one array, in bytes
MAX_DEPTH = 32  #: nesting of tuples, lists and dicts
MAX_ITEMS = 100_000  #: values in one encoded tree
MAX_STRING = 100_000  #: characters of one string
MAX_INT_DIGITS = 300  #: decimal digits of an integer (the results here are floats)
ALIGN = 64  #: bytes; arrays in shared memory start at multiples of this
_PLAIN_DTYPE = __import__("re").compile(r"[<>|=]?[biufc][0-9]{1,2}\Z")


class Unsupported:
    """A value that could not cross as plain data (an object, a generator, ...): `text` says
    what it was, in words a student understands."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return f"<{self.type_name}: {self.text}>"

    def __eq__(self, other):
        return isinstance(other, Unsupported) and (self.type_name, self.text) == \
            (other.type_name, other.text)


class FunctionRef:
    """A test function, by name (the parent's side of `{"__function__": name}`)."""

    def __init__(self, name: str):
        self.name = name


class WireError(ValueError):
    """A tree that is malformed or beyond the bounds: the sender misbehaved."""


# -- encoding ---------------------------------------------------------------------------------

def encode(value, put_array, function_names: dict | None = None):
    """`value` as a JSON-able tree. `put_array(array) -> ref` stores a C-contiguous array's
    bytes and returns where they are. `function_names`: id of a test function → its name.
    Never raises for the value's sake: what cannot be sent becomes an `Unsupported` node."""
    return _Encoder(put_array, function_names or {}).encode(value, 0)


class _Encoder:
    def __init__(self, put_array, function_names):
        self.put_array, self.function_names, self.items = put_array, function_names, 0

    def encode(self, value, depth):
        # exact types only: a student's class could fake isinstance() through __class__
        kind = type(value)
        self.items += 1
        if self.items > MAX_ITEMS:
            return _unsupported(kind, f"a structure of more than {MAX_ITEMS} values")
        if value is None or kind is bool:
            return value
        if kind is str:
            return value if len(value) <= MAX_STRING else \
                _unsupported(kind, f"a string of {len(value)} characters")
        if kind is int:
            return _integer(value)
        if kind is float:
            return {"__float__": repr(value)}
        if issubclass(kind, np.ndarray):
            return self._array(value.view(np.ndarray))
        if issubclass(kind, np.generic):
            return self._numpy_scalar(value)
        if kind in (tuple, list, dict) and depth >= MAX_DEPTH:
            return _unsupported(kind, f"a structure nested more than {MAX_DEPTH} levels deep")
        if kind is tuple:
            return {"__tuple__": [self.encode(v, depth + 1) for v in value]}
        if kind is list:
            return [self.encode(v, depth + 1) for v in value]
        if kind is dict and all(type(k) is str for k in value):
            return {"__dict__": {k: self.encode(v, depth + 1) for k, v in value.items()}}
        if kind is FunctionRef:
            return {"__function__": value.name}
        if id(value) in self.function_names:
            return {"__function__": self.function_names[id(value)]}
        return _unsupported(kind, f"a {_type_name(kind)}")

    def _array(self, array):
        if array.dtype.hasobject or array.dtype.kind not in "biufc":
            return _unsupported(np.ndarray, f"an array of dtype {array.dtype}")
        if array.nbytes > MAX_ARRAY_BYTES:
            return _unsupported(np.ndarray, f"an array of {array.nbytes / 2**20:.0f} MiB "
                                            f"(at most {MAX_ARRAY_BYTES // 2**20} MiB)")
        if array.ndim > MAX_DEPTH:
            return _unsupported(np.ndarray, f"an array of {array.ndim} dimensions")
        ref = self.put_array(np.ascontiguousarray(array))
        if ref is None:
            return _unsupported(np.ndarray, "an array beyond the total size of a result "
                                            f"({MAX_ARRAY_BYTES * 2 // 2**20} MiB)")
        return {"__array__": array.dtype.str, "shape": list(array.shape), "at": ref}

    def _numpy_scalar(self, value):
        kind = value.dtype.kind
        if kind == "b":
            return bool(value)
        if kind in "iu":
            return _integer(int(value))
        if kind in "fc":
            return self._array(np.asarray(value))  # keeps float32/complex as they are
        return _unsupported(type(value), f"a numpy {value.dtype} scalar")


def _integer(value: int):
    if abs(value) < 10 ** MAX_INT_DIGITS:
        return value
    digits = int(value.bit_length() * math.log10(2)) + 1  # str() would refuse beyond 4300
    return _unsupported(int, f"an integer of about {digits} digits, too large to send back")


def _unsupported(kind, text):
    return {"__unsupported__": _type_name(kind), "text": text[:300]}


def _type_name(kind) -> str:
    try:
        name = type.__dict__["__name__"].__get__(kind)  # not a metaclass's own __name__
    except Exception:
        return "object"
    return str(name)[:100]


# -- decoding ---------------------------------------------------------------------------------

def decode(tree, get_array, resolve_function=None):
    """The value encoded as `tree`. `get_array(ref, dtype, shape) -> ndarray` fetches an
    array's bytes (and raises WireError when `ref` does not fit). Raises WireError on anything
    malformed or beyond the bounds, before building anything big."""
    return decode_counted(tree, get_array, resolve_function)[0]


def decode_counted(tree, get_array, resolve_function=None) -> tuple[object, int]:
    """`decode`, and the number of values built (what the value costs beyond its arrays)."""
    decoder = _Decoder(get_array, resolve_function)
    return decoder.decode(tree, 0), decoder.items


class _Decoder:
    def __init__(self, get_array, resolve_function):
        self.get_array, self.resolve_function, self.items = get_array, resolve_function, 0

    def decode(self, tree, depth):
        self.items += 1
        if self.items > MAX_ITEMS or depth > MAX_DEPTH + 1:
            raise WireError("a value nested too deeply or with too many items")
        if tree is None or type(tree) in (bool, str):
            return tree
        if type(tree) is int:
            if abs(tree) >= 10 ** MAX_INT_DIGITS:
                raise WireError("an integer beyond the bounds")
            return tree
        if type(tree) is list:
            return [self.decode(v, depth + 1) for v in tree]
        if type(tree) is not dict or len(tree) > 4:
            raise WireError(f"unexpected {type(tree).__name__} in a wire value")
        if "__array__" in tree:
            return self._array(tree)
        if "__float__" in tree:
            text = tree["__float__"]
            if type(text) is not str or len(text) > 40:
                raise WireError("malformed float")
            try:
                return float(text)
            except ValueError:
                raise WireError("malformed float") from None
        if "__tuple__" in tree and type(tree["__tuple__"]) is list:
            return tuple(self.decode(v, depth + 1) for v in tree["__tuple__"])
        if "__dict__" in tree and type(tree["__dict__"]) is dict:
            return {str(k): self.decode(v, depth + 1) for k, v in tree["__dict__"].items()}
        if "__function__" in tree and type(tree["__function__"]) is str:
            name = tree["__function__"]
            return self.resolve_function(name) if self.resolve_function else FunctionRef(name)
        if "__unsupported__" in tree:
            return Unsupported(visible(str(tree["__unsupported__"])[:100], False),
                               visible(str(tree.get("text", ""))[:300], False))
        raise WireError(f"malformed wire value: keys {sorted(map(str, tree))[:5]}")

    def _array(self, tree):
        text = tree["__array__"]
        if type(text) is not str or not _PLAIN_DTYPE.match(text):
            raise WireError("malformed array dtype")
        try:  # numpy parses some dtype strings with ast.literal_eval: only plain ones here
            dtype = np.dtype(text)
        except (TypeError, ValueError):
            raise WireError("malformed array dtype") from None
        if dtype.kind not in "biufc" or dtype.hasobject:
            raise WireError(f"array dtype {dtype} is not plain numbers")
        shape = tree.get("shape")
        if type(shape) is not list or len(shape) > MAX_DEPTH or \
                not all(type(n) is int and 0 <= n <= MAX_ARRAY_BYTES for n in shape):
            raise WireError("malformed array shape")
        count = math.prod(shape)
        if count * dtype.itemsize > MAX_ARRAY_BYTES:
            raise WireError("an array beyond the size bound")
        return self.get_array(tree.get("at"), dtype, tuple(shape))


# -- where the bytes of arrays go ----------------------------------------------------------------

class Blobs:
    """Arrays as a list of byte strings, sent after a frame's header (results)."""

    def __init__(self, parts=None, limit: int = 0):
        self.parts = list(parts or [])
        self.limit = limit  #: total bytes accepted; 0 = no limit
        self.size = sum(len(p) for p in self.parts)

    def put(self, array: np.ndarray) -> int | None:
        data = array.tobytes()
        if self.limit and self.size + len(data) > self.limit:
            return None
        self.parts.append(data)
        self.size += len(data)
        return len(self.parts) - 1

    def get(self, ref, dtype, shape) -> np.ndarray:
        if type(ref) is not int or not 0 <= ref < len(self.parts):
            raise WireError("an array refers to no blob")
        data = self.parts[ref]
        if len(data) != math.prod(shape) * dtype.itemsize:
            raise WireError("an array's bytes do not match its shape")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


class SharedArgs:
    """A call's arguments in one block of memory the parent and the call both map: the parent
    writes the arrays, the call works on them in place, and after the call the parent reads
    them back itself (the student's code cannot report a doctored copy). Linux: an anonymous
    memfd; elsewhere an unlinked temporary file."""

    def __init__(self, values: tuple, function_names: dict):
        self.arrays: list[tuple[int, np.ndarray]] = []
        self.size = 0
        self.trees = [encode(v, self._put, function_names) for v in values]
        self.fd = _anonymous_file(max(self.size, 1))
        if self.size:
            laid_out = bytearray(self.size)
            for offset, array in self.arrays:
                laid_out[offset:offset + array.nbytes] = array.tobytes()
            os.pwrite(self.fd, laid_out, 0)

    def _put(self, array: np.ndarray) -> int:
        offset = self.size
        self.arrays.append((offset, array))
        self.size += -(-array.nbytes // ALIGN) * ALIGN
        return offset

    def snapshot(self) -> bytes:
        """The arguments' memory as the call left it, read now with `pread` (the memory cannot
        shrink under the parent: see `_anonymous_file`). Cheap: decode it later."""
        return os.pread(self.fd, self.size, 0) if self.size else b""

    def read_back(self) -> list:
        """The arguments as the call left them, read now."""
        return self.decode_snapshot(self.trees, self.snapshot())

    @staticmethod
    def decode_snapshot(trees: list, data: bytes) -> list:
        """The arguments encoded as `trees`, with their arrays' bytes from `data`."""
        def get(ref, dtype, shape):
            end = ref + math.prod(shape) * dtype.itemsize
            if end > len(data):
                raise WireError("the shared memory of the arguments was cut short")
            return np.frombuffer(data, dtype=dtype, count=math.prod(shape),
                                 offset=ref).reshape(shape).copy()

        return [decode(t, get) for t in trees]

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def map_args(fd: int, size: int, trees: list, resolve_function):
    """In the call: the arguments as arrays over the memory shared with the parent (writable,
    shared: an in-place change is what the parent will see)."""
    memory = mmap.mmap(fd, max(size, 1))

    def get(ref, dtype, shape):
        count = math.prod(shape)
        if type(ref) is not int or ref < 0 or ref + count * dtype.itemsize > size:
            raise WireError("an argument lies outside the shared memory")
        return np.frombuffer(memory, dtype=dtype, count=count, offset=ref).reshape(shape)

    return [decode(t, get, resolve_function) for t in trees]


def _anonymous_file(size: int) -> int:
    """A file of `size` bytes in memory, sealed against shrinking and growing where Linux
    allows (the call may write its arrays, never resize them under the parent)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("gradewise-args", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(fd, size)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW |
                    fcntl.F_SEAL_SEAL)
        return fd
    import tempfile  # macOS: an unlinked temporary file (read back with pread: no SIGBUS)
    with tempfile.TemporaryFile() as handle:
        fd = os.dup(handle.fileno())
    os.ftruncate(fd, size)
    return fd
