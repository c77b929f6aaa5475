"""Spectrum: streaming Welch power spectral density, peak frequency and ADC figures.

Segments of ``nperseg`` samples start every ``nperseg - noverlap`` samples from the first sample
since ``reset()`` (or since a gap), exactly as ``scipy.signal.welch`` places them on the whole
signal; only the samples the next segment still needs are kept between chunks, and the
segments a chunk completes are windowed and transformed together (a strided view, one batched
FFT). Each segment's periodogram is folded into the average one at a time, in order, so the
result is the same for every chunking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft as spfft
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
    input_ndim,
    readonly,
)
from ._ieee1241 import adc_figures, main_lobe_bins

__all__ = ["AVERAGES", "Spectrum", "SpectrumResult"]

AVERAGES: tuple[str, ...] = ("all", "last", "exponential")
_BATCH_ITEMS = 1 << 17  # samples transformed per batched FFT (keeps the work in L2 cache)


@dataclass(frozen=True, eq=False)
class SpectrumResult(ResultMapping):
    """The averaged spectrum and what is measured on it (also readable as ``r["psd"]``).

    ``frequencies`` (Hz; cycles/sample when no sample rate is known): ``rfftfreq`` order for a
    one-sided spectrum, ``fftfreq`` order (0, positive, then negative frequencies, scipy's
    order; ``numpy.fft.fftshift`` sorts it) for a two-sided one. ``psd``: ``(n_freqs,)`` for
    one channel given as 1-D, ``(n_freqs, channels)`` otherwise; V**2/Hz for
    ``scaling="density"``, V**2 for ``"spectrum"``; NaN before the first complete segment.
    ``n_segments``: segments in the average (for ``average="last"`` at most ``n_average``).

    Per channel (a float for 1-D input, an array per channel otherwise), for the strongest
    component away from DC: ``peak_frequency`` (sub-bin interpolated), ``peak_power`` (the
    interpolated peak height, in ``psd`` units), and the IEEE 1241 figures in dB: ``snr``,
    ``thd`` (negative: harmonic power below the fundamental), ``sinad``, ``sfdr`` (dBc), and
    ``enob`` = (SINAD - 1.76) / 6.02 bits (see ``livetrace.analysis._ieee1241``).
    """

    frequencies: NDArray[np.float64]
    psd: NDArray[np.float64]
    n_segments: int
    peak_frequency: Any
    peak_power: Any
    snr: Any
    thd: Any
    sinad: Any
    enob: Any
    sfdr: Any
    scaling: str
    sample_rate: float | None

    def to_db(self, ref: float = 1.0) -> NDArray[np.float64]:
        """``10 * log10(psd / ref)`` (-inf where the power is 0)."""
        with np.errstate(divide="ignore"):
            db: NDArray[np.float64] = 10.0 * np.log10(self.psd / ref)
        return db

    @property
    def psd_db(self) -> NDArray[np.float64]:
        """``psd`` in dB re 1 (dB re 1 V**2/Hz for density scaling)."""
        return self.to_db()

    @property
    def amplitude(self) -> NDArray[np.float64]:
        """``sqrt(psd)``: RMS amplitude per bin (``"spectrum"``) or amplitude spectral density
        V/sqrt(Hz) (``"density"``)."""
        return np.sqrt(self.psd)

    def __repr__(self) -> str:
        return (
            f"SpectrumResult(n_segments={self.n_segments}, bins={self.frequencies.size}, "
            f"peak_frequency={self.peak_frequency!r}, snr={self.snr!r}, thd={self.thd!r}, "
            f"sinad={self.sinad!r}, enob={self.enob!r}, sfdr={self.sfdr!r})"
        )


class Spectrum:
    """Streaming Welch power spectrum with peak frequency and ADC figures (SNR, THD, SINAD,
    ENOB, SFDR).

    Parameters (keyword-only, validated at construction):

    - ``nperseg`` (>= 4), ``noverlap`` (default ``nperseg // 2``), ``window`` (a
      ``scipy.signal.get_window`` name or tuple, made periodic as in ``welch``, or an array of
      ``nperseg`` values), ``scaling`` (``"density"`` or ``"spectrum"``), ``detrend``
      (``"constant"``, ``"linear"`` or False) mean what they mean for ``scipy.signal.welch``.
    - ``average``: ``"all"`` (mean of every segment since ``reset()``: then ``psd`` equals
      ``scipy.signal.welch(x, fs, window, nperseg, noverlap, detrend=..., scaling=...)`` on the
      same samples), ``"last"`` (mean of the last ``n_average`` segments) or ``"exponential"``
      (``avg = (1 - alpha) * avg + alpha * segment``, starting from the first segment).
    - ``return_onesided``: None gives a one-sided spectrum for real input and a two-sided one
      for complex input; False forces two-sided; True with complex input is refused.
    - ``n_harmonics``: THD sums harmonics 2 … ``n_harmonics`` (MATLAB's ``thd`` convention).
    - ``tone_bins``: bins either side of a tone's centre counted as its power; default the
      window's main-lobe half-width (Hann 2, Blackman-Harris 4, flat-top 5). A tone that is not
      bin-centred leaks beyond the main lobe as far as the window's side lobes reach: Hann's
      leakage caps the measurable SNR near 36 dB, so for ADC figures use a low-side-lobe window
      (``"blackmanharris"``, ``("kaiser", 14)``) or a wider ``tone_bins``.
    - ``sample_rate``: else the stream's (``attach(info)``), else the first chunk's metadata
      (the rule of every analyser; a chunk at another rate is refused); with none known (bare
      arrays) ``fs = 1`` as in scipy.

    dtype: float32 / complex64 chunks are windowed and transformed in single precision (as
    ``scipy.signal.welch`` does for them); the averages are kept in float64.

    **A gap** (a jump in ``start_index`` or a ``discontinuity`` flag) drops the samples held for
    the next segment, so no segment spans the gap; segments restart at the first sample after
    it and the average so far is kept (the same signal, measured on both sides).

    ``update(chunk)`` takes a :class:`~livetrace.WaveformTrace` or an array ``(n,)`` /
    ``(n, channels)``; ``result`` is a :class:`SpectrumResult`. Not thread-safe.

    Example:
        >>> import numpy as np
        >>> fs = 1000.0
        >>> t = np.arange(20000) / fs
        >>> sp = Spectrum(sample_rate=fs, nperseg=1000)
        >>> sp.update(np.sin(2 * np.pi * 123.4 * t))
        >>> r = sp.result
        >>> r.n_segments, round(r.peak_frequency, 2)
        (39, 123.4)
    """

    _cache: SpectrumResult | None

    def __init__(
        self,
        *,
        sample_rate: float | None = None,
        nperseg: int = 4096,
        noverlap: int | None = None,
        window: str | tuple[Any, ...] | ArrayLike = "hann",
        average: str = "all",
        n_average: int = 8,
        alpha: float = 0.1,
        scaling: str = "density",
        detrend: str | bool = "constant",
        return_onesided: bool | None = None,
        n_harmonics: int = 6,
        tone_bins: int | None = None,
        name: str = "spectrum",
    ) -> None:
        self.name = name
        self._rate = RateResolver(type(self).__name__, sample_rate)
        self._nperseg = check_int("nperseg", nperseg, 4)
        if noverlap is None:
            noverlap = self._nperseg // 2
        self._noverlap = check_int("noverlap", noverlap, 0)
        if self._noverlap >= self._nperseg:
            raise ConfigurationError(
                f"noverlap must be < nperseg ({self._nperseg}), got {self._noverlap}"
            )
        self._step = self._nperseg - self._noverlap
        self._window_name = window if isinstance(window, (str, tuple)) else None
        if isinstance(window, (str, tuple)):
            try:
                win = sps.get_window(window, self._nperseg)
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(
                    f"window {window!r} is not a scipy.signal.get_window window: {exc}"
                ) from exc
        else:
            win = np.asarray(window, dtype=np.float64)
            if win.shape != (self._nperseg,) or not np.all(np.isfinite(win)):
                raise ConfigurationError(
                    f"a window array must hold nperseg={self._nperseg} finite values, got shape "
                    f"{win.shape}"
                )
        if not np.any(win):
            raise ConfigurationError("the window is all zeros")
        self._win: NDArray[np.float64] = np.ascontiguousarray(win, dtype=np.float64)
        self._average = check_choice("average", average, AVERAGES)
        self._n_average = check_int("n_average", n_average, 1)
        if not (isinstance(alpha, (int, float)) and 0 < alpha <= 1):
            raise ConfigurationError(f"alpha must be in (0, 1], got {alpha!r}")
        self._alpha = float(alpha)
        self._scaling = check_choice("scaling", scaling, ("density", "spectrum"))
        if detrend not in ("constant", "linear", False):
            raise ConfigurationError(
                f"detrend must be 'constant', 'linear' or False, got {detrend!r}"
            )
        self._detrend = detrend
        if return_onesided not in (None, True, False):
            raise ConfigurationError(
                f"return_onesided must be None, True or False, got {return_onesided!r}"
            )
        self._onesided_arg = return_onesided
        self._n_harmonics = check_int("n_harmonics", n_harmonics, 1)
        self._lobe = (
            main_lobe_bins(self._win) if tone_bins is None else check_int("tone_bins", tone_bins, 1)
        )
        self._hann = self._window_name in ("hann", "hanning", ("hann",), ("hanning",))
        self.reset()

    # ---------------------------------------------------------------- properties
    @property
    def nperseg(self) -> int:
        return self._nperseg

    @property
    def noverlap(self) -> int:
        return self._noverlap

    @property
    def window(self) -> NDArray[np.float64]:
        """The window values (a copy)."""
        win: NDArray[np.float64] = self._win.copy()
        return win

    @property
    def main_lobe_bins(self) -> int:
        """Bins either side of a tone's centre counted as its power (``tone_bins``, default the
        window's main-lobe half-width)."""
        return self._lobe

    @property
    def n_segments_seen(self) -> int:
        """Segments processed since ``reset()`` (all of them, whatever ``average`` keeps)."""
        return self._count

    @property
    def sample_rate(self) -> float | None:
        """The rate (Hz) in use, None while unknown (then frequencies are in cycles/sample)."""
        return self._rate.value

    def attach(self, info: SourceInfo) -> None:
        """Take the stream's sample rate (called by the stream; a given ``sample_rate`` wins)."""
        self._rate.attach(info.sample_rate)
        self._cache = None

    # ---------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget every sample and segment (parameters and the attached rate stay)."""
        self._gaps = GapTracker()
        self._rate.forget()
        self._tail: NDArray[Any] | None = None
        self._acc: NDArray[np.float64] | None = None  # (C, bins): sum, or the EMA
        self._ring: NDArray[np.float64] | None = None  # (n_average, C, bins) for "last"
        self._count = 0
        self._work: np.dtype[Any] | None = None
        self._onesided = True
        self._n_channels: int | None = None
        self._squeeze = True
        self._cache = None

    @property
    def _n_bins(self) -> int:
        return self._nperseg // 2 + 1 if self._onesided else self._nperseg

    def _start(self, x: NDArray[Any], ndim: int) -> None:
        complex_ = x.dtype.kind == "c"
        if complex_ and self._onesided_arg is True:
            raise ConfigurationError(
                "return_onesided=True cannot describe complex input (its negative frequencies "
                "differ); use return_onesided=None or False"
            )
        self._onesided = not complex_ and self._onesided_arg is not False
        if complex_:
            self._work = np.dtype(np.complex64 if x.dtype == np.complex64 else np.complex128)
        else:
            self._work = np.dtype(np.float32 if x.dtype == np.float32 else np.float64)
        self._n_channels = x.shape[1]
        self._squeeze = ndim == 1
        c, nb = x.shape[1], self._n_bins
        self._acc = np.zeros((c, nb))
        if self._average == "last":
            self._ring = np.zeros((self._n_average, c, nb))

    def update(self, chunk: WaveformTrace | NDArray[Any]) -> None:
        """Add a chunk's samples; every segment they complete joins the average."""
        view = as_chunk(chunk)
        rate_before = self._rate.value
        if self._rate.see(view.sample_rate) != rate_before:
            self._cache = None  # the frequencies of a result read earlier are stale
        gap = self._gaps.check(view)
        x = view.data
        if x.dtype.kind in "biu":
            x = x.astype(np.float64)
        if self._work is None:
            self._start(x, input_ndim(chunk))
            self._cache = None  # channels, sidedness and shapes are known only now
        else:
            check_channels(type(self).__name__, self._n_channels, x.shape[1])
            if x.dtype.kind == "c" and self._work.kind != "c":
                raise TypeError(
                    "complex data after real data: reset() the Spectrum (or use another) before "
                    "feeding complex samples"
                )
        work = self._work
        assert work is not None
        if gap:
            self._tail = None
        if x.shape[0] == 0:
            return
        if self._tail is not None and self._tail.shape[0]:
            ext = np.concatenate([self._tail, x.astype(work, copy=False)])
        else:
            ext = x.astype(work, copy=False)
        n = ext.shape[0]
        nper, step = self._nperseg, self._step
        if n < nper:
            self._tail = ext if ext is not x else ext.copy()
            return
        k = (n - nper) // step + 1
        views = np.lib.stride_tricks.sliding_window_view(ext, nper, axis=0)[::step][:k]
        batch = max(1, _BATCH_ITEMS // (nper * ext.shape[1]))
        for b in range(0, k, batch):
            self._segments(views[b : b + batch])
        self._tail = ext[k * step :].copy()
        self._cache = None

    def _segments(self, views: NDArray[Any]) -> None:
        """Window, transform and average the segments ``views`` ``(k, C, nperseg)``."""
        assert self._work is not None and self._acc is not None
        segs = np.array(views, dtype=self._work)  # contiguous copy
        if self._detrend == "constant":
            segs -= segs.mean(axis=-1, keepdims=True)
        elif self._detrend == "linear":
            segs = sps.detrend(segs, type="linear", axis=-1, overwrite_data=True)
        segs *= self._win.astype(segs.real.dtype, copy=False)
        if self._onesided:
            spec = spfft.rfft(segs, axis=-1, overwrite_x=True)
        else:
            spec = spfft.fft(segs, axis=-1, overwrite_x=True)
        power = spec.real * spec.real
        power += spec.imag * spec.imag
        acc = self._acc
        if self._average == "all":
            for p in power:
                acc += p
        elif self._average == "exponential":
            a = self._alpha
            for i, p in enumerate(power):
                if self._count + i == 0:
                    acc[...] = p
                else:
                    acc *= 1.0 - a
                    acc += a * p
        else:
            ring = self._ring
            assert ring is not None
            for i, p in enumerate(power):
                ring[(self._count + i) % self._n_average] = p
        self._count += power.shape[0]

    # ---------------------------------------------------------------- result
    def _raw_average(self) -> NDArray[np.float64] | None:
        """Average periodogram ``(C, bins)`` without scaling, or None with no segment."""
        if self._count == 0 or self._acc is None:
            return None
        if self._average == "all":
            total: NDArray[np.float64] = self._acc / self._count
            return total
        if self._average == "exponential":
            ema: NDArray[np.float64] = self._acc.copy()
            return ema
        assert self._ring is not None
        n = min(self._count, self._n_average)
        mean: NDArray[np.float64] = self._ring[:n].sum(axis=0) / n
        return mean

    @property
    def result(self) -> SpectrumResult:
        """The averaged spectrum and its figures (computed on demand, cached until new data)."""
        if self._cache is None:
            self._cache = self._compute()
        return self._cache

    def _compute(self) -> SpectrumResult:
        rate = self._rate.value
        fs = 1.0 if rate is None else rate
        nper = self._nperseg
        onesided = self._onesided
        freqs = np.fft.rfftfreq(nper, 1 / fs) if onesided else np.fft.fftfreq(nper, 1 / fs)
        c = 1 if self._n_channels is None else self._n_channels
        raw = self._raw_average()
        if raw is None:
            psd = np.full((self._n_bins, c), np.nan)
        else:
            win = self._win
            scale = (
                1.0 / (fs * float((win * win).sum()))
                if self._scaling == "density"
                else 1.0 / float(win.sum()) ** 2
            )
            psd = (raw * scale).T.copy()
            if onesided:
                psd[1 : None if nper % 2 else -1] *= 2
        figs = [
            adc_figures(
                psd[:, ch],
                nfft=nper,
                onesided=onesided,
                lobe=self._lobe,
                n_harmonics=self._n_harmonics,
                hann=self._hann,
            )
            for ch in range(c)
        ]
        df = fs / nper
        peak_f = [
            (f.peak_bin - (0 if onesided or f.peak_bin < nper / 2 else nper)) * df for f in figs
        ]

        def per_channel(values: Sequence[float]) -> Any:
            if self._squeeze:
                return float(values[0])
            return readonly(np.array(values, dtype=np.float64))

        out_psd = psd[:, 0] if self._squeeze else psd
        return SpectrumResult(
            frequencies=readonly(freqs),
            psd=readonly(out_psd),
            n_segments=min(self._count, self._n_average)
            if self._average == "last"
            else self._count,
            peak_frequency=per_channel(peak_f),
            peak_power=per_channel([f.peak_power for f in figs]),
            snr=per_channel([f.snr for f in figs]),
            thd=per_channel([f.thd for f in figs]),
            sinad=per_channel([f.sinad for f in figs]),
            enob=per_channel([f.enob for f in figs]),
            sfdr=per_channel([f.sfdr for f in figs]),
            scaling=self._scaling,
            sample_rate=rate,
        )

    def __repr__(self) -> str:
        return (
            f"Spectrum(nperseg={self._nperseg}, noverlap={self._noverlap}, "
            f"average={self._average!r}, segments={self._count})"
        )
