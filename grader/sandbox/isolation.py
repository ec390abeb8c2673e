"""Inside the zygote and the sandbox: the operating system's mechanisms that contain one run
of student code (see `grader.sandbox.parent` for the process layout and SECURITY.md for what
holds).

Everything here runs in processes forked from the zygote, never in the trusted parent. Each
mechanism is best effort: where Linux (or a container's seccomp profile) refuses one, the
sandbox goes on without it and says so in its `sandbox` event.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import select
import signal
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import harness
from .types import Limits

UID_BASE = 2_000_000_000  # root: the student process runs as UID_BASE + the zygote's pid


def signal_name(sig) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


# -- inside the zygote ------------------------------------------------------------------------

def fresh_zygote_main(settings: dict) -> None:
    sock = socket.socket(fileno=settings["fd"])
    try:
        die_with_parent()
        if os.getppid() != settings["parent"]:
            return
        zygote(sock, Limits(**settings["limits"]), tuple(settings["hide"]))
    finally:
        os._exit(0)


def zygote(sock, limits, hide):
    """Serve the parent: for each command, one sandbox; report how it ended.

    A command is `{"cpu_seconds": N}`. The answer is `{"pid": ...}` with three descriptors:
    the read end of the student's output, the parent's end of the channel and the parent's
    end of the acknowledgements (socket pairs whose other ends only the student process
    holds). When the sandbox has ended and its
    leftovers are gone: `{"exit": wait status, "note": ...}`."""
    die_with_parent()
    _forget_parent_files(sock.fileno())
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # orphans of the student's forks come back here
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    box = _Isolation(limits, hide)
    while True:
        message = sock.recv(65536)
        if not message:
            return
        command = json.loads(message)
        out_r, out_w = os.pipe()
        parent_end, student_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        acks_parent, acks_student = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        status_r, status_w = os.pipe()
        workdir = None if box.namespaces else _private_workdir(box)
        pid = os.fork()
        if pid == 0:
            sock.close()
            parent_end.close()
            acks_parent.close()
            for fd in (out_r, status_r):
                os.close(fd)
            _sandbox_main(command, box, out_w, (student_end.detach(), acks_student.detach()),
                          status_w, workdir)
        for fd in (out_w, status_w):
            os.close(fd)
        student_end.close()
        acks_student.close()
        socket.send_fds(sock, [json.dumps({"pid": pid}).encode()],
                        [out_r, parent_end.fileno(), acks_parent.fileno()])
        os.close(out_r)
        parent_end.close()
        acks_parent.close()
        _, status = os.waitpid(pid, 0)
        report = _read_status(status_r)
        if not report.get("pid_namespace"):  # with one, the kernel has killed everything
            box.clean_up(workdir)
        sock.send(json.dumps({"exit": report.get("status", status),
                              "note": report.get("note", "")}).encode())


def _forget_parent_files(keep: int) -> None:
    """Close every descriptor inherited from the parent but `keep` and 0-2: a pipe to a batch
    process or a test's capture file must not reach the student's code. Objects of the
    parent that would close a descriptor when collected are frozen first (never collected
    here), so that they cannot close a number reused by the zygote's own pipes."""
    import gc
    gc.freeze()
    high = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    high = 2 ** 20 if high < 0 or high > 2 ** 20 else high
    os.closerange(3, keep)
    os.closerange(keep + 1, high)


def _read_status(fd) -> dict:
    try:
        data = os.read(fd, 4096) if select.select([fd], [], [], 0)[0] else b""
        report = json.loads(data) if data else {}
        return report if isinstance(report, dict) else {}
    except (OSError, ValueError):
        return {}
    finally:
        os.close(fd)


