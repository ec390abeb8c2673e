"""Run untrusted student code in a child process and bring back plain data.

Process layout:

    grade (trusted parent) ──fork──▶ zygote (clean: numpy + grader plumbing, no solutions)
                                        └─fork──▶ sandbox (one per run, its own session)
                                                    └─fork──▶ init (pid 1 of a new pid namespace)
                                                                └─fork──▶ student process

The zygote is forked as soon as numpy is imported, before any reference solution is loaded,
so no process that runs student code ever has a solution in memory. If the zygote dies (the
student's code may signal its parent where namespaces are unavailable), a replacement is
started from a fresh interpreter (`python -c`), never forked from the parent, which by then
may hold solutions.

One run (one student file) gets one sandbox. Where Linux allows it (root, or unprivileged
user namespaces), its init is pid 1 of new pid, mount, network and IPC namespaces:
the filesystem is read-only, /tmp is private and empty, the course's solutions and
exercises, the submissions and the output folder are hidden under empty mounts, there is
no network, and when the init ends the kernel kills every process of the sandbox. The
student process drops to a user of its own (root: uid UID_BASE + zygote pid) or loses its
capabilities (user namespace), with no_new_privs, resource limits (address space, file
size, processes, CPU time) and a scrubbed environment. Where namespaces are unavailable,
the zygote is a child subreaper and kills whatever the run left behind. `grader.isolation`
does all this; SECURITY.md says what holds in each case.

Each call has its own alarm in the student process, and the parent enforces wall-clock
deadlines itself (per call and for the whole run) by killing the sandbox. If a call kills
the student process (an infinite loop, `os._exit`, a segfault), that call is recorded and a
fresh sandbox goes on with the next call, so one misbehaving function never costs the
others their points.
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
from dataclasses import asdict, dataclass

from . import child, wire
from .course import BUNDLED
from .isolation import signal_name as _signal_name, zygote

GRACE_SECONDS = 1.0  # after a call's own alarm, before the parent kills the sandbox
BETWEEN_CALLS_SECONDS = 10.0  # decoding inputs and saving outputs between two calls
ZYGOTE_REPLY_SECONDS = 5.0  # after a kill, for the zygote to report the sandbox's end
ZYGOTE_START_SECONDS = 30.0  # for the zygote to start a sandbox (a fresh one imports numpy)
_MAX_EVENT_BYTES = 64 * 2 ** 20  # above child.MAX_EVENT_CHARS: only garbage is longer


@dataclass(frozen=True)
class Limits:
    call_timeout: float = 5.0  #: seconds of wall time per call, unless the check says more
    import_timeout: float = 10.0  #: seconds for the module's top-level code
    memory_bytes: int = 2 * 2 ** 30  #: address space the worker may add to what it starts with
    output_bytes: int = 64 * 1024  #: printed output kept (the rest is counted and dropped)
    file_bytes: int = 256 * 2 ** 20  #: largest file the worker may write
    tmp_bytes: int = 64 * 2 ** 20  #: size of the sandbox's private /tmp (namespaces)
    processes: int = 64  #: processes and threads of the sandbox's user (not when it is yours)
    namespaces: bool = True  #: use pid/mount/network namespaces where Linux allows it
    drop_user: bool = True  #: as root, run student code as an unprivileged user of its own


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
    isolation: str = ""  #: what the sandbox enforced, in words
    exposed: list = None  #: hidden paths the student's code could still read (should be [])


class Sandbox:
    """A clean process, forked before any secret is loaded, that starts one sandbox per run.

    `hide`: folders the student's code must not see (solutions, submissions, output)."""

    def __init__(self, limits: Limits | None = None, hide=()):
        self.limits = limits or Limits()
        self.hide = _existing_dirs([*hide, BUNDLED / "solutions", BUNDLED / "exercises"])
        self.isolation, self.exposed = "", []
        self.restarts = 0
        self._sock = None
        self._start_zygote(fresh=False)

    def _start_zygote(self, fresh: bool) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        parent_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if fresh:
            pid = _spawn_fresh_zygote(zygote_end, self.limits, self.hide)
        else:
            pid = os.fork()
            if pid == 0:  # zygote
                parent_end.close()
                try:
                    zygote(zygote_end, self.limits, self.hide)
                finally:
                    os._exit(0)
        zygote_end.close()
        parent_end.settimeout(ZYGOTE_START_SECONDS)  # it answers at once, unless it is stuck
        self._sock, self._zygote_pid = parent_end, pid

    def close(self) -> None:
        if self._sock is None:
            return
        self._sock.close()  # the zygote exits on EOF
        self._sock = None
        _reap(self._zygote_pid, patience=2.0)

    def _replace_zygote(self) -> None:
        """The zygote died or stopped answering: a new one, from a fresh interpreter."""
        self._sock.close()
        self._sock = None
        _reap(self._zygote_pid, patience=0.0)
        self.restarts += 1
        self._start_zygote(fresh=True)

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
        outcome = RunOutcome(calls=[None] * len(calls), exposed=[])
        output = _BoundedOutput(self.limits.output_bytes)
        start, skip, timed_out = 0, [], {}
        while start < len(calls) or start == 0:
            watch = _Watch(calls, start, outcome, output, self.limits)
            pid, fds = self._start_sandbox(job_dir, start, skip, timed_out)
            watch.follow(pid, fds, self._sock)
            if watch.zygote_lost:
                self._replace_zygote()
            if outcome.module_status != "ok":
                break
            pending = next((i for i, c in enumerate(outcome.calls) if c is None), None)
            if pending is None:
                break
            outcome.calls[pending] = watch.lost_call_outcome()
            skip.append(calls[pending].function)
            if outcome.calls[pending].status == "timeout":
                timed_out[calls[pending].function] = calls[pending].timeout
            start = pending + 1
        for i, call in enumerate(outcome.calls):
            if call is None:
                outcome.calls[i] = CallOutcome("skipped")
        outcome.output, outcome.output_dropped = output.text(), output.dropped
        self.isolation, self.exposed = outcome.isolation, outcome.exposed
        return outcome

    def _start_sandbox(self, job_dir, start, skip, timed_out):
        command = json.dumps({"job": job_dir, "start": start, "skip": skip,
                              "timed_out": timed_out}).encode()
        for attempt in range(2):
            try:
                self._sock.send(command)
                message, fds, _, _ = socket.recv_fds(self._sock, 1024, 2)
                if message and len(fds) == 2:
                    return json.loads(message)["pid"], fds
                for fd in fds:
                    os.close(fd)
            except OSError:
                pass
            if attempt == 0:
                self._replace_zygote()
        raise RuntimeError("the grader's sandbox process could not be started")


