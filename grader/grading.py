"""Grading one exercise: cases → isolated calls → checks → an `ExerciseResult`.

The `Grader` forks its sandbox when it is created, before any reference solution is
loaded: create it first, then grade as many exercises as needed, then close it. Its
reference values come from the course's solution modules, or in a student release from the
reference keys (grader.references): the same grading either way.
"""

from __future__ import annotations

import re
from dataclasses import replace

from . import kinds
from .checks import Context, case_runs, run_check
from .diagnose import EMPTY_FOLDER, blame_callees, reads_a_missing_file
from .reader import Submission, line_label, python_source
from .results import CheckResult, ExerciseResult
from .sandbox import Call, Limits, Sandbox
from .spec import Spec

MODULE_ERRORS = {
    "syntax": "your file does not parse: {type}{at_where}: {message}. Fix it and grade again.",
    "exception": "your file raised {type} while it was loaded ({where}): {message}. Code at "
                 "the top level of the file runs first; fix it or move it into a function.",
    "timeout": "your file's top-level code ran for more than {seconds:g} s of computing time, "
               "so no function could be graded: move demos and experiments under "
               "`if __name__ == \"__main__\":`.",
    "crashed": "your file's top-level code stopped the process ({detail}), so no function could "
               "be graded.",
    "misbehaved": "your file's top-level code misbehaved: {detail}. No function could be graded.",
}
# a notebook's graded code is its definitions (grader.reader): no demo, no scratch cell
NOTEBOOK_MODULE_ERRORS = {
    **MODULE_ERRORS,
    "exception": "your notebook raised {type} while its definitions were loaded ({where}): "
                 "{message}. Fix that line, run its cell, and grade again.",
    "timeout": "your notebook's definitions (with the imports and constants they use) took "
               "more than {seconds:g} s to load, so no function could be graded: compute "
               "slow things inside functions, not at the top level of a cell.",
    "crashed": "loading your notebook's definitions stopped the process ({detail}), so no "
               "function could be graded.",
}
DEFINED_AGAIN = ("`{name}` is defined {times}: {places}. The last one, at {last}, is the one "
                 "graded (in Python the last definition wins).")
STUB_AGAIN = ("`{name}` was defined again as the unfilled stub at {last}, after your code at "
              "{before}: the kernel now has the stub, and that is what is graded. Run the cell "
              "with your code again.")
COMMAND_NAME = (". Not run while grading: {commands}. If `{name}` comes from there, define it "
                "in the notebook itself.")
#: seconds of computing (CPU) time a call may take when its check sets no limit of its own.
#: Every reference call of the course takes under 5 ms, and the slowest call of the student
#: files in the field 6 ms (exercise 6's training, the one slow call, has a limit of its own):
#: half a second is about a hundred times that. It is also what a function that loops costs
#: the class: with 1 s, the 5 looping students of benchmarks/batch.py cost it 1.23 times its
#: CPU time without them; with 0.5 s, 1.14 (the target is 1.25).
CALL_SECONDS = 0.5


def time_limits(limits: Limits | None = None, timeout: float | None = None) -> Limits:
    """The limits a `Grader` runs with: `limits` (default: the sandbox's, with CALL_SECONDS
    per call), and with the instructor's `timeout` (`--timeout S` of `grade`, seconds of
    computing time): S per call, and at least S to load the file. Each call's own limit is
    `call_seconds`."""
    limits = limits or Limits(call_timeout=CALL_SECONDS)
    if not timeout:
        return limits
    return replace(limits, call_timeout=timeout,
                   import_timeout=max(limits.import_timeout, timeout))


def call_seconds(check, limits: Limits, timeout: float | None = None) -> float:
    """Seconds of computing time each call of `check` may take: its own limit (the spec's
    `timeout:`) or the default per call of `limits`; with the instructor's `timeout`, at
    least that (a slow machine gets more time for every call, exercise 6's training too)."""
    own = check.timeout or limits.call_timeout
    return max(own, timeout) if timeout else own


