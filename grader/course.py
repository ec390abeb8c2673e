"""Where the course lives, and which of its parts are public.

The full course (a clone of it, or the copy bundled in the installed package):

    exercises/exNN_slug.yaml          the spec: statement, functions, cases, checks, hints,
                                      mistake messages                          (public)
    exercises/exNN_slug_grading.py    what grading needs that gives no answer away: case
                                      generators, property predicates, evaluators (public)
    exercises/data/                   data the public modules read              (public)
    solutions/exNN_slug.py            the reference functions, the `mistake_*` wrong
                                      formulas, gradient checks' scalar functions (secret)

A student release (`grade release`, grader.release) holds the public part only, with
`keys/exNN_slug.json` (grader.keys: the reference values, computed by the full course, on
the seeds it names) and `release.json` in place of `solutions/`.

Found from the current directory upward (a folder holding `exercises/` and `solutions/` or
`release.json`), else the copy installed with the package. Solutions and public modules are
loaded only in the trusted parent process.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import types
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .errors import GradewiseError
from .spec import SPEC_NAME, Spec, load_spec

# In a built wheel the course is bundled under grader/_bundled; in a clone (also an editable
# install) it stands beside the package.
BUNDLED = Path(__file__).parent / "_bundled"
INSTALLED_COURSES = (BUNDLED, Path(__file__).parent.parent)
RELEASE_FILE = "release.json"  #: marks a student release: its seeds and exercises
PUBLIC_SUFFIX = "_grading"  #: exercises/exNN_slug_grading.py, the public module of a spec
DEFAULT_SEED = 0  #: the public cases (here, not in grader.cases: no numpy on `grade list`)
NO_SOLUTIONS = ("this is a student release of the course: it holds no reference solutions "
                "(your instructor has them). Your code is graded from its reference keys.")


@dataclass(frozen=True)
class Course:
    root: Path

    @property
    def exercises_dir(self) -> Path:
        return self.root / "exercises"

    @property
    def solutions_dir(self) -> Path:
        return self.root / "solutions"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @cached_property
    def release(self) -> dict | None:
        """A student release's `release.json` (`seeds`, `exercises`, `gradewise`), or None
        for the full course. Raises GradewiseError when it cannot be read."""
        path = self.root / RELEASE_FILE
        if not path.is_file():
            return None
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            seeds = [int(s) for s in manifest["seeds"]]
            if not seeds:
                raise ValueError("no seeds")
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            raise GradewiseError(f"{path} is damaged ({type(exc).__name__}: {exc}): restore it "
                                 "from the release (git checkout release.json)") from None
        return {**manifest, "seeds": seeds}

    def seed(self, chosen: int | None = None) -> int:
        """The seed to grade with: `chosen`, else the public one (in a release: its first
        seed when it lacks the public one). Raises GradewiseError for a seed a release has
        no reference keys for."""
        if self.release is None:
            return DEFAULT_SEED if chosen is None else chosen
        seeds = self.release["seeds"]
        if chosen is None:
            return DEFAULT_SEED if DEFAULT_SEED in seeds else seeds[0]
        if chosen not in seeds:
            listed = ", ".join(map(str, seeds))
            raise GradewiseError(f"this release of the course grades the cases of seed"
                                 f"{'s' if len(seeds) > 1 else ''} {listed} only (its reference "
                                 f"keys hold no others): use --seed {seeds[0]}"
                                 + (f" (or {', '.join(map(str, seeds[1:]))})" if seeds[1:] else "")
                                 + ". Other seeds are for your instructor's grading.")
        return chosen

    def private_places(self) -> list[Path]:
        """Every folder holding a copy of the course that gradewise knows of, which student
        code must never see: the course folder itself (solutions, specs, `.git`, `build/` and
        `dist/` left by packaging, workspaces inside it), the copy bundled in the installed
        package, and the cache of parsed specs."""
        from .yamlsource import cache_dir

        return [self.root, BUNDLED, cache_dir(), *git_dirs(self.root)]

    def spec_paths(self) -> list[Path]:
        return sorted(p for p in self.exercises_dir.glob("ex*.yaml") if SPEC_NAME.match(p.name))

    def numbers(self) -> list[int]:
        """The exercises' numbers, in order, from their file names (no spec is parsed)."""
        return [spec_number(p) for p in self.spec_paths()]

    def specs(self) -> list[Spec]:
        """Every spec, in order; raises the first one's SpecError (see `listing`)."""
        return [load_spec(p) for p in self.spec_paths()]

    def listing(self) -> list[Listed]:
        """Every exercise, in order, with its spec or the error that keeps it from being read:
        one broken spec does not hide the others."""
        listed = []
        for path in self.spec_paths():
            try:
                listed.append(Listed(path, load_spec(path)))
            except GradewiseError as exc:
                listed.append(Listed(path, None, str(exc)))
        return listed

    def find(self, which: str) -> Spec:
        """An exercise by number (`3`, `03`) or slug (`jacobians`)."""
        paths = self.spec_paths()
        for path in paths:
            if which.isdigit() and int(which) == spec_number(path) or \
                    which in (spec_slug(path), path.stem):
                return load_spec(path)
        known = ", ".join(f"{spec_number(p)} {spec_slug(p)}" for p in paths)
        raise GradewiseError(f"unknown exercise {which!r}; the course has: {known}. "
                             "Run `grade list` to see them.")

    def digest(self, specs) -> str:
        """SHA-256 (hex) of what grading `specs` reads from the course: their spec files,
        their reference solutions and the data beside the specs (`exercises/data/`). A batch
        keeps it with each student's feedback, so that `--resume` can tell results graded
        with another version of the course. A file missing counts as such."""
        import hashlib

        data = self.exercises_dir / "data"
        paths = [p for spec in specs for p in (spec.path, self.solutions_dir / spec.solution)]
        paths += sorted(p for p in data.rglob("*") if p.is_file() and "__pycache__" not in
                        p.parts) if data.is_dir() else []
        digest = hashlib.sha256()
        for path in paths:
            try:
                content = path.read_bytes()
            except OSError:
                content = b"(missing)"
            name = path.relative_to(self.root) if self.root in path.parents else path.name
            digest.update(f"{name}\0{len(content)}\0".encode("utf-8", "backslashreplace"))
            digest.update(content)
        return digest.hexdigest()

    def solution(self, spec: Spec):
        """The reference module of `spec`, imported under a private name (parent only).
        Raises GradewiseError in a student release, or when the file is missing."""
        if self.release is not None:
            raise GradewiseError(NO_SOLUTIONS)
        path = self.solutions_dir / spec.solution
        if not path.is_file():
            raise GradewiseError(f"{spec.path}: the reference solution {path} does not exist")
        return _with_checked_generators(
            spec, _load(f"_gradewise_solutions.{path.stem}", path, "the reference solution"))

    def references(self, spec: Spec, seed: int | None = None):
        """The reference source of `spec` (grader.references): its solution module in the
        full course (every function the spec names checked, else a SpecError), its key for
        `seed` in a student release (grader.keys)."""
        if self.release is not None:
            from .keys import key_references

            return key_references(self, spec, self.seed(seed))
        from .grading import check_public, check_solution
        from .references import SolutionReferences

        solution, public = self.solution(spec), self.public(spec)
        check_solution(spec, solution)
        check_public(spec, public, solution)
        return SolutionReferences(solution, public)

    def public_path(self, spec: Spec) -> Path:
        """`exercises/exNN_slug_grading.py`: the spec's public functions (it may not exist)."""
        return self.exercises_dir / f"{spec.stem}{PUBLIC_SUFFIX}.py"

    def public(self, spec: Spec):
        """The public module of `spec` (case generators, predicates, evaluators), imported
        under a private name (parent only); an empty module when the spec has none."""
        path = self.public_path(spec)
        if not path.is_file():
            return types.ModuleType(f"_gradewise_public.{path.stem}")
        return _with_checked_generators(
            spec, _load(f"_gradewise_public.{path.stem}", path, "the public module"))

    def reference_code(self, spec: Spec) -> str:
        """The reference solution's source, as a learner should read it: without the
        catalogued mistakes (`mistake_*` functions and the comment heading them). Raises
        GradewiseError in a student release."""
        if self.release is not None:
            raise GradewiseError(NO_SOLUTIONS)
        return reference_code(self.solutions_dir / spec.solution)


