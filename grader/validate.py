"""`grade validate`: the course checks itself.

For every spec: it parses; its solution module has every function it names, and gives every
check what its kind can judge with (`Kind.author_errors`: a gradient check's `of` returns a
number, a predicate does not raise on the reference's output, ...; a case's generator
returns the inputs its checked functions need), each reported as a spec error with file,
line and field; the reference solution scores full marks, and where it does not, each check
it fails is named once, as the author's error, in the author's words
(`reference_problems`, which `grade batch` and `grade gradescope` use too); the untouched
stub scores 0 with "not implemented" everywhere; every catalogued mistake, run as a student
file, fails exactly its checks (all others pass) and is named by its diagnosis; every check
passes its kind's own sanity rule (`Kind.sanity`: no gradient check would pass a gradient
of zeros, ...). Under a seed other than the public one (`--seed N`), every case differs
from its public version, unless its spec says `vary: fixed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .cases import DEFAULT_SEED, build_inputs
from .course import find_course
from .errors import GradewiseError
from .stubs import render_stub

#: diagnoses of a call that gave no value: their message says what happened, in words that
#: fit an author as well as a student
CALL_PROBLEMS = ("exception", "timeout", "memory", "crashed", "misbehaved", "mutated-input",
                 "not-implemented", "missing-function")
NOT_LOADED = ("the reference solution could not be loaded where student code runs (an empty "
              "folder, without the course's files: a solution reads its data in a case's "
              "generator, never when it is imported): {error}")
CALLERS = "checks of functions that call a failing one fail with it: {names}"


@dataclass
class SpecReport:
    name: str
    problems: list[str] = field(default_factory=list)
    reference: str = ""
    stub: str = ""
    mistakes: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {"spec": self.name, "ok": self.ok, "problems": self.problems,
                "reference": self.reference, "stub": self.stub, "mistakes": self.mistakes}


def validate_course(course=None, seed: int = 0) -> list[SpecReport]:
    from .grading import Grader  # the sandbox forks before any solution is loaded

    course = course or find_course()
    reports = []
    with Grader(course, seed=seed) as grader:
        for path in course.spec_paths():
            report = SpecReport(path.name)
            try:
                from .spec import load_spec
                spec = load_spec(path)
                grader.references(spec)
                _validate_spec(grader, spec, report)
            except GradewiseError as exc:
                report.problems.append(str(exc))
            reports.append(report)
    return reports


def _validate_spec(grader, spec, report):
    solution_path = grader.course.solutions_dir / spec.solution
    solution_source = solution_path.read_text(encoding="utf-8")
    filename = str(solution_path)
    checking = _Checking(grader, spec)

    report.problems.extend(checking.authoring_errors())
    if report.problems:  # nothing can be graded fairly until these are fixed
        report.reference = report.stub = report.mistakes = "not graded"
        return
    result, failures = checking.reference_problems(solution_source, filename)
    report.reference = f"{result.score:g}/{result.max_score:g}"
    report.problems.extend(failures)

    stub = grader.grade_source(spec, render_stub(spec), f"<stub {spec.stem}.py>")
    report.stub = f"{stub.score:g}/{stub.max_score:g}"
    not_implemented = [c for c in stub.checks if c.diagnosis != "not-implemented"]
    if stub.score != 0 or stub.error or not_implemented:
        report.problems.append(f"the stub scores {report.stub}; checks without "
                               f"'not-implemented': {[c.name for c in not_implemented]}")
    if failures:  # every mistake would fail because of the reference: checked once it passes
        report.mistakes = "not checked"
        return

    recognised = 0
    for mistake in spec.mistakes:
        source = f"{solution_source}\n\n{mistake.function} = {mistake.solution_attr}\n"
        graded = grader.grade_source(spec, source, filename)
        problem = _mistake_problem(spec, mistake, graded)
        if problem:
            report.problems.append(f"mistake {mistake.id}: {problem}")
        else:
            recognised += 1
    report.mistakes = f"{recognised}/{len(spec.mistakes)}"
    report.problems.extend(checking.kind_problems())
    report.problems.extend(_unvaried_problems(grader, spec))
    report.problems.extend(_release_problems(grader, spec, solution_source, filename))


def reference_problems(grader, spec) -> list[str]:
    """Why grading `spec` under `grader.seed` would tell students false things, in the
    author's words: spec errors in what the solution module gives the checks, else each
    check the reference solution fails (named once). Empty when the reference scores full
    marks. `grade batch` and `grade gradescope` refuse an exercise with any."""
    checking = _Checking(grader, spec)
    errors = checking.authoring_errors()
    if errors:
        return errors
    path = grader.course.solutions_dir / spec.solution
    return checking.reference_problems(path.read_text(encoding="utf-8"), str(path))[1]


class _Checking:
    """One spec checked in the trusted parent: its cases built once for the grader's seed,
    the reference's outputs and finite differences computed once (`Context`)."""

    def __init__(self, grader, spec):
        from .checks import Context

        self.grader, self.spec = grader, spec
        self.references = grader.references(spec)
        self.ctx = Context(spec, self.references, "", 0, {})
        self.built: dict = {}

    def runs(self, check):
        from .checks import case_runs

        return case_runs(self.spec, check, self.grader.seed, self.references, self.built)

    def authoring_errors(self) -> list[str]:
        """Spec errors (file, line, field) in what the solution gives each check: a case
        without an input its function needs, a `select` the reference's output does not
        have, then the kind's own (`Kind.author_errors`). Raises the SpecError of a
        generator whose result cannot be inputs (grader.course)."""
        from . import kinds

        spec, errors = self.spec, []
        for index, check in enumerate(spec.checks):
            runs = self.runs(check)
            problems = _missing_inputs(spec, check, runs) or self._select_problems(check, runs)
            if not problems:
                problems = [(("checks", index, field), problem) for field, problem
                            in kinds.get(check.kind).author_errors(check, runs, self.ctx)]
            errors.extend(str(spec.error(path, problem)) for path, problem in problems[:1])
        return errors

    def _select_problems(self, check, runs):
        from .checks import select
        from .values import noun

        index = self.spec.checks.index(check)
        for run in runs if check.select else ():
            try:
                output = self.ctx.reference(check, run.calls[0])
            except Exception:  # the reference itself fails: graded, and named, as such
                continue
            if not select(output, check.select)[0]:
                return [(("checks", index, "select"), f"the reference `{check.function}` "
                         f"returns {noun(output)} on case {run.case.name!r}, which has no "
                         f"part {list(check.select)}")]
        return []

    def reference_problems(self, source: str, filename: str):
        """(the reference's result, each failing check named once in the author's words)."""
        result = self.grader.grade_source(self.spec, source, filename)
        if result.error:  # the grader's words name the file: here, the author's own
            error = result.error.replace("your file", f"solutions/{self.spec.solution}", 1)
            return result, [NOT_LOADED.format(error=error)]
        failing = [c for c in result.checks if not c.passed]
        problems = [self._failure(c) for c in failing if c.diagnosis != "uses-failing-function"]
        callers = [c.name for c in failing if c.diagnosis == "uses-failing-function"]
        if callers:
            problems.append(CALLERS.format(names=", ".join(map(repr, callers))))
        return result, problems

    def _failure(self, result) -> str:
        check = next(c for c in self.spec.checks if c.name == result.name)
        case = result.evidence.case if result.evidence else ""
        others = len(result.failed_cases) - 1
        where = f" on case {case!r}" + (f" (and {others} other case{'s' * (others > 1)})"
                                         if others > 0 else "")
        return (f"the reference `{check.function}` fails {check.name!r}{where}: "
                f"{self._detail(check, result, case)}")

    def _detail(self, check, result, case) -> str:
        """What went wrong, for the author: never a diagnosis meant for a student (the
        reference may well match a catalogued mistake: that is the author's error)."""
        from . import kinds
        from .values import describe

        message = result.message.removeprefix(f"case '{case}': ")
        evidence = result.evidence
        if result.diagnosis in CALL_PROBLEMS:
            return message + _where(evidence.trace if evidence else [], self.spec.solution)
        if result.diagnosis == "grader-error":
            found = re.search(r"\((.*)\); this is not", message, re.S)
            return f"checking it failed: {found[1] if found else message} (see the log)"
        try:
            run = next(r for r in self.runs(check) if r.case.name == case)
            explained = kinds.get(check.kind).explain_reference(check, run, self.ctx)
        except Exception:  # the kind could not say more: say what the grading saw
            explained = None
        if explained:
            return explained
        if evidence and (evidence.got is not None or evidence.expected is not None):
            return (f"run as student code it returned {describe(evidence.got)}, but called "
                    f"here it returns {describe(evidence.expected)}: does it draw random "
                    "numbers without a seed, or keep something between calls?")
        return message

    def kind_problems(self) -> list[str]:
        """What each check's kind says is wrong with it (`Kind.sanity`), on the cases as
        graded under the grader's seed."""
        from . import kinds

        return [f"check {check.name!r}: {problem}" for check in self.spec.checks
                for problem in kinds.get(check.kind).sanity(check, self.runs(check), self.ctx)]


