"""`grade watch N`: grade, then grade again whenever the file changes, until Ctrl-C.

The file is polled (size, mtime and inode, every `POLL_SECONDS`): no watcher library starts
faster or behaves the same on every platform and editor, and a save is seen within a third of
a second. A change is graded once the file has stayed the same for `SETTLE_SECONDS`, so an
editor's burst of writes (or write-to-temp-and-rename) is graded once. One Grader serves the
whole session: its sandbox is forked once, before any solution is loaded.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

POLL_SECONDS = 0.3
SETTLE_SECONDS = 0.2

WATCHING = "Watching {file}: save it to grade again · Ctrl-C to stop"
GONE = "{file} is gone (renamed or deleted?): waiting for it to come back."
MISSING = "{file} does not exist (check the path?): waiting for it to be created."
SUMMARY = ("Stopped watching {file}: graded {count} time{s}, best {best:g}/{points:g}{verdict}.")


@dataclass
class Session:
    """What a watch session did, for its closing line."""

    file: str
    points: float
    gradings: int = 0
    best: float = 0.0
    scores: list = field(default_factory=list)

    def summary(self) -> str:
        verdict = " (full marks)" if self.gradings and self.best >= self.points - 1e-9 else ""
        return SUMMARY.format(file=self.file, count=self.gradings,
                              s="" if self.gradings == 1 else "s", best=self.best,
                              points=self.points, verdict=verdict)


def watch(grader, spec, path: Path, show, record=None, max_gradings: int | None = None,
          poll: float = POLL_SECONDS, settle: float = SETTLE_SECONDS) -> Session:
    """Grade `path` now and after every change; `show(result)` renders, `record(result)` keeps
    progress. Returns after `max_gradings` gradings (tests) or on Ctrl-C (KeyboardInterrupt is
    caught here: stopping is the normal way out)."""
    from .errors import GradewiseError
    from .reader import read_submission

    session = Session(str(path), spec.points)
    graded, gone = _NOT_YET, False  # not None: a file missing from the start is said at once
    try:
        while max_gradings is None or session.gradings < max_gradings:
            seen = _signature(path)
            if seen == graded:
                time.sleep(poll)
                continue
            if seen is not None:
                time.sleep(settle)
                if _signature(path) != seen:  # still being written
                    continue
            graded = seen
            if seen is None:
                if not gone:
                    show((MISSING if session.gradings == 0 else GONE).format(file=path))
                gone = True
                continue
            gone = False
            try:
                submission = read_submission(path)
            except GradewiseError as exc:  # e.g. a notebook caught half-written: next save
                show(f"could not read {path}: {exc}")
                continue
            result = grader.grade(spec, submission, str(path))
            session.gradings += 1
            session.best = max(session.best, result.score)
            session.scores.append(result.score)
            if record:
                record(result)
            show(result)
    except KeyboardInterrupt:
        pass
    return session


_NOT_YET = object()  #: the signature of a file never looked at


def _signature(path: Path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino
