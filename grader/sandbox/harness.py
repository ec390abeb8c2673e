"""Inside the student process: load the student's module, then make the calls the parent asks
for, one at a time, and answer each on the channel.

This module is imported before any reference solution is loaded and the student process is
forked from a clean process (see `grader.sandbox.parent`), so its memory holds numpy, the
grader's plumbing and the test functions, never a solution.

The parent drives: it sends `{"op": "load", ...}` (the source), then `{"op": "call", ...}`
requests, each with a fresh nonce and the memory holding that call's arguments. This process
says `hello` first (what the isolation holds, before any student code runs), then answers each
request with exactly one frame carrying its nonce. Before a call's student code runs, the
nonce is also written on a second socket, the acknowledgements, which the parent reads only
when it must know whether a process that died or misbehaved had begun the call. The student's
code runs in this same process and could write to the channel too: the parent treats any
frame beyond the one answer it waits for as misbehaviour, times every call itself, and reads
the arguments back from the shared memory itself (see `grader.sandbox.parent`).
"""

from __future__ import annotations

import builtins
import functools
import linecache
import os
import signal
import socket
import sys
import time
import traceback

from grader import testfuncs

from . import frames, wire

#: exit status of a student process whose channel was closed or replaced by its code
EXIT_LOST_CHANNEL = 86
#: exit status when the grader's own code failed in the student process (a bug of ours)
EXIT_GRADER_FAILED = 87
NO_KEYBOARD = ("input() was called, but graded code has no keyboard: give the function its "
               "values as arguments, and keep experiments under `if __name__ == \"__main__\":`")


#: a call's limit counts the CPU time of the student process (all its threads, user and
#: system): a busy machine slows a call down without bringing it closer to its limit. The
#: parent keeps a wall-clock backstop several times larger (sleeping code uses no CPU).
_TIMER, _TIMER_SIGNAL = signal.ITIMER_PROF, signal.SIGPROF


class CallTimeout(BaseException):
    """Raised inside the student's code when its call exceeds its time limit (CPU time)."""


def serve(fd: int, acks: int, hello: dict, contained: bool = False) -> None:
    """Answer the parent's requests on the channel `fd` until it closes it; before a call's
    code runs, write its nonce on `acks`. `contained`: this process runs alone under its own
    user or pid namespace, so it may kill every other process it can signal (leftovers of
    the student's forks) after each request."""
    channel = _Channel(fd, acks)
    channel.send({"kind": "hello", **hello})
    signal.signal(_TIMER_SIGNAL, _raise_timeout)
    owner = os.getpid()
    namespace = None
    while True:
        request = channel.receive()
        if request is None:
            return
        header, fds = request
        if header.get("op") == "load":
            answer, blobs = _load_module(header, owner), []
            namespace = answer.pop("namespace", None)
        else:
            answer, blobs = _make_call(namespace, header, fds, owner, channel)
        for fd_received in fds:
            _close(fd_received)
        if contained:
            _kill_strays()
        _flush()  # what the call printed is kept even if a later call kills the process
        channel.send({"kind": "answer", "nonce": header.get("nonce"), **answer}, blobs)


class _Channel:
    """The student process's end of the channel. If the student's code closed or replaced that
    descriptor, the process ends with EXIT_LOST_CHANNEL instead of writing elsewhere."""

    def __init__(self, fd: int, acks: int):
        self.fd, self.acks = fd, acks
        self.identity = _identity(fd), _identity(acks)
        self.sock = socket.socket(fileno=fd)
        self.sent = 0  #: bytes written on the channel so far (the parent counts what it reads)

    def _check(self):
        if (_identity(self.fd), _identity(self.acks)) != self.identity:
            os._exit(EXIT_LOST_CHANNEL)

    def acknowledge(self, nonce) -> None:
        """Tell the parent, where it reads only when it must, that a call begins: unlike a
        frame, this neither wakes it nor can be taken back. The line also says how many bytes
        were written on the channel before the call began: what the parent reads within them
        was written before, and is not that call's doing, however late it is read."""
        self._check()
        try:
            os.write(self.acks, f"{nonce} {self.sent}\n".encode()[:64])
        except OSError:
            os._exit(EXIT_LOST_CHANNEL)

    def send(self, header: dict, blobs=()) -> None:
        data = frames.pack(header, blobs)
        if len(data) - frames.PREFIX.size - sum(len(b) for b in blobs) > frames.MAX_HEADER_BYTES:
            data = frames.pack({**header, "output": wire._unsupported(
                object, "a result too large to send back"), "after_changed": []})
        self._check()
        try:
            self.sock.sendall(data)
        except OSError:
            os._exit(EXIT_LOST_CHANNEL)
        self.sent += len(data)

    def receive(self):
        self._check()
        try:
            return frames.receive(self.sock)
        except (OSError, ValueError):
            os._exit(EXIT_LOST_CHANNEL)


