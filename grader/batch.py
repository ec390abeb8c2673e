"""Grading a whole class: `grade batch SUBS/ --out DIR`.

    SUBS/<student>/exNN_slug.py|.ipynb   a folder per student, any subset of the exercises
    SUBS/<student>.py|.ipynb             one file per student holding several exercises

The parent (this module's `run_batch`) finds the submissions and writes the output; it never
loads a reference solution. Grading happens in `jobs` pool processes forked from it, each
with its own `Grader`, whose sandbox forks before that pool process loads any solution: no
process that runs student code ever had a solution in memory. A pool process sends back
plain JSON. Every output file is written atomically (complete, then renamed into place) as
soon as its student is graded, so a killed batch loses nothing already graded, and
`resume=True` grades only the students without feedback yet.
"""

from __future__ import annotations

import ast
import json
import os
import re
import select
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GradewiseError
from .gradebook import Output, feedback_markdown

EXERCISE_FILE = re.compile(r"^ex0*(\d{1,2})(?:[_\-\s.].*)?\.(py|ipynb)$", re.IGNORECASE)
SOURCE_SUFFIXES = (".py", ".ipynb")
MAX_SOURCE_BYTES = 5 * 2 ** 20
RETRIES = 1  # a student whose pool process died is graded once more before scoring 0


