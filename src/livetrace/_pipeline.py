"""The consumer side of a stream as one object: :class:`Pipeline`.

Every delivered chunk goes through the same steps, in this order: transforms, the built-in
statistics, analysers (their results are put in ``chunk.results``), sinks, then ``on_chunk``.
:class:`~livetrace.RealtimeStream` runs its pipeline in the consumer thread; the command line
builds streams with sinks and analysers rather than consumer loops of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ._config import RealtimeConfig
from ._errors import ConfigurationError, SinkError
from ._protocols import Analyzer, Sink, SourceInfo, Transform
from ._types import TraceMetadata, WaveformTrace
from .analysis._stats import RealtimeAnalyzer, Statistics

__all__ = ["Pipeline"]


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


class Pipeline:
    """Transforms → statistics → analysers → sinks → ``on_chunk``, for every chunk.

    ``info`` describes the chunks that enter. Transforms are attached with the description of
    what reaches them, and analysers and sinks with the description of what leaves the last
    transform (a decimator's ``output_info`` lowers the rate). Statistics
    (``config.window_size``) may be read from any thread with :meth:`statistics`; everything
    else runs in the thread calling :meth:`process`.
    Exceptions from transforms, analysers and ``on_chunk`` propagate unchanged; a sink's
    exception becomes :class:`~livetrace.SinkError` chained to it.
    """

    def __init__(
        self,
        config: RealtimeConfig,
        info: SourceInfo,
        *,
        transforms: Iterable[Transform] = (),
        analyzers: Iterable[Analyzer] = (),
        sinks: Iterable[Sink] = (),
        on_chunk: Callable[[WaveformTrace], None] | None = None,
    ) -> None:
        self.config = config
        self.info = info
        self.on_chunk = on_chunk
        self._stats = RealtimeAnalyzer(config)
        self._stats_lock = threading.Lock()
        self._transforms: list[Transform] = []
        self._analyzers: list[tuple[str, Analyzer]] = []
        self._sinks: list[Sink] = []
        self._sinks_open = False
        self.chunks = 0
        """Chunks that went through every step before ``on_chunk``."""
        self.samples = 0
        """Samples of those chunks (counted before the transforms)."""
        for transform in transforms:
            self.add_transform(transform)
        for analyzer in analyzers:
            self.add_analyzer(analyzer)
        for sink in sinks:
            self.add_sink(sink)

    # ------------------------------------------------------------------ building
    def add_analyzer(self, analyzer: Analyzer, name: str | None = None) -> Analyzer:
        """Attach an analyser; its result goes to ``chunk.results[name]``. Returns it."""
        if not isinstance(analyzer, Analyzer):
            raise TypeError(
                "an analyser needs update(chunk), reset() and result; "
                f"got {type(analyzer).__name__}"
            )
        key = name or getattr(analyzer, "name", None) or _snake(type(analyzer).__name__)
        if any(k == key for k, _ in self._analyzers):
            raise ConfigurationError(
                f"an analyser named {key!r} is already attached; pass name=..."
            )
        attach = getattr(analyzer, "attach", None)
        if callable(attach):
            attach(self.output_info)
        self._analyzers.append((key, analyzer))
        return analyzer

    def add_transform(self, transform: Transform) -> Transform:
        """Append a transform applied before statistics and analysers. Returns it."""
        if not isinstance(transform, Transform):
            raise TypeError(
                f"a transform needs process(chunk) and reset(); got {type(transform).__name__}"
            )
        attach = getattr(transform, "attach", None)
        if callable(attach):
            attach(self.output_info)
        self._transforms.append(transform)
        return transform

    def add_sink(self, sink: Sink) -> Sink:
        """Append a sink (opened by :meth:`open_sinks`). Returns it."""
        if not isinstance(sink, Sink):
            raise TypeError(f"a sink needs open(info), write(chunk) and close(); got {sink!r}")
        self._sinks.append(sink)
        return sink

    @property
    def output_info(self) -> SourceInfo:
        """The description of the chunks analysers and sinks receive (after the transforms)."""
        info = self.info
        for transform in self._transforms:
            describe = getattr(transform, "output_info", None)
            if callable(describe):
                info = describe(info)
        return info

    @property
    def analyzers(self) -> dict[str, Analyzer]:
        """Attached analysers by name."""
        return dict(self._analyzers)

    @property
    def transforms(self) -> tuple[Transform, ...]:
        return tuple(self._transforms)

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return tuple(self._sinks)

    # ------------------------------------------------------------------ sinks' lifetime
    @property
    def sinks_open(self) -> bool:
        return self._sinks_open

    def open_sinks(self, info: SourceInfo) -> None:
        """Open every sink with ``info`` (no-op when open); on failure the ones already
        opened are closed again and :class:`~livetrace.SinkError` is raised."""
        if self._sinks_open:
            return
        self.info = info
        out = self.output_info
        opened: list[Sink] = []
        for sink in self._sinks:
            try:
                sink.open(out)
            except Exception as exc:
                for done in opened:
                    done.close()
                raise SinkError(f"sink {type(sink).__name__} failed to open: {exc}") from exc
            opened.append(sink)
        self._sinks_open = True

    def close_sinks(self) -> None:
        """Close every sink once; the first failure is raised as SinkError after all ran."""
        if not self._sinks_open:
            return
        self._sinks_open = False
        errors: list[BaseException] = []
        for sink in self._sinks:
            try:
                sink.close()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise SinkError(f"sink failed to close: {errors[0]}") from errors[0]

    # ------------------------------------------------------------------ per chunk
    def process(self, chunk: WaveformTrace) -> WaveformTrace:
        """Run one chunk through every step; returns the chunk after the transforms.

        The chunk is counted in :attr:`chunks`/:attr:`samples` once the sinks took it, so a
        failing ``on_chunk`` does not make it undelivered.
        """
        n_in = len(chunk.data)
        for transform in self._transforms:
            chunk = transform.process(chunk)
        with self._stats_lock:
            self._stats.accumulate(chunk.data)
        if self._analyzers:
            results = chunk.results
            for key, analyzer in self._analyzers:
                analyzer.update(chunk)
                results[key] = analyzer.result
        if self._sinks:
            self._write_sinks(
                chunk, "failed; the stream was stopped so that no data is lost silently"
            )
        self.chunks += 1
        self.samples += n_in
        if self.on_chunk is not None:
            self.on_chunk(chunk)
        return chunk

    def report_final_loss(self, start_index: int, lost: int, start_time: float) -> bool:
        """Tell sinks that ``lost`` samples before ``start_index`` follow no chunk.

        Sinks get one empty chunk at ``start_index`` whose ``gap`` is the loss. Skipped (False)
        with transforms, whose output numbering may differ (e.g. a decimator), and when no
        sink is open.
        """
        if lost <= 0 or not self._sinks or self._transforms or not self._sinks_open:
            return False
        cfg = self.config
        meta = TraceMetadata(
            sample_rate=cfg.sample_rate,
            start_index=start_index,
            start_time=start_time,
            channel_names=self.info.channel_names,
            units=self.info.units,
            gap=lost,
            discontinuity=True,
        )
        shape = (0,) if cfg.n_channels == 1 else (0, cfg.n_channels)
        marker = WaveformTrace(np.empty(shape, dtype=cfg.np_dtype), meta)
        self._write_sinks(marker, "failed to record the final loss")
        return True

    def _write_sinks(self, chunk: WaveformTrace, failure: str) -> None:
        """Write ``chunk`` to every sink; a sink's exception becomes :class:`SinkError`
        ("sink NAME <failure>: <exception>")."""
        for sink in self._sinks:
            try:
                sink.write(chunk)
            except Exception as exc:
                raise SinkError(f"sink {type(sink).__name__} {failure}: {exc}") from exc

    # ------------------------------------------------------------------ results
    def statistics(self) -> Statistics:
        """Window statistics of what went through (any thread); empty before any sample."""
        with self._stats_lock:
            if self._stats.n_accumulated == 0:
                return Statistics.empty(self.config.n_channels)
            return self._stats.get_statistics()

    def cumulative_statistics(self) -> Statistics:
        """Statistics since the start (any thread); empty before any sample."""
        with self._stats_lock:
            if self._stats.n_accumulated == 0:
                return Statistics.empty(self.config.n_channels)
            return self._stats.get_cumulative_statistics()

    def results(self) -> dict[str, Any]:
        """Each analyser's current result, by name."""
        return {key: analyzer.result for key, analyzer in self._analyzers}

    def reset(self) -> None:
        """Reset statistics, analysers and transforms to their fresh state."""
        with self._stats_lock:
            self._stats.reset()
        for _, analyzer in self._analyzers:
            analyzer.reset()
        for transform in self._transforms:
            transform.reset()
