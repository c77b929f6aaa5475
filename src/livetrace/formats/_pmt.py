"""Decoding GNU Radio's serialized PMTs (``pmt::serialize``) without GNU Radio.

GNU Radio writes polymorphic types (PMTs) as a one-byte type tag followed by big-endian
fields: symbols (``0x02``, a 16-bit length and the bytes), ``int32``/``int64``/``uint64``,
doubles, complex doubles, booleans, null, pairs, vectors, tuples, dictionaries (``0x09``: a
key/value pair followed by the rest of the dictionary, ending with null) and uniform vectors.
:func:`parse_pmt` decodes one value from a buffer and says where it ends. Every length is
checked against the bytes that are left and nesting is limited, so a truncated or hostile
buffer raises :class:`PmtError` instead of reading past its end or allocating without bound.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

__all__ = ["PmtError", "parse_pmt"]

_MAX_DEPTH = 64

# uniform vector element types -> big-endian numpy dtype
_UVEC = {
    0x00: ">u1",
    0x01: ">i1",
    0x02: ">u2",
    0x03: ">i2",
    0x04: ">u4",
    0x05: ">i4",
    0x06: ">u8",
    0x07: ">i8",
    0x08: ">f4",
    0x09: ">f8",
    0x0A: ">c8",
    0x0B: ">c16",
}


class PmtError(ValueError):
    """The bytes are not a well-formed serialized PMT (or are cut short)."""


class _Reader:
    def __init__(self, buf: bytes | memoryview, pos: int) -> None:
        self.buf = buf
        self.pos = pos

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.buf):
            raise PmtError(
                f"serialized PMT cut short: needs {n} byte(s) at offset {self.pos}, "
                f"{len(self.buf) - self.pos} left"
            )
        out = bytes(self.buf[self.pos : end])
        self.pos = end
        return out

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]


def _value(r: _Reader, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise PmtError(f"serialized PMT nested deeper than {_MAX_DEPTH} levels")
    tag = r.unpack(">B")
    if tag == 0x00:
        return True
    if tag == 0x01:
        return False
    if tag == 0x02:
        return r.take(r.unpack(">H")).decode("utf-8", "replace")
    if tag == 0x03:
        return r.unpack(">i")
    if tag == 0x04:
        return r.unpack(">d")
    if tag == 0x05:
        re, im = struct.unpack(">dd", r.take(16))
        return complex(re, im)
    if tag == 0x06:
        return None
    if tag == 0x07:
        return (_value(r, depth + 1), _value(r, depth + 1))
    if tag in (0x08, 0x0C):
        n = r.unpack(">I")
        if n > len(r.buf) - r.pos:  # every element takes at least one byte
            raise PmtError(
                f"serialized PMT {'vector' if tag == 8 else 'tuple'} of {n} items "
                f"cannot fit in the {len(r.buf) - r.pos} bytes left"
            )
        items = [_value(r, depth + 1) for _ in range(n)]
        return items if tag == 0x08 else tuple(items)
    if tag == 0x09:
        out: dict[str, Any] = {}
        while True:  # a dictionary: (key . value) then the rest of the dictionary, or null
            if r.unpack(">B") != 0x07:
                raise PmtError(
                    f"serialized PMT dictionary entry at offset {r.pos - 1} is not a pair"
                )
            key = _value(r, depth + 1)
            out[str(key)] = _value(r, depth + 1)
            nxt = r.unpack(">B")
            if nxt == 0x06:
                return out
            if nxt != 0x09:
                raise PmtError(
                    f"serialized PMT dictionary continues with type 0x{nxt:02x} at offset "
                    f"{r.pos - 1}; expected 0x09 or null"
                )
    if tag == 0x0A:
        etype = r.unpack(">B")
        if etype not in _UVEC:
            raise PmtError(f"serialized PMT uniform vector has unknown element type {etype}")
        n = r.unpack(">I")
        npad = r.unpack(">B")
        r.take(npad)
        dt = np.dtype(_UVEC[etype])
        raw = r.take(n * dt.itemsize)
        return np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("="))
    if tag == 0x0B:
        return r.unpack(">Q")
    if tag == 0x0D:
        return r.unpack(">q")
    raise PmtError(f"unknown serialized PMT type 0x{tag:02x} at offset {r.pos - 1}")


def parse_pmt(buf: bytes | memoryview, pos: int = 0) -> tuple[Any, int]:
    """Decode one serialized PMT starting at ``buf[pos]``; returns ``(value, end)``.

    Values become Python objects: symbols ``str``, integers ``int``, doubles ``float``,
    booleans ``bool``, null ``None``, pairs and tuples ``tuple``, vectors ``list``,
    dictionaries ``dict`` (keys as strings), uniform vectors numpy arrays.

    Example:
        >>> parse_pmt(bytes.fromhex("0c000000020b0000000000000005044000000000000000"))
        ((5, 2.0), 23)
        >>> parse_pmt(bytes.fromhex("0c000000020b000000000000000504400000"))
        Traceback (most recent call last):
        ...
        livetrace.formats._pmt.PmtError: serialized PMT cut short: needs 8 byte(s) ...
    """
    r = _Reader(buf, pos)
    try:
        value = _value(r, 0)
    except RecursionError as exc:  # pragma: no cover - depth is limited well below Python's
        raise PmtError("serialized PMT nested too deeply") from exc
    return value, r.pos
