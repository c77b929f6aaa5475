"""Sinks: where delivered chunks go (recorder, exports). Imported on first use."""

from __future__ import annotations

import importlib
from typing import Any

# name -> private module that defines it (add a line here for each new public name)
_LAZY: dict[str, str] = {
    "Recorder": "._recorder",
    "RecordingReader": "._reader",
    "RecordingSource": "._reader",
    "RecordedBlock": "._reader",
    "Gap": "._reader",
    "export_recording": "._export",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'livetrace.sinks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
