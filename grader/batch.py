"""Grading a whole class: `grade batch SUBS/ --out DIR`.

    SUBS/<student>/exNN_slug.py|.ipynb   a folder per student, any subset of the exercises
                                         (any depth; archives in it unpacked and searched)
    SUBS/<student>.py|.ipynb             one file per student holding several exercises
    SUBS/<student>.zip|.tar.gz|.tgz|.tar one archive per student, searched like a folder

The parent (this module's `run_batch`) finds the submissions and writes the output; it never
loads a reference solution. Finding them opens no file that is not a regular one, follows
no link, and unpacks archives (`grader.archives`) into a private temporary folder; file names
are matched to exercises by `grader.filenames`. Grading happens in `jobs` pool processes
forked from it, each with its own `Grader`, whose sandbox forks before that pool process
loads any solution: no process that runs student code ever had a solution in memory. A pool
process sends back plain JSON, for each student within a deadline (`student_deadline`), or
it is killed and replaced. Every output file is written atomically (complete, then renamed
into place) as soon as its student is graded, so a killed batch loses nothing already
graded, and `resume=True` keeps the feedback that still holds: graded from the same files,
course, seed and limits (`grader.resume`). One batch at a time writes an output folder (its
lock, `writers.BatchFolder`); Ctrl-C and SIGTERM stop it between two students
(`BatchInterrupted`).

A pool process sends each student's results as JSON (`StudentResults.to_json`, evidence
included); the parent reads them back and writes the output with the writers of
`grader.writers` (`BatchFolder`): what is written comes from results read back, exactly as
a later command reading the folder would see them.
"""

from __future__ import annotations

import ast
import json
import os
import select
import signal
import stat
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .archives import (MAX_MEMBER_BYTES, ArchiveRefused, Budget, archive_suffix, file_kind,
                       unpack)
from .errors import GradewiseError
from .filenames import exercise_numbers, match_name
from .resume import file_digest
from .results import ClassResults, ExerciseInfo, StudentResults
from .safetext import visible
from .spec import load_spec
from .values import dumps
from .writers import BatchFolder

if TYPE_CHECKING:
    from .sandbox import Limits

SOURCE_SUFFIXES = (".py", ".ipynb")
RETRIES = 1  # a student whose pool process died is graded once more before scoring 0
MAX_FOLDER_DEPTH = 16  #: folders below a student's folder that are searched
MAX_FOLDER_ENTRIES = 5000  #: files and folders of one student that are looked at
MAX_NESTING = 1  #: an archive inside an archive is unpacked; one inside that is not
SHOWN_CANDIDATES = 5  #: files not graded for an exercise, named (and compared) in its note
# a student's deadline in the pool: the time limits of its exercises, with generous margins
STUDENT_MARGIN_SECONDS = 60.0  #: reading the files, sending the results, a busy machine
EXERCISE_MARGIN_SECONDS = 30.0  #: the solution, references, finite differences, diagnoses
REAP_SECONDS = 5.0  #: for a killed pool process to end
NOT_FINISHED = ("grading did not finish within {seconds:.0f} s, so it was stopped: something "
                "in this submission (or in the grader) kept it waiting. The rest of the class "
                "was graded; ask your instructor to look at it.")

BROKEN = ("exercise {number} cannot be read: {error}. Fix its spec (`grade validate`), or "
          "leave it out: {how}.")
REFUSED = ("exercise {number} ({slug}) cannot be graded{seed}: {problem}. No student was "
           "graded, so that none is told a false diagnosis: fix the exercise (`grade validate` "
           "lists every problem), or leave it out with --exercises.")

NOTES = {
    "several": "{count} files could be exercise {number}: `{graded}` was graded; not graded: "
               "{others}. The grader takes the name closest to {stem}.py, then the file "
               "least deep in folders and archives, then a .py before an .ipynb: to choose, "
               "keep one file and name it {stem}.py or {stem}.ipynb.",
    "unpacked": "`{archive}` was unpacked by the grader: the file graded came from it.",
    "refused": "`{archive}` was not unpacked: {reason}.",
    "missing_refused": "no {stem}.py or .ipynb was found, and {refused}. Upload your .py or "
                       ".ipynb files themselves (or a .zip that holds them).",
    "unusable": "{shown} could not be graded ({what}). Submit the file itself, named "
                "{stem}.py or {stem}.ipynb.",
}


