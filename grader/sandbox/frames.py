"""Frames on the channel between the parent and the student process.

A frame is a 12-byte prefix (`GWF1`, the length of a JSON header, the length of the binary
blobs that follow it), the header (UTF-8 JSON object) and the blobs (raw array bytes, lengths
listed in the header's `"blobs"`). The parent reads frames with `FrameReader`, which refuses a
frame beyond its bounds from the prefix alone, before buffering or parsing it: no input can
make the parent hold more than one bounded frame.
"""

from __future__ import annotations

import json
import socket
import struct

MAGIC = b"GWF1"
PREFIX = struct.Struct(">4sII")
MAX_HEADER_BYTES = 2 ** 20  #: JSON of one answer (arrays travel as blobs, not in it)
MAX_BLOB_BYTES = 32 * 2 ** 20  #: arrays of one answer
MAX_REQUEST_BYTES = 64 * 2 ** 20  #: a request from the parent (the source of a file)


class ChannelError(Exception):
    """The peer wrote something that is not a well-formed frame within the bounds."""


def pack(header: dict, blobs=()) -> bytes:
    blobs = list(blobs)
    body = json.dumps({**header, "blobs": [len(b) for b in blobs]},
                      separators=(",", ":")).encode("utf-8")
    return PREFIX.pack(MAGIC, len(body), sum(len(b) for b in blobs)) + body + b"".join(blobs)


class FrameReader:
    """Turns bytes read from the channel into (header, blobs) frames, within bounds."""

    def __init__(self, max_header: int = MAX_HEADER_BYTES, max_blobs: int = MAX_BLOB_BYTES):
        self.max_header, self.max_blobs = max_header, max_blobs
        self._buffer = bytearray()
        self._sizes: tuple[int, int] | None = None
        self.broken: str | None = None  #: what was wrong, once something was
        self.fed = 0  #: bytes fed so far, from the first byte of the channel

    def feed(self, data: bytes) -> tuple[list, str | None]:
        """The frames completed by `data`, each as (header, blobs, end: the offset on the
        channel of the byte after it), and what was wrong with the bytes after them (None if
        nothing): after a bad byte the reader takes nothing more."""
        if self.broken:
            return [], self.broken
        self._buffer += data
        self.fed += len(data)
        frames = []
        try:
            while (frame := self._next()) is not None:
                frames.append(frame)
        except ChannelError as exc:
            self.broken = str(exc)
            self._buffer.clear()
        return frames, self.broken

    def _next(self):
        if self._sizes is None:
            if len(self._buffer) < PREFIX.size:
                return None
            magic, header, blobs = PREFIX.unpack_from(self._buffer)
            if magic != MAGIC:
                raise ChannelError("bytes that are not a frame of the grader's")
            if header > self.max_header or blobs > self.max_blobs:
                raise ChannelError(f"a frame of {header + blobs} bytes, beyond the bound")
            self._sizes = header, blobs
        header_size, blob_size = self._sizes
        end = PREFIX.size + header_size + blob_size
        if len(self._buffer) < end:
            return None
        view = memoryview(self._buffer)  # one copy of each part, no more
        blob_view = view[PREFIX.size + header_size:end]
        try:
            frame = _parse(bytes(view[PREFIX.size:PREFIX.size + header_size]), blob_view)
        finally:
            blob_view.release()
            view.release()
        offset = self.fed - len(self._buffer) + end
        del self._buffer[:end]
        self._sizes = None
        return (*frame, offset)


def _parse(body: bytes, blob_bytes) -> tuple[dict, list]:
    try:
        header = json.loads(body)
    except (ValueError, RecursionError, MemoryError):
        raise ChannelError("a frame whose header is not JSON") from None
    lengths = header.get("blobs") if isinstance(header, dict) else None
    if not isinstance(lengths, list) or not all(type(n) is int and n >= 0 for n in lengths) \
            or sum(lengths) != len(blob_bytes):
        raise ChannelError("a frame whose blobs do not match its header")
    blobs, at = [], 0
    for n in lengths:
        blobs.append(bytes(blob_bytes[at:at + n]))
        at += n
    return header, blobs


# -- the student process's side ------------------------------------------------------------------

def receive(sock: socket.socket) -> tuple[dict, list[int]] | None:
    """Read one request (header, received descriptors) from the parent; None at its end.
    The parent sends the next request only after this one's answer, so one read of up to
    64 KiB takes a whole small request and nothing of another."""
    data, fds, _, _ = socket.recv_fds(sock, 65536, 8)
    buffer = bytearray(data)
    while data and len(buffer) < PREFIX.size:
        data = sock.recv(PREFIX.size - len(buffer))
        buffer += data
    if len(buffer) < PREFIX.size:
        return None
    magic, header_size, blob_size = PREFIX.unpack_from(buffer)
    end = PREFIX.size + header_size + blob_size
    if magic != MAGIC or header_size + blob_size > MAX_REQUEST_BYTES:
        return None
    while len(buffer) < end:
        data = sock.recv(min(end - len(buffer), 2 ** 20))
        if not data:
            return None
        buffer += data
    return json.loads(buffer[PREFIX.size:PREFIX.size + header_size]), fds
