"""On-the-fly analysis of live chunks."""

from ._stats import RealtimeAnalyzer, Statistics

__all__ = ["RealtimeAnalyzer", "Statistics"]
