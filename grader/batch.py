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
import csv
import io
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

EXERCISE_FILE = re.compile(r"^ex0*(\d{1,2})(?:[_\-\s.].*)?\.(py|ipynb)$", re.IGNORECASE)
SOURCE_SUFFIXES = (".py", ".ipynb")
MAX_SOURCE_BYTES = 5 * 2 ** 20
HISTOGRAM_BINS = 5
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
    numbers = {spec.number: spec for spec in specs}
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
            source = load_source(path)
        except GradewiseError as exc:
            results.append(_ungraded(spec, str(exc).replace(str(path), shown), submitted=True))
            continue
        if student.whole is not None and not _defines_any(source, spec):
            reason = f"not submitted: {shown} defines none of {_names(spec)}"
            results.append(_ungraded(spec, reason, submitted=False))
            continue
        try:
            result = grader.grade_source(spec, source, shown, shown)
        except GradewiseError:
            raise  # a broken spec is the instructor's to fix, not a student's zero
        except Exception as exc:  # a bug in the grader: this file scores 0, the batch goes on
            import traceback
            traceback.print_exc()
            result = _ungraded(spec, f"the grader failed on this file ({type(exc).__name__}: "
                                     f"{exc}); please report it", submitted=True)
        results.append(result)
    return results


def load_source(path: Path) -> str:
    """A submitted file's code: no symbolic link, a bounded size, notebooks as code cells."""
    from .sources import notebook_code

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise GradewiseError(f"{path}: cannot read it ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read(MAX_SOURCE_BYTES + 1)
    if len(raw) > MAX_SOURCE_BYTES:
        raise GradewiseError(f"{path}: larger than {MAX_SOURCE_BYTES // 2**20} MB, not graded")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GradewiseError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return notebook_code(text, path) if path.suffix.lower() == ".ipynb" else text


def _defines_any(source: str, spec) -> bool:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True  # let the grader report the syntax error
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
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


# -- the output folder ------------------------------------------------------------------------

class Output:
    """DIR/gradebook.csv, DIR/summary.json, DIR/feedback/<student>.json and .md."""

    def __init__(self, root: Path):
        self.root = root
        self.feedback_dir = root / "feedback"
        self.feedback_dir.mkdir(parents=True, exist_ok=True)
        for stale in [*root.glob(".*.partial"), *self.feedback_dir.glob(".*.partial")]:
            stale.unlink(missing_ok=True)  # left by a batch killed mid-write

    def previous(self, students, specs, seed) -> dict:
        """Records of students already graded with the same exercises and seed (--resume)."""
        wanted = [s.number for s in specs]
        found = {}
        for student in students:
            try:
                record = json.loads((self.feedback_dir / f"{student.name}.json").read_text("utf-8"))
                if record.get("seed") == seed and \
                        [r["exercise"] for r in record["results"]] == wanted:
                    found[student.name] = record
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found

    def feedback(self, name: str, record: dict):
        markdown = record.pop("markdown", "")
        atomic_write(self.feedback_dir / f"{name}.md", markdown)
        atomic_write(self.feedback_dir / f"{name}.json", json.dumps(record, indent=1))

    def write_tables(self, state) -> dict:
        summary = class_summary(state["records"], state["specs"], state["plan"],
                                state["options"].seed)
        atomic_write(self.root / "gradebook.csv", gradebook_csv(state["records"], state["specs"]))
        atomic_write(self.root / "summary.json", json.dumps(summary, indent=1))
        return summary


def atomic_write(path: Path, text: str) -> None:
    """`path` holds either its old content or all of `text`, whenever the process is killed:
    written under a hidden temporary name in the same folder, then renamed over."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with open(partial, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(partial, path)


def gradebook_csv(records: dict, specs) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *[spec.stem for spec in specs], "total"])
    for name in sorted(records):
        scores = {r["exercise"]: r["score"] for r in records[name]["results"]}
        row = [scores.get(spec.number, 0.0) for spec in specs]
        writer.writerow([name, *[f"{s:g}" for s in row], f"{sum(row):g}"])
    return buffer.getvalue()


def class_summary(records: dict, specs, plan: Plan, seed: int) -> dict:
    exercises = []
    for spec in specs:
        results = [_result(record, spec.number) for record in records.values()]
        results = [r for r in results if r is not None]
        scores = [r["score"] for r in results]
        submitted = [r for r in results if r.get("submitted", True)]
        exercises.append({
            "exercise": spec.number, "slug": spec.slug, "title": spec.title,
            "max_score": spec.points, "graded": len(results), "submitted": len(submitted),
            "mean": _mean(scores), "mean_submitted": _mean([r["score"] for r in submitted]),
            "full_marks": sum(abs(s - spec.points) < 1e-9 for s in scores),
            "histogram": histogram(scores, spec.points),
            "checks": [_check_summary(check, submitted) for check in spec.checks]})
    isolation = Counter(r.get("isolation") for r in records.values() if r.get("isolation"))
    totals = [r["score"] for r in records.values()]
    exposed = sorted({p for r in records.values() for p in r.get("exposed") or []})
    return {"students": len(plan.students), "graded": len(records), "seed": seed,
            "max_score": sum(s.points for s in specs), "mean": _mean(totals),
            "exercises": exercises, "unmatched": plan.unmatched,
            "isolation": isolation.most_common(1)[0][0] if isolation else "",
            "exposed": exposed}


def _result(record, number):
    return next((r for r in record["results"] if r["exercise"] == number), None)


def _check_summary(check, submitted) -> dict:
    outcomes = [next((c for c in r["checks"] if c["name"] == check.name), None) for r in submitted]
    outcomes = [c for c in outcomes if c is not None]
    passed = sum(c["passed"] for c in outcomes)
    diagnoses = Counter(c["diagnosis"] for c in outcomes if not c["passed"] and c["diagnosis"])
    common, count = diagnoses.most_common(1)[0] if diagnoses else (None, 0)
    return {"name": check.name, "function": check.function, "max_score": check.points,
            "attempted": len(outcomes), "passed": passed,
            "pass_rate": passed / len(outcomes) if outcomes else None,
            "most_common_diagnosis": common, "diagnosis_count": count,
            "failed_without_diagnosis": len(outcomes) - passed - sum(diagnoses.values())}


def histogram(scores, max_score, bins: int = HISTOGRAM_BINS) -> dict:
    """Counts of scores in `bins` equal ranges of [0, max_score], the last one closed."""
    edges = [max_score * i / bins for i in range(bins + 1)]
    counts = [0] * bins
    for score in scores:
        at = int(score / max_score * bins) if max_score else 0
        counts[min(max(at, 0), bins - 1)] += 1
    return {"edges": edges, "counts": counts}


def _mean(values):
    return sum(values) / len(values) if values else None


# -- feedback to hand back --------------------------------------------------------------------

def feedback_markdown(record: dict, results, title: str | None = None) -> str:
    """Readable feedback for one student, from the record (and the results, for evidence)."""
    lines = [f"# {title or 'Feedback for ' + record['student']}", "",
             f"**Total: {record['score']:g} / {record['max_score']:g}**", "",
             "| exercise | score |", "|---|---|"]
    for r in record["results"]:
        lines.append(f"| {r['exercise']} {r['slug']} | {r['score']:g} / {r['max_score']:g} |")
    by_number = {r.exercise: r for r in results}
    for r in record["results"]:
        lines += ["", f"## Exercise {r['exercise']} · {r['slug']} — {r['title']} "
                      f"({r['score']:g} / {r['max_score']:g})", ""]
        if r.get("file"):
            lines += [f"File: `{r['file']}`", ""]
        if r["error"]:
            lines += [f"**Not graded:** {_md(r['error'])}", ""]
            result = by_number.get(r["exercise"])
            for number, code in getattr(result, "error_lines", []) or []:
                lines.append(f"- your line {number}: `{_code(code)}`")
            continue
        full = {c.name: c for c in getattr(by_number.get(r["exercise"]), "checks", [])}
        for check in r["checks"]:
            mark = "✓" if check["passed"] else "✗"
            line = f"- {mark} {_md(check['name'])} ({check['score']:g} / {check['max_score']:g})"
            if not check["passed"]:
                tag = f"**[{check['diagnosis']}]** " if check["diagnosis"] else ""
                line += f" — {tag}{_md(check['message'])}"
                if check.get("hint"):
                    line += f" (see hint {check['hint']}: `grade hint {r['exercise']}`)"
            lines.append(line)
            evidence = getattr(full.get(check["name"]), "evidence", None)
            for number, function, code in (evidence.trace if evidence else [])[-2:]:
                lines.append(f"  - your line {number} in `{function}`: `{_code(code)}`")
        if r.get("output"):
            shown = r["output"].rstrip("\n").splitlines()[-10:]
            lines += ["", "Your code printed (last lines):", "", "```text", *shown, "```"]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return str(text).replace("\n", " ").replace("|", "\\|")


def _code(text: str) -> str:
    return str(text).strip().replace("`", "'")


# -- the class summary, rendered --------------------------------------------------------------

SPARKS = " ▁▂▃▄▅▆▇█"


def summary_renderable(summary: dict, out: Path | None = None):
    """Per exercise the mean and distribution, per check the pass rate and the most common
    diagnosis, then the files that matched nothing."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    scores = Table(title=f"Class summary · {summary['graded']} of {summary['students']} "
                         "students graded", title_justify="left")
    for column, justify in (("no.", "right"), ("exercise", "left"), ("submitted", "right"),
                            ("mean", "right"), ("full marks", "right"),
                            (f"distribution (0 → max, {HISTOGRAM_BINS} bins)", "left")):
        scores.add_column(column, justify=justify)
    for ex in summary["exercises"]:
        mean = "—" if ex["mean"] is None else f"{ex['mean']:.2f}/{ex['max_score']:g}"
        counts = ex["histogram"]["counts"]
        scores.add_row(str(ex["exercise"]), ex["slug"], f"{ex['submitted']}/{ex['graded']}", mean,
                       str(ex["full_marks"]), f"{_sparkline(counts)}  {' '.join(map(str, counts))}")
    checks = Table(title="Checks: what the class did not understand", title_justify="left")
    checks.add_column("no.", justify="right", no_wrap=True, min_width=3)
    checks.add_column("check", no_wrap=True, overflow="ellipsis", max_width=36)
    checks.add_column("passed", justify="right", no_wrap=True)
    checks.add_column("most common diagnosis", no_wrap=True, overflow="ellipsis", max_width=24)
    for ex in summary["exercises"]:
        for check in ex["checks"]:
            rate = check["pass_rate"]
            style = "green" if rate is not None and rate >= 0.8 else \
                "yellow" if rate is not None and rate >= 0.5 else "red"
            shown = "—" if rate is None else \
                f"{check['passed']}/{check['attempted']} [{style}]{rate:4.0%}[/]"
            diagnosis = (f"{check['most_common_diagnosis']} ×{check['diagnosis_count']}"
                         if check["most_common_diagnosis"] else
                         f"[dim](none) ×{check['failed_without_diagnosis']}[/]"
                         if check["failed_without_diagnosis"] else "")
            checks.add_row(str(ex["exercise"]), check["name"], shown, diagnosis)
    parts = [scores, checks]
    if summary["unmatched"]:
        text = Text(f"{len(summary['unmatched'])} file(s) matched no exercise and were not "
                    "graded:", style="yellow")
        for item in summary["unmatched"][:15]:
            text.append(f"\n  {item['path']}: {item['reason']}", style="")
        if len(summary["unmatched"]) > 15:
            text.append(f"\n  … {len(summary['unmatched']) - 15} more in summary.json", style="dim")
        parts.append(text)
    if summary.get("isolation"):
        parts.append(Text(f"Sandbox: {summary['isolation']}", style="dim"))
    if summary.get("exposed"):
        parts.append(Text("Warning: student code could read " + ", ".join(summary["exposed"])
                          + ". Run as root, or make them unreadable to other users "
                          "(chmod -R go-rwx); see SECURITY.md.", style="bold red"))
    if out is not None:
        parts.append(Text.assemble(("Written: ", "bold"), f"{out}/gradebook.csv, {out}/summary.json,"
                                   f" {out}/feedback/<student>.json and .md"))
    return Group(*parts)


def _sparkline(counts) -> str:
    top = max(counts) or 1
    return "".join(SPARKS[round(c / top * (len(SPARKS) - 1))] if c else SPARKS[0] for c in counts)