class Grader:
    """Grades exercises of submissions with one sandbox. `limits`: the sandbox's (default:
    `time_limits()`); `timeout`: the instructor's `--timeout`, which raises every limit to at
    least that many seconds of computing time (`time_limits`, `call_seconds`)."""

    def __init__(self, course, seed: int | None = None, limits: Limits | None = None,
                 hide=(), timeout: float | None = None):
        """`seed`: of the random cases (default: the public one, `course.seed`). Raises
        GradewiseError for a seed a student release has no keys for."""
        seed = course.seed(seed)
        # first: forked while no solution is in memory; `hide`: more folders the student's
        # code must not see (submissions, output), besides every copy of the course
        self.sandbox = Sandbox(time_limits(limits, timeout),
                               hide=(*course.private_places(), *hide))
        self.course, self.seed, self.timeout = course, seed, timeout
        self.limits = self.sandbox.limits
        self._solutions: dict = {}
        self._references: dict = {}  #: (spec path, seed) → its reference source
        #: (spec path, seed, reference source) → inputs, references, finite differences
        self._memo: dict = {}

    def close(self):
        self.sandbox.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def solution(self, spec: Spec):
        """The solution module of `spec` (the full course only: GradewiseError in a release)."""
        if spec.path not in self._solutions:
            module = self.course.solution(spec)
            check_solution(spec, module)
            self._solutions[spec.path] = module
        return self._solutions[spec.path]

    def references(self, spec: Spec):
        """Where the reference values of `spec` come from under the grader's seed: its
        solution module, or in a student release its key (grader.references)."""
        at = (spec.path, self.seed)
        if at not in self._references:
            self._references[at] = self.course.references(spec, self.seed)
        return self._references[at]

    def grade_source(self, spec: Spec, source: str, filename: str, shown_as: str = "",
                     references=None) -> ExerciseResult:
        """Grade the Python module `source` (a .py file's text); tracebacks name `filename`."""
        return self.grade(spec, python_source(source, filename), shown_as, references)

    def grade(self, spec: Spec, submission: Submission, shown_as: str = "",
              references=None) -> ExerciseResult:
        """Grade a submission (`grader.reader`); messages name it `shown_as`, and its lines
        are shown where the student wrote them (a notebook's cell k, line j). `references`:
        a reference source to grade with instead of the course's (`grade validate` grades
        from a key and from the solutions, and compares)."""
        references = self.references(spec) if references is None else references
        memo = self._memo.setdefault((spec.path, self.seed, references), {})
        shown_as = shown_as or submission.filename
        calls, runs = self._plan(spec, references, memo.setdefault("inputs", {}))
        outcome = self.sandbox.run(submission.code, submission.filename, calls)
        if submission.kind != "py":
            _place_lines(outcome, submission)
        result = ExerciseResult(spec.number, spec.slug, spec.title, 0.0, spec.points,
                                file=shown_as, output=outcome.output,
                                output_dropped=outcome.output_dropped,
                                notes=[*submission.notes, *defined_again(spec, submission)])
        if outcome.module_status != "ok":
            result.error, result.error_lines = _module_error(outcome, self.limits, submission)
            result.checks = [_not_graded(check) for check in spec.checks]
            return result
        skip_reasons = {}
        for call, call_outcome in zip(calls, outcome.calls):
            if call_outcome.status in ("timeout", "crashed", "memory"):
                skip_reasons.setdefault(call.function, call_outcome)
        ctx = Context(spec, references, shown_as, self.limits.call_timeout, skip_reasons, memo)
        for check, check_runs in runs:
            for run in check_runs:
                for call in run.calls:
                    call.outcome = outcome.calls[call.index]
            result.checks.append(run_check(check, check_runs, ctx))
        blame_callees(result.checks, submission.code, spec.mistakes)
        if submission.commands:
            _point_to_commands(result.checks, submission.commands)
        result.score = sum(c.score for c in result.checks)
        return result

    def _plan(self, spec, references, inputs_of: dict):
        """The calls to make (each distinct call once: same function, case and call key) and,
        per check, its case runs (each of its calls pointing at one of them). `inputs_of`:
        the cases' inputs built so far under the grader's seed (case name → inputs; the
        memo is keyed by the seed: Gradescope's hidden pass sets `seed` on the same Grader)."""
        calls, index, runs = [], {}, []
        for check in spec.checks:
            timeout = call_seconds(check, self.limits, self.timeout)
            if timeout != (check.timeout or self.limits.call_timeout):
                check = replace(check, timeout=timeout)  # its messages say the limit it had
            check_runs = case_runs(spec, check, self.seed, references, inputs_of)
            for call in (call for run in check_runs for call in run.calls):
                key = (check.function, call.key)
                if key not in index:
                    index[key] = len(calls)
                    calls.append(Call(check.function, call.args, timeout))
                elif calls[index[key]].timeout < timeout:
                    calls[index[key]] = Call(check.function, call.args, timeout)
                call.index = index[key]
            runs.append((check, check_runs))
        return calls, runs


