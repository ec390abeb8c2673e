"""Check kinds: what a spec's `kind:` means. The `Kind` protocol, and the registry of kinds.

A kind is one module holding one `Kind` instance named `KIND`. Grading asks it, per check:

- `options`: the fields a check of this kind takes besides `name`, `function`, `kind`,
  `points`, `cases`, `select` and `timeout`: field → `Option(type, default, doc)`. The spec
  reader checks every check against them, with the file, line and field
  (`ex03_jacobians.yaml:60: checks[2].rtol: expected a number, got 'tiny'`); a check's
  `options` dict then holds a value for every one of them.
- `solution_names(check)`: the functions the solution module must define for this check
  (by default, the values of the options marked `solution=True`: a reference function, a
  gradient check's scalar function), and `public_names(check)`: those the exercise's public
  module must (options marked `public=True`: a predicate, an evaluator; code a student
  release carries, see grader.course); checked when the course is loaded.
- `calls(check, case, inputs)`: the calls of the checked function that one case needs, as
  `CaseCall`s; by default one, with the case's inputs. A call whose inputs the kind derives
  from the case's (the raised input of `monotone`) has a `key` of its own: calls with the same
  case and key are made once, for every check that needs them. A kind that makes more than
  one says so in `calls_per_case` (a batch budgets its time from it).
- `judge(check, run, ctx, outputs)`: the verdict on one case, `None` when it passes, else a
  `grader.checks.Verdict`. `outputs` holds the part of each call's return value that the
  check's `select` names, one per call, in the order `calls` gave them. A call that raised,
  timed out, crashed or changed its inputs never reaches `judge`: `grader.checks` reports it
  (the same way for every kind).
- `sanity(check, runs, ctx)`: what `grade validate` must point out in a check of this kind
  that grading the reference, the stub and the catalogued mistakes does not show (a gradient
  check whose true gradient is zero everywhere), as sentences; by default nothing.
- `author_errors(check, runs, ctx)`: what the solution module gives the check that the
  kind cannot judge with (a gradient check's `of` that returns an array, a predicate that
  raises on the reference's own output), as (field, sentence) pairs: `grade validate`
  reports each as a spec error at that field of the check, with the file and the line,
  before it grades anything; by default nothing.
- `explain_reference(check, run, ctx)`: why the reference's own output fails the check on
  `run`'s case, in the author's words, for `grade validate` (which names the reference as
  the cause, and never in the words a student would read); None (the default): said from
  the check's message.
- `reference_values(check, runs, ctx)`: ask `ctx` for every reference value `judge` may
  use on these cases (a student release's key holds exactly what was asked, with the
  catalogued mistakes' outputs); by default the reference output of every call
  (`ctx.reference`). A kind that uses other values says so here (`gradcheck`: the finite
  differences), one that uses none asks nothing (`train`).

How to add a kind NAME: write `grader/kinds/NAME.py` with a subclass of `Kind` and
`KIND = NameKind()`, where you write three things: its `options`, its `judge`, its `sanity`
rule (and `calls` with `calls_per_case`, only if a case needs more than one call;
`reference_values`, only if `judge` uses reference values other than `ctx.reference`'s);
then add the registry line `"NAME": "grader.kinds.NAME"` to `BUILTIN` below. Its docstring is its documentation for
spec authors (see `monotone.py`). `grader.checks` holds what a kind uses: `Verdict`,
`Context` (the reference outputs, the catalogued mistakes, the public functions
(`ctx.function`), a cache), `select`,
`value_verdict` (a wrong value, diagnosed) and `evidence`.

A kind module is imported whenever a spec that names it is read, by every `grade` command
(`grade list` and `grade hint` too), so at its top it imports only what reading needs (this
package, numpy); what judging needs (grader.checks, grader.compare: they bring the sandbox,
10 ms) it imports inside the methods that use it. tests/test_kinds.py checks this.

From outside gradewise (a course of your own, a test), without touching `grader/`:
`grader.kinds.register(MyKind())` makes a kind known to this process; for the `grade`
command, declare it as an entry point of the package that defines it:

    [project.entry-points."gradewise.kinds"]
    NAME = "mycourse.kinds:KIND"

Entry points are looked up only when a spec names a kind that is neither built in nor
registered, so the built-in kinds never pay for the search. A kind runs in the trusted
parent process, like the solution module: never in the sandbox.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # the kinds import grader.checks, which imports this module
    from ..checks import CaseRun, Context, Verdict
    from ..spec import Case, Check

#: the built-in kinds: name → the module whose `KIND` implements it (imported when used)
BUILTIN = {
    "compare": "grader.kinds.compare",
    "gradcheck": "grader.kinds.gradcheck",
    # not property.py: importing it would bind `property` here, over the builtin
    "property": "grader.kinds.property_check",
    "train": "grader.kinds.train",
    "monotone": "grader.kinds.monotone",
}
ENTRY_POINT_GROUP = "gradewise.kinds"


class _Required:
    def __repr__(self):
        return "REQUIRED"


REQUIRED = _Required()  #: an `Option` default: the spec must give the field


class Option(NamedTuple):  # not a frozen dataclass: 0.9 ms less at every `grade` start
    """One field a check of some kind takes (documented for spec authors by `doc`)."""

    type: type  #: float (any number; PyYAML's `1e-7` string too), int, str or bool
    default: object = REQUIRED
    doc: str = ""
    choices: tuple = ()  #: the only values allowed, when not every value of `type` is
    solution: bool = False  #: the value names a function of the solution module (secret)
    #: the value names a function of the exercise's public module (a predicate, an
    #: evaluator: it gives no answer away, and a student release carries it)
    public: bool = False
    parameter: bool = False  #: the value names a parameter of the checked function


class CaseCall(NamedTuple):
    """One call of the checked function that a case needs: its inputs, by name (they are
    bound to the function's parameters as a case's are)."""

    inputs: dict
    #: () for the case's own inputs; else a tuple naming how the inputs were derived from
    #: the case's, such that the same key always gives the same inputs
    key: tuple = ()
    note: str = ""  #: what these inputs are, shown to the student with the case's note


class Kind:
    """Base class of the check kinds; see the module's docstring for the protocol."""

    name: str = ""  #: the spec's `kind:` value
    options: dict = {}  #: field → Option (a class constant: never mutated)
    #: the most calls `calls` returns for one case (a batch's time budget counts them
    #: without building the cases: that needs the solution module)
    calls_per_case: int = 1

    def solution_names(self, check: Check) -> list[tuple[str, str]]:
        """(option, function name) pairs: what the solution module must define for `check`."""
        return [(key, check.options[key]) for key, option in self.options.items()
                if option.solution and check.options.get(key)]

    def public_names(self, check: Check) -> list[tuple[str, str]]:
        """(option, function name) pairs: what the public module must define for `check`."""
        return [(key, check.options[key]) for key, option in self.options.items()
                if option.public and check.options.get(key)]

    def calls(self, check: Check, case: Case, inputs: dict) -> list[CaseCall]:
        """The calls of `check.function` one case needs; `inputs`: the case's (do not
        change them: they are shared with every check of the case)."""
        return [CaseCall(inputs)]

    def judge(self, check: Check, run: CaseRun, ctx: Context, outputs: list) -> Verdict | None:
        """None if the case passes, else why not. `outputs`: see the module's docstring."""
        raise NotImplementedError

    def sanity(self, check: Check, runs: list[CaseRun], ctx: Context) -> list[str]:
        """Problems of `check` for `grade validate` (sentences; the check's name is added)."""
        return []

    def author_errors(self, check: Check, runs: list[CaseRun],
                      ctx: Context) -> list[tuple[str, str]]:
        """(field, sentence) pairs: what the solution module gives `check` that this kind
        cannot use; run in the trusted parent, on the reference's outputs (`ctx.reference`),
        before anything is graded."""
        return []

    def explain_reference(self, check: Check, run: CaseRun, ctx: Context) -> str | None:
        """Why the reference's own output fails `check` on `run`'s case, in the author's
        words (a sentence without the case's name), or None to say it from the verdict."""
        return None

    def reference_values(self, check: Check, runs: list[CaseRun], ctx: Context) -> None:
        """Ask `ctx` for every reference value `judge` may use on `runs` (a release's key
        is made of what was asked)."""
        for run in runs:
            for call in run.calls:
                ctx.reference(check, call)


