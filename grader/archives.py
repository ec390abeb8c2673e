"""Unpacking an archive a student submitted (`.zip`, `.tar`, `.tar.gz`, `.tgz`), safely.

Archives come from students and LMS downloads: hostile until proven otherwise. Read with the
standard library (zipfile, tarfile, gzip) and never with `extractall`:

- the archive itself must be a regular file, opened without blocking (a named pipe called
  `submission.zip` must not stall a batch) and of a bounded size;
- a member is written only when the caller wants it (code files, archives one level down),
  under a path of our own making (`INTO/<n>/<its base name>`), so no name can point outside;
  its name is still checked (absolute, `..`, drive letters) and refused names are listed;
- only regular files are written: links, devices and FIFOs in a tar are listed, never made
  (tarfile's `data_filter` is asked as well where Python has it);
- sizes are bounded twice: the size an entry declares, and the bytes actually produced
  while writing it (a zip bomb can lie about the first); a compressed tar is read through
  once, and that stream is bounded too; the number of entries is bounded;
- `__MACOSX/` (macOS metadata), hidden files and folders and `__pycache__` are left out and
  listed, like the hidden files of a student's folder.

Whatever the archive holds, `unpack` returns a list of `Member`s (written or left out, with
the reason) or raises `ArchiveRefused` with a reason a student can act on.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
MAX_ARCHIVE_BYTES = 100 * 2 ** 20  #: the archive file itself
MAX_MEMBERS = 2000  #: entries of one archive (files, folders and links)
MAX_MEMBER_BYTES = 32 * 2 ** 20  #: one file written (a notebook with its figures)
MAX_STUDENT_BYTES = 64 * 2 ** 20  #: everything written for one student, all archives together
MAX_TAR_STREAM_BYTES = 128 * 2 ** 20  #: a compressed tar once decompressed (read to the end)
MAX_ZIP_DIRECTORY_BYTES = 2 ** 20  #: a zip's central directory, all read into memory at once
MAX_ARCHIVES = 20  #: archives unpacked for one student
MAX_NAME_PARTS = 32  #: folders deep inside an archive
_CHUNK = 1 << 16

_DRIVE = re.compile(r"^[A-Za-z]:")
_LEFT_OUT = {"__MACOSX": "macOS metadata folder, ignored", "__pycache__": "cache folder, ignored"}


class ArchiveRefused(Exception):
    """The archive as a whole cannot be used; `str()` says why, for the student."""


@dataclass
class Member:
    """One entry of an archive: `name` is its path inside ('/'-separated); `path` is where
    it was written, or None when it was left out: `problem` then says why, unless the caller
    did not want it; `ignored` marks hidden files and metadata (`__MACOSX/`)."""

    name: str
    path: Path | None = None
    problem: str | None = None
    ignored: bool = False


class Budget:
    """What may still be unpacked for one student, shared by all of their archives."""

    def __init__(self):
        self.bytes_left, self.archives_left = MAX_STUDENT_BYTES, MAX_ARCHIVES

    def take(self, size: int) -> bool:
        if size > self.bytes_left:
            return False
        self.bytes_left -= size
        return True


def archive_suffix(name: str) -> str | None:
    """'.zip', '.tar.gz', '.tgz' or '.tar' when `name` is an archive we open, else None."""
    lower = name.lower()
    return next((s for s in ARCHIVE_SUFFIXES if lower.endswith(s) and len(lower) > len(s)), None)


def unpack(archive: Path, into: Path, wanted, budget: Budget) -> list[Member]:
    """Every entry of `archive`, the ones `wanted(base_name)` accepts written below `into`
    (a private folder of the caller's, which must exist).

    Raises ArchiveRefused when the archive cannot be read at all: not a regular file, too
    large, damaged, too many entries, a decompressed stream beyond its bound, or the
    student's budget of archives spent."""
    suffix = archive_suffix(archive.name)
    if suffix is None:
        raise ArchiveRefused(f"{archive.name} is not a .zip, .tar, .tar.gz or .tgz archive")
    if budget.archives_left <= 0:
        raise ArchiveRefused(f"more than {MAX_ARCHIVES} archives: the others were not opened")
    budget.archives_left -= 1
    with open_regular(archive, MAX_ARCHIVE_BYTES) as fh:
        try:
            if suffix == ".zip":
                return _unpack_zip(fh, into, wanted, budget)
            return _unpack_tar(fh, into, wanted, budget, compressed=suffix != ".tar")
        except ArchiveRefused:
            raise
        except Exception as exc:  # zipfile, tarfile, zlib and gzip raise many kinds on a damaged file
            raise ArchiveRefused(f"it is damaged, or not really a {suffix} file "
                                 f"({type(exc).__name__}: {str(exc)[:100]})") from None


def open_regular(path: Path, max_bytes: int):
    """`path` opened for reading in binary, only if it is a regular file (not a link, a
    named pipe, a device or a socket: opened without blocking, then checked with fstat) of
    at most `max_bytes`. Raises ArchiveRefused saying what it is instead."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ArchiveRefused(f"cannot read it ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ArchiveRefused(f"it is a {file_kind(info.st_mode)}, not a regular file")
    if info.st_size > max_bytes:
        os.close(fd)
        raise ArchiveRefused(f"it is {_mb(info.st_size)}, more than the {_mb(max_bytes)} "
                             "allowed")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def file_kind(mode: int) -> str:
    """What an `st_mode` is, in words: 'named pipe (FIFO)', 'symbolic link', …"""
    for test, name in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "named pipe (FIFO)"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


# -- the two formats -------------------------------------------------------------------------

def _unpack_zip(fh, into: Path, wanted, budget: Budget) -> list[Member]:
    _check_zip_directory(fh)
    with zipfile.ZipFile(fh) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ArchiveRefused(f"it holds {len(infos)} entries, more than the {MAX_MEMBERS} "
                                 "allowed")
        members, ignored, writer = [], set(), _Writer(into, budget)
        for info in infos:
            if info.is_dir():
                continue
            member, parts = _checked(info.filename)
            if _listed_already(member, ignored):
                continue
            mode = info.external_attr >> 16  # Unix mode; many writers leave out its file type
            if member.problem is None and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                member.problem = f"a {file_kind(mode)} in the archive, not extracted"
            elif member.problem is None and info.flag_bits & 0x1:
                member.problem = "encrypted (password-protected), not extracted"
            if member.problem is None and wanted(parts[-1]):
                writer.write(member, parts[-1], info.file_size, lambda: zf.open(info))
            members.append(member)
        return members


def _unpack_tar(fh, into: Path, wanted, budget: Budget, compressed: bool) -> list[Member]:
    import gzip

    # read as a stream, through a counter: listing a compressed tar decompresses all of it
    stream = _Bounded(gzip.GzipFile(fileobj=fh, mode="rb") if compressed else fh,
                      MAX_TAR_STREAM_BYTES)
    members, ignored, writer = [], set(), _Writer(into, budget)
    data_filter = getattr(tarfile, "data_filter", None)  # Python 3.12, 3.11.4 and later
    with tarfile.open(fileobj=stream, mode="r|") as tf:
        for count, info in enumerate(tf, 1):
            if count > MAX_MEMBERS:
                raise ArchiveRefused(f"it holds more than the {MAX_MEMBERS} entries allowed")
            if info.isdir():
                continue
            member, parts = _checked(info.name)
            if _listed_already(member, ignored):
                continue
            if member.problem is None and not info.isreg():
                member.problem = f"a {_tar_kind(info)} in the archive, not extracted"
            if member.problem is None and data_filter is not None:
                try:
                    data_filter(info, str(into))
                except tarfile.FilterError as exc:
                    member.problem = f"refused by tarfile's safety filter ({exc}), not extracted"
            if member.problem is None and wanted(parts[-1]):
                writer.write(member, parts[-1], info.size, lambda: tf.extractfile(info))
            members.append(member)
    return members


def _check_zip_directory(fh) -> None:
    """Refuse a zip whose central directory (which zipfile reads whole, one object per
    entry) is too large, before zipfile reads it: from the end records, ZIP64 included
    (PKWARE APPNOTE 4.3.14-4.3.16)."""
    size = fh.seek(0, os.SEEK_END)
    tail_start = max(0, size - (22 + 0xFFFF + 20))
    fh.seek(tail_start)
    tail = fh.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) < end + 22:
        return  # zipfile says what is wrong
    entries, directory = struct.unpack("<HI", tail[end + 10:end + 16])
    locator = end - 20
    if locator >= 0 and tail[locator:locator + 4] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", tail[locator + 8:locator + 16])
        fh.seek(offset)
        record = fh.read(56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            entries64, directory64 = struct.unpack("<QQ", record[32:48])
            entries, directory = max(entries, entries64), max(directory, directory64)
    fh.seek(0)
    if entries > MAX_MEMBERS:
        raise ArchiveRefused(f"it holds {entries} entries, more than the {MAX_MEMBERS} allowed")
    if directory > MAX_ZIP_DIRECTORY_BYTES:
        raise ArchiveRefused(f"its list of entries takes {_mb(directory)}, more than "
                             f"{_mb(MAX_ZIP_DIRECTORY_BYTES)}")


def _tar_kind(info) -> str:
    if info.issym():
        return "symbolic link"
    if info.islnk():
        return "hard link"
    if info.isfifo():
        return "named pipe (FIFO)"
    if info.ischr() or info.isblk():
        return "device"
    return "special entry"


def _listed_already(member: Member, folders: set) -> bool:
    """An ignored folder (`__MACOSX/`) is listed once: True for its other entries."""
    if not (member.ignored and member.name.endswith("/")):
        return False
    if member.name in folders:
        return True
    folders.add(member.name)
    return False


def _checked(name: str) -> tuple[Member, list]:
    """The member for an entry's name, with a problem when the name is unsafe or left out."""
    text = name.replace("\\", "/")  # zips made on Windows may use either separator
    parts = [p for p in text.split("/") if p not in ("", ".")]
    member = Member("/".join(parts) if parts and ".." not in parts else text)
    if text.startswith("/") or _DRIVE.match(text):
        member.name, member.problem = text, "absolute path, not extracted"
    elif ".." in parts:
        member.problem = "path that leaves the archive ('..'), not extracted"
    elif not text.isprintable():  # newlines, escapes: a name that could forge a report line
        member.name = text.encode("unicode_escape").decode("ascii")
        member.problem = "name with control characters, not extracted"
    elif not parts or len(parts) > MAX_NAME_PARTS or \
            any(len(p.encode("utf-8", "replace")) > 255 for p in parts):
        member.problem = "unusable name, not extracted"
    else:
        at = next((i for i, p in enumerate(parts) if p in _LEFT_OUT or p.startswith(".")), None)
        if at is not None:  # a folder is listed once, as `folder/`, whatever it holds
            member.ignored, folder = True, at < len(parts) - 1
            member.name = "/".join(parts[:at + 1]) + ("/" if folder else "")
            member.problem = _LEFT_OUT.get(parts[at]) or (
                "hidden folder, ignored" if folder else "hidden file, ignored")
    return member, parts


class _Writer:
    """Writes wanted members to INTO/<n>/<base name>, counting what is really produced."""

    def __init__(self, into: Path, budget: Budget):
        self.into, self.budget, self.count = into, budget, 0

    def write(self, member: Member, base: str, declared: int, open_member):
        if declared > MAX_MEMBER_BYTES:
            member.problem = f"{_mb(declared)} once unpacked, more than {_mb(MAX_MEMBER_BYTES)}"
            return
        if not self.budget.take(declared):
            member.problem = (f"not extracted: this student's archives hold more than "
                              f"{_mb(MAX_STUDENT_BYTES)} of files to grade")
            return
        self.count += 1
        folder = self.into / str(self.count)
        folder.mkdir(mode=0o700)
        target = folder / base
        try:
            written = _copy(open_member, target, declared)
        except ArchiveRefused:
            raise  # the stream of a tar went past its bound: the whole archive is refused
        except Exception as exc:  # this entry only: encrypted, an unknown compression, bad CRC
            target.unlink(missing_ok=True)
            member.problem = f"could not be extracted ({type(exc).__name__}: {str(exc)[:80]})"
            return
        if written != declared:
            target.unlink()
            member.problem = ("its size is not the one the archive declares (damaged or "
                              "forged), not extracted")
            return
        member.path = target


def _copy(open_member, target: Path, declared: int) -> int:
    """Bytes the member produced, at most `declared` + 1 (the rest is never read)."""
    written = 0
    with open_member() as source, open(target, "xb") as out:
        while chunk := source.read(min(_CHUNK, declared - written + 1)):
            written += len(chunk)
            if written > declared:  # the header lied: a zip bomb, or a damaged archive
                break
            out.write(chunk)
    return written


class _Bounded:
    """A read-only stream that refuses to produce more than `limit` bytes."""

    def __init__(self, raw, limit: int):
        self.raw, self.left, self.limit = raw, limit, limit

    def read(self, size: int = -1) -> bytes:
        want = self.left + 1 if size is None or size < 0 else min(size, self.left + 1)
        data = self.raw.read(want)
        self.left -= len(data)
        if self.left < 0:
            raise ArchiveRefused(f"more than {_mb(self.limit)} once decompressed")
        return data


def _mb(size: int) -> str:
    return f"{size / 2 ** 20:.0f} MB" if size >= 2 ** 20 else f"{size} bytes"