def check_solution(spec: Spec, module) -> None:
    """Every name the spec asks of the solution module exists there (else a SpecError)."""
    wanted = [(("functions", i, "name"), f.name) for i, f in enumerate(spec.functions)]
    for i, check in enumerate(spec.checks):
        wanted += [(("checks", i, key), name)
                   for key, name in kinds.get(check.kind).solution_names(check)]
    wanted += [(("mistakes", i, "id"), m.solution_attr) for i, m in enumerate(spec.mistakes)]
    for path, name in wanted:
        if not callable(getattr(module, name, None)):
            raise spec.error(path, f"the solution module solutions/{spec.solution} has no "
                             f"function {name!r}")


def public_names(spec: Spec) -> list[tuple[tuple, str]]:
    """(spec path, name) of every public function the spec names: case generators,
    predicates, evaluators (grader.course: the public module holds them)."""
    wanted = [(("cases", i, "generate"), c.generate) for i, c in enumerate(spec.cases) if c.generate]
    for i, check in enumerate(spec.checks):
        wanted += [(("checks", i, key), name)
                   for key, name in kinds.get(check.kind).public_names(check)]
    return wanted


def check_public(spec: Spec, public, solution=None) -> None:
    """Every public function the spec names exists in its public module, or (the full
    course, written before public modules) in the solution module `solution`; else a
    SpecError saying where it belongs."""
    for path, name in public_names(spec):
        if not callable(getattr(public, name, None)) and \
                not callable(getattr(solution, name, None)):
            where = f"exercises/{spec.stem}_grading.py"
            raise spec.error(path, f"no function {name!r} in the public module {where} "
                             f"(case generators, predicates and evaluators go there)"
                             + (f" nor in solutions/{spec.solution}" if solution else ""))


def defined_again(spec: Spec, submission: Submission) -> list[str]:
    """Notes on the spec's functions defined more than once at the top level. In a kernel's
    history, redefining is how a function is edited: only a stub that replaced the
    student's code is worth a note there."""
    # a top-level `def` starts a line: without two such lines for a name, no need to parse
    wanted = {f.name for f in spec.functions
              if len(re.findall(rf"^(?:async[ \t]+)?def[ \t]+{re.escape(f.name)}\b",
                                submission.code, re.M)) > 1}
    if not wanted:
        return []
    found: dict[str, list] = {}
    for definition in submission.definitions:
        if definition.name in wanted:
            found.setdefault(definition.name, []).append(definition)
    notes = []
    for name, definitions in found.items():
        if len(definitions) < 2:
            continue
        last, before = definitions[-1], definitions[-2]
        if submission.kind == "history":
            if last.stub and not before.stub:
                notes.append(STUB_AGAIN.format(name=name, last=submission.label(last.line),
                                               before=submission.label(before.line)))
            continue
        places = [submission.label(d.line) for d in definitions]
        times = "twice" if len(places) == 2 else f"{len(places)} times"
        notes.append(DEFINED_AGAIN.format(name=name, times=times,
                                          places=", ".join(f"at {p}" for p in places[:-1])
                                          + f" and at {places[-1]}", last=places[-1]))
    return notes


def _place_lines(outcome, submission: Submission) -> None:
    """Line numbers of the graded code, in what the child sent back, become the places the
    student knows ("cell 4, line 2")."""
    exceptions = [outcome.module_exception] + [c.exception for c in outcome.calls if c]
    for exc in exceptions:
        if exc and exc.get("lines"):
            exc["lines"] = [(submission.place(number), function, code)
                            for number, function, code in exc["lines"]]


def _point_to_commands(checks, commands) -> None:
    """A name the notebook never defines may come from an IPython command that was not run
    (`%run helpers.py`): say so where the NameError is reported."""
    for check in checks:
        missing = re.search(r"NameError: name '(\w+)' is not defined", check.message or "")
        if check.diagnosis == "exception" and missing:
            check.message += COMMAND_NAME.format(commands=", ".join(commands[:2]),
                                                 name=missing[1])


def _module_error(outcome, limits: Limits, submission: Submission):
    templates = MODULE_ERRORS if submission.kind == "py" else NOTEBOOK_MODULE_ERRORS
    status = outcome.module_status if outcome.module_status in templates else "crashed"
    exc = outcome.module_exception or {}
    lines = exc.get("lines") or []
    where = line_label(lines[-1][0]) if lines else "line ?"
    text = templates[status].format(type=exc.get("type", ""), where=where,
                                    at_where=f" at {where}" if lines else "",
                                    message=exc.get("message", "").rstrip("."),
                                    seconds=limits.import_timeout,
                                    detail=outcome.module_detail or "it ended early")
    if status == "exception" and reads_a_missing_file(exc):
        text += " " + EMPTY_FOLDER
    return text, [(number, code) for number, _, code in lines]


def _not_graded(check) -> CheckResult:
    return CheckResult(check.name, check.function, check.kind, False, 0.0, check.points,
                       message="not graded: the file could not be loaded")