def _load(name: str, path: Path, what: str):
    """The module at `path`, imported as `name`; the course's own code, so a failure is the
    author's error (a GradewiseError naming the file and line), not ours."""
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise GradewiseError(_not_imported(path, exc, what)) from None
    return module


def _with_checked_generators(spec: Spec, module):
    """`module`, each of its case generators wrapped by `_checked_generator`."""
    for index, case in enumerate(spec.cases):
        generator = getattr(module, case.generate or "", None)
        if callable(generator) and not hasattr(generator, "checked_for"):
            setattr(module, case.generate, _checked_generator(spec, index, generator))
    return module


def reference_code(path) -> str:
    """The Python source at `path` without its top-level `mistake_*` functions, and without
    a section comment (`# -- ...`) left heading nothing."""
    import ast

    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    dropped = set()
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                node.name.startswith("mistake_"):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            dropped.update(range(first - 1, node.end_lineno))
    kept = [line for i, line in enumerate(lines) if i not in dropped]
    out = []
    for i, line in enumerate(kept):
        if line.startswith("# --"):
            rest = next((later for later in kept[i + 1:] if later.strip()), "# --")
            if rest.startswith("# --"):
                continue
        if not line.strip() and len(out) >= 2 and not out[-1].strip() and not out[-2].strip():
            continue  # at most two blank lines in a row
        out.append(line)
    return "\n".join(out).rstrip() + "\n"


