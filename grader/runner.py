"""Run untrusted student code in a child process and bring back plain data.

Process layout:

    grade (trusted parent) ──fork──▶ zygote (clean: numpy + grader plumbing, no solutions)
                                        └─fork──▶ worker (new session, limits, scrubbed env)
                                                    runs the student's module and calls

The zygote is forked as soon as numpy is imported, before any reference solution is loaded,
so no worker ever has a solution in memory. Each worker runs in its own session; when it
ends, times out or crashes, its whole process group is killed. If a call kills the worker
(an infinite loop, `os._exit`, a segfault), that call is recorded and a fresh worker goes on
with the next call, so one misbehaving function never costs the others their points.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field

from . import wire

GRACE_SECONDS = 1.0  # after a call's own alarm, before the parent kills the worker
BETWEEN_CALLS_SECONDS = 10.0  # decoding inputs and saving outputs between two calls
_MAX_EVENT_BYTES = 256 * 2 ** 20


@dataclass(frozen=True)
class Limits:
    call_timeout: float = 5.0  #: seconds of wall time per call, unless the check says more
    import_timeout: float = 10.0  #: seconds for the module's top-level code
    memory_bytes: int = 2 * 2 ** 30  #: address space the worker may add to what it starts with
    output_bytes: int = 64 * 1024  #: printed output kept (the rest is counted and dropped)
    file_bytes: int = 256 * 2 ** 20  #: largest file the worker may write


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple
    timeout: float


@dataclass
class CallOutcome:
    """What happened to one call: `status` is ok | exception | timeout | memory | crashed |
    missing | skipped; `exception` holds type, message and the student's own lines."""

    status: str
    value: object = None
    args_after: list | None = None
    exception: dict | None = None
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RunOutcome:
    calls: list[CallOutcome]
    module_status: str = "ok"  #: ok | syntax | exception | timeout | crashed
    module_exception: dict | None = None
    module_detail: str = ""
    output: str = ""
    output_dropped: int = 0


