"""`grade release`: the course as students get it, without solutions.

    grade release --out DIR [--exercises 1,3-5] [--seeds 0,1,2]

DIR is a folder a student clones and installs with `pip install -e .`:

    README.md               for students: install, grade, what is graded where
    pyproject.toml          installs the copy of gradewise below and the `grade` command
    grader/                 gradewise itself (the installed package, without its bundled
                            course), so that the release grades with the very version that
                            made its keys
    exercises/              the public part of the course (grader.course): the specs, their
                            public modules (exNN_slug_grading.py), the data
    keys/exNN_slug.json     the reference keys, on the released seeds (grader.keys)
    release.json            the exercises and seeds of the release (it marks a release)

Nothing else: no solutions, no catalogued wrong formula, no gradient check's function, no
git history, no seed but the released ones. Before DIR is written, every file is scanned
for the definitions and the code of those functions (`leaks`); a release that would hold
one is refused. A DIR that holds an earlier release is updated in place: its `.git` stays,
so the change can be committed, and its `.github` (the workflow `grade classroom` wrote).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import GradewiseError

FORMAT = 1
DISTRIBUTION = "gradewise"
KEPT = {".git", ".github"}  #: what an update in place keeps of the previous release's folder:
#: its history, and its GitHub settings (the Classroom workflow `grade classroom` wrote)

STUDENT_README = """\
# {title}

```bash
pip install -e .          # once, in this folder (a virtual environment is a good idea)
grade exercise {first}          # creates workspace/{first_stem}.py: fill it in, then grade again
```

{table}

Your functions go in `workspace/exNN_slug.py`, one file per exercise, with the statement at
the top. Then:

```
grade exercise {first}          # grade it: every check, what is wrong and why, the next step
grade watch {first}             # grade again on every save (Ctrl-C stops)
grade notebook {first}          # a Jupyter notebook instead: its last cell, check({first}), grades it
grade hint {first}              # the next hint
grade list                # your progress
```

`--json` gives a machine-readable result, `--no-color` plain text.

## What is graded here, and what your instructor grades

