"""livetrace: lossless, fast real-time waveform streaming.

The public names of tracekit's ``streaming.realtime`` (RealtimeConfig, RealtimeBuffer,
RealtimeSource, RealtimeAnalyzer, RealtimeStream, WaveformTrace, TraceMetadata) with the same
call signatures, made lossless and fast, plus sources, analysis, recording and a CLI.
"""

from ._buffer import BufferRead, BufferStats, RealtimeBuffer
from ._config import RealtimeConfig, RetryPolicy
from ._errors import (
    BufferClosedError,
    BufferOverflowError,
    BufferTimeoutError,
    ConfigurationError,
    EndOfStream,
    LivetraceError,
    MissingExtraError,
    SinkError,
    SourceError,
    SourceUnavailableError,
    StreamStateError,
)
from ._health import SourceErrorRecord, StreamHealth, StreamState
from ._protocols import Analyzer, Block, RealtimeSource, Sink, Source, SourceInfo, Transform
from ._stream import RealtimeStream
from ._types import TraceMetadata, WaveformTrace
from ._version import __version__
from .analysis._stats import RealtimeAnalyzer, Statistics
from .sources._simulated import SimulatedSource

__all__ = [
    "Analyzer",
    "Block",
    "BufferClosedError",
    "BufferOverflowError",
    "BufferRead",
    "BufferStats",
    "BufferTimeoutError",
    "ConfigurationError",
    "EndOfStream",
    "LivetraceError",
    "MissingExtraError",
    "RealtimeAnalyzer",
    "RealtimeBuffer",
    "RealtimeConfig",
    "RealtimeSource",
    "RealtimeStream",
    "RetryPolicy",
    "SimulatedSource",
    "Sink",
    "SinkError",
    "Source",
    "SourceError",
    "SourceErrorRecord",
    "SourceInfo",
    "SourceUnavailableError",
    "Statistics",
    "StreamHealth",
    "StreamState",
    "StreamStateError",
    "TraceMetadata",
    "Transform",
    "WaveformTrace",
    "__version__",
]