class _Watch:
    """Follows one sandbox: reads its events and output, enforces the wall-clock limits."""

    def __init__(self, calls, start, outcome: RunOutcome, output, limits: Limits):
        self.calls, self.outcome, self.output = calls, outcome, output
        self.import_timeout = limits.import_timeout
        # whatever the events say, the whole run ends by then (forged events cannot stretch it)
        budget = limits.import_timeout + sum(c.timeout for c in calls[start:])
        self.hard_deadline = time.monotonic() + budget + BETWEEN_CALLS_SECONDS + \
            GRACE_SECONDS * (len(calls) - start + 1)
        self.module_seen = False
        self.running: int | None = None
        self.killed_for: str | None = None
        self.exit_status: int | None = None
        self.note = ""
        self.zygote_lost = False
        self._started = 0.0
        self._buffer = bytearray()

    def follow(self, pid, fds, sock):
        out_fd, progress_fd = fds
        deadline = min(time.monotonic() + self.import_timeout + GRACE_SECONDS,
                       self.hard_deadline)
        open_fds = {out_fd, progress_fd}
        try:
            while self.exit_status is None and not self.zygote_lost:
                timeout = max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select(list(open_fds) + [sock], [], [], timeout)
                if not ready:
                    if self.killed_for is None:
                        self.killed_for = "timeout"
                        _kill_sandbox(pid)
                        deadline = time.monotonic() + ZYGOTE_REPLY_SECONDS
                    else:  # killed, yet the zygote does not say so: it is gone or stuck
                        self.zygote_lost = True
                    continue
                for fd in ready:
                    if fd is sock:
                        self._zygote_message(sock)
                    elif self._read(fd, out_fd, open_fds) and self.killed_for is None:
                        deadline = min(self._deadline(deadline), self.hard_deadline)
            for fd in list(open_fds):
                while self._read(fd, out_fd, open_fds, block=False):
                    pass
        finally:
            if self.exit_status is None and not self.zygote_lost:  # also on Ctrl-C
                _kill_sandbox(pid)
            for fd in (out_fd, progress_fd):
                os.close(fd)
        if not self.module_seen:
            self.outcome.module_status = "timeout" if self.killed_for else "crashed"
            self.outcome.module_detail = self._how_it_ended()

    def _zygote_message(self, sock):
        try:
            message = json.loads(sock.recv(1024) or b"null")
        except (OSError, ValueError):
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("exit"), int):
            self.zygote_lost = True  # EOF: the zygote died (killed by the student's code?)
            return
        self.exit_status, self.note = message["exit"], str(message.get("note") or "")

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
            self._handle(kind, event)
        except (ValueError, KeyError, TypeError, RecursionError, AttributeError):
            return  # garbage written into the progress pipe by the student's code

    def _handle(self, kind, event):
        if kind == "sandbox" and not self.outcome.isolation:
            self.outcome.isolation = str(event.get("isolation"))[:500]
            self.outcome.exposed = [str(p)[:300] for p in (event.get("exposed") or [])][:20]
        elif kind == "module" and not self.module_seen:
            self.module_seen = True
            self.outcome.module_status = str(event.get("status"))
            self.outcome.module_exception = _exception(event.get("exception"))
            if event.get("status") == "timeout":
                self.outcome.module_detail = "timeout"
        elif kind == "start" and self.module_seen:
            index = int(event["call"])
            if 0 <= index < len(self.calls):
                self.running, self._started = index, time.monotonic()
        elif kind == "done":
            index = int(event["call"])
            known = 0 <= index < len(self.calls) and self.outcome.calls[index] is None
            # a result counts only for the call that was started (or a skip, which only loses)
            if known and (index == self.running or event.get("status") == "skipped"):
                self.outcome.calls[index] = self._call_outcome(index, event)
                self.running = None

    def _call_outcome(self, index, event) -> CallOutcome:
        status = str(event.get("status"))
        if status not in ("ok", "exception", "timeout", "memory", "missing", "skipped"):
            status = "crashed"
        try:
            value = wire.decode(event.get("output")) if status == "ok" else None
            after = [wire.decode(a) for a in event.get("after") or []]
        except (ValueError, KeyError, TypeError, RecursionError, AttributeError) as exc:
            return CallOutcome("crashed", detail=f"the result could not be read back "
                                                 f"({type(exc).__name__})")
        detail = "timeout" if status == "timeout" else ""
        try:
            seconds = float(event.get("seconds") or 0.0)
        except (TypeError, ValueError):
            seconds = 0.0
        return CallOutcome(status, value, after, _exception(event.get("exception")),
                           seconds, detail)

    def lost_call_outcome(self) -> CallOutcome:
        """The call that was running when the sandbox died or was killed."""
        if self.killed_for == "timeout":
            return CallOutcome("timeout", detail="timeout")
        return CallOutcome("crashed", detail=self._how_it_ended())

    def _how_it_ended(self) -> str:
        status = self.exit_status
        if self.killed_for:
            return "timeout"
        if self.zygote_lost:
            return ("the process that supervises your code was killed (did your code signal "
                    "its parent process?)")
        if self.note:
            return self.note
        if status is None:
            return "the process ended"
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGXCPU:
                return "the CPU-time limit was reached"
            if sig == signal.SIGKILL:
                return "the process was killed (SIGKILL), most likely for using too much memory"
            return f"the process was killed by signal {_signal_name(sig)}"
        code = os.WEXITSTATUS(status)
        if code == child.EXIT_LOST_PIPE:
            return ("your code closed or replaced a file descriptor the grader uses to talk to "
                    "it (never close file descriptors you did not open)")
        return f"the process exited with code {code} (sys.exit or os._exit)"


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
            try:
                lines.append((int(entry[0]), str(entry[1])[:100], str(entry[2])[:300]))
            except (TypeError, ValueError):
                continue
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