@dataclass
class Student:
    name: str
    root: Path  #: the submissions folder; files are shown relative to it
    files: dict = field(default_factory=dict)  #: exercise number → Path
    whole: Path | None = None  #: one file holding several exercises
    labels: dict = field(default_factory=dict)  #: str(Path) → shown name (unpacked files)
    notes: dict = field(default_factory=dict)  #: exercise number → [note for the student]
    missing: dict = field(default_factory=dict)  #: exercise number → why nothing was graded

    def shown(self, path: Path) -> str:
        """`ada/ex01_softmax.py`, or `gus/submission.zip:gus/ex01_softmax.py` when unpacked."""
        return self.labels.get(str(path)) or _rel(path, self.root)

    def task(self) -> dict:
        """As plain JSON, for a pool process (`Student.from_task` reads it back)."""
        return {"name": self.name, "root": str(self.root),
                "whole": str(self.whole) if self.whole else None,
                "files": {str(n): str(p) for n, p in self.files.items()},
                "labels": self.labels, "notes": {str(n): v for n, v in self.notes.items()},
                "missing": {str(n): v for n, v in self.missing.items()}}

    @classmethod
    def from_task(cls, task: dict) -> "Student":
        return cls(task["name"], Path(task["root"]),
                   {int(n): Path(p) for n, p in task["files"].items()},
                   Path(task["whole"]) if task["whole"] else None, task["labels"],
                   {int(n): v for n, v in task["notes"].items()},
                   {int(n): v for n, v in task["missing"].items()})


@dataclass
class Plan:
    students: list
    unmatched: list  #: {"path": ..., "reason": ...}, relative to SUBS


@dataclass
class _Found:
    """One file of a student's submission: on disk (`path`), or only listed in an archive."""

    name: str  #: its base name
    shown: str  #: as the student and the instructor see it
    path: Path | None
    depth: int  #: folders and archives above it, within the student's submission
    problem: str | None = None  #: why it cannot be graded
    ignored: bool = False  #: hidden files and metadata: listed, never a candidate
    archive: str | None = None  #: the archive it came from (shown)
    refused: bool = False  #: an archive that could not be unpacked (`problem` says why)


# -- finding the submissions ------------------------------------------------------------------

def discover(subs: Path, specs, unpack_into: Path) -> Plan:
    """The students under `subs` and, for each, the file of each exercise in `specs`.
    Archives are unpacked into `unpack_into`, a private folder of the caller's."""
    if not subs.is_dir():
        raise GradewiseError(f"{subs}: no such folder (expected one folder or file per student)")
    students, unmatched = {}, []
    entries = sorted(os.scandir(subs), key=lambda e: e.name)
    folders = {e.name for e in entries if e.is_dir(follow_symlinks=False)}
    for entry in entries:
        rel, path = entry.name, Path(entry.path)
        mode = _mode(entry)
        archive = archive_suffix(rel)
        name = rel[:-len(archive)] if archive else path.stem
        if rel.startswith("."):
            unmatched.append(_unmatched(rel, "hidden entry, not searched"))
        elif stat.S_ISDIR(mode):
            students[rel] = student_from_folder(path, subs, specs, unmatched, unpack_into)
        elif not stat.S_ISREG(mode):
            unmatched.append(_unmatched(rel, f"{file_kind(mode)}, not followed or opened"))
        elif not archive and path.suffix.lower() not in SOURCE_SUFFIXES:
            unmatched.append(_unmatched(rel, "not a student folder, archive, .py or .ipynb file"))
        elif name in folders:
            unmatched.append(_unmatched(rel, f"{name}/ is a folder too: that one is graded"))
        elif name in students:
            unmatched.append(_unmatched(rel, f"{name} has another file or archive: that one "
                                             "is graded"))
        elif archive:  # an LMS download: one archive per student
            student = Student(readable(name), subs)
            found = _unpacked([_Found(rel, rel, path, 0)], unpack_into, Budget())
            _assign(student, found, specs, unmatched)
            students[name] = student
        else:
            students[name] = Student(readable(name), subs, whole=path)
    return Plan(sorted(students.values(), key=lambda s: s.name), unmatched)


def student_from_folder(folder: Path, root: Path, specs, unmatched: list,
                        unpack_into: Path) -> Student:
    """The student of one folder: the file of each exercise (see `_assign`), archives in it
    unpacked into `unpack_into` and matched like its own files. What matches nothing goes
    to `unmatched`; what the student should know goes to the student's notes."""
    student = Student(readable(folder.name), root)
    walked = _walk(folder, root, unmatched)
    _assign(student, _unpacked(walked, unpack_into, Budget()), specs, unmatched)
    return student