def _missing_inputs(spec, check, runs):
    """A case without an input that the checked function needs: the student's function would
    be called without it, and blamed for the TypeError."""
    function = spec.function(check.function)
    for run in runs:
        missing = [name for name in function.required_params if name not in run.inputs]
        if missing:
            index = spec.cases.index(run.case)
            field = "generate" if run.case.generate else "inputs"
            made = f"`{run.case.generate}` returns" if run.case.generate else "it has"
            return [(("cases", index, field), f"case {run.case.name!r} has no input "
                     f"{missing[0]!r} ({made} {', '.join(run.inputs) or 'none'}), which "
                     f"`{function.name}{function.signature}` needs for check {check.name!r}")]
    return []


def _where(trace, solution: str) -> str:
    """" (solutions/x.py, line 12, in f: `code`)" from the innermost traced line."""
    if not trace:
        return ""
    place, function, code = trace[-1]
    return f" (solutions/{solution}, line {place}, in {function}: `{code}`)"


def _mistake_problem(spec, mistake, graded) -> str | None:
    failed = {c.name for c in graded.checks if not c.passed}
    if graded.error:
        return f"the file could not be graded: {graded.error}"
    if not failed:
        return "passes every check: no case tells it apart from the reference"
    if mistake.fails is not None and failed != set(mistake.fails):
        return (f"fails {sorted(failed)}, the spec says it fails {sorted(mistake.fails)}")
    if mistake.fails is None:
        others = {c.name for c in spec.checks if c.function != mistake.function} & failed
        if others:
            return f"fails checks of other functions: {sorted(others)}"
    unnamed = [c.name for c in graded.checks if not c.passed and c.diagnosis != (
        mistake.id if c.function == mistake.function else "uses-failing-function")]
    if unnamed:
        diagnoses = {c.name: c.diagnosis for c in graded.checks if c.name in unnamed}
        return f"not recognised in {diagnoses} (diagnosis shown instead)"
    return None