@dataclass
class Student:
    name: str
    root: Path  #: the submissions folder; files are shown relative to it
    files: dict = field(default_factory=dict)  #: exercise number → Path
    whole: Path | None = None  #: one file holding several exercises

    def shown(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


@dataclass
class Plan:
    students: list
    unmatched: list  #: {"path": ..., "reason": ...}, relative to SUBS


# -- finding the submissions ------------------------------------------------------------------

def discover(subs: Path, specs) -> Plan:
    """The students under `subs` and, for each, the file of each exercise in `specs`."""
    if not subs.is_dir():
        raise GradewiseError(f"{subs}: no such folder (expected one folder or file per student)")
    students, unmatched = {}, []
    entries = sorted(os.scandir(subs), key=lambda e: e.name)
    folders = {e.name for e in entries if e.is_dir(follow_symlinks=False)}
    for entry in entries:
        rel = entry.name
        if entry.name.startswith("."):
            unmatched.append(_unmatched(rel, "hidden entry, not searched"))
        elif entry.is_symlink():
            unmatched.append(_unmatched(rel, "symbolic link, not followed"))
        elif entry.is_dir(follow_symlinks=False):
            students[entry.name] = student_from_folder(Path(entry.path), subs, specs, unmatched)
        elif Path(entry.name).suffix.lower() in SOURCE_SUFFIXES and entry.is_file():
            name = Path(entry.name).stem
            if name in folders:
                unmatched.append(_unmatched(rel, f"{name}/ is a folder too: that one is graded"))
            elif name in students:
                unmatched.append(_unmatched(rel, f"{name} has another file: "
                                                 f"{students[name].whole.name} is graded"))
            else:
                students[name] = Student(name, subs, whole=Path(entry.path))
        else:
            unmatched.append(_unmatched(rel, "not a student folder, .py or .ipynb file"))
    return Plan(sorted(students.values(), key=lambda s: s.name), unmatched)


def student_from_folder(folder: Path, root: Path, specs, unmatched: list) -> Student:
    """The student of one folder: the file of each exercise (the exact name `exNN_slug`
    first, then `exNN…`, shallower first, .py before .ipynb); a folder whose only code file
    has no exercise name holds every exercise. What matches nothing goes to `unmatched`."""
    student = Student(folder.name, root)
    numbers = {spec.number: spec for spec in specs}
    candidates, sources, others = {}, [], []
    for path, depth, problem in _walk(folder):
        shown = student.shown(path)
        if problem:
            unmatched.append(_unmatched(shown, problem))
            continue
        match = EXERCISE_FILE.match(path.name)
        if match and int(match[1]) in numbers:
            spec = numbers[int(match[1])]
            exact = path.stem.lower() == spec.stem.lower()
            rank = (not exact, depth, path.suffix.lower() != ".py", shown)
            candidates.setdefault(spec.number, []).append((rank, path, shown))
        elif path.suffix.lower() in SOURCE_SUFFIXES:
            sources.append((path, shown, match))
        else:
            others.append(shown)
    for number, found in candidates.items():
        found.sort()
        student.files[number] = found[0][1]
        for _, _, shown in found[1:]:
            unmatched.append(_unmatched(shown, f"exercise {number} is graded from "
                                               f"{found[0][2]}"))
    if not candidates and len(sources) == 1 and not sources[0][2]:
        student.whole = sources[0][0]  # one notebook or module holding every exercise
        sources = []
    for path, shown, match in sources:
        reason = (f"no exercise {int(match[1])} in this course (or not selected)" if match else
                  "cannot tell which exercise: name it exNN_slug.py or .ipynb")
        unmatched.append(_unmatched(shown, reason))
    unmatched.extend(_unmatched(shown, "not a .py or .ipynb file") for shown in others)
    return student


def _walk(folder: Path, depth: int = 0):
    """(path, depth, problem) of every file below `folder`, never following a link."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.is_symlink():
            yield path, depth, "symbolic link, not followed"
        elif entry.is_dir(follow_symlinks=False):
            if entry.name.startswith(".") or entry.name == "__pycache__":
                yield path, depth, "hidden or cache folder, not searched"
            else:
                yield from _walk(path, depth + 1)
        elif entry.name.startswith("."):
            yield path, depth, "hidden file"
        else:
            yield path, depth, None


def _unmatched(path: str, reason: str) -> dict:
    return {"path": path, "reason": reason}


def parse_exercises(text: str | None, specs) -> list:
    """`1,3-5` → those specs (None: all)."""
    if not text:
        return list(specs)
    wanted = set()
    for part in text.split(","):
        bounds = part.strip().split("-")
        if not 1 <= len(bounds) <= 2 or not all(b.strip().isdigit() for b in bounds):
            raise GradewiseError(f"--exercises {text!r}: expected numbers and ranges like 1,3-5")
        low, high = int(bounds[0]), int(bounds[-1])
        wanted.update(range(low, high + 1))
    known = {s.number for s in specs}
    if wanted - known:
        raise GradewiseError(f"--exercises: no exercise {sorted(wanted - known)} in this course "
                             f"(it has {sorted(known)})")
    return [s for s in specs if s.number in wanted]


# -- grading one student (in a pool process) -------------------------------------------------

def grade_student(grader, specs, student: Student) -> list:
    """The ExerciseResults of one student, one per spec; never raises for the student's sake."""
    results = []
    for spec in specs:
        path = student.whole or student.files.get(spec.number)
        if path is None:
            reason = f"not submitted: no {spec.stem}.py or .ipynb in {student.name}/"
            results.append(_ungraded(spec, reason, submitted=False))
            continue
        shown = student.shown(path)
        try:
            submission = load_source(path, shown)
        except GradewiseError as exc:
            results.append(_ungraded(spec, str(exc).replace(str(path), shown), submitted=True))
            continue
        if student.whole is not None and not _defines_any(submission, spec):
            reason = f"not submitted: {shown} defines none of {_names(spec)}"
            results.append(_ungraded(spec, reason, submitted=False))
            continue
        try:
            result = grader.grade(spec, submission, shown)
        except GradewiseError:
            raise  # a broken spec is the instructor's to fix, not a student's zero
        except Exception as exc:  # a bug in the grader: this file scores 0, the batch goes on
            import traceback
            traceback.print_exc()
            result = _ungraded(spec, f"the grader failed on this file ({type(exc).__name__}: "
                                     f"{exc}); please report it", submitted=True)
        results.append(result)
    return results


def load_source(path: Path, shown: str):
    """A submitted file as `grader.reader` reads it (never through a symbolic link; bounded;
    a notebook as IPython runs it); tracebacks name it `shown`. Raises GradewiseError."""
    from .reader import read_submission

    return read_submission(path, filename=shown, follow_symlinks=False)


def _defines_any(submission, spec) -> bool:
    from .reader import parse_bounded

    tree = parse_bounded(submission.code)
    if tree is None:
        return True  # let the grader report it (a syntax error, ...)
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Try):  # a notebook's guarded assignment (grader.reader)
            names.update(t.id for stmt in node.body if isinstance(stmt, ast.Assign)
                         for t in stmt.targets if isinstance(t, ast.Name))
    return bool(names & {f.name for f in spec.functions})


