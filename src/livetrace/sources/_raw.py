"""Decoding raw binary samples from a byte stream that arrives in arbitrary pieces."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError

__all__ = ["RawDecoder", "parse_dtype"]

_BYTEORDER = {"little": "<", "le": "<", "<": "<", "big": ">", "be": ">", ">": ">", "native": "="}


def parse_dtype(dtype: Any, byteorder: str = "little") -> np.dtype[Any]:
    """A numeric numpy dtype with the given byte order (``little``, ``big`` or ``native``)."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ConfigurationError(
            f"dtype must be a numpy numeric type name (int16, float32, complex64...), got {dtype!r}"
        ) from exc
    if dt.kind not in "iufc":
        raise ConfigurationError(f"dtype must be integer, float or complex, got {dt}")
    order = _BYTEORDER.get(str(byteorder).lower())
    if order is None:
        raise ConfigurationError(f"byteorder must be one of little, big, native; got {byteorder!r}")
    out: np.dtype[Any] = dt.newbyteorder(order) if dt.itemsize > 1 else dt
    return out


class RawDecoder:
    """Turns byte pieces into whole samples, carrying partial frames over to the next piece.

    A frame is one sample of every channel (``itemsize * n_channels`` bytes); an odd number of
    bytes in one piece never shifts the stream. ``feed`` returns a 1-D array for one channel,
    ``(n, n_channels)`` otherwise, in native byte order.
    """

    def __init__(self, dtype: Any, n_channels: int = 1, byteorder: str = "little") -> None:
        if n_channels < 1:
            raise ConfigurationError(f"channels must be >= 1, got {n_channels!r}")
        self.dtype = parse_dtype(dtype, byteorder)
        self.n_channels = int(n_channels)
        self.frame = self.dtype.itemsize * self.n_channels
        self._carry = b""

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame waiting for the next piece."""
        return len(self._carry)

    def reset(self) -> None:
        """Forget any partial frame (after a reconnect: the next byte starts a frame)."""
        self._carry = b""

    def feed(self, data: bytes | bytearray | memoryview) -> NDArray[Any]:
        """Decode ``data`` (plus what was carried over); keep the incomplete tail."""
        buf = bytes(data) if not isinstance(data, bytes) else data
        if self._carry:
            buf = self._carry + buf
        usable = len(buf) - len(buf) % self.frame
        self._carry = buf[usable:]
        arr = np.frombuffer(buf, dtype=self.dtype, count=usable // self.dtype.itemsize)
        if not self.dtype.isnative:
            arr = arr.astype(self.dtype.newbyteorder("="))
        if self.n_channels > 1:
            arr = arr.reshape(-1, self.n_channels)
        return arr