class _Isolation:
    """What the zygote can enforce on this machine, decided once when it starts."""

    def __init__(self, limits, hide):
        self.limits, self.hide = limits, hide
        self.root = os.geteuid() == 0
        self.uid = UID_BASE + os.getpid() if self.root and limits.drop_user else None
        self.userns = False
        self.namespaces = limits.namespaces and sys.platform.startswith("linux")
        if self.namespaces and not self.root:
            self.userns = self.namespaces = _enter_user_namespace()
        # Python itself may live where other users cannot go (pyenv under /root): the
        # student's user needs it for its imports, and nothing else of those folders
        self.reveal = _closed_ancestors(_python_dirs()) if self.uid is not None else {}
        if self.reveal and not (self.namespaces and _pid_namespace_allowed()):
            self.namespaces = False
            _preload(COMMON_MODULES)  # without a mount namespace it could not import them
        self.tmp_dirs = sorted({"/tmp", os.path.realpath(tempfile.gettempdir())})

    def clean_up(self, workdir: str | None) -> None:
        """After a sandbox without a pid namespace: kill what it left behind (double forks,
        setsid), reap it, and remove the files it left: its working folder and, when it ran
        as a user of its own, whatever that user owns in the shared temporary folders."""
        if self.uid is not None:
            _kill_all_of_user(self.uid)
        else:
            _kill_children()
        _reap_all()
        if workdir:
            import shutil
            shutil.rmtree(workdir, ignore_errors=True)
        if self.uid is not None:
            _as_user(self.uid, lambda: [_remove_owned_by(self.uid, f) for f in SHARED_TMP])
            _remove_ipc_of(self.uid)


#: world-writable folders a sandbox without a mount namespace could leave files in
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")
MAX_CLEANED_FOLDERS = 1000  #: world-writable folders searched per shared folder
MAX_CLEANED_ENTRIES = 1_000_000  #: entries removed from one folder the sandbox's user made
MAX_CLEANED_DEPTH = 64  #: folders open at once while removing one


def _private_workdir(box) -> str:
    """Without namespaces: an empty folder of the run's own, that only its user can enter."""
    workdir = tempfile.mkdtemp(prefix="gradewise-work-")  # mode 0700
    if box.uid is not None:
        os.chown(workdir, box.uid, box.uid)
    return workdir


def _as_user(uid: int, work) -> None:
    """Run `work()` in a child process that has become `uid`: whatever a folder it walks is
    swapped for (a link, another user's folder), it can delete only what `uid` could."""
    helper = os.fork()
    if helper == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            work()
        finally:
            os._exit(0)
    os.waitpid(helper, 0)


def _clear_keyrings() -> None:
    """Empty this user's kernel keyrings, which outlive its processes (namespaces or not): done
    as each sandbox's student process starts, before any student code, so that no run finds
    what an earlier one of the same user kept there. keyctl(KEYCTL_CLEAR, ...), keyctl(2)."""
    number = _SYS_KEYCTL.get(platform.machine())
    for keyring in (-4, -5):  # KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING
        try:
            if number is not None:
                _libc().syscall(number, 7, keyring)  # KEYCTL_CLEAR
        except (OSError, AttributeError):
            pass


def _remove_ipc_of(uid: int) -> None:
    """Without an IPC namespace, System V shared memory, queues and semaphores of `uid`
    outlive its processes: remove them (IPC_RMID)."""
    calls = (("shm", "shmctl"), ("msg", "msgctl"), ("sem", "semctl"))
    for kind, name in calls:
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                rows = [line.split() for line in fh.readlines()[1:]]
        except OSError:
            continue
        uid_column = {"shm": 7, "msg": 7, "sem": 4}[kind]
        for row in rows:
            try:
                if int(row[uid_column]) == uid:
                    function = getattr(_libc(), name)
                    if kind == "sem":
                        function(int(row[1]), 0, 0)  # IPC_RMID = 0
                    else:
                        function(int(row[1]), 0, None)
            except (OSError, AttributeError, ValueError, IndexError):
                continue