def _names(spec) -> str:
    return ", ".join(f"`{f.name}`" for f in spec.functions)


def _ungraded(spec, reason: str, submitted: bool):
    from .results import CheckResult, ExerciseResult

    checks = [CheckResult(c.name, c.function, c.kind, False, 0.0, c.points,
                          message=f"not graded: {reason}") for c in spec.checks]
    result = ExerciseResult(spec.number, spec.slug, spec.title, 0.0, spec.points,
                            error=reason, checks=checks)
    result.submitted = submitted
    return result


def record_of(student: Student, results, seed: int, isolation: str = "") -> dict:
    """What feedback/<student>.json holds: the results (DESIGN section 5) and the total."""
    exercises = []
    for result in results:
        data = result.to_json()
        data["submitted"] = getattr(result, "submitted", True)
        exercises.append(data)
    return {"student": student.name, "seed": seed,
            "score": sum(r.score for r in results), "max_score": sum(r.max_score for r in results),
            "isolation": isolation, "results": exercises}


# -- the pool of grading processes ------------------------------------------------------------

@dataclass
class _Worker:
    pid: int
    task_fd: int  #: where students are sent, one JSON line each
    student: Student | None = None  #: the one being graded
    pending: bytes = b""  #: the start of a result line


class _Pool:
    """`jobs` grading processes, forked from this (solution-free) process, fed one student
    at a time over pipes; each answers with one JSON line."""

    def __init__(self, jobs: int, course, specs, seed: int, limits, hide):
        self.args = (course, specs, seed, limits, hide)
        self.workers: dict[int, _Worker] = {}  # by the descriptor its results come on
        for _ in range(jobs):
            self._spawn()

    def _spawn(self):
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        others = [fd for result_fd, w in self.workers.items() for fd in (result_fd, w.task_fd)]
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for fd in others + [task_w, result_r]:  # its siblings' pipes are not its own
                    os.close(fd)
                _pool_main(task_r, result_w, *self.args)
                code = 0
            except KeyboardInterrupt:
                pass
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(task_r)
        os.close(result_w)
        self.workers[result_r] = _Worker(pid, task_w)

    def idle(self):
        return [fd for fd, w in self.workers.items() if w.student is None]

    def busy_count(self) -> int:
        return sum(w.student is not None for w in self.workers.values())

    def send(self, fd, student: Student):
        worker = self.workers[fd]
        worker.student = student
        task = {"name": student.name, "root": str(student.root),
                "whole": str(student.whole) if student.whole else None,
                "files": {str(n): str(p) for n, p in student.files.items()}}
        try:
            os.write(worker.task_fd, (json.dumps(task) + "\n").encode())
        except OSError:
            pass  # it died: `receive` sees the end of its pipe

    def receive(self, timeout: float):
        """[(student, record or None)]: None when the pool process died on that student."""
        ready, _, _ = select.select(list(self.workers), [], [], timeout)
        done = []
        for fd in ready:
            worker = self.workers[fd]
            data = os.read(fd, 1 << 20)
            if not data:
                done.append((worker.student, None))
                self._bury(fd)
                continue
            worker.pending += data
            while b"\n" in worker.pending:
                line, worker.pending = worker.pending.split(b"\n", 1)
                done.append((worker.student, json.loads(line)))
                worker.student = None
        return [(s, r) for s, r in done if s is not None]

    def _bury(self, fd):
        worker = self.workers.pop(fd)
        os.close(fd)
        os.close(worker.task_fd)
        try:
            os.waitpid(worker.pid, 0)
        except ChildProcessError:
            pass

    def replace_dead(self, wanted: int):
        while len(self.workers) < wanted:
            self._spawn()

    def close(self):
        for fd in list(self.workers):
            if self.workers[fd].student is not None:  # interrupted mid-student: stop it now
                try:
                    os.kill(self.workers[fd].pid, 9)
                except ProcessLookupError:
                    pass
            self._bury(fd)


