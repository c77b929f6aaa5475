"""The source protocol: :class:`RealtimeSource` (the seed's base class), :class:`SourceInfo`
and :class:`Block`.

A source is anything with ``acquire()`` returning the next samples; ``start()``/``stop()`` are
optional. The contract the stream relies on:

- ``acquire()`` blocks until it has samples and returns them: a numpy array (1-D for one
  channel, ``(n, n_channels)`` for several), or a :class:`Block` that also says where the
  samples sit in the source's own numbering (a jump forward is a counted gap) or that samples
  may be missing before them. It may return ``None`` or an empty array when nothing came.
- A finite source raises :class:`~livetrace.EndOfStream` when it has no more data.
- Any other exception is a failure: the stream records it and retries by its policy.
- ``stop()`` is called from another thread and must make a blocked ``acquire()`` return
  within about 0.1 s (returning ``None`` is fine). ``start()`` after ``stop()`` resumes.
- ``info`` describes the samples (rate, dtype, channels...), so a stream can be built from the
  source alone: ``RealtimeStream.from_source(src)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .._result import ResultMapping

__all__ = ["Block", "RealtimeSource", "SourceInfo"]


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
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate!r}")
        if self.n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {self.n_channels!r}")
        np.dtype(self.dtype)  # raises TypeError for a bad name
        if not self.channel_names:
            object.__setattr__(
                self, "channel_names", tuple(f"ch{i}" for i in range(self.n_channels))
            )
        if not self.units:
            object.__setattr__(self, "units", ("",) * self.n_channels)
        for name in ("channel_names", "units"):
            value = getattr(self, name)
            if len(value) != self.n_channels:
                raise ValueError(
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

    def health(self) -> dict[str, Any]:
        """Source-specific counters (malformed lines, reconnects...). Default: none."""
        return {}

    def __enter__(self) -> RealtimeSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
