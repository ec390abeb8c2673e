"""Files of gradewise's own: written whole or not at all, whenever the process is killed;
named after text from a student, safely."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from .errors import GradewiseError

PARTIAL = ".{name}.{pid}.partial"  #: a file being written, beside its final place
#: a name kept as a file name as it is: at most this many bytes of UTF-8 (a file system
#: allows 255, and `PARTIAL` adds to it), letters, digits, marks, spaces and `-_.,'()+@&`
MAX_NAME_BYTES = 100
PREFIX_BYTES = 60  #: of a name that is not kept, the readable start kept in its file name
DIGEST_CHARS = 10  #: hex digits of the name's SHA-256 that follow it (`~`, never in a name kept)
_PUNCTUATION = set(" -_.,'()+@&")
_CATEGORIES = ("L", "N", "M")  #: letters, numbers and (after a letter) combining marks


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


class FolderBusy(GradewiseError):
    """Another process holds the lock of a folder (`FolderLock`); the message names it."""


class FolderLock:
    """An exclusive lock of a folder for this process, until `release` or the end of the
    process, however it ends (killed with SIGKILL too): the operating system releases it, so
    no stale marker can remain. `holder`: a line naming this process, written into the lock
    file `path` for whoever finds the folder taken. Raises FolderBusy with that line, or
    OSError when the lock file cannot be made.

    A POSIX record lock (`fcntl.lockf`): unlike `flock`, a forked child (the batch's
    grading processes) does not share it, so it ends with this process alone. A second lock
    taken by the same process succeeds: the lock keeps other processes out."""

    def __init__(self, path: Path, holder: str):
        import fcntl

        self.path = Path(path)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # EAGAIN or EACCES: held by another process
            held_by = os.pread(self.fd, 2000, 0).decode("utf-8", "replace").strip()
            os.close(self.fd)
            raise FolderBusy(held_by or "another process") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, holder.encode("utf-8", "backslashreplace") + b"\n", 0)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing it releases the lock; the file stays (harmless)
            self.fd = None


def remove_partials(folder: Path) -> None:
    """Remove the partial files left in `folder` by a process killed while writing."""
    for stale in Path(folder).glob(PARTIAL.format(name="*", pid="*")):
        stale.unlink(missing_ok=True)


def file_stem(name: str) -> str:
    """A file name made from `name` (a student's name): `name` itself when it is short
    (MAX_NAME_BYTES), in Unicode's composed form (NFC), and made only of letters, digits,
    combining marks after them, spaces and `-_.,'()+@&` (never starting with `.`, `-` or a
    space); else a readable start of it, then `~` and a digest of the whole name: the same
    name gives the same file name in every run, and two names the same one only if the first
    DIGEST_CHARS hex digits of their SHA-256 agree (a plain name holds no `~`). Nothing in
    `name` (separators or look-alikes such as `∕` and `／`, control or direction characters,
    undecodable bytes) reaches the file name."""
    import hashlib  # here: `grade exercise` never needs it

    if _plain(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]
    return f"{_prefix(name) or 'student'}~{digest}"


def _plain(name: str) -> bool:
    return (0 < len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES
            and unicodedata.is_normalized("NFC", name) and name[0] not in ".- "
            and not name.endswith((" ", ".")) and not _is_mark(name[0])
            and all(_allowed(c) for c in name))


def _allowed(char: str) -> bool:
    if char in _PUNCTUATION:
        return True
    if not unicodedata.category(char).startswith(_CATEGORIES):
        return False
    # what looks like a path separator: `∕` DIVISION SLASH or `／` FULLWIDTH SOLIDUS are
    # symbols (out already), but U+0338 COMBINING LONG SOLIDUS OVERLAY is a mark
    return not any(word in unicodedata.name(char, "") for word in ("SOLIDUS", "SLASH"))


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def _prefix(name: str) -> str:
    """The start of `name` (NFC) with every character a plain name may not hold made `_`, at
    most PREFIX_BYTES, not cut between a letter and its marks."""
    text = unicodedata.normalize("NFC", name.encode("utf-8", "surrogatepass")
                                 .decode("utf-8", "replace"))
    chars, size = [], 0
    for char in text:
        char = char if _allowed(char) else "_"
        if char == "_" and chars[-1:] == ["_"]:
            continue
        size += len(char.encode("utf-8"))
        if size > PREFIX_BYTES:
            if _is_mark(char):  # its letter would lose its marks: it goes with them
                while chars and _is_mark(chars[-1]):
                    chars.pop()
                chars = chars[:-1]
            break
        chars.append(char)
    kept = "".join(chars).strip(" ._-")
    while kept and _is_mark(kept[0]):
        kept = kept[1:].lstrip(" ._-")
    return kept.rstrip(" ._-")