def _pool_main(task_fd, result_fd, course, specs, seed, limits, hide):
    from .grading import Grader  # its sandbox forks first, before any solution is loaded
    from .isolation import die_with_parent

    die_with_parent()  # a killed batch leaves no grading process behind
    assert not any(m.startswith("_gradewise_solutions") for m in sys.modules), \
        "a batch pool process must start without solutions"
    tasks = os.fdopen(task_fd, "r", encoding="utf-8")
    results = os.fdopen(result_fd, "w", encoding="utf-8")
    with Grader(course, seed=seed, limits=limits, hide=hide) as grader:
        for line in tasks:
            task = json.loads(line)
            student = Student(task["name"], Path(task["root"]),
                              {int(n): Path(p) for n, p in task["files"].items()},
                              Path(task["whole"]) if task["whole"] else None)
            started = time.monotonic()
            graded = grade_student(grader, specs, student)
            record = record_of(student, graded, seed, grader.sandbox.isolation)
            record["seconds"] = round(time.monotonic() - started, 3)
            record["exposed"] = list(grader.sandbox.exposed or [])
            record["markdown"] = feedback_markdown(record, graded)
            results.write(json.dumps(record, default=_plain) + "\n")
            results.flush()


def _plain(value):
    import numpy as np
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


# -- the batch --------------------------------------------------------------------------------

@dataclass
class BatchOptions:
    jobs: int = 0  #: pool processes (0: the number of cores)
    seed: int = 0
    limits: object = None  #: runner.Limits
    resume: bool = False


def run_batch(subs: Path, out: Path, course, specs, options: BatchOptions, on_result=None):
    """Grade every student of `subs` into `out`; returns the summary (as in summary.json).
    `on_result(student_name, record, done, total)` is called after each student."""
    subs, out = Path(subs).resolve(), Path(out).resolve()
    plan = discover(subs, specs)
    if not plan.students:
        raise GradewiseError(f"{subs}: no student in it (expected a folder or a .py/.ipynb file "
                             f"per student; {len(plan.unmatched)} other entries)")
    if out == subs or subs in out.parents:
        raise GradewiseError(f"--out {out} is inside the submissions folder: choose another one")
    out_files = Output(out)
    records = out_files.previous(plan.students, specs, options.seed) if options.resume else {}
    todo = [s for s in plan.students if s.name not in records]
    total = len(plan.students)
    state = {"records": records, "plan": plan, "specs": specs, "options": options}
    out_files.write_tables(state)
    if on_result:
        on_result(None, None, len(records), total)
    if todo:
        _grade_all(todo, out_files, state, course, subs, out, on_result, total)
    return out_files.write_tables(state)


def _grade_all(todo, out_files, state, course, subs, out, on_result, total):
    options, specs, records = state["options"], state["specs"], state["records"]
    jobs = max(1, min(options.jobs or len(os.sched_getaffinity(0)), len(todo)))
    from . import grading  # noqa: F401  (numpy and the engine, once, shared by the forks)
    pool = _Pool(jobs, course, specs, options.seed, options.limits, hide=(subs, out))
    queue, attempts = list(todo), Counter()
    try:
        while queue or pool.busy_count():
            for fd in pool.idle():
                if queue:
                    pool.send(fd, queue.pop(0))
            for student, record in pool.receive(timeout=1.0):
                if record is None:
                    attempts[student.name] += 1
                    if attempts[student.name] <= RETRIES:
                        queue.insert(0, student)
                        continue
                    record = record_of(student, [_ungraded(spec, "the grading process died "
                                                           "while grading this submission",
                                                           submitted=True) for spec in specs],
                                       options.seed)
                    record["markdown"] = feedback_markdown(record, [])
                out_files.feedback(student.name, record)
                records[student.name] = record
                out_files.write_tables(state)
                if on_result:
                    on_result(student.name, record, len(records), total)
            pool.replace_dead(min(jobs, len(queue) + pool.busy_count()))
    finally:
        pool.close()
