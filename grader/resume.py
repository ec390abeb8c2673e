"""What a student's results were graded from, so that `grade batch --resume` keeps only the
feedback that is still right.

A batch keeps, in each student's feedback JSON (`writers.GRADED_FROM`), a record:

    {"files": {"1": {"file": "ada/ex01_softmax.py", "sha256": "…"}, …},
     "course": "…",                      Course.digest of the exercises graded
     "limits": {"call": 1.0, "import": 10.0, "timeout": null}}

`files`: per exercise number (or "all" for one file holding every exercise), the file graded
as the student and the instructor see it, and the SHA-256 of its content (null when it could
not be read: the grader could not read it either). With the seed and the exercises in the
results themselves, `regrade_reason` says whether results graded before still stand.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .archives import ArchiveRefused, open_regular
from .safetext import visible

#: the largest file worth a digest: larger ones are refused by the reader (a notebook may
#: hold 64 MB with its outputs), so their content does not change a grade
MAX_DIGEST_BYTES = 64 * 2 ** 20

#: why a student graded before is graded again, by reason (see `regrade_reason`)
REGRADE_REASONS = {
    "files": "whose files changed",
    "course": "graded with another version of the course (a spec, a solution or its data)",
    "seed": "graded with another seed",
    "exercises": "graded on other exercises",
    "limits": "graded with other time limits",
    "unrecorded": "whose feedback does not say what it was graded from (an older gradewise)",
}


def record(student, course_digest: str, limits: dict) -> dict:
    """What `student` (a `batch.Student`) is about to be graded from: their files' digests,
    the course's (`Course.digest`), the time limits ({"call", "import", "timeout"})."""
    files = {str(number): path for number, path in sorted(student.files.items())}
    if student.whole is not None:
        files = {"all": student.whole}
    return {"files": {key: {"file": student.shown(path), "sha256": file_digest(path)}
                      for key, path in files.items()},
            "course": course_digest, "limits": limits}


def file_digest(path: Path, max_bytes: int = MAX_DIGEST_BYTES) -> str | None:
    """SHA-256 (hex) of a regular file of at most `max_bytes`, read without blocking and
    without following a link; None when it is not one (`archives.open_regular`)."""
    digest = hashlib.sha256()
    try:
        with open_regular(path, max_bytes) as fh:
            while chunk := fh.read(1 << 16):
                digest.update(chunk)
    except (ArchiveRefused, OSError):
        return None
    return digest.hexdigest()


def regrade_reason(previous, graded_from: dict, now: dict, seed: int,
                   numbers: list[int]) -> str | None:
    """Why results graded before (`previous`, a StudentResults, and the record kept with
    it) no longer stand for a student whose record is `now`, graded with `seed` on the
    exercises `numbers`: a key of REGRADE_REASONS, or None when they still stand."""
    if previous.seed != seed:
        return "seed"
    if [r.exercise for r in previous.results] != list(numbers):
        return "exercises"
    if not graded_from:
        return "unrecorded"
    for reason in ("files", "course", "limits"):
        if graded_from.get(reason) != now[reason]:
            return reason
    return None


def regraded_note(regraded: dict, shown: int = 3) -> str:
    """One line on the students graded again: `regraded` maps a reason to their names."""
    parts = []
    for reason, names in regraded.items():
        listed = ", ".join(visible(n, False) for n in names[:shown]) + \
            (", …" if len(names) > shown else "")
        parts.append(f"{len(names)} {REGRADE_REASONS[reason]} ({listed})")
    return "; ".join(parts)