def _identity(fd):
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


# -- loading the module ---------------------------------------------------------------------------

def _load_module(request: dict, owner: int) -> dict:
    source, filename = request["source"], request["filename"]
    namespace = {"__name__": request.get("module_name", "student"), "__file__": filename,
                 "__builtins__": builtins}
    # tracebacks read lines through linecache; a notebook's code has no file of its own
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    started = time.perf_counter()
    try:
        code = compile(source, filename, "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: a null byte in the source
        return {"status": "syntax", "exception": _syntax_info(exc)}
    except (RecursionError, MemoryError) as exc:  # a 3000-term expression, say
        return {"status": "syntax", "exception": {
            "type": type(exc).__name__, "lines": [],
            "message": "an expression nested too deeply for Python to compile (thousands of "
                       "terms or brackets in one expression): split it up"}}
    _quiet_grader_extras()
    signal.setitimer(_TIMER, float(request["import_timeout"]))
    try:
        exec(code, namespace)
    except CallTimeout:
        _only_owner(owner)
        return {"status": "timeout", "seconds": time.perf_counter() - started}
    except BaseException as exc:  # the student's top level may raise anything, even SystemExit
        signal.setitimer(_TIMER, 0)
        _only_owner(owner)
        return {"status": "exception", "exception": _exception_info(exc, filename)}
    finally:
        signal.setitimer(_TIMER, 0)
    _only_owner(owner)
    return {"status": "ok", "seconds": time.perf_counter() - started, "namespace": namespace}


def _quiet_grader_extras() -> None:
    """What a graded file may call but must do nothing here: `input()` (no keyboard: a clear
    error instead of EOFError) and `grader.check(N)` (a notebook's check cell)."""
    def no_keyboard(prompt=""):
        raise EOFError(NO_KEYBOARD)

    builtins.input = no_keyboard
    package = sys.modules.get("grader")
    if package is not None:
        package.check = lambda *args, **kwargs: None


# -- one call ---------------------------------------------------------------------------------

def _make_call(namespace, request: dict, fds: list, owner: int, channel) -> tuple[dict, list]:
    channel.acknowledge(request.get("nonce"))  # before any of the call's code runs
    if namespace is None:
        return {"status": "crashed", "detail": "no module loaded"}, []
    for name, seconds in (request.get("bound") or {}).items():
        _bound(namespace, name, float(seconds))
    func = namespace.get(request["function"])
    if not callable(func):
        return {"status": "missing"}, []
    args = wire.map_args(fds[0], int(request["size"]), request["args"], testfuncs.get)
    kept: list = []  # every entry compared by id stays alive, so no id is given again
    before = [_structure(a, keep=kept) for a in args]
    started = time.perf_counter()
    signal.setitimer(_TIMER, float(request["timeout"]))
    try:
        result = func(*args)
        status, exception = "ok", None
    except CallTimeout:
        result, status, exception = None, "timeout", None
    except MemoryError as exc:
        signal.setitimer(_TIMER, 0)
        result, status, exception = None, "memory", _exception_info(exc, namespace["__file__"])
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are the student's too
        signal.setitimer(_TIMER, 0)
        result, status = None, "exception"
        exception = _exception_info(exc, namespace["__file__"])
    finally:
        signal.setitimer(_TIMER, 0)
    _only_owner(owner)
    seconds = time.perf_counter() - started
    blobs = wire.Blobs(limit=frames.MAX_BLOB_BYTES)
    output = None
    if status == "ok":
        try:
            output = wire.encode(result, blobs.put)
        except BaseException as exc:  # a hostile __index__, or worse: one failed case
            output = wire._unsupported(type(result), f"a value that could not be sent back "
                                                     f"({type(exc).__name__})")
    changed = [i for i, (b, a) in enumerate(zip(before, args)) if b != _structure(a)]
    return {"status": status, "output": output, "after_changed": changed,
            "exception": exception, "seconds": seconds, "threads_left": _threads() > 1}, \
        blobs.parts


def _threads() -> int:
    """Threads of this process (its OS threads: also those not made with `threading`)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading
        return threading.active_count()


def _structure(value, depth: int = 0, budget: list | None = None, keep=None):
    """What the parent cannot see in the shared memory: the containers of an argument (keys,
    entries, array shapes), to tell whether the call replaced or added an entry. Bounded: a
    structure beyond the bounds (the argument was never that big) counts as changed."""
    budget = budget if budget is not None else [10_000]
    keep = keep if keep is not None else []
    keep.append(value)
    budget[0] -= 1
    if budget[0] < 0 or depth > 8:
        return object()  # equal to nothing
    kind = type(value)
    try:
        if kind is dict:
            return ("d", id(value), tuple((k, _structure(v, depth + 1, budget, keep))
                                          for k, v in list(value.items())))
        if kind in (list, tuple):
            return (kind.__name__, id(value), tuple(_structure(v, depth + 1, budget, keep)
                                                    for v in list(value)))
        if kind is wire.np.ndarray:
            return ("a", id(value), value.shape, value.strides, value.dtype.str)
    except BaseException:  # a student's object inside the argument
        return object()
    return ("v", id(value))


def _bound(namespace, name, seconds):
    """From now on `name` has a limit of its own when another function calls it: a function
    that looped in its own check stops the caller after `seconds` (a short leash the parent
    chooses), not after the caller's own (maybe much longer) limit. The caller's call then
    ends as a timeout."""
    func = namespace.get(name)
    if not callable(func) or getattr(func, "_gradewise_bounded", False):
        return

    @functools.wraps(func)
    def bounded(*args, **kwargs):
        left = signal.getitimer(_TIMER)[0]
        if 0 < left <= seconds:  # the caller's own limit comes first (also: recursion)
            return func(*args, **kwargs)
        started = time.process_time()
        signal.setitimer(_TIMER, seconds)
        try:
            return func(*args, **kwargs)
        finally:
            rest = left - (time.process_time() - started) if left else 0
            signal.setitimer(_TIMER, max(rest, 1e-3) if left else 0)

    bounded._gradewise_bounded = True
    namespace[name] = bounded


def _only_owner(owner):
    """A copy forked by the student's code returns here too: only the original answers."""
    if os.getpid() != owner:
        os._exit(0)


def _kill_strays():
    """Kill every process this one may signal (its own forks), then reap them. Safe only
    when this process is alone under its user id or in its pid namespace."""
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _raise_timeout(signum, frame):
    raise CallTimeout()


def _exception_info(exc, filename) -> dict:
    try:
        frames_ = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    except BaseException:  # a traceback is the student's object too
        frames_ = []
    return {"type": _type_name(exc), "message": _safe_str(exc)[:2000],
            "lines": [[f.lineno, f.name, (f.line or "")[:300]] for f in frames_[-5:]]}


def _syntax_info(exc) -> dict:
    if not isinstance(exc, SyntaxError):
        return {"type": type(exc).__name__, "message": _safe_str(exc)[:2000], "lines": []}
    return {"type": "SyntaxError", "message": str(exc.msg),
            "lines": [[exc.lineno or 0, "<module>", (exc.text or "").rstrip()[:300]]]}


def _type_name(exc) -> str:
    return wire._type_name(type(exc))


def _safe_str(exc) -> str:
    try:
        text = str(exc)
        return str.__str__(text) if isinstance(text, str) else f"<{_type_name(exc)}>"
    except BaseException:  # a hostile __str__
        return f"<{_type_name(exc)}>"


def _close(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def _flush():
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # the student may have closed or replaced them
        pass


def worker_exit(code: int = 0) -> None:
    try:
        _flush()
    finally:
        os._exit(code)
