"""Running untrusted student code: the sandbox, as one unit with one entry point.

    with Sandbox(Limits(call_timeout=5), hide=[course_root, out_dir]) as sandbox:
        outcome = sandbox.run(source, "ex01_softmax.py", [Call("softmax", (f,), 5.0)])

`Sandbox.run` returns a `RunOutcome`: how the module loaded, then one `CallOutcome` per call,
built only from data the parent checked (a value that could not cross is an `Unsupported`
saying what it was) (see `grader.sandbox.parent` for the protocol and its
bounds, `grader.sandbox.isolation` for the operating system's part, SECURITY.md for what holds
where). Nothing here imports the rest of gradewise but two leaf modules: the test functions
(`grader.testfuncs`) and `grader.safetext` (text from the child is made safe to show).
"""

from .isolation import UID_BASE, die_with_parent
from .parent import Sandbox, run_time_bound
from .types import Call, CallOutcome, Limits, RunOutcome
from .wire import Unsupported

__all__ = ["Sandbox", "run_time_bound", "Limits", "Call", "CallOutcome", "RunOutcome", "UID_BASE",
           "die_with_parent", "Unsupported"]