def _unvaried_problems(grader, spec) -> list[str]:
    """A case that is the same under this seed as under the public one keeps the points of a
    submission that only holds a table of the public answers (`grade gradescope --hidden-seed`)."""
    if grader.seed == DEFAULT_SEED:
        return []
    solution = grader.references(spec)
    return [f"case {case.name!r} has the same inputs under seed {grader.seed} as under the "
            f"public seed {DEFAULT_SEED}, so a table of the public answers keeps its points: "
            "say how it varies (vary:), or write `vary: fixed` and why"
            for case in spec.cases if not case.fixed
            and _same(build_inputs(spec, case, DEFAULT_SEED, solution),
                      build_inputs(spec, case, grader.seed, solution))]


def _release_problems(grader, spec, solution_source: str, filename: str) -> list[str]:
    """What keeps a student release (`grade release`) from grading `spec` exactly as the
    full course does: a public function left in solutions/, a secret one in the public
    module, or a file (the reference, the stub, each catalogued mistake) graded otherwise
    from the key (made for the grader's seed, read back as a release reads it)."""
    from .keys import released
    from .release import public_problems

    problems = public_problems(grader.course, spec)
    if problems:
        return [f"a student release could not grade it: {p}" for p in problems]
    from_key = released(spec, grader.references(spec), grader.seed, grader.course.public(spec))
    files = {"the reference solution": solution_source, "the stub": render_stub(spec)}
    files.update((f"mistake {m.id}", f"{solution_source}\n\n{m.function} = {m.solution_attr}\n")
                 for m in spec.mistakes)
    for label, source in files.items():
        solutions = grader.grade_source(spec, source, filename).to_json()
        from_release = grader.grade_source(spec, source, filename, references=from_key).to_json()
        if solutions != from_release:
            problems.append(f"{label} is graded otherwise in a student release (from the key "
                            f"of seed {grader.seed}): {_difference(solutions, from_release)}")
    return problems


def _difference(solutions: dict, from_key: dict) -> str:
    """The first field of two results (`ExerciseResult.to_json`) that differs, in words."""
    pairs = [((f"check {a['name']!r}",), a, b)
             for a, b in zip(solutions["checks"], from_key["checks"])]
    pairs.append(((), solutions, from_key))
    for where, a, b in pairs:
        for name in a:
            if name != "checks" and a[name] != b.get(name):
                shown = [repr(v)[:120] for v in (a[name], b.get(name))]
                return (f"{', '.join((*where, name))}: {shown[0]} from the solutions, "
                        f"{shown[1]} from the key")
    return "the number of checks"


def _same(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and bool(np.all(np.asarray(a) == np.asarray(b)))
    return a is b or a == b


def report_renderable(reports: list[SpecReport]):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title="grade validate", title_justify="left")
    for column in ("spec", "reference", "stub", "mistakes", "status"):
        table.add_column(column)
    for r in reports:
        table.add_row(r.name, r.reference, r.stub, r.mistakes,
                      "[green]ok[/]" if r.ok else f"[red]{len(r.problems)} problem(s)[/]")
    parts = [table]
    for r in reports:
        for problem in r.problems:
            parts.append(Text.assemble((f"{r.name}: ", "bold red"), problem))
    bad = sum(not r.ok for r in reports)
    parts.append(Text(f"{len(reports)} specs, all valid." if not bad else
                      f"{bad} of {len(reports)} specs have problems.",
                      style="bold green" if not bad else "bold red"))
    return Group(*parts)
