"""StreamingFilter: IIR (second-order sections) and FIR filtering with state carried across chunks.

The filter state is a value, as in ``scipy.signal.sosfilt(sos, x, zi=zi) -> (y, zf)``: the final
state of one chunk is the initial state of the next, so the output of a stream equals
``sosfilt`` / ``lfilter`` over the whole concatenated signal, whatever the chunking.

This module also holds :class:`TransformResult`, the result of every transform.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal as sps
from numpy.typing import ArrayLike, NDArray

from .._errors import ConfigurationError
from .._protocols import SourceInfo
from .._result import ResultMapping
from .._types import WaveformTrace
from ._base import (
    GapTracker,
    RateResolver,
    as_chunk,
    check_channels,
    check_choice,
    check_int,
    check_positive,
    input_ndim,
    readonly,
)

__all__ = ["FAMILIES", "KINDS", "StreamingFilter", "TransformResult"]

KINDS: tuple[str, ...] = ("lowpass", "highpass", "bandpass", "bandstop")
FAMILIES: tuple[str, ...] = ("butter", "cheby1", "cheby2", "bessel", "ellip")


@dataclass(frozen=True, eq=False)
class TransformResult(ResultMapping):
    """What a transform (:class:`StreamingFilter`, :class:`~livetrace.analysis.Decimator`)
    produced last.

    ``data``: the output of the last ``update``/``process`` call (a read-only view, shaped like
    the input: 1-D for 1-D input, ``(n, channels)`` otherwise; None before the first chunk).
    ``start_index``: absolute index of its first sample, in the *output* numbering (for a
    decimator, the decimated numbering). ``sample_rate``: the output rate (None when unknown).
    ``n_samples``: output samples since construction or ``reset()``. ``n_gaps``: times the
    state was reset because the input skipped samples.
    """

    data: NDArray[Any] | None
    start_index: int | None
    sample_rate: float | None
    n_samples: int
    n_gaps: int

    def __repr__(self) -> str:
        shape = None if self.data is None else self.data.shape
        return (
            f"TransformResult(data shape={shape}, start_index={self.start_index!r}, "
            f"sample_rate={self.sample_rate!r}, n_samples={self.n_samples}, n_gaps={self.n_gaps})"
        )


def _coefficients(name: str, value: ArrayLike) -> NDArray[Any]:
    try:
        arr = np.array(value, dtype=np.result_type(np.asarray(value), np.float64))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{name} must be an array of numbers, got {value!r}") from exc
    if arr.dtype.kind not in "fc" or not np.all(np.isfinite(arr)):
        raise ConfigurationError(f"{name} must hold finite numbers, got {value!r}")
    return arr


class StreamingFilter:
    """A stateful IIR or FIR filter; a stream transform (``process``) and an analyser (``update``).

    Design from parameters (``cutoff`` in Hz; needs the sample rate)::

        StreamingFilter(kind="lowpass", order=8, cutoff=1e3, family="butter")

    ``kind``: ``lowpass``, ``highpass``, ``bandpass``, ``bandstop`` (the last two take
    ``cutoff=(lo, hi)``); ``order`` is the prototype order as in ``scipy.signal.iirfilter``
    (band filters get ``2 * order`` poles); ``family``: ``butter``, ``cheby1``
    (``ripple`` dB in the pass band), ``cheby2`` (``attenuation`` dB in the stop band),
    ``ellip`` (both), ``bessel`` (phase-normalised). The design is
    ``scipy.signal.iirfilter(order, cutoff, rp=ripple, rs=attenuation, btype=kind, ftype=family,
    output="sos", fs=sample_rate)``, run with ``scipy.signal.sosfilt``.

    Or give coefficients: ``sos=`` (``(n_sections, 6)``, run with ``sosfilt``) or ``b=``, ``a=``
    (``a`` None or 1 for FIR; run with ``scipy.signal.lfilter``). These need no sample rate.

    The sample rate is ``sample_rate`` if given, else the stream's (``attach(info)``), else
    the first chunk's metadata; a chunk at another rate is refused (the rule of every
    analyser). The design is made (and cut-offs checked against Nyquist) as soon as the rate
    is known, so an impossible cut-off fails at construction when ``sample_rate`` is given.

    State: the output equals ``sosfilt(sos, x, axis=0)`` / ``lfilter(b, a, x, axis=0)`` of the
    whole signal for any chunking (per channel for ``(n, channels)`` chunks).
    ``zi="steady"`` starts from the steady state for the first sample instead of from rest
    (``sosfilt_zi(sos) * x[0]`` / ``lfilter_zi(b, a) * x[0]``), which removes the start-up
    transient of a signal with a DC level. **A gap** (a jump in ``start_index``, or a chunk
    flagged ``discontinuity``) resets the state: the output after the gap equals filtering the
    post-gap signal from a fresh filter (rest, or steady state for its first sample), never a
    splice of unrelated samples.

    dtype: the computation runs in float64 (complex128 for complex input) with float64
    coefficients; the output keeps the input's float dtype (float32 chunks give float32 chunks).

    ``process(chunk)`` returns a new chunk (same metadata, filtered data; an array for an array);
    ``update(chunk)`` does the same and keeps the output, which ``result``
    (:class:`TransformResult`) exposes. Use an instance either as a transform or as an analyser
    of one stream, not both (each call advances the state). Not thread-safe.

    Example:
        >>> import numpy as np
        >>> f = StreamingFilter(kind="lowpass", order=4, cutoff=100.0, sample_rate=1e3)
        >>> x = np.random.default_rng(0).normal(size=1000)
        >>> y = np.concatenate([f.process(x[:300]), f.process(x[300:])])
        >>> import scipy.signal as sps
        >>> bool(np.allclose(y, sps.sosfilt(f.sos, x), rtol=1e-12, atol=0))
        True
    """

    def __init__(
        self,
        *,
        kind: str = "lowpass",
        order: int = 4,
        cutoff: float | Sequence[float] | None = None,
        family: str = "butter",
        ripple: float = 1.0,
        attenuation: float = 60.0,
        sample_rate: float | None = None,
        sos: ArrayLike | None = None,
        b: ArrayLike | None = None,
        a: ArrayLike | None = None,
        zi: str | None = None,
        name: str = "filter",
    ) -> None:
        self.name = name
        self._rate = RateResolver(type(self).__name__, sample_rate)
        if zi not in (None, "steady"):
            raise ConfigurationError(f"zi must be None (start at rest) or 'steady', got {zi!r}")
        self._zi_mode = zi
        given = [k for k, v in (("cutoff", cutoff), ("sos", sos), ("b", b)) if v is not None]
        if len(given) != 1:
            raise ConfigurationError(
                "give exactly one of cutoff=... (design from kind/order/family), sos=... or "
                f"b=... (with a=...); got {', '.join(given) or 'none'}"
            )
        if a is not None and b is None:
            raise ConfigurationError("a=... needs b=... (the numerator)")
        self._sos: NDArray[Any] | None = None
        self._b: NDArray[Any] | None = None
        self._a: NDArray[Any] | None = None
        self._design: tuple[str, int, tuple[float, ...], str, float, float] | None = None
        self._design_rate: float | None = None
        if cutoff is not None:
            self._design = self._validate_design(kind, order, cutoff, family, ripple, attenuation)
            if self._rate.value is not None:
                self._make_design(self._rate.value)
        elif sos is not None:
            arr = _coefficients("sos", sos)
            if arr.ndim != 2 or arr.shape[1] != 6 or arr.shape[0] < 1:
                raise ConfigurationError(
                    f"sos must have shape (n_sections, 6), got shape {arr.shape}"
                )
            if not np.all(arr[:, 3] == 1):
                raise ConfigurationError(
                    f"sos[:, 3] (each section's a0) must be all ones, got {arr[:, 3].tolist()}"
                )
            self._sos = arr
        else:
            bb = _coefficients("b", b if b is not None else [])
            aa = _coefficients("a", 1.0 if a is None else a)
            if bb.ndim != 1 or bb.size == 0:
                raise ConfigurationError(f"b must be a non-empty 1-D array, got shape {bb.shape}")
            aa = aa.reshape(-1) if aa.ndim == 0 else aa
            if aa.ndim != 1 or aa.size == 0 or aa[0] == 0:
                raise ConfigurationError(f"a must be a 1-D array with a[0] != 0, got {a!r}")
            if max(bb.size, aa.size) == 1:  # a pure gain: give lfilter one (zero) state entry
                bb = np.append(bb, 0.0)
            self._b, self._a = bb, aa
        self.reset()

    # ---------------------------------------------------------------- design
    @staticmethod
    def _validate_design(
        kind: str,
        order: int,
        cutoff: float | Sequence[float],
        family: str,
        ripple: float,
        attenuation: float,
    ) -> tuple[str, int, tuple[float, ...], str, float, float]:
        check_choice("kind", kind, KINDS)
        check_choice("family", family, FAMILIES)
        order = check_int("order", order, 1)
        if order > 64:
            raise ConfigurationError(f"order must be <= 64 (numerically unusable), got {order}")
        band = kind in ("bandpass", "bandstop")
        cut: tuple[float, ...]
        if band:
            if isinstance(cutoff, (int, float, np.number)) or len(cutoff) != 2:
                raise ConfigurationError(
                    f"a {kind} filter needs cutoff=(low_hz, high_hz), got {cutoff!r}"
                )
            cut = (float(cutoff[0]), float(cutoff[1]))
        else:
            if not isinstance(cutoff, (int, float, np.number)) or isinstance(cutoff, bool):
                raise ConfigurationError(
                    f"a {kind} filter needs one cutoff frequency in Hz, got {cutoff!r}"
                )
            cut = (float(cutoff),)
        for c in cut:
            if not np.isfinite(c) or c <= 0:
                raise ConfigurationError(f"cutoff frequencies must be finite and > 0 Hz, got {c!r}")
        if band and cut[0] >= cut[-1]:
            raise ConfigurationError(
                f"cutoff=(lo, hi) needs lo < hi, got lo={cut[0]!r} Hz, hi={cut[-1]!r} Hz"
            )
        if family in ("cheby1", "ellip"):
            check_positive("ripple (dB)", ripple)
        if family in ("cheby2", "ellip"):
            check_positive("attenuation (dB)", attenuation)
        return (kind, order, cut, family, float(ripple), float(attenuation))

    def _make_design(self, rate: float) -> None:
        assert self._design is not None
        kind, order, cut, family, ripple, attenuation = self._design
        nyquist = rate / 2
        for c in cut:
            if c >= nyquist:
                raise ConfigurationError(
                    f"cutoff {c!r} Hz must be below the Nyquist frequency {nyquist!r} Hz "
                    f"(sample_rate {rate!r} Hz)"
                )
        wn: float | list[float] = cut[0] if len(cut) == 1 else list(cut)
        sos = sps.iirfilter(
            order,
            wn,
            rp=ripple if family in ("cheby1", "ellip") else None,
            rs=attenuation if family in ("cheby2", "ellip") else None,
            btype=kind,
            ftype=family,
            output="sos",
            fs=rate,
        )
        self._sos = np.array(sos, dtype=np.float64)
        self._design_rate = rate

    def attach(self, info: SourceInfo) -> None:
        """Take the stream's sample rate (called by the stream; a given ``sample_rate`` wins)."""
        self._rate.attach(info.sample_rate)
        rate = self._rate.value
        if self._design is not None and rate is not None and rate != self._design_rate:
            self._make_design(rate)

    @property
    def sos(self) -> NDArray[Any] | None:
        """Second-order sections in use (None for an FIR/``b, a`` filter or before the rate is
        known); a copy."""
        return None if self._sos is None else self._sos.copy()

    @property
    def ba(self) -> tuple[NDArray[Any], NDArray[Any]] | None:
        """``(b, a)`` (copies) when the filter was given as ``b``/``a``, else None."""
        if self._b is None or self._a is None:
            return None
        return self._b.copy(), self._a.copy()

    @property
    def sample_rate(self) -> float | None:
        """The rate the filter works at (None while unknown)."""
        return self._rate.value

    # ---------------------------------------------------------------- state
    def reset(self) -> None:
        """Back to rest: no state, no output, counters zero (the design and attached rate stay)."""
        self._gaps = GapTracker()
        self._state: NDArray[Any] | None = None
        self._n_channels: int | None = None
        self._last: NDArray[Any] | None = None
        self._last_start: int | None = None
        self._n_samples = 0
        self._n_gaps = 0
        self._rate.forget()
        if self._design is not None and self._design_rate is not None:
            if self._rate.value is None:
                self._sos = None
                self._design_rate = None
            elif self._rate.value != self._design_rate:
                self._make_design(self._rate.value)

    def _initial_state(self, x: NDArray[Any]) -> NDArray[Any]:
        c = x.shape[1]
        dtype = np.result_type(x.dtype, np.float64)
        if self._sos is not None:
            if self._zi_mode == "steady":
                zi = sps.sosfilt_zi(self._sos)
                return np.asarray(zi[:, :, None] * x[0][None, None, :], dtype=dtype)
            return np.zeros((self._sos.shape[0], 2, c), dtype=dtype)
        assert self._b is not None and self._a is not None
        k = max(self._a.size, self._b.size) - 1
        if self._zi_mode == "steady":
            zi1 = sps.lfilter_zi(self._b, self._a)
            return np.asarray(zi1[:, None] * x[0][None, :], dtype=dtype)
        return np.zeros((k, c), dtype=dtype)

    def process(self, chunk: WaveformTrace | NDArray[Any]) -> Any:
        """Filter one chunk; returns a new chunk with the same metadata (or an array for an
        array), the data shaped and typed like the input's."""
        view = as_chunk(chunk)
        if self._design is not None:
            rate = self._rate.require(view.sample_rate)
            if self._sos is None or rate != self._design_rate:
                self._make_design(rate)
        else:
            self._rate.see(view.sample_rate)
        start = self._gaps.start_of(view)
        gap = self._gaps.check(view)
        x = view.data
        if x.dtype.kind not in "fc":
            x = x.astype(np.float64)
        if gap:
            self._state = None
            self._n_gaps += 1
        check_channels(type(self).__name__, self._n_channels, x.shape[1])
        if x.shape[0]:
            if self._state is None:
                self._state = self._initial_state(x)
                self._n_channels = x.shape[1]
            if self._sos is not None:
                y, self._state = sps.sosfilt(self._sos, x, axis=0, zi=self._state)
            else:
                y, self._state = sps.lfilter(self._b, self._a, x, axis=0, zi=self._state)
        else:
            y = np.empty(x.shape, dtype=np.result_type(x.dtype, np.float64))
        if y.dtype != x.dtype and x.dtype.kind == y.dtype.kind:
            y = y.astype(x.dtype)  # float32 in, float32 out
        data = y[:, 0] if input_ndim(chunk) == 1 else y
        self._last = data
        self._last_start = start
        self._n_samples += len(data)
        if isinstance(chunk, WaveformTrace):
            return WaveformTrace(data, dataclasses.replace(chunk.metadata))
        return data

    def update(self, chunk: WaveformTrace | NDArray[Any]) -> None:
        """Filter a chunk and keep the output for :attr:`result` (the analyser protocol)."""
        self.process(chunk)

    @property
    def result(self) -> TransformResult:
        """The last output (see :class:`TransformResult`)."""
        return TransformResult(
            data=None if self._last is None else readonly(self._last),
            start_index=self._last_start,
            sample_rate=self._rate.value,
            n_samples=self._n_samples,
            n_gaps=self._n_gaps,
        )

    def __repr__(self) -> str:
        what = (
            f"design={self._design!r}"
            if self._design is not None
            else ("sos" if self._sos is not None else "b/a")
        )
        return f"StreamingFilter({what}, sample_rate={self._rate.value!r})"
