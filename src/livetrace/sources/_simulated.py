"""SimulatedSource: a phase-continuous, seeded signal generator paced to real time."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, EndOfStream
from .._pacing import Pacer
from .._protocols import RealtimeSource, SourceInfo
from ._checks import check_chunk_size, check_rate, pick_channels
from ._uri import ParsedURI, to_bool, to_int

__all__ = ["SIGNAL_TYPES", "SimulatedSource"]

_MAX_PERIOD = 1 << 18  # longest period (samples) generated from a precomputed table

SIGNAL_TYPES: tuple[str, ...] = (
    "sine",
    "square",
    "triangle",
    "sawtooth",
    "noise",
    "chirp",
    "multitone",
    "mixed",
    "dc",
)


class SimulatedSource(RealtimeSource):
    """Synthetic waveforms, the same call as oscura's ``SimulatedSource``.

    Every sample is computed from its absolute index, so concatenated chunks equal one long
    generation whatever ``chunk_size`` is (noise included: one seeded generator, drawn in
    order). ``signal_type``:

    ``frequency`` defaults to 1 kHz (a tenth of ``sample_rate`` when 1 kHz would be above the
    Nyquist frequency); a frequency above Nyquist is refused, since it would alias silently.

    - ``sine``, ``square`` (``duty_cycle``), ``triangle``, ``sawtooth``: period ``1/frequency``,
      peak ``amplitude``, starting at ``phase`` radians;
    - ``noise``: Gaussian, standard deviation ``amplitude``;
    - ``chirp``: linear sweep from ``frequency`` to ``chirp_end`` Hz over ``chirp_duration``
      seconds, repeated;
    - ``multitone``: sum of sines ``tones = [(frequency_hz, amplitude), ...]``; ``mixed`` is
      oscura's mix, ``frequency`` plus 0.3 of its third harmonic;
    - ``dc``: constant ``amplitude``.

    ``noise_level`` adds Gaussian noise of standard deviation ``noise_level * amplitude``;
    ``offset`` is added last. With ``channels > 1`` (``n_channels`` is accepted as another
    spelling) channel ``k`` is the same signal shifted by
    ``k * channel_phase`` radians (noise is independent per channel). ``n_samples`` makes the
    source finite (``EndOfStream`` after that many samples).

    Periodic signals whose frequencies are rational multiples of the sample rate with a period
    of at most 2**18 samples (1 kHz at 48 kHz or 1 MS/s, say) are generated once per period and
    then copied, so a chunk costs one copy; others are computed from the absolute index in
    float64.

    ``realtime=True`` (default) paces ``acquire()`` to the sample rate from a monotonic clock
    anchored at the first call, so a 48 kHz source gives 48,000 samples per wall-clock second
    with no drift; ``realtime=False`` generates as fast as it is called. ``stop()`` wakes a
    paced wait at once; ``start()`` after ``stop()`` continues the signal where it stopped.
    """

    def __init__(
        self,
        signal_type: str = "sine",
        *,
        frequency: float | None = None,
        amplitude: float = 1.0,
        sample_rate: float = 48000.0,
        chunk_size: int = 1024,
        noise_level: float = 0.0,
        offset: float = 0.0,
        phase: float = 0.0,
        duty_cycle: float = 0.5,
        tones: Sequence[tuple[float, float]] | None = None,
        chirp_end: float | None = None,
        chirp_duration: float = 1.0,
        channels: int | None = None,
        n_channels: int | None = None,
        channel_phase: float = np.pi / 2,
        seed: int | None = None,
        realtime: bool = True,
        dtype: Any = "float64",
        n_samples: int | None = None,
    ) -> None:
        if signal_type not in SIGNAL_TYPES:
            raise ConfigurationError(
                f"Unknown signal type: {signal_type!r}; expected one of {', '.join(SIGNAL_TYPES)}"
            )
        sample_rate = check_rate("SimulatedSource", sample_rate)
        chunk_size = check_chunk_size("SimulatedSource", chunk_size)
        n_channels = pick_channels("SimulatedSource", channels, n_channels, 1)
        nyquist = sample_rate / 2
        if frequency is None:  # 1 kHz, unless that would alias: then a tenth of the rate
            frequency = 1000.0 if nyquist > 1000.0 else sample_rate / 10
        if frequency < 0 or not np.isfinite(frequency):
            raise ConfigurationError(f"frequency must be finite and >= 0, got {frequency!r}")
        highest = frequency
        if signal_type == "multitone" and tones:
            highest = max(f for f, _ in tones)
        elif signal_type == "chirp":
            highest = max(highest, chirp_end if chirp_end is not None else 10 * frequency)
        elif signal_type == "mixed":
            highest = 3 * frequency
        if signal_type not in ("noise", "dc") and highest > nyquist:
            raise ConfigurationError(
                f"SimulatedSource: {signal_type} at {highest:g} Hz is above the Nyquist "
                f"frequency {nyquist:g} Hz of sample_rate={sample_rate:g}: it would alias to "
                "another frequency; raise sample_rate or lower the frequency"
            )
        if noise_level < 0:
            raise ConfigurationError(f"noise_level must be >= 0, got {noise_level!r}")
        if not 0.0 <= duty_cycle <= 1.0:
            raise ConfigurationError(f"duty_cycle must be within [0, 1], got {duty_cycle!r}")
        if chirp_duration <= 0:
            raise ConfigurationError(f"chirp_duration must be > 0, got {chirp_duration!r}")
        if n_samples is not None and n_samples < 0:
            raise ConfigurationError(f"n_samples must be >= 0 or None, got {n_samples!r}")
        try:
            dt = np.dtype(dtype)
        except TypeError as exc:
            raise ConfigurationError(f"dtype must be float32 or float64, got {dtype!r}") from exc
        if dt.name not in ("float32", "float64"):
            raise ConfigurationError(f"dtype must be float32 or float64, got {dt.name!r}")
        self.signal_type = signal_type
        self.frequency = float(frequency)
        self.amplitude = float(amplitude)
        self.sample_rate = float(sample_rate)
        self.chunk_size = int(chunk_size)
        self.noise_level = float(noise_level)
        self.offset = float(offset)
        self.phase = float(phase)
        self.duty_cycle = float(duty_cycle)
        if signal_type == "mixed":
            tones = [(self.frequency, 1.0), (3 * self.frequency, 0.3)]
        elif tones is None:
            tones = [(self.frequency, 1.0)]
        self.tones = tuple((float(f), float(a)) for f, a in tones)
        self._chirp_end_given = None if chirp_end is None else float(chirp_end)
        self.chirp_end = float(chirp_end if chirp_end is not None else 10 * self.frequency)
        self.chirp_duration = float(chirp_duration)
        self.n_channels = int(n_channels)
        self.channel_phase = float(channel_phase)
        self.seed = seed
        self.realtime = realtime
        self.dtype = dt
        self.n_samples = n_samples
        self._stop = threading.Event()
        self._pacer = Pacer(self.sample_rate, self._stop)
        self._table: NDArray[Any] | None = None
        self._table_period = 0
        self._no_table = False
        self.reset()

    def reset(self) -> None:
        """Rewind to sample 0 (and re-seed the noise)."""
        self._index = 0
        self._rng = np.random.default_rng(self.seed)
        self._pacer.reanchor()

    @property
    def info(self) -> SourceInfo:
        return self._calibrated(
            SourceInfo(
                sample_rate=self.sample_rate,
                dtype=self.dtype.name,
                n_channels=self.n_channels,
                finite=self.n_samples is not None,
                backpressure=True,
                description=self._description(),
            )
        )

    def _description(self) -> str:
        """The ``sim:`` URI that recreates this source (defaults left out)."""
        parts = [f"frequency={self.frequency:g}", f"sample_rate={self.sample_rate:g}"]
        optional = [
            ("amplitude", self.amplitude, 1.0),
            ("noise_level", self.noise_level, 0.0),
            ("offset", self.offset, 0.0),
            ("phase", self.phase, 0.0),
            ("duty_cycle", self.duty_cycle, 0.5),
            ("chirp_end", self._chirp_end_given, None),
            ("chirp_duration", self.chirp_duration, 1.0),
            ("channels", self.n_channels, 1),
            ("seed", self.seed, None),
            ("chunk_size", self.chunk_size, 1024),
            ("samples", self.n_samples, None),
        ]
        for name, value, default in optional:
            if value != default:
                parts.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
        if not self.realtime:
            parts.append("realtime=0")
        if self.dtype != np.float64:
            parts.append(f"dtype={self.dtype.name}")
        return f"sim:{self.signal_type}?" + "&".join(parts)

    @property
    def samples_generated(self) -> int:
        """Absolute index of the next sample."""
        return self._index

    def start(self) -> None:
        self._stop.clear()
        self._pacer.reanchor()

    def stop(self) -> None:
        self._stop.set()

    def acquire(self) -> NDArray[Any] | None:
        """Generate the next ``chunk_size`` samples (fewer at the end of a finite source)."""
        n = self.chunk_size
        if self.n_samples is not None:
            n = min(n, self.n_samples - self._index)
            if n <= 0:
                raise EndOfStream(f"SimulatedSource: all {self.n_samples} samples delivered")
        if self.realtime and not self._pacer.wait(self._index, self._index + n):
            return None
        data = self.generate(self._index, n)
        self._index += n
        return data

    def generate(self, start: int, n: int) -> NDArray[Any]:
        """Samples ``start .. start+n-1`` of the signal.

        Noise (``noise`` type and ``noise_level``) is drawn from the source's generator, so
        call this in index order when noise is on; :meth:`acquire` does.
        """
        if self.signal_type == "noise":
            out = self._noise(n)
            out *= self.dtype.type(self.amplitude)
        else:
            table = self._period_table()
            if table is None:
                out = self._direct(np.arange(start, start + n, dtype=np.float64))
            else:
                out = self._from_table(table, start, n)
        if self.noise_level > 0 and self.signal_type != "noise":
            out += self._noise(n) * (self.noise_level * self.amplitude)
        if self.offset:
            out += self.offset
        return out

    def _direct(self, idx: NDArray[np.float64]) -> NDArray[Any]:
        chans = [
            self._channel(idx, self.phase + ch * self.channel_phase)
            for ch in range(self.n_channels)
        ]
        return chans[0] if self.n_channels == 1 else np.stack(chans, axis=1)

    def _period(self) -> int | None:
        """Samples per period when every frequency is a rational multiple of the rate."""
        if self.signal_type == "dc":
            return 1
        if self.signal_type == "chirp":
            period = self.chirp_duration * self.sample_rate
            return int(period) if period == int(period) else None
        freqs = (
            [f for f, _ in self.tones]
            if self.signal_type in ("sine", "multitone", "mixed")
            else [self.frequency]
        )
        q = 1
        rate = Fraction(self.sample_rate)
        for f in freqs:
            q = math.lcm(q, (Fraction(f) / rate).denominator)
            if q > _MAX_PERIOD:
                return None
        return q

    def _period_table(self) -> NDArray[Any] | None:
        """One period of the signal, tiled to cover a chunk from any phase (or None).

        Every sample is ``table[index % period]`` whatever the chunking, so concatenated
        chunks still equal one long generation, and a chunk costs one copy.
        """
        if self._table is not None or self._no_table:
            return self._table
        q = self._period()
        if q is None or q > _MAX_PERIOD:
            self._no_table = True
            return None
        one = self._direct(np.arange(q, dtype=np.float64))
        reps = -(-(self.chunk_size + q) // q)
        self._table = np.concatenate([one] * reps) if reps > 1 else one
        self._table_period = q
        return self._table

    def _from_table(self, table: NDArray[Any], start: int, n: int) -> NDArray[Any]:
        q = self._table_period
        span = len(table) - q  # samples available from any phase
        out = np.empty((n, *table.shape[1:]), dtype=table.dtype)
        done = 0
        while done < n:
            r = (start + done) % q
            k = min(span, n - done)
            out[done : done + k] = table[r : r + k]
            done += k
        return out

    def _noise(self, n: int) -> NDArray[Any]:
        shape = (n,) if self.n_channels == 1 else (n, self.n_channels)
        return self._rng.standard_normal(shape, dtype=self.dtype.type)

    def _cycles(self, idx: NDArray[np.float64], freq: float, phase: float) -> NDArray[Any]:
        """Fraction of the period at each index, in [0, 1), computed in float64."""
        c = idx * (freq / self.sample_rate)
        if phase:
            c += phase / (2 * np.pi)
        c -= np.floor(c)
        return c

    def _channel(self, idx: NDArray[np.float64], phase: float) -> NDArray[Any]:
        kind = self.signal_type
        dt = self.dtype
        a = self.amplitude
        if kind == "dc":
            return np.full(len(idx), a, dtype=dt)
        if kind in ("sine", "multitone", "mixed"):
            out = np.zeros(len(idx), dtype=dt)
            for f, amp in self.tones:
                frac = self._cycles(idx, f, phase).astype(dt, copy=False)
                frac *= dt.type(2 * np.pi)
                np.sin(frac, out=frac)
                frac *= dt.type(a * amp)
                out += frac
            return out
        if kind == "chirp":
            period = self.chirp_duration * self.sample_rate
            t = np.mod(idx, period) / self.sample_rate
            k = (self.chirp_end - self.frequency) / self.chirp_duration
            cyc = self.frequency * t + 0.5 * k * t * t + phase / (2 * np.pi)
            cyc -= np.floor(cyc)
            return (a * np.sin(2 * np.pi * cyc)).astype(dt, copy=False)
        frac = self._cycles(idx, self.frequency, phase)
        if kind == "square":
            return np.where(frac < self.duty_cycle, a, -a).astype(dt, copy=False)
        if kind == "triangle":
            f2 = frac - 0.25
            f2 -= np.floor(f2)
            return (a * (4.0 * np.abs(f2 - 0.5) - 1.0)).astype(dt, copy=False)
        # sawtooth
        return (a * (2.0 * frac - 1.0)).astype(dt, copy=False)

    def __repr__(self) -> str:
        return (
            f"SimulatedSource({self.signal_type!r}, frequency={self.frequency:g}, "
            f"sample_rate={self.sample_rate:g}, chunk_size={self.chunk_size}, "
            f"realtime={self.realtime})"
        )


def from_uri(parsed: ParsedURI) -> SimulatedSource:
    """``sim:TYPE?frequency=..&sample_rate=..&amplitude=..&noise_level=..&offset=..&seed=..
    &chunk_size=..&channels=..&realtime=0|1&dtype=float32|float64&samples=N&phase=..
    &duty_cycle=..&chirp_end=..&chirp_duration=..``; TYPE is one of sine, square, triangle,
    sawtooth, noise, chirp, multitone, mixed, dc."""
    kind = parsed.target or "sine"
    p = parsed
    seed = p.take("seed", to_int, None)
    samples = p.take("samples", to_int, None, aliases=("n_samples",))
    return SimulatedSource(
        kind,
        frequency=p.take("frequency", float, None, aliases=("freq", "f")),
        amplitude=p.take("amplitude", float, 1.0, aliases=("amp",)),
        sample_rate=p.take("sample_rate", float, 48000.0, aliases=("rate", "fs")),
        chunk_size=p.take("chunk_size", to_int, 1024),
        noise_level=p.take("noise_level", float, 0.0, aliases=("noise",)),
        offset=p.take("offset", float, 0.0),
        phase=p.take("phase", float, 0.0),
        duty_cycle=p.take("duty_cycle", float, 0.5, aliases=("duty",)),
        chirp_end=p.take("chirp_end", float, None),
        chirp_duration=p.take("chirp_duration", float, 1.0),
        channels=p.take("channels", to_int, 1, aliases=("n_channels",)),
        seed=seed,
        realtime=p.take("realtime", to_bool, True),
        dtype=p.take("dtype", str, "float64"),
        n_samples=samples,
    )
