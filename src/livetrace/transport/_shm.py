"""A stream in a shared-memory ring that any number of local processes read at their own pace.

:class:`ShmPublisher` is a sink: it copies every delivered chunk into a POSIX shared-memory
segment named ``livetrace-NAME``. :class:`ShmSource` (``open_source("shm://NAME")``) attaches to
it from any process on the machine. The publisher never waits for readers; a reader that falls
more than the ring's capacity behind sees an exact gap computed from absolute indices, and a
copy that the publisher overwrote while it was being taken is detected (the write counter is
checked after the copy) and counted, never delivered.

The segment layout (every field a little-endian 8-byte word, so that a C or Rust reader can
attach) is described field by field in ``docs/sharing.md`` and in the ``_W_*``/``_D_*``
constants below. Writes are ordered for a reader on a CPU that keeps stores in order (x86-64);
a reader written in C should load the counters with acquire semantics.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import struct
import sys
import threading
import time
from multiprocessing import shared_memory
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, EndOfStream, SourceError, SourceUnavailableError
from .._memory import aligned_empty
from .._protocols import Block, RealtimeSource, SourceInfo
from .._types import WaveformTrace
from ..sources._uri import ParsedURI, to_int

__all__ = ["SEGMENT_PREFIX", "ShmChunk", "ShmPublisher", "ShmSource", "from_uri", "segment_name"]

SEGMENT_PREFIX = "livetrace-"
"""Shared-memory segments are named ``livetrace-NAME`` (``/dev/shm/livetrace-NAME`` on Linux)."""

MAGIC = int.from_bytes(b"LVTRSHM1", "little")
LAYOUT_VERSION = 1
HEADER_BYTES = 4096
DESC_WORDS = 8
INVALID = (1 << 64) - 1

# Header words (index of an 8-byte little-endian word from the start of the segment).
_W_MAGIC = 0  # b"LVTRSHM1"
_W_VERSION = 1  # layout version (1)
_W_GENERATION = 2  # unique per publisher start: a restarted publisher has a new one
_W_CAPACITY = 3  # samples per channel the data ring holds
_W_CHANNELS = 4  # channels per sample
_W_ITEMSIZE = 5  # bytes per value
_W_DESC_CAPACITY = 6  # entries in the descriptor ring
_W_DESC_OFFSET = 7  # byte offset of the descriptor ring
_W_DATA_OFFSET = 8  # byte offset of the data ring (a multiple of 4096)
_W_RATE = 9  # float64: samples/s per channel
_W_START_TIME = 10  # float64: POSIX time of index 0 (NaN: unknown yet)
_W_PID = 11  # publisher's process id
_W_STATE = 12  # 0 creating, 1 running, 2 ended (the publisher closed cleanly)
_W_HEARTBEAT = 13  # CLOCK_MONOTONIC nanoseconds, refreshed every heartbeat interval
_W_HEARTBEAT_INTERVAL = 14  # nanoseconds between heartbeats
_W_RESERVE = 15  # sample counter the ring reaches when the write in progress completes
_W_WRITTEN = 16  # sample counter committed (samples ever stored in the ring)
_W_N_DESC = 17  # descriptors committed
_W_META_LEN = 18  # bytes of UTF-8 JSON metadata at byte _META_OFFSET
_DTYPE_OFFSET = 192  # 16 bytes: numpy dtype string such as "<f4", NUL padded
_META_OFFSET = 256  # JSON: channel_names, units, description, scale, offset
_META_MAX = HEADER_BYTES - _META_OFFSET

# Descriptor words: one entry per published chunk.
_D_SEQ = 0  # descriptor number k once complete; all ones while being written
_D_RING_POS = 1  # sample counter of the chunk's first sample (ring slot = counter % capacity)
_D_START_INDEX = 2  # publisher's absolute index of the first sample
_D_N = 3  # samples in the chunk (0: a loss at the end of the stream)
_D_START_TIME = 4  # float64 POSIX time of the first sample (NaN: unknown)
_D_GAP = 5  # samples lost right before the chunk in the publisher's own input
_D_FLAGS = 6  # bit 0: discontinuity (samples may be missing before the chunk)

# Descriptor words 1-6 in one store (word 0, the sequence, is written before and after).
_DESC_BODY = struct.Struct("<QQQdQQ")

_COALESCE_BATCH = 64  # descriptors copied at once when a read joins chunks

STATE_CREATING, STATE_RUNNING, STATE_ENDED = 0, 1, 2
_STATE_NAMES = {STATE_CREATING: "creating", STATE_RUNNING: "running", STATE_ENDED: "ended"}


def segment_name(name: str) -> str:
    """The shared-memory name of stream ``name`` (``livetrace-NAME``); checks ``name``."""
    if not isinstance(name, str) or not name or "/" in name or len(name) > 200:
        raise ConfigurationError(
            f"a shared-memory stream name is a non-empty string without '/', got {name!r}"
        )
    return SEGMENT_PREFIX + name


def _map(shm: shared_memory.SharedMemory) -> mmap.mmap:
    """Our own mapping of the segment, then close ``shm``'s.

    Arrays handed out keep the mapping alive by reference, and ``SharedMemory.close()`` (also
    called by its finaliser) would fail while any exist, so nothing is built on ``shm.buf``.
    """
    fd: int = getattr(shm, "_fd")  # noqa: B009 - SharedMemory keeps the descriptor there
    mm = mmap.mmap(fd, shm.size)
    shm.close()
    return mm


def _attach_map(seg: str) -> mmap.mmap:
    """Map an existing segment read-only, without handing its removal to this process.

    Python 3.13 has ``SharedMemory(track=False)``. On 3.10-3.12 ``SharedMemory`` always
    registers the segment with the resource tracker, which removes it when the reader's
    process (or the last one sharing its tracker, such as a ``multiprocessing`` parent) exits,
    and unregistering it again would drop the publisher's own registration when the two share
    a tracker. So readers on those versions open the segment directly with ``shm_open``, as
    ``SharedMemory`` itself does. FileNotFoundError when there is no such segment.
    """
    if sys.version_info >= (3, 13):
        shm = shared_memory.SharedMemory(name=seg, create=False, track=False)
        return _map(shm)
    import importlib

    posixshmem: Any = importlib.import_module("_posixshmem")  # what SharedMemory uses
    fd = posixshmem.shm_open("/" + seg, os.O_RDONLY, mode=0o600)
    try:
        size = os.fstat(fd).st_size
        return mmap.mmap(fd, size, prot=mmap.PROT_READ)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


class _Segment:
    """A mapped segment: header, descriptor and data views."""

    def __init__(self, mm: mmap.mmap) -> None:
        self.mm = mm
        if sys.byteorder != "little":
            raise SourceError("the shared-memory layout is little-endian; this CPU is not")
        head = memoryview(mm)[:HEADER_BYTES].cast("Q")
        words = int(head[_W_DATA_OFFSET]) // 8
        head.release()
        # header and descriptor words as Python ints/floats: cheaper than numpy scalars
        self.hdr = memoryview(mm)[: words * 8].cast("Q")
        self.hdr_f = memoryview(mm)[: words * 8].cast("d")
        self.desc_base = int(self.hdr[_W_DESC_OFFSET]) // 8
        if int(self.hdr[_W_MAGIC]) != MAGIC:
            raise SourceError("not a livetrace shared-memory segment (bad magic)")
        if int(self.hdr[_W_VERSION]) != LAYOUT_VERSION:
            raise SourceError(
                f"shared-memory layout version {int(self.hdr[_W_VERSION])} is not supported "
                f"(this livetrace reads version {LAYOUT_VERSION})"
            )
        self.generation = int(self.hdr[_W_GENERATION])
        self.capacity = int(self.hdr[_W_CAPACITY])
        self.n_channels = int(self.hdr[_W_CHANNELS])
        self.n_desc_cap = int(self.hdr[_W_DESC_CAPACITY])
        raw_dtype = bytes(mm[_DTYPE_OFFSET : _DTYPE_OFFSET + 16]).rstrip(b"\0").decode()
        self.dtype = np.dtype(raw_dtype)
        shape = (self.capacity,) if self.n_channels == 1 else (self.capacity, self.n_channels)
        self.data: NDArray[Any] = np.ndarray(shape, self.dtype, mm, int(self.hdr[_W_DATA_OFFSET]))
        meta_len = int(self.hdr[_W_META_LEN])
        self.meta: dict[str, Any] = json.loads(
            bytes(mm[_META_OFFSET : _META_OFFSET + meta_len]).decode() or "{}"
        )

    def descriptor(self, k: int) -> list[int] | None:
        """A consistent copy of descriptor ``k`` (its words as ints), or None if overwritten.

        The sequence word is checked before and after the copy (the publisher sets it to all
        ones while it rewrites the entry).
        """
        base = self.desc_base + (k % self.n_desc_cap) * DESC_WORDS
        d = self.hdr[base : base + DESC_WORDS].tolist()
        if d[_D_SEQ] != k or self.hdr[base] != k:
            return None
        return d

    def descriptors(self, k: int, count: int) -> list[list[int]]:
        """Consistent copies of descriptors ``k``, ``k + 1``... (at most ``count``).

        One copy of the entries followed by one re-read of their sequence words; stops at the
        end of the table and before the first entry that is being (or was) rewritten.
        """
        j = k % self.n_desc_cap
        count = min(count, self.n_desc_cap - j)
        base = self.desc_base + j * DESC_WORDS
        words = base + count * DESC_WORDS
        flat = self.hdr[base:words].tolist()
        seqs = self.hdr[base:words:DESC_WORDS].tolist()  # after the copy
        out = []
        for i in range(count):
            if seqs[i] != k + i or flat[i * DESC_WORDS] != k + i:
                break
            out.append(flat[i * DESC_WORDS : (i + 1) * DESC_WORDS])
        return out

    def start_time_of(self, k: int) -> float:
        """Descriptor ``k``'s start time (NaN: unknown)."""
        return float(
            self.hdr_f[self.desc_base + (k % self.n_desc_cap) * DESC_WORDS + _D_START_TIME]
        )

    def release(self) -> None:
        """Let go of the header views (the mapping goes once no array uses it)."""
        self.hdr.release()
        self.hdr_f.release()

    @property
    def state(self) -> int:
        return int(self.hdr[_W_STATE])

    @property
    def pid(self) -> int:
        return int(self.hdr[_W_PID])

    def heartbeat_age(self) -> float:
        """Seconds since the publisher's last heartbeat."""
        return (time.monotonic_ns() - int(self.hdr[_W_HEARTBEAT])) / 1e9

    def stale(self, timeout: float) -> bool:
        """True when the publisher is gone: its process is dead or silent for ``timeout`` s."""
        if self.state == STATE_ENDED:
            return False
        return self.heartbeat_age() > timeout or not _pid_alive(self.pid)

    def info(self, description: str, shift: int) -> SourceInfo:
        t0 = float(self.hdr_f[_W_START_TIME])
        rate = float(self.hdr_f[_W_RATE])
        return SourceInfo(
            sample_rate=rate,
            dtype=self.dtype.newbyteorder("=").name,
            n_channels=self.n_channels,
            channel_names=tuple(self.meta.get("channel_names", ())),
            units=tuple(self.meta.get("units", ())),
            finite=False,
            description=description,
            start_time=None if math.isnan(t0) else t0 + shift / rate,
            scale=self.meta.get("scale"),
            offset=self.meta.get("offset"),
            backpressure=False,
        )