def _assign(student: Student, found, specs, unmatched: list) -> None:
    """Choose the file of each exercise among `found` (the best ranked name, see
    `grader.filenames`; then the least deep; then .py before .ipynb); a submission whose
    only code file has no exercise name holds every exercise."""
    stems = {spec.number: spec.stem for spec in specs}
    candidates, sources, refused = {}, [], []
    for item in found:
        suffix = Path(item.name).suffix.lower()
        if item.refused:
            refused.append(item)
            unmatched.append(_unmatched(item.shown, f"archive not unpacked: {item.problem}"))
        elif item.ignored or suffix not in SOURCE_SUFFIXES:
            unmatched.append(_unmatched(item.shown, item.problem or "not a .py or .ipynb file"))
        elif (match := match_name(Path(item.name).stem, stems)) and match.number in stems:
            rank = (item.problem is not None, match.tier, match.marks, item.depth,
                    suffix != ".py", item.shown)
            candidates.setdefault(match.number, []).append((rank, item))
        elif item.problem:
            unmatched.append(_unmatched(item.shown, item.problem))
        else:
            sources.append((item, exercise_numbers(Path(item.name).stem)))
    for number, ranked in candidates.items():
        _choose(student, number, stems[number], [item for _, item in sorted(ranked)], unmatched)
    if not candidates and len(sources) == 1 and not sources[0][1]:
        whole = sources[0][0]  # one notebook or module holding every exercise
        student.whole, sources = whole.path, []
        student.labels.update(_label(whole))
        for number in stems if whole.archive else ():
            student.notes.setdefault(number, []).append(NOTES["unpacked"].format(
                archive=whole.archive))
    for number, stem in stems.items() if refused else ():
        if student.whole or number in student.files:
            student.notes.setdefault(number, []).extend(
                NOTES["refused"].format(archive=r.shown, reason=r.problem) for r in refused)
        elif number not in student.missing:
            student.missing[number] = NOTES["missing_refused"].format(
                stem=stem, refused=" and ".join(
                    f"{r.shown} could not be unpacked ({r.problem})" for r in refused))
    for item, numbers in sources:
        reason = ("cannot tell which exercise: name it exNN_slug.py or .ipynb" if not numbers
                  else f"names exercises {', '.join(map(str, sorted(numbers)))}: cannot tell"
                  if len(numbers) > 1 else
                  f"no exercise {numbers.pop()} in this course (or not selected)")
        unmatched.append(_unmatched(item.shown, reason))


def _choose(student: Student, number: int, stem: str, ranked: list, unmatched: list) -> None:
    best, others = ranked[0], ranked[1:]
    if best.problem is not None:  # nothing usable: say why, rather than "not submitted"
        student.missing[number] = NOTES["unusable"].format(shown=best.shown, stem=stem,
                                                           what=best.problem)
        unmatched.extend(_unmatched(item.shown, item.problem) for item in ranked)
        return
    student.files[number] = best.path
    student.labels.update(_label(best))
    notes = student.notes.setdefault(number, [])
    if best.archive:
        notes.append(NOTES["unpacked"].format(archive=best.archive))
    for item in others:
        unmatched.append(_unmatched(item.shown, item.problem or
                                    f"exercise {number} is graded from {best.shown}"))
    if others:
        digest = file_digest(best.path, MAX_MEMBER_BYTES)
        described = [f"`{item.shown}` ({item.problem or _compared(digest, item.path)})"
                     for item in others[:SHOWN_CANDIDATES]]
        if len(others) > SHOWN_CANDIDATES:
            described.append(f"and {len(others) - SHOWN_CANDIDATES} more")
        notes.append(NOTES["several"].format(count=len(ranked), number=number, stem=stem,
                                             graded=best.shown, others=", ".join(described)))


def _label(item: _Found) -> dict:
    return {str(item.path): item.shown} if item.archive else {}


def _compared(digest, path: Path) -> str:
    other = file_digest(path, MAX_MEMBER_BYTES)
    if digest is None or other is None:
        return "not compared"
    return "same content" if other == digest else "different content"


def _mode(entry) -> int:
    try:
        return entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return 0  # vanished meanwhile: neither a folder nor a regular file


def _walk(folder: Path, root: Path, unmatched: list, depth: int = 0, seen=None):
    """A `_Found` for every file below `folder`, from `lstat` alone (no link followed, no
    file opened); at most MAX_FOLDER_DEPTH deep and MAX_FOLDER_ENTRIES entries (`seen`
    counts them across the recursion)."""
    seen = seen if seen is not None else [0]
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        unmatched.append(_unmatched(_rel(folder, root), f"cannot list it ({exc.strerror})"))
        return
    for entry in entries:
        path, name = Path(entry.path), entry.name
        shown = _rel(path, root)
        seen[0] += 1
        if seen[0] > MAX_FOLDER_ENTRIES:
            unmatched.append(_unmatched(_rel(folder, root), f"more than {MAX_FOLDER_ENTRIES} "
                                                            "files: the rest was not searched"))
            return
        mode = _mode(entry)
        if stat.S_ISDIR(mode):
            if name.startswith(".") or name in ("__pycache__", "__MACOSX"):
                yield _Found(name, shown, None, depth, "hidden, cache or metadata folder, not "
                                                 "searched", ignored=True)
            elif depth >= MAX_FOLDER_DEPTH:
                yield _Found(name, shown, None, depth, "folder nested too deeply, not searched",
                             ignored=True)
            else:
                yield from _walk(path, root, unmatched, depth + 1, seen)
        elif name.startswith("."):
            yield _Found(name, shown, None, depth, "hidden file", ignored=True)
        elif stat.S_ISLNK(mode):
            yield _Found(name, shown, path, depth, "symbolic link, not followed")
        elif not stat.S_ISREG(mode):
            yield _Found(name, shown, path, depth, f"{file_kind(mode)}, not a regular file")
        else:
            yield _Found(name, shown, path, depth)


