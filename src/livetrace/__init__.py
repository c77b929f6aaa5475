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
from ._stream import Analyzer, RealtimeStream, Sink, SourceErrorRecord, StreamHealth, Transform
from ._types import TraceMetadata, WaveformTrace
from .analysis._stats import RealtimeAnalyzer, Statistics
from .sources._base import Block, RealtimeSource, SourceInfo
from .sources._simulated import SimulatedSource

__version__ = "0.1.0"

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
    "SourceError",
    "SourceErrorRecord",
    "SourceInfo",
    "SourceUnavailableError",
    "Statistics",
    "StreamHealth",
    "StreamStateError",
    "TraceMetadata",
    "Transform",
    "WaveformTrace",
    "__version__",
]