This folder holds no reference solutions. Your code runs in a separate process that cannot
see this folder, and is graded on the cases of seed{seeds_s} {seeds} exactly as your
instructor's grader grades them, diagnoses included, from the reference keys in `keys/`
(computed by the instructor's grader from the solutions). {seed_option}

Your instructor grades your submitted files on these cases and on others that you do not
see here. A function that returns the answers of the cases above instead of computing them
passes here and fails there.

Made with gradewise {version}.
"""
PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = {name}
version = {version}
description = "Auto-graded exercises, graded locally with gradewise (student release)."
readme = "README.md"
requires-python = {python}
dependencies = {dependencies}

[project.scripts]
grade = "grader.cli:run"

[tool.setuptools]
packages = {packages}
"""
GITIGNORE = "__pycache__/\n*.egg-info/\n/build/\n/dist/\n"


def write_release(out: Path, course, specs, seeds) -> dict:
    """Write the student release of `specs` with keys for `seeds` into `out` (see the module's
    docstring); returns what it holds. Raises GradewiseError when `course` is a release
    itself, `out` holds something else than a release, a public function is missing from
    its public module, or a secret would enter the release."""
    if course.release is not None:
        raise GradewiseError("this folder is a student release: make releases from the full "
                             "course (the folder with solutions/)")
    seeds = sorted(set(seeds))
    if not seeds or min(seeds) < 0:
        raise GradewiseError("--seeds: expected one seed or more, each 0 or more")
    out = Path(out).resolve()
    _check_out(out, course)
    problems = [problem for spec in specs for problem in public_problems(course, spec)]
    if problems:
        raise GradewiseError("cannot release:\n  " + "\n  ".join(problems))
    version = installed_distribution()[0]  # first: it may refuse
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write(staging, course, specs, seeds)
        found = leaks(staging, course, specs)
        if found:
            raise GradewiseError("the release would give away reference code, so it was not "
                                 "written:\n  " + "\n  ".join(found))
        files = sum(1 for p in staging.rglob("*") if p.is_file())
        _install(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"out": str(out), "exercises": [s.number for s in specs], "seeds": seeds,
            "points": sum(s.points for s in specs), "files": files, "gradewise": version}


def _write(into: Path, course, specs, seeds) -> None:
    """Every file of the release (the module's docstring) into the empty folder `into`."""
    from .course import RELEASE_FILE
    from .keys import build_key, write_key

    _copy_course(course, specs, into)
    (into / "keys").mkdir()
    for spec in specs:
        write_key(into / "keys" / f"{spec.stem}.json",
                  build_key(spec, course.references(spec), seeds))
    packages = _copy_package(into)
    version, python, dependencies = installed_distribution()
    manifest = {"format": FORMAT, "gradewise": version, "seeds": seeds,
                "exercises": [{"number": s.number, "slug": s.slug, "title": s.title,
                               "points": s.points} for s in specs]}
    texts = {RELEASE_FILE: json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
             "README.md": student_readme(specs, seeds, version),
             "pyproject.toml": PYPROJECT.format(
                 name=json.dumps(DISTRIBUTION), version=json.dumps(version),
                 python=json.dumps(python), dependencies=json.dumps(dependencies),
                 packages=json.dumps(packages)),
             ".gitignore": GITIGNORE}
    for name, text in texts.items():
        (into / name).write_text(text, encoding="utf-8")


def _check_out(out: Path, course) -> None:
    from .course import RELEASE_FILE

    if out.exists() and not out.is_dir():
        raise GradewiseError(f"--out {out}: a file is there; give a folder")
    others = [p.name for p in out.iterdir() if p.name not in KEPT] if out.is_dir() else []
    if others and not (out / RELEASE_FILE).is_file():
        raise GradewiseError(f"--out {out} holds other files ({', '.join(sorted(others)[:3])}"
                             f"{', …' if len(others) > 3 else ''}): give a new or empty folder "
                             "(or one that holds an earlier release, to update it)")
    root = course.root.resolve()
    if out == root or out in root.parents:
        raise GradewiseError(f"--out {out}: that folder holds the course itself")


def _copy_course(course, specs, into: Path) -> None:
    """The specs (their exact bytes: a key is tied to its spec's digest), their public
    modules and `exercises/data/`."""
    exercises = into / "exercises"
    exercises.mkdir()
    for spec in specs:
        shutil.copyfile(spec.path, exercises / spec.path.name)
        public = course.public_path(spec)
        if public.is_file():
            shutil.copyfile(public, exercises / public.name)
    data = course.exercises_dir / "data"
    if data.is_dir():
        shutil.copytree(data, exercises / "data", ignore=shutil.ignore_patterns(
            "__pycache__", ".*"))


def _copy_package(into: Path) -> list[str]:
    """The running gradewise's modules (its bundled course aside) into `into/grader`; its
    package names."""
    import grader

    package = Path(grader.__file__).resolve().parent
    names = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if "__pycache__" in rel.parts or rel.parts[0] == "_bundled" and len(rel.parts) > 2:
            continue
        target = into / "grader" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        if rel.name == "__init__.py":
            names.append(".".join(("grader", *rel.parts[:-1])))
    return sorted(names)


def _install(staging: Path, out: Path) -> None:
    """`staging` becomes `out`; an earlier release there is replaced, its KEPT kept."""
    if not out.exists():
        os.replace(staging, out)
        return
    for old in out.iterdir():
        if old.name not in KEPT:
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
    for new in staging.iterdir():
        os.replace(new, out / new.name)


def installed_distribution(command: str = "grade release") -> tuple[str, str, list[str]]:
    """gradewise's version, Python requirement and dependencies (extras aside), as the
    installed distribution declares them: what a copy of gradewise (a release, the Gradescope
    autograder) must say in its own pyproject.toml. Raises GradewiseError when gradewise is
    not installed (nowhere to read them), telling to run `command` again once it is."""
    from importlib import metadata

    try:
        installed = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise GradewiseError("gradewise is not installed, so its version and dependencies "
                             "cannot be read: run `pip install -e .` in the course's clone, "
                             f"then `{command}` again") from None
    dependencies = [r for r in installed.requires or [] if "extra ==" not in r]
    return installed.version, installed.metadata["Requires-Python"] or "", dependencies


def student_readme(specs, seeds, version: str) -> str:
    rows = ["| no. | exercise | title | points |", "|---|---|---|---|"]
    rows += [f"| {s.number} | `{s.slug}` | {s.title} | {s.points:g} |" for s in specs]
    listed = ", ".join(map(str, seeds))
    option = (f"`--seed N` chooses among them ({listed}); without it, seed {seeds[0]}."
              if len(seeds) > 1 else "")
    return STUDENT_README.format(
        title="Exercises" if len(specs) != 1 else f"Exercise {specs[0].number}: {specs[0].title}",
        first=specs[0].number, first_stem=specs[0].stem, table="\n".join(rows),
        seeds_s="s" if len(seeds) > 1 else "", seeds=listed, seed_option=option,
        version=version)


# -- the line between public and secret ---------------------------------------------------------

def secret_names(spec) -> set[str]:
    """The functions of the solution module a release must never hold: the reference
    functions, the catalogued mistakes, and those the checks name as secret (a gradient
    check's scalar function, a compare's `reference`)."""
    from . import kinds

    names = {f.name for f in spec.functions} | {m.solution_attr for m in spec.mistakes}
    for check in spec.checks:
        names |= {name for _, name in kinds.get(check.kind).solution_names(check)}
    return names


def public_problems(course, spec) -> list[str]:
    """What keeps `spec` from being released: a public function found only in the solution
    module, a public module that defines a secret function."""
    from .grading import public_names

    public = course.public(spec)
    where = f"exercises/{course.public_path(spec).name}"
    problems = [f"{spec.path.name}: {'.'.join(map(str, path))} names {name!r}, which is not in "
                f"{where}: move it there from solutions/{spec.solution} (generators, predicates "
                "and evaluators are public; a release has no solutions)"
                for path, name in public_names(spec) if not callable(getattr(public, name, None))]
    defined = sorted(secret_names(spec) & {n for n, v in vars(public).items() if callable(v)})
    problems += [f"{where} defines {name!r}, which must stay secret in solutions/"
                 for name in defined]
    return problems


def leaks(root: Path, course, specs) -> list[str]:
    """Where the files under `root` hold a secret of `specs`: the definition of a secret
    function (`def name(`, see `secret_names`), or the code of one (its whole body, as
    written in the solution module) or of a private helper it calls, unless the public module
    defines a helper of that name for its own use (exercise 6's evaluator computes windows
    and scores). The copy of gradewise in `grader/` is not scanned: it is the package that
    wrote the release, the same for every course (its `compare.relative_error` is the
    grader's own)."""
    names, bodies = set(), {}
    for spec in specs:
        secret = secret_names(spec)
        names |= secret
        shared = {n for n, v in vars(course.public(spec)).items() if callable(v)}
        source = (course.solutions_dir / spec.solution).read_text(encoding="utf-8")
        bodies.update((f"solutions/{spec.solution}: {name}", body)
                      for name, body in secret_code(source, secret, shared).items())
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("grader/"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        flat = _flat(text)
        found += [f"{rel} defines {name}" for name in sorted(names) if f"def {name}(" in text]
        found += [f"{rel} holds the code of {where}" for where, body in sorted(bodies.items())
                  if body in flat]
    return found


def secret_code(source: str, secret: set, shared: set) -> dict[str, str]:
    """Name → body (`_flat`, without its docstring) of the functions of the solution module
    `source` named in `secret` and of the private helpers (`_name`) they call, directly or
    not, but those in `shared`; only bodies long enough to mean something (`return x` is no
    secret)."""
    functions = {node.name: node for node in ast.parse(source).body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    todo, seen = [name for name in secret if name in functions], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [n.id for n in ast.walk(functions[name]) if isinstance(n, ast.Name)
                 and n.id.startswith("_") and n.id in functions and n.id not in shared]
    lines, found = source.splitlines(), {}
    for name in seen:
        node = functions[name]
        body = node.body[1:] if ast.get_docstring(node) is not None else node.body
        flat = _flat("\n".join(lines[body[0].lineno - 1:body[-1].end_lineno])) if body else ""
        if len(flat.replace(" ", "")) >= 24:
            found[name] = flat
    return found


def _flat(text: str) -> str:
    """Each line stripped; blank lines and comments dropped."""
    return "\n".join(line.strip() for line in text.splitlines()
                     if line.strip() and not line.strip().startswith("#"))
