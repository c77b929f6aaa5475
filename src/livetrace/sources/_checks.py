"""Argument checks every source shares: one rule per parameter, one message form.

Each check names the source (``owner``), the parameter, what it got and what it takes, and
raises :class:`~livetrace.ConfigurationError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import ConfigurationError

__all__ = [
    "check_channels",
    "check_chunk_size",
    "check_rate",
    "check_speed",
    "default_names",
    "pick_channels",
]


def check_rate(name: str, sample_rate: Any) -> float:
    """``sample_rate`` as a positive float; ConfigurationError naming ``name`` otherwise."""
    try:
        rate = float(sample_rate)
    except (TypeError, ValueError):
        rate = float("nan")
    if not (rate > 0 and np.isfinite(rate)):
        raise ConfigurationError(
            f"{name}: sample_rate must be positive and finite (samples/s per channel), "
            f"got {sample_rate!r}"
        )
    return rate


def check_channels(name: str, channels: Any) -> int:
    """``channels`` as an int >= 1; ConfigurationError naming ``name`` otherwise."""
    if not isinstance(channels, int) or channels < 1:
        raise ConfigurationError(f"{name}: channels must be an integer >= 1, got {channels!r}")
    return channels


def default_names(channel_names: Any, n: int) -> tuple[str, ...]:
    """``channel_names`` as a tuple, or ``("ch0", "ch1", ...)`` when not given."""
    return tuple(channel_names) if channel_names else tuple(f"ch{i}" for i in range(n))


def pick_channels(name: str, channels: int | None, n_channels: int | None, default: int) -> int:
    """The channel count from ``channels`` (the public spelling) or its alias ``n_channels``.

    Both may be given only when they agree; neither gives ``default``.
    """
    if channels is not None and n_channels is not None and channels != n_channels:
        raise ConfigurationError(
            f"{name}: channels={channels!r} and n_channels={n_channels!r} disagree; "
            "n_channels is another spelling of channels: give one"
        )
    value = channels if channels is not None else n_channels
    return check_channels(name, default if value is None else value)


def check_chunk_size(name: str, chunk_size: Any) -> int:
    """``chunk_size`` as an int >= 1; ConfigurationError naming ``name`` otherwise."""
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or chunk_size < 1
    ):
        raise ConfigurationError(
            f"{name}: chunk_size must be >= 1 (an integer: samples per acquire), got {chunk_size!r}"
        )
    return int(chunk_size)


def check_speed(name: str, speed: Any) -> float | None:
    """Replay pace: a finite number > 0 (1.0 = real time), or None/0 for as fast as possible."""
    if speed is None or (isinstance(speed, (int, float)) and speed == 0):
        return None
    try:
        value = float(speed)
    except (TypeError, ValueError):
        value = float("nan")
    if not (np.isfinite(value) and value > 0):
        raise ConfigurationError(
            f"{name}: speed must be a finite number > 0 (1.0 = real time) or None/0 (as fast "
            f"as possible), got {speed!r}"
        )
    return value
