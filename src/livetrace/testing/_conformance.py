"""check_source: the conformance check a source author runs against their own source."""

from __future__ import annotations

import threading
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._config import RetryPolicy
from .._errors import EndOfStream
from .._protocols import Block, RealtimeSource, SourceInfo
from .._result import ResultMapping
from .._types import WaveformTrace

__all__ = ["CheckResult", "SourceReport", "check_source"]

SourceFactory = Callable[[], RealtimeSource]

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class CheckResult(ResultMapping):
    """One check: ``name``, ``status`` (``passed``/``failed``/``skipped``) and ``detail``."""

    name: str
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status != FAILED


@dataclass(frozen=True)
class SourceReport(ResultMapping):
    """What :func:`check_source` found: every check in the order they ran."""

    source: str
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks do not fail)."""
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.status == FAILED)

    def __getitem__(self, key: str) -> Any:
        for c in self.checks:
            if c.name == key:
                return c
        return super().__getitem__(key)

    def __str__(self) -> str:
        width = max((len(c.name) for c in self.checks), default=4)
        lines = [f"check_source({self.source}): {'ok' if self.ok else 'FAILED'}"]
        for c in self.checks:
            detail = f"  {c.detail}" if c.detail else ""
            lines.append(f"  {c.status.upper():<7} {c.name:<{width}}{detail}")
        return "\n".join(lines)


class _Call:
    """``fn()`` run in a daemon thread, so that a call that never returns cannot hang the check."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self.value = fn()
        except BaseException as exc:  # handed to the checking thread, which reports it
            self.error = exc
        finally:
            self.done.set()

    def wait(self, timeout: float) -> bool:
        return self.done.wait(timeout)


class _Failed(Exception):
    """A check failed; the message is the detail."""


