"""Helpers shared by the format tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from livetrace import EndOfStream, RealtimeSource, RealtimeStream


def drain(src: RealtimeSource) -> list[tuple[int | None, bool, NDArray[Any]]]:
    """Every ``acquire()`` result of a finite source as ``(start_index, discontinuity, data)``."""
    out: list[tuple[int | None, bool, NDArray[Any]]] = []
    for _ in range(100_000):
        try:
            got = src.acquire()
        except EndOfStream:
            return out
        if got is None:
            continue
        if isinstance(got, tuple):
            out.append((got.start_index, got.discontinuity, got.data))
        else:
            out.append((None, False, got))
    raise AssertionError("the source never ended")


def stream_all(src: RealtimeSource, chunk_size: int = 128) -> tuple[NDArray[Any], list[Any]]:
    """Everything a stream built on ``src`` delivers, and every chunk's metadata."""
    parts: list[NDArray[Any]] = []
    metas: list[Any] = []
    with RealtimeStream.from_source(src, overflow="block", chunk_size=chunk_size) as stream:
        for chunk in stream:
            parts.append(np.array(chunk.data))
            metas.append(chunk.metadata)
    return np.concatenate(parts), metas
