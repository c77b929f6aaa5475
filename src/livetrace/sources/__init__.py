"""Sources: where samples come from.

Every source implements the small protocol of :class:`RealtimeSource` (see ``_base``).
"""

from ._base import Block, RealtimeSource, SourceInfo
from ._simulated import SIGNAL_TYPES, SimulatedSource
from ._uri import SCHEMES, ParsedURI, SchemeInfo, available_schemes, open_source

__all__ = [
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
]
