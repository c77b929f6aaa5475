"""On-the-fly analysis of live chunks: statistics, spectrum, frequency, triggers, filters,
decimation. Every object follows one contract (``update(chunk)``, ``result``, ``reset()``);
see ``_base``. Names are imported on first use so ``import livetrace`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_namespace as _lazy_namespace
from ._compiled import compiled_kernel as compiled_kernel
from ._stats import RealtimeAnalyzer as RealtimeAnalyzer
from ._stats import Statistics as Statistics

if TYPE_CHECKING:  # the lazy names, for type checkers and IDEs
    from ._decimate import Decimator as Decimator
    from ._decimate import MinMaxDecimator as MinMaxDecimator
    from ._decimate import MinMaxResult as MinMaxResult
    from ._filter import StreamingFilter as StreamingFilter
    from ._filter import TransformResult as TransformResult
    from ._frequency import FrequencyCounter as FrequencyCounter
    from ._frequency import FrequencyResult as FrequencyResult
    from ._spectrum import Spectrum as Spectrum
    from ._spectrum import SpectrumResult as SpectrumResult
    from ._trigger import EdgeTrigger as EdgeTrigger
    from ._trigger import GlitchTrigger as GlitchTrigger
    from ._trigger import PulseWidthTrigger as PulseWidthTrigger
    from ._trigger import RuntTrigger as RuntTrigger
    from ._trigger import TriggerFrame as TriggerFrame
    from ._trigger import TriggerResult as TriggerResult
    from ._trigger import WindowTrigger as WindowTrigger

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

__all__, __getattr__, __dir__ = _lazy_namespace(
    __name__,
    _LAZY,
    globals(),
    ["RealtimeAnalyzer", "Statistics", "compiled_kernel"],
)