def _unpacked(found, into: Path, budget: Budget, nesting: int = 0):
    """`found`, with each archive replaced by its members (unpacked into a folder of its
    own below `into`); an archive that cannot be unpacked stays, with the reason."""
    for item in found:
        if item.problem is not None or item.path is None or not archive_suffix(item.name):
            yield item
            continue
        if nesting > MAX_NESTING:
            yield replace(item, problem="an archive inside an archive inside an archive is "
                                        "not opened", refused=True)
            continue
        try:
            members = unpack(item.path, Path(tempfile.mkdtemp(dir=into)), _wanted, budget)
        except ArchiveRefused as exc:
            yield replace(item, problem=str(exc), refused=True)
            continue
        yield from _unpacked([_Found(m.name.rsplit("/", 1)[-1],
                                     readable(f"{item.shown}:{m.name}"), m.path,
                                     item.depth + 1 + m.name.count("/"), m.problem,
                                     m.ignored, archive=item.shown) for m in members],
                             into, budget, nesting + 1)


def _wanted(name: str) -> bool:
    """Members worth writing to disk: code to grade, and archives one level down."""
    return Path(name).suffix.lower() in SOURCE_SUFFIXES or archive_suffix(name) is not None


def readable(name: str) -> str:
    """A file or folder name as text: the bytes of a name that is not UTF-8 (Python holds
    them as lone surrogates, which no UTF-8 file or terminal accepts) shown as `\\xe9`."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _rel(path: Path, root: Path) -> str:
    return readable(path.relative_to(root).as_posix())


def _unmatched(path: str, reason: str) -> dict:
    return {"path": readable(path), "reason": reason}


def select_exercises(course, text: str | None) -> list:
    """The specs `--exercises TEXT` names (every one when None), in order. Only those are
    read: a broken spec left out does not stop the others. Raises GradewiseError for a
    malformed list, an unknown number, or a chosen spec that cannot be read (its SpecError,
    with how to leave it out)."""
    numbers = course.numbers()
    wanted = _numbers(text, numbers) if text else set(numbers)
    chosen = []
    for path, number in zip(course.spec_paths(), numbers):
        if number in wanted:
            try:
                chosen.append(load_spec(path))
            except GradewiseError as exc:
                others = ",".join(str(n) for n in sorted(wanted - {number}))
                how = f"--exercises {others}" if others else "choose others with --exercises"
                raise GradewiseError(BROKEN.format(number=number, error=exc, how=how)) from None
    return chosen


def parse_exercises(text: str | None, specs) -> list:
    """`1,3-5` → those specs (None: all)."""
    if not text:
        return list(specs)
    wanted = _numbers(text, [s.number for s in specs])
    return [s for s in specs if s.number in wanted]


def _numbers(text: str, known) -> set:
    """`1,3-5` → {1, 3, 4, 5}, each one of `known`; else GradewiseError."""
    wanted = set()
    for part in text.split(","):
        bounds = part.strip().split("-")
        if not 1 <= len(bounds) <= 2 or not all(b.strip().isdigit() for b in bounds):
            raise GradewiseError(f"--exercises {text!r}: expected numbers and ranges like 1,3-5")
        low, high = int(bounds[0]), int(bounds[-1])
        wanted.update(range(low, high + 1))
    if wanted - set(known):
        raise GradewiseError(f"--exercises: no exercise {sorted(wanted - set(known))} in this "
                             f"course (it has {sorted(known)})")
    return wanted


# -- the reference solutions, before anyone is graded ------------------------------------------

def check_references(course, specs, seeds, limits=None, timeout: float | None = None) -> None:
    """Raise GradewiseError when the reference solution of one of `specs` does not score full
    marks, under one of `seeds`, on the cases that will be graded (or the spec gives a check
    what its kind cannot judge with): `grader.validate.reference_problems`, naming the
    exercise and the first check. Grading with it would tell students false diagnoses.

    The references are graded in a process of its own, forked and waited for here, so that
    this process, which forks the pool that grades students, never loads a solution."""
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            from .sandbox import die_with_parent

            die_with_parent()
            found = _first_reference_problem(course, specs, seeds, limits, timeout)
            with os.fdopen(write_fd, "w", encoding="utf-8") as answer:
                answer.write(json.dumps({"problem": found}))
            code = 0
        except BaseException:  # a bug of ours: its traceback, then the error below
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, encoding="utf-8") as answer:
        text = answer.read()
    os.waitpid(pid, 0)
    if not text:
        raise RuntimeError("checking the reference solutions failed (see the traceback above)")
    found = json.loads(text)["problem"]
    if found:
        raise GradewiseError(REFUSED.format(**found))


def _first_reference_problem(course, specs, seeds, limits, timeout) -> dict | None:
    from .grading import Grader  # its sandbox forks first, before any solution is loaded
    from .validate import reference_problems

    with Grader(course, seed=seeds[0], limits=limits, timeout=timeout) as grader:
        for seed in seeds:
            grader.seed = seed
            for spec in specs:
                try:
                    problems = reference_problems(grader, spec)
                except GradewiseError as exc:  # a generator's inputs, a kind's own rule
                    problems = [str(exc)]
                if problems:
                    return {"number": spec.number, "slug": spec.slug, "problem": problems[0],
                            "seed": f" with seed {seed}" if len(seeds) > 1 else ""}
    return None


# -- grading one student (in a pool process) -------------------------------------------------

def grade_student(grader, specs, student: Student) -> list:
    """The ExerciseResults of one student, one per spec; never raises for the student's sake."""
    results = []
    for spec in specs:
        path = student.whole or student.files.get(spec.number)
        if path is None:
            reason = student.missing.get(spec.number) or \
                f"not submitted: no {spec.stem}.py or .ipynb in {student.name}/"
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
    for result in results:  # which file was graded, among which; what came from an archive
        result.notes.extend(student.notes.get(result.exercise, []))
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
    return ExerciseResult(spec.number, spec.slug, spec.title, 0.0, spec.points,
                          error=reason, checks=checks, submitted=submitted)


