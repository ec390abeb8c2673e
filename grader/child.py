"""What runs inside the student process: load the student's module, make the calls.

This module is imported by the parent *before* any reference solution is loaded and the
student process is forked from a clean process (see `grader.runner`), so its memory holds
numpy, the grader's plumbing and the test functions, never a solution.

The student process reports through a progress pipe, one JSON line per event:
`{"event": "sandbox", ...}` first (what isolation holds), `{"event": "module", ...}` once
the module is loaded (or failed to), `{"event": "start", "call": i}` before a call and
`{"event": "done", "call": i, ...}` after it. Values are encoded by `grader.wire`. The
parent treats all of it as untrusted data and bounds it in time and size.
"""

from __future__ import annotations

import functools
import json
import linecache
import os
import signal
import sys
import time
import traceback

from . import testfuncs, wire

#: exit status of a student process whose progress pipe was closed or replaced by its code
EXIT_LOST_PIPE = 86
MAX_EVENT_CHARS = 48 * 2 ** 20  # a result bigger than this is reported, not sent


class CallTimeout(BaseException):
    """Raised inside the student's code when its call exceeds the time limit."""


def read_job(job_dir: str) -> dict:
    with open(os.path.join(job_dir, "job.json"), encoding="utf-8") as fh:
        return json.load(fh)


def run_job(job: dict, start: int, skip: list[str], progress_fd: int, contained: bool = False,
            sandbox: dict | None = None, timed_out: dict | None = None) -> None:
    """Load the module, then make the calls from `start` on, but not those of the functions
    in `skip`. `timed_out`: {function: seconds} of functions that already ran out of time.
    `contained`: this process runs alone under its own user or pid namespace, so it may
    kill every other process it can signal (leftovers of the student's forks) after each
    call."""
    reporter = _Reporter(progress_fd)
    report = reporter.report
    if sandbox is not None:
        report("sandbox", **sandbox)
    signal.signal(signal.SIGALRM, _raise_timeout)
    owner = os.getpid()
    namespace = _load_module(job, report, owner)
    if contained:
        _kill_strays()
    if namespace is None:
        return
    for function, seconds in (timed_out or {}).items():
        _bound(namespace, function, seconds)
    skip = set(skip)
    for index in range(start, len(job["calls"])):
        call = job["calls"][index]
        if call["function"] in skip:
            report("done", call=index, status="skipped")
            continue
        report("start", call=index)
        outcome = _make_call(namespace, call, owner)
        if contained:
            _kill_strays()
        if outcome["status"] == "timeout":  # its other cases would only time out too
            skip.add(call["function"])
            _bound(namespace, call["function"], call["timeout"])
        _flush()  # what the call printed is kept even if a later call kills the process
        report("done", call=index, **outcome)
    report("finished")


class _Reporter:
    """Writes events to the progress pipe; if the student's code closed or replaced that
    file descriptor, the process ends with EXIT_LOST_PIPE instead of writing elsewhere."""

    def __init__(self, fd: int):
        self.fd = fd
        self.identity = _identity(fd)

    def check(self):
        if _identity(self.fd) != self.identity:
            os._exit(EXIT_LOST_PIPE)

    def report(self, event, **fields):
        line = json.dumps({"event": event, **fields})
        if len(line) > MAX_EVENT_CHARS:
            line = json.dumps({"event": event, "call": fields.get("call"), "status": "ok",
                               "output": {"__unsupported__": "result",
                                          "text": f"a result of {len(line) / 2**20:.0f} MB"}})
        data = (line + "\n").encode("utf-8")
        self.check()
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError:
            os._exit(EXIT_LOST_PIPE)


def _identity(fd):
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _load_module(job, report, owner):
    source, filename = job["source"], job["filename"]
    namespace = {"__name__": job.get("module_name", "student"), "__file__": filename,
                 "__builtins__": __builtins__}
    # tracebacks read lines through linecache; a notebook's code has no file of its own
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    started = time.perf_counter()
    try:
        code = compile(source, filename, "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: a null byte in the source
        report("module", status="syntax", exception=_syntax_info(exc))
        return None
    signal.setitimer(signal.ITIMER_REAL, job["import_timeout"])
    try:
        exec(code, namespace)
    except CallTimeout:
        _only_owner(owner)
        report("module", status="timeout", seconds=time.perf_counter() - started)
        return None
    except BaseException as exc:  # the student's top level may raise anything, even SystemExit
        signal.setitimer(signal.ITIMER_REAL, 0)
        _only_owner(owner)
        report("module", status="exception", exception=_exception_info(exc, filename))
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    _only_owner(owner)
    report("module", status="ok", seconds=time.perf_counter() - started)
    return namespace


def _make_call(namespace, call, owner) -> dict:
    func = namespace.get(call["function"])
    if not callable(func):
        return {"status": "missing"}
    args = [wire.decode(tree, testfuncs.get) for tree in call["args"]]  # fresh for every call
    started = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, call["timeout"])
    try:
        result = func(*args)
        status, exception = "ok", None
    except CallTimeout:
        result, status, exception = None, "timeout", None
    except MemoryError as exc:
        result, status, exception = None, "memory", _exception_info(exc, namespace["__file__"])
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are the student's too
        result, status = None, "exception"
        exception = _exception_info(exc, namespace["__file__"])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    _only_owner(owner)
    seconds = time.perf_counter() - started
    output = _encode(result) if status == "ok" else None
    after = [_encode(a) for a in args]
    return {"status": status, "output": output, "after": after, "exception": exception,
            "seconds": seconds}


def _bound(namespace, name, seconds):
    """From now on `name` keeps its own time limit when another function calls it: a
    function that looped in its own check stops the caller after `seconds`, not after the
    caller's (maybe much longer) limit. The caller's call then ends as a timeout."""
    func = namespace.get(name)
    if not callable(func) or getattr(func, "_gradewise_bounded", False):
        return

    @functools.wraps(func)
    def bounded(*args, **kwargs):
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        if 0 < left <= seconds:  # the caller's own limit comes first (also: recursion)
            return func(*args, **kwargs)
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return func(*args, **kwargs)
        finally:
            rest = left - (time.monotonic() - started) if left else 0
            signal.setitimer(signal.ITIMER_REAL, max(rest, 1e-3) if left else 0)

    bounded._gradewise_bounded = True
    namespace[name] = bounded


def _encode(value):
    try:
        return wire.encode(value)
    except BaseException as exc:  # a structure nested too deeply, a hostile __index__, ...
        return {"__unsupported__": type(value).__name__,
                "text": f"could not be sent back ({type(exc).__name__})"}


def _only_owner(owner):
    """A copy forked by the student's code returns here too: only the original reports."""
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
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    except BaseException:  # a traceback is the student's object too
        frames = []
    return {"type": type(exc).__name__, "message": _safe_str(exc)[:2000],
            "lines": [[f.lineno, f.name, (f.line or "")[:300]] for f in frames[-5:]]}


def _syntax_info(exc) -> dict:
    if not isinstance(exc, SyntaxError):
        return {"type": type(exc).__name__, "message": _safe_str(exc)[:2000], "lines": []}
    return {"type": "SyntaxError", "message": str(exc.msg),
            "lines": [[exc.lineno or 0, "<module>", (exc.text or "").rstrip()[:300]]]}


def _safe_str(exc) -> str:
    try:
        return str(exc)
    except BaseException:  # a hostile __str__
        return f"<{type(exc).__name__}>"


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