def _kill_sandbox(pid):
    """SIGKILL the sandbox init (with a pid namespace, the kernel then kills every process
    in it) and its process group. Only while the zygote has not reaped it: after that the
    pid may belong to someone else."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _reap(pid, patience: float):
    """Wait for a zygote to exit; kill it if it takes longer than `patience` seconds."""
    deadline = time.monotonic() + patience
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if time.monotonic() >= deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            return
        time.sleep(0.005)


def _existing_dirs(paths) -> tuple[str, ...]:
    found = []
    for path in paths:
        try:
            resolved = os.path.realpath(path)
        except (OSError, ValueError):
            continue
        if os.path.isdir(resolved) and resolved not in found:
            found.append(resolved)
    return tuple(found)


def _spawn_fresh_zygote(sock, limits: Limits, hide) -> int:
    """A zygote in a new interpreter: it has never seen the parent's memory."""
    settings = json.dumps({"limits": asdict(limits), "hide": list(hide), "fd": sock.fileno(),
                           "parent": os.getpid(), "path": sys.path})
    code = ("import json, sys; s = json.loads(sys.argv[1]); sys.path[:] = s['path']; "
            "from grader.isolation import fresh_zygote_main; fresh_zygote_main(s)")
    os.set_inheritable(sock.fileno(), True)
    try:
        return os.posix_spawn(sys.executable, [sys.executable, "-I", "-c", code, settings],
                              dict(os.environ))
    finally:
        os.set_inheritable(sock.fileno(), False)


