"""RealtimeBuffer: consuming reads, exact counters, overflow policies, inputs, threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import (
    BufferClosedError,
    BufferOverflowError,
    BufferTimeoutError,
    EndOfStream,
    RealtimeBuffer,
    RealtimeConfig,
)
from livetrace._buffer import BufferInterrupted, BufferRead


def make(size: int = 10, **kw: object) -> RealtimeBuffer:
    return RealtimeBuffer(RealtimeConfig(sample_rate=1000.0, buffer_size=size, chunk_size=1, **kw))  # type: ignore[arg-type]


# ---------------------------------------------------------------- reads consume, in order
def test_read_consumes_and_returns_samples_in_order() -> None:
    buf = make(16)
    buf.write(np.arange(10.0))
    np.testing.assert_array_equal(buf.read(4), [0, 1, 2, 3])
    np.testing.assert_array_equal(buf.read(4), [4, 5, 6, 7])
    assert buf.get_available() == 2
    np.testing.assert_array_equal(buf.read(4, timeout=0.01), [8, 9])
    with pytest.raises(TimeoutError, match="No data available"):
        buf.read(1, timeout=0.01)


def test_read_block_positions_are_contiguous_across_wraparound() -> None:
    buf = make(7)
    expected = 0
    for k in range(20):
        buf.write(np.arange(expected, expected + 5, dtype=float))
        blk = buf.read_block(5, timeout=0.01)
        assert blk.start_index == expected
        assert blk.gap == 0
        assert not blk.discontinuity
        np.testing.assert_array_equal(blk.data, np.arange(expected, expected + 5))
        expected += 5
        assert k * 5 + 5 == buf.get_stats().total_read


def test_read_validates_n_samples() -> None:
    with pytest.raises(ValueError, match="n_samples must be positive"):
        make().read(0)


def test_read_out_parameter_fills_callers_array() -> None:
    buf = make(8)
    buf.write(np.arange(5.0))
    out = np.full(8, -1.0)
    got = buf.read(5, out=out)
    assert np.shares_memory(got, out)
    np.testing.assert_array_equal(out[:5], np.arange(5.0))


# ---------------------------------------------------------------- overflow policies
def test_overwrite_drops_oldest_and_counts_exactly() -> None:
    buf = make(10)
    buf.write(np.arange(8.0))
    buf.write(np.arange(8.0, 13.0))  # 3 oldest dropped
    st_ = buf.get_stats()
    assert (st_.dropped, st_.overflow_count, st_.available) == (3, 3, 10)
    blk = buf.read_block(10, timeout=0.01)
    assert blk.start_index == 3
    assert blk.gap == 3
    assert blk.discontinuity
    np.testing.assert_array_equal(blk.data, np.arange(3.0, 13.0))


def test_overwrite_with_write_larger_than_capacity_keeps_newest() -> None:
    buf = make(4)
    buf.write(np.arange(2.0))
    assert buf.write(np.arange(2.0, 12.0)) == 4
    blk = buf.read_block(4, timeout=0.01)
    np.testing.assert_array_equal(blk.data, [8, 9, 10, 11])
    assert (blk.start_index, blk.gap) == (8, 8)
    assert buf.get_stats().dropped == 8


def test_drop_newest_keeps_buffered_and_marks_gap_inside_stored_data() -> None:
    buf = make(10, overflow="drop_newest")
    assert buf.write(np.arange(8.0)) == 8
    assert buf.write(np.arange(8.0, 16.0)) == 2  # 8, 9 stored; 10..15 dropped
    buf.read(10, timeout=0.01)
    buf.write(np.arange(16.0, 20.0))
    blk = buf.read_block(10, timeout=0.01)
    assert (blk.start_index, blk.gap, blk.discontinuity) == (16, 6, True)
    np.testing.assert_array_equal(blk.data, [16, 17, 18, 19])
    assert buf.get_stats().dropped == 6


def test_a_read_never_spans_a_gap() -> None:
    buf = make(10, overflow="drop_newest")
    buf.write(np.arange(6.0))
    buf.write(np.arange(6.0, 12.0))  # 6..9 stored, 10, 11 dropped
    buf.read(8, timeout=0.01)  # 0..7
    buf.write(np.arange(12.0, 15.0))  # stored after the gap
    first = buf.read_block(10, timeout=0.01)
    second = buf.read_block(10, timeout=0.01)
    np.testing.assert_array_equal(first.data, [8, 9])
    assert (first.start_index, first.gap) == (8, 0)
    np.testing.assert_array_equal(second.data, [12, 13, 14])
    assert (second.start_index, second.gap) == (12, 2)


def test_error_policy_raises_and_writes_nothing() -> None:
    buf = make(5, overflow="error")
    buf.write(np.arange(4.0))
    with pytest.raises(BufferOverflowError, match=r"room for 1 .*overflow='error'"):
        buf.write(np.arange(3.0))
    st_ = buf.get_stats()
    assert (st_.available, st_.dropped, st_.total_samples) == (4, 0, 4)
    buf.write(np.array([4.0]))
    np.testing.assert_array_equal(buf.read(5), np.arange(5.0))


def test_block_policy_times_out_with_partial_write_count() -> None:
    buf = make(5, overflow="block", timeout=0.05)
    buf.write(np.arange(3.0))
    t0 = time.monotonic()
    with pytest.raises(BufferOverflowError, match="2 of 4 samples written") as info:
        buf.write(np.arange(3.0, 7.0))
    assert time.monotonic() - t0 >= 0.04
    assert info.value.written == 2
    st_ = buf.get_stats()
    assert (st_.available, st_.dropped, st_.total_samples) == (5, 0, 5)
    np.testing.assert_array_equal(buf.read(5), np.arange(5.0))
    # the next index continues right after what was stored: nothing was lost
    buf.write(np.array([5.0]))
    assert buf.read_block(1).start_index == 5


def test_block_policy_waits_for_reader_and_loses_nothing() -> None:
    buf = make(64, overflow="block", timeout=5.0)
    total = 20_000
    got: list[np.ndarray] = []

    def reader() -> None:
        n = 0
        while n < total:
            blk = buf.read_block(37, timeout=5.0)
            assert blk.gap == 0
            got.append(blk.data)
            n += len(blk.data)

    t = threading.Thread(target=reader)
    t.start()
    for start in range(0, total, 100):
        buf.write(np.arange(start, start + 100, dtype=float))
    buf.end()  # the last read returns its partial block at once
    t.join(10)
    assert not t.is_alive()
    np.testing.assert_array_equal(np.concatenate(got), np.arange(total, dtype=float))
    assert buf.get_stats().dropped == 0
    assert buf.get_stats().peak_fill <= 64


@settings(max_examples=60, deadline=None)
@given(
    policy=st.sampled_from(["overwrite", "drop_newest"]),
    capacity=st.integers(1, 40),
    ops=st.lists(
        st.tuples(st.sampled_from(["w", "r"]), st.integers(1, 60)), min_size=1, max_size=40
    ),
)
def test_every_sample_delivered_once_in_order_or_counted_as_dropped(
    policy: str, capacity: int, ops: list[tuple[str, int]]
) -> None:
    """Property: delivered samples are a subsequence of the ramp, positioned exactly, and
    delivered + dropped + still buffered == written, with gaps summing to the drops."""
    buf = make(capacity, overflow=policy)
    produced = 0
    delivered: list[np.ndarray] = []
    gaps = 0
    next_expected = 0
    for op, n in ops:
        if op == "w":
            buf.write(np.arange(produced, produced + n, dtype=float))
            produced += n
            assert buf.get_available() <= capacity
        elif buf.get_available():
            blk = buf.read_block(n, timeout=0)
            np.testing.assert_array_equal(
                blk.data, np.arange(blk.start_index, blk.start_index + len(blk.data))
            )
            assert blk.start_index == next_expected + blk.gap
            assert blk.discontinuity == (blk.gap > 0)
            gaps += blk.gap
            next_expected = blk.start_index + len(blk.data)
            delivered.append(blk.data)
    st_ = buf.get_stats()
    n_out = sum(len(d) for d in delivered)
    assert n_out + st_.dropped + st_.available == produced
    assert st_.total_samples == produced
    assert st_.total_read == n_out
    # drops not yet reported are those before still-buffered data
    assert gaps <= st_.dropped


# ---------------------------------------------------------------- positions given by a source
def test_write_at_records_source_gaps_and_discontinuities() -> None:
    buf = make(100)
    buf.write_at(np.arange(5.0), 0)
    buf.write_at(np.arange(10.0, 15.0), 10)  # 5 samples the source never delivered
    buf.write_at(np.arange(15.0, 18.0), discontinuity=True)  # unknown loss
    a = buf.read_block(100, timeout=0)
    b = buf.read_block(100, timeout=0)
    c = buf.read_block(100, timeout=0)
    assert (a.start_index, a.gap, a.discontinuity) == (0, 0, False)
    assert (b.start_index, b.gap, b.discontinuity) == (10, 5, True)
    assert (c.start_index, c.gap, c.discontinuity) == (15, 0, True)
    assert buf.get_stats().source_gap == 5
    with pytest.raises(ValueError, match="must not go backwards"):
        buf.write_at(np.arange(3.0), 2)


# ---------------------------------------------------------------- inputs
def test_non_array_rejected_with_seed_message() -> None:
    with pytest.raises(TypeError, match="^data must be numpy array$"):
        make().write([1.0, 2.0])  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([object()]), np.zeros(2, "M8[s]")])
def test_non_numeric_dtype_rejected(bad: np.ndarray) -> None:
    with pytest.raises(TypeError, match="^data must be float or complex array"):
        make().write(bad)


def test_complex_into_real_buffer_refused_not_truncated() -> None:
    buf = make()
    with pytest.raises(TypeError, match="imaginary part"):
        buf.write(np.array([1 + 2j]))
    assert buf.get_stats().total_samples == 0


def test_complex_buffer_keeps_imaginary_part() -> None:
    buf = make(dtype="complex64")
    buf.write(np.array([1 + 2j, 3 - 4j], dtype=np.complex128))
    out = buf.read(2)
    assert out.dtype == np.complex64
    np.testing.assert_array_equal(out, [1 + 2j, 3 - 4j])


def test_integer_adc_counts_converted_and_scaled() -> None:
    buf = make(dtype="float32", scale=0.5, offset=-1.0)
    buf.write(np.array([0, 2, 4, -32768], dtype=np.int16))
    out = buf.read(4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [-1.0, 0.0, 1.0, -16385.0])
    buf.write(np.array([2.0]))  # floats are physical values already: not scaled
    assert buf.read(1)[0] == 2.0


def test_single_channel_flattens_any_shape() -> None:
    buf = make()
    buf.write(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(buf.read(6), np.arange(6.0))


def test_multichannel_requires_n_by_channels_shape() -> None:
    buf = make(n_channels=3)
    buf.write(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(buf.read(2), np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3\), got shape \(3, 2\)"):
        buf.write(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"got shape \(6,\)"):
        buf.write(np.zeros(6))


def test_nan_and_inf_pass_through_untouched() -> None:
    buf = make()
    x = np.array([np.nan, np.inf, -np.inf, 1.0])
    buf.write(x)
    out = buf.read(4)
    assert np.isnan(out[0])
    np.testing.assert_array_equal(out[1:], x[1:])


# ---------------------------------------------------------------- end, interrupt, clear, close
def test_end_drains_then_raises_end_of_stream() -> None:
    buf = make(10)
    buf.write(np.arange(3.0))
    buf.end()
    np.testing.assert_array_equal(buf.read(10, timeout=5), [0, 1, 2])  # no waiting
    with pytest.raises(EndOfStream):
        buf.read(1, timeout=5)


def test_end_with_error_raises_that_error_after_the_data() -> None:
    buf = make(10)
    buf.write(np.arange(2.0))
    buf.end(RuntimeError("boom"))
    assert len(buf.read(5)) == 2
    with pytest.raises(RuntimeError, match="boom"):
        buf.read(1)


def test_blocked_reader_wakes_on_close() -> None:
    buf = make(10)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            buf.read(5, timeout=30)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.05)
    buf.close()
    t.join(2)
    assert not t.is_alive()
    assert isinstance(errors[0], BufferClosedError)
    with pytest.raises(BufferClosedError):
        buf.write(np.zeros(1))


def test_clear_resets_contents_and_counters() -> None:
    buf = make(5)
    buf.write(np.arange(9.0))
    buf.clear()
    st_ = buf.get_stats()
    assert (st_.total_samples, st_.dropped, st_.available, st_.peak_fill) == (0, 0, 0, 0)
    buf.write(np.arange(2.0))
    assert buf.read_block(2).start_index == 0


def test_stats_are_a_mapping_like_the_seeds_dict() -> None:
    buf = make(5)
    buf.write(np.arange(7.0))
    stats = buf.get_stats()
    assert stats["total_samples"] == 7
    assert stats["overflow_count"] == 2
    assert stats["available"] == 5
    assert {"total_samples", "overflow_count", "available"} <= set(stats.keys())
    assert dict(stats.items())["peak_fill"] == 5


def test_timeout_error_is_a_builtin_timeout() -> None:
    with pytest.raises(BufferTimeoutError):
        make().read(1, timeout=0.001)


# ---------------------------------------------------------------- threads
def test_concurrent_writers_and_reader_keep_each_writers_order() -> None:
    """Two writers interleave; the reader sees every sample once, each writer's in order."""
    buf = make(1000, overflow="block", timeout=10.0)
    per_writer = 20_000
    done = threading.Barrier(3)

    def writer(tag: float) -> None:
        done.wait()
        for start in range(0, per_writer, 250):
            buf.write(tag + np.arange(start, start + 250, dtype=float))

    writers = [threading.Thread(target=writer, args=(tag,)) for tag in (0.0, 1e6)]
    for w in writers:
        w.start()

    def finisher() -> None:
        for w in writers:
            w.join(10)
        buf.end()

    fin = threading.Thread(target=finisher)
    fin.start()
    done.wait()
    got = []
    while True:
        try:
            got.append(buf.read(333, timeout=10))
        except EndOfStream:
            break
    fin.join(5)
    allv = np.concatenate(got)
    assert len(allv) == 2 * per_writer
    for tag in (0.0, 1e6):
        mine = allv[(allv >= tag) & (allv < tag + per_writer)] - tag
        np.testing.assert_array_equal(mine, np.arange(per_writer, dtype=float))
    assert buf.get_stats().dropped == 0


