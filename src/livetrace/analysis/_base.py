"""What every analysis object shares: taking chunks apart, the sample-rate rule, noticing
gaps, and the parameter checks.

Contract (see ``docs/architecture.md``): an analyser is constructed with keyword parameters
(validated once), ``update(chunk)`` consumes a :class:`~livetrace.WaveformTrace` or an array,
``result`` is a frozen result object, ``reset()`` restores the fresh state exactly, and
``attach(info)`` (called by the stream) takes the sample rate and channel count from the
stream when they were not given. Results never depend on chunk boundaries.

The sample rate follows one rule for every analyser and transform (:class:`RateResolver`):
the ``sample_rate`` given at construction, else the stream's from ``attach(info)``, else the
first chunk that carries one; a chunk at another rate is refused with
:class:`~livetrace.ConfigurationError`.
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple, overload

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError
from .._types import WaveformTrace

__all__ = [
    "ChunkView",
    "GapTracker",
    "RateResolver",
    "as_chunk",
    "check_channels",
    "check_choice",
    "check_finite",
    "check_int",
    "check_nonnegative",
    "check_positive",
    "input_ndim",
    "readonly",
]

#: Relative tolerance within which two sample rates are the same rate (the stream's own
#: check of a source against its configuration uses the same).
RATE_RTOL = 1e-9


class ChunkView(NamedTuple):
    """A chunk taken apart: 2-D ``data`` (n, channels), absolute ``start_index``, rate, gap.

    ``sample_rate`` is None for a bare array. ``discontinuity`` is the chunk's flag.
    """

    data: NDArray[Any]
    start_index: int | None
    sample_rate: float | None
    discontinuity: bool


def as_chunk(chunk: WaveformTrace | NDArray[Any]) -> ChunkView:
    """Split a chunk or array into a :class:`ChunkView`; ``TypeError`` for anything else."""
    if isinstance(chunk, WaveformTrace):
        data = chunk.data
        meta = chunk.metadata
        start: int | None = meta.start_index
        rate: float | None = meta.sample_rate
        disc = bool(meta.discontinuity)
    elif isinstance(chunk, np.ndarray):
        data = chunk
        start, rate, disc = None, None, False
    else:
        raise TypeError(
            f"update() takes a WaveformTrace chunk or a numpy array, got {type(chunk).__name__}"
        )
    if data.dtype.kind not in "biufc":
        raise TypeError(f"chunk data must be numeric, got dtype {data.dtype}")
    if data.ndim == 1:
        data = data[:, None]
    elif data.ndim != 2:
        raise ValueError(f"chunk data must be 1-D or (n_samples, n_channels), got {data.shape}")
    return ChunkView(data, start, rate, disc)


class GapTracker:
    """Follows absolute positions across chunks and says when samples were skipped.

    ``check(view)`` returns True when the chunk does not continue the previous one (a jump in
    ``start_index`` or the chunk's ``discontinuity`` flag): the caller then resets what must
    not be spliced across a gap (filter state, a half-seen pulse). Bare arrays are taken as
    contiguous. ``position`` is the absolute index of the next expected sample.
    """

    __slots__ = ("position",)

    def __init__(self) -> None:
        self.position: int | None = None

    def check(self, view: ChunkView) -> bool:
        start = view.start_index
        if start is None:
            start = 0 if self.position is None else self.position
        gap = self.position is not None and (start != self.position or view.discontinuity)
        self.position = start + view.data.shape[0]
        return gap

    def start_of(self, view: ChunkView) -> int:
        """Absolute index of the chunk's first sample (call before :meth:`check`)."""
        if view.start_index is not None:
            return view.start_index
        return 0 if self.position is None else self.position

    def reset(self) -> None:
        self.position = None


def input_ndim(chunk: WaveformTrace | NDArray[Any]) -> int:
    """``ndim`` of the data as given (1 for a single channel given as 1-D)."""
    return int(chunk.data.ndim if isinstance(chunk, WaveformTrace) else chunk.ndim)


def readonly(a: NDArray[Any]) -> NDArray[Any]:
    """A read-only view of ``a`` (``a`` itself stays writable)."""
    v: NDArray[Any] = a.view()
    v.flags.writeable = False
    return v


def check_channels(owner: str, expected: int | None, got: int) -> int:
    """``got``, the channel count of a chunk, after checking it equals ``expected``, the count
    of the chunks before it (None for the first chunk); ``ValueError`` otherwise."""
    if expected is not None and got != expected:
        raise ValueError(
            f"{owner} was fed {expected} channel(s) and now gets {got}; reset() it (or use one "
            f"{owner} per stream)"
        )
    return got


# ---------------------------------------------------------------- parameter checks
def _number(name: str, value: Any, expected: str) -> float:
    """``value`` as a float; ``ConfigurationError`` for bools and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigurationError(f"{name} must be {expected}, got {value!r}")
    return float(value)


@overload
def check_positive(
    name: str, value: Any, unit: str = "", *, allow_none: Literal[False] = False
) -> float: ...
@overload
def check_positive(name: str, value: Any, unit: str = "", *, allow_none: bool) -> float | None: ...
def check_positive(
    name: str, value: Any, unit: str = "", *, allow_none: bool = False
) -> float | None:
    """``value`` as a float, or ``ConfigurationError`` unless it is a finite number > 0.

    ``unit`` (e.g. ``" (seconds)"``) is added to the message; with ``allow_none`` None is
    accepted and returned.
    """
    if value is None and allow_none:
        return None
    expected = f"a finite number > 0{unit}"
    v = _number(name, value, expected)
    if not math.isfinite(v) or v <= 0:
        raise ConfigurationError(f"{name} must be {expected}, got {value!r}")
    return v


def check_nonnegative(name: str, value: Any, unit: str = "") -> float:
    """``value`` as a float, or ``ConfigurationError`` unless it is a finite number >= 0."""
    expected = f"a finite number >= 0{unit}"
    v = _number(name, value, expected)
    if not math.isfinite(v) or v < 0:
        raise ConfigurationError(f"{name} must be {expected}, got {value!r}")
    return v


def check_finite(name: str, value: Any, unit: str = "") -> float:
    """``value`` as a float, or ``ConfigurationError`` unless it is a finite number."""
    expected = f"a finite number{unit}"
    v = _number(name, value, expected)
    if not math.isfinite(v):
        raise ConfigurationError(f"{name} must be {expected}, got {value!r}")
    return v


def check_int(name: str, value: Any, minimum: int, unit: str = "") -> int:
    """``value`` as an int, or ``ConfigurationError`` unless it is an integer >= ``minimum``
    (Python or numpy integer; not a bool, not a float such as 2.0)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigurationError(f"{name} must be an integer >= {minimum}{unit}, got {value!r}")
    return int(value)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value``, or ``ConfigurationError`` naming the accepted choices."""
    if value not in choices:
        raise ConfigurationError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}"
        )
    return str(value)


# ---------------------------------------------------------------- the sample-rate rule
class RateResolver:
    """The sample rate an analyser or transform works at: one rule for all of them.

    1. the ``sample_rate`` given at construction, else
    2. the stream's rate, from ``attach(info)``, else
    3. the rate of the first chunk that carries one (a :class:`~livetrace.WaveformTrace`'s
       ``metadata.sample_rate``).

    A chunk whose rate differs from the rate in use (beyond a relative ``1e-9``) is refused
    with :class:`~livetrace.ConfigurationError` naming the object, both rates and the fix:
    results at two rates cannot be combined. A bare numpy array carries no rate and is taken
    at the rate in use; an object that cannot work without a rate refuses it while none is
    known (:meth:`require`). ``forget()`` (called by ``reset()``) drops a rate learnt from
    chunks; a given or attached rate stays.

    Example:
        >>> r = RateResolver("Spectrum", None)
        >>> r.attach(1000.0)
        >>> r.see(1000.0), r.see(None)
        (1000.0, 1000.0)
        >>> r.see(250.0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        livetrace._errors.ConfigurationError: Spectrum: chunk sample_rate 250.0 Hz differs ...
    """

    __slots__ = ("attached", "given", "learned", "owner")

    def __init__(self, owner: str, sample_rate: float | None) -> None:
        self.owner = owner
        self.given: float | None = check_positive("sample_rate", sample_rate, allow_none=True)
        self.attached: float | None = None
        self.learned: float | None = None

    @property
    def value(self) -> float | None:
        """The rate in use (Hz), None while unknown."""
        if self.given is not None:
            return self.given
        return self.attached if self.attached is not None else self.learned

    def attach(self, rate: float) -> None:
        """Take the stream's rate (from ``attach(info)``); a given ``sample_rate`` still wins."""
        self.attached = float(rate)

    def see(self, chunk_rate: float | None) -> float | None:
        """Check a chunk's rate (None for a bare array) against the rate in use; return the
        rate to work at (None when unknown)."""
        used = self.value
        if chunk_rate is None:
            return used
        rate = float(chunk_rate)
        if used is None:
            self.learned = rate
            return rate
        if not math.isclose(rate, used, rel_tol=RATE_RTOL):
            raise ConfigurationError(self._conflict(rate, used))
        return used

    def require(self, chunk_rate: float | None) -> float:
        """:meth:`see`, and ``ConfigurationError`` when no rate is known at all."""
        rate = self.see(chunk_rate)
        if rate is None:
            raise ConfigurationError(
                f"{self.owner} needs the sample rate and none is known: pass sample_rate=... "
                "(Hz), feed WaveformTrace chunks (their metadata carries it) or add it to a "
                "stream"
            )
        return rate

    def forget(self) -> None:
        """Drop the rate learnt from chunks (on ``reset()``)."""
        self.learned = None

    def _conflict(self, rate: float, used: float) -> str:
        if self.given is not None:
            how = "given as sample_rate"
            fix = f"pass sample_rate={rate!r}, or leave it out to take the chunks' rate"
        elif self.attached is not None:
            how = "the rate of the stream it is attached to"
            fix = (
                f"pass sample_rate={rate!r} if this object receives chunks at that rate "
                "(e.g. after a decimating transform)"
            )
        else:
            how = "the rate of its first chunk"
            fix = f"reset() it before feeding another rate, or use one {self.owner} per rate"
        return (
            f"{self.owner}: chunk sample_rate {rate!r} Hz differs from the {used!r} Hz in use "
            f"({how}); {fix}"
        )