def results_of(student: Student, results, seed: int, isolation: str = "",
               seconds: float | None = None, exposed=()) -> StudentResults:
    """What feedback/<student>.json holds: the results (docs/design.md, "Results")."""
    return StudentResults(visible(student.name, False), seed, list(results), isolation,
                          seconds, list(exposed))


# -- the pool of grading processes ------------------------------------------------------------

@dataclass
class _Worker:
    pid: int
    task_fd: int  #: where students are sent, one JSON line each
    student: Student | None = None  #: the one being graded
    pending: bytes = b""  #: the start of a result line
    deadline: float = 0.0  #: time.monotonic() by which its student must be graded


class _Pool:
    """`jobs` grading processes, forked from this (solution-free) process, fed one student
    at a time over pipes; each answers with one JSON line."""

    def __init__(self, jobs: int, course, specs, seed: int, limits, timeout, hide, private=()):
        self.args = (course, specs, seed, limits, timeout, hide)
        self.private = list(private)  #: descriptors of this process its pool processes close
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
                # Ctrl-C and SIGTERM are the batch's to handle (it stops its pool itself)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                for fd in others + self.private + [task_w, result_r]:  # not its own
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

    def send(self, fd, student: Student, seconds: float):
        """Give `student` to the idle pool process `fd`, to be graded within `seconds`."""
        worker = self.workers[fd]
        worker.student, worker.deadline = student, time.monotonic() + seconds
        try:
            os.write(worker.task_fd, (json.dumps(student.task()) + "\n").encode())
        except OSError:
            pass  # it died: `receive` sees the end of its pipe

    def receive(self, timeout: float, wake=()):
        """[(student, StudentResults or None)]: None when the pool process died on that
        student. Waits at most `timeout` seconds, or until a descriptor of `wake` is
        readable (it is then read)."""
        ready, _, _ = select.select([*self.workers, *wake], [], [], timeout)
        done = []
        for fd in ready:
            if fd in wake:
                os.read(fd, 4096)
                continue
            worker = self.workers[fd]
            data = os.read(fd, 1 << 20)
            if not data:
                done.append((worker.student, None))
                self._bury(fd)
                continue
            worker.pending += data
            while b"\n" in worker.pending:
                line, worker.pending = worker.pending.split(b"\n", 1)
                done.append((worker.student, StudentResults.from_json(json.loads(line))))
                worker.student = None
        return [(s, r) for s, r in done if s is not None]

    def overdue(self) -> list:
        """The students whose pool process is past its deadline; those processes are killed
        (their sandboxes die with them) and replaced by `replace_dead`."""
        now, late = time.monotonic(), []
        for fd, worker in list(self.workers.items()):
            if worker.student is not None and now > worker.deadline:
                late.append(worker.student)
                self._bury(fd, kill=True)
        return late

    def _bury(self, fd, kill: bool = False):
        worker = self.workers.pop(fd)
        if kill:
            try:
                os.kill(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.close(fd)
        os.close(worker.task_fd)
        _reap(worker.pid)

    def replace_dead(self, wanted: int):
        while len(self.workers) < wanted:
            self._spawn()

    def close(self):
        for fd in list(self.workers):
            # interrupted mid-student: stop it now; an idle one ends at the end of its tasks
            self._bury(fd, kill=self.workers[fd].student is not None)


def _reap(pid: int, patience: float = REAP_SECONDS) -> None:
    """Wait for a pool process to end, at most `patience` seconds once it should have (a
    process stuck in the kernel, on a hung network file system, cannot stall the batch)."""
    give_up = time.monotonic() + patience
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] or time.monotonic() > give_up:
                return
        except ChildProcessError:
            return
        time.sleep(0.01)