def is_course(folder: Path) -> bool:
    """Whether `folder` holds a course: `exercises/`, and `solutions/` (the full course) or
    `release.json` (a student release)."""
    return (folder / "exercises").is_dir() and \
        ((folder / "solutions").is_dir() or (folder / RELEASE_FILE).is_file())


def _not_imported(path: Path, exc: Exception, what: str) -> str:
    """`solutions/x.py:12: the reference solution cannot be imported: NameError: ...`"""
    import traceback

    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else next(
        (f.lineno for f in reversed(traceback.extract_tb(exc.__traceback__))
         if f.filename == str(path)), None)
    return (f"{path}{f':{line}' if line else ''}: {what} cannot be imported: "
            f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class Listed:
    """One exercise of the course, as `grade list` shows it."""

    path: Path  #: its spec's file
    spec: Spec | None = None  #: None when the file cannot be read as a spec
    error: str = ""  #: why not (a SpecError: file, line, field, problem)

    @property
    def number(self) -> int:
        return spec_number(self.path)

    @property
    def slug(self) -> str:
        return spec_slug(self.path)


def _checked_generator(spec: Spec, index: int, generator):
    """`generator` (a case's `generate`), raising a SpecError at the first case that names it
    when what it returns cannot be a case's inputs: the student would be blamed otherwise."""
    @functools.wraps(generator)
    def generate(rng, **dims):
        made = generator(rng, **dims)
        problem = _generated_problem(generator.__name__, made)
        if problem:
            raise spec.error(("cases", index, "generate"), problem)
        return made

    generate.checked_for = spec.path
    return generate


def _generated_problem(name: str, made) -> str | None:
    """What keeps `made`, returned by the generator `name`, from being a case's inputs: a
    dict from input names to plain data (numbers, strings, numeric arrays, lists, tuples and
    dicts of them), which is what crosses to the student's process."""
    from .values import noun

    if not isinstance(made, dict):
        return (f"`{name}` must return a dict of the case's inputs by name "
                f"({{'x': ..., 'W': ...}}); it returned {noun(made)}")
    for key, value in made.items():
        if not isinstance(key, str) or not key.isidentifier():
            return f"`{name}` returned the key {key!r}: the keys must be input names"
        if not _plain(value):
            return (f"`{name}` returned {key!r} = {noun(value)}, which cannot be handed to "
                    "student code: numbers, strings, numeric arrays, and lists, tuples or "
                    "dicts of them")
    return None


def _plain(value, depth: int = 0) -> bool:
    import numpy as np

    if depth > 20:
        return False
    if value is None or isinstance(value, (bool, int, float, str, np.number, np.bool_)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, (list, tuple)):
        return all(_plain(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return callable(value) and getattr(value, "__module__", "") == "grader.testfuncs"


def spec_number(path: Path) -> int:
    """The exercise number in a spec's file name: `ex03_jacobians.yaml` → 3. Raises
    ValueError for a name that is not a spec's (`spec.SPEC_NAME`)."""
    return int(_spec_name(path)[1])


def spec_slug(path: Path) -> str:
    """The slug in a spec's file name: `ex03_jacobians.yaml` → `jacobians`."""
    return _spec_name(path)[2]


def _spec_name(path: Path):
    match = SPEC_NAME.match(Path(path).name)
    if match is None:
        raise ValueError(f"{path}: not an exercise spec's name (exNN_slug.yaml)")
    return match


def git_dirs(root: Path) -> list[Path]:
    """Where the history of a course whose `.git` is a file lives (a worktree, a submodule,
    a clone made with --separate-git-dir): `gitdir:` and the common folder it names."""
    try:
        text = (root / ".git").read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:  # no .git, or a folder (inside the root: hidden with it)
        return []
    if not text.startswith("gitdir:"):
        return []
    found = [(root / text[len("gitdir:"):].strip()).resolve()]
    try:
        common = (found[0] / "commondir").read_text(encoding="utf-8").strip()
        found.append((found[0] / common).resolve())
    except OSError:
        pass
    return found


def find_course(start: Path | None = None) -> Course:
    env = os.environ.get("GRADEWISE_COURSE")
    if env:
        root = Path(env)
        if not (root / "exercises").is_dir():
            raise GradewiseError(f"GRADEWISE_COURSE={env} has no exercises/ folder")
        return Course(root.resolve())
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents, *INSTALLED_COURSES):
        if is_course(folder):
            return Course(folder)
    raise GradewiseError("no course found: run `grade` inside a clone of the course "
                         "(a folder holding exercises/ and solutions/, or a student release: "
                         "exercises/ and release.json)")
