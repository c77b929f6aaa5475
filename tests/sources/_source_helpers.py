"""Helpers shared by the source tests (import with ``from _source_helpers import ...``)."""

from __future__ import annotations

from typing import Any

from livetrace import EndOfStream
from livetrace.sources import Block


def drain(src: Any) -> list[Any]:
    """Every non-None ``acquire()`` result up to EndOfStream, Blocks unwrapped to their data."""
    out = []
    while True:
        try:
            got = src.acquire()
        except EndOfStream:
            return out
        if got is not None:
            out.append(got.data if isinstance(got, Block) else got)
