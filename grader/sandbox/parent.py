"""Run untrusted student code in a sandbox and bring back plain data: the trusted side.

Process layout:

    grade (trusted parent) ──fork──▶ zygote (clean: numpy + grader plumbing, no solutions)
                                        └─fork──▶ sandbox (one per run, its own session)
                                                    └─fork──▶ init (pid 1 of a new pid namespace)
                                                                └─fork──▶ student process

The zygote is forked as soon as numpy is imported, before any reference solution is loaded,
so no process that runs student code ever has a solution in memory. If the zygote dies (the
student's code may signal its parent where namespaces are unavailable), a replacement is
started from a fresh interpreter (`python -I -c`), never forked from the parent.
`grader.sandbox.isolation` builds the sandbox; SECURITY.md says what holds where.

**The parent drives, the child answers.** The parent and the student process share two socket
pairs and nothing else: the channel and the acknowledgements. The parent sends the source
(`load`), then one call at a time, each with a fresh random nonce; it starts the call's clock
when it sends, and kills the sandbox when the call's time is up (a call's own alarm in the
student process usually ends it first). The student process writes the nonce on the
acknowledgements before any of the call's code runs (read by the parent only when it must know
whether a call had begun), with the number of bytes it had written on the channel until then
(so that a frame read late but written before the call began is not charged to it), then
answers on the channel. The parent accepts exactly one answer
frame, carrying that nonce, for the request it is waiting on. Any other frame — a second
answer, an answer to an earlier call, bytes that are not a frame, a frame beyond the bounds —
is the submission's misbehaviour: the call it belongs to scores 0 with a message, the sandbox
is replaced, and the other calls go on in a fresh one. So nothing the student's code writes
can start, restart, end or attribute another call: it can at most answer the one call it was
just given, which is no more than returning a value. While a call runs, the parent decodes the
answer before it and prepares the request after it.

**The input after the call** (did the function modify its argument?) is read by the parent
itself: a call's arrays live in memory the parent shares with that call only (`SharedArgs`),
and as soon as the answer comes the parent reads them back (`pread`). Only a container's
entries being replaced or added (`params["W"] = ...`) is reported by the student process.

**Bounds.** Every byte from the child is counted before anything is built from it: an answer
frame is at most `frames.MAX_HEADER_BYTES` of JSON plus `frames.MAX_BLOB_BYTES` of arrays,
decoded within `wire`'s depth and item bounds; results kept over a whole run are at most
`RESULT_BYTES_PER_RUN`; printed output is kept up to `Limits.output_bytes`. Deadlines are
checked on every turn of the reading loop, so a child that keeps its pipes full cannot stall
the parent. Peak memory: the parent grows by at most about `PARENT_MEMORY_BOUND` bytes
whatever the child sends (measured by tests/test_forgery.py).
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import sys
import time
from dataclasses import asdict

from grader.safetext import visible

from . import frames, wire
from .harness import EXIT_GRADER_FAILED, EXIT_LOST_CHANNEL
from .isolation import signal_name, zygote
from .types import Call, CallOutcome, Limits, RunOutcome

GRACE_SECONDS = 1.0  #: beyond a call's wall-clock backstop, before the parent kills the sandbox
#: limits count CPU time (a busy machine slows code down without bringing it closer to its
#: limit); the wall clock is a backstop this many times larger (sleeping code uses no CPU)
WALL_FACTOR = 3.0
RELOOP_SHARE, RELOOP_SECONDS = 0.1, 0.25  #: a looped function's limit inside other calls
LATE_SECONDS = 0.05  #: CPU time past a call's limit that still counts (clock ticks, sending)
HELLO_SECONDS = 30.0  #: for a new sandbox to say which protections it got
ZYGOTE_REPLY_SECONDS = 5.0  #: after a kill, for the zygote to report the sandbox's end
ZYGOTE_START_SECONDS = 30.0  #: for the zygote to start a sandbox (a fresh one imports numpy)
RUN_MARGIN_SECONDS = 10.0  #: beyond the sum of the timeouts, for a whole run with restarts
RESULT_BYTES_PER_RUN = 128 * 2 ** 20  #: array bytes of results kept over one run
OUTPUT_CHUNK = 65536  #: bytes read from the student's output per turn
MAX_STRAY = 16  #: stray frames remembered per sandbox (their nonces, not the frames)
ITEM_BYTES = 64  #: what one decoded JSON value may cost the parent, charged to the budget
CHANNEL_CHUNK = 2 ** 20  #: bytes read from the channel per turn
ACK_LINE_BYTES = 64  #: an acknowledgement's line ("nonce offset"); longer ones are the student's
_ACK = re.compile(rb"([0-9a-f]{16}) ([0-9]{1,18})$")
#: growth of the parent's memory, whatever the child sends: one frame being read, the
#: results kept, the decoding of one header (JSON objects of at most 1 MiB of text)
PARENT_MEMORY_BOUND = frames.MAX_HEADER_BYTES * 64 + frames.MAX_BLOB_BYTES * 3 + \
    RESULT_BYTES_PER_RUN
OUTCOME_STATUSES = ("ok", "exception", "timeout", "memory", "missing")
MODULE_STATUSES = ("ok", "syntax", "exception", "timeout")
MISBEHAVED = "your code wrote to the grader's channel ({reason}); a graded function must only " \
             "return its result"
RELOAD_FAILED = ("your file did not load again after an earlier call stopped its process "
                 "(does its top-level code depend on time or chance?)")
NOT_STARTED = ("the process that runs your code stopped before this call could begin, twice "
               "(does your code leave threads, timers or processes running?)")
RUN_OUT_OF_TIME = "not run: the time for the whole file ran out (other calls crashed or timed out)"


def run_time_bound(limits: Limits, call_timeouts) -> float:
    """Seconds of wall-clock time one file may take at most (`Sandbox.run` ends it then,
    whatever happens): its import and calls at their wall-clock backstops, a grace for each,
    and a margin for the restarts after crashes. Callers waiting for a run add their own."""
    timeouts = list(call_timeouts)
    return WALL_FACTOR * (limits.import_timeout + sum(timeouts)) + \
        GRACE_SECONDS * (len(timeouts) + 2) + RUN_MARGIN_SECONDS


class Sandbox:
    """A clean process, forked before any secret is loaded, that starts one sandbox per run.

    `hide`: folders the student's code must not see (the course, submissions, output, ...).
    `run(source, filename, calls)` grades one file; the sandbox can run many files in turn.
    Raises RuntimeError only if the operating system refuses to start a sandbox at all."""

    def __init__(self, limits: Limits | None = None, hide=()):
        self.limits = limits or Limits()
        self.hide = _existing_dirs(hide)
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
        """Load `source` (tracebacks name `filename`) in a sandbox and make `calls` in order."""
        outcome = _Run(self, source, filename, calls).go()
        self.isolation, self.exposed = outcome.isolation, outcome.exposed
        return outcome

    def _start_box(self, cpu_seconds: float, output) -> "_Box":
        command = json.dumps({"cpu_seconds": cpu_seconds}).encode()
        for attempt in range(2):
            try:
                self._sock.send(command)
                message, fds, _, _ = socket.recv_fds(self._sock, 1024, 3)
                if message and len(fds) == 3:
                    return _Box(self, json.loads(message)["pid"], fds, output)
                for fd in fds:
                    os.close(fd)
            except OSError:
                pass
            if attempt == 0:
                self._replace_zygote()
        raise RuntimeError("the grader's sandbox process could not be started")


class _Box:
    """One sandbox: its process, the channel to its student process, its output pipe."""

    def __init__(self, sandbox: Sandbox, pid: int, fds, output):
        self.sandbox, self.pid, self.output = sandbox, pid, output
        self.out_fd = fds[0]
        self.channel = socket.socket(fileno=fds[1])
        self.channel.setblocking(False)
        self.acks = socket.socket(fileno=fds[2])
        self.acks.setblocking(False)
        self._ack_line = bytearray()  #: the unfinished line that came last on `acks`
        #: nonce of a request sent here → bytes the harness had written on the channel when
        #: that call began (the first acknowledgement of it: later ones may be its own code's)
        self._began: dict[str, int] = {}
        self.requested: set[str] = set()  #: nonces of the requests sent to this sandbox
        self.reader = frames.FrameReader()
        self.exit_status: int | None = None
        self.note = ""
        self.killed = False
        self.answered: int | None = None  #: the last call answered in this sandbox
        self.student: int | None = None  #: the student process's pid, as seen from here
        self.stray: list[tuple[str | None, str]] = []  #: frames that answered no request: (nonce, why)
        self.stray_end = 0  #: offset on the channel of the byte after the last of them
        self._open = {self.out_fd, self.channel.fileno()}

    # -- one request, one answer -------------------------------------------------------------

    def exchange(self, request: dict | None, fds, deadline: float, after_send=None):
        """Send `request` (None: only wait for the first frame, the hello) and wait for its
        answer until `deadline` (time.monotonic()). Returns (kind, header, blobs) with kind:
        answer | timeout | ended | misbehaved (then `header` is {"reason": ...}) | withdrawn.
        `after_send()` runs while the student process works on the request; if it returns
        False, this sandbox must not be trusted with it: nothing more is read ("withdrawn")."""
        nonce = request["nonce"] if request else None
        if nonce is not None:
            self.requested.add(nonce)
        if request is not None and not self._send(request, fds, deadline):
            return "ended", {}, []
        if after_send is not None and after_send() is False:
            return "withdrawn", {}, []
        while True:
            now = time.monotonic()
            if self.exit_status is not None:
                return "ended", {}, []
            if now >= deadline:
                return "timeout", {}, []
            wanted = [fd for fd in self._open] + [self.sandbox._sock.fileno()]
            ready, _, _ = select.select(wanted, [], [], deadline - now)
            if self.sandbox._sock.fileno() in ready:
                self._zygote_message()
            if self.out_fd in ready:
                self._read_output()
            if self.channel.fileno() in ready or self.exit_status is not None:
                found = self._read_channel(nonce, request is None)
                if found is not None:
                    return found

    def _send(self, request, fds, deadline) -> bool:
        data = request.get("packed") or frames.pack(request)
        try:  # at once, most often: a call's request is small and the channel empty
            sent = socket.send_fds(self.channel, [data[:65536]], list(fds)) if fds else \
                self.channel.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return False
        if sent == len(data):
            return True
        try:  # the rest (the source of a big file), waiting at most until `deadline`
            self.channel.setblocking(True)
            self.channel.settimeout(max(deadline - time.monotonic(), 0.001))
            if sent == 0 and fds:
                sent = socket.send_fds(self.channel, [data[:65536]], list(fds))
            self.channel.sendall(data[sent:])
            return True
        except OSError:
            return False
        finally:
            self.channel.setblocking(False)

    def _read_channel(self, nonce, hello: bool):
        """The answer to `nonce` if it came (or the hello), else None; any other frame is
        misbehaviour, and so is a frame beyond the bounds."""
        while True:
            try:
                data = self.channel.recv(CHANNEL_CHUNK)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError:
                data = b""
            if not data:  # the student process closed its end (or died): wait for its end
                self._open.discard(self.channel.fileno())
                return None if self.exit_status is None else ("ended", {}, [])
            found, broken = self.reader.feed(data)
            if broken:  # nothing more is read from it: the sandbox is ended next
                self._open.discard(self.channel.fileno())
            answer = None
            for header, blobs, end in found:
                kind = header.get("kind")
                if hello and answer is None and kind == "hello":
                    answer = ("answer", header, blobs)
                elif not hello and header.get("nonce") == nonce and kind == "answer" and \
                        answer is None:
                    answer = ("answer", header, blobs)
                else:
                    self._stray(header.get("nonce"), "a frame that answered no request", end)
            found = None  # the parsed headers go now: only their nonces are kept
            if broken:
                self._stray(None, broken, self.reader.fed)
            if self.stray:
                return "misbehaved", {"reason": self.stray[-1][1]}, []
            if answer is not None:
                return answer

    def cpu_seconds(self) -> float | None:
        """CPU time (user and system, all threads) the student process has used so far, read
        by the parent from /proc; None where that cannot be read. The CPU of processes the
        student's code forks is not counted: the wall-clock backstop bounds them."""
        if self.student is None:
            self.student = _student_process(self.pid)
        try:
            with open(f"/proc/{self.student}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        except (OSError, ValueError, IndexError, TypeError):
            return None

    def began(self, nonce: str, written_to: int | None = None) -> bool:
        """Whether the student process acknowledged the call of `nonce` (it does before any of
        the call's code runs): read now, as much as has come. With `written_to` (an offset on
        the channel): whether it had begun when the bytes up to that offset were written,
        which the acknowledgement says (how much the harness had written then)."""
        while True:
            try:
                data = self.acks.recv(65536)
            except (BlockingIOError, InterruptedError, OSError):
                break
            if not data:
                break
            *lines, rest = (self._ack_line + data).split(b"\n")
            self._ack_line = bytearray(rest[-ACK_LINE_BYTES:])
            for line in lines:  # "nonce offset" (after anything): only nonces sent here
                found = _ACK.search(line)
                acked = found and found[1].decode()
                if acked in self.requested and acked not in self._began:
                    self._began[acked] = int(found[2])
        if nonce not in self._began:
            return False
        return written_to is None or written_to > self._began[nonce]

    def _stray(self, nonce, why, end):
        self.stray_end = max(self.stray_end, end)
        if len(self.stray) < MAX_STRAY:
            self.stray.append((nonce if type(nonce) is str and len(nonce) <= 32 else None, why))

    def _read_output(self):
        try:
            data = os.read(self.out_fd, OUTPUT_CHUNK)
        except OSError:
            data = b""
        if data:
            self.output.add(data)
        else:
            self._open.discard(self.out_fd)

    def _zygote_message(self):
        try:
            message = json.loads(self.sandbox._sock.recv(1024) or b"null")
        except (OSError, ValueError):
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("exit"), int):
            self.exit_status = -1  # EOF: the zygote died (killed by the student's code?)
            self.sandbox._replace_zygote()
            self.note = ("the process that supervises your code was killed (did your code "
                         "signal its parent process?)")
            return
        self.exit_status, self.note = message["exit"], str(message.get("note") or "")[:500]

    # -- the end ---------------------------------------------------------------------------------

    def finish(self, kill: bool) -> None:
        """End the sandbox (closing the channel ends the student process; `kill`: at once),
        keep what it still printed, and wait for the zygote to report its end."""
        if kill:
            self.killed = True
            _kill_sandbox(self.pid)
        try:
            self.channel.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        deadline = time.monotonic() + ZYGOTE_REPLY_SECONDS
        while self.exit_status is None:
            now = time.monotonic()
            if now >= deadline:
                if not self.killed:  # it does not end by itself: make it
                    self.killed = True
                    _kill_sandbox(self.pid)
                    deadline = now + ZYGOTE_REPLY_SECONDS
                    continue
                self.exit_status = -1  # the zygote is gone or stuck
                self.sandbox._replace_zygote()
                break
            wanted = list(self._open) + [self.sandbox._sock.fileno()]
            ready, _, _ = select.select(wanted, [], [], deadline - now)
            if self.sandbox._sock.fileno() in ready:
                self._zygote_message()
            if self.out_fd in ready:
                self._read_output()
            if self.channel.fileno() in ready:
                if self.stray:  # it writes after its last answer: read no more of it
                    self._open.discard(self.channel.fileno())
                else:
                    self._read_channel(None, False)
            if self.stray and not self.killed:
                self.killed = True
                _kill_sandbox(self.pid)
        for fd in list(self._open):  # what it printed just before the end
            if fd == self.out_fd:
                while select.select([fd], [], [], 0)[0] and fd in self._open:
                    self._read_output()
        os.close(self.out_fd)
        self.channel.close()
        self.acks.close()

    def how_it_ended(self) -> str:
        status = self.exit_status
        if self.note:
            return self.note
        if status is None or status < 0:
            return "the process ended"
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGXCPU:
                return "the CPU-time limit was reached"
            if sig == signal.SIGKILL:
                return "the process was killed (SIGKILL), most likely for using too much memory"
            return f"the process was killed by signal {signal_name(sig)}"
        code = os.WEXITSTATUS(status)
        if code == EXIT_LOST_CHANNEL:
            return ("your code closed or replaced a file descriptor the grader uses to talk to "
                    "it (never close file descriptors you did not open)")
        if code == EXIT_GRADER_FAILED:
            return ("the grader's own code failed next to yours (its traceback is in what your "
                    "code printed): not your fault, please report it")
        return f"the process exited with code {code} (sys.exit or os._exit)"


