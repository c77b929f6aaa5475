"""RealtimeBuffer: a numpy ring with exact counters, absolute positions and overflow policies.

The ring stores samples in the order they were written; every stored sample also has an
absolute index in the source's sequence. The two advance together except where samples were
dropped (by the overflow policy, or declared missing by the source); those places are kept as
*marks* so that a read never splices samples from both sides of a loss into one block, and the
block after a loss reports how many samples are missing before it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._config import RealtimeConfig
from ._errors import (
    BufferClosedError,
    BufferOverflowError,
    BufferTimeoutError,
    EndOfStream,
    LivetraceError,
)
from ._memory import OutputPool, aligned_empty
from ._result import ResultMapping

__all__ = ["BufferRead", "BufferStats", "RealtimeBuffer", "coerce_samples"]

_NUMERIC_KINDS = "biufc"
_POOL_MIN_BYTES = 16384  # below this a plain np.empty is cheaper than page alignment


class BufferInterrupted(LivetraceError):
    """Internal: a blocking call was woken by :meth:`RealtimeBuffer.interrupt`.

    ``written`` is how many samples of the interrupted write were stored.
    """

    def __init__(self, written: int = 0) -> None:
        super().__init__("buffer operation interrupted")
        self.written = written


class BufferRead(NamedTuple):
    """One contiguous block read from the buffer, with its absolute position.

    ``gap`` samples are missing immediately before ``start_index``; ``discontinuity`` is True
    when samples may be missing there (``gap > 0`` or a loss of unknown size).
    """

    data: NDArray[Any]
    start_index: int
    gap: int
    discontinuity: bool


@dataclass(frozen=True)
class BufferStats(ResultMapping):
    """Exact counters of a :class:`RealtimeBuffer` (also readable as ``stats["key"]``).

    ``total_samples`` counts every sample offered to ``write`` (the seed's meaning);
    ``written`` those stored; ``overflow_count`` (alias ``dropped``) those the overflow
    policy discarded (oldest under ``overwrite``, newest under ``drop_newest``);
    ``source_gap`` those a source declared missing (a jump in the ``start_index`` it gave);
    ``total_read`` those consumed by reads; ``available`` those stored and not yet read;
    ``peak_fill`` the largest ``available`` ever reached.
    """

    total_samples: int
    overflow_count: int
    available: int
    written: int
    dropped: int
    source_gap: int
    total_read: int
    peak_fill: int
    capacity: int
    discontinuities: int


def coerce_samples(
    data: Any,
    dtype: np.dtype[Any],
    n_channels: int,
    scale: float | None = None,
    offset: float | None = None,
    *,
    validate: bool = True,
) -> NDArray[Any]:
    """Check and convert ``data`` to what a buffer of ``dtype`` and ``n_channels`` stores.

    Returns a 1-D array for one channel (any input shape is flattened) and an
    ``(n, n_channels)`` array otherwise. Integer input is converted and, when given, scaled:
    ``counts * scale + offset``. Float input is converted without scaling. Raises ``TypeError``
    for a non-array, a non-numeric dtype, or complex data for a real buffer; ``ValueError`` for
    a multi-channel shape that is not ``(n, n_channels)``.
    """
    if not isinstance(data, np.ndarray):
        raise TypeError("data must be numpy array")
    kind = data.dtype.kind
    if validate and kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"data must be float or complex array (or integer ADC counts), got dtype {data.dtype}"
        )
    # checked even without validation: numpy would only warn and drop the imaginary part
    if kind == "c" and dtype.kind != "c":
        raise TypeError(
            f"complex data cannot go into a {dtype} buffer without losing the imaginary "
            f"part; use dtype='complex64' or 'complex128' in RealtimeConfig"
        )
    if n_channels == 1:
        if data.ndim != 1:
            data = data.reshape(-1)
    elif data.ndim != 2 or data.shape[1] != n_channels:
        raise ValueError(
            f"data for {n_channels} channels must have shape (n_samples, {n_channels}), "
            f"got shape {data.shape}"
        )
    if kind in "iub":
        converted: NDArray[Any] = data.astype(dtype)
        if scale is not None:
            converted *= scale
        if offset is not None:
            converted += offset
        return converted
    out: NDArray[Any] = data
    return out


class RealtimeBuffer:
    """Thread-safe ring buffer of samples: ``write`` appends, ``read`` consumes, in order.

    Capacity is ``config.buffer_size`` samples (per channel). When a write does not fit, the
    ``config.overflow`` policy decides (see :class:`~livetrace.RealtimeConfig`); every sample
    dropped is counted in :meth:`get_stats` and shows as a gap in the next block's
    ``start_index``. Any number of threads may write and read; blocks come out in write order.

    Example:
        >>> import numpy as np
        >>> from livetrace import RealtimeBuffer, RealtimeConfig
        >>> buf = RealtimeBuffer(RealtimeConfig(sample_rate=1e3, buffer_size=8, chunk_size=4))
        >>> buf.write(np.arange(6.0))
        6
        >>> buf.read(4)
        array([0., 1., 2., 3.])
        >>> buf.read(4, timeout=0.01)  # only two left: returned after the timeout
        array([4., 5.])
    """

    def __init__(self, config: RealtimeConfig) -> None:
        config.validate()
        self.config = config
        self._dtype = config.np_dtype
        self._n_channels = int(config.n_channels)
        self._capacity = int(config.buffer_size)
        # Physical size rounded up to 1024 samples so wrap-around copies stay 64-byte aligned
        # with the output arrays (see aligned_empty); logical capacity stays exact.
        self._size = -(-self._capacity // 1024) * 1024
        shape: tuple[int, ...] = (
            (self._size,) if self._n_channels == 1 else (self._size, self._n_channels)
        )
        self._ring = aligned_empty(shape, self._dtype)
        self._ndim = len(shape)
        self._row_shape = shape[1:]
        self._row_bytes = self._dtype.itemsize * self._n_channels
        self._pool_min_rows = -(-_POOL_MIN_BYTES // self._row_bytes)
        self._ring_addr = int(self._ring.ctypes.data)
        self._pool = OutputPool()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._reset_state()
        self._closed = False
        self._interrupt_gen = 0
        # What each thread blocked in self._cond.wait() waits for: readers the number of
        # samples they asked for, writers room for the rest of their write and at least a
        # quarter of the capacity (the reader still has three quarters buffered). A write or
        # read notifies only when that is there, so that a stream whose writer is held back
        # by the reader hands over every few chunks instead of every chunk; a reader about
        # to wait wakes a waiting writer whenever there is room. Changed under the lock.
        self._reader_needs: list[int] = []
        self._writer_needs: list[int] = []

    def _reset_state(self) -> None:
        self._head = 0  # stored-sequence number of the next sample to store (= samples stored)
        self._tail = 0  # stored-sequence number of the next sample to read
        self._tail_abs = 0  # absolute index of the sample at _tail
        self._stored_next_abs = 0  # absolute index right after the last stored sample
        # absolute index the next written sample gets by default (minus _source_gap: the
        # number of samples ever offered to write)
        self._src_next = 0
        self._marks: deque[tuple[int, int, bool]] = deque()  # (stored seq, abs index, disc)
        # (stored seq after a write, monotonic time of that write), oldest first: when the
        # oldest unread sample arrived (for max_latency)
        self._arrivals: deque[tuple[int, float]] = deque()
        self._track_arrivals = False  # since a reader first asked for max_latency
        self._pending_gap = 0
        self._pending_disc = False
        self._dropped = 0
        self._source_gap = 0
        self._total_read = 0
        self._peak = 0
        self._n_disc = 0
        self._disc_next = False
        self._ended = False
        self._end_error: BaseException | None = None

    # ------------------------------------------------------------------ writing
    def write(self, data: NDArray[Any], *, timeout: float | None = None) -> int:
        """Append samples; return how many were stored.

        ``data`` is any numeric array (integers are converted and scaled per the config).
        When the ring is full the overflow policy applies; ``"block"`` waits up to ``timeout``
        (default ``config.timeout``) seconds for room and then raises
        :class:`~livetrace.BufferOverflowError`, whose ``written`` attribute says how much of
        ``data`` was stored before it gave up. Called from any thread.
        """
        return self.write_at(data, timeout=timeout)

    def write_at(
        self,
        data: NDArray[Any],
        start_index: int | None = None,
        *,
        discontinuity: bool = False,
        timeout: float | None = None,
        interrupt_gen: int | None = None,
    ) -> int:
        """:meth:`write`, placing the first sample at absolute ``start_index``.

        Sources that know their own sample numbering (UDP sequence numbers, a recording with
        gaps) pass it here; a jump forward is recorded as a gap of that many samples, and
        ``discontinuity=True`` marks a loss of unknown size just before ``data`` (e.g. after a
        reconnect). ``start_index`` may not go backwards. With ``timeout=None`` under
        ``"block"`` the wait lasts ``config.timeout``; pass ``float("inf")`` to wait until
        there is room or :meth:`interrupt` is called. ``interrupt_gen`` (a value of
        :attr:`interrupt_generation` read earlier) makes the call fail at once if
        :meth:`interrupt` was called since.
        """
        cfg = self.config
        if type(data) is np.ndarray and data.dtype == self._dtype and data.ndim == self._ndim:
            samples = data  # already what the ring stores (coerce_samples would return it)
            if self._n_channels > 1 and data.shape[1] != self._n_channels:
                samples = coerce_samples(data, self._dtype, self._n_channels)  # raises
        else:
            samples = coerce_samples(
                data,
                self._dtype,
                self._n_channels,
                cfg.scale,
                cfg.offset,
                validate=cfg.enable_validation,
            )
        n = len(samples)
        lock = self._lock
        lock.acquire()
        try:
            # the common case, in one piece: a plain append (or one whose start_index continues
            # the previous write) that fits without wrapping, with nothing to mark or wake (its
            # arrival time noted when readers use it)
            head = self._head
            pos = head % self._size
            src_next = self._src_next
            if (
                0 < n <= self._capacity - (head - self._tail)
                and pos + n <= self._size
                and src_next == self._stored_next_abs
                and (start_index is None or start_index == src_next)
                and not (
                    discontinuity
                    or self._closed
                    or self._ended
                    or self._disc_next
                    or self._reader_needs
                )
            ):
                self._ring[pos : pos + n] = samples
                self._head = head = head + n
                if self._track_arrivals:
                    self._arrivals.append((head, time.monotonic()))
                self._src_next = self._stored_next_abs = src_next + n
                fill = head - self._tail
                if fill > self._peak:
                    self._peak = fill
                return n
            return self._write_locked(samples, start_index, discontinuity, timeout, interrupt_gen)
        finally:
            lock.release()

    def _write_locked(
        self,
        samples: NDArray[Any],
        start_index: int | None,
        discontinuity: bool,
        timeout: float | None,
        interrupt_gen: int | None,
    ) -> int:
        """:meth:`write_at` for ``samples`` already in the ring's dtype and shape; the lock held."""
        cfg = self.config
        n = len(samples)
        if self._closed:
            raise BufferClosedError("cannot write to a closed RealtimeBuffer")
        if self._ended:
            raise BufferClosedError(
                "cannot write after end(): the buffer was declared ended (clear() reopens it)"
            )
        first = self._src_next if start_index is None else int(start_index)
        if first < self._src_next:
            raise ValueError(
                f"start_index must not go backwards: got {first}, next expected index is "
                f"{self._src_next}"
            )
        if first > self._src_next:
            self._source_gap += first - self._src_next
        self._src_next = first + n
        discontinuity = discontinuity or self._disc_next
        self._disc_next = False
        if n == 0:
            self._disc_next = discontinuity
            return 0
        policy = cfg.overflow
        free = self._capacity - (self._head - self._tail)
        if n <= free:
            self._store(samples, first, discontinuity)
        elif policy == "overwrite":
            if n > self._capacity:
                cut = n - self._capacity
                self._dropped += cut
                samples = samples[cut:]
                first += cut
                n = self._capacity
            if n > free:
                self._drop_oldest(n - free)
            self._store(samples, first, discontinuity)
        elif policy == "drop_newest":
            self._dropped += n - free
            if free:
                self._store(samples[:free], first, discontinuity)
            else:
                self._disc_next = discontinuity
            n = free
        elif policy == "error":
            self._src_next = first
            self._disc_next = discontinuity  # still owed to the next stored sample
            raise BufferOverflowError(
                f"buffer full: write of {n} samples with room for {free} "
                f"(capacity {self._capacity}, overflow='error')"
            )
        else:  # block
            n = self._write_blocking(samples, first, discontinuity, timeout, interrupt_gen)
        if self._reader_needs:
            self._wake_readers()
        return n

    def _wait(self, remaining: float, needs: list[int], need: int) -> None:
        """Wait on the condition (the lock held) for at most ``remaining`` seconds, noting in
        ``needs`` what would make waking this thread worth it."""
        needs.append(need)
        try:
            self._cond.wait(min(remaining, 3600.0))
        finally:
            needs.remove(need)

    def _wake_readers(self) -> None:
        """After a store: wake readers when one can now return (enough samples, or a mark)."""
        if self._head - self._tail >= min(self._reader_needs) or self._marks:
            self._cond.notify_all()

    def _write_blocking(
        self,
        samples: NDArray[Any],
        first: int,
        disc: bool,
        timeout: float | None,
        interrupt_gen: int | None,
    ) -> int:
        wait = self.config.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        gen = self._interrupt_gen if interrupt_gen is None else interrupt_gen
        done = 0
        n = len(samples)
        while done < n:
            if self._closed:
                raise BufferClosedError("buffer closed while a blocking write waited for room")
            if self._ended:
                # the reader may already have seen EndOfStream: storing more would strand it
                self._unwrite(n - done, disc and done == 0)
                raise BufferClosedError(
                    f"end() was called while a blocking write waited for room; {done} of {n} "
                    "samples written"
                )
            free = self._capacity - (self._head - self._tail)
            if free > 0:
                k = min(free, n - done)
                self._store(samples[done : done + k], first + done, disc and done == 0)
                done += k
                if self._reader_needs:
                    self._wake_readers()
                continue
            if gen != self._interrupt_gen:
                self._unwrite(n - done, disc and done == 0)
                raise BufferInterrupted(done)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._unwrite(n - done, disc and done == 0)
                raise BufferOverflowError(
                    f"buffer full: waited {wait} s for room (overflow='block'); "
                    f"{done} of {n} samples written",
                    written=done,
                )
            need = min(self._capacity, max(n - done, self._capacity // 4))
            self._wait(remaining, self._writer_needs, need)
        return done

    def _unwrite(self, n_unwritten: int, disc: bool) -> None:
        """Forget that ``n_unwritten`` trailing samples of an interrupted write were offered.

        ``disc``: the write stored nothing and carried a discontinuity, which is kept for the
        next stored sample (the retry) instead of being lost.
        """
        self._src_next -= n_unwritten
        self._disc_next = self._disc_next or disc

    def _store(self, samples: NDArray[Any], first_abs: int, disc: bool) -> None:
        n = len(samples)
        if disc or first_abs != self._stored_next_abs:
            self._marks.append((self._head, first_abs, disc))
        pos = self._head % self._size
        end = pos + n
        if end <= self._size:
            self._ring[pos:end] = samples
        else:
            k = self._size - pos
            self._ring[pos:] = samples[:k]
            self._ring[: n - k] = samples[k:]
        self._head += n
        if self._track_arrivals:
            self._arrivals.append((self._head, time.monotonic()))
        self._stored_next_abs = first_abs + n
        fill = self._head - self._tail
        if fill > self._peak:
            self._peak = fill

    def _drop_oldest(self, d: int) -> None:
        new_tail = self._tail + d
        new_abs = self._tail_abs + d
        marks = self._marks
        while marks and marks[0][0] <= new_tail:
            s, a, disc = marks.popleft()
            new_abs = a + (new_tail - s)
            self._pending_disc |= disc
        self._pending_gap += new_abs - self._tail_abs
        self._pending_disc = True
        self._dropped += d
        self._tail = new_tail
        self._tail_abs = new_abs
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] <= new_tail:
            arrivals.popleft()

    # ------------------------------------------------------------------ reading
    def read(
        self, n_samples: int, timeout: float | None = None, *, out: NDArray[Any] | None = None
    ) -> NDArray[Any]:
        """Remove and return up to ``n_samples`` of the oldest samples.

        Waits until ``n_samples`` are available or ``timeout`` (default ``config.timeout``)
        passes; on timeout returns what there is, or raises :class:`~livetrace.BufferTimeoutError`
        (a ``TimeoutError``) when there is nothing. A block never spans a gap, so fewer samples
        come back when a loss lies within the next ``n_samples``; :meth:`read_block` tells where.
        ``out`` is an optional array of at least ``n_samples`` rows to fill (a view of it is
        returned), saving an allocation.
        """
        lock = self._lock
        lock.acquire()  # cheaper than ``with`` on this path
        try:
            if out is None:
                data = self._read_plain(n_samples)
                if data is not None:
                    return data
            return self._read_locked(n_samples, timeout, out, None, None).data
        finally:
            lock.release()

    def _read_plain(self, n_samples: int) -> NDArray[Any] | None:
        """The common read, with the lock held: ``n_samples`` copied out when that many are
        there before any mark, with no loss to report and no writer to wake (a closed buffer
        holds no samples); None otherwise, for the general path."""
        tail = self._tail
        marks = self._marks
        if not (
            0 < n_samples <= self._head - tail
            and not (self._pending_disc or self._writer_needs)
            and (not marks or marks[0][0] - tail >= n_samples)
        ):
            return None
        pos = tail % self._size
        end = pos + n_samples
        data: NDArray[Any]
        if end > self._size:
            data = self._copy_out(pos, n_samples, None)
        elif n_samples < self._pool_min_rows:
            data = self._ring[pos:end].copy()
        else:
            data = self._pool.empty(
                (n_samples, *self._row_shape), self._dtype, self._ring_addr + pos * self._row_bytes
            )
            data[...] = self._ring[pos:end]
        self._tail = tail = tail + n_samples
        self._tail_abs += n_samples
        self._total_read += n_samples
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] <= tail:
            arrivals.popleft()
        return data

    def read_block(
        self,
        n_samples: int,
        timeout: float | None = None,
        *,
        out: NDArray[Any] | None = None,
        interrupt_gen: int | None = None,
        max_latency: float | None = None,
    ) -> BufferRead:
        """:meth:`read`, also returning the block's absolute ``start_index`` and gap.

        After :meth:`end` has been called, returns what is left without waiting and then raises
        :class:`~livetrace.EndOfStream` (or the error given to ``end``). ``interrupt_gen``: see
        :meth:`write_at`. ``max_latency`` (seconds): return fewer than ``n_samples`` as soon as
        the oldest unread sample has waited that long in the buffer.
        """
        lock = self._lock
        lock.acquire()
        try:
            # the common case as in read(): enough samples are returned at once, whatever
            # max_latency says (once arrival times are kept)
            if out is None and (max_latency is None or self._track_arrivals):
                start_index = self._tail_abs
                data = self._read_plain(n_samples)
                if data is not None:
                    return BufferRead(data, start_index, 0, False)
            return self._read_locked(n_samples, timeout, out, interrupt_gen, max_latency)
        finally:
            lock.release()

    def _read_locked(
        self,
        n_samples: int,
        timeout: float | None,
        out: NDArray[Any] | None,
        interrupt_gen: int | None,
        max_latency: float | None,
    ) -> BufferRead:
        """:meth:`read_block` with the lock held."""
        if n_samples <= 0:
            raise ValueError("n_samples must be positive")
        wait = self.config.timeout if timeout is None else timeout
        if max_latency is not None and not self._track_arrivals:
            # arrival times are kept from now on (a buffer read without max_latency does
            # not pay for them); what is stored already counts as arriving now
            self._track_arrivals = True
            if self._head > self._tail:
                self._arrivals.append((self._head, time.monotonic()))
        gen = self._interrupt_gen if interrupt_gen is None else interrupt_gen
        deadline: float | None = None
        while True:
            if self._closed:
                raise BufferClosedError("cannot read from a closed RealtimeBuffer")
            marks = self._marks
            if marks and marks[0][0] == self._tail:
                self._take_leading_mark()
            avail = self._head - self._tail
            limit = marks[0][0] - self._tail if marks else avail
            if limit >= n_samples or (limit < avail and limit > 0):
                return self._take(min(n_samples, limit), out)
            if self._ended and avail:
                return self._take(min(n_samples, limit), out)
            if self._ended:
                if self._end_error is not None:
                    raise self._end_error
                raise EndOfStream("end of stream: all samples have been read")
            if gen != self._interrupt_gen:
                raise BufferInterrupted()
            now = time.monotonic()
            if deadline is None:
                deadline = now + wait
            remaining = deadline - now
            if max_latency is not None and avail:
                due = self._arrivals[0][1] + max_latency - now if self._arrivals else 0.0
                if due <= 0:
                    return self._take(min(n_samples, limit), out)
                remaining = min(remaining, due) if remaining > 0 else remaining
            if remaining <= 0:
                if avail:
                    return self._take(min(n_samples, limit), out)
                raise BufferTimeoutError("No data available")
            if self._writer_needs and avail < self._capacity:
                # a writer waits for more room than there is while this reader waits for
                # more samples: let the writer fill the room it has (no deadlock)
                self._cond.notify_all()
            self._wait(remaining, self._reader_needs, min(n_samples, self._capacity))

    def _take_leading_mark(self) -> None:
        marks = self._marks
        while marks and marks[0][0] == self._tail:
            _, a, disc = marks.popleft()
            self._pending_gap += a - self._tail_abs
            self._pending_disc |= disc or a != self._tail_abs
            self._tail_abs = a

    def _take(self, n: int, out: NDArray[Any] | None) -> BufferRead:
        return self._advance(self._copy_out(self._tail % self._size, n, out), n)

    def _copy_out(self, pos: int, n: int, out: NDArray[Any] | None) -> NDArray[Any]:
        """Copy the ``n`` samples at ring position ``pos`` into ``out`` or a new array."""
        dst: NDArray[Any]
        if out is None:
            if n >= self._pool_min_rows:
                shape = (n,) if self._n_channels == 1 else (n, self._n_channels)
                src_addr = self._ring_addr + pos * self._row_bytes
                dst = self._pool.empty(shape, self._dtype, src_addr)
            elif pos + n <= self._size:  # small and contiguous: one call allocates and copies
                dst = self._ring[pos : pos + n].copy()
                return dst
            else:
                shape = (n,) if self._n_channels == 1 else (n, self._n_channels)
                dst = np.empty(shape, self._dtype)
        else:
            if len(out) < n:
                raise ValueError(f"out must have at least {n} rows, got {len(out)}")
            dst = out[:n]
        end = pos + n
        if end <= self._size:
            dst[...] = self._ring[pos:end]
        else:
            k = self._size - pos
            dst[:k] = self._ring[pos:]
            dst[k:] = self._ring[: n - k]
        return dst

    def _advance(self, dst: NDArray[Any], n: int) -> BufferRead:
        """Consume the ``n`` samples copied into ``dst`` and describe them."""
        block = BufferRead(dst, self._tail_abs, self._pending_gap, self._pending_disc)
        if self._pending_disc:
            self._n_disc += 1
        self._pending_gap = 0
        self._pending_disc = False
        self._tail += n
        self._tail_abs += n
        self._total_read += n
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] <= self._tail:
            arrivals.popleft()
        if self._writer_needs and (
            self._capacity - (self._head - self._tail) >= min(self._writer_needs)
        ):
            self._cond.notify_all()
        return block

    # ------------------------------------------------------------------ control
    def end(self, error: BaseException | None = None) -> None:
        """Declare that no more samples will come.

        Reads then return what is left without waiting, and after that raise ``error`` if
        given, else :class:`~livetrace.EndOfStream`. Later writes, and writes blocked waiting
        for room, raise :class:`~livetrace.BufferClosedError` (their samples could never be
        read); :meth:`clear` reopens the buffer.
        """
        with self._cond:
            self._ended = True
            self._end_error = error
            self._cond.notify_all()

    def interrupt(self) -> None:
        """Wake every blocked ``read``/``write``; they raise an internal interruption.

        Used by :class:`~livetrace.RealtimeStream` to stop promptly; the buffer stays usable.
        """
        with self._cond:
            self._interrupt_gen += 1
            self._cond.notify_all()

    @property
    def interrupt_generation(self) -> int:
        """Counter bumped by every :meth:`interrupt` (see ``interrupt_gen``)."""
        return self._interrupt_gen

    def get_available(self) -> int:
        """Samples stored and not yet read."""
        with self._lock:
            return self._head - self._tail

    @property
    def capacity(self) -> int:
        """``config.buffer_size``: the most samples the buffer holds."""
        return self._capacity

    @property
    def next_index(self) -> int:
        """Absolute index the next written sample will get."""
        with self._lock:
            return self._src_next

    @property
    def ended(self) -> bool:
        """True once :meth:`end` was called."""
        return self._ended

    def get_stats(self) -> BufferStats:
        """Exact counters; see :class:`BufferStats`."""
        with self._lock:
            return BufferStats(
                total_samples=self._src_next - self._source_gap,
                overflow_count=self._dropped,
                available=self._head - self._tail,
                written=self._head,
                dropped=self._dropped,
                source_gap=self._source_gap,
                total_read=self._total_read,
                peak_fill=self._peak,
                capacity=self._capacity,
                discontinuities=self._n_disc,
            )

    def clear(self) -> None:
        """Discard every stored sample and reset all counters and positions to zero."""
        with self._cond:
            self._reset_state()
            self._cond.notify_all()

    def close(self) -> None:
        """Discard the contents and refuse further use; blocked readers and writers wake with
        :class:`~livetrace.BufferClosedError`."""
        with self._cond:
            self._reset_state()
            self._closed = True
            self._cond.notify_all()

    def __repr__(self) -> str:
        return (
            f"RealtimeBuffer(capacity={self._capacity}, dtype={self._dtype.name}, "
            f"n_channels={self._n_channels}, available={self._head - self._tail}, "
            f"overflow={self.config.overflow!r})"
        )
