"""Writing a file so that it is whole or untouched, whenever the process is killed."""

from __future__ import annotations

import os
from pathlib import Path

PARTIAL = ".{name}.{pid}.partial"  #: a file being written, beside its final place


def atomic_write(path: Path, text: str, mode: int = 0o666) -> None:
    """`path` holds either its old content or all of `text` (UTF-8, newlines as given):
    written under a hidden name of this process in the same folder, then renamed over it.
    `mode` before the umask: 0o600 for grades and feedback, which are the instructor's to
    hand out. Raises OSError; the partial file is removed then."""
    path = Path(path)
    partial = path.with_name(PARTIAL.format(name=path.name, pid=os.getpid()))
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with open(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def remove_partials(folder: Path) -> None:
    """Remove the partial files left in `folder` by a process killed while writing."""
    for stale in Path(folder).glob(PARTIAL.format(name="*", pid="*")):
        stale.unlink(missing_ok=True)
