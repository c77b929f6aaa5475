"""What a stream reports about itself: :class:`StreamState`, :class:`StreamHealth` and the
record of each source failure (:class:`SourceErrorRecord`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from ._result import ResultMapping

__all__ = ["SourceErrorRecord", "StreamHealth", "StreamState"]


class StreamState(str, Enum):
    """The life of a stream. Members compare equal to their value (``state == "running"``).

    ``IDLE``: never started. ``RUNNING``: acquiring (or draining after ``start()`` of a stream
    whose source had already ended). ``STOPPED``: ``stop()`` was called; ``start()`` resumes.
    ``FINISHED``: the source ended and every sample was delivered. ``FAILED``: the source failed
    for good, a sink failed, or the acquisition thread died; the consumer got the error.
    """

    IDLE = "idle"
    RUNNING = "running"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SourceErrorRecord:
    """One exception raised by the source: when (POSIX time), which attempt, and the error."""

    time: float
    attempt: int
    error: BaseException


@dataclass(frozen=True)
class StreamHealth(ResultMapping):
    """A snapshot of the stream's state and counters.

    ``state``: a :class:`StreamState` (compares equal to its string value).
    ``samples_in``: samples the source produced; ``samples_out``: samples delivered in chunks;
    ``dropped``: samples discarded by the overflow policy; ``source_gap``: samples the source
    declared missing; ``input_rate``: samples/s over the last second; ``idle_seconds``: how
    long the running source has delivered nothing (see ``RealtimeConfig.idle_timeout``).
    """

    state: StreamState
    samples_in: int
    samples_out: int
    dropped: int
    source_gap: int
    chunks: int
    source_errors: int
    last_error: str | None
    buffer_fill: int
    buffer_capacity: int
    peak_fill: int
    input_rate: float
    discontinuities: int
    source: dict[str, Any]
    idle_seconds: float = 0.0