def test_recycled_output_memory_never_overwrites_arrays_still_in_use() -> None:
    """Large reads reuse output memory only when no array, view or memoryview of it lives."""
    chunk = 65536
    buf = make(chunk * 4, dtype="float32")
    kept: list[tuple[int, object]] = []
    for i in range(24):
        buf.write(np.full(chunk, i, np.float32))
        out = buf.read(chunk)
        if i % 2 == 0:
            kept.append((i, out[10:20]))
        if i % 3 == 0:
            kept.append((i, memoryview(out)))
        if i % 5 == 0:
            kept.append((i, out))
    for value, obj in kept:
        arr = np.asarray(obj)
        assert (arr == value).all(), value


# ---------------------------------------------------------------- review: edge cases found
def test_complex_refused_even_without_validation() -> None:
    """numpy alone would only warn and drop the imaginary part."""
    buf = make(8, enable_validation=False)
    with pytest.raises(TypeError, match="imaginary"):
        buf.write(np.array([1 + 2j, 3 + 4j]))
    assert buf.get_stats().total_samples == 0


@pytest.mark.parametrize("how", ["interrupt", "timeout"])
def test_discontinuity_of_a_blocking_write_that_stored_nothing_is_kept(how: str) -> None:
    buf = make(4, overflow="block", timeout=0.05)
    buf.write(np.arange(4.0))
    gen = buf.interrupt_generation
    if how == "interrupt":
        buf.interrupt()
        with pytest.raises(BufferInterrupted):
            buf.write_at(np.arange(4.0, 6.0), 4, discontinuity=True, interrupt_gen=gen)
    else:
        with pytest.raises(BufferOverflowError):
            buf.write_at(np.arange(4.0, 6.0), 4, discontinuity=True)
    assert buf.read_block(4, timeout=0).discontinuity is False
    buf.write_at(np.arange(4.0, 6.0), 4)  # the retry
    blk = buf.read_block(4, timeout=0)
    assert (blk.start_index, blk.gap, blk.discontinuity) == (4, 0, True)
    np.testing.assert_array_equal(blk.data, [4.0, 5.0])
    assert buf.get_stats().discontinuities == 1