def _pool_main(task_fd, result_fd, course, specs, seed, limits, timeout, hide):
    from .grading import Grader  # its sandbox forks first, before any solution is loaded
    from .sandbox import die_with_parent

    die_with_parent()  # a killed batch leaves no grading process behind
    assert not any(m.startswith("_gradewise_solutions") for m in sys.modules), \
        "a batch pool process must start without solutions"
    tasks = os.fdopen(task_fd, "r", encoding="utf-8")
    results = os.fdopen(result_fd, "w", encoding="utf-8")
    with Grader(course, seed=seed, limits=limits, hide=hide, timeout=timeout) as grader:
        for line in tasks:
            task = json.loads(line)
            student = Student.from_task(task)
            started = time.monotonic()
            graded = grade_student(grader, specs, student)
            answer = results_of(student, graded, seed, grader.sandbox.isolation,
                                round(time.monotonic() - started, 3),
                                grader.sandbox.exposed or [])
            results.write(dumps(answer.to_json()) + "\n")
            results.flush()


# -- the batch --------------------------------------------------------------------------------

BUSY = ("{out} is being written by another batch ({holder}): two batches in one folder would "
        "mix their gradebooks. Wait for it to finish, or give this one another --out.")
INTERRUPTED = ("{saved} of {total} students saved in {out}; run the same command with "
               "--resume to finish.")
OTHERS = ("{out}/feedback also holds {count} student(s) not in {subs} ({names}): gradebook.csv "
          "and summary.json leave them out. Grade each group of students into its own --out "
          "(or all of them in one batch).")
SHOWN_NAMES = 3  #: students named in a note, before "…"


@dataclass
class BatchOptions:
    jobs: int = 0  #: pool processes (0: the number of cores)
    seed: int = 0
    limits: Limits | None = None  #: of the sandbox (None: `grading.time_limits()`)
    #: the instructor's `--timeout`: every limit at least this many seconds of computing time
    timeout: float | None = None
    resume: bool = False
    deadline: float = 0.0  #: seconds to grade one student (0: `student_deadline` of the specs)
    #: who the students are (`grader.roster.Roster`; None: the one the folder keeps, if any)
    roster: object = None


@dataclass
class BatchStatus:
    """Where a batch stands, for its progress display (`grade_class`'s `on_status`). Times
    are `time.monotonic()` seconds."""

    total: int  #: students found in SUBS
    jobs: int = 1  #: students graded at once
    done: int = 0  #: students whose feedback is written, those kept by --resume included
    kept: int = 0  #: graded before and kept (--resume)
    regraded: dict = field(default_factory=dict)  #: reason → names graded again (--resume)
    others: list = field(default_factory=list)  #: file names of feedback of students not in SUBS
    started: float = field(default_factory=time.monotonic)
    running: dict = field(default_factory=dict)  #: name → when its grading began
    took: list = field(default_factory=list)  #: seconds each student graded so far took
    last: tuple | None = None  #: (name, StudentResults) of the student graded last

    def rate(self, now: float) -> float:
        """Students graded per second in this run."""
        return len(self.took) / max(now - self.started, 1e-6)

    def seconds_left(self, now: float) -> float | None:
        """Seconds until every student is graded, at the pace so far (None before the first
        student is graded): each student still to grade is expected to take the mean time
        of a student so far, in which the students being graded count with the time they
        have taken up to now, so that a student who takes long makes the estimate grow while
        it lasts; the work is shared by the `jobs` grading processes. None too when only
        students who take longer than the others did are left."""
        if not self.took:
            return None
        running = [now - began for began in self.running.values()]
        mean = (sum(self.took) + sum(running)) / (len(self.took) + len(running))
        waiting = max(self.total - self.done - len(running), 0)
        ahead = [max(mean - spent, 0.0) for spent in running]
        if running and not waiting and not any(ahead):
            return None  # the last ones take longer than the others did: no telling
        return max((waiting * mean + sum(ahead)) / max(self.jobs, 1), max(ahead, default=0.0))

    def notes(self, subs: Path, out: Path) -> list[str]:
        """What the instructor should know before the batch starts: the students kept and
        graded again (--resume), feedback in `out` of students not in `subs`."""
        from .resume import regraded_note

        lines = []
        if self.kept or self.regraded:
            again = f"; graded again: {regraded_note(self.regraded)}" if self.regraded else ""
            lines.append(f"Resuming: {self.kept} of {self.total} students already graded in "
                         f"{out} kept{again}.")
        if self.others:
            names = ", ".join(visible(n, False) for n in self.others[:SHOWN_NAMES])
            lines.append(OTHERS.format(out=out, count=len(self.others), subs=subs,
                                       names=names + (", …" if len(self.others) > SHOWN_NAMES
                                                      else "")))
        return lines