class Sandbox:
    """A clean process, forked before any secret is loaded, that forks one worker per run."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        sys.stdout.flush()
        sys.stderr.flush()
        parent_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # zygote
            parent_end.close()
            try:
                _zygote(zygote_end, self.limits)
            finally:
                os._exit(0)
        zygote_end.close()
        self._sock, self._zygote_pid = parent_end, pid

    def close(self) -> None:
        if self._sock is None:
            return
        self._sock.close()  # the zygote exits on EOF
        try:
            os.waitpid(self._zygote_pid, 0)
        except ChildProcessError:
            pass
        self._sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def run(self, source: str, filename: str, calls: list[Call]) -> RunOutcome:
        job_dir = tempfile.mkdtemp(prefix="gradewise-")
        try:
            return self._run(job_dir, source, filename, calls)
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)

    def _run(self, job_dir, source, filename, calls) -> RunOutcome:
        _write_job(job_dir, source, filename, calls, self.limits)
        outcome = RunOutcome(calls=[None] * len(calls))
        output = _BoundedOutput(self.limits.output_bytes)
        start, skip = 0, []
        while start < len(calls) or start == 0:
            watch = _Watch(job_dir, calls, outcome, output, self.limits.import_timeout)
            self._sock.send(json.dumps({"job": job_dir, "start": start, "skip": skip}).encode())
            message, fds, _, _ = socket.recv_fds(self._sock, 1024, 2)
            watch.follow(json.loads(message)["pid"], fds, self._sock)
            if outcome.module_status != "ok":
                break
            pending = next((i for i, c in enumerate(outcome.calls) if c is None), None)
            if pending is None:
                break
            outcome.calls[pending] = watch.lost_call_outcome()
            skip.append(calls[pending].function)
            start = pending + 1
        for i, call in enumerate(outcome.calls):
            if call is None:
                outcome.calls[i] = CallOutcome("skipped")
        outcome.output, outcome.output_dropped = output.text(), output.dropped
        return outcome


class _Watch:
    """Follows one worker: reads its events and output, enforces the wall-clock limits."""

    def __init__(self, job_dir, calls, outcome: RunOutcome, output, import_timeout):
        self.job_dir, self.calls, self.outcome, self.output = job_dir, calls, outcome, output
        self.import_timeout = import_timeout
        self.module_seen = False
        self.finished = False
        self.running: int | None = None
        self.killed_for: str | None = None
        self.exit_status: int | None = None
        self._buffer = bytearray()

    def follow(self, pid, fds, sock):
        out_fd, progress_fd = fds
        deadline = time.monotonic() + self.import_timeout + GRACE_SECONDS
        open_fds = {out_fd, progress_fd}
        try:
            while self.exit_status is None:
                timeout = max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select(list(open_fds) + [sock], [], [], timeout)
                if not ready:
                    self.killed_for = "timeout"
                    _kill_group(pid)
                    deadline = time.monotonic() + 5
                    continue
                for fd in ready:
                    if fd is sock:
                        self.exit_status = json.loads(sock.recv(1024))["exit"]
                    elif self._read(fd, out_fd, open_fds):
                        deadline = self._deadline(deadline)
            _kill_group(pid)  # leftover grandchildren share the worker's process group
            for fd in list(open_fds):
                while self._read(fd, out_fd, open_fds, block=False):
                    pass
        finally:
            _kill_group(pid)  # also when the parent itself is interrupted
            for fd in (out_fd, progress_fd):
                os.close(fd)
        if not self.module_seen:
            self.outcome.module_status = "timeout" if self.killed_for else "crashed"
            self.outcome.module_detail = self._how_it_ended()

    def _read(self, fd, out_fd, open_fds, block=True) -> bool:
        if fd not in open_fds:
            return False
        if not block and not select.select([fd], [], [], 0)[0]:
            return False
        data = os.read(fd, 65536)
        if not data:
            open_fds.discard(fd)
            return False
        if fd == out_fd:
            self.output.add(data)
            return False
        scanned = len(self._buffer)  # a long line arrives in many reads: scan each byte once
        self._buffer += data
        while (end := self._buffer.find(b"\n", scanned)) >= 0:
            self._event(bytes(self._buffer[:end]))
            del self._buffer[:end + 1]
            scanned = 0
        if len(self._buffer) > _MAX_EVENT_BYTES:
            self._buffer.clear()
        return True

    def _deadline(self, current):
        if self.running is not None:
            return self._started + self.calls[self.running].timeout + GRACE_SECONDS
        return time.monotonic() + BETWEEN_CALLS_SECONDS if self.module_seen else current

    def _event(self, line: bytes):
        try:
            event = json.loads(line)
            kind = event["event"]
        except (ValueError, KeyError, TypeError):
            return  # garbage written into the progress pipe by the student's code
        if kind == "module" and not self.module_seen:
            self.module_seen = True
            self.outcome.module_status = str(event.get("status"))
            self.outcome.module_exception = _exception(event.get("exception"))
            if event.get("status") == "timeout":
                self.outcome.module_detail = "timeout"
        elif kind == "start":
            self.running, self._started = int(event["call"]), time.monotonic()
        elif kind == "done":
            index = int(event["call"])
            if 0 <= index < len(self.calls) and self.outcome.calls[index] is None:
                self.outcome.calls[index] = self._call_outcome(index, event)
            self.running = None
        elif kind == "finished":
            self.finished = True

    def _call_outcome(self, index, event) -> CallOutcome:
        status = str(event.get("status"))
        try:
            value = wire.decode(event.get("output")) if status == "ok" else None
            after = [wire.decode(a) for a in event.get("after") or []]
        except (ValueError, KeyError, TypeError) as exc:
            return CallOutcome("crashed", detail=f"the result could not be read back ({exc})")
        detail = "timeout" if status == "timeout" else ""
        return CallOutcome(status, value, after, _exception(event.get("exception")),
                           float(event.get("seconds") or 0.0), detail)

    def lost_call_outcome(self) -> CallOutcome:
        """The call that was running when the worker died or was killed."""
        if self.killed_for == "timeout":
            return CallOutcome("timeout", detail="timeout")
        return CallOutcome("crashed", detail=self._how_it_ended())

    def _how_it_ended(self) -> str:
        status = self.exit_status
        if self.killed_for:
            return "timeout"
        if status is None:
            return "the process ended"
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGXCPU:
                return "the CPU-time limit was reached"
            if sig == signal.SIGKILL:
                return "the process was killed (SIGKILL), most likely for using too much memory"
            return f"the process was killed by signal {signal.Signals(sig).name}"
        return f"the process exited with code {os.WEXITSTATUS(status)} (sys.exit or os._exit)"


class _BoundedOutput:
    def __init__(self, limit):
        self.limit, self.kept, self.dropped = limit, bytearray(), 0

    def add(self, data: bytes):
        room = self.limit - len(self.kept)
        self.kept += data[:max(room, 0)]
        self.dropped += max(len(data) - max(room, 0), 0)

    def text(self) -> str:
        return self.kept.decode("utf-8", errors="replace")


def _exception(info) -> dict | None:
    if not isinstance(info, dict):
        return None
    lines = []
    for entry in info.get("lines") or []:
        if isinstance(entry, list) and len(entry) == 3:
            lines.append((int(entry[0]), str(entry[1])[:100], str(entry[2])[:300]))
    return {"type": str(info.get("type", "Exception"))[:100],
            "message": str(info.get("message", ""))[:2000], "lines": lines[-5:]}


def _write_job(job_dir, source, filename, calls, limits: Limits):
    from . import testfuncs
    names = {id(testfuncs.get(n)): n for n in testfuncs.NAMES}
    encoded = [{"function": c.function, "timeout": c.timeout,
                "args": [wire.encode(a, names) for a in c.args]} for c in calls]
    job = {"source": source, "filename": filename, "calls": encoded,
           "import_timeout": limits.import_timeout}
    with open(os.path.join(job_dir, "job.json"), "w", encoding="utf-8") as fh:
        json.dump(job, fh)
    os.mkdir(os.path.join(job_dir, "work"))


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# -- inside the zygote and the worker --------------------------------------------------------

def _zygote(sock, limits: Limits):
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        message = sock.recv(65536)
        if not message:
            return
        command = json.loads(message)
        out_r, out_w = os.pipe()
        progress_r, progress_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            sock.close()
            os.close(out_r)
            os.close(progress_r)
            _worker(command, limits, out_w, progress_w)
        os.close(out_w)
        os.close(progress_w)
        socket.send_fds(sock, [json.dumps({"pid": pid}).encode()], [out_r, progress_r])
        os.close(out_r)
        os.close(progress_r)
        _, status = os.waitpid(pid, 0)
        sock.send(json.dumps({"exit": status}).encode())


def _worker(command, limits: Limits, out_w, progress_w):
    from . import child
    try:
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _die_with_parent()
        _apply_limits(limits)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        progress = os.dup(progress_w)
        for fd in (devnull, out_w, progress_w):
            os.close(fd)
        # The parent's sys.stdout may be pytest's capture or a Jupyter stream, and may be
        # unbuffered (PYTHONUNBUFFERED): give the student plain buffered streams on fds 1, 2.
        import io
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                      errors="replace")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                      errors="replace", line_buffering=True)
        job_dir = command["job"]
        work = os.path.join(job_dir, "work")
        os.chdir(work)
        os.environ.clear()
        os.environ.update({"PATH": "/usr/bin:/bin", "HOME": work, "LANG": "C.UTF-8",
                           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
        child.run_job(job_dir, int(command["start"]), list(command["skip"]), progress)
    except BaseException:  # anything escaping here is the grader's bug, shown on stderr
        import traceback
        traceback.print_exc()
    finally:
        child.worker_exit(0)


def _apply_limits(limits: Limits):
    import resource
    vm_now = _vm_size()
    resource.setrlimit(resource.RLIMIT_AS, (vm_now + limits.memory_bytes,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _die_with_parent():
    """Ask Linux to SIGKILL this process when its parent dies (no orphans after a crash)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
