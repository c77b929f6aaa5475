"""Sources: where samples come from.

Every source implements the small protocol of :class:`RealtimeSource` (see ``_base``);
``open_source(uri)`` builds any of them from one string. Names are imported on first use so
that optional dependencies (pyserial, pyzmq, sounddevice) load only when needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_namespace as _lazy_namespace
from .._protocols import Block as Block
from .._protocols import RealtimeSource as RealtimeSource
from .._protocols import SourceInfo as SourceInfo
from ._simulated import SIGNAL_TYPES as SIGNAL_TYPES
from ._simulated import SimulatedSource as SimulatedSource
from ._uri import SCHEMES as SCHEMES
from ._uri import ParsedURI as ParsedURI
from ._uri import SchemeInfo as SchemeInfo
from ._uri import available_schemes as available_schemes
from ._uri import open_source as open_source

if TYPE_CHECKING:  # the lazy names, for type checkers and IDEs
    from ..transport._lsl import LslSource as LslSource
    from ..transport._redis import RedisSource as RedisSource
    from ..transport._shm import ShmSource as ShmSource
    from ._array import ArraySource as ArraySource
    from ._audio import AudioSource as AudioSource
    from ._file import FileSource as FileSource
    from ._process import ProcessSource as ProcessSource
    from ._process import SigrokSource as SigrokSource
    from ._serial import SerialSource as SerialSource
    from ._socket import TcpSource as TcpSource
    from ._socket import UdpSource as UdpSource
    from ._zmq import ZmqSource as ZmqSource

# name -> private module that defines it (add a line here for each new public name)
_LAZY: dict[str, str] = {
    "ArraySource": "._array",
    "FileSource": "._file",
    "ProcessSource": "._process",
    "SigrokSource": "._process",
    "TcpSource": "._socket",
    "UdpSource": "._socket",
    "SerialSource": "._serial",
    "ZmqSource": "._zmq",
    "AudioSource": "._audio",
    "LslSource": "..transport._lsl",
    "ShmSource": "..transport._shm",
    "RedisSource": "..transport._redis",
}

__all__, __getattr__, __dir__ = _lazy_namespace(
    __name__,
    _LAZY,
    globals(),
    [
        "Block",
        "RealtimeSource",
        "SourceInfo",
        "SIGNAL_TYPES",
        "SimulatedSource",
        "SCHEMES",
        "ParsedURI",
        "SchemeInfo",
        "available_schemes",
        "open_source",
    ],
)
