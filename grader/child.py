"""What runs inside the worker process: load the student's module, make the calls.

This module is imported by the parent *before* any reference solution is loaded and the
worker is forked from a clean process (see `grader.runner`), so the worker's memory holds
numpy, the grader's plumbing and the test functions, never a solution.

The worker reports through a progress pipe, one JSON line per event:
`{"event": "start", "call": i}` before a call, `{"event": "done", "call": i, ...}` after it,
`{"event": "module", ...}` once the module is loaded (or failed to). Values are encoded by
`grader.wire`. The parent treats all of it as untrusted data.
"""

from __future__ import annotations

import json
import linecache
import os
import signal
import sys
import time
import traceback

from . import testfuncs, wire


class CallTimeout(BaseException):
    """Raised inside the student's code when its call exceeds the time limit."""


def run_job(job_dir: str, start: int, skip: list[str], progress_fd: int) -> None:
    with open(os.path.join(job_dir, "job.json"), encoding="utf-8") as fh:
        job = json.load(fh)
    progress = os.fdopen(progress_fd, "w", buffering=1, encoding="utf-8")

    def report(event, **fields):
        progress.write(json.dumps({"event": event, **fields}) + "\n")

    signal.signal(signal.SIGALRM, _raise_timeout)
    namespace = _load_module(job, report)
    if namespace is None:
        return
    skip = set(skip)
    for index in range(start, len(job["calls"])):
        call = job["calls"][index]
        if call["function"] in skip:
            report("done", call=index, status="skipped")
            continue
        report("start", call=index)
        outcome = _make_call(namespace, call)
        if outcome["status"] == "timeout":  # its other cases would only time out too
            skip.add(call["function"])
        report("done", call=index, **outcome)
    report("finished")


def _load_module(job, report):
    source, filename = job["source"], job["filename"]
    namespace = {"__name__": job.get("module_name", "student"), "__file__": filename,
                 "__builtins__": __builtins__}
    # tracebacks read lines through linecache; a notebook's code has no file of its own
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    started = time.perf_counter()
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as exc:
        report("module", status="syntax", exception=_syntax_info(exc))
        return None
    signal.setitimer(signal.ITIMER_REAL, job["import_timeout"])
    try:
        exec(code, namespace)
    except CallTimeout:
        report("module", status="timeout", seconds=time.perf_counter() - started)
        return None
    except BaseException as exc:  # the student's top level may raise anything, even SystemExit
        signal.setitimer(signal.ITIMER_REAL, 0)
        report("module", status="exception", exception=_exception_info(exc, filename))
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    report("module", status="ok", seconds=time.perf_counter() - started)
    return namespace


def _make_call(namespace, call) -> dict:
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
    seconds = time.perf_counter() - started
    output = wire.encode(result) if status == "ok" else None
    after = [wire.encode(a) for a in args]
    return {"status": status, "output": output, "after": after, "exception": exception,
            "seconds": seconds}


def _raise_timeout(signum, frame):
    raise CallTimeout()


def _exception_info(exc, filename) -> dict:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return {"type": type(exc).__name__, "message": _safe_str(exc)[:2000],
            "lines": [[f.lineno, f.name, (f.line or "")[:300]] for f in frames[-5:]]}


def _syntax_info(exc: SyntaxError) -> dict:
    return {"type": "SyntaxError", "message": str(exc.msg),
            "lines": [[exc.lineno or 0, "<module>", (exc.text or "").rstrip()[:300]]]}


def _safe_str(exc) -> str:
    try:
        return str(exc)
    except BaseException:  # a hostile __str__
        return f"<{type(exc).__name__}>"


def worker_exit(code: int = 0) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
