"""GNU Radio's ZeroMQ tag header (``zeromq.*_sink(..., pass_tags=True)``).

With ``pass_tags=True`` every message a GNU Radio ZeroMQ sink sends starts with a header
(``gr::zeromq::gen_tag_header``), in the sender's byte order (little-endian on the usual
machines): ``uint16`` magic ``0x5FF0``, ``uint8`` version ``1``, ``uint64`` absolute offset of
the message's first item, ``uint64`` tag count, then per tag its ``uint64`` absolute offset and
three serialized PMTs (key, value, source id). The items follow.

:class:`TagHeaderParser` strips that header, returns where the items sit in the sender's
numbering (so messages lost by a PUB/SUB link become exact gaps) and keeps the tags:
``rx_time`` (``(uint64 seconds, double fraction)``) as ``(sample_index, POSIX time)`` pairs,
``rx_rate`` and ``rx_freq`` as the latest values, every tag in :attr:`TagHeaderParser.tags`.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Any, NamedTuple

from .._errors import SourceError
from ._pmt import PmtError, parse_pmt

__all__ = ["MAGIC", "Tag", "TagHeaderParser", "has_tag_header", "parse_tag_header"]

MAGIC = b"\xf0\x5f"  # 0x5FF0, little-endian
_VERSION = 1
_FIXED = struct.Struct("<HBQQ")
_TAG_MIN = 8 + 3  # an offset and three one-byte PMTs


class Tag(NamedTuple):
    """A stream tag: absolute item ``offset``, ``key``, decoded ``value``, ``srcid``."""

    offset: int
    key: str
    value: Any
    srcid: Any


def has_tag_header(message: bytes | memoryview) -> bool:
    """True when ``message`` starts with a well-formed version-1 tag header."""
    if bytes(message[:3]) != MAGIC + bytes([_VERSION]):
        return False
    try:
        parse_tag_header(message)
    except ValueError:
        return False
    return True


def parse_tag_header(message: bytes | memoryview) -> tuple[int, list[Tag], int]:
    """``(offset, tags, header_length)`` of a message from a ``pass_tags=True`` sink.

    Raises ``ValueError`` (a :class:`~livetrace.formats._pmt.PmtError` for bad PMTs) when the
    header is not there, has another version, or is cut short; the tag count is checked
    against the message length before anything is decoded.
    """
    if len(message) < _FIXED.size:
        raise ValueError(f"message of {len(message)} bytes is shorter than a tag header")
    magic, version, offset, ntags = _FIXED.unpack_from(bytes(message[: _FIXED.size]))
    if magic != 0x5FF0 or version != _VERSION:
        raise ValueError(
            f"no GNU Radio tag header: expected magic 0x5ff0 version 1, got 0x{magic:04x} "
            f"version {version}"
        )
    if ntags * _TAG_MIN > len(message) - _FIXED.size:
        raise ValueError(f"tag header announces {ntags} tags, more than the message can hold")
    pos = _FIXED.size
    tags: list[Tag] = []
    for _ in range(ntags):
        if pos + 8 > len(message):
            raise PmtError("tag header cut short")
        (toff,) = struct.unpack("<Q", bytes(message[pos : pos + 8]))
        key, pos = parse_pmt(message, pos + 8)
        value, pos = parse_pmt(message, pos)
        srcid, pos = parse_pmt(message, pos)
        tags.append(Tag(toff, str(key), value, srcid))
    return offset, tags, pos


class TagHeaderParser:
    """Strips tag headers from the messages of one ZeroMQ link (see the module docs).

    ``mode``: True (every message has a header), False (none) or None (decide from the first
    message: a well-formed header turns it on). ``keep`` bounds :attr:`tags` (oldest dropped).
    """

    def __init__(self, mode: bool | None, where: str, keep: int = 10_000) -> None:
        self.mode = mode
        self.where = where
        self.tags: deque[Tag] = deque(maxlen=keep)
        self._stamps: deque[tuple[int, float]] = deque(maxlen=keep)
        self.rx_rate: float | None = None
        self.rx_freq: float | None = None
        self.n_tags = 0
        #: added to the sender's offsets to number tags as the stream's samples
        self.base = 0

    def split(self, message: memoryview) -> tuple[memoryview, int | None, list[Tag]]:
        """``(items, offset, tags)``: the message without its header, the sender's absolute
        index of its first item (None when the link carries no headers) and its tags (pass
        them to :meth:`record` once :attr:`base` is set)."""
        if self.mode is None:
            self.mode = has_tag_header(message)
        if not self.mode:
            return message, None, []
        try:
            offset, tags, end = parse_tag_header(message)
        except ValueError as exc:
            raise SourceError(
                f"{self.where}: message of {len(message)} bytes has no valid GNU Radio tag "
                f"header ({exc}); the sender must use pass_tags=True for every message, or "
                "open the source with tags=0 for raw items"
            ) from exc
        return message[end:], offset, tags

    def record(self, tags: list[Tag]) -> None:
        """Keep ``tags``, renumbered by :attr:`base`."""
        for tag in tags:
            self._take(tag._replace(offset=tag.offset + self.base))

    def _take(self, tag: Tag) -> None:
        self.tags.append(tag)
        self.n_tags += 1
        value = tag.value
        if tag.key == "rx_time" and isinstance(value, tuple) and len(value) == 2:
            secs, frac = value
            if isinstance(secs, int) and isinstance(frac, float):
                self._stamps.append((tag.offset, secs + frac))
        elif tag.key == "rx_rate" and isinstance(value, (int, float)):
            self.rx_rate = float(value)
        elif tag.key == "rx_freq" and isinstance(value, (int, float)):
            self.rx_freq = float(value)

    def timestamps(self) -> list[tuple[int, float]]:
        """``(sample_index, POSIX time)`` of every ``rx_time`` tag kept, in the sender's
        item numbering."""
        return list(self._stamps)
