"""Lab Streaming Layer with real pylsl outlets and inlets, on loopback only: exact samples
both ways, names and units from the XML description, LSL's silent inlet-buffer drops
reported as exact gaps.

liblsl binds its data ports on every interface whatever its configuration says, so these
tests run inside a private network namespace holding only ``lo`` (``test_lsl_netns.py``
starts them there with ``unshare -n``); where namespaces are not available they run here,
with liblsl resolving on 127.0.0.1 in a session of their own (``lsl_config``).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from . import lsl_config  # noqa: F401  (sets LSLAPICFG before liblsl starts)

pylsl = pytest.importorskip("pylsl")

from livetrace import (  # noqa: E402
    ConfigurationError,
    RealtimeStream,
    SourceUnavailableError,
)
from livetrace.sources import ArraySource, open_source  # noqa: E402
from livetrace.transport._lsl import LslPublisher, LslSource  # noqa: E402

from ._helpers import drain  # noqa: E402,F401

RATE = 1000.0


@pytest.fixture(autouse=True)
def _loopback_only() -> None:
    from .test_lsl_netns import INSIDE_ENV, netns_missing

    if os.environ.get(INSIDE_ENV) != "1" and netns_missing() is None:
        pytest.skip("runs inside a private network namespace (test_lsl_netns.py)")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_outlet(
    name: str, n_ch: int = 3, fmt: str = "float32", rate: float = RATE, stype: str = "EEG"
) -> Any:
    info = pylsl.StreamInfo(name, stype, n_ch, rate, fmt, f"src-{name}")
    chans = info.desc().append_child("channels")
    for i in range(n_ch):
        ch = chans.append_child("channel")
        ch.append_child_value("label", f"C{i}")
        ch.append_child_value("unit", "microvolts")
    return pylsl.StreamOutlet(info, 0, 360)


def collect(src: LslSource, n: int, deadline: float = 20.0) -> list[Any]:
    got: list[Any] = []
    total = 0
    end = time.monotonic() + deadline
    while total < n and time.monotonic() < end:
        blk = src.acquire()
        if blk is not None:
            got.append(blk)
            total += len(blk.data)
    return got


@pytest.fixture
def outlet() -> Iterator[tuple[str, Any]]:
    name = unique("lt-src")
    out = make_outlet(name)
    yield name, out
    del out


def ramp(first: int, n: int, n_ch: int = 3) -> np.ndarray[Any, Any]:
    idx = np.arange(first, first + n, dtype=np.float64)
    return np.stack([idx * (c + 1) for c in range(n_ch)], axis=1).astype(np.float32)


def wait_consumer(out: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not out.have_consumers() and time.monotonic() < end:
        time.sleep(0.01)
    assert out.have_consumers()


def test_reads_an_outlet_exactly_with_names_units_and_times(outlet: tuple[str, Any]) -> None:
    name, out = outlet
    src = open_source(f"lsl:name={name}?timeout=10&chunk_size=128")
    assert isinstance(src, LslSource)
    try:
        info = src.info
        assert (info.sample_rate, info.dtype, info.n_channels) == (RATE, "float32", 3)
        assert info.channel_names == ("C0", "C1", "C2")
        assert info.units == ("microvolts",) * 3
        src.start()
        wait_consumer(out)
        t0 = pylsl.local_clock()
        x = ramp(0, 2000)
        for k in range(0, 2000, 100):  # explicit times: sample i at t0 + i / RATE
            out.push_chunk(x[k : k + 100], t0 + (k + 99) / RATE)
        blocks = collect(src, 2000)
    finally:
        src.close()
    data = np.concatenate([b.data for b in blocks])
    np.testing.assert_array_equal(data, x)
    assert [b.start_index for b in blocks] == np.cumsum(
        [0] + [len(b.data) for b in blocks[:-1]]
    ).tolist()
    for index, t in src.timestamps():
        assert t == pytest.approx(t0 + index / RATE, abs=1e-9)
    assert src.health()["gaps"] == 0


def test_conformance_with_a_live_outlet(outlet: tuple[str, Any]) -> None:
    import threading

    from livetrace.testing import check_source

    name, out = outlet
    stop = threading.Event()

    def push() -> None:
        t0 = pylsl.local_clock()
        k = 0
        while not stop.is_set():
            out.push_chunk(ramp(k, 50), t0 + (k + 49) / RATE)
            k += 50
            time.sleep(0.05)

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    try:
        check_source(lambda: LslSource(name, timeout=10, chunk_size=50))
    finally:
        stop.set()
        pusher.join()


def test_by_type_and_missing_stream(outlet: tuple[str, Any]) -> None:
    stype = unique("type")
    out = make_outlet(unique("typed"), stype=stype)
    src = LslSource(type=stype, timeout=10)
    try:
        assert src.info.n_channels == 3
    finally:
        src.close()
    del out
    with pytest.raises(SourceUnavailableError, match="no LSL stream"):
        LslSource(name=unique("absent"), timeout=0.3)
    with pytest.raises(ConfigurationError, match="exactly one"):
        LslSource(timeout=0.1)


def test_inlet_overflow_is_an_exact_gap(outlet: tuple[str, Any]) -> None:
    """liblsl drops the oldest samples when the inlet buffer (max_buflen s) is full; the
    timestamps give the number lost and the values (their own index) prove it exact."""
    name, out = outlet
    src = LslSource(name, timeout=10, chunk_size=500, max_buflen=1)  # 1000 samples
    try:
        src.start()
        wait_consumer(out)
        t0 = pylsl.local_clock()
        out.push_chunk(ramp(0, 500), t0 + 499 / RATE)
        first = collect(src, 500)
        for k in range(500, 5500, 500):  # 5000 more while nobody pulls
            out.push_chunk(ramp(k, 500), t0 + (k + 499) / RATE)
        time.sleep(0.5)
        rest = collect(src, 1000, deadline=5)
    finally:
        src.close()
    blocks = first + rest
    for b in blocks:  # every sample sits at the index its value says
        np.testing.assert_array_equal(
            b.data[:, 0], np.arange(b.start_index, b.start_index + len(b.data))
        )
    assert src.health()["gaps"] == 1
    assert src.health()["gap_samples"] == rest[0].start_index - 500 > 0


def test_publisher_to_a_pylsl_inlet_exactly() -> None:
    name = unique("lt-pub")
    x = np.arange(3000, dtype=np.float64).reshape(1000, 3)
    src = ArraySource(x, sample_rate=RATE, chunk_size=100, realtime=False)
    pub = LslPublisher(name, type="test")
    pub.open(src.info)  # type: ignore[arg-type]
    try:
        found = pylsl.resolve_byprop("name", name, 1, 10)
        inlet = pylsl.StreamInlet(found[0])
        inlet.open_stream(10)
        full = inlet.info(10)
        assert full.channel_format() == pylsl.cf_double64
        labels = []
        ch = full.desc().child("channels").child("channel")
        while not ch.empty():
            labels.append(ch.child_value("label"))
            ch = ch.next_sibling("channel")
        assert labels == ["ch0", "ch1", "ch2"]
        with RealtimeStream.from_source(src, chunk_size=100, sinks=[]) as stream:
            for chunk in stream:
                pub.write(chunk)
        got: list[Any] = []
        stamps: list[float] = []
        end = time.monotonic() + 20
        while sum(len(g) for g in got) < 1000 and time.monotonic() < end:
            samples, ts = inlet.pull_chunk(timeout=0.2, max_samples=1000)
            if ts:
                got.append(np.asarray(samples))
                stamps.extend(ts)
        inlet.close_stream()
    finally:
        pub.close()
    np.testing.assert_array_equal(np.concatenate(got), x)
    steps = np.diff(stamps)
    np.testing.assert_allclose(steps, 1 / RATE, atol=1e-9)


def test_round_trip_with_a_gap_through_livetrace_on_both_ends() -> None:
    """LslPublisher -> LSL -> LslSource: a gap upstream arrives as the same gap."""
    from livetrace import Block, EndOfStream, RealtimeSource, SourceInfo

    class Gappy(RealtimeSource):
        def __init__(self) -> None:
            self.k = 0

        @property
        def info(self) -> SourceInfo:
            return SourceInfo(sample_rate=RATE, dtype="float32", finite=True, backpressure=True)

        def acquire(self) -> Block:
            if self.k >= 4:
                raise EndOfStream("done")
            start = self.k * 100 + (250 if self.k >= 2 else 0)
            self.k += 1
            return Block(np.arange(start, start + 100, dtype=np.float32), start)

    name = unique("lt-rt")
    pub = LslPublisher(name)
    pub.open(Gappy().info)
    src = LslSource(name, timeout=10, chunk_size=1000)
    try:
        src.start()
        end = time.monotonic() + 10
        while not pub.have_consumers() and time.monotonic() < end:
            time.sleep(0.01)
        with RealtimeStream.from_source(Gappy(), chunk_size=100) as stream:
            for chunk in stream:
                pub.write(chunk)
        blocks = collect(src, 400)
    finally:
        src.close()
        pub.close()
    for b in blocks:
        np.testing.assert_array_equal(b.data, np.arange(b.start_index, b.start_index + len(b.data)))
    assert src.health()["gap_samples"] == 250