def test_error_policy_keeps_a_pending_discontinuity_for_the_retry() -> None:
    buf = make(4, overflow="error")
    buf.write(np.arange(4.0))
    buf.write_at(np.empty(0), discontinuity=True)  # e.g. a reconnect with no data yet
    with pytest.raises(BufferOverflowError):
        buf.write(np.arange(4.0, 6.0))
    buf.read(4, timeout=0)
    buf.write(np.arange(4.0, 6.0))
    blk = buf.read_block(4, timeout=0)
    assert (blk.start_index, blk.gap, blk.discontinuity) == (4, 0, True)


def test_end_wakes_a_blocked_writer_and_refuses_later_writes() -> None:
    """Samples written after end() could be stranded after the reader saw EndOfStream."""
    buf, writer, result = _full_buffer_with_a_blocked_writer()
    buf.end()
    np.testing.assert_array_equal(buf.read(4, timeout=0), np.arange(4.0))
    with pytest.raises(EndOfStream):
        buf.read(4, timeout=0)
    writer.join(2)
    assert isinstance(result[0], BufferClosedError)
    assert "0 of 4 samples written" in str(result[0])
    st_ = buf.get_stats()
    assert (st_.total_samples, st_.available, st_.total_read) == (4, 0, 4)
    with pytest.raises(BufferClosedError, match="after end"):
        buf.write(np.arange(2.0))
    buf.clear()  # reopens
    assert buf.write(np.arange(2.0)) == 2


