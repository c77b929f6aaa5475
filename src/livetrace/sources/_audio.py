"""AudioSource: a sound card input through PortAudio (python-sounddevice).

PortAudio calls :meth:`AudioSource._callback` on its own audio thread for every block; the
callback only copies the block into a bounded queue this source owns and counts problems.
``acquire()`` (the stream's acquisition thread) takes blocks from that queue.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from numpy.typing import NDArray

from .._errors import ConfigurationError, SourceUnavailableError, require
from .._protocols import Block, RealtimeSource, SourceInfo
from ._checks import check_channels, default_names
from ._polled import POLL_INTERVAL
from ._uri import ParsedURI, to_int

__all__ = ["AudioSource", "from_uri"]

_DTYPES = ("float32", "int32", "int16", "int8", "uint8")


class AudioSource(RealtimeSource):
    """Samples from a sound card input (any PortAudio device).

    Args:
        device: PortAudio device index or (part of a) name; None = the default input.
        sample_rate, channels, dtype: the capture format (dtype one of float32, int32,
            int16, int8, uint8; integer formats are full-scale ADC counts).
        blocksize: frames per callback (0 lets PortAudio choose, variable).
        latency: PortAudio's suggested latency, seconds or ``"low"``/``"high"``.
        queue_blocks: blocks the queue between the audio thread and ``acquire()`` holds.

    Nothing is lost silently: when PortAudio reports ``input_overflow`` (the driver
    discarded input before a block) or the queue is full (the consumer is too slow; the new
    block is dropped), the loss is counted in :meth:`health` (``input_overflows``,
    ``dropped_blocks``, ``dropped_frames``) and the next block delivered comes as
    ``Block(data, discontinuity=True)``, which the stream shows as
    ``chunk.metadata.discontinuity``. A block delivered after ``stop()``/``start()`` is
    flagged the same way.

    Threads: the callback runs on PortAudio's audio thread; ``stop()`` stops and closes the
    PortAudio stream (which joins that thread) and makes ``acquire()`` return within 50 ms.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        sample_rate: float = 48000,
        channels: int = 1,
        dtype: str = "float32",
        blocksize: int = 1024,
        latency: float | str | None = None,
        queue_blocks: int = 256,
        channel_names: tuple[str, ...] | None = None,
    ) -> None:
        try:
            rate_ok = float(sample_rate) > 0
        except (TypeError, ValueError):
            rate_ok = False
        if not rate_ok:
            raise ConfigurationError(
                f"AudioSource: sample_rate must be positive, got {sample_rate!r}"
            )
        check_channels("AudioSource", channels)
        if str(dtype) not in _DTYPES:
            raise ConfigurationError(
                f"AudioSource: dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}"
            )
        if blocksize < 0 or queue_blocks < 1:
            raise ConfigurationError(
                f"AudioSource: blocksize must be >= 0 and queue_blocks >= 1, got "
                f"{blocksize!r}, {queue_blocks!r}"
            )
        if isinstance(latency, str) and latency not in ("low", "high"):
            raise ConfigurationError(
                f"AudioSource: latency must be seconds, 'low' or 'high', got {latency!r}"
            )
        self.device = device
        self.sample_rate = float(sample_rate)
        self.channels = channels
        self.dtype = str(dtype)
        self.blocksize = int(blocksize)
        self.latency = latency
        self.channel_names = default_names(channel_names, channels)
        self._queue: queue.Queue[tuple[NDArray[Any], bool]] = queue.Queue(queue_blocks)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stream: Any = None
        self._started = 0
        self._disc_next = False  # written only by the audio thread (and start())
        self._blocks = 0
        self._frames = 0
        self._overflows = 0
        self._dropped_blocks = 0
        self._dropped_frames = 0
        self._other_status = 0
        self._last_status = ""

    @property
    def info(self) -> SourceInfo:
        name = "default" if self.device is None else str(self.device)
        return self._calibrated(
            SourceInfo(
                sample_rate=self.sample_rate,
                dtype=self.dtype,
                n_channels=self.channels,
                channel_names=self.channel_names,
                finite=False,
                backpressure=True,  # PortAudio input overflows are counted and flagged
                description=f"audio:{name}?sample_rate={self.sample_rate:g}&channels={self.channels}"
                f"&dtype={self.dtype}",
            )
        )

    def health(self) -> dict[str, Any]:
        """Counters: ``running``, ``blocks``, ``frames`` (captured), ``input_overflows``
        (PortAudio's flag), ``dropped_blocks``/``dropped_frames`` (queue full), ``queued``
        (blocks waiting), ``other_status`` (other callback flags) and ``last_status``."""
        return {
            "running": self._stream is not None,
            "blocks": self._blocks,
            "frames": self._frames,
            "input_overflows": self._overflows,
            "dropped_blocks": self._dropped_blocks,
            "dropped_frames": self._dropped_frames,
            "queued": self._queue.qsize(),
            "other_status": self._other_status,
            "last_status": self._last_status,
        }

    # ------------------------------------------------------------------ audio thread
    def _callback(self, indata: NDArray[Any], frames: int, time: Any, status: Any) -> None:
        """PortAudio's callback (audio thread): copy the block into the queue, count losses."""
        self._blocks += 1
        self._frames += frames
        if status:
            self._last_status = str(status)
            if getattr(status, "input_overflow", False):
                self._overflows += 1
                self._disc_next = True
            else:
                self._other_status += 1
        data = indata[:, 0].copy() if self.channels == 1 else indata.copy()
        try:
            self._queue.put_nowait((data, self._disc_next))
        except queue.Full:
            self._dropped_blocks += 1
            self._dropped_frames += frames
            self._disc_next = True
            return
        self._disc_next = False

    # ------------------------------------------------------------------ lifecycle
    def _open_stream(self) -> Any:
        """Create and start the PortAudio input stream (tests replace this)."""
        sd: Any = require("sounddevice", "audio")
        try:
            stream = sd.InputStream(
                device=self.device,
                samplerate=self.sample_rate,
                channels=self.channels,
                dtype=self.dtype,
                blocksize=self.blocksize,
                latency=self.latency,
                callback=self._callback,
            )
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            name = "the default input" if self.device is None else repr(self.device)
            raise SourceUnavailableError(
                f"AudioSource: cannot open {name} ({self.channels} ch, "
                f"{self.sample_rate:g} Hz, {self.dtype}): {exc}"
            ) from exc
        return stream

    def start(self) -> None:
        """Open and start the input stream; SourceUnavailableError names the device."""
        with self._lock:
            self._stop.clear()
            if self._stream is not None:
                return
            if self._started:
                self._disc_next = True
            self._stream = self._open_stream()
            self._started += 1

    def stop(self) -> None:
        """Stop and close the input stream (joins the audio thread); blocks already queued
        stay queued and are delivered after a restart."""
        self._stop.set()
        with self._lock:
            stream, self._stream = self._stream, None
            if stream is not None:
                stream.stop()
                stream.close()

    def acquire(self) -> NDArray[Any] | Block | None:
        """The next captured block (waits for it); None once stopped."""
        while not self._stop.is_set():
            try:
                data, disc = self._queue.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                continue
            return Block(data, discontinuity=True) if disc else data
        return None

    def __repr__(self) -> str:
        return (
            f"AudioSource({self.device!r}, sample_rate={self.sample_rate:g}, "
            f"channels={self.channels}, dtype={self.dtype!r})"
        )


def _device(target: str) -> int | str | None:
    if target in ("", "default"):
        return None
    return int(target) if target.isdigit() else target


def _latency(text: str) -> float | str:
    return text if text in ("low", "high") else float(text)


def from_uri(parsed: ParsedURI) -> AudioSource:
    """``audio:DEVICE?sample_rate=48000&channels=1&dtype=float32&blocksize=1024&latency=..
    &queue_blocks=256``; DEVICE is ``default``, an index or (part of) a name."""
    p = parsed
    no_latency: float | str | None = None
    return AudioSource(
        _device(p.target),
        sample_rate=p.take("sample_rate", float, 48000.0, aliases=("rate", "fs")),
        channels=p.take("channels", to_int, 1, aliases=("n_channels",)),
        dtype=p.take("dtype", str, "float32"),
        blocksize=p.take("blocksize", to_int, 1024),
        latency=p.take("latency", _latency, no_latency),
        queue_blocks=p.take("queue_blocks", to_int, 256),
    )
