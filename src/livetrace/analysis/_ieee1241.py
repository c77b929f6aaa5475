"""ADC figures of a tone from an averaged power spectrum (IEEE Std 1241, frequency-domain method).

Input is the power per bin (any scaling proportional to power: the figures are ratios). A tone
of a windowed signal spreads over the window's main lobe, so every component's power is the sum
over ``lobe`` bins either side of its centre bin:

- DC: bins ``0 … lobe`` (and the mirrored ones of a two-sided spectrum) are excluded;
- fundamental: the strongest bin outside DC, ``P1`` = its lobe sum;
- harmonics 2 … ``n_harmonics`` at ``h * f1`` (sub-bin location), folded back into the first
  Nyquist zone when they alias (one-sided) or wrapped (two-sided); a harmonic that lands on
  bins already taken (DC, the fundamental, an earlier harmonic) adds only its free bins;
- noise: the mean power of the remaining bins, times the number of bins of the whole band
  (``nfft / 2`` for a one-sided spectrum, whose DC and Nyquist bins carry half weight;
  ``nfft`` for two-sided) — the excluded bins are credited with the average noise level;
  that level, times the bins of each tone, is subtracted from the tone's power (floored at
  0), so noise inside the harmonics' bins does not inflate THD.

Then ``SNR = P1 / N``, ``THD = ΣPh / P1``, ``SINAD = P1 / (N + ΣPh)``, ``SFDR = P1 / max spur``
(the largest lobe sum around any bin outside DC and the fundamental), all in dB, and
``ENOB = (SINAD - 1.76) / 6.02``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["AdcFigures", "adc_figures", "interpolate_peak", "main_lobe_bins"]


class AdcFigures(NamedTuple):
    peak_bin: float  # sub-bin location of the fundamental (fft order; may be negative 2-sided)
    peak_power: float  # interpolated height of the peak, in the input's units
    snr: float
    thd: float
    sinad: float
    enob: float
    sfdr: float


_NAN = AdcFigures(*(math.nan,) * 7)


def main_lobe_bins(window: NDArray[Any]) -> int:
    """Half-width of the window's main lobe in bins (first null, rounded up; >= 1).

    For windows without a null (Gaussian) the lobe ends where the response falls 120 dB
    below the peak.
    """
    n = window.size
    over = 32
    mag = np.abs(np.fft.rfft(np.asarray(window, dtype=np.float64), n * over))
    if mag[0] == 0:
        return 1
    rel = mag / mag[0]
    rising = np.flatnonzero((rel[1:-1] <= rel[:-2]) & (rel[1:-1] < rel[2:]))
    deep = np.flatnonzero(rel < 1e-6)
    ends = [int(a[0]) + (1 if a is rising else 0) for a in (rising, deep) if a.size]
    end = min(ends) if ends else mag.size - 1
    return max(1, min(math.ceil(end / over - 1e-9), n // 4 or 1))


def interpolate_peak(
    power: NDArray[Any], k: int, circular: bool, hann: bool
) -> tuple[float, float]:
    """Sub-bin location and height of the peak at bin ``k`` from its two neighbours.

    ``hann``: Grandke's exact formula for a periodic Hann window (from the magnitude ratio of
    the larger neighbour); otherwise the vertex of the parabola through the log-power of the
    three bins (exact for a Gaussian window). The height is always the parabola's vertex.
    """
    n = power.size
    if circular:
        left, right = power[(k - 1) % n], power[(k + 1) % n]
    else:
        if k <= 0 or k >= n - 1:
            return float(k), float(power[k])
        left, right = power[k - 1], power[k + 1]
    b = float(power[k])
    if b <= 0 or left <= 0 or right <= 0:
        return float(k), b
    la, lb, lc = math.log(left), math.log(b), math.log(right)
    denom = la - 2 * lb + lc
    delta_par = 0.5 * (la - lc) / denom if denom < 0 else 0.0
    height = math.exp(lb - 0.25 * (la - lc) * delta_par)
    if hann:
        if right >= left:
            alpha = math.sqrt(right / b)
            delta = (2 * alpha - 1) / (alpha + 1)
        else:
            alpha = math.sqrt(left / b)
            delta = -(2 * alpha - 1) / (alpha + 1)
        delta = min(max(delta, -1.0), 1.0)
    else:
        delta = min(max(delta_par, -0.5), 0.5)
    return k + delta, height


def _db(ratio: float) -> float:
    if math.isnan(ratio):
        return math.nan
    if ratio <= 0:
        return -math.inf
    return math.inf if math.isinf(ratio) else 10.0 * math.log10(ratio)


def adc_figures(
    power: NDArray[Any],
    *,
    nfft: int,
    onesided: bool,
    lobe: int,
    n_harmonics: int,
    hann: bool,
) -> AdcFigures:
    """SNR, THD, SINAD, ENOB, SFDR (dB) of the dominant tone of one channel's power spectrum.

    ``power``: per-bin power, ``rfft`` order (one-sided, ``nfft // 2 + 1`` bins) or ``fft``
    order (two-sided, ``nfft`` bins). NaN figures when there is no tone (all zero / NaN).
    """
    p = np.asarray(power, dtype=np.float64)
    nb = p.size
    if nb < 3 or not np.all(np.isfinite(p)):
        return _NAN
    circular = not onesided
    taken = np.zeros(nb, dtype=bool)

    def lobe_idx(centre: int) -> NDArray[np.intp]:
        idx = np.arange(centre - lobe, centre + lobe + 1)
        if circular:
            return idx % nb
        return idx[(idx >= 0) & (idx < nb)]

    taken[lobe_idx(0)] = True  # DC
    search = np.where(taken, -np.inf, p)
    k1 = int(np.argmax(search))
    if not search[k1] > 0:
        return _NAN
    loc, height = interpolate_peak(p, k1, circular, hann)
    fund = lobe_idx(k1)
    fund = fund[~taken[fund]]
    p1_raw = float(p[fund].sum())
    n_fund = fund.size
    taken[fund] = True
    harm_raw: list[tuple[float, int]] = []
    for h in range(2, n_harmonics + 1):
        f = h * loc
        if onesided:
            f = f % nfft
            if f > nfft / 2:
                f = nfft - f
            c = round(f)
        else:
            c = round(f) % nfft
        idx = lobe_idx(c)
        idx = idx[~taken[idx]]
        harm_raw.append((float(p[idx].sum()), idx.size))
        taken[idx] = True
    noise_mask = ~taken
    if onesided and nfft % 2 == 0:
        noise_mask[-1] = False  # the Nyquist bin carries half weight
    n_noise = int(noise_mask.sum())
    if n_noise == 0:
        return AdcFigures(loc, height, *(math.nan,) * 5)
    band_bins = nfft / 2 if onesided else float(nfft)
    per_bin = float(p[noise_mask].mean())
    noise = per_bin * band_bins
    # the tones' bins also hold noise: take out the average noise level (floored at 0)
    p1 = max(p1_raw - per_bin * n_fund, 0.0)
    harm_power = sum(max(raw - per_bin * size, 0.0) for raw, size in harm_raw)
    if p1 == 0.0:
        return AdcFigures(loc, height, *(math.nan,) * 5)
    # largest spur: lobe sum around every bin outside DC and the fundamental, counting only
    # bins that are neither (a spur next to the fundamental must not borrow its power)
    dc_fund = np.zeros(nb, dtype=bool)
    dc_fund[lobe_idx(0)] = True
    dc_fund[lobe_idx(k1)] = True
    rest = np.where(dc_fund, 0.0, p)
    ones = np.ones(2 * lobe + 1)
    if circular:
        sums = np.convolve(np.concatenate([rest[-lobe:], rest, rest[:lobe]]), ones, "valid")
    else:
        sums = np.convolve(rest, ones, mode="same")
    spur = float(np.max(np.where(dc_fund, -np.inf, sums))) if not dc_fund.all() else 0.0
    sinad = _db(p1 / (noise + harm_power))
    return AdcFigures(
        peak_bin=loc,
        peak_power=height,
        snr=_db(p1 / noise),
        thd=_db(harm_power / p1) if harm_power > 0 else -math.inf,
        sinad=sinad,
        enob=(sinad - 1.76) / 6.02,
        sfdr=_db(p1 / spur) if spur > 0 else math.inf,
    )