def test_close_wakes_a_blocked_writer_with_buffer_closed_error() -> None:
    buf, writer, result = _full_buffer_with_a_blocked_writer()
    buf.close()
    writer.join(2)
    assert isinstance(result[0], BufferClosedError)


def _try_write(buf: RealtimeBuffer, data: np.ndarray) -> object:
    try:
        return buf.write(data)
    except Exception as exc:
        return exc


def _full_buffer_with_a_blocked_writer() -> tuple[RealtimeBuffer, threading.Thread, list[object]]:
    """A full 4-sample ``block`` buffer and a thread whose write of 4 more waits for room;
    what that write returns or raises lands in the list."""
    buf = make(4, overflow="block", timeout=5.0)
    buf.write(np.arange(4.0))
    result: list[object] = []
    writer = threading.Thread(target=lambda: result.append(_try_write(buf, np.arange(4.0, 8.0))))
    writer.start()
    deadline = time.monotonic() + 2
    while buf.get_stats().total_samples < 8 and time.monotonic() < deadline:
        time.sleep(0.001)  # the writer has offered its samples and waits for room
    return buf, writer, result


@settings(max_examples=80, deadline=None)
@given(
    policy=st.sampled_from(["overwrite", "drop_newest", "error"]),
    capacity=st.integers(1, 24),
    n_channels=st.sampled_from([1, 2]),
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("r"), st.integers(1, 30), st.just(0), st.just(False)),
            st.tuples(st.just("w"), st.integers(0, 30), st.integers(0, 5), st.booleans()),
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_positions_gaps_and_marks_are_exact_under_every_lossy_policy(
    policy: str, capacity: int, n_channels: int, ops: list[tuple[str, int, int, bool]]
) -> None:
    """write_at with jumps and declared discontinuities, wrap-around, multi-channel: each
    block holds the samples of its positions, never spans a loss, and reports exactly the
    samples missing before it; the counters add up."""
    buf = make(capacity, overflow=policy, n_channels=n_channels)
    declared: set[int] = set()  # positions right after a declared loss of unknown size
    jumps = 0
    expected_next = 0
    reported = 0
    delivered = 0

    def check(blk: BufferRead) -> None:
        nonlocal expected_next, reported, delivered
        n = len(blk.data)
        ramp = np.arange(blk.start_index, blk.start_index + n, dtype=float)
        want = ramp if n_channels == 1 else np.stack([ramp, -ramp], axis=1)
        np.testing.assert_array_equal(blk.data, want)
        assert blk.gap == blk.start_index - expected_next
        assert not any(blk.start_index < p < blk.start_index + n for p in declared)
        if blk.gap or blk.start_index in declared:
            assert blk.discontinuity
        else:
            assert not blk.discontinuity
        expected_next = blk.start_index + n
        reported += blk.gap
        delivered += n

    for op, n, jump, disc in ops:
        if op == "r":
            if buf.get_available():
                check(buf.read_block(n, timeout=0))
            continue
        first = buf.next_index + jump
        ramp = np.arange(first, first + n, dtype=float)
        data = ramp if n_channels == 1 else np.stack([ramp, -ramp], axis=1)
        try:
            buf.write_at(data, first, discontinuity=disc)
        except BufferOverflowError:
            assert policy == "error"
            assert buf.next_index == first  # nothing taken; the jump stays declared
        jumps += jump
        if disc:
            declared.add(first)
    st_ = buf.get_stats()
    assert st_.source_gap == jumps
    assert st_.total_samples == delivered + st_.available + st_.dropped
    assert st_.total_read == delivered
    while buf.get_available():
        check(buf.read_block(7, timeout=0))
    # every position before next_index was delivered, dropped or jumped over; losses after
    # the last delivered sample are not reported by any block yet
    assert reported + (buf.next_index - expected_next) == st_.dropped + st_.source_gap
    assert delivered + reported == expected_next