def _remove_owned_by(uid: int, top: str) -> None:
    """Remove every file and folder below `top` that `uid` owns, walking by descriptors
    (never a path that a link could redirect). That user owns nothing and belongs to no
    group, so it can only have written in folders anyone may write to: only root's are
    searched (another user's may be swapped while we walk it), at most MAX_CLEANED_FOLDERS."""
    import stat
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        folders = [os.open(top, flags)]
    except OSError:
        return
    opened = 1
    while folders:
        fd = folders.pop()
        try:
            names = os.listdir(fd)
        except OSError:
            names = []
        for name in names:
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if info.st_uid == uid:
                    if stat.S_ISDIR(info.st_mode):
                        _remove_folder(name, fd, [MAX_CLEANED_ENTRIES])
                    else:
                        os.unlink(name, dir_fd=fd)
                elif stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_IWOTH and \
                        info.st_uid == 0 and opened < MAX_CLEANED_FOLDERS:
                    folders.append(os.open(name, flags, dir_fd=fd))
                    opened += 1
            except OSError:
                continue
        os.close(fd)


def _remove_folder(name: str, dir_fd: int, budget: list, top: int | None = None,
                   depth: int = 0) -> None:
    """Remove a folder the sandbox's user made, run as that user: by descriptors, giving each
    folder back its owner's permissions first (it may have closed them). A folder nested
    deeper than MAX_CLEANED_DEPTH is first moved up into `top` (the shared folder's
    descriptor), so that any depth is removed with a bounded number of open descriptors.
    `budget`: [entries that may still be removed]."""
    import stat
    top = dir_fd if top is None else top
    if depth >= MAX_CLEANED_DEPTH:
        moved = f".gradewise-clean-{os.urandom(6).hex()}"
        try:
            os.rename(name, moved, src_dir_fd=dir_fd, dst_dir_fd=top)
        except OSError:
            return
        name, dir_fd, depth = moved, top, 0
    try:
        os.chmod(name, 0o700, dir_fd=dir_fd)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return
    try:
        for entry in os.listdir(fd):
            budget[0] -= 1
            if budget[0] < 0:
                return
            try:
                if stat.S_ISDIR(os.stat(entry, dir_fd=fd, follow_symlinks=False).st_mode):
                    _remove_folder(entry, fd, budget, top, depth + 1)
                else:
                    os.unlink(entry, dir_fd=fd)
            except OSError:
                pass
    finally:
        os.close(fd)
    try:
        os.rmdir(name, dir_fd=dir_fd)
    except OSError:
        pass


#: imported in advance where the student's user could not read Python's own files
COMMON_MODULES = ("math", "cmath", "random", "itertools", "functools", "collections", "copy",
                  "typing", "statistics", "fractions", "decimal", "operator", "heapq",
                  "bisect", "string", "re", "json", "dataclasses", "numpy.linalg",
                  "numpy.random", "numpy.testing")


