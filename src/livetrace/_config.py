"""Stream configuration: :class:`RealtimeConfig` (the seed's, extended) and :class:`RetryPolicy`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._errors import ConfigurationError

__all__ = [
    "OVERFLOW_POLICIES",
    "SUPPORTED_DTYPES",
    "OverflowPolicy",
    "RealtimeConfig",
    "RetryPolicy",
]

OverflowPolicy = Literal["overwrite", "block", "drop_newest", "error"]
OVERFLOW_POLICIES: tuple[str, ...] = ("overwrite", "block", "drop_newest", "error")
SUPPORTED_DTYPES: tuple[str, ...] = ("float64", "float32", "complex64", "complex128")


@dataclass(frozen=True)
class RetryPolicy:
    """How the stream retries a source whose ``acquire()`` raised.

    After an error the stream waits ``backoff * backoff_factor**k`` seconds (capped at
    ``max_backoff``) before attempt ``k + 1``; after ``max_retries`` consecutive failures it
    gives up and the consumer's iteration raises :class:`~livetrace.SourceError` chained to
    the last error. A successful ``acquire()`` resets the count. ``max_retries=0`` fails on the
    first error.
    """

    max_retries: int = 3
    backoff: float = 0.01
    backoff_factor: float = 2.0
    max_backoff: float = 1.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ConfigurationError(
                f"backoff and max_backoff must be >= 0, got {self.backoff}, {self.max_backoff}"
            )
        if self.backoff_factor < 1:
            raise ConfigurationError(f"backoff_factor must be >= 1, got {self.backoff_factor}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        return float(min(self.max_backoff, self.backoff * self.backoff_factor ** (attempt - 1)))


@dataclass(frozen=True)
class RealtimeConfig:
    """Configuration of a buffer, analyser or stream: a value that cannot change.

    A config is frozen: a running stream can never be changed by mutating an object someone
    else holds. Derive a changed copy with ``dataclasses.replace(config, chunk_size=4096)``.
    ``validate()`` checks every field once (the result is remembered) and raises
    :class:`~livetrace.ConfigurationError`, a ``ValueError``, naming the field.

    The first six fields are the seed's, with its defaults and validation messages. The rest:

    - ``overflow``: what ``write`` does when the ring is full. ``"overwrite"`` keeps the newest
      samples and drops the oldest unread ones; ``"block"`` waits up to ``timeout`` for room
      (lossless backpressure), then raises :class:`~livetrace.BufferOverflowError`;
      ``"drop_newest"`` keeps what is buffered and drops what does not fit; ``"error"`` raises
      :class:`~livetrace.BufferOverflowError` and writes nothing. Every drop is counted and shows
      as a jump in the next chunk's ``start_index``.
    - ``dtype``: sample type in the buffer and in chunks: float64, float32, complex64, complex128.
    - ``n_channels``: with 1, any input shape is flattened (the seed's behaviour); with more,
      input must be ``(n_samples, n_channels)``.
    - ``scale``/``offset``: applied to *integer* input only (ADC counts):
      ``value = counts * scale + offset``. Float input is taken as already in physical units.
    - ``channel_names``/``units``: carried in every chunk's metadata (default ``ch0``, ``ch1``…).
    - ``retry``: what the stream does when the source raises; see :class:`RetryPolicy`.
    - ``max_latency`` (seconds, default 0.1): a stream delivers a chunk shorter than
      ``chunk_size`` when its oldest sample has waited this long, so the tail of a burst never
      waits for more data; positions stay exact. ``None``: chunks are always ``chunk_size``
      long (except at the end of the stream and before a gap).
    - ``idle_timeout`` (seconds, default None): when the source delivers nothing for this
      long, the stream ends with :class:`~livetrace.SourceError` naming the source (a silent
      peer, a hung program). ``health().idle_seconds`` shows the silence either way.

    ``enable_validation=False`` skips the per-write checks of type and shape (for callers that
    guarantee them); a complex array is still refused by a real buffer, by numpy's casting rule.
    """

    sample_rate: float
    buffer_size: int = 10000
    chunk_size: int = 1000
    timeout: float = 10.0
    window_size: int | None = None
    enable_validation: bool = True
    overflow: OverflowPolicy = "overwrite"
    dtype: Any = "float64"
    n_channels: int = 1
    scale: float | None = None
    offset: float | None = None
    channel_names: tuple[str, ...] | None = None
    units: tuple[str, ...] | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_latency: float | None = 0.1
    idle_timeout: float | None = None

    def __post_init__(self) -> None:
        for name in ("channel_names", "units"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))

    def validate(self) -> None:
        """Check every field; :class:`~livetrace.ConfigurationError` (a ``ValueError``) names
        the field, what it got and what it takes. The first successful check is remembered."""
        if self.__dict__.get("_valid"):
            return
        err = ConfigurationError
        if not self.sample_rate > 0:
            raise err("sample_rate must be positive")
        if self.buffer_size <= 0:
            raise err("buffer_size must be positive")
        if self.chunk_size <= 0:
            raise err("chunk_size must be positive")
        if self.chunk_size > self.buffer_size:
            raise err("chunk_size cannot exceed buffer_size")
        if self.timeout <= 0:
            raise err("timeout must be positive")
        if self.window_size is not None and self.window_size <= 0:
            raise err("window_size must be positive")
        if self.overflow not in OVERFLOW_POLICIES:
            raise err(
                f"overflow must be one of {', '.join(OVERFLOW_POLICIES)}; got {self.overflow!r}"
            )
        self.np_dtype  # noqa: B018 - raises ConfigurationError for an unsupported dtype
        if not isinstance(self.n_channels, (int, np.integer)) or self.n_channels < 1:
            raise err(f"n_channels must be a positive integer, got {self.n_channels!r}")
        for name in ("channel_names", "units"):
            value = getattr(self, name)
            if value is not None and len(value) != self.n_channels:
                raise err(
                    f"{name} must have one entry per channel ({self.n_channels}), "
                    f"got {len(value)}: {tuple(value)!r}"
                )
        if self.scale is not None and not np.isfinite(self.scale):
            raise err(f"scale must be a finite number, got {self.scale!r}")
        if self.offset is not None and not np.isfinite(self.offset):
            raise err(f"offset must be a finite number, got {self.offset!r}")
        for name in ("max_latency", "idle_timeout"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0 < value < 1e9):
                raise err(f"{name} must be a number of seconds > 0, or None; got {value!r}")
        if not isinstance(self.retry, RetryPolicy):
            raise err(f"retry must be a RetryPolicy, got {type(self.retry).__name__}")
        object.__setattr__(self, "_valid", True)

    @property
    def np_dtype(self) -> np.dtype[Any]:
        """``dtype`` as a numpy dtype; :class:`~livetrace.ConfigurationError` if it is not one
        of the supported four."""
        cached: np.dtype[Any] | None = self.__dict__.get("_np_dtype")
        if cached is not None:
            return cached
        try:
            dt: np.dtype[Any] = np.dtype(self.dtype)
        except TypeError as exc:
            raise ConfigurationError(
                f"dtype must be one of {', '.join(SUPPORTED_DTYPES)}; got {self.dtype!r}"
            ) from exc
        if dt.name not in SUPPORTED_DTYPES:
            raise ConfigurationError(
                f"dtype must be one of {', '.join(SUPPORTED_DTYPES)}; got {dt.name!r}"
            )
        object.__setattr__(self, "_np_dtype", dt)
        return dt

    @property
    def effective_window(self) -> int:
        """Samples in the statistics window: ``window_size``, or ``buffer_size`` when None."""
        return self.window_size or self.buffer_size

    @property
    def effective_channel_names(self) -> tuple[str, ...]:
        """``channel_names``, or ``("ch0", "ch1", …)``."""
        if self.channel_names is not None:
            return tuple(self.channel_names)
        return tuple(f"ch{i}" for i in range(self.n_channels))

    @property
    def effective_units(self) -> tuple[str, ...]:
        """``units``, or an empty unit string per channel."""
        if self.units is not None:
            return tuple(self.units)
        return ("",) * self.n_channels
