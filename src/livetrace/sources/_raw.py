"""Decoding raw binary samples from a byte stream that arrives in arbitrary pieces."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError
from .._protocols import SourceInfo
from ._uri import ParsedURI

__all__ = [
    "Decoder",
    "RawDecoder",
    "make_decoder",
    "parse_dtype",
    "raw_info",
    "required_rate",
]

_BYTEORDER = {"little": "<", "le": "<", "<": "<", "big": ">", "be": ">", ">": ">", "native": "="}


def parse_dtype(dtype: Any, byteorder: str = "little", *, kinds: str = "iufc") -> np.dtype[Any]:
    """A numeric numpy dtype with the given byte order (``little``, ``big`` or ``native``).

    ``kinds``: the numpy kinds accepted (``"iufc"``: integer, unsigned, float, complex).
    """
    names = [n for n, k in (("integer", "iu"), ("float", "f"), ("complex", "c")) if k[0] in kinds]
    wanted = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ConfigurationError(
            f"dtype must be a numpy numeric type name ({wanted}: int16, float32...), got {dtype!r}"
        ) from exc
    if dt.kind not in kinds:
        raise ConfigurationError(f"dtype must be {wanted}, got {dt}")
    order = _BYTEORDER.get(str(byteorder).lower())
    if order is None:
        raise ConfigurationError(f"byteorder must be one of little, big, native; got {byteorder!r}")
    out: np.dtype[Any] = dt.newbyteorder(order) if dt.itemsize > 1 else dt
    return out


class Decoder(Protocol):
    """Turns a byte stream that arrives in arbitrary pieces into samples.

    One face for raw frames (:class:`RawDecoder`), text lines
    (:class:`~livetrace.sources._text.TextParser`) and ``sigrok-cli`` output
    (:class:`~livetrace.sources._text.SigrokAnalogParser`): ``feed(piece)`` returns the whole
    samples now complete (1-D for one channel, ``(n, n_channels)`` otherwise) and keeps the
    incomplete tail (``pending_bytes``); ``flush()`` decodes what can be decoded of the tail at
    the end of the stream; ``reset()`` forgets the tail (after a reconnect). ``n_channels`` is
    None while a text decoder has not seen its first valid line.
    """

    dtype: np.dtype[Any]

    @property
    def n_channels(self) -> int | None: ...

    @property
    def pending_bytes(self) -> int: ...

    def feed(self, data: bytes | bytearray | memoryview) -> NDArray[Any]: ...

    def flush(self) -> NDArray[Any]: ...

    def reset(self) -> None: ...


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

    def flush(self) -> NDArray[Any]:
        """No samples: an incomplete frame at the end of the stream cannot be decoded (it
        stays counted in :attr:`pending_bytes`)."""
        return self.feed(b"")


def make_decoder(name: str, dtype: Any, channels: int, byteorder: str) -> RawDecoder:
    """A :class:`RawDecoder`; its ConfigurationError (bad dtype or byte order) names ``name``."""
    try:
        return RawDecoder(dtype, channels, byteorder)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{name}: {exc}") from exc


def raw_info(
    where: str,
    sample_rate: float,
    decoder: RawDecoder,
    channel_names: tuple[str, ...],
    extra_query: str = "",
    *,
    backpressure: bool,
) -> SourceInfo:
    """The description of an endless stream of raw samples decoded by ``decoder``; its
    ``description`` is the URI ``where?dtype=..&channels=..&sample_rate=..`` + ``extra_query``.
    ``backpressure``: see :class:`~livetrace.sources.SourceInfo`.
    """
    query = f"dtype={decoder.dtype.name}&channels={decoder.n_channels}&sample_rate={sample_rate:g}"
    return SourceInfo(
        sample_rate=sample_rate,
        dtype=decoder.dtype.newbyteorder("=").name,
        n_channels=decoder.n_channels,
        channel_names=channel_names,
        finite=False,
        description=f"{where}?{query}{extra_query}",
        backpressure=backpressure,
    )


def required_rate(parsed: ParsedURI) -> float:
    """The ``sample_rate`` parameter, which network and serial sources cannot guess."""
    no_rate: float | None = None
    rate = parsed.take("sample_rate", float, no_rate, aliases=("rate", "fs"))
    if rate is None:
        raise ConfigurationError(
            f"{parsed.scheme}: sample_rate is required (samples/s per channel; the "
            f"{parsed.scheme} source cannot know it), e.g. add '&sample_rate=1e6' to "
            f"{parsed.uri!r}"
        )
    return rate
