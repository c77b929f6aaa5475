"""Scope: a sink that serves a live oscilloscope page for the stream it is attached to."""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .._config import RealtimeConfig
from .._errors import ConfigurationError, require
from .._protocols import SourceInfo
from .._types import WaveformTrace
from ..analysis import FrequencyCounter, RealtimeAnalyzer, Spectrum
from ._decimate import History
from ._frames import TimeFramer

if TYPE_CHECKING:
    from ._server import Server

__all__ = ["Scope"]

_LOCAL = ("127.0.0.1", "localhost", "::1")
_COARSE_BUCKETS = 1 << 20


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays to floats and lists, NaN/inf to None."""
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


class Scope:
    """A live oscilloscope in the browser for a stream: attach it as a sink.

    ``stream.add_sink(Scope(health=stream.health))`` serves the page at :attr:`url` from the
    moment the stream starts (``open``) until it stops (``close``); everything the page shows
    is computed here, in Python, from every sample the stream delivers, and the page only
    draws it. Used as a context manager (``with Scope(...) as scope:``) the server starts at
    ``__enter__`` and outlives the stream until ``__exit__``, so a finished recording stays
    on screen.

    Parameters (keyword-only):

    - ``host``, ``port``: where to listen. The default ``127.0.0.1`` serves this machine only;
      any other address is reachable from the network and emits a :class:`UserWarning`.
      ``port=0`` picks a free port (read it from :attr:`url`).
    - ``health``: a callable returning the stream's health (``stream.health``, or any
      mapping) for the page's honesty bar (buffer fill, samples dropped, source errors,
      state). Without it the bar shows what the scope itself sees: input rate, gaps and lost
      samples, from the chunks.
    - ``history``: seconds of raw samples kept for display (at most ``max_samples`` per
      channel): the span a triggered view and the raw-frame download can reach.
    - ``envelope_history``: seconds of the past kept as a min/max envelope (2**20 buckets
      per channel, 8 MiB): the slowest time base; zoomed out that far, each pixel column
      still shows the true minimum and maximum of its samples.
    - ``fps``: frames per second sent to each browser at most.
    - ``stats_window``: seconds over which mean, rms, min, max and p-p are measured.
    - ``gate``: seconds of the frequency counter's gate.
    - ``nperseg``: samples per segment of the Welch spectrum (Blackman-Harris, segments side
      by side without overlap, mean of the last 8; computed only while a browser shows the
      frequency view).

    Threads: ``open``/``write``/``close`` run in the stream's consumer thread; ``write`` copies
    the chunk into the scope's history under a short lock and updates the analysers, and never
    waits for a browser. The server runs in its own thread (``livetrace-scope``) with its own
    event loop; it builds each browser's frames at display rate from the history. Several
    browsers can connect, each with its own view; one that is slow or paused skips frames
    (counted, and shown to it) and slows nothing else.

    Measurements (mean, rms, min, max, p-p from :class:`~livetrace.RealtimeAnalyzer`,
    frequency from :class:`~livetrace.analysis.FrequencyCounter`, the spectrum and SNR, THD,
    SINAD, ENOB, SFDR from :class:`~livetrace.analysis.Spectrum`) see every sample, never the
    decimated picture. Complex streams are displayed and measured by their real part.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8050,
        health: Callable[[], Any] | None = None,
        history: float = 10.0,
        max_samples: int = 1 << 23,
        envelope_history: float = 3600.0,
        fps: float = 60.0,
        stats_window: float = 0.1,
        gate: float = 0.25,
        nperseg: int = 4096,
    ) -> None:
        require("aiohttp", "web")
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be an int in 0..65535, got {port!r}")
        for name, value in (
            ("history", history),
            ("envelope_history", envelope_history),
            ("fps", fps),
            ("stats_window", stats_window),
            ("gate", gate),
        ):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ConfigurationError(f"{name} must be a number > 0, got {value!r}")
        if not isinstance(max_samples, int) or max_samples < 1024:
            raise ConfigurationError(f"max_samples must be an int >= 1024, got {max_samples!r}")
        self.host = host
        self.port = port
        self.fps = float(fps)
        self._health = health
        self._history_s = float(history)
        self._envelope_s = float(envelope_history)
        self._max_samples = max_samples
        self._stats_window = float(stats_window)
        self._gate = float(gate)
        self._nperseg = int(nperseg)
        self._lock = threading.Lock()
        self._server: Server | None = None
        self._managed = False  # started by __enter__/start(): outlives the stream
        self.info: SourceInfo | None = None
        self.history: History | None = None
        self._spectrum_wanted = 0  # browsers showing the frequency view
        self._spectrum: Spectrum | None = None
        self._spectrum_restart = False
        self._spectrum_seq = 0
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._state = "idle"
        self._samples = 0
        self._gaps = 0
        self._lost = 0
        self._arrivals: deque[tuple[float, int]] = deque(maxlen=4096)
        self._measure: dict[str, Any] = {}
        self._spectrum_snapshot: Any = None
        self._next_measure = 0.0

    # ------------------------------------------------------------------ server lifecycle
    @property
    def url(self) -> str:
        """``http://host:port/`` of the page (the real port when ``port=0``)."""
        if self._server is None:
            raise ConfigurationError("the scope is not serving: start it or start its stream")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self._server.port}/"

    def start(self) -> None:
        """Start serving now (the page waits for a stream until one opens the scope)."""
        self._managed = True
        self._start_server()

    def stop(self) -> None:
        """Stop serving: close every browser's connection and join the server thread."""
        self._managed = False
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> Scope:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_server(self) -> None:
        if self._server is not None:
            return
        if self.host not in _LOCAL:
            warnings.warn(
                f"the scope listens on {self.host}: anyone who can reach this address can see "
                "the signal",
                UserWarning,
                stacklevel=3,
            )
        from ._server import Server

        server = Server(self, self.host, self.port)
        server.start()
        self._server = server

    # ------------------------------------------------------------------ sink protocol
    def open(self, info: SourceInfo) -> None:
        """Called by the stream when it starts: size the history and start serving."""
        rate = float(info.sample_rate)
        given = np.dtype(info.dtype)
        wide = (given.kind == "f" and given.itemsize >= 8) or (
            given.kind == "c" and given.itemsize >= 16
        )
        dtype = np.float64 if wide else np.float32
        capacity = int(min(self._max_samples, max(4096, round(self._history_s * rate))))
        cfg = RealtimeConfig(
            sample_rate=rate,
            n_channels=info.n_channels,
            buffer_size=max(1024, round(self._stats_window * rate)),
            window_size=max(1, round(self._stats_window * rate)),
        )
        with self._lock:
            if self.info is None or self.info != info:
                # the coarse envelope: 2**20 buckets of a power of two >= 16 samples
                per = max(16, math.ceil(self._envelope_s * rate / _COARSE_BUCKETS))
                coarse = (1 << (per - 1).bit_length(), _COARSE_BUCKETS)
                self.history = History(capacity, info.n_channels, dtype, coarse=coarse)
                self._stats = RealtimeAnalyzer(cfg)
                self._counter = FrequencyCounter(
                    channel=None,
                    gate=self._gate,
                    sample_rate=rate,
                    auto_samples=max(2, min(65536, round(0.05 * rate))),
                )
                # segments side by side (no overlap): every sample in exactly one segment,
                # at half the cost of the usual 50 % overlap, so fast streams keep up
                self._spectrum = Spectrum(
                    sample_rate=rate,
                    nperseg=self._nperseg,
                    noverlap=0,
                    window="blackmanharris",
                    average="last",
                    n_average=8,
                )
                self._reset_counters()
            self.info = info
            self._state = "running"
        self._start_server()

    def write(self, chunk: WaveformTrace) -> None:
        """Take one chunk (consumer thread): store it for display and update the measurements."""
        history = self.history
        if history is None:
            raise ConfigurationError("Scope.write before open(): add the scope to a stream")
        data = chunk.data
        meta = chunk.metadata
        history.write(data, meta.start_index)
        n = len(data)
        now = time.monotonic()
        real = chunk if not np.iscomplexobj(data) else WaveformTrace(data.real, meta)
        if n:
            self._stats.accumulate(real.data)
            self._counter.update(real)
            spectrum = self._spectrum
            if self._spectrum_wanted and spectrum is not None:
                if self._spectrum_restart:
                    self._spectrum_restart = False
                    spectrum.reset()
                spectrum.update(real)
        with self._lock:
            if meta.gap > 0 or meta.discontinuity:
                self._gaps += 1
                self._lost += max(0, meta.gap)
            self._samples += n
            self._arrivals.append((now, meta.start_index + n))
        if now >= self._next_measure:
            self._next_measure = now + 0.1
            self._snapshot()

    def close(self) -> None:
        """Called by the stream when it stops: keep the last picture; stop serving unless the
        scope was started by ``start()`` or ``with``."""
        if self.history is not None:
            self._snapshot()
        with self._lock:
            self._state = "stopped"
        if not self._managed:
            self.stop()

    # ------------------------------------------------------------------ measurements
    def _snapshot(self) -> None:
        """Copy the analysers' results into plain values the server thread may read."""
        info = self.info
        if info is None:
            return
        n_ch = info.n_channels
        per: list[dict[str, Any]] = [{} for _ in range(n_ch)]
        if self._stats.n_accumulated:
            st = self._stats.get_statistics()
            for key in ("mean", "rms", "min", "max", "peak_to_peak"):
                vals = np.atleast_1d(np.asarray(st[key]))
                for c in range(n_ch):
                    v = vals[c] if vals.size > c else np.nan
                    per[c][key] = float(abs(v)) if np.iscomplexobj(v) else float(v)
        fr = self._counter.result
        freqs = np.atleast_1d(np.asarray(fr.frequency, dtype=float))
        for c in range(n_ch):
            per[c]["frequency"] = float(freqs[c]) if freqs.size > c else math.nan
        spec: Any = None
        if self._spectrum_wanted and self._spectrum is not None and self._spectrum.n_segments_seen:
            sr = self._spectrum.result
            for key in ("peak_frequency", "snr", "thd", "sinad", "enob", "sfdr"):
                vals = np.atleast_1d(np.asarray(sr[key], dtype=float))
                for c in range(n_ch):
                    per[c][key] = float(vals[c]) if vals.size > c else math.nan
            db = np.atleast_2d(np.asarray(sr.psd_db, dtype=np.float32))
            if db.shape[0] != n_ch:
                db = db.T
            freqs_hz = np.asarray(sr.frequencies, dtype=float)
            self._spectrum_seq += 1
            spec = (self._spectrum_seq, freqs_hz, db.copy())
        with self._lock:
            self._measure = {"channels": per}
            self._spectrum_snapshot = spec

    def want_spectrum(self, on: bool) -> None:
        """A browser turned the frequency view on (True) or off (False)."""
        with self._lock:
            before = self._spectrum_wanted
            self._spectrum_wanted = max(0, before + (1 if on else -1))
            if before == 0 and self._spectrum_wanted and self._spectrum is not None:
                self._spectrum_restart = True

    def spectrum_snapshot(self) -> Any:
        """``(sequence number, frequencies, db (channels, bins))`` of the last spectrum, or
        None."""
        with self._lock:
            return self._spectrum_snapshot

    def arrival_time(self, index: int) -> float | None:
        """``time.monotonic()`` when the sample at absolute ``index`` reached the scope (None
        when it is older than the arrivals remembered)."""
        with self._lock:
            found: float | None = None
            for t, end in reversed(self._arrivals):
                if end <= index:
                    break
                found = t
            return found

    def status(self) -> dict[str, Any]:
        """The stream's health and the latest measurements per channel (JSON-ready)."""
        info = self.info
        with self._lock:
            own = {
                "state": self._state,
                "samples": self._samples,
                "gaps": self._gaps,
                "lost": self._lost,
            }
            arrivals = list(self._arrivals)
            measure = dict(self._measure)
        recent = [(t, e) for t, e in arrivals if arrivals and arrivals[-1][0] - t <= 1.0]
        rate = 0.0
        if len(recent) > 1 and recent[-1][0] > recent[0][0]:
            rate = (recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0])
        health: dict[str, Any] = {"input_rate": rate, "dropped": own["lost"], **own}
        if self._health is not None:
            try:
                health.update(dict(self._health()))
            except Exception as exc:  # the page must keep showing the signal
                health["health_error"] = f"{type(exc).__name__}: {exc}"
        server = self._server
        out: dict[str, Any] = {
            "health": health,
            "measurements": measure.get("channels", []),
            "stream": None
            if info is None
            else {
                "sample_rate": info.sample_rate,
                "n_channels": info.n_channels,
                "channel_names": list(info.channel_names)
                or [f"ch{i}" for i in range(info.n_channels)],
                "units": list(info.units) or ["" for _ in range(info.n_channels)],
                "dtype": info.dtype,
                "description": info.description,
                "history": None if self.history is None else self.history.capacity,
                "longest_window": None
                if self.history is None
                else TimeFramer.longest(self.history),
            },
            "server": None if server is None else server.stats(),
        }
        return _jsonable(out)  # type: ignore[no-any-return]  # a dict in, a dict out