class BatchInterrupted(Exception):
    """A batch stopped by Ctrl-C (SIGINT) or SIGTERM: what was graded is saved, the message
    says how much and how to finish."""

    def __init__(self, saved: int, total: int, out: Path):
        self.saved, self.total, self.out = saved, total, out
        super().__init__(INTERRUPTED.format(saved=saved, total=total, out=out))


def run_batch(subs: Path, out: Path, course, specs, options: BatchOptions, on_result=None):
    """Grade every student of `subs` into `out`; returns the summary (as in summary.json).
    `on_result(student_name, StudentResults, done, total)` is called after each student.
    See `grade_class`."""
    from .gradebook import class_summary

    return class_summary(grade_class(subs, out, course, specs, options, on_result))


def grade_class(subs: Path, out: Path, course, specs, options: BatchOptions,
                on_result=None, on_status=None) -> ClassResults:
    """Grade every student of `subs` into `out` (its files: `grader.writers.BatchFolder`);
    returns the class's results. `on_result(name, StudentResults, done, total)` after each
    student (first `(None, None, done, total)`, with the students kept by --resume);
    `on_status(BatchStatus)` before grading, after each student and at least every second.

    One batch at a time writes into `out` (its lock); archives are unpacked into a private
    temporary folder, removed at the end. With `options.resume`, a student whose feedback
    is in `out` is kept unless their files, the course, the seed, the exercises or the time
    limits changed since (`grader.resume`). `options.roster` (`grader.roster.Roster`) is
    kept in `out` for the gradebooks and later exports; without one, the roster an earlier
    batch kept there is used. Raises GradewiseError for a missing or empty
    `subs`, an `out` inside it, an `out` another batch is writing, or a reference solution
    that does not score full marks (`check_references`); BatchInterrupted on
    Ctrl-C or SIGTERM, once every student graded is saved."""
    from .files import FolderBusy

    subs, out = Path(subs).resolve(), Path(out).resolve()
    if not subs.is_dir():
        raise GradewiseError(f"{subs}: no such folder (expected one folder or file per student)")
    if out == subs or subs in out.parents:
        raise GradewiseError(f"--out {out} is inside the submissions folder: choose another one")
    # before --out is made: a course that cannot be graded leaves nothing behind
    check_references(course, specs, [options.seed], options.limits, options.timeout)
    holder = (f"grade batch {readable(str(subs))}, process {os.getpid()}, started "
              f"{time.strftime('%Y-%m-%d %H:%M:%S')}")
    try:
        folder = BatchFolder(out, holder)
    except FolderBusy as exc:
        raise GradewiseError(BUSY.format(out=out, holder=exc)) from None
    with folder, tempfile.TemporaryDirectory(prefix="gradewise-unpacked-") as unpacked:
        return _grade_class(subs, folder, Path(unpacked), course, specs, options, on_result,
                            on_status)


def _grade_class(subs, folder, unpacked, course, specs, options, on_result,
                 on_status) -> ClassResults:
    plan = discover(subs, specs, unpacked)
    if not plan.students:
        raise GradewiseError(f"{subs}: no student in it (expected a folder, an archive or a "
                             f".py/.ipynb file per student; {len(plan.unmatched)} other entries)")
    class_results = ClassResults([ExerciseInfo.of(spec) for spec in specs], options.seed,
                                 submissions=len(plan.students), unmatched=plan.unmatched,
                                 roster=_roster(folder, options.roster))
    try:
        return _grade_plan(plan, folder, class_results, course, specs, options,
                           (subs, folder.root, unpacked), on_result, on_status)
    except KeyboardInterrupt:  # before the pool starts: it stops on a signal by itself
        raise BatchInterrupted(len(class_results.students), class_results.submissions,
                               folder.root) from None


def _roster(folder: BatchFolder, roster):
    """The class's roster: `roster`, kept in the folder for later exports; else the one the
    folder kept from an earlier batch; else None."""
    from .roster import ROSTER_FILE, read_roster

    if roster is not None:
        folder.write_roster(roster)
        return roster
    kept = folder.root / ROSTER_FILE
    return read_roster(kept) if kept.exists() else None


def _grade_plan(plan, folder, class_results, course, specs, options, hide, on_result,
                on_status) -> ClassResults:
    from . import resume

    numbers = [spec.number for spec in specs]
    course_digest, limits = course.digest(specs), _limits_record(options)
    records = {s.name: resume.record(s, course_digest, limits) for s in plan.students}
    status = BatchStatus(len(plan.students), others=folder.others(records))
    for student in plan.students if options.resume else ():
        found = folder.graded(student.name)
        why = found and resume.regrade_reason(*found, records[student.name], options.seed,
                                              numbers)
        if why:
            status.regraded.setdefault(why, []).append(student.name)
        elif found:
            class_results.students[student.name] = found[0]
    status.kept = status.done = len(class_results.students)
    todo = [s for s in plan.students if s.name not in class_results.students]
    folder.write_class(class_results)
    if on_result:
        on_result(None, None, status.done, class_results.submissions)
    if on_status:
        on_status(status)
    if todo:
        _grade_all(todo, folder, class_results, course, specs, options, hide, records,
                   status, on_result, on_status)
    folder.write_class(class_results, at_end=True)  # report.html too, once
    return class_results