def raised(name: str, exc: BaseException) -> str:
    """"`name` raised Type: message (file:line, `code`)" for a course author: the innermost
    line of the traceback that is neither gradewise's nor an installed library's."""
    import os
    import traceback

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    course = os.path.join(package, "_bundled") + os.sep  # an installed course is not ours

    def theirs(path):
        path = os.path.abspath(path)
        return (not path.startswith(package) or path.startswith(course)) \
            and "-packages" + os.sep not in path.replace(course, "")

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if theirs(f.filename)]
    shown = os.sep.join(os.path.abspath(frames[-1].filename).split(os.sep)[-2:]) \
        if frames else ""  # solutions/ex03_jacobians.py
    where = f" ({shown}:{frames[-1].lineno}, `{frames[-1].line}`)" if frames else ""
    return f"`{name}` raised {type(exc).__name__}: {exc}{where}"


_registered: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Make `kind` known under `kind.name` in this process, for every spec loaded from now
    on; returns it. Registering the same object again is harmless. Raises ValueError for a
    name that is empty or taken by another kind (built-in names are never replaced)."""
    if not kind.name:
        raise ValueError(f"{kind!r} has no name: set the class attribute `name`")
    if kind.name in BUILTIN or _registered.get(kind.name, kind) is not kind:
        raise ValueError(f"a check kind named {kind.name!r} exists already")
    _registered[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a kind given to `register` (tests); built-in kinds stay."""
    if name not in BUILTIN:
        _registered.pop(name, None)


def get(name: str) -> Kind | None:
    """The kind called `name` (built in, registered, else an entry point), or None."""
    if name in _registered:
        return _registered[name]
    if name in BUILTIN:
        kind = importlib.import_module(BUILTIN[name]).KIND
    else:
        kind = _from_entry_point(name)
        if kind is None:
            return None
    _registered[name] = kind
    return kind


def names() -> list[str]:
    """Every kind a spec may name: the built-in ones first."""
    found = [*BUILTIN, *(n for n in _registered if n not in BUILTIN)]
    return found + [n for n in _entry_point_names() if n not in found]


def _from_entry_point(name: str) -> Kind | None:
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name == name:
            kind = point.load()
            if not isinstance(kind, Kind) or kind.name != name:
                raise TypeError(f"entry point {point.value!r} ({ENTRY_POINT_GROUP}) must be a "
                                f"grader.kinds.Kind named {name!r}, got {kind!r}")
            return kind
    return None


def _entry_point_names() -> list[str]:
    from importlib.metadata import entry_points

    return sorted({point.name for point in entry_points(group=ENTRY_POINT_GROUP)})
