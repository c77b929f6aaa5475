"""RealtimeStream: an owned acquisition thread, a lossless buffer, and in-order chunk delivery.

Threads: ``start()`` launches one acquisition thread that calls ``source.acquire()`` and writes
into the buffer. Everything else, reading chunks, transforms, statistics, analysers, sinks
and ``on_chunk``, runs in the consumer's thread, the one iterating the stream (or calling
:meth:`RealtimeStream.run`). ``stop()`` may be called from any thread.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ._buffer import BufferInterrupted, BufferStats, RealtimeBuffer
from ._config import SUPPORTED_DTYPES, RealtimeConfig
from ._errors import (
    BufferClosedError,
    BufferOverflowError,
    ConfigurationError,
    EndOfStream,
    SinkError,
    SourceError,
    StreamStateError,
)
from ._health import SourceErrorRecord, StreamHealth, StreamState
from ._pacing import default_chunk
from ._pipeline import Pipeline
from ._protocols import Analyzer, Block, RealtimeSource, Sink, SourceInfo, Transform
from ._types import TraceMetadata, WaveformTrace
from .analysis._stats import Statistics

__all__ = ["RealtimeStream", "SourceErrorRecord", "StreamHealth"]

_STOP_BUDGET = 0.45  # seconds stop() may spend joining the acquisition thread
_RATE_WINDOW = 1.0  # seconds over which the input rate is measured


def _check_source_fits(config: RealtimeConfig, source: RealtimeSource) -> None:
    """``ConfigurationError`` when a self-describing source cannot fit the configuration.

    A channel-count mismatch would interleave channels into one (or fail on every write), a
    different rate would put wrong times and frequencies on every chunk, and complex samples
    cannot go into a real buffer; all are caught here rather than on the first write.
    """
    info = source.info
    if info is None:
        return
    name = type(source).__name__
    hint = "; RealtimeStream.from_source(source) takes these from the source"
    if info.n_channels != config.n_channels:
        raise ConfigurationError(
            f"{name} delivers {info.n_channels} channel(s) but the config has n_channels="
            f"{config.n_channels}{hint}"
        )
    if not np.isclose(info.sample_rate, config.sample_rate, rtol=1e-9, atol=0.0):
        raise ConfigurationError(
            f"{name} samples at {info.sample_rate:g} Hz but the config has sample_rate="
            f"{config.sample_rate:g}{hint}"
        )
    if np.dtype(info.dtype).kind == "c" and config.np_dtype.kind != "c":
        raise ConfigurationError(
            f"{name} delivers complex samples ({info.dtype}) but the config's dtype is "
            f"{config.np_dtype.name}: use complex64 or complex128{hint}"
        )


class RealtimeStream:
    """A source, a buffer and the consumer side: iterate it to get chunks in order, none lost.

    Chunks are :class:`~livetrace.WaveformTrace` objects of exactly ``config.chunk_size``
    samples, except the last one at end of stream and one that ends right before a loss
    (so that no chunk splices samples from both sides of a gap). Their metadata carries the
    absolute ``start_index``, ``start_time``, channel names and the gap before them.

    ``analyzers`` are updated and ``transforms`` applied in the consumer thread for every
    chunk, in this order: transforms, statistics, analysers, sinks, ``on_chunk``; each
    analyser's result is put in ``chunk.results``. Exceptions from ``on_chunk`` propagate to
    the consumer; sink failures stop the stream and raise :class:`~livetrace.SinkError`; a
    source that keeps failing (see ``config.retry``) ends iteration with
    :class:`~livetrace.SourceError` after every sample acquired before the failure.

    Example:
        >>> from livetrace import RealtimeConfig, RealtimeStream, SimulatedSource
        >>> src = SimulatedSource("sine", sample_rate=1000, chunk_size=100, n_samples=250,
        ...                       realtime=False)
        >>> cfg = RealtimeConfig(sample_rate=1000, chunk_size=100, buffer_size=1000)
        >>> with RealtimeStream(cfg, src) as stream:
        ...     print([(c.metadata.start_index, len(c)) for c in stream])
        [(0, 100), (100, 100), (200, 50)]
    """

    def __init__(
        self,
        config: RealtimeConfig,
        source: RealtimeSource,
        on_chunk: Callable[[WaveformTrace], None] | None = None,
        *,
        analyzers: Iterable[Analyzer] = (),
        transforms: Iterable[Transform] = (),
        sinks: Iterable[Sink] = (),
    ) -> None:
        config.validate()
        _check_source_fits(config, source)
        self.config = config
        self.source = source
        self._buffer = RealtimeBuffer(config)
        self._channel_names = config.effective_channel_names
        self._units = config.effective_units
        self._state = StreamState.IDLE
        self._stop_event = threading.Event()
        self._acquire_thread: threading.Thread | None = None
        self._leaked_threads: list[threading.Thread] = []
        self._delivered_end = 0  # absolute index after the last delivered sample
        self._errors: deque[SourceErrorRecord] = deque(maxlen=100)
        self._n_errors = 0
        self._pending: tuple[np.ndarray[Any, Any], int, bool] | None = None
        self._rate_log: deque[tuple[float, int]] = deque()
        self._last_data = time.monotonic()  # when the source last delivered samples
        self._acquiring = False  # the acquisition thread runs
        self._watchdog: threading.Thread | None = None
        self._failure_delivered = False  # the consumer got the error that ended the stream
        self._t0: float | None = None
        self._lock = threading.Lock()
        # held by the consumer while it reads and processes a chunk; stop() takes it before
        # closing sinks so that a sink is never closed in the middle of a write
        self._consumer_lock = threading.RLock()
        self.pipeline = Pipeline(
            config,
            self.info,
            transforms=transforms,
            analyzers=analyzers,
            sinks=sinks,
            on_chunk=on_chunk,
        )

    # ------------------------------------------------------------------ building
    @classmethod
    def from_source(
        cls,
        source: RealtimeSource,
        *,
        chunk_size: int | None = None,
        buffer_size: int | None = None,
        on_chunk: Callable[[WaveformTrace], None] | None = None,
        analyzers: Iterable[Analyzer] = (),
        transforms: Iterable[Transform] = (),
        sinks: Iterable[Sink] = (),
        **config: Any,
    ) -> RealtimeStream:
        """Build a stream from what ``source.info`` says (rate, dtype, channels, names, units).

        ``chunk_size`` defaults to about 10 ms of samples (at least 256, at most
        ``buffer_size``) and ``buffer_size`` to the larger of 2 s of samples and 16 chunks.
        Integer sources (ADC counts) get a float32 buffer and the source's ``scale``/``offset``.
        ``overflow`` defaults to ``"block"`` (lossless) when the source supports backpressure
        (``info.backpressure``: files, pipes, TCP, simulators) and to ``"overwrite"``
        otherwise. Further ``RealtimeConfig`` fields (``overflow``, ``window_size``...) may be
        passed as keywords.
        """
        info = source.info
        if info is None:
            raise TypeError(
                f"{type(source).__name__} does not describe itself (its info is None); "
                "build RealtimeConfig yourself and use RealtimeStream(config, source)"
            )
        rate = float(info.sample_rate)
        chunk = chunk_size or default_chunk(rate)
        if buffer_size and not chunk_size:
            chunk = min(chunk, buffer_size)  # a small buffer_size caps the default chunk
        buf = buffer_size or max(int(2 * rate), 16 * chunk)
        src_dtype = np.dtype(info.dtype)
        if src_dtype.name in SUPPORTED_DTYPES:
            dtype = src_dtype.name
        elif src_dtype.kind == "c":
            dtype = "complex128"
        elif (src_dtype.kind == "f" and src_dtype.itemsize <= 4) or (
            src_dtype.kind in "iub" and src_dtype.itemsize <= 2
        ):
            dtype = "float32"
        else:
            dtype = "float64"
        kwargs: dict[str, Any] = {
            "sample_rate": rate,
            "chunk_size": chunk,
            "buffer_size": buf,
            "dtype": dtype,
            "n_channels": info.n_channels,
            "channel_names": tuple(info.channel_names),
            "units": tuple(info.units),
            "scale": info.scale,
            "offset": info.offset,
            "overflow": "block" if info.backpressure else "overwrite",
        }
        kwargs.update(config)
        return cls(
            RealtimeConfig(**kwargs),
            source,
            on_chunk,
            analyzers=analyzers,
            transforms=transforms,
            sinks=sinks,
        )

    @property
    def info(self) -> SourceInfo:
        """The stream's description: what sinks and analysers are given."""
        cfg = self.config
        src = self.source.info
        return SourceInfo(
            sample_rate=cfg.sample_rate,
            dtype=cfg.np_dtype.name,
            n_channels=cfg.n_channels,
            channel_names=self._channel_names,
            units=self._units,
            finite=bool(src.finite) if src is not None else False,
            description=src.description if src is not None else type(self.source).__name__,
            start_time=self._t0 if self._t0 is not None else (src.start_time if src else None),
        )

    def add_analyzer(self, analyzer: Analyzer, name: str | None = None) -> Analyzer:
        """Attach an analyser (updated for every chunk from now on); returns it.

        Its result appears in ``chunk.results[name]`` and :meth:`get_results`.
        """
        return self.pipeline.add_analyzer(analyzer, name)

    def add_transform(self, transform: Transform) -> Transform:
        """Append a transform applied to every chunk before statistics and analysers."""
        return self.pipeline.add_transform(transform)

    def add_sink(self, sink: Sink) -> Sink:
        """Attach a sink; it must be added before :meth:`start` (a sink must see every chunk)."""
        if self._state == StreamState.RUNNING:
            raise StreamStateError("add sinks before start(): a sink must see every chunk")
        return self.pipeline.add_sink(sink)

    @property
    def analyzers(self) -> dict[str, Analyzer]:
        """Attached analysers by name."""
        return self.pipeline.analyzers

    # ------------------------------------------------------------------ lifecycle
    @property
    def state(self) -> StreamState:
        """Where the stream is in its life (see :class:`~livetrace.StreamState`)."""
        return self._state

    @property
    def is_running(self) -> bool:
        """True between ``start()`` and ``stop()`` while the source is acquiring."""
        return self._state == StreamState.RUNNING

    def start(self) -> None:
        """Start the source and the acquisition thread (no-op if running).

        After ``stop()`` the stream resumes: samples still buffered are delivered first and
        positions continue. Sinks are opened here.
        """
        with self._lock:
            if self._state == StreamState.RUNNING:
                return
            if self._state == StreamState.FINISHED or (
                self._state == StreamState.FAILED and self._failure_delivered
            ):
                raise StreamStateError(
                    f"cannot restart a {self._state} stream: its source has ended; "
                    "create a new RealtimeStream"
                )
            self._reap_leaked()
            if self._t0 is None:
                info = self.source.info
                self._t0 = info.start_time if info and info.start_time else time.time()
            self.pipeline.open_sinks(self.info)
            self._stop_event.clear()
            if self._buffer.ended:
                # the source ended (or failed) before stop(): deliver what is buffered, then
                # end as before; the source is not restarted
                self._state = StreamState.RUNNING
                return
            try:
                self.source.start()
            except Exception:
                self.pipeline.close_sinks()
                raise
            self._state = StreamState.RUNNING
            self._last_data = time.monotonic()
            self._acquiring = True
            thread = threading.Thread(
                target=self._acquire_loop,
                name=f"livetrace-acquire-{type(self.source).__name__}",
                daemon=True,
            )
            self._acquire_thread = thread
            thread.start()
            if self.config.idle_timeout is not None:
                dog = threading.Thread(
                    target=self._watch_idle,
                    name=f"livetrace-idle-{type(self.source).__name__}",
                    daemon=True,
                )
                self._watchdog = dog
                dog.start()

    def stop(self) -> None:
        """Stop acquisition and join the thread; returns within about 0.5 s.

        A consumer iterating in another thread ends its loop promptly. Samples still in the
        buffer stay there and are delivered if the stream is started again. Sinks are closed
        here, or, when the consumer is still busy with a chunk (a slow sink write), by the
        consumer as soon as it finishes that chunk and sees the stop, so a sink is never
        closed in the middle of a write. Safe to call more than once and from any thread.
        """
        t_start = time.monotonic()
        with self._lock:
            if self._state == StreamState.RUNNING:
                self._state = StreamState.STOPPED
            self._stop_event.set()
            self._buffer.interrupt()
            try:
                self.source.stop()
            finally:
                dog = self._watchdog
                self._watchdog = None
                if dog is not None and dog is not threading.current_thread():
                    dog.join(_STOP_BUDGET)
                thread = self._acquire_thread
                self._acquire_thread = None
                if thread is not None and thread is not threading.current_thread():
                    thread.join(_STOP_BUDGET)
                    if thread.is_alive():
                        self._leaked_threads.append(thread)
                        warnings.warn(
                            f"{type(self.source).__name__}.acquire() did not return within "
                            f"{_STOP_BUDGET} s of stop(); its thread is left to finish on its own "
                            "(make stop() wake acquire())",
                            ResourceWarning,
                            stacklevel=2,
                        )
                wait = max(0.0, _STOP_BUDGET - (time.monotonic() - t_start))
                if self._consumer_lock.acquire(timeout=wait):
                    try:
                        self.pipeline.close_sinks()
                    finally:
                        self._consumer_lock.release()

    def _reap_leaked(self) -> None:
        still = [t for t in self._leaked_threads if t.is_alive()]
        if still:
            for t in still:
                t.join(_STOP_BUDGET)
            still = [t for t in still if t.is_alive()]
            if still:
                raise StreamStateError(
                    "cannot start: the previous acquisition thread is still inside "
                    f"{type(self.source).__name__}.acquire()"
                )
        self._leaked_threads = []

    def __enter__(self) -> RealtimeStream:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ acquisition thread
    def _source_name(self) -> str:
        desc = self.pipeline.info.description
        name = type(self.source).__name__
        return f"{name} ({desc})" if desc and desc != name else name

    def _watch_idle(self) -> None:
        """The idle watchdog (with ``config.idle_timeout``): ends the stream with SourceError
        when the source has delivered nothing for that long, even while ``acquire()`` blocks."""
        limit = self.config.idle_timeout
        assert limit is not None
        stop = self._stop_event
        while not stop.wait(min(limit / 4, 0.25)):
            if not self._acquiring or self._buffer.ended:
                return
            silent = time.monotonic() - self._last_data
            if silent >= limit:
                err = SourceError(
                    f"{self._source_name()} delivered nothing for {silent:.1f} s "
                    f"(idle_timeout={limit:g} s)"
                )
                self._fail(err, TimeoutError(f"no samples for {silent:.1f} s"))
                self.source.stop()  # wakes a blocked acquire(); its writes are refused now
                return

    def _acquire_loop(self) -> None:
        """The acquisition thread: any exception that leaves it ends the buffer with a
        SourceError, so the consumer always learns why no more samples come."""
        try:
            self._acquire()
        except BaseException as exc:
            if isinstance(exc, BufferClosedError) and (
                self._stop_event.is_set() or self._buffer.ended
            ):
                return  # stopped or already ended (the consumer has the reason)
            err = SourceError(
                f"the acquisition thread of {self._source_name()} died: {exc!r}; the stream "
                "ended after the samples acquired before it"
            )
            self._fail(err, exc)
        finally:
            self._acquiring = False

    def _fail(
        self, err: BaseException, cause: BaseException | None = None, *, record: bool = True
    ) -> None:
        """End the stream with ``err`` (chained to ``cause``): recorded, visible in
        ``health()`` as ``failed`` at once, raised to the consumer after the buffered samples."""
        if cause is not None:
            err.__cause__ = cause
        if record:
            self._n_errors += 1
            self._errors.append(SourceErrorRecord(time.time(), 1, cause or err))
        self._state = StreamState.FAILED
        self._buffer.end(err)

    def _acquire(self) -> None:
        retry = self.config.retry
        failures = 0
        stop = self._stop_event
        buffer = self._buffer
        source = self.source
        while not stop.is_set():
            gen = buffer.interrupt_generation
            if stop.is_set():  # checked after reading gen: a stop() in between is seen
                return
            if self._pending is not None:
                pdata, pfirst, pdisc = self._pending
                self._pending = None
                if not self._write(pdata, pfirst, pdisc, gen):
                    return
                continue
            try:
                out = source.acquire()
            except EndOfStream:
                buffer.end()
                return
            except Exception as exc:
                failures += 1
                if getattr(exc, "final", False):
                    # the source says retrying cannot help (a program that exited): its own
                    # error reaches the consumer, once
                    self._fail(exc)
                    return
                self._n_errors += 1
                self._errors.append(SourceErrorRecord(time.time(), failures, exc))
                if failures > retry.max_retries:
                    err = SourceError(
                        f"source {self._source_name()} failed {failures} time(s) in a row "
                        f"(retry policy: max_retries={retry.max_retries}); last error: {exc!r}"
                    )
                    self._fail(err, exc, record=False)  # recorded above, once
                    return
                if stop.wait(retry.delay(failures)):
                    return
                continue
            failures = 0
            if out is None:
                continue
            data: Any
            first: int | None
            obj: Any = out
            if isinstance(obj, Block):
                data, first, disc = obj.data, obj.start_index, obj.discontinuity
            elif isinstance(obj, WaveformTrace):
                data, first, disc = obj.data, obj.metadata.start_index, obj.metadata.discontinuity
            else:
                data, first, disc = obj, None, False
            if not isinstance(data, np.ndarray) or data.ndim == 0:
                what = type(data).__name__ if not isinstance(data, np.ndarray) else "a 0-d array"
                err = SourceError(
                    f"{type(source).__name__}.acquire() returned {what}; "
                    "expected a numpy array of samples, a Block or None"
                )
                self._fail(err)
                return
            if len(data) == 0 and not disc:
                continue
            if not self._write(data, first, disc, gen):
                return

    def _write(self, data: Any, first: int | None, disc: bool, gen: int) -> bool:
        """Write into the buffer; False when the loop must end (stopped or failed)."""
        buffer = self._buffer
        if first is None:
            first = buffer.next_index
        try:
            n = buffer.write_at(
                data, first, discontinuity=disc, timeout=float("inf"), interrupt_gen=gen
            )
        except BufferInterrupted as intr:
            rest = data.reshape(-1) if self.config.n_channels == 1 else data
            if intr.written < len(rest):
                self._pending = (rest[intr.written :], first + intr.written, False)
            return False
        except BufferOverflowError as exc:
            self._fail(exc)
            return False
        except (TypeError, ValueError) as exc:
            err = SourceError(
                f"{type(self.source).__name__}.acquire() returned data the stream cannot take: "
                f"{exc}"
            )
            self._fail(err, exc)
            return False
        now = time.monotonic()
        if n:
            self._last_data = now
        log = self._rate_log
        log.append((now, n))
        while log and now - log[0][0] > _RATE_WINDOW:
            log.popleft()
        return True

    # ------------------------------------------------------------------ consumer side
    def __iter__(self) -> Iterator[WaveformTrace]:
        return self.iter_chunks()

    def iter_chunks(self) -> Iterator[WaveformTrace]:
        """Yield chunks as they arrive, in order, each sample once.

        Ends when ``stop()`` is called (from any thread, within 0.5 s), or after the last
        sample once the source has ended. Raises :class:`~livetrace.SourceError` when the
        source failed for good, after delivering what it had produced.
        """
        if self._state in (StreamState.IDLE, StreamState.STOPPED):
            raise StreamStateError("Stream not started")
        return self._iterate()

    def _iterate(self) -> Iterator[WaveformTrace]:
        while True:
            chunk = self.read_chunk()
            if chunk is None:
                return
            yield chunk

    def read_chunk(self, max_samples: int | None = None) -> WaveformTrace | None:
        """Block for the next chunk and run it through the pipeline.

        ``max_samples`` caps the chunk's length (``chunk_size`` otherwise). Returns None when
        the stream was stopped or has ended (then ``state`` says which); sinks are closed then.
        """
        with self._consumer_lock:
            try:
                chunk = self._next_chunk(max_samples)
            except BaseException:
                # a failure of the stream closes sinks; an exception of the consumer's own
                # (on_chunk, KeyboardInterrupt) leaves a running stream and its sinks open, so
                # that reading on never writes to a closed sink; stop() closes them
                if self._state != StreamState.RUNNING or self._stop_event.is_set():
                    self.pipeline.close_sinks()
                raise
            if chunk is None:
                self.pipeline.close_sinks()
            return chunk

    def _next_chunk(self, max_samples: int | None) -> WaveformTrace | None:
        buffer = self._buffer
        cfg = self.config
        size = cfg.chunk_size if max_samples is None else min(cfg.chunk_size, max_samples)
        while True:
            gen = buffer.interrupt_generation
            if self._stop_event.is_set() and self._state != StreamState.FINISHED:
                return None
            try:
                blk = buffer.read_block(
                    size, float("inf"), interrupt_gen=gen, max_latency=cfg.max_latency
                )
            except BufferInterrupted:
                continue
            except KeyboardInterrupt:
                raise  # the consumer's own Ctrl-C: the stream stays running and restartable
            except EndOfStream:
                self._state = StreamState.FINISHED
                self._report_trailing_loss()
                return None
            except BaseException:
                self._state = StreamState.FAILED
                self._failure_delivered = True
                self._report_trailing_loss()
                raise
            break
        self._delivered_end = blk.start_index + len(blk.data)
        meta = TraceMetadata(
            sample_rate=cfg.sample_rate,
            start_index=blk.start_index,
            start_time=(self._t0 or 0.0) + blk.start_index / cfg.sample_rate,
            channel_names=self._channel_names,
            units=self._units,
            gap=blk.gap,
            discontinuity=blk.discontinuity,
        )
        try:
            chunk = self.pipeline.process(WaveformTrace(blk.data, meta))
        except SinkError:
            self.stop()
            self._state = StreamState.FAILED
            self._failure_delivered = True
            raise
        return chunk

    def _report_trailing_loss(self) -> None:
        """Tell sinks about samples lost after the last delivered chunk, at end of stream
        (see :meth:`Pipeline.report_final_loss`); the loss is in ``health()`` either way."""
        end = self._buffer.next_index
        lost = end - self._delivered_end
        if self.pipeline.report_final_loss(
            end, lost, (self._t0 or 0.0) + end / self.config.sample_rate
        ):
            self._delivered_end = end

    def run(self, *, max_samples: int | None = None, duration: float | None = None) -> int:
        """Consume chunks in this thread (for sinks, analysers, ``on_chunk``) until the source
        ends, ``stop()`` is called, exactly ``max_samples`` were delivered (the last chunk is
        cut short) or ``duration`` seconds of wall clock passed; starts the stream if needed.
        Returns the number of samples delivered.
        """
        if self._state in (StreamState.IDLE, StreamState.STOPPED):
            self.start()
        timer: threading.Timer | None = None
        if duration is not None:
            timer = threading.Timer(duration, self.stop)
            timer.daemon = True
            timer.start()
        n = 0
        try:
            while max_samples is None or n < max_samples:
                chunk = self.read_chunk(None if max_samples is None else max_samples - n)
                if chunk is None:
                    break
                n += len(chunk)
        finally:
            if timer is not None:
                timer.cancel()
                timer.join()
        return n

    # ------------------------------------------------------------------ results and health
    def get_statistics(self) -> Statistics:
        """Statistics over the last ``window_size`` delivered samples (thread-safe).

        Before any sample: :meth:`Statistics.empty` (``n_samples=0``, NaN values).
        """
        return self.pipeline.statistics()

    def get_cumulative_statistics(self) -> Statistics:
        """Statistics over every delivered sample since the stream was created."""
        return self.pipeline.cumulative_statistics()

    def get_results(self) -> dict[str, Any]:
        """Each attached analyser's current result, by name."""
        return self.pipeline.results()

    def get_buffer_stats(self) -> BufferStats:
        """The buffer's exact counters (see :class:`~livetrace.BufferStats`)."""
        return self._buffer.get_stats()

    def get_chunk_count(self) -> int:
        """Chunks delivered so far."""
        return self.pipeline.chunks

    @property
    def errors(self) -> list[SourceErrorRecord]:
        """The last (up to 100) exceptions the source raised, oldest first."""
        return list(self._errors)

    def health(self) -> StreamHealth:
        """State and counters now (thread-safe)."""
        b = self._buffer.get_stats()
        now = time.monotonic()
        log = list(self._rate_log)
        recent = [(t, n) for t, n in log if now - t <= _RATE_WINDOW]
        rate = 0.0
        if len(recent) > 1:
            # samples that arrived after the first logged write, over the time they took
            span = max(recent[-1][0] - recent[0][0], 1e-6)
            rate = sum(n for _, n in recent[1:]) / span
        elif recent:
            rate = recent[0][1] / _RATE_WINDOW
        last = self._errors[-1].error if self._errors else None
        return StreamHealth(
            state=self._state,
            samples_in=b.total_samples,
            samples_out=self.pipeline.samples,
            dropped=b.dropped,
            source_gap=b.source_gap,
            chunks=self.pipeline.chunks,
            source_errors=self._n_errors,
            last_error=None if last is None else f"{type(last).__name__}: {last}",
            buffer_fill=b.available,
            buffer_capacity=b.capacity,
            peak_fill=b.peak_fill,
            input_rate=rate,
            discontinuities=b.discontinuities,
            source=dict(self.source.health()),
            idle_seconds=(
                time.monotonic() - self._last_data if self._state == StreamState.RUNNING else 0.0
            ),
        )

    def reset_analysis(self) -> None:
        """Reset statistics, analysers and transforms to their fresh state."""
        self.pipeline.reset()

    def __repr__(self) -> str:
        return (
            f"RealtimeStream(source={type(self.source).__name__}, state='{self._state}', "
            f"chunk_size={self.config.chunk_size}, buffer_size={self.config.buffer_size}, "
            f"overflow={self.config.overflow!r})"
        )
