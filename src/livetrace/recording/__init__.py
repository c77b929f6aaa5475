"""Recordings: the HDF5 format, its writer (a sink), reader, replay source and exports.

Names are imported on first use, so h5py loads only when a recording is touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_namespace as _lazy_namespace

if TYPE_CHECKING:  # the lazy names, for type checkers and IDEs
    from ._export import export_recording as export_recording
    from ._reader import DamagedRange as DamagedRange
    from ._reader import DamagedRecordingError as DamagedRecordingError
    from ._reader import Gap as Gap
    from ._reader import RecordedBlock as RecordedBlock
    from ._reader import RecordingReader as RecordingReader
    from ._replay import RecordingSource as RecordingSource
    from ._writer import Recorder as Recorder

# name -> private module that defines it (add a line here for each new public name)
_LAZY: dict[str, str] = {
    "Recorder": "._writer",
    "RecordingReader": "._reader",
    "RecordingSource": "._replay",
    "RecordedBlock": "._reader",
    "Gap": "._reader",
    "DamagedRange": "._reader",
    "DamagedRecordingError": "._reader",
    "export_recording": "._export",
}

__all__, __getattr__, __dir__ = _lazy_namespace(__name__, _LAZY, globals(), [])
