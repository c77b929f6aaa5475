"""Sinks: where delivered chunks go (the recorder, and the recording tools beside it).

Recordings live in :mod:`livetrace.recording`; its names are also available here. Names are
imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_namespace as _lazy_namespace

if TYPE_CHECKING:  # the lazy names, for type checkers and IDEs
    from ..formats._sigmf import SigmfRecorder as SigmfRecorder
    from ..recording._export import export_recording as export_recording
    from ..recording._reader import Gap as Gap
    from ..recording._reader import RecordedBlock as RecordedBlock
    from ..recording._reader import RecordingReader as RecordingReader
    from ..recording._replay import RecordingSource as RecordingSource
    from ..recording._writer import Recorder as Recorder
    from ..transport._lsl import LslPublisher as LslPublisher
    from ..transport._redis import RedisPublisher as RedisPublisher
    from ..transport._shm import ShmPublisher as ShmPublisher

# name -> private module that defines it (add a line here for each new public name)
_LAZY: dict[str, str] = {
    "Recorder": "..recording._writer",
    "RecordingReader": "..recording._reader",
    "RecordingSource": "..recording._replay",
    "RecordedBlock": "..recording._reader",
    "Gap": "..recording._reader",
    "export_recording": "..recording._export",
    "SigmfRecorder": "..formats._sigmf",
    "LslPublisher": "..transport._lsl",
    "ShmPublisher": "..transport._shm",
    "RedisPublisher": "..transport._redis",
}

__all__, __getattr__, __dir__ = _lazy_namespace(__name__, _LAZY, globals(), [])
