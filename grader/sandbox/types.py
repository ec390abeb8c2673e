"""What the sandbox takes (limits, calls) and gives back (outcomes): plain data, shared by
the trusted parent and the processes it starts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    """Limits of one run of student code. Times in seconds (wall clock), sizes in bytes."""

    call_timeout: float = 5.0  #: per call, unless the check says more
    import_timeout: float = 10.0  #: for the module's top-level code
    memory_bytes: int = 2 * 2 ** 30  #: address space the student process may add
    output_bytes: int = 64 * 1024  #: printed output kept (the rest is counted and dropped)
    file_bytes: int = 256 * 2 ** 20  #: largest file the student process may write
    tmp_bytes: int = 64 * 2 ** 20  #: size of the sandbox's private /tmp (namespaces)
    processes: int = 64  #: processes and threads of the sandbox's user (not when it is yours)
    namespaces: bool = True  #: use pid/mount/network namespaces where Linux allows it
    drop_user: bool = True  #: as root, run student code as an unprivileged user of its own


@dataclass(frozen=True)
class Call:
    """One call the parent makes: `function(*args)`, `timeout` seconds of wall time."""

    function: str
    args: tuple
    timeout: float


@dataclass
class CallOutcome:
    """What happened to one call.

    `status`: ok | exception | timeout | memory | crashed | missing | skipped | misbehaved.
    `value`: the decoded return value (ok only). `args_after`: the arguments as the call left
    them (arrays read by the parent from the memory it shared with the call, so the student's
    code cannot forge them). `exception`: {"type", "message", "lines": [(line, function,
    code), ...]} with lines of the graded source. `seconds`: wall time measured by the parent.
    """

    status: str
    value: object = None
    args_after: list | None = None
    exception: dict | None = None
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RunOutcome:
    """One run of a student file: how its module loaded, then one outcome per call."""

    calls: list
    module_status: str = "ok"  #: ok | syntax | exception | timeout | crashed | misbehaved
    module_exception: dict | None = None
    module_detail: str = ""
    output: str = ""  #: what the student's code printed (bounded)
    output_dropped: int = 0  #: bytes printed beyond the bound
    isolation: str = ""  #: what the sandbox enforced, in words
    exposed: list = field(default_factory=list)  #: hidden paths its code could still read