class _Run:
    """One file: load it, make the calls in order, start a fresh sandbox after a call that
    timed out, crashed or misbehaved."""

    def __init__(self, sandbox: Sandbox, source: str, filename: str, calls: list[Call]):
        self.sandbox, self.limits = sandbox, sandbox.limits
        self.source, self.filename, self.calls = source, filename, calls
        self.outcome = RunOutcome(calls=[None] * len(calls))
        self.output = _BoundedOutput(self.limits.output_bytes)
        self.nonces: dict[str, int] = {}  #: nonce → call index, for late frames
        self.bounded: dict[str, float] = {}  #: function → its own limit once it timed out
        self.stopped: dict[str, CallOutcome] = {}  #: function → why its calls are not made
        self.result_bytes: dict[str, int] = {}  #: function → bytes of results kept
        self.pending = None  #: the answer whose value `_settle` decodes next
        self.tainted = False  #: `_settle` found the sandbox forged an answer
        #: a call was already cleared of stray frames by the harness's byte count (once a run)
        self.cleared_by_count = False
        self.prepared: dict = {}  #: call index → (shared arguments, request), made ahead
        self.result_share = RESULT_BYTES_PER_RUN // max(len({c.function for c in calls}), 1)
        self.started = time.monotonic()
        self.deadline = self.started + run_time_bound(self.limits,
                                                      [c.timeout for c in calls])
        from grader import testfuncs
        self.function_names = {id(testfuncs.get(n)): n for n in testfuncs.NAMES}

    def go(self) -> RunOutcome:
        box = self._open_box(first=True)
        reload_failed = None
        for index, call in enumerate(self.calls):
            if call.function in self.stopped or self.outcome.module_status != "ok":
                self.outcome.calls[index] = CallOutcome("skipped")
                continue
            if time.monotonic() >= self.deadline:
                self.outcome.calls[index] = CallOutcome("skipped", detail=RUN_OUT_OF_TIME)
                continue
            if box is None and reload_failed is None:
                box = self._open_box(first=False)
                if box is None:
                    reload_failed = CallOutcome("crashed", detail=RELOAD_FAILED)
            if box is None:
                self.outcome.calls[index] = reload_failed
                continue
            box = self._call(box, index, call)
            if self.outcome.calls[index] is None:  # not its fault: once more, in a fresh one
                box = box or self._open_box(first=False)
                if box is not None:
                    box = self._call(box, index, call)
                if self.outcome.calls[index] is None:
                    self.outcome.calls[index] = CallOutcome("crashed", detail=NOT_STARTED)
        self._settle()
        for shared, _ in self.prepared.values():
            shared.close()
        if box is not None:
            box.finish(kill=False)
            self._charge_stray(box)
        self.outcome.output, self.outcome.output_dropped = self.output.text(), self.output.dropped
        return self.outcome

    def _open_box(self, first: bool) -> "_Box | None":
        """A sandbox that said hello and loaded the file; None if the file did not load
        (the first time, `outcome.module_*` then says why)."""
        remaining = sum(c.timeout for c in self.calls)
        box = self.sandbox._start_box(self.limits.import_timeout + remaining + 5, self.output)
        kind, answer, _ = box.exchange(None, (), time.monotonic() + HELLO_SECONDS)
        if kind == "answer" and not self.outcome.isolation:
            self.outcome.isolation = visible(str(answer.get("isolation"))[:500], False)
            exposed = answer.get("exposed") if isinstance(answer.get("exposed"), list) else []
            self.outcome.exposed = [visible(str(p)[:300], False) for p in exposed][:20]
        if kind == "answer":
            seconds = self.limits.import_timeout
            request = {"op": "load", "nonce": os.urandom(8).hex(), "source": self.source,
                       "filename": self.filename, "import_timeout": seconds,
                       "module_name": "student"}
            kind, answer, _ = box.exchange(request, (), min(
                time.monotonic() + WALL_FACTOR * seconds + GRACE_SECONDS, self.deadline))
        status = str(answer.get("status")) if kind == "answer" else ""
        if kind == "answer" and status == "ok":
            return box
        box.finish(kill=kind != "answer")
        if not first:  # it loaded before: something of the file's own changed (time, chance)
            self.outcome.module_status = "ok"
            return None
        if kind == "answer":
            self.outcome.module_status = status if status in MODULE_STATUSES else "crashed"
            self.outcome.module_exception = _exception(answer.get("exception"))
            self.outcome.module_detail = "timeout" if status == "timeout" else ""
        elif kind == "timeout":
            self.outcome.module_status, self.outcome.module_detail = "timeout", "timeout"
        elif kind == "misbehaved":
            self.outcome.module_status = "misbehaved"
            self.outcome.module_detail = _misbehaved(answer["reason"])
        else:
            self.outcome.module_status, self.outcome.module_detail = "crashed", box.how_it_ended()
        return None

    def _call(self, box: _Box, index: int, call: Call) -> "_Box | None":
        """Make call `index` in `box`; the box to go on with (None: a fresh one is needed).
        The call's outcome stays None when the sandbox ended before the call began: it is
        then made again in a fresh one. An answer's value is decoded while the next call runs
        (`_settle`); the arguments' memory is read back at once."""
        shared, request = self._request(index)
        sent, result, cpu = time.monotonic(), None, box.cpu_seconds()
        try:
            kind, header, blobs = box.exchange(
                request, [shared.fd],
                min(sent + WALL_FACTOR * call.timeout + GRACE_SECONDS, self.deadline),
                after_send=lambda: self._meanwhile(index))
            seconds = time.monotonic() - sent
            now_cpu = box.cpu_seconds() if cpu is not None else None
            used = now_cpu - cpu if now_cpu is not None else 0.0  # gone: it ended
            # a frame that answered no request is this call's doing only if it was written
            # after the call began: one written before (a second answer of the call before
            # it, sent as that call's code returned) is read when it is read, maybe after
            began = kind == "answer" or kind != "withdrawn" and box.began(
                request["nonce"], box.stray_end if kind == "misbehaved" else None)
            if kind == "misbehaved" and not began and box.began(request["nonce"]):
                began = not self._cleared_by_count(box)
            status = str(header.get("status"))
            if kind == "answer" and used > call.timeout + LATE_SECONDS and status != "timeout":
                # its own alarm was switched off: the parent's count is the one that counts
                result = CallOutcome("timeout", seconds=seconds, detail="timeout")
            elif kind == "answer" and status not in OUTCOME_STATUSES:
                result = CallOutcome("misbehaved", seconds=seconds,
                                     detail=_misbehaved("an answer of an unknown kind"))
            elif kind == "answer":
                result = CallOutcome(status, None, None, _exception(header.get("exception")),
                                     seconds, "timeout" if status == "timeout" else "")
                self.pending = (index, call, header, blobs, shared.trees, shared.snapshot())
            elif not began:
                pass  # its code never ran: not its fault, it is made again
            elif kind == "timeout":
                result = CallOutcome("timeout", seconds=seconds, detail="timeout")
            elif kind == "misbehaved":
                # once its code ran, whatever ends the call is its outcome (a frame carrying
                # an earlier call's nonce costs that call too, see _charge_stray): made again,
                # it would get a second clock
                result = CallOutcome("misbehaved", seconds=seconds,
                                     detail=_misbehaved(header["reason"]))
        finally:
            shared.close()
        if kind == "ended":
            box.finish(kill=False)
            if began:
                result = CallOutcome("crashed", seconds=seconds, detail=box.how_it_ended())
        if result is None and not began and box.answered is not None and kind != "withdrawn":
            # the process died or wrote before this call began: the code of the call
            # answered before it in this sandbox is the only student code that ran since
            self._revoke(box.answered, "your code went on after this call had answered "
                                       "(a thread or a timer?) and stopped the process or wrote "
                                       "to the grader's channel")
        self.outcome.calls[index] = result
        if result is not None:
            box.answered = index
        if result is not None and result.status == "timeout":
            # it looped once already: when another function calls it, a tenth of its limit
            # (it costs the class its own limit, not that again for every caller)
            self.bounded[call.function] = max(call.timeout * RELOOP_SHARE, RELOOP_SECONDS)
        if result is not None and result.status in ("timeout", "crashed"):
            self.stopped[call.function] = result  # its other cases would only do the same
        left_running = kind == "answer" and bool(header.get("threads_left"))
        tainted, self.tainted = self.tainted, False
        if box.exit_status is None and (box.stray or result is None or left_running or tainted
                                        or result.status in ("timeout", "misbehaved")):
            box.finish(kill=True)
        if box.exit_status is not None:
            self._charge_stray(box)
            return None
        return box

    def _request(self, index: int):
        """(shared arguments, request) of call `index`: prepared while the call before it ran
        (`_meanwhile`), unless what the request says has changed since."""
        prepared = self.prepared.pop(index, None)
        if prepared is not None and prepared[1]["bound"] == self.bounded:
            return prepared
        if prepared is not None:
            prepared[0].close()
        call = self.calls[index]
        shared = wire.SharedArgs(call.args, self.function_names)
        nonce = os.urandom(8).hex()
        self.nonces[nonce] = index
        request = {"op": "call", "nonce": nonce, "function": call.function,
                   "timeout": call.timeout, "args": shared.trees, "size": shared.size,
                   "bound": dict(self.bounded)}
        return shared, {**request, "packed": frames.pack(request)}

    def _meanwhile(self, index: int) -> bool:
        """While call `index` runs: decode the answer before it, prepare the request after it
        (so that the student process waits as little as possible between two calls).
        False if that answer was forged: the code that forged it may still be running in
        this sandbox, so call `index` is withdrawn from it (and made in a fresh one)."""
        self._settle()
        if self.tainted:
            return False
        following = index + 1
        if following < len(self.calls) and following not in self.prepared and \
                self.calls[following].function not in self.stopped:
            self.prepared[following] = self._request(following)
        return True

    def _cleared_by_count(self, box) -> bool:
        """Whether a call that began, whose stray frames the harness's byte count places
        before it, may be made again rather than charged. The count is the student process's
        word, so it moves a charge only where nothing is gained by lying: onto the call
        answered just before in this sandbox, when every stray frame names that call, and
        once a run (a second clock for one call at most, at another call's cost)."""
        named = {self.nonces.get(nonce) for nonce, _ in box.stray}
        if box.answered is None or named != {box.answered} or self.cleared_by_count:
            return False
        self.cleared_by_count = True
        return True

    def _settle(self) -> None:
        """Decode the value and the arguments of the call answered last (see `_call`)."""
        if self.pending is None:
            return
        index, call, header, blobs, trees, snapshot = self.pending
        self.pending = None
        outcome = self.outcome.calls[index]
        if outcome is None or outcome.status == "misbehaved":  # revoked meanwhile
            return
        try:
            if outcome.status == "ok":
                value, items = wire.decode_counted(header.get("output"), wire.Blobs(blobs).get)
                size = sum(len(b) for b in blobs) + items * ITEM_BYTES
                used = self.result_bytes.get(call.function, 0)
                if used + size > self.result_share:  # one function cannot starve the others
                    value = wire.Unsupported("result", "more results than the grader keeps for "
                                                       "one function (arrays far too large?)")
                else:
                    self.result_bytes[call.function] = used + size
                outcome.value = value
            after = wire.SharedArgs.decode_snapshot(trees, snapshot)
        except Exception as exc:  # anything in a result may be hostile: decoding it too
            self.outcome.calls[index] = CallOutcome(
                "misbehaved", seconds=outcome.seconds,
                detail=_misbehaved(f"a malformed result: {type(exc).__name__}"))
            self.tainted = True  # that process forged it: the sandbox is replaced
            return
        changed = header.get("after_changed")
        for position in changed if isinstance(changed, list) else []:
            if type(position) is int and 0 <= position < len(after):
                after[position] = wire.Unsupported("changed", "an entry replaced or added")
        outcome.args_after = after

    def _charge_stray(self, box: _Box) -> None:
        """A frame that arrived after the answer to its call: that call misbehaved."""
        for nonce, _ in box.stray:
            index = self.nonces.get(nonce)
            if index is None:
                index = box.answered  # no call of its own: the last code that ran
            if index is not None:
                self._revoke(index, _misbehaved("a second answer to this call"))
        box.stray.clear()

    def _revoke(self, index: int, detail: str) -> None:
        """Call `index` was answered, but its code went on misbehaving: it scores 0."""
        if self.outcome.calls[index] is not None and \
                self.outcome.calls[index].status != "misbehaved":
            self.outcome.calls[index] = CallOutcome("misbehaved", detail=detail)


