"""SerialSource: microcontrollers and instruments on a serial port (pyserial).

Text mode parses the lines of numbers such boards print (``"512,498\\r\\n"``, tab or space
separated too) with :class:`~livetrace.sources._text.TextParser`; raw mode decodes fixed-width
binary samples with :class:`~livetrace.sources._raw.RawDecoder`. No thread is started: reads
time out every ``timeout`` seconds so that ``stop()`` is prompt on a silent port.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, SourceError, SourceUnavailableError, require
from .._protocols import Block, SourceInfo
from ._checks import check_rate
from ._polled import PolledSource
from ._raw import Decoder, make_decoder, required_rate
from ._text import TextParser
from ._uri import ParsedURI, to_int

__all__ = ["SerialSource", "from_uri"]

_FORMATS = ("text", "raw")


class SerialSource(PolledSource):
    """Samples from a serial port: text lines of numbers, or raw binary.

    Args:
        port: device path (``/dev/ttyUSB0``, ``/dev/ttyACM0``, ``COM3``) or a pyserial URL.
        sample_rate: samples per second per channel the device sends (required: the port
            does not say).
        baudrate: line speed.
        format: ``"text"`` (one line per sample, values separated by commas, semicolons,
            tabs or spaces; see ``delimiters``) or ``"raw"`` (interleaved fixed-width binary
            frames; ``dtype`` required).
        dtype: sample type; text mode default ``float64`` (an integer dtype makes non-integer
            lines malformed).
        channels: values per line / per frame. In text mode ``None`` takes the count of the
            first valid lines, as the Arduino serial plotter does: asking for :attr:`info`
            before any line arrived opens the port and reads for up to ``probe_timeout``
            seconds (the lines read are delivered by the first ``acquire()``, none is lost).
        byteorder: raw mode byte order.
        timeout: seconds a read waits before looking at the stop flag again.
        delimiters: text mode field separators (``None``: auto, see ``TextParser``).
        probe_timeout: seconds :attr:`info` waits for the first valid line when the channel
            count is not given.

    Malformed text lines (wrong field count, non-numeric, empty field) are skipped and
    counted (:meth:`health`: ``malformed_lines``, ``last_malformed``); they never stop the
    stream. A read error (device unplugged) closes the port and raises
    :class:`~livetrace.SourceError` naming the port; the next ``acquire()`` tries to reopen
    it, so the stream's retry policy decides how long to wait for the device to come back
    (a failed open raises :class:`~livetrace.SourceUnavailableError`). The first samples after a
    reopen (or ``stop()``/``start()``) come as ``Block(discontinuity=True)``, and the partial
    line/frame from before is discarded (``discarded_bytes``).
    """

    def __init__(
        self,
        port: str,
        *,
        sample_rate: float,
        baudrate: int = 115200,
        format: str = "text",
        dtype: Any = None,
        channels: int | None = None,
        byteorder: str = "little",
        timeout: float = 0.05,
        delimiters: str | None = None,
        read_size: int = 1 << 16,
        channel_names: tuple[str, ...] | None = None,
        probe_timeout: float = 5.0,
    ) -> None:
        rate = check_rate("SerialSource", sample_rate)
        if format not in _FORMATS:
            raise ConfigurationError(
                f"SerialSource: format must be 'text' or 'raw', got {format!r}"
            )
        if not isinstance(baudrate, int) or baudrate <= 0:
            raise ConfigurationError(
                f"SerialSource: baudrate must be a positive integer, got {baudrate!r}"
            )
        if channels is not None and (not isinstance(channels, int) or channels < 1):
            raise ConfigurationError(
                f"SerialSource: channels must be an integer >= 1 or None, got {channels!r}"
            )
        if not 0 < timeout <= 0.1:
            raise ConfigurationError(
                f"SerialSource: timeout must be in (0, 0.1] s so that stop() stays prompt, "
                f"got {timeout!r}"
            )
        if format == "raw" and dtype is None:
            raise ConfigurationError(
                "SerialSource: format='raw' needs the sample dtype (e.g. dtype='int16')"
            )
        self.port = port
        self.sample_rate = rate
        self.baudrate = baudrate
        self.format = format
        self.byteorder = byteorder
        self.timeout = float(timeout)
        self.delimiters = delimiters
        self.read_size = int(read_size)
        self._channels = channels
        self._channel_names = channel_names
        self._dtype = dtype if dtype is not None else "float64"
        self.probe_timeout = float(probe_timeout)
        self._decoder: Decoder
        if format == "raw":
            self._decoder = make_decoder("SerialSource", self._dtype, channels or 1, byteorder)
        else:
            self._decoder = self._new_parser()
        self._probed: list[NDArray[Any]] = []  # samples read while probing the channel count
        self._init_polled()
        self._ser: Any = None
        self._opened = 0
        self._bytes = 0
        self._disconnects = 0
        self._discarded = 0
        self._lines_before = 0  # counters of parsers replaced after a reopen
        self._malformed_before = 0
        self._last_error: str | None = None

    def _new_parser(self) -> TextParser:
        try:
            return TextParser(
                n_channels=self._channels, dtype=self._dtype, delimiters=self.delimiters
            )
        except ConfigurationError as exc:
            raise ConfigurationError(f"SerialSource: {exc}") from exc

    # ------------------------------------------------------------------ description
    @property
    def n_channels(self) -> int | None:
        """Channels per sample: configured, detected from the first text line, or None."""
        if self._channels is not None:
            return self._channels
        return self._decoder.n_channels

    @property
    def info(self) -> SourceInfo:
        n = self.n_channels
        if n is None:
            n = self._probe_channels()
        dtype = self._decoder.dtype.newbyteorder("=").name
        return self._calibrated(
            SourceInfo(
                sample_rate=self.sample_rate,
                dtype=str(dtype),
                n_channels=n,
                channel_names=tuple(self._channel_names or ()),
                finite=False,
                clock="host",
                description=f"serial://{self.port}?baudrate={self.baudrate}&format={self.format}"
                f"&sample_rate={self.sample_rate:g}",
            )
        )

    def health(self) -> dict[str, Any]:
        """Counters: ``open``, ``bytes_received``, ``samples_received``, ``lines``,
        ``malformed_lines``, ``last_malformed`` (text mode), ``disconnects``,
        ``discarded_bytes`` (partial line/frame lost at a disconnect or stop),
        ``pending_bytes`` and ``last_error``."""
        p = self._decoder if isinstance(self._decoder, TextParser) else None
        last = p.last_malformed if p is not None else None
        pending = self._decoder.pending_bytes
        return {
            "open": self._ser is not None,
            "bytes_received": self._bytes,
            "samples_received": self._samples,
            "lines": self._lines_before + (p.lines if p else 0),
            "malformed_lines": self._malformed_before + (p.malformed if p else 0),
            "last_malformed": None if last is None else last.decode("latin-1"),
            "disconnects": self._disconnects,
            "discarded_bytes": self._discarded,
            "pending_bytes": pending,
            "last_error": self._last_error,
        }

    # ------------------------------------------------------------------ lifecycle
    # start()/stop()/acquire() come from PolledSource: start() opens the port
    # (SourceUnavailableError names it if that fails), stop() makes a blocked acquire()
    # return within ``timeout`` and closes the port.
    def _open(self) -> None:
        if self._ser is not None:
            return
        serial: Any = require("serial", "serial")
        if self.port.startswith("/dev/") and not os.path.exists(self.port):
            self._last_error = "no such port"
            raise SourceUnavailableError(
                f"SerialSource: serial port {self.port!r} does not exist (is the device "
                "plugged in? 'livetrace devices' lists the serial ports)"
            )
        try:
            ser = serial.Serial(self.port, baudrate=self.baudrate, timeout=self.timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            self._last_error = f"cannot open: {exc}"
            raise SourceUnavailableError(
                f"SerialSource: cannot open serial port {self.port!r}: {exc}"
            ) from exc
        self._ser = ser
        if self._opened:
            self._disc_next = True
        self._opened += 1

    def _close(self) -> None:
        ser = self._ser
        if ser is None:
            return
        self._ser = None
        ser.close()
        dec = self._decoder
        self._discarded += dec.pending_bytes
        if isinstance(dec, TextParser):
            self._lines_before += dec.lines
            self._malformed_before += dec.malformed
            parser = self._new_parser()
            parser.n_channels = dec.n_channels
            parser.last_malformed = dec.last_malformed
            self._decoder = parser
        else:
            dec.reset()

    # ------------------------------------------------------------------ acquisition
    def _poll(self) -> NDArray[Any] | Block | None:
        """One read (waits at most ``timeout``); whole samples, or None to poll again.

        Raises :class:`~livetrace.SourceError` when the device goes away mid-read.
        """
        if self._probed:
            data = np.concatenate(self._probed) if len(self._probed) > 1 else self._probed[0]
            self._probed = []
            return self._deliver(data)
        if self._ser is None:
            self._open()
        chunk = self._read()
        if not chunk:
            return None
        self._bytes += len(chunk)
        data = self._decoder.feed(chunk)
        if len(data) == 0:
            return None
        return self._deliver(data)

    def _probe_channels(self) -> int:
        """Open the port and read until the text parser knows the channel count."""
        deadline = time.monotonic() + self.probe_timeout
        with self._io:
            self._open()  # SourceUnavailableError names a port that does not exist
            while self._decoder.n_channels is None:
                if time.monotonic() > deadline:
                    raise SourceUnavailableError(
                        f"SerialSource {self.port}: no valid line of numbers arrived within "
                        f"{self.probe_timeout:g} s, so the channel count is unknown; check "
                        "the baud rate and the device, or pass channels=N"
                    )
                chunk = self._read()
                if chunk:
                    self._bytes += len(chunk)
                    data = self._decoder.feed(chunk)
                    if len(data):
                        self._probed.append(data)
        n = self._decoder.n_channels
        assert n is not None
        # samples parsed before the count was known came out 1-D per line; shape them now
        self._probed = [d.reshape(-1, n) if n > 1 and d.ndim == 1 else d for d in self._probed]
        return n

    def _read(self) -> bytes:
        ser = self._ser
        try:
            waiting = ser.in_waiting
            chunk: bytes = ser.read(min(waiting, self.read_size) if waiting else 1)
            if len(chunk) == 1 and not waiting:
                more = ser.in_waiting
                if more:
                    chunk += ser.read(min(more, self.read_size))
        except (OSError, TypeError) as exc:  # SerialException is an OSError
            self._disconnects += 1
            self._last_error = f"read failed: {exc}"
            self._close()
            raise SourceError(
                f"SerialSource {self.port}: the device stopped answering (unplugged?): {exc}"
            ) from exc
        return chunk

    def __repr__(self) -> str:
        return (
            f"SerialSource({self.port!r}, baudrate={self.baudrate}, format={self.format!r}, "
            f"channels={self.n_channels})"
        )


def from_uri(parsed: ParsedURI) -> SerialSource:
    """``serial:///dev/ttyUSB0?sample_rate=..&baudrate=115200&format=text|raw&dtype=..
    &channels=..&byteorder=little&delimiters=..&timeout=0.05&probe_timeout=5``."""
    port = parsed.target
    if not port:
        raise ConfigurationError(
            f"serial: expected serial:///dev/ttyUSB0 (or serial:COM3), got {parsed.uri!r}"
        )
    p = parsed
    rate = required_rate(p)
    none_str: str | None = None
    none_int: int | None = None
    return SerialSource(
        port,
        sample_rate=rate,
        baudrate=p.take("baudrate", to_int, 115200, aliases=("baud",)),
        format=p.take("format", str, "text"),
        dtype=p.take("dtype", str, none_str),
        channels=p.take("channels", to_int, none_int, aliases=("n_channels",)),
        byteorder=p.take("byteorder", str, "little"),
        timeout=p.take("timeout", float, 0.05),
        delimiters=p.take("delimiters", str, none_str),
        probe_timeout=p.take("probe_timeout", float, 5.0),
    )