def _open_segment(seg: str) -> _Segment | None:
    try:
        mm = _attach_map(seg)
    except FileNotFoundError:
        return None
    except ValueError:  # an empty segment being created: nothing to map yet
        return None
    if len(mm) < HEADER_BYTES or int.from_bytes(mm[0:8], "little") != MAGIC:
        mm.close()
        return None
    return _Segment(mm)


class ShmPublisher:
    """A sink that publishes the stream into shared memory for other local processes.

    ``name`` names the stream (``shm://NAME`` for readers). The ring holds
    ``capacity_samples`` samples per channel (default: ``capacity_seconds`` of the stream's
    rate, at least 65536), and a table of the last ``descriptors`` chunks (their absolute
    ``start_index``, time, gap and discontinuity flag). The publisher never waits for readers:
    a reader more than the ring's capacity behind loses the oldest samples and is told exactly
    how many.

    ``open()`` creates the segment, replacing one left by a publisher that died (its process is
    gone or its heartbeat is older than ``stale_after`` seconds) and refusing one that is still
    published. A background thread refreshes the heartbeat every ``heartbeat`` seconds so
    readers can tell a quiet publisher from a dead one. ``close()`` marks the stream ended
    (readers drain it and see the end), stops the heartbeat and removes the segment name;
    memory stays mapped for readers until they let go. Should the process be killed, Python's
    resource tracker removes the segment when the process dies and readers notice the missing
    heartbeat within their ``timeout``.

    ``write()`` runs in the consumer thread (a couple of slice copies and a few counter
    stores per chunk).
    """

    def __init__(
        self,
        name: str,
        *,
        capacity_seconds: float = 2.0,
        capacity_samples: int | None = None,
        descriptors: int = 4096,
        heartbeat: float = 0.1,
        stale_after: float = 1.0,
    ) -> None:
        self.name = name
        self.segment = segment_name(name)
        if not capacity_seconds > 0:
            raise ConfigurationError(
                f"ShmPublisher: capacity_seconds must be > 0, got {capacity_seconds!r}"
            )
        if capacity_samples is not None and capacity_samples < 1:
            raise ConfigurationError(
                f"ShmPublisher: capacity_samples must be >= 1, got {capacity_samples!r}"
            )
        if descriptors < 2:
            raise ConfigurationError(f"ShmPublisher: descriptors must be >= 2, got {descriptors!r}")
        if not 0 < heartbeat < stale_after:
            raise ConfigurationError(
                "ShmPublisher: need 0 < heartbeat < stale_after, got "
                f"heartbeat={heartbeat!r}, stale_after={stale_after!r}"
            )
        self.capacity_seconds = float(capacity_seconds)
        self.capacity_samples = capacity_samples
        self.descriptors = int(descriptors)
        self.heartbeat = float(heartbeat)
        self.stale_after = float(stale_after)
        self._seg: _Segment | None = None
        self._shm: shared_memory.SharedMemory | None = None
        self._hb_stop = threading.Event()
        self._hb_thread: threading.Thread | None = None
        self._written = 0
        self._n_desc = 0
        self._need_t0 = True
        self.chunks = 0
        self.samples = 0
        self.removed_elsewhere = False

    def __repr__(self) -> str:
        return f"ShmPublisher({self.name!r})"

    # ------------------------------------------------------------------ sink protocol
    def open(self, info: SourceInfo) -> None:
        """Create the segment for a stream described by ``info``."""
        if self._seg is not None:
            raise ConfigurationError(f"{self!r} is already open")
        dtype = np.dtype(info.dtype).newbyteorder("<")
        channels = int(info.n_channels)
        capacity = self.capacity_samples or max(
            65536, math.ceil(self.capacity_seconds * info.sample_rate)
        )
        capacity = -(-capacity // 1024) * 1024  # whole KiB-multiples keep slices page-friendly
        meta = json.dumps(
            {
                "channel_names": list(info.channel_names),
                "units": list(info.units),
                "description": info.description,
                "scale": info.scale,
                "offset": info.offset,
            }
        ).encode()
        if len(meta) > _META_MAX:
            raise ConfigurationError(
                f"ShmPublisher: channel names, units and description take {len(meta)} bytes "
                f"of JSON; the header holds {_META_MAX}"
            )
        desc_offset = HEADER_BYTES
        data_offset = -(-(desc_offset + self.descriptors * DESC_WORDS * 8) // 4096) * 4096 + 16
        size = data_offset + capacity * channels * dtype.itemsize
        shm = self._create(size)
        mm = _map(shm)
        hdr: NDArray[np.uint64] = np.ndarray((HEADER_BYTES // 8,), "<u8", mm, 0)
        hdr_f = hdr.view("<f8")
        hdr[_W_VERSION] = LAYOUT_VERSION
        hdr[_W_GENERATION] = (time.time_ns() ^ (os.getpid() << 40)) & (INVALID >> 1)
        hdr[_W_CAPACITY] = capacity
        hdr[_W_CHANNELS] = channels
        hdr[_W_ITEMSIZE] = dtype.itemsize
        hdr[_W_DESC_CAPACITY] = self.descriptors
        hdr[_W_DESC_OFFSET] = desc_offset
        hdr[_W_DATA_OFFSET] = data_offset
        hdr_f[_W_RATE] = float(info.sample_rate)
        hdr_f[_W_START_TIME] = float("nan") if info.start_time is None else info.start_time
        hdr[_W_PID] = os.getpid()
        hdr[_W_STATE] = STATE_CREATING
        hdr[_W_HEARTBEAT] = time.monotonic_ns()
        hdr[_W_HEARTBEAT_INTERVAL] = int(self.heartbeat * 1e9)
        hdr[_W_META_LEN] = len(meta)
        mm[_DTYPE_OFFSET : _DTYPE_OFFSET + 16] = dtype.str.encode().ljust(16, b"\0")
        mm[_META_OFFSET : _META_OFFSET + len(meta)] = meta
        hdr[_W_MAGIC] = MAGIC  # last: the header is complete
        del hdr, hdr_f
        self._seg = _Segment(mm)
        self._seg.hdr[_W_STATE] = STATE_RUNNING
        self._shm = shm
        self._written = self._n_desc = 0
        self._need_t0 = info.start_time is None
        self._hb_stop.clear()
        self._hb_thread = threading.Thread(
            target=self._beat, name=f"livetrace-shm-heartbeat-{self.name}", daemon=True
        )
        self._hb_thread.start()

    def _create(self, size: int) -> shared_memory.SharedMemory:
        try:
            shm = shared_memory.SharedMemory(name=self.segment, create=True, size=size)
        except FileExistsError:
            old = _open_segment(self.segment)
            if old is not None and old.state != STATE_ENDED and not old.stale(self.stale_after):
                pid = old.pid
                del old  # unmapped when unreferenced
                raise ConfigurationError(
                    f"shm://{self.name} is already published by process {pid}; choose another "
                    "name or stop that publisher"
                ) from None
            del old
            # left by a publisher that died or ended: replace it
            self._unlink_name()
            shm = shared_memory.SharedMemory(name=self.segment, create=True, size=size)
        return shm

    def _unlink_name(self) -> None:
        try:
            # registered with, and by unlink() unregistered from, this process's tracker
            stale = shared_memory.SharedMemory(name=self.segment, create=False)
        except FileNotFoundError:
            return
        stale.close()
        stale.unlink()

    def _beat(self) -> None:
        seg = self._seg
        assert seg is not None
        while not self._hb_stop.wait(self.heartbeat):
            seg.hdr[_W_HEARTBEAT] = time.monotonic_ns()

    def write(self, chunk: WaveformTrace) -> None:
        """Publish ``chunk`` (consumer thread); never waits for readers."""
        seg = self._seg
        if seg is None:
            raise ConfigurationError(f"{self!r}: write() before open() or after close()")
        md = chunk.metadata
        data = np.asarray(chunk.data, dtype=seg.dtype)
        if seg.n_channels > 1:
            if data.ndim != 2 or data.shape[1] != seg.n_channels:
                raise ValueError(
                    f"{self!r}: expected data of shape (n, {seg.n_channels}), got {data.shape}"
                )
        elif data.ndim != 1:
            data = data.reshape(-1)
        n = len(data)
        start_index = int(md.start_index)
        cap = seg.capacity
        if n > cap:  # only the newest `cap` samples fit: the rest is a gap for every reader
            start_index += n - cap
            data = data[n - cap :]
            n = cap
        t = md.start_time
        if t is None:
            t = math.nan
        elif self._need_t0:
            seg.hdr_f[_W_START_TIME] = t - start_index / md.sample_rate
            self._need_t0 = False
        hdr = seg.hdr
        pos = self._written
        end = pos + n
        hdr[_W_RESERVE] = end  # readers check this after copying
        slot = pos % cap
        if slot + n <= cap:
            seg.data[slot : slot + n] = data
        else:
            first = cap - slot
            seg.data[slot:] = data[:first]
            seg.data[: n - first] = data[first:]
        k = self._n_desc
        base = seg.desc_base + (k % seg.n_desc_cap) * DESC_WORDS
        hdr[base] = INVALID  # _D_SEQ: being rewritten
        _DESC_BODY.pack_into(
            seg.mm,
            (base + 1) * 8,
            pos,
            start_index,
            n,
            t,
            max(0, int(md.gap)),
            1 if md.discontinuity else 0,
        )
        hdr[base] = k
        self._written = end
        self._n_desc = k + 1
        hdr[_W_WRITTEN] = end
        hdr[_W_N_DESC] = k + 1
        self.chunks += 1
        self.samples += n

    def close(self) -> None:
        """Mark the stream ended, stop the heartbeat and remove the segment's name."""
        seg, self._seg = self._seg, None
        if seg is None:
            return
        self._hb_stop.set()
        if self._hb_thread is not None:
            self._hb_thread.join()
            self._hb_thread = None
        seg.hdr[_W_STATE] = STATE_ENDED
        seg.release()
        shm, self._shm = self._shm, None
        if shm is not None:
            try:
                shm.unlink()
            except FileNotFoundError:
                self.removed_elsewhere = True  # already removed by another process
        del seg  # the mapping is unmapped once no reader array in this process uses it

    def __enter__(self) -> ShmPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ShmChunk:
    """Samples read from the ring by :meth:`ShmSource.read`.

    ``start_index`` is the publisher's absolute index of ``data[0]`` and ``start_time`` its
    POSIX time (None when the publisher does not know it); ``gap`` samples were lost right
    before (the reader fell behind, or the publisher's own input had a gap) and
    ``discontinuity`` says samples may be missing there. When ``view`` is True, ``data`` is a
    read-only view into shared memory that the publisher overwrites once the reader is a ring's
    capacity behind: use it, then call :meth:`valid`; if that is False the view may hold newer
    samples and must be discarded.
    """

    __slots__ = (
        "_first",
        "_seg",
        "data",
        "discontinuity",
        "gap",
        "start_index",
        "start_time",
        "view",
    )

    def __init__(
        self,
        data: NDArray[Any],
        start_index: int,
        start_time: float | None,
        gap: int,
        discontinuity: bool,
        view: bool,
        seg: _Segment,
        first: int,
    ) -> None:
        self.data = data
        self.start_index = start_index
        self.start_time = start_time
        self.gap = gap
        self.discontinuity = discontinuity
        self.view = view
        self._seg = seg
        self._first = first  # ring counter of data[0]

    def __repr__(self) -> str:
        return (
            f"ShmChunk(start_index={self.start_index}, n={len(self.data)}, gap={self.gap}, "
            f"discontinuity={self.discontinuity}, view={self.view})"
        )

    def valid(self) -> bool:
        """True while ``data`` still holds the samples it was read with."""
        return not self.view or self._first >= int(self._seg.hdr[_W_RESERVE]) - self._seg.capacity


class ShmSource(RealtimeSource):
    """Read a stream published by :class:`ShmPublisher` in another (or the same) process.

    ``start``: where to begin, ``"latest"`` (the next sample published), ``"start"`` (index
    0: what the ring no longer holds is a counted gap) or an absolute index. Samples are
    numbered from that point: the reader's index 0 is the publisher's index ``origin``
    (``health()["origin"]``), and ``info.start_time`` is shifted to match, so chunk times are
    the publisher's.

    ``acquire()`` returns copies (the default, because the stream keeps samples after the
    publisher may have overwritten them); :meth:`read` with ``copy=False`` gives read-only
    views plus a validity check. Both wait by sleeping, ``min_poll`` seconds at first, doubling
    up to ``poll`` seconds while nothing new comes, and a stop wakes them within ``poll``. A
    smaller ``min_poll`` lowers latency but costs CPU on a fast stream (every wake-up costs
    tens of microseconds); readers wake up far less often than chunks are published, so a
    call usually returns several chunks at once (up to ``max_samples``).

    A publisher that closes ends the stream (EndOfStream after every sample). One that dies (its
    process is gone, or no heartbeat for ``timeout`` seconds) is reported in ``health()``
    (``publisher="lost"``); the source waits for a new publisher under the same name and
    continues with a discontinuity. ``wait``: seconds the constructor waits for the stream to
    be published (0: fail at once with SourceUnavailableError).
    """

    def __init__(
        self,
        name: str,
        *,
        start: str | int = "latest",
        max_samples: int = 1 << 20,
        timeout: float = 1.0,
        wait: float = 0.0,
        poll: float = 0.005,
        min_poll: float = 0.001,
    ) -> None:
        self.name = name
        self.segment = segment_name(name)
        if isinstance(start, str) and start not in ("latest", "start"):
            raise ConfigurationError(
                f"ShmSource: start must be 'latest', 'start' or an index, got {start!r}"
            )
        if not isinstance(start, str) and start < 0:
            raise ConfigurationError(f"ShmSource: start index must be >= 0, got {start!r}")
        if max_samples < 1:
            raise ConfigurationError(f"ShmSource: max_samples must be >= 1, got {max_samples!r}")
        if not timeout > 0 or not 0 < min_poll <= poll or wait < 0:
            raise ConfigurationError(
                f"ShmSource: need timeout > 0, 0 < min_poll <= poll, wait >= 0; got {timeout!r}, "
                f"{min_poll!r}, {poll!r}, {wait!r}"
            )
        self.start_at = start
        self.max_samples = int(max_samples)
        self.timeout = float(timeout)
        self.poll = float(poll)
        self.min_poll = float(min_poll)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        deadline = time.monotonic() + wait
        seg = _open_segment(self.segment)
        while seg is None and time.monotonic() < deadline:
            time.sleep(min(0.05, wait))
            seg = _open_segment(self.segment)
        if seg is None:
            raise SourceUnavailableError(
                f"no stream is published as shm://{name} (no shared-memory segment "
                f"{self.segment!r}); start a publisher first (ShmPublisher or "
                "'livetrace publish ... --to shm://NAME'), or pass wait=SECONDS"
            )
        self._seg: _Segment = seg
        # position: next descriptor k, samples of it already consumed, next publisher index
        self._k = 0
        self._off = 0
        self._expect: int | None = None
        self._min_index = 0
        self._shift = 0  # publisher index of our index 0 (changes on a new generation)
        self._next = 0  # our next index
        self._position(start)
        self._origin = self._shift
        self._info = seg.info(f"shm://{name}", self._shift)
        self._disc_next = False
        self._lost = False
        self._last_check = 0.0
        # counters
        self._samples = 0
        self._gaps = 0
        self._lost_samples = 0
        self._torn = 0
        self._reattached = 0
        self._lost_publisher = 0

    def _position(self, start: str | int) -> None:
        seg = self._seg
        n_desc = int(seg.hdr[_W_N_DESC])
        if start == "latest":
            self._k = n_desc
            self._expect = self._last_end(seg, n_desc)
            self._shift = self._expect
        else:
            self._k = max(0, n_desc - seg.n_desc_cap)
            self._expect = 0 if start == "start" else int(start)
            self._min_index = self._expect
            self._shift = self._expect
        self._off = 0
        self._next = 0

    @staticmethod
    def _last_end(seg: _Segment, n_desc: int) -> int:
        """Publisher index right after the last committed descriptor (0 when none)."""
        while n_desc > 0:
            d = seg.descriptor(n_desc - 1)
            if d is not None:
                return d[_D_START_INDEX] + d[_D_N]
            n_desc = int(seg.hdr[_W_N_DESC])  # overwritten while read: look again
        return 0

    def __repr__(self) -> str:
        return f"ShmSource({self.name!r})"

    @property
    def info(self) -> SourceInfo:
        """What the publisher publishes; ``start_time`` is the time of our index 0 (None until
        the publisher knows the time of its samples)."""
        if self._info.start_time is None:
            self._info = self._seg.info(f"shm://{self.name}", self._shift)
        return self._info

    def health(self) -> dict[str, Any]:
        """``publisher`` (running, ended or lost), ``generation``, ``origin`` (the publisher's
        index of our index 0), ``samples``, ``gaps`` and ``lost_samples`` (exact: samples the
        reader never saw), ``torn_reads`` (copies discarded because the publisher overwrote
        them meanwhile), ``lag`` (samples published but not yet read), ``reattached`` and
        ``publisher_lost`` (times a publisher died)."""
        seg = self._seg
        state = "lost" if self._lost else _STATE_NAMES.get(seg.state, "unknown")
        written = int(seg.hdr[_W_WRITTEN])
        return {
            "publisher": state,
            "generation": seg.generation,
            "origin": self._origin,
            "samples": self._samples,
            "gaps": self._gaps,
            "lost_samples": self._lost_samples,
            "torn_reads": self._torn,
            "lag": max(0, self._lag(seg, written)),
            "reattached": self._reattached,
            "publisher_lost": self._lost_publisher,
        }

    def _lag(self, seg: _Segment, written: int) -> int:
        n_desc = int(seg.hdr[_W_N_DESC])
        if self._k >= n_desc:
            return 0
        d = seg.descriptor(self._k)
        if d is None:
            return written
        return written - d[_D_RING_POS] - self._off

    # ------------------------------------------------------------------ source protocol
    def start(self) -> None:
        """Allow ``acquire()`` again after :meth:`stop` (the position is kept)."""
        self._stop.clear()

    def stop(self) -> None:
        """Make a waiting ``acquire()``/``read()`` return None within ``poll`` seconds."""
        self._stop.set()

    def acquire(self) -> Block | None:
        """The next samples as a copy, with their position (None once stopped)."""
        piece = self.read(copy=True)
        if piece is None:
            return None
        return Block(
            piece.data,
            start_index=piece.start_index - self._shift,
            discontinuity=piece.discontinuity,
        )

    def read(
        self,
        *,
        copy: bool = True,
        max_samples: int | None = None,
        timeout: float | None = None,
        out: NDArray[Any] | None = None,
    ) -> ShmChunk | None:
        """Wait for the next samples (at most ``max_samples``) and return them.

        ``copy=False`` returns a read-only view into the ring (no copy; see
        :class:`ShmChunk`); a view never spans the ring's end, so it may be shorter.
        ``out``: an array to copy into (at least as long as ``max_samples``; its first
        ``len(data)`` rows are returned). Returns None when stopped or after ``timeout``
        seconds without data; raises EndOfStream once a publisher that closed is drained.
        """
        limit = min(
            self.max_samples if max_samples is None else int(max_samples),
            self.max_samples if out is None else len(out),
        )
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = self.min_poll
        stop = self._stop
        while not stop.is_set():
            with self._lock:
                got = self._try_read(limit, copy, out)
            if got is not None:
                return got
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                delay = min(delay, left)
            # a plain sleep (no longer than poll, so a stop is still seen in time) costs less
            # CPU per wake-up than waiting on the stop event
            time.sleep(delay)
            delay = min(self.poll, delay * 2)
        return None

    # ------------------------------------------------------------------ the read itself
    def _desc(self, seg: _Segment, k: int) -> list[int] | None:
        return seg.descriptor(k)

    def _try_read(self, limit: int, copy: bool, out: NDArray[Any] | None) -> ShmChunk | None:
        seg = self._seg
        hdr = seg.hdr
        cap = seg.capacity
        while True:
            state = int(hdr[_W_STATE])
            n_desc = int(hdr[_W_N_DESC])
            if self._k >= n_desc:
                return self._idle(seg, state)
            if self._k < n_desc - seg.n_desc_cap:  # the descriptor table wrapped past us
                self._k, self._off = n_desc - seg.n_desc_cap, 0
            d0 = self._desc(seg, self._k)
            if d0 is None:
                self._k, self._off = max(self._k + 1, int(hdr[_W_N_DESC]) - seg.n_desc_cap), 0
                continue
            pos, idx, n = int(d0[_D_RING_POS]), int(d0[_D_START_INDEX]), int(d0[_D_N])
            oldest = int(hdr[_W_RESERVE]) - cap
            if pos + n <= oldest and n_desc - self._k > 1:
                self._catch_up(seg, oldest + cap // 8, n_desc)
                continue
            if self._off == 0 and (int(d0[_D_FLAGS]) & 1 or int(d0[_D_GAP]) > 0):
                self._disc_next = True
            if n == 0 or self._off >= n:
                self._k, self._off = self._k + 1, 0
                continue
            # coalesce following descriptors that continue this one exactly
            a = pos + self._off
            b = pos + n
            ends = [(self._k, b)]  # (descriptor, ring counter where it ends)
            k = self._k + 1
            while b - a < limit and k < n_desc:
                want = min(n_desc - k, _COALESCE_BATCH)
                batch = seg.descriptors(k, want)
                for d in batch:
                    if (
                        d[_D_FLAGS] & 1
                        or d[_D_GAP] > 0
                        or d[_D_RING_POS] != b
                        or d[_D_START_INDEX] != idx + (b - pos)
                        or d[_D_N] == 0
                    ):
                        break
                    b += d[_D_N]
                    ends.append((k, b))
                    k += 1
                    if b - a >= limit:
                        break
                else:
                    if len(batch) == want:
                        continue  # all of them continue this one: look further
                break
            b = min(b, a + limit)
            if not copy and a // cap != (b - 1) // cap:
                b = (a // cap + 1) * cap  # a view stops at the ring's end
            # samples the publisher already overwrote (or is overwriting) are lost
            a = max(a, int(hdr[_W_RESERVE]) - cap)
            first_index = idx + (a - pos)
            if first_index < self._min_index:
                a += self._min_index - first_index
                first_index = self._min_index
            if a < b:
                data = self._take(seg, a, b, copy, out)
                low = int(hdr[_W_RESERVE]) - cap  # checked after the copy
                if low > a:
                    self._torn += 1
                    cut = min(low, b) - a
                    data = data[cut:]
                    a += cut
                    first_index += cut
            else:
                data = None
            self._advance(ends, b)
            if data is None or len(data) == 0:
                continue
            return self._deliver(seg, data, first_index, a, not copy)

    def _catch_up(self, seg: _Segment, target: int, n_desc: int) -> None:
        """Skip to the first descriptor still (with a margin) in the ring, by bisection.

        The skipped samples are counted as a gap by the next delivery; the margin (an eighth
        of the ring) keeps a reader that fell behind from chasing samples about to be
        overwritten.
        """
        lo, hi = self._k + 1, n_desc - 1
        while lo < hi:
            mid = (lo + hi) // 2
            d = seg.descriptor(mid)
            if d is None or d[_D_RING_POS] + d[_D_N] <= target:
                lo = mid + 1
            else:
                hi = mid
        self._k, self._off = lo, 0

    def _take(
        self, seg: _Segment, a: int, b: int, copy: bool, out: NDArray[Any] | None
    ) -> NDArray[Any]:
        cap = seg.capacity
        s, e = a % cap, (b - 1) % cap + 1
        if not copy:
            view = seg.data[s:e]
            if view.flags.writeable:  # a read-write mapping (Python 3.13's SharedMemory)
                view.flags.writeable = False
            return view
        n = b - a
        if out is None:
            out = aligned_empty(
                (n, *seg.data.shape[1:]), seg.dtype, like_address=seg.data[s:].ctypes.data
            )
        else:
            out = out[:n]
        if s < e:
            np.copyto(out, seg.data[s:e])
        else:
            np.copyto(out[: cap - s], seg.data[s:])
            np.copyto(out[cap - s :], seg.data[:e])
        return out

    def _advance(self, ends: list[tuple[int, int]], b: int) -> None:
        for k, end in ends:
            if b < end:
                d = self._desc(self._seg, k)
                start = end - int(d[_D_N]) if d is not None else end
                self._k, self._off = k, b - start
                return
        self._k, self._off = ends[-1][0] + 1, 0

    def _deliver(
        self, seg: _Segment, data: NDArray[Any], first_index: int, ring_first: int, view: bool
    ) -> ShmChunk:
        disc = self._disc_next
        self._disc_next = False
        if self._expect is None:  # first samples of a new publisher generation
            self._shift = first_index - self._next
            disc = True
            gap = 0
        else:
            gap = first_index - self._expect
            if gap > 0:
                self._gaps += 1
                self._lost_samples += gap
                disc = True
        self._expect = first_index + len(data)
        self._next = self._expect - self._shift
        self._samples += len(data)
        t0 = float(seg.hdr_f[_W_START_TIME])
        rate = float(seg.hdr_f[_W_RATE])
        return ShmChunk(
            data=data,
            start_index=first_index,
            start_time=None if math.isnan(t0) else t0 + first_index / rate,
            gap=max(gap, 0),
            discontinuity=disc,
            view=view,
            seg=seg,
            first=ring_first,
        )

    def _idle(self, seg: _Segment, state: int) -> ShmChunk | None:
        """Nothing new: detect the end, a dead publisher, or a new one."""
        if state == STATE_ENDED and self._k >= int(seg.hdr[_W_N_DESC]):
            raise EndOfStream(f"shm://{self.name}: the publisher closed the stream")
        now = time.monotonic()
        if now - self._last_check < min(0.05, self.timeout / 4):
            return None
        self._last_check = now
        if not self._lost and seg.stale(self.timeout):
            self._lost = True
            self._lost_publisher += 1
        if self._lost:
            new = _open_segment(self.segment)
            if new is None:
                return None
            if new.generation != seg.generation and new.state == STATE_RUNNING:
                self._switch(new)
        return None

    def _switch(self, new: _Segment) -> None:
        old = self._seg
        if (new.dtype, new.n_channels) != (old.dtype, old.n_channels) or float(
            new.hdr_f[_W_RATE]
        ) != float(old.hdr_f[_W_RATE]):
            raise SourceError(
                f"shm://{self.name} was republished with another format: {new.dtype}, "
                f"{new.n_channels} channel(s), {float(new.hdr_f[_W_RATE]):g} samples/s "
                f"instead of {old.dtype}, {old.n_channels}, {float(old.hdr_f[_W_RATE]):g}"
            )
        self._seg = new
        self._lost = False
        self._reattached += 1
        self._k = max(0, int(new.hdr[_W_N_DESC]) - new.n_desc_cap)
        self._off = 0
        self._expect = None  # renumbered at the first samples, marked as a discontinuity
        self._min_index = 0


def _start_param(text: str) -> str | int:
    if text in ("latest", "start"):
        return text
    return to_int(text)


def from_uri(p: ParsedURI) -> ShmSource:
    """``shm://NAME?from=latest|start|INDEX&timeout=1&wait=0&max_samples=1048576``
    ``&min_poll=0.001&poll=0.005``."""
    name = p.target.strip("/")
    latest: str | int = "latest"
    start = p.take("from", _start_param, latest, aliases=("start",))
    return ShmSource(
        name,
        start=start,
        timeout=p.take("timeout", float, 1.0),
        wait=p.take("wait", float, 0.0),
        max_samples=p.take("max_samples", to_int, 1 << 20),
        poll=p.take("poll", float, 0.005),
        min_poll=p.take("min_poll", float, 0.001),
    )
