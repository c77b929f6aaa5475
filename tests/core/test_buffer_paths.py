"""RealtimeBuffer: ``write``/``read`` take a shortcut for plain appends and reads; these tests
run the same operations through it and through ``write_at``/``read_block`` (which never take
it) and require identical data, positions, errors and counters, including at every edge where
the shortcut must step aside (marks, pending gaps, wrap-around, full ring, end, close, arrival
times, waiting threads, large pooled reads)."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import BufferClosedError, RealtimeBuffer, RealtimeConfig


def make(size: int, policy: str, n_channels: int = 1, dtype: str = "float64") -> RealtimeBuffer:
    return RealtimeBuffer(
        RealtimeConfig(
            sample_rate=1000.0,
            buffer_size=size,
            chunk_size=1,
            overflow=policy,  # type: ignore[arg-type]
            n_channels=n_channels,
            dtype=dtype,  # type: ignore[arg-type]
        )
    )


def _outcome(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """What ``fn(*args, **kwargs)`` returned, or the type and message of what it raised."""
    try:
        return ("ok", fn(*args, **kwargs))
    except Exception as exc:  # compared between the two buffers
        return ("raised", type(exc), str(exc), getattr(exc, "written", None))


def _same(a: Any, b: Any) -> None:
    assert a[0] == b[0], (a, b)
    if a[0] == "raised":
        assert a == b
    elif isinstance(a[1], np.ndarray):
        assert a[1].dtype == b[1].dtype
        np.testing.assert_array_equal(a[1], b[1])
    else:
        assert a == b


SIZES = st.sampled_from([3, 10, 1000, 1500, 5000])
COUNTS = st.one_of(st.integers(0, 12), st.integers(0, 5200))
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("write"), COUNTS),
        st.tuples(st.just("write_int"), st.integers(0, 300)),
        st.tuples(st.just("write_at"), COUNTS, st.integers(0, 4), st.booleans()),
        st.tuples(st.just("read"), st.one_of(st.integers(-1, 12), COUNTS)),
        st.tuples(st.just("read_out"), st.integers(1, 300)),
        st.tuples(st.just("read_latency"), st.integers(1, 300)),
        st.tuples(st.just("end")),
        st.tuples(st.just("clear")),
        st.tuples(st.just("close")),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(
    size=SIZES,
    policy=st.sampled_from(["overwrite", "drop_newest", "error", "block"]),
    n_channels=st.sampled_from([1, 2]),
    ops=OPS,
)
def test_shortcut_and_general_path_agree_on_everything(
    size: int, policy: str, n_channels: int, ops: list[tuple[Any, ...]]
) -> None:
    fast = make(size, policy, n_channels, "float32")
    slow = make(size, policy, n_channels, "float32")
    counter = 0
    for op in ops:
        kind = op[0]
        if kind in ("write", "write_int", "write_at"):
            n = op[1]
            values = np.arange(counter, counter + n)
            counter += n
            data: np.ndarray = values if kind == "write_int" else values.astype(np.float32)
            if n_channels == 2:
                data = np.stack([data, -data], axis=1)
            if kind == "write_at":
                skip, disc = op[2], op[3]
                a, b = (
                    _outcome(
                        buf.write_at, data, buf.next_index + skip, discontinuity=disc, timeout=0
                    )
                    for buf in (fast, slow)
                )
            else:
                a = _outcome(fast.write, data, timeout=0)
                b = _outcome(slow.write_at, data, timeout=0)
        elif kind == "read":
            a = _outcome(fast.read, op[1], timeout=0)
            b = _outcome(slow.read_block, op[1], timeout=0)
            b = (b[0], b[1].data) if b[0] == "ok" else b
        elif kind == "read_out":
            out_a = np.full((op[1], 2) if n_channels == 2 else op[1], -1.0, np.float32)
            out_b = out_a.copy()
            a = _outcome(fast.read, op[1], timeout=0, out=out_a)
            b = _outcome(slow.read_block, op[1], timeout=0, out=out_b)
            b = (b[0], b[1].data) if b[0] == "ok" else b
            np.testing.assert_array_equal(out_a, out_b)
        elif kind == "read_latency":  # starts arrival tracking on both
            a, b = (
                _outcome(buf.read_block, op[1], timeout=0, max_latency=10.0) for buf in (fast, slow)
            )
            if a[0] == "ok":
                assert b[0] == "ok"
                assert a[1][1:] == b[1][1:]
                a, b = ("ok", a[1].data), ("ok", b[1].data)
        else:
            a = _outcome(getattr(fast, kind))
            b = _outcome(getattr(slow, kind))
        _same(a, b)
        assert fast.get_stats() == slow.get_stats()
        assert fast.next_index == slow.next_index
    # what is left reads the same, block by block, with the same positions and gaps
    fast.end()
    slow.end()
    while True:
        a, b = (_outcome(buf.read_block, 7000, timeout=0) for buf in (fast, slow))
        if a[0] == "ok":
            assert b[0] == "ok"
            assert a[1][1:] == b[1][1:]
            np.testing.assert_array_equal(a[1].data, b[1].data)
        else:
            _same(a, b)
            break
    assert fast.get_stats() == slow.get_stats()


@pytest.mark.parametrize("n_channels", [1, 2])
def test_reads_across_the_ring_end_and_pooled_reads_return_the_samples_written(
    n_channels: int,
) -> None:
    buf = make(5000, "error", n_channels, "float32")  # physical ring of 5120 rows
    shape = (n_channels,) if n_channels > 1 else ()
    written = []
    for k in range(12):  # sizes that end the ring mid-write, some large enough to be pooled
        n = (1000, 4500, 4096, 333)[k % 4]
        chunk = np.arange(k * 10_000, k * 10_000 + n, dtype=np.float32)
        if n_channels > 1:
            chunk = np.repeat(chunk[:, None], n_channels, axis=1)
        assert buf.write(chunk) == n
        written.append(chunk)
        got = buf.read(n)
        assert got.shape == (n, *shape)
        np.testing.assert_array_equal(got, chunk)
    stats = buf.get_stats()
    assert stats.written == stats.total_read == stats.total_samples == sum(map(len, written))


def test_plain_read_after_a_gap_reports_it_in_the_next_block() -> None:
    buf = make(100, "overwrite")
    buf.write(np.arange(80.0))
    buf.write(np.arange(80.0, 120.0))  # drops the 20 oldest
    np.testing.assert_array_equal(buf.read(10), np.arange(20.0, 30.0))
    assert buf.get_stats().discontinuities == 1
    blk = buf.read_block(10)
    assert (blk.start_index, blk.gap, blk.discontinuity) == (30, 0, False)


def test_plain_write_wakes_a_reader_waiting_for_it() -> None:
    buf = make(100, "block")
    got: list[np.ndarray] = []
    reader = threading.Thread(target=lambda: got.append(buf.read(30, timeout=10)))
    reader.start()
    time.sleep(0.05)
    buf.write(np.arange(10.0))  # not enough for the reader: it keeps waiting
    time.sleep(0.05)
    assert not got
    buf.write(np.arange(10.0, 40.0))
    reader.join(5)
    assert not reader.is_alive()
    np.testing.assert_array_equal(got[0], np.arange(30.0))


def test_plain_read_wakes_a_writer_waiting_for_room() -> None:
    buf = make(100, "block")
    buf.write(np.arange(100.0))
    stored: list[int] = []
    writer = threading.Thread(target=lambda: stored.append(buf.write(np.ones(50), timeout=10)))
    writer.start()
    time.sleep(0.05)
    np.testing.assert_array_equal(buf.read(60), np.arange(60.0))
    writer.join(5)
    assert stored == [50]
    assert buf.get_stats().available == 90


def test_plain_write_after_end_or_close_is_refused() -> None:
    buf = make(10, "overwrite")
    buf.end()
    with pytest.raises(BufferClosedError, match="after end"):
        buf.write(np.ones(3))
    buf.close()
    with pytest.raises(BufferClosedError, match="closed"):
        buf.write(np.ones(3))
    with pytest.raises(BufferClosedError, match="closed"):
        buf.read(1)


def test_plain_writes_and_reads_keep_arrival_times_for_max_latency() -> None:
    buf = make(100, "overwrite")
    with pytest.raises(TimeoutError):
        buf.read_block(10, timeout=0, max_latency=0.2)  # arrival times kept from now on
    buf.write(np.arange(5.0))
    time.sleep(0.3)
    np.testing.assert_array_equal(buf.read(5), np.arange(5.0))  # the old arrival goes too
    buf.write(np.arange(5.0, 8.0))
    t0 = time.monotonic()
    blk = buf.read_block(50, timeout=5, max_latency=0.2)
    waited = time.monotonic() - t0
    np.testing.assert_array_equal(blk.data, [5.0, 6.0, 7.0])
    assert waited >= 0.15  # the new samples' own arrival, not the consumed ones'


def test_plain_write_after_newest_samples_were_dropped_starts_a_new_block() -> None:
    buf = make(4, "drop_newest")
    buf.write(np.arange(4.0))
    assert buf.write(np.arange(4.0, 6.0)) == 0  # dropped: indices 4 and 5 are missing
    np.testing.assert_array_equal(buf.read(4), np.arange(4.0))
    buf.write(np.arange(6.0, 8.0))
    blk = buf.read_block(4, timeout=0.01)
    assert (blk.start_index, blk.gap, blk.discontinuity) == (6, 2, True)
    np.testing.assert_array_equal(blk.data, [6.0, 7.0])
