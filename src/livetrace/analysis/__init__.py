"""On-the-fly analysis of live chunks: statistics, spectrum, frequency, triggers, filters,
decimation. Every object follows one contract (``update(chunk)``, ``result``, ``reset()``);
see ``_base``. Names are imported on first use so ``import livetrace`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._stats import RealtimeAnalyzer as RealtimeAnalyzer
from ._stats import Statistics as Statistics

# name -> private module that defines it (add a line here for each new public name)
_LAZY: dict[str, str] = {
    "Spectrum": "._spectrum",
    "SpectrumResult": "._spectrum",
    "FrequencyCounter": "._frequency",
    "FrequencyResult": "._frequency",
    "EdgeTrigger": "._trigger",
    "PulseWidthTrigger": "._trigger",
    "GlitchTrigger": "._trigger",
    "RuntTrigger": "._trigger",
    "WindowTrigger": "._trigger",
    "TriggerFrame": "._trigger",
    "TriggerResult": "._trigger",
    "StreamingFilter": "._filter",
    "TransformResult": "._filter",
    "Decimator": "._decimate",
    "MinMaxDecimator": "._decimate",
    "MinMaxResult": "._decimate",
}

__all__ = sorted(["RealtimeAnalyzer", "Statistics", *_LAZY])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'livetrace.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