def test_concurrent_positioned_writer_and_reader_under_block_policy() -> None:
    """A writer with jumps and discontinuities against a slow reader: nothing is lost,
    every gap is where the writer put it."""
    buf = make(50, overflow="block", n_channels=2)
    plan = [(i * 37 + (i // 5) * 3, 37, i % 7 == 3) for i in range(300)]

    def writer() -> None:
        for first, n, disc in plan:
            ramp = np.arange(first, first + n, dtype=float)
            buf.write_at(np.stack([ramp, -ramp], axis=1), first, discontinuity=disc)
        buf.end()

    t = threading.Thread(target=writer)
    t.start()
    blocks: list[BufferRead] = []
    try:
        while True:
            blocks.append(buf.read_block(16, timeout=5))
    except EndOfStream:
        pass
    t.join(5)
    got = np.concatenate([b.data for b in blocks])
    want_idx = np.concatenate([np.arange(f, f + n) for f, n, _ in plan]).astype(float)
    np.testing.assert_array_equal(got, np.stack([want_idx, -want_idx], axis=1))
    starts = {f for f, _, _ in plan}
    disc_at = {f for f, _, d in plan if d}
    expected_next = 0
    for b in blocks:
        assert b.gap == b.start_index - expected_next
        if b.gap or b.start_index in disc_at:
            assert b.discontinuity
            assert b.start_index in starts
        else:
            assert not b.discontinuity
        expected_next = b.start_index + len(b.data)
    assert buf.get_stats().source_gap == sum(3 for i in range(300) if i % 5 == 0 and i)


@pytest.mark.parametrize(("read_size", "write_size"), [(60, 100), (64, 7), (37, 100), (1, 200)])
def test_blocked_reader_and_writer_never_wait_for_each_other(
    read_size: int, write_size: int
) -> None:
    """A blocked writer is woken only when enough room is free (hand-offs every few chunks),
    but never while a reader waits for samples the writer could still store."""
    buf = make(64, overflow="block", timeout=5.0)
    total = 6_000
    got: list[np.ndarray] = []

    def reader() -> None:
        n = 0
        while n < total:
            blk = buf.read_block(read_size, timeout=5.0)
            got.append(blk.data)
            n += len(blk.data)

    t = threading.Thread(target=reader)
    t.start()
    for start in range(0, total, write_size):
        stop = min(start + write_size, total)
        buf.write(np.arange(start, stop, dtype=float))
    t.join(10)
    assert not t.is_alive()
    np.testing.assert_array_equal(np.concatenate(got), np.arange(total, dtype=float))