def _pid_namespace_allowed() -> bool:
    """Whether this process may create a pid namespace (a container's seccomp profile may
    forbid it): asked in a short-lived child, since the answer changes the caller."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _unshare(_CLONE_NEWPID) else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def _preload(names) -> None:
    import importlib
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # a module this Python lacks: nothing to preload
            pass


def _kill_all_of_user(uid: int) -> None:
    """SIGKILL every process of `uid`, wherever it hid (setsid, double fork): kill(-1) as
    that user reaches them all at once (a fork racing with it fails), then reap them (this
    zygote is their subreaper) until none is left."""
    helper = os.fork()
    if helper == 0:
        try:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(2):
                os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(helper, 0)
    deadline = time.monotonic() + 5.0
    while _processes_of(uid) and time.monotonic() < deadline:
        _reap_all()
        time.sleep(0.001)


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as fh:
                data = fh.read(2048)
        except OSError:
            continue
        at = data.find(b"\nUid:")
        if at >= 0 and int(data[at + 5:].split()[0]) == uid:
            found.append(int(entry))
    return found


def _reap_all() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_children() -> None:
    """As a subreaper, every leftover of the sandbox is our child or below one: kill our
    children, reap them, and repeat for their orphans until none is left."""
    me = str(os.getpid())
    for _ in range(100):
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read().decode("ascii", "replace")
            except OSError:
                continue
            if stat[stat.rfind(")") + 2:].split()[1] == me:
                children.append(int(entry))
        if not children:
            return
        for pid in children:
            _kill_group(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


# -- inside the sandbox -----------------------------------------------------------------------

_WATCHED_SIGNALS = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGALRM",
                    "SIGABRT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGXCPU", "SIGXFSZ", "SIGVTALRM",
                    "SIGPROF", "SIGIO", "SIGPWR", "SIGSYS", "SIGTRAP")


def _sandbox_main(command, box: _Isolation, out_w, channel, status_w, workdir):
    """The sandbox's first process. Where it can, it starts the init of a new pid namespace
    and waits for it; otherwise it becomes the student process itself."""
    try:
        os.setsid()
        die_with_parent()
        if box.namespaces and _unshare(_CLONE_NEWPID):
            init = os.fork()
            if init == 0:
                _init_main(command, box, out_w, channel, status_w)
            for fd in (out_w, *channel, status_w):
                os.close(fd)
            os.waitpid(init, 0)
            return
        os.close(status_w)
        notes = ["no namespaces" if not box.namespaces else "no pid namespace allowed"]
        _student_main(command, box, out_w, channel, workdir or _private_workdir(box), notes)
    except BaseException:  # anything escaping here is the grader's bug, shown on stderr
        traceback.print_exc()
    finally:
        os._exit(0)


def _init_main(command, box: _Isolation, out_w, channel, status_w):
    """Pid 1 of the sandbox's namespace: isolate the filesystem, start the student process,
    report how it ended. When this process ends, the kernel kills the whole namespace."""
    try:
        die_with_parent()
        notes = _isolate_filesystem(box)
        _prctl(_PR_SET_DUMPABLE, 0)  # the student's code may not ptrace its init
        student = os.fork()
        if student == 0:
            os.close(status_w)
            _student_main(command, box, out_w, channel, "/tmp", notes)
        os.close(out_w)
        for fd in channel:
            os.close(fd)
        report = _wait_as_init(student)
        os.write(status_w, json.dumps({**report, "pid_namespace": True}).encode())
    except BaseException:  # anything escaping here is the grader's bug, shown on stderr
        traceback.print_exc()
    finally:
        os._exit(0)


def _wait_as_init(student: int) -> dict:
    """Reap every process of the namespace until the student process ends. A catchable
    signal sent to this init can only come from the student's code: say so and stop it."""
    received = []

    def stop(signum, frame):
        received.append(signal_name(signum))
        try:
            os.kill(student, signal.SIGKILL)
        except ProcessLookupError:
            pass

    for name in _WATCHED_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == student:
            break
    note = ""
    if received:
        note = (f"your code sent {received[0]} to the process that supervises it (its "
                "parent); never signal other processes")
    return {"status": status, "note": note}


def _isolate_filesystem(box: _Isolation) -> list[str]:
    """New mount, network and IPC namespaces: read-only filesystem, hidden folders, a private
    /tmp and /proc. Each step is best effort; the notes say what held."""
    notes = ["pid namespace"]
    if _unshare(_CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWIPC):
        notes.append("no network")
    elif not _unshare(_CLONE_NEWNS):
        return notes + ["no mount namespace"]
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    for closed, inside in box.reveal.items():
        if _reveal(closed, inside):
            notes.append(f"only Python visible in {closed}")
    if _mount_setattr_readonly("/"):
        notes.append("read-only filesystem")
    covered = list(box.tmp_dirs) + sorted(box.hide, key=lambda p: p.count(os.sep))
    # Python (a virtual environment, an editable install) may live inside a folder that is
    # covered: keep a handle on it now, to put it back (read-only) once its folder is covered
    python = {d: os.open(d, os.O_PATH | os.O_DIRECTORY) for d in _python_dirs(covered)}
    try:
        for path in box.tmp_dirs:
            options = f"size={box.limits.tmp_bytes},mode=0700" + \
                (f",uid={box.uid},gid={box.uid}" if box.uid is not None else "")
            if _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, options):
                notes.append(f"private {path}")
                _put_back(path, python)
        hidden = 0
        for path in covered[len(box.tmp_dirs):]:
            inside = [d for d in python if _below(d, path)]
            # no read permission, not even for the owner: only the way to Python crosses it
            options = "size=64k,nr_inodes=4096,mode=0111" if inside else \
                "size=4k,nr_inodes=1,mode=000"
            if os.path.isdir(path) and _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV |
                                              _MS_NOEXEC, options):
                hidden += 1
                _put_back(path, python)
                _mount(None, path, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV |
                       _MS_NOEXEC)
        if hidden:
            notes.append(f"course and output hidden ({hidden} folder{'s' * (hidden > 1)})")
    finally:
        for fd in python.values():
            os.close(fd)
    if _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC):
        notes.append("private /proc")
    return notes


