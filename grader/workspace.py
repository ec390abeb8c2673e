"""The student's workspace: `./workspace/exNN_slug.py` (or `.ipynb`) files and `.gradewise/`
progress."""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .files import atomic_write
from .spec import Spec
from .stubs import render_stub


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def locate(cls, option: str | None = None) -> "Workspace":
        """`--workspace`, else $GRADEWISE_WORKSPACE, else ./workspace, else the current folder
        when it is a workspace itself (a notebook's `!grade hint 1` runs there)."""
        chosen = option or os.environ.get("GRADEWISE_WORKSPACE")
        if chosen:
            return cls(Path(chosen))
        if not Path("workspace").is_dir() and Path(".gradewise").is_dir():
            return cls(Path("."))
        return cls(Path("workspace"))

    def file(self, spec: Spec) -> Path:
        return self.root / f"{spec.stem}.py"

    def notebook(self, spec: Spec) -> Path:
        return self.root / f"{spec.stem}.ipynb"

    def graded_file(self, spec: Spec) -> "GradedFile":
        """The file `grade exercise N` (and `grade watch N`) grades: the .py; else the
        notebook `grade notebook N` wrote, when the student worked there; else the .py stub,
        created now. With both, the .py, and a note that the notebook was not graded."""
        path, notebook = self.file(spec), self.notebook(spec)
        if not path.exists() and notebook.is_file():
            return GradedFile(notebook, f"Graded {notebook} (there is no {path.name}).")
        created = self.ensure_stub(spec)
        note = None
        if notebook.is_file():
            note = (f"Graded {path}; {notebook} was not graded (`grade exercise {spec.number} "
                    f"--file {notebook}` grades it).")
        return GradedFile(path, note, created)

    def ensure_stub(self, spec: Spec) -> bool:
        """Create the stub if the student has no file yet; True when it was created."""
        path = self.file(spec)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_stub(spec), encoding="utf-8")
        return True

    def reset(self, spec: Spec) -> Path | None:
        """Put the stub back; the student's file is backed up first. The backup's path, or
        None when there was nothing to keep (no file, or the untouched stub)."""
        path, stub = self.file(spec), render_stub(spec)
        saved = None
        if path.exists() and path.read_text(encoding="utf-8", errors="replace") != stub:
            saved = backup(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(stub, encoding="utf-8")
        return saved

    @property
    def progress_path(self) -> Path:
        return self.root / ".gradewise" / "progress.json"

    def progress(self) -> "Progress":
        return Progress(self.progress_path)


@dataclass(frozen=True)
class GradedFile:
    """`Workspace.graded_file`: the file to grade, one line to say about the choice (None:
    nothing to say), and whether the file is the stub just created."""

    path: Path
    note: str | None = None
    created: bool = False


class Progress:
    """Per exercise: best score, attempts, hints shown, last score. A corrupt file is reported
    (see `problem`) and rebuilt, never fatal: progress is a convenience, not a grade."""

    def __init__(self, path: Path):
        self.path, self.problem = path, None
        self.data = {"exercises": {}}
        try:
            self.data, damaged = _repaired(json.loads(path.read_text(encoding="utf-8")))
            if damaged:
                self.problem = f"{path} had damaged entries; they were reset"
                self.save()
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            self.problem = (f"{path} was unreadable ({exc}); progress starts afresh "
                            f"(the old file is kept as {path.name}.bad)")
            try:
                os.replace(path, path.with_name(path.name + ".bad"))
            except OSError:
                pass
            self.save()

    def entry(self, number: int) -> dict:
        entry = self.data["exercises"].setdefault(str(number), {})
        if not isinstance(entry, dict):
            entry = self.data["exercises"][str(number)] = {}
        return entry

    def record(self, result) -> None:
        entry = self.entry(result.exercise)
        entry["attempts"] = int(entry.get("attempts", 0)) + 1
        entry["last"] = result.score
        entry["max"] = result.max_score
        entry["best"] = max(float(entry.get("best", 0.0)), result.score)
        self.save()

    def next_hint(self, number: int, available: int) -> int:
        entry = self.entry(number)
        shown = min(int(entry.get("hints_shown", 0)) + 1, available)
        entry["hints_shown"] = shown
        self.save()
        return shown

    def hints_seen(self, number: int, count: int) -> None:
        """`grade hint N --all`: the first `count` hints have been shown."""
        entry = self.entry(number)
        entry["hints_shown"] = max(int(entry.get("hints_shown", 0)), count)
        self.save()

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(self.data, indent=1))
        except OSError as exc:
            self.problem = f"could not save progress to {self.path} ({exc})"


_FIELDS = {"attempts": int, "hints_shown": int, "best": float, "last": float, "max": float}


def _repaired(loaded) -> tuple[dict, bool]:
    """Progress data with damaged entries and fields dropped, and whether there were any."""
    if not isinstance(loaded, dict) or not isinstance(loaded.get("exercises"), dict):
        raise ValueError("unexpected layout")
    exercises, damaged = {}, False
    for key, entry in loaded["exercises"].items():
        if not (key.isdigit() and isinstance(entry, dict)):
            damaged = True
            continue
        clean = {}
        for name, kind in _FIELDS.items():
            value = entry.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                damaged = True
                continue
            clean[name] = kind(value)
        exercises[key] = clean
    return {**loaded, "exercises": exercises}, damaged


def backup(path: Path) -> Path:
    """Copy `path` to `<its folder>/.gradewise/backup/<stem>.<time><suffix>`; the copy's path."""
    folder = path.parent / ".gradewise" / "backup"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = folder / f"{path.stem}.{stamp}{path.suffix}", 1
    while target.exists():
        n += 1
        target = folder / f"{path.stem}.{stamp}-{n}{path.suffix}"
    shutil.copy2(path, target)
    return target