def _describe_exc(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _unwrap(out: Any) -> Any:
    if isinstance(out, Block):
        return out.data
    if isinstance(out, WaveformTrace):
        return out.data
    return out


def _check_array(data: Any, info: SourceInfo, what: str) -> int:
    """Raise _Failed unless ``data`` is what ``info`` declares; returns its length."""
    if not isinstance(data, np.ndarray):
        raise _Failed(f"{what} returned {type(data).__name__}; expected a numpy array or Block")
    want = np.dtype(info.dtype)
    if data.dtype.newbyteorder("=") != want.newbyteorder("="):
        raise _Failed(f"{what} returned dtype {data.dtype}, but info.dtype is {want}")
    n = info.n_channels
    if n == 1:
        if data.ndim != 1 and not (data.ndim == 2 and data.shape[1] == 1):
            raise _Failed(f"{what} returned shape {data.shape}; info says 1 channel: (n,)")
    elif data.ndim != 2 or data.shape[1] != n:
        raise _Failed(f"{what} returned shape {data.shape}; info says {n} channels: (n, {n})")
    return len(data)


class _Checker:
    def __init__(
        self,
        source_or_factory: RealtimeSource | SourceFactory,
        n_chunks: int,
        timeout: float,
        stop_timeout: float,
        failing: RealtimeSource | SourceFactory | None,
    ) -> None:
        if not isinstance(source_or_factory, type) and hasattr(source_or_factory, "acquire"):
            self.instance: RealtimeSource | None = source_or_factory  # type: ignore[assignment]  # duck-typed source
            self.factory: SourceFactory | None = None
        else:
            self.instance = None
            self.factory = source_or_factory
        self.n_chunks = n_chunks
        self.timeout = timeout
        self.stop_timeout = stop_timeout
        self.failing = failing
        self.results: list[CheckResult] = []
        self.info: SourceInfo | None = None
        self.opened: list[RealtimeSource] = []

    def source(self) -> RealtimeSource:
        """A fresh source when there is a factory, else the one instance."""
        if self.factory is None:
            assert self.instance is not None
            return self.instance
        src = self.factory()
        self.opened.append(src)
        return src

    def run(self, name: str, fn: Callable[[], str | None]) -> None:
        try:
            detail = fn()
        except _Failed as exc:
            self.results.append(CheckResult(name, FAILED, str(exc)))
        except _Skip as exc:
            self.results.append(CheckResult(name, SKIPPED, str(exc)))
        except Exception as exc:
            self.results.append(CheckResult(name, FAILED, f"raised {_describe_exc(exc)}"))
        else:
            self.results.append(CheckResult(name, PASSED, detail or ""))

    def acquire(self, src: RealtimeSource, what: str, timeout: float | None = None) -> Any:
        """One ``acquire()`` with a deadline; EndOfStream propagates, anything else fails."""
        call = _Call(src.acquire)
        limit = self.timeout if timeout is None else timeout
        if not call.wait(limit):
            raise _Failed(f"{what}: acquire() did not return within {limit:g} s")
        if call.error is not None:
            if isinstance(call.error, EndOfStream):
                raise call.error
            raise _Failed(f"{what}: acquire() raised {_describe_exc(call.error)}")
        return call.value

    # -- the checks ---------------------------------------------------------------------
    def check_info(self) -> str:
        src = self.source()
        info = src.info
        if info is None:
            raise _Failed(
                "info is None: the source does not describe itself, so "
                "RealtimeStream.from_source() cannot build a stream from it"
            )
        if not isinstance(info, SourceInfo):
            raise _Failed(f"info must be a SourceInfo, got {type(info).__name__}")
        self.info = info
        return (
            f"{info.sample_rate:g} Hz, {info.dtype}, {info.n_channels} channel(s), "
            f"finite={info.finite}"
        )

    def _need_info(self) -> SourceInfo:
        if self.info is None:
            raise _Skip("no usable info")
        return self.info

    def check_data(self) -> str:
        info = self._need_info()
        src = self.source()
        src.start()
        chunks = samples = 0
        deadline = time.monotonic() + self.timeout
        ended = False
        try:
            while chunks < self.n_chunks and time.monotonic() < deadline:
                try:
                    out = self.acquire(src, f"call {chunks + 1}")
                except EndOfStream:
                    ended = True
                    break
                if out is None:
                    continue
                n = _check_array(_unwrap(out), info, f"acquire() call {chunks + 1}")
                if n:
                    chunks += 1
                    samples += n
        finally:
            if self.factory is not None:
                src.stop()
        if chunks == 0 and not ended:
            raise _Failed(f"no samples within {self.timeout:g} s")
        if ended and not info.finite:
            raise _Failed("acquire() raised EndOfStream but info.finite is False")
        return f"{chunks} chunk(s), {samples} samples match info" + (
            " (then EndOfStream)" if ended else ""
        )

    def check_stop_wakes(self) -> str:
        src = self.source()
        src.start()
        finish = threading.Event()
        state: dict[str, Any] = {"returned": threading.Event(), "error": None}

        def loop() -> None:
            try:
                while not finish.is_set():
                    state["returned"].clear()
                    src.acquire()
                    state["returned"].set()
            except EndOfStream:
                pass
            except Exception as exc:  # reported by the checking thread
                state["error"] = exc
            finally:
                state["returned"].set()

        worker = threading.Thread(target=loop, daemon=True, name="check_source-acquire")
        worker.start()
        time.sleep(0.05)  # let acquire() block if it is going to
        t0 = time.monotonic()
        finish.set()
        stop_call = _Call(src.stop)
        if not stop_call.wait(self.stop_timeout):
            raise _Failed(f"stop() did not return within {self.stop_timeout:g} s")
        if stop_call.error is not None:
            raise _Failed(f"stop() raised {_describe_exc(stop_call.error)}")
        worker.join(self.stop_timeout)
        waited = time.monotonic() - t0
        if worker.is_alive():
            raise _Failed(
                f"a blocked acquire() did not return within {self.stop_timeout:g} s of stop(); "
                "stop() must wake it (e.g. wait on a threading.Event, poll with a timeout)"
            )
        if state["error"] is not None:
            raise _Failed(f"acquire() raised {_describe_exc(state['error'])} around stop()")
        return f"acquire() returned {waited * 1e3:.0f} ms after stop()"

    def check_restart(self) -> str:
        info = self._need_info()
        src = self.source()
        src.start()
        src.stop()
        src.start()
        try:
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                try:
                    out = self.acquire(src, "after start/stop/start")
                except EndOfStream:
                    if info.finite:
                        return "start/stop/start, then EndOfStream (finite source)"
                    raise _Failed(
                        "EndOfStream after start/stop/start, but info.finite is False"
                    ) from None
                if out is not None and len(_unwrap(out)):
                    _check_array(_unwrap(out), info, "acquire() after restart")
                    return "start/stop/start, then samples"
            raise _Failed(f"no samples within {self.timeout:g} s after start/stop/start")
        finally:
            src.stop()

    def check_end_of_stream(self) -> str:
        info = self._need_info()
        if not info.finite:
            raise _Skip("info.finite is False")
        src = self.source()
        src.start()
        deadline = time.monotonic() + self.timeout
        samples = 0
        try:
            while True:
                if time.monotonic() > deadline:
                    raise _Failed(
                        f"finite source did not raise EndOfStream within {self.timeout:g} s "
                        f"({samples} samples delivered); a finite source must end (pass a "
                        "short or unpaced source to check_source, or a longer timeout)"
                    )
                try:
                    out = self.acquire(src, "draining")
                except EndOfStream:
                    break
                if out is not None:
                    samples += len(_unwrap(out))
            for attempt in (1, 2):
                try:
                    out = self.acquire(src, f"call {attempt} after EndOfStream", 1.0)
                except EndOfStream:
                    continue
                raise _Failed(
                    f"after EndOfStream, acquire() call {attempt} returned "
                    f"{'None' if out is None else type(out).__name__}; it must keep raising "
                    "EndOfStream"
                )
        finally:
            src.stop()
        return f"EndOfStream after {samples} samples, and again on the next calls"

    def check_errors(self) -> str:
        if self.failing is None:
            raise _Skip("pass failing= (a source, or factory, that fails) to check this")
        make = self.failing
        if not isinstance(make, type) and hasattr(make, "acquire"):
            src: RealtimeSource = make  # type: ignore[assignment]  # duck-typed source
        else:
            src = make()
        src.start()
        deadline = time.monotonic() + self.timeout
        try:
            while time.monotonic() < deadline:
                call = _Call(src.acquire)
                if not call.wait(self.timeout):
                    raise _Failed(f"acquire() did not return within {self.timeout:g} s")
                if call.error is None:
                    continue
                if isinstance(call.error, EndOfStream):
                    raise _Failed(
                        "the failing source raised EndOfStream: its failure was swallowed "
                        "(a failure must raise an exception other than EndOfStream)"
                    )
                return f"acquire() raised {type(call.error).__name__}: {call.error}"
        finally:
            src.stop()
        raise _Failed(f"the failing source raised nothing within {self.timeout:g} s")

    def check_stream(self) -> str:
        from .._stream import RealtimeStream  # the stream imports sources

        info = self._need_info()
        src = self.source()
        chunk = 256
        stream = RealtimeStream.from_source(
            src, chunk_size=chunk, overflow="block", retry=RetryPolicy(max_retries=0)
        )
        want = self.n_chunks * chunk
        state: dict[str, Any] = {"got": 0, "problem": None}
        shape = () if info.n_channels == 1 else (info.n_channels,)

        def consume() -> None:
            expected = None
            for c in stream:
                meta = c.metadata
                if expected is not None and meta.start_index != expected:
                    state["problem"] = (
                        f"chunk at start_index {meta.start_index} follows one that ended at "
                        f"{expected} (gap {meta.gap})"
                    )
                    return
                if meta.gap:
                    state["problem"] = f"chunk at {meta.start_index} has a gap of {meta.gap}"
                    return
                if c.data.shape[1:] != shape:
                    state["problem"] = (
                        f"stream chunk has shape {c.data.shape} for {info.n_channels} channel(s)"
                    )
                    return
                expected = meta.start_index + len(c.data)
                state["got"] += len(c.data)
                if state["got"] >= want:
                    return

        stream.start()
        consumer = _Call(consume)
        consumer.wait(self.timeout)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stream.stop()
        consumer.wait(self.stop_timeout)
        leaked = [w for w in caught if issubclass(w.category, ResourceWarning)]
        got = state["got"]
        if consumer.error is not None:
            raise _Failed(f"the stream failed: {_describe_exc(consumer.error)}")
        if state["problem"]:
            raise _Failed(str(state["problem"]))
        if leaked:
            raise _Failed(f"stream.stop(): {leaked[0].message}")
        if got == 0:
            raise _Failed(f"the stream delivered nothing within {self.timeout:g} s")
        if got < want and stream.state != "finished":
            raise _Failed(
                f"the stream delivered {got} samples then stalled (state {stream.state!r})"
            )
        return f"{got} samples in contiguous chunks" + (
            " to the end of the source" if stream.state == "finished" else ""
        )


class _Skip(Exception):
    """The check does not apply; the message says why."""


def check_source(
    source_or_factory: RealtimeSource | SourceFactory,
    *,
    n_chunks: int = 8,
    timeout: float = 5.0,
    stop_timeout: float = 0.5,
    failing: RealtimeSource | SourceFactory | None = None,
    strict: bool = True,
) -> SourceReport:
    """Check that a source keeps the source protocol; raise ``AssertionError`` listing failures.

    Pass a *factory* (a callable returning a new source) when you can: each check then gets a
    fresh source. With one instance the checks run on it in turn (a finite source may then be
    at its end before the last checks; they still must behave).

    Checks, in order:

    - ``info``: ``info`` is a :class:`~livetrace.sources.SourceInfo` (so
      ``RealtimeStream.from_source`` works);
    - ``data``: up to ``n_chunks`` chunks from ``acquire()`` have the declared dtype and channel
      shape (1-D for one channel, ``(n, channels)`` otherwise); EndOfStream only if finite;
    - ``stream``: ``RealtimeStream.from_source(src, overflow="block")`` delivers contiguous
      chunks (each ``start_index`` follows the previous one, no gap) and ends for a finite
      source;
    - ``stop_wakes_acquire``: with ``acquire()`` looping in another thread, ``stop()`` returns
      and the acquire in flight returns within ``stop_timeout`` seconds;
    - ``restart``: ``start(); stop(); start()`` then ``acquire()`` gives samples (or
      EndOfStream for a finite source);
    - ``end_of_stream`` (finite sources): ``acquire()`` raises EndOfStream within ``timeout``
      and keeps raising it on later calls (a finite source should be unpaced or short here);
    - ``errors_surface``: when ``failing`` is given (a source or factory whose acquisition
      fails), ``acquire()`` raises an exception that is not EndOfStream.

    Every exception a check meets, other than EndOfStream where the protocol allows it, is a
    failure reported with its type, message and place. Calls that may block run in helper
    threads with deadlines; a call that never returns is reported, and its thread is left
    behind as a daemon.

    Returns the :class:`SourceReport`; with ``strict=True`` (default) raises
    ``AssertionError`` with the report when any check failed.

    Example:
        >>> from livetrace.sources import ArraySource
        >>> import numpy as np
        >>> report = check_source(lambda: ArraySource(np.arange(1000.0), 1000, chunk_size=100))
        >>> report.ok, [c.name for c in report.checks][:3]
        (True, ['info', 'data', 'stream'])
    """
    checker = _Checker(source_or_factory, n_chunks, timeout, stop_timeout, failing)
    name = (
        repr(checker.instance)
        if checker.instance is not None
        else getattr(source_or_factory, "__qualname__", repr(source_or_factory))
    )
    try:
        checker.run("info", checker.check_info)
        checker.run("data", checker.check_data)
        checker.run("stream", checker.check_stream)
        checker.run("stop_wakes_acquire", checker.check_stop_wakes)
        checker.run("restart", checker.check_restart)
        checker.run("end_of_stream", checker.check_end_of_stream)
        checker.run("errors_surface", checker.check_errors)
    finally:
        for src in checker.opened:
            closer = getattr(src, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception as exc:
                    checker.results.append(
                        CheckResult("close", FAILED, f"close() raised {_describe_exc(exc)}")
                    )
    report = SourceReport(source=name, checks=tuple(checker.results))
    if strict and not report.ok:
        raise AssertionError(str(report))
    return report