def _below(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def _put_back(covered: str, python: dict) -> None:
    """Bind the Python folders below `covered` (open in `python`) back, read-only."""
    for folder, fd in python.items():
        if _below(folder, covered):
            _bind_read_only(fd, folder)


def _python_dirs(covered=()) -> list[str]:
    """The folders Python imports from; given `covered`, only those strictly below one of
    those folders. A folder inside another listed one is left out (the outer one brings it)."""
    dirs = {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)}
    if covered:
        dirs = {d for d in dirs if any(_below(d, c) for c in covered)}
    return sorted(d for d in dirs if not any(_below(d, o) for o in dirs))


def _closed_ancestors(dirs) -> dict[str, list[str]]:
    """{the highest folder other users cannot enter: the Python folders below it}."""
    import stat
    closed: dict[str, list[str]] = {}
    for path in dirs:
        parts = Path(path).parts
        for i in range(2, len(parts)):  # from the first folder below / down to the parent
            ancestor = os.path.join(*parts[:i])
            try:
                mode = os.stat(ancestor).st_mode
            except OSError:
                break
            if not mode & stat.S_IXOTH:
                closed.setdefault(ancestor, []).append(path)
                break
    return closed


def _reveal(closed: str, inside: list[str]) -> bool:
    """Cover `closed` with an empty, enterable tmpfs and bind the folders `inside` back."""
    fds = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in inside]
    try:
        if not _mount("tmpfs", closed, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64k,mode=0755"):
            return False
        for path, fd in fds:
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
        return True
    finally:
        for _, fd in fds:
            os.close(fd)


def _bind_read_only(fd: int, target: str) -> bool:
    """Mount the folder open as `fd` (from before a covering mount) at `target`, read-only.
    The folders made on the way only let one cross them (mode 0111)."""
    try:
        os.makedirs(target, mode=0o111, exist_ok=True)
    except OSError:
        return False
    return _mount(f"/proc/self/fd/{fd}", target, None, _MS_BIND | _MS_REC) and \
        _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY)


