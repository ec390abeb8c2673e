"""Where the course lives: `exercises/` (specs) and `solutions/` (reference modules).

Found from the current directory upward (a folder holding `exercises/`), else the copy
bundled in the installed package. Solutions are loaded only in the trusted parent process.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import GradewiseError
from .spec import SPEC_NAME, Spec, load_spec

# In a built wheel the course is bundled under grader/_bundled; in a clone (also an editable
# install) it stands beside the package.
BUNDLED = Path(__file__).parent / "_bundled"
INSTALLED_COURSES = (BUNDLED, Path(__file__).parent.parent)


@dataclass(frozen=True)
class Course:
    root: Path

    @property
    def exercises_dir(self) -> Path:
        return self.root / "exercises"

    @property
    def solutions_dir(self) -> Path:
        return self.root / "solutions"

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
        return [load_spec(p) for p in self.spec_paths()]

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
        """The reference module of `spec`, imported under a private name (parent only)."""
        path = self.solutions_dir / spec.solution
        if not path.is_file():
            raise GradewiseError(f"{spec.path}: the reference solution {path} does not exist")
        name = f"_gradewise_solutions.{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        return module


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
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir() and (folder / "solutions").is_dir():
            return Course(folder)
    for root in INSTALLED_COURSES:
        if (root / "exercises").is_dir() and (root / "solutions").is_dir():
            return Course(root)
    raise GradewiseError("no course found: run `grade` inside a clone of the course "
                         "(a folder holding exercises/ and solutions/)")
