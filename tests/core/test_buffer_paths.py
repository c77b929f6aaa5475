"""RealtimeBuffer: ``write``, ``write_at``, ``read`` and ``read_block`` take a shortcut for plain
appends and reads; these tests run the same operations through them and through the general
path alone and require identical data, positions, errors and counters, including at every edge
where the shortcut must step aside (marks, pending gaps, wrap-around, full ring, end, close,
arrival times, waiting threads, large pooled reads)."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import BufferClosedError, RealtimeBuffer, RealtimeConfig
from livetrace._buffer import BufferRead, coerce_samples


class GeneralOnly(RealtimeBuffer):
    """The buffer without its shortcuts: every call takes the general path."""

    def write(self, data: Any, *, timeout: float | None = None) -> int:
        return self.write_at(data, timeout=timeout)

    def write_at(
        self,
        data: Any,
        start_index: int | None = None,
        *,
        discontinuity: bool = False,
        timeout: float | None = None,
        interrupt_gen: int | None = None,
    ) -> int:
        cfg = self.config
        samples = coerce_samples(
            data,
            self._dtype,
            self._n_channels,
            cfg.scale,
            cfg.offset,
            validate=cfg.enable_validation,
        )
        with self._lock:
            return self._write_locked(samples, start_index, discontinuity, timeout, interrupt_gen)

    def read(self, n_samples: int, timeout: float | None = None, *, out: Any = None) -> Any:
        return self.read_block(n_samples, timeout, out=out).data

    def read_block(
        self,
        n_samples: int,
        timeout: float | None = None,
        *,
        out: Any = None,
        interrupt_gen: int | None = None,
        max_latency: float | None = None,
    ) -> BufferRead:
        with self._lock:
            return self._read_locked(n_samples, timeout, out, interrupt_gen, max_latency)


def make(
    size: int, policy: str, n_channels: int = 1, dtype: str = "float64", cls: type = RealtimeBuffer
) -> RealtimeBuffer:
    return cls(  # type: ignore[no-any-return]
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
        st.tuples(st.just("read_block"), st.one_of(st.integers(0, 12), COUNTS)),
        st.tuples(st.just("read_out"), st.integers(1, 300), st.booleans()),
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
    slow = make(size, policy, n_channels, "float32", GeneralOnly)
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
                a, b = (_outcome(buf.write, data, timeout=0) for buf in (fast, slow))
        elif kind == "read":
            a, b = (_outcome(buf.read, op[1], timeout=0) for buf in (fast, slow))
        elif kind == "read_out":
            out_a = np.full((op[1], 2) if n_channels == 2 else op[1], -1.0, np.float32)
            out_b = out_a.copy()
            if op[2]:
                a = _outcome(fast.read, op[1], timeout=0, out=out_a)
                b = _outcome(slow.read, op[1], timeout=0, out=out_b)
            else:
                a, b = (
                    _outcome(buf.read_block, op[1], timeout=0, out=out)
                    for buf, out in ((fast, out_a), (slow, out_b))
                )
                a, b = ((x[0], x[1].data) if x[0] == "ok" else x for x in (a, b))
            np.testing.assert_array_equal(out_a, out_b)
        elif kind in ("read_block", "read_latency"):  # the latter starts arrival tracking
            latency = 10.0 if kind == "read_latency" else None
            a, b = (
                _outcome(buf.read_block, op[1], timeout=0, max_latency=latency)
                for buf in (fast, slow)
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


def _write(buf: RealtimeBuffer, how: str, data: np.ndarray, **kw: Any) -> int:
    return buf.write(data, **kw) if how == "write" else buf.write_at(data, buf.next_index, **kw)


def _read(buf: RealtimeBuffer, how: str, n: int, **kw: Any) -> np.ndarray:
    return buf.read(n, **kw) if how == "read" else buf.read_block(n, **kw).data


@pytest.mark.parametrize("how", ["write", "write_at"])
def test_plain_write_wakes_a_reader_waiting_for_it(how: str) -> None:
    buf = make(100, "block")
    got: list[np.ndarray] = []
    reader = threading.Thread(target=lambda: got.append(buf.read(30, timeout=10)))
    reader.start()
    time.sleep(0.05)
    _write(buf, how, np.arange(10.0))  # not enough for the reader: it keeps waiting
    time.sleep(0.05)
    assert not got
    _write(buf, how, np.arange(10.0, 40.0))
    reader.join(5)
    assert not reader.is_alive()
    np.testing.assert_array_equal(got[0], np.arange(30.0))


@pytest.mark.parametrize("how", ["read", "read_block"])
def test_plain_read_wakes_a_writer_waiting_for_room(how: str) -> None:
    buf = make(100, "block")
    buf.write(np.arange(100.0))
    stored: list[int] = []
    writer = threading.Thread(target=lambda: stored.append(buf.write(np.ones(50), timeout=10)))
    writer.start()
    time.sleep(0.05)
    np.testing.assert_array_equal(_read(buf, how, 60), np.arange(60.0))
    writer.join(5)
    assert stored == [50]
    assert buf.get_stats().available == 90


@pytest.mark.parametrize("how", ["write", "write_at"])
def test_plain_write_after_end_or_close_is_refused(how: str) -> None:
    buf = make(10, "overwrite")
    buf.end()
    with pytest.raises(BufferClosedError, match="after end"):
        _write(buf, how, np.ones(3))
    buf.close()
    with pytest.raises(BufferClosedError, match="closed"):
        _write(buf, how, np.ones(3))
    with pytest.raises(BufferClosedError, match="closed"):
        buf.read(1)
    with pytest.raises(BufferClosedError, match="closed"):
        buf.read_block(1)


@pytest.mark.parametrize("how", ["read", "read_block"])
def test_plain_reads_fill_out_when_given(how: str) -> None:
    buf = make(100, "overwrite")
    buf.write(np.arange(10.0))
    out = np.full(8, -1.0)
    got = buf.read(5, out=out) if how == "read" else buf.read_block(5, out=out).data
    np.testing.assert_array_equal(out, [0, 1, 2, 3, 4, -1, -1, -1])
    assert got.base is out or got is out


@pytest.mark.parametrize(("write", "read"), [("write", "read"), ("write_at", "read_block")])
def test_plain_writes_and_reads_keep_arrival_times_for_max_latency(write: str, read: str) -> None:
    buf = make(100, "overwrite")
    with pytest.raises(TimeoutError):
        buf.read_block(10, timeout=0, max_latency=0.2)  # arrival times kept from now on
    _write(buf, write, np.arange(5.0))
    time.sleep(0.3)
    np.testing.assert_array_equal(_read(buf, read, 5), np.arange(5.0))  # the old arrival goes
    _write(buf, write, np.arange(5.0, 8.0))
    t0 = time.monotonic()
    blk = buf.read_block(50, timeout=5, max_latency=0.2)
    waited = time.monotonic() - t0
    np.testing.assert_array_equal(blk.data, [5.0, 6.0, 7.0])
    assert waited >= 0.15  # the new samples' own arrival, not the consumed ones'


def test_a_plain_read_with_max_latency_starts_keeping_arrival_times() -> None:
    buf = make(100, "overwrite")
    buf.write(np.arange(10.0))
    np.testing.assert_array_equal(buf.read_block(10, max_latency=1.0).data, np.arange(10.0))
    buf.write(np.arange(10.0, 13.0))  # arrives now: due one second from now
    time.sleep(1.05)
    t0 = time.monotonic()
    blk = buf.read_block(50, timeout=10, max_latency=1.0)
    assert time.monotonic() - t0 < 0.7  # overdue already; not counted as arriving at the read
    np.testing.assert_array_equal(blk.data, [10.0, 11.0, 12.0])


@pytest.mark.parametrize("how", ["write", "write_at"])
def test_plain_write_after_newest_samples_were_dropped_starts_a_new_block(how: str) -> None:
    buf = make(4, "drop_newest")
    _write(buf, how, np.arange(4.0))
    assert _write(buf, how, np.arange(4.0, 6.0)) == 0  # dropped: indices 4 and 5 are missing
    np.testing.assert_array_equal(buf.read(4), np.arange(4.0))
    _write(buf, how, np.arange(6.0, 8.0))
    blk = buf.read_block(4, timeout=0.01)
    assert (blk.start_index, blk.gap, blk.discontinuity) == (6, 2, True)
    np.testing.assert_array_equal(blk.data, [6.0, 7.0])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["get", "drop", "view", "memoryview", "base"]),
            st.integers(1, 40_000),
            st.sampled_from([1, 2, 3]),
            st.sampled_from(["float32", "float64", "complex64"]),
            st.integers(0, 4095),
        ),
        max_size=30,
    )
)
def test_output_pool_never_hands_out_memory_still_referenced(ops: list[tuple[Any, ...]]) -> None:
    from livetrace._memory import OutputPool

    pool = OutputPool(size=3)
    # (the one reference kept, how to see the array's memory through it, its fill value)
    live: list[tuple[Any, Any, float]] = []
    for k, (kind, rows, channels, dtype, offset) in enumerate(ops):
        if kind == "drop":
            if live:
                live.pop(rows % len(live))
            continue
        dt = np.dtype(dtype)
        shape = (rows,) if channels == 1 else (rows, channels)
        arr = pool.empty(shape, dt, 4096 * 7 + offset * dt.itemsize)
        assert arr.shape == shape
        assert arr.dtype == dt
        assert arr.flags.c_contiguous
        assert arr.flags.writeable
        assert arr.ctypes.data % 4096 == (offset * dt.itemsize) % 4096
        for held, see, _ in live:
            assert not np.shares_memory(arr, see(held))
        arr[...] = k
        if kind == "get":
            live.append((arr, lambda h: h, float(k)))
        elif kind == "view":
            live.append((arr[1:], lambda h: h, float(k)))
        elif kind == "memoryview":
            live.append((memoryview(arr), np.asarray, float(k)))
        else:  # only the memory's owner
            at = arr.ctypes.data - arr.base.ctypes.data

            def see_base(h: Any, shape: Any = shape, dt: Any = dt, at: int = at) -> Any:
                return np.ndarray(shape, dt, h, at)

            live.append((arr.base, see_base, float(k)))
        del arr
        for held, see, value in live:
            assert np.all(see(held) == value)
