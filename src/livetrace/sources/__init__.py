"""Sources: where samples come from.

Every source implements the small protocol of :class:`RealtimeSource` (see ``_base``);
``open_source(uri)`` builds any of them from one string. Names are imported on first use so
that optional dependencies (pyserial, pyzmq, sounddevice) load only when needed.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._base import Block as Block
from ._base import RealtimeSource as RealtimeSource
from ._base import SourceInfo as SourceInfo
from ._simulated import SIGNAL_TYPES as SIGNAL_TYPES
from ._simulated import SimulatedSource as SimulatedSource
from ._uri import SCHEMES as SCHEMES
from ._uri import ParsedURI as ParsedURI
from ._uri import SchemeInfo as SchemeInfo
from ._uri import available_schemes as available_schemes
from ._uri import open_source as open_source

# name -> private module that defines it (add a line here for each new public name)
_LAZY: dict[str, str] = {
    "ArraySource": "._array",
    "FileSource": "._file",
    "ProcessSource": "._process",
    "TcpSource": "._socket",
    "UdpSource": "._socket",
    "SerialSource": "._serial",
    "ZmqSource": "._zmq",
    "AudioSource": "._audio",
}

__all__ = sorted(
    [
        "SCHEMES",
        "SIGNAL_TYPES",
        "Block",
        "ParsedURI",
        "RealtimeSource",
        "SchemeInfo",
        "SimulatedSource",
        "SourceInfo",
        "available_schemes",
        "open_source",
        *_LAZY,
    ]
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'livetrace.sources' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