class _BoundedOutput:
    def __init__(self, limit):
        self.limit, self.kept, self.dropped = limit, bytearray(), 0

    def add(self, data: bytes):
        room = self.limit - len(self.kept)
        self.kept += data[:max(room, 0)]
        self.dropped += max(len(data) - max(room, 0), 0)

    def text(self) -> str:
        """What was printed, control characters shown as escapes (never obeyed)."""
        return visible(self.kept.decode("utf-8", errors="replace"))


def _misbehaved(reason) -> str:
    return MISBEHAVED.format(reason=visible(str(reason)[:200], False))


def _exception(info) -> dict | None:
    if not isinstance(info, dict):
        return None
    lines = []
    for entry in (info.get("lines") if isinstance(info.get("lines"), list) else [])[-5:]:
        if isinstance(entry, list) and len(entry) == 3:
            try:
                lines.append((int(entry[0]), visible(str(entry[1])[:100], False),
                              visible(str(entry[2])[:300], False)))
            except (TypeError, ValueError, OverflowError):
                continue
    return {"type": visible(str(info.get("type", "Exception"))[:100], False),
            "message": visible(str(info.get("message", ""))[:2000]), "lines": lines}


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _student_process(sandbox: int) -> int:
    """The student process of a sandbox: the sandbox process itself, or, with a pid
    namespace, the child of the sandbox's init (its first child)."""
    def children(pid):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                return [int(p) for p in fh.read().split()]
        except (OSError, ValueError):
            return []

    inits = children(sandbox)
    students = children(inits[0]) if inits else []
    return students[0] if students else sandbox


def _kill_sandbox(pid):
    """SIGKILL the sandbox (with a pid namespace, the kernel then kills every process in it)
    and its process group. Only while the zygote has not reaped it: after that the pid may
    belong to someone else."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _reap(pid, patience: float):
    """Wait for a zygote to exit; kill it if it takes longer than `patience` seconds. The wait
    is woken by the exit itself where Linux gives a descriptor for the process (pidfd)."""
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):
        handle = None
    try:
        deadline = time.monotonic() + patience
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
                return
            if handle is not None:
                select.select([handle], [], [], left)
            else:
                time.sleep(min(0.001, left))
    finally:
        if handle is not None:
            os.close(handle)


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
            "from grader.sandbox.isolation import fresh_zygote_main; fresh_zygote_main(s)")
    os.set_inheritable(sock.fileno(), True)
    try:
        return os.posix_spawn(sys.executable, [sys.executable, "-I", "-c", code, settings],
                              dict(os.environ))
    finally:
        os.set_inheritable(sock.fileno(), False)