def _limits_record(options: BatchOptions) -> dict:
    from .grading import time_limits

    limits = time_limits(options.limits, options.timeout)
    return {"call": limits.call_timeout, "import": limits.import_timeout,
            "timeout": options.timeout}


def student_deadline(specs, limits=None, timeout: float | None = None) -> float:
    """Seconds a pool process may take to grade one student before it is killed: per
    exercise, the longest its sandbox run may take (`run_time_bound`, with the limits the
    `Grader` plans from `limits` and the instructor's `timeout`) and EXERCISE_MARGIN_SECONDS;
    then STUDENT_MARGIN_SECONDS. Only something stuck (a read that never ends, a grader bug)
    comes near it."""
    from . import kinds
    from .grading import call_seconds, time_limits
    from .sandbox import run_time_bound

    limits = time_limits(limits, timeout)
    total = STUDENT_MARGIN_SECONDS
    for spec in specs:
        calls = {}  # as Grader._plan makes them, at most: per function, case and call
        for check in spec.checks:
            seconds = call_seconds(check, limits, timeout)
            for case in spec.cases_for(check):
                for n in range(kinds.get(check.kind).calls_per_case):
                    key = (check.function, case.name, n)
                    calls[key] = max(calls.get(key, 0.0), seconds)
        total += run_time_bound(limits, calls.values()) + EXERCISE_MARGIN_SECONDS
    return total


def _grade_all(todo, folder: BatchFolder, class_results: ClassResults, course, specs,
               options: BatchOptions, hide, records: dict, status: BatchStatus, on_result,
               on_status):
    from . import grading  # noqa: F401  numpy and the engine, once, shared by the forks

    jobs = status.jobs = max(1, min(options.jobs or len(os.sched_getaffinity(0)), len(todo)))
    deadline = options.deadline or student_deadline(specs, options.limits, options.timeout)
    queue, attempts = list(todo), Counter()

    def zero(student, reason):
        return results_of(student, [_ungraded(spec, reason, submitted=True) for spec in specs],
                          options.seed)

    with _StopRequest() as stop:
        pool = _Pool(jobs, course, specs, options.seed, options.limits, options.timeout,
                     hide=hide, private=stop.fds)
        try:
            while (queue or pool.busy_count()) and not stop.requested:
                for fd in pool.idle():
                    if queue:
                        student = queue.pop(0)
                        pool.send(fd, student, deadline)
                        status.running[student.name] = time.monotonic()
                done = pool.receive(timeout=1.0, wake=stop.fds[:1])
                done += [(student, zero(student, NOT_FINISHED.format(seconds=deadline)))
                         for student in pool.overdue()]
                for student, results in done:
                    began = status.running.pop(student.name, status.started)
                    if results is None:
                        attempts[student.name] += 1
                        if stop.requested or attempts[student.name] <= RETRIES:
                            queue.insert(0, student)  # stopped: --resume grades it
                            continue
                        results = zero(student, "the grading process died while grading this "
                                                "submission")
                    folder.write_student(student.name, results, records[student.name])
                    class_results.students[student.name] = results
                    folder.write_class(class_results)
                    status.done = len(class_results.students)
                    status.took.append(time.monotonic() - began)
                    status.last = (student.name, results)
                    if on_result:
                        on_result(student.name, results, status.done, class_results.submissions)
                if not stop.requested:
                    pool.replace_dead(min(jobs, len(queue) + pool.busy_count()))
                if on_status:
                    on_status(status)
        finally:
            pool.close()
    if stop.requested:
        raise BatchInterrupted(len(class_results.students), class_results.submissions,
                               folder.root)


class _StopRequest:
    """Ctrl-C (SIGINT) and SIGTERM while a batch grades: noted, and the wait for the pool
    woken (`fds[0]` becomes readable), so that the batch stops between two students, never
    while a student's files are being written. Only the main thread can take signals: in
    another one, nothing is installed (`requested` stays False)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self.fds: list[int] = []  #: the wake-up pipe (read end first); closed in pool processes
        self._previous: dict = {}

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            self.fds = list(os.pipe())
            os.set_blocking(self.fds[1], False)
            self._previous = {s: signal.signal(s, self._note) for s in self.SIGNALS}
        return self

    def _note(self, signum, frame):
        self.requested = True
        try:
            os.write(self.fds[1], b"!")
        except OSError:  # the pipe is full: it is readable already
            pass

    def __exit__(self, *exc):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        for fd in self.fds:
            os.close(fd)
