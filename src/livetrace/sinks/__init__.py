"""Sinks: where delivered chunks go (recorder, exports). Imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_namespace

if TYPE_CHECKING:  # the lazy names, for type checkers and IDEs
    from ..transport._redis import RedisPublisher as RedisPublisher
    from ..transport._shm import ShmPublisher as ShmPublisher
    from ._export import export_recording as export_recording
    from ._reader import Gap as Gap
    from ._reader import RecordedBlock as RecordedBlock
    from ._reader import RecordingReader as RecordingReader
    from ._reader import RecordingSource as RecordingSource
    from ._recorder import Recorder as Recorder

# name -> private module that defines it (add a line here for each new public name)
_LAZY: dict[str, str] = {
    "Recorder": "._recorder",
    "RecordingReader": "._reader",
    "RecordingSource": "._reader",
    "RecordedBlock": "._reader",
    "Gap": "._reader",
    "export_recording": "._export",
    "ShmPublisher": "..transport._shm",
    "RedisPublisher": "..transport._redis",
}

__all__, __getattr__, __dir__ = lazy_namespace(
    __name__,
    _LAZY,
    globals(),
    [],
)