def _student_main(command, box: _Isolation, out_w, channel: tuple, workdir, notes):
    """The student process. `channel`: its ends of the channel and of the acknowledgements."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(workdir)
        notes = list(notes) + [_drop_privileges(box)]
        if box.uid is not None:  # what an earlier run of this user kept in the kernel for it
            _clear_keyrings()
        _apply_limits(box.limits, float(command["cpu_seconds"]),
                      limit_processes=box.uid is not None or box.userns)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        for fd in (devnull, out_w):
            os.close(fd)
        # fresh streams on the new descriptors, whatever the parent's were (pytest, Jupyter)
        sys.stdin = open(0, encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False,
                          buffering=1)
        os.environ.clear()
        os.environ.update({"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir,
                           "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
        # readable: listing it works (a covering mount has no read permission, even for
        # the student's own user inside a user namespace)
        exposed = [p for p in box.hide if os.access(p, os.R_OK)]
        contained = notes[0] == "pid namespace" or box.uid is not None
        harness.serve(*channel, {"isolation": ", ".join(notes), "exposed": exposed}, contained)
    except BaseException:  # anything escaping here is the grader's bug, shown on stderr
        try:
            traceback.print_exc()
        finally:
            harness.worker_exit(harness.EXIT_GRADER_FAILED)
    finally:
        harness.worker_exit(0)


def _drop_privileges(box: _Isolation) -> str:
    if box.uid is not None:
        os.setgroups([])
        os.setresgid(box.uid, box.uid, box.uid)
        os.setresuid(box.uid, box.uid, box.uid)
        described = f"user {box.uid}"
    elif box.userns:
        described = "your user, without capabilities" if _drop_capabilities() \
            else "your user (capabilities could not be dropped)"
    else:
        described = "root" if box.root else "your user"
    die_with_parent()  # after setuid: changing credentials clears the parent-death signal
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    return described


def _apply_limits(limits, cpu_seconds: float, limit_processes: bool):
    vm_now = _vm_size()
    resource.setrlimit(resource.RLIMIT_AS, (vm_now + limits.memory_bytes,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = math.ceil(cpu_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if limit_processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes,) * 2)


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# -- Linux system calls (ctypes; each one best effort) ----------------------------------------

_CLONE_NEWNS, _CLONE_NEWIPC, _CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
_CLONE_NEWPID, _CLONE_NEWNET = 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND = 1, 2, 4, 8, 0x1000
_MS_REC, _MS_PRIVATE, _MS_REMOUNT = 0x4000, 1 << 18, 32
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
_SYS_MOUNT_SETATTR = 442  # the same number on x86_64, arm64 and the other modern tables
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219, "armv7l": 311, "ppc64le": 271, "s390x": 280}
_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        import ctypes
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


def _prctl(option, value) -> bool:
    try:
        return _libc().prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent():
    """Ask Linux to SIGKILL this process when its parent dies (no orphans after a crash)."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)


def _unshare(flags) -> bool:
    try:
        return _libc().unshare(flags) == 0
    except (OSError, AttributeError):
        return False


def _mount(source, target, fstype, flags, data=None) -> bool:
    encode = lambda s: s.encode() if s is not None else None  # noqa: E731
    try:
        return _libc().mount(encode(source), encode(target), encode(fstype), flags,
                             encode(data)) == 0
    except (OSError, AttributeError):
        return False


def _mount_setattr_readonly(path) -> bool:
    """Every mount under `path` read-only, in this mount namespace only (Linux ≥ 5.12)."""
    import ctypes
    attr = (ctypes.c_uint64 * 4)(1, 0, 0, 0)  # attr_set = MOUNT_ATTR_RDONLY
    AT_FDCWD, AT_RECURSIVE = -100, 0x8000
    try:
        return _libc().syscall(_SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE,
                               ctypes.byref(attr), ctypes.sizeof(attr)) == 0
    except (OSError, AttributeError):
        return False


def _enter_user_namespace() -> bool:
    """Not root: become root of a new user namespace (mapped to our own user), which allows
    pid and mount namespaces. False where the kernel or a security module forbids it."""
    uid, gid = os.getuid(), os.getgid()
    if not _unshare(_CLONE_NEWUSER):
        return False
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                           ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
    except OSError:
        return False
    return True


def _drop_capabilities() -> bool:
    """Clear every capability, the bounding set too (in a user namespace the student process
    would otherwise be 'root' there, able to unmount what hides the solutions; with
    no_new_privs, executing a program cannot give them back either)."""
    import ctypes

    PR_CAPBSET_DROP = 24
    for capability in range(64):
        if not _prctl(PR_CAPBSET_DROP, capability):
            break  # past the last capability this kernel knows

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable}, all zero
    try:
        return _libc().capset(ctypes.byref(header), ctypes.byref(data)) == 0
    except (OSError, AttributeError):
        return False
