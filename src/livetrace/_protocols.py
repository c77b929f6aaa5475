"""The contracts a plug-in implements: sources, analysers, transforms and sinks.

This module is the one place to read before writing a plug-in. It holds the description of a
stream (:class:`SourceInfo`), the position-carrying return value of a source (:class:`Block`),
the seed's source base class (:class:`RealtimeSource`) and the protocols the stream calls.

Who calls what, on which thread
-------------------------------
A :class:`~livetrace.RealtimeStream` owns one *acquisition thread* and is read by one
*consumer thread* (the one iterating the stream or calling ``run()``).

**Source** (acquisition thread)
    ``acquire()`` blocks until it has samples and returns a numpy array (1-D for one channel,
    ``(n, n_channels)`` for several), a :class:`Block` (samples plus their absolute position
    or a possible loss before them), or ``None``/an empty array when nothing came. A finite
    source raises :class:`~livetrace.EndOfStream` at its end; any other exception is a
    failure that the stream records and retries by its :class:`~livetrace.RetryPolicy`, and
    when the policy gives up the consumer receives :class:`~livetrace.SourceError` chained to
    it. ``start()`` (from the thread calling ``stream.start()``) opens the device and may raise
    :class:`~livetrace.SourceUnavailableError`. ``stop()`` is called from any thread and must
    make a blocked ``acquire()`` return within about 0.1 s; ``start()`` after ``stop()``
    resumes. ``info`` (any thread) describes the samples, so a stream can be built from the
    source alone; ``health()`` (any thread, must not block) returns the source's counters.

**Transform** (consumer thread)
    ``process(chunk) -> chunk`` maps every delivered chunk to a new one (a filter, a
    decimator); it may keep state across chunks and must give the same output however the
    input was chunked. ``reset()`` restores the fresh state. Must not block.

**Analyzer** (consumer thread)
    ``update(chunk)`` consumes every delivered chunk, ``result`` is its latest frozen result
    (read from the consumer thread, or from another thread when the analyser documents it),
    ``reset()`` restores the fresh state. Optional: ``name`` (its key in ``chunk.results``)
    and ``attach(info)``, called once with the stream's :class:`SourceInfo` when it is added.
    Exceptions propagate to the consumer. Must not block.

**Sink** (consumer thread)
    ``open(info)`` when the stream starts, ``write(chunk)`` for every delivered chunk, in
    order, and ``close()`` when the stream stops or ends (never in the middle of a ``write``).
    When samples were lost after the last delivered chunk, a sink also receives one empty
    chunk at the end whose ``metadata.gap`` is that loss. ``write`` may block only as long as
    the sink needs to store the chunk (a live view must not wait for its clients). Any
    exception stops the stream, which raises :class:`~livetrace.SinkError` to the consumer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ._errors import ConfigurationError
from ._result import ResultMapping
from ._types import WaveformTrace

__all__ = ["Analyzer", "Block", "RealtimeSource", "Sink", "Source", "SourceInfo", "Transform"]


@dataclass(frozen=True)
class SourceInfo(ResultMapping):
    """What a source delivers.

    ``dtype`` is the numpy dtype name of the arrays ``acquire()`` returns (integer dtypes are
    ADC counts: ``scale``/``offset`` turn them into ``units``). ``finite`` is True when the
    source ends by itself (a file, a program). ``start_time`` is the wall-clock time (POSIX
    seconds) of sample 0 when the source knows it (a recording); None means "when the stream
    starts". ``description`` is a human-readable name, e.g. the URI.

    ``backpressure`` is True when the source can be made to wait (``acquire()`` not called for
    a while) without losing samples unseen: files, pipes, TCP, simulators, and devices that
    count their own overflows. ``RealtimeStream.from_source`` and the CLI then default to
    ``overflow="block"`` (lossless); sources that would lose data silently upstream (a serial
    port's kernel buffer, a ZeroMQ SUB socket at its high-water mark) leave it False and get
    ``"overwrite"``, where every drop is counted.
    """

    sample_rate: float
    dtype: str = "float64"
    n_channels: int = 1
    channel_names: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    finite: bool = False
    description: str = ""
    start_time: float | None = None
    scale: float | None = None
    offset: float | None = None
    backpressure: bool = False

    def __post_init__(self) -> None:
        if not self.sample_rate > 0:
            raise ConfigurationError(f"sample_rate must be positive, got {self.sample_rate!r}")
        if self.n_channels < 1:
            raise ConfigurationError(f"n_channels must be >= 1, got {self.n_channels!r}")
        try:
            np.dtype(self.dtype)
        except TypeError as exc:
            raise ConfigurationError(
                f"dtype must be a numpy dtype name such as 'float32' or 'int16', got {self.dtype!r}"
            ) from exc
        if not self.channel_names:
            object.__setattr__(
                self, "channel_names", tuple(f"ch{i}" for i in range(self.n_channels))
            )
        if not self.units:
            object.__setattr__(self, "units", ("",) * self.n_channels)
        for name in ("channel_names", "units"):
            value = getattr(self, name)
            if len(value) != self.n_channels:
                raise ConfigurationError(
                    f"{name} must have {self.n_channels} entries (one per channel), got {value!r}"
                )


class Block(NamedTuple):
    """Samples returned by ``acquire()`` together with their position.

    ``start_index`` is the absolute index of ``data[0]`` in the source's numbering (None: right
    after the previous samples). ``discontinuity=True`` says samples may be missing just before
    ``data`` in an unknown amount (e.g. a reconnect).
    """

    data: NDArray[Any]
    start_index: int | None = None
    discontinuity: bool = False


class RealtimeSource:
    """Base class for sources; subclass it and implement :meth:`acquire`.

    Example:
        >>> import numpy as np
        >>> from livetrace import RealtimeSource
        >>> class Counter(RealtimeSource):
        ...     def __init__(self):
        ...         self.n = 0
        ...     def acquire(self):
        ...         self.n += 4
        ...         return np.arange(self.n - 4, self.n, dtype=float)
        >>> Counter().acquire()
        array([0., 1., 2., 3.])
    """

    def acquire(self) -> NDArray[Any] | Block | None:
        """Return the next samples (blocking until there are some); see the module docs."""
        raise NotImplementedError("Subclasses must implement acquire()")

    def start(self) -> None:
        """Prepare to acquire (open the device, connect...). Default: nothing."""

    def stop(self) -> None:
        """Stop acquiring and make a blocked ``acquire()`` return soon. Default: nothing."""

    @property
    def info(self) -> SourceInfo | None:
        """What the source delivers, or None when it does not say (seed-style sources)."""
        return None

    _calibration: tuple[float | None, float | None, tuple[str, ...] | None] | None = None
    _uri: str | None = None  # set by open_source: the description that recreates the source

    def calibrate(
        self,
        *,
        scale: float | None = None,
        offset: float | None = None,
        units: str | tuple[str, ...] | None = None,
    ) -> None:
        """Say what the integer samples (ADC counts) of this source mean:
        ``value = counts * scale + offset``, in ``units`` (one string for every channel, or
        one per channel). The built-in sources put it in their :attr:`info`, so a stream
        built with ``RealtimeStream.from_source`` delivers physical values; URIs take it as
        ``scale=``, ``offset=`` and ``unit=``."""
        for name, value in (("scale", scale), ("offset", offset)):
            if value is not None and not np.isfinite(value):
                raise ConfigurationError(f"{name} must be a finite number, got {value!r}")
        names = (units,) if isinstance(units, str) else units
        self._calibration = (scale, offset, None if names is None else tuple(names))

    def _calibrated(self, info: SourceInfo) -> SourceInfo:
        """``info`` with what :meth:`calibrate` said, and described by the URI that opened
        the source, when one did (built-in sources call this)."""
        if self._uri is not None:
            info = dataclasses.replace(info, description=self._uri)
        if self._calibration is None:
            return info
        scale, offset, units = self._calibration
        if (scale is not None or offset is not None) and np.dtype(info.dtype).kind not in "iub":
            raise ConfigurationError(
                f"{info.description or type(self).__name__}: scale/offset apply to integer "
                f"samples (ADC counts), but this source delivers {info.dtype}"
            )
        if units is not None and len(units) == 1 and info.n_channels > 1:
            units = units * info.n_channels
        return dataclasses.replace(
            info,
            scale=info.scale if scale is None else float(scale),
            offset=info.offset if offset is None else float(offset),
            units=info.units if units is None else units,
        )

    def health(self) -> dict[str, Any]:
        """Source-specific counters (malformed lines, reconnects...). Default: none."""
        return {}

    def __enter__(self) -> RealtimeSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@runtime_checkable
class Source(Protocol):
    """What the stream needs of a source (see the module docs for the threading contract).

    :class:`RealtimeSource` implements the optional parts; any object with these members
    works.
    """

    def acquire(self) -> NDArray[Any] | Block | None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def info(self) -> SourceInfo | None: ...

    def health(self) -> dict[str, Any]: ...


@runtime_checkable
class Analyzer(Protocol):
    """What the stream needs of an analyser: ``update(chunk)``, ``reset()`` and ``result``.

    Optional: ``name`` (key in ``chunk.results``; default: the class name in snake case) and
    ``attach(info)``, called with the stream's :class:`SourceInfo` when the analyser is added
    (to take the sample rate and channel count from the stream). Called in the consumer thread.
    """

    def update(self, chunk: WaveformTrace) -> None: ...

    def reset(self) -> None: ...

    @property
    def result(self) -> Any: ...


@runtime_checkable
class Transform(Protocol):
    """A chunk-to-chunk processor (e.g. a stateful filter): ``process(chunk) -> chunk``.

    Optional: ``attach(info)`` as for analysers, and ``output_info(info) -> SourceInfo``
    when the chunks it delivers differ from those it takes (a decimator's rate): analysers,
    later transforms and sinks are then described by it. Called in the consumer thread.
    """

    def process(self, chunk: WaveformTrace) -> WaveformTrace: ...

    def reset(self) -> None: ...


@runtime_checkable
class Sink(Protocol):
    """Where delivered chunks go (recorder, publisher, live view).

    ``open(info)`` is called by ``start()`` with the stream's description, ``write(chunk)`` for
    every delivered chunk in the consumer thread, ``close()`` when the stream stops or ends.
    When samples were lost after the last delivered chunk, at the end of the stream a sink also
    receives one empty chunk whose ``metadata.gap`` is that loss (positioned at the end of the
    sequence). An exception from any of them stops the stream and reaches the consumer as
    :class:`~livetrace.SinkError`.
    """

    def open(self, info: SourceInfo) -> None: ...

    def write(self, chunk: WaveformTrace) -> None: ...

    def close(self) -> None: ...
