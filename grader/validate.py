"""`grade validate`: the course checks itself.

For every spec: it parses; its solution module has every function it names; the reference
solution scores full marks; the untouched stub scores 0 with "not implemented" everywhere;
every catalogued mistake, run as a student file, fails exactly its checks (all others pass)
and is named by its diagnosis; every check passes its kind's own sanity rule
(`Kind.sanity`: no gradient check would pass a gradient of zeros, ...). Under a
seed other than the public one (`--seed N`), every case differs from its public version,
unless its spec says `vary: fixed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cases import DEFAULT_SEED, build_inputs
from .course import find_course
from .errors import GradewiseError
from .stubs import render_stub


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

    result = grader.grade_source(spec, solution_source, filename)
    report.reference = f"{result.score:g}/{result.max_score:g}"
    if not result.full_marks:
        failing = [f"{c.name}: {c.message}" for c in result.checks if not c.passed]
        report.problems.append(f"the reference solution scores {report.reference}"
                               + (f" ({result.error})" if result.error else "")
                               + "".join(f"\n    {line}" for line in failing))

    stub = grader.grade_source(spec, render_stub(spec), f"<stub {spec.stem}.py>")
    report.stub = f"{stub.score:g}/{stub.max_score:g}"
    not_implemented = [c for c in stub.checks if c.diagnosis != "not-implemented"]
    if stub.score != 0 or stub.error or not_implemented:
        report.problems.append(f"the stub scores {report.stub}; checks without "
                               f"'not-implemented': {[c.name for c in not_implemented]}")

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
    report.problems.extend(_kind_problems(grader, spec))
    report.problems.extend(_unvaried_problems(grader, spec))
    report.problems.extend(_release_problems(grader, spec, solution_source, filename))


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


def _kind_problems(grader, spec) -> list[str]:
    """What each check's kind says is wrong with it (`Kind.sanity`), on the cases as graded
    under the grader's seed."""
    from . import kinds
    from .checks import Context, case_runs

    solution = grader.references(spec)
    ctx, inputs_of = Context(spec, solution, "", 0, {}), {}
    return [f"check {check.name!r}: {problem}" for check in spec.checks
            for problem in kinds.get(check.kind).sanity(
                check, case_runs(spec, check, grader.seed, solution, inputs_of), ctx)]


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
