"""The student's workspace: `./workspace/exNN_slug.py` files and `.gradewise/` progress."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .spec import Spec
from .stubs import render_stub


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def locate(cls, option: str | None = None) -> "Workspace":
        return cls(Path(option or os.environ.get("GRADEWISE_WORKSPACE") or "workspace"))

    def file(self, spec: Spec) -> Path:
        return self.root / f"{spec.stem}.py"

    def ensure_stub(self, spec: Spec) -> bool:
        """Create the stub if the student has no file yet; True when it was created."""
        path = self.file(spec)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_stub(spec), encoding="utf-8")
        return True

    @property
    def progress_path(self) -> Path:
        return self.root / ".gradewise" / "progress.json"

    def progress(self) -> "Progress":
        return Progress(self.progress_path)


class Progress:
    """Per exercise: best score, attempts, hints shown, last score. A corrupt file is reported
    (see `problem`) and rebuilt, never fatal: progress is a convenience, not a grade."""

    def __init__(self, path: Path):
        self.path, self.problem = path, None
        self.data = {"exercises": {}}
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict) or not isinstance(loaded.get("exercises"), dict):
                raise ValueError("unexpected layout")
            self.data = loaded
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            self.problem = f"{path} was unreadable ({exc}); progress starts afresh"

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

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            self.problem = f"could not save progress to {self.path} ({exc})"
