"""A stream in a Redis stream: publish from one machine, read from any number of others.

:class:`RedisPublisher` is a sink that appends one Redis stream entry per delivered chunk;
:class:`RedisSource` (``open_source("redis://host:port/KEY")``) reads them back as a source,
alone or as one worker of a consumer group. Redis does the fan-out, retention, replay and
work sharing; livetrace only lays out the entries (see ``docs/sharing.md``):

- entry ID ``<start_index>-1``: the ID's first part is the absolute index of the chunk's first
  sample, so ``XRANGE KEY <index> +`` seeks by sample index and retention trims by sample
  index (``XADD ... MINID ~ <index>``);
- fields ``d`` (samples, little-endian, C order ``(n, channels)``), ``i`` (start index), ``n``
  (samples), ``g`` (samples lost right before), ``f`` (flags: 1 discontinuity, 2 end of
  stream), ``t`` (POSIX time of the first sample, empty when unknown);
- ``KEY:info``: JSON description (rate, dtype, channels, names, units, source, start time);
  ``KEY:alive``: present while the publisher runs (it expires a few heartbeats after the
  publisher dies).

redis-py is imported on first use (``pip install 'livetrace[redis]'``).
"""

from __future__ import annotations

import collections
import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from numpy.typing import NDArray

from .._errors import (
    ConfigurationError,
    EndOfStream,
    SourceUnavailableError,
    require,
)
from .._protocols import Block, RealtimeSource, SourceInfo
from .._types import WaveformTrace
from ..sources._uri import ParsedURI, to_int

__all__ = [
    "FLAG_DISCONTINUITY",
    "FLAG_END",
    "LAYOUT_VERSION",
    "RedisPublisher",
    "RedisSource",
    "entry_id",
    "from_uri",
    "split_url",
]

LAYOUT_VERSION = 1
FLAG_DISCONTINUITY = 1
FLAG_END = 2
_BLOCK_MS = 50  # longest wait of one XREAD, so that stop() is seen within about 0.1 s
_CONNECT_TIMEOUT = 1.0
_IO_TIMEOUT = 5.0


def entry_id(start_index: int) -> str:
    """The entry ID of a chunk whose first sample has absolute index ``start_index``."""
    return f"{start_index}-1"


def _index_of(entry: bytes | str) -> int:
    text = entry.decode() if isinstance(entry, bytes) else entry
    return int(text.partition("-")[0])


def split_url(uri: str) -> tuple[str, str, dict[str, str]]:
    """``redis[s]://[:password@]host[:port]/KEY?query`` → (redis-py URL, KEY, query).

    The key is the URL's path (``/`` inside it is kept); ``db=N`` in the query selects the
    database, ``ssl_cert_reqs``/``ssl_ca_certs`` are passed to redis-py for ``rediss://``.
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigurationError(f"a Redis URL starts with redis:// or rediss://, got {uri!r}")
    key = parts.path.lstrip("/")
    if not key:
        raise ConfigurationError(
            f"no stream key in {uri!r}; write redis://host:port/KEY (the key is the path)"
        )
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    db = params.pop("db", "0")
    tls = {k: params.pop(k) for k in ("ssl_cert_reqs", "ssl_ca_certs") if k in params}
    query = "&".join(f"{k}={v}" for k, v in tls.items())
    url = f"{parts.scheme}://{parts.netloc}/{int(db)}" + (f"?{query}" if query else "")
    return url, key, params


def _connect(url: str, *, publisher: bool = False) -> Any:
    """A redis-py client; ``publisher``: one that sends large values without copying them."""
    redis = require("redis", "redis")
    options: dict[str, Any] = {
        "socket_connect_timeout": _CONNECT_TIMEOUT,
        "socket_timeout": _IO_TIMEOUT,
        "health_check_interval": 0,
    }
    packer = _copy_free_packer() if publisher else None
    if packer is not None:
        options["command_packer"] = packer
    return redis.Redis.from_url(url, **options)  # type: ignore[attr-defined]


def _copy_free_packer() -> Any:
    """redis-py's own command packer when hiredis is installed, None otherwise.

    With hiredis, redis-py packs each command into one new bytes object, a second copy of
    every payload; its pure-Python packer hands values over 6000 bytes to the socket as they
    are. Replies are still parsed by hiredis (much faster for readers).
    """
    conn: Any = require("redis.connection", "redis")
    serializer = getattr(conn, "PythonRespSerializer", None)
    encoder = getattr(conn, "Encoder", None)
    if not getattr(conn, "HIREDIS_AVAILABLE", False) or serializer is None or encoder is None:
        return None
    try:
        return serializer(6000, encoder("utf-8", "strict", False).encode)
    except TypeError:  # another redis-py signature: keep its default packer
        return None


def _redis_errors() -> tuple[type[BaseException], ...]:
    exc: Any = require("redis.exceptions", "redis")
    return (exc.ConnectionError, exc.TimeoutError, OSError)


@dataclass(frozen=True)
class _Pending:
    data: bytes
    start_index: int
    n: int
    gap: int
    flags: int
    start_time: float | None


class RedisPublisher:
    """A sink that appends the stream to the Redis stream ``key`` at ``url``.

    ``url``: ``redis://[:password@]host:port[/db]`` or ``rediss://`` for TLS (a
    ``redis://host:port/KEY`` URL also works, with ``key=None``). Retention: keep about the last
    ``maxlen_samples`` samples, or ``maxlen_seconds`` of them (trimmed by sample index with
    ``MINID``; ``approximate=True`` lets Redis trim whole nodes lazily, which is much cheaper).
    None keeps everything (memory grows without bound).

    ``write()`` (consumer thread) only converts the chunk to bytes and queues it; a sender
    thread pipelines the queued entries to Redis, so the stream never waits for the server or
    for readers. When Redis cannot be reached, queued entries beyond ``max_pending`` are
    dropped, failed sends are retried with exponential backoff (``backoff`` seconds doubling
    to ``max_backoff``) and everything lost is counted (``health()``) and written into the next
    entry's ``g`` field with the discontinuity flag, so readers see an exact gap. After a server
    restart the description key is written again.

    A publisher restarted on an existing key continues its numbering after the last entry (its
    first entry is flagged as a discontinuity). ``close()`` sends what is queued (waiting at
    most ``close_timeout`` seconds), appends an end-of-stream entry and removes ``KEY:alive``.
    """

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        maxlen_samples: int | None = None,
        maxlen_seconds: float | None = None,
        approximate: bool = True,
        max_pending: int = 256,
        heartbeat: float = 0.5,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
        close_timeout: float = 5.0,
    ) -> None:
        if key is None:
            url, key, extra = split_url(url)
            if extra:
                raise ConfigurationError(
                    f"RedisPublisher: unknown URL parameter(s) {', '.join(sorted(extra))}"
                )
        if not key:
            raise ConfigurationError("RedisPublisher: key must be a non-empty string")
        if maxlen_samples is not None and maxlen_seconds is not None:
            raise ConfigurationError(
                "RedisPublisher: give maxlen_samples or maxlen_seconds, not both"
            )
        if maxlen_samples is not None and maxlen_samples < 1:
            raise ConfigurationError(f"maxlen_samples must be >= 1, got {maxlen_samples!r}")
        if maxlen_seconds is not None and not maxlen_seconds > 0:
            raise ConfigurationError(f"maxlen_seconds must be > 0, got {maxlen_seconds!r}")
        if max_pending < 1 or not heartbeat > 0 or not 0 < backoff <= max_backoff:
            raise ConfigurationError(
                "RedisPublisher: need max_pending >= 1, heartbeat > 0 and "
                f"0 < backoff <= max_backoff; got {max_pending!r}, {heartbeat!r}, "
                f"{backoff!r}, {max_backoff!r}"
            )
        self.url = url
        self.key = key
        self.maxlen_samples = maxlen_samples
        self.maxlen_seconds = maxlen_seconds
        self.approximate = approximate
        self.max_pending = int(max_pending)
        self.heartbeat = float(heartbeat)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.close_timeout = float(close_timeout)
        self._client: Any = None
        self._cond = threading.Condition()
        self._queue: collections.deque[_Pending] = collections.deque()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._description = b""
        self._dtype = np.dtype("float64")
        self._channels = 1
        self._offset = 0  # added to start indices (continuing an existing key)
        self._keep: int | None = None
        self._owed_gap = 0  # lost samples not yet written into an entry
        self._owed_disc = False
        self._next_index: int | None = None
        # counters
        self._entries = 0
        self._samples = 0
        self._lost = 0
        self._failures = 0
        self._reconnects = 0
        self._last_error = ""

    def __repr__(self) -> str:
        return f"RedisPublisher({self.url!r}, {self.key!r})"

    def health(self) -> dict[str, Any]:
        """``entries`` and ``samples`` sent, ``lost_samples`` (dropped while Redis was
        unreachable or the queue was full), ``failures`` (failed sends), ``reconnects``,
        ``pending`` (entries queued) and ``last_error``."""
        with self._cond:
            pending = len(self._queue)
        return {
            "entries": self._entries,
            "samples": self._samples,
            "lost_samples": self._lost,
            "failures": self._failures,
            "reconnects": self._reconnects,
            "pending": pending,
            "last_error": self._last_error,
        }

    # ------------------------------------------------------------------ sink protocol
    def open(self, info: SourceInfo) -> None:
        """Connect, write the description and continue after any existing entries."""
        if self._thread is not None:
            raise ConfigurationError(f"{self!r} is already open")
        self._dtype = np.dtype(info.dtype).newbyteorder("<")
        self._channels = int(info.n_channels)
        if self.maxlen_samples is not None:
            self._keep = int(self.maxlen_samples)
        elif self.maxlen_seconds is not None:
            self._keep = max(1, math.ceil(self.maxlen_seconds * info.sample_rate))
        self._description = json.dumps(
            {
                "layout_version": LAYOUT_VERSION,
                "sample_rate": info.sample_rate,
                "dtype": self._dtype.str,
                "n_channels": self._channels,
                "channel_names": list(info.channel_names),
                "units": list(info.units),
                "description": info.description,
                "start_time": info.start_time,
                "scale": info.scale,
                "offset": info.offset,
            }
        ).encode()
        client = _connect(self.url, publisher=True)
        try:
            last = client.xrevrange(self.key, "+", "-", count=1)
            if last:
                entry, fields = last[0]
                # after an end-of-stream entry ("<index>-2") the next free index is one more
                self._offset = max(int(fields[b"i"]) + int(fields[b"n"]), _index_of(entry) + 1)
                self._owed_disc = True
            client.set(f"{self.key}:info", self._description)
            client.set(f"{self.key}:alive", b"1", px=int(self.heartbeat * 3000))
        except _redis_errors() as exc:
            client.close()
            raise SourceUnavailableError(f"{self!r}: cannot reach Redis ({exc})") from exc
        self._client = client
        self._closing = False
        self._thread = threading.Thread(
            target=self._send_loop, name=f"livetrace-redis-publisher-{self.key}", daemon=True
        )
        self._thread.start()

    def write(self, chunk: WaveformTrace) -> None:
        """Queue ``chunk`` for sending (consumer thread); never waits for Redis."""
        if self._thread is None:
            raise ConfigurationError(f"{self!r}: write() before open() or after close()")
        md = chunk.metadata
        data = np.ascontiguousarray(chunk.data, dtype=self._dtype)
        n = len(data)
        if self._channels > 1 and (data.ndim != 2 or data.shape[1] != self._channels):
            raise ValueError(f"{self!r}: expected shape (n, {self._channels}), got {data.shape}")
        item = _Pending(
            data=data.tobytes(),
            start_index=int(md.start_index) + self._offset,
            n=n,
            gap=max(0, int(md.gap)),
            flags=FLAG_DISCONTINUITY if md.discontinuity else 0,
            start_time=md.start_time,
        )
        with self._cond:
            self._queue.append(item)
            while len(self._queue) > self.max_pending:
                dropped = self._queue.popleft()
                self._lose(dropped)
            self._cond.notify()
        # Let the sender thread take the GIL: it gives it up around every socket call and,
        # facing a busy consumer thread, would otherwise wait a switch interval each time.
        time.sleep(0)

    def close(self) -> None:
        """Send what is queued, append the end-of-stream entry, stop the sender thread."""
        thread = self._thread
        if thread is None:
            return
        with self._cond:
            self._closing = True
            self._cond.notify()
        thread.join()
        self._thread = None
        client, self._client = self._client, None
        client.close()

    def __enter__(self) -> RedisPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ sender thread
    def _lose(self, item: _Pending) -> None:
        """Count ``item`` as lost; the next entry sent carries the loss (caller holds no I/O)."""
        self._lost += item.n
        self._owed_gap += item.gap + item.n
        self._owed_disc = True

    def _send_loop(self) -> None:
        errors = _redis_errors()
        deadline: float | None = None
        delay = self.backoff
        next_beat = 0.0
        broken = False
        while True:
            with self._cond:
                if not self._queue and not self._closing:
                    self._cond.wait(max(0.0, min(self.heartbeat, next_beat - time.monotonic())))
                batch = [self._queue.popleft() for _ in range(min(32, len(self._queue)))]
                closing = self._closing and not self._queue
            if closing and deadline is None:
                deadline = time.monotonic() + self.close_timeout
            try:
                if broken:
                    self._client.set(f"{self.key}:info", self._description)
                    self._reconnects += 1
                    broken = False
                if batch:
                    self._send(batch)
                    batch = []
                if time.monotonic() >= next_beat or closing:
                    self._client.set(f"{self.key}:alive", b"1", px=int(self.heartbeat * 3000))
                    next_beat = time.monotonic() + self.heartbeat
                if closing:
                    self._send_end()
                    return
                delay = self.backoff
            except errors as exc:
                self._failures += 1
                self._last_error = f"{type(exc).__name__}: {exc}"
                broken = True
                with self._cond:
                    for item in batch:
                        self._lose(item)
                if deadline is not None and time.monotonic() >= deadline:
                    with self._cond:
                        for item in self._queue:
                            self._lose(item)
                        self._queue.clear()
                    return
                retry_at = time.monotonic() + delay
                with self._cond:  # entries queued meanwhile wait (or are dropped, counted)
                    while not self._closing and time.monotonic() < retry_at:
                        self._cond.wait(retry_at - time.monotonic())
                delay = min(self.max_backoff, delay * 2)

    def _trim_args(self, last_index: int) -> dict[str, Any]:
        if self._keep is None:
            return {}
        return {"minid": max(0, last_index - self._keep), "approximate": self.approximate}

    def _send(self, batch: list[_Pending]) -> None:
        pipe = self._client.pipeline(transaction=False)
        with self._cond:
            gap, disc = self._owed_gap, self._owed_disc
            self._owed_gap, self._owed_disc = 0, False
        for k, item in enumerate(batch):
            flags = item.flags | (FLAG_DISCONTINUITY if disc and k == 0 else 0)
            fields = {
                "d": item.data,
                "i": item.start_index,
                "n": item.n,
                "g": item.gap + (gap if k == 0 else 0),
                "f": flags,
                "t": "" if item.start_time is None else repr(item.start_time),
            }
            pipe.xadd(
                self.key,
                fields,
                id=entry_id(item.start_index),
                **self._trim_args(item.start_index),
            )
        try:
            pipe.execute()
        except _redis_errors():
            with self._cond:  # the loss owed before this batch is still owed
                self._owed_gap += gap
                self._owed_disc = self._owed_disc or disc
            raise
        for item in batch:
            self._entries += 1
            self._samples += item.n
            self._next_index = item.start_index + item.n

    def _send_end(self) -> None:
        with self._cond:
            gap, disc = self._owed_gap, self._owed_disc
        index = self._next_index if self._next_index is not None else self._offset
        index += gap
        fields = {
            "d": b"",
            "i": index,
            "n": 0,
            "g": gap,
            "f": FLAG_END | (FLAG_DISCONTINUITY if disc else 0),
            "t": "",
        }
        # "-2": after a last (empty) entry that may already use "<index>-1"
        self._client.xadd(self.key, fields, id=f"{index}-2")
        self._client.delete(f"{self.key}:alive")


class RedisSource(RealtimeSource):
    """Read a stream that :class:`RedisPublisher` writes to the Redis stream ``key``.

    ``start``: ``"latest"`` (entries added from now on), ``"start"`` (index 0: whatever the
    retention trimmed is a counted gap) or an absolute sample index. The source numbers
    samples from there: its index 0 is the publisher's index ``origin`` (``health()``), and
    ``info.start_time`` is shifted to match, so chunk times are the publisher's.

    With ``group`` (and ``consumer``, default ``"worker"``) the source is one worker of a Redis
    consumer group: each entry goes to one worker; its samples keep their absolute indices, so
    entries handled by other workers appear as jumps (``health()["shared_samples"]``, not
    losses). An entry is acknowledged (``XACK``) once the stream has delivered it, through
    :meth:`acknowledger` (a sink to add to the stream) or, without it, when the next entry is
    requested. A restarted worker with the same ``consumer`` name first re-reads its
    unacknowledged entries, so a crash loses nothing (entries may be seen twice). A group
    worker keeps the publisher's numbering (its index 0 is the publisher's index 0).

    ``acquire()`` waits at most about 0.05 s per server call, so ``stop()`` takes effect
    quickly. Lost connections are retried with backoff (``health()["reconnects"]``); the
    samples missed meanwhile show as an exact gap. ``health()["publisher"]`` is ``"running"``,
    ``"lost"`` (``KEY:alive`` expired: the publisher died or cannot reach Redis) or
    ``"ended"``.
    """

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        start: str | int = "latest",
        group: str | None = None,
        consumer: str | None = None,
        count: int = 16,
    ) -> None:
        if key is None:
            url, key, extra = split_url(url)
            if extra:
                raise ConfigurationError(
                    f"RedisSource: unknown URL parameter(s) {', '.join(sorted(extra))}"
                )
        if isinstance(start, str) and start not in ("latest", "start"):
            raise ConfigurationError(
                f"RedisSource: start must be 'latest', 'start' or an index, got {start!r}"
            )
        if not isinstance(start, str) and start < 0:
            raise ConfigurationError(f"RedisSource: start index must be >= 0, got {start!r}")
        if consumer is not None and group is None:
            raise ConfigurationError("RedisSource: consumer needs group")
        if count < 1:
            raise ConfigurationError(f"RedisSource: count must be >= 1, got {count!r}")
        self.url = url
        self.key = key
        self.group = group
        self.consumer = consumer or ("worker" if group else None)
        self.count = int(count)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._client: Any = _connect(url)
        try:
            raw = self._client.get(f"{key}:info")
            self._alive_key = f"{key}:alive"
        except _redis_errors() as exc:
            self._client.close()
            raise SourceUnavailableError(f"RedisSource: cannot reach {url} ({exc})") from exc
        if raw is None:
            self._client.close()
            raise SourceUnavailableError(
                f"nothing is published at {url} key {key!r} (no {key}:info); start a "
                "publisher first (RedisPublisher or 'livetrace publish ... --to redis://...')"
            )
        self._desc: dict[str, Any] = json.loads(raw)
        self._dtype = np.dtype(self._desc["dtype"])
        self._channels = int(self._desc["n_channels"])
        self._rate = float(self._desc["sample_rate"])
        self._last_id = "0-0"
        self._expect = 0
        self._min_index = 0
        self._position(start)
        if group is not None:  # workers keep the publisher's numbering
            self._expect = self._min_index = 0
        self._origin = self._expect
        self._disc_next = False
        self._ended = False
        self._group_ready = False
        self._history = group is not None  # a worker first re-reads its own pending entries
        self._hist_id = "0"
        self._batch: collections.deque[tuple[bytes, dict[bytes, bytes]]] = collections.deque()
        self._unacked: collections.deque[tuple[bytes, int]] = collections.deque()
        self._delivered = 0  # our index up to which the stream has delivered samples
        # counters
        self._entries = 0
        self._samples = 0
        self._gaps = 0
        self._lost = 0
        self._shared = 0
        self._reconnects = 0
        self._errors = 0
        self._acked = 0
        self._redelivered = 0
        self._last_entry = time.monotonic()
        self._last_error = ""

    def _position(self, start: str | int) -> None:
        if start == "latest":
            last = self._client.xrevrange(self.key, "+", "-", count=1)
            if last:
                entry, fields = last[0]
                self._last_id = entry.decode()
                self._expect = int(fields[b"i"]) + int(fields[b"n"])
        elif start == "start":
            self._expect = 0
        else:
            index = int(start)
            self._expect = self._min_index = index
            before = self._client.xrevrange(self.key, entry_id(index), "-", count=1)
            if before:
                entry, fields = before[0]
                if int(fields[b"i"]) + int(fields[b"n"]) > index:
                    self._last_id = f"{_index_of(entry)}-0"  # re-read that entry, trimmed
                else:
                    self._last_id = entry.decode()
            else:
                self._last_id = "0-0"

    def __repr__(self) -> str:
        return f"RedisSource({self.url!r}, {self.key!r})"

    @property
    def info(self) -> SourceInfo:
        d = self._desc
        t0 = d.get("start_time")
        return SourceInfo(
            sample_rate=self._rate,
            dtype=self._dtype.newbyteorder("=").name,
            n_channels=self._channels,
            channel_names=tuple(d.get("channel_names", ())),
            units=tuple(d.get("units", ())),
            finite=False,
            description=f"redis key {self.key}" + (f" group {self.group}" if self.group else ""),
            start_time=None if t0 is None else float(t0) + self._origin / self._rate,
            scale=d.get("scale"),
            offset=d.get("offset"),
            backpressure=False,
        )

    def health(self) -> dict[str, Any]:
        """``publisher`` (running, lost, ended), ``origin``, ``entries``, ``samples``,
        ``gaps`` and ``lost_samples`` (exact: samples this reader will never see, trimmed by
        retention or lost by the publisher), ``shared_samples`` (a group worker: samples that
        went to other workers), ``acknowledged``, ``redelivered`` (entries a restarted worker
        read again because they were not acknowledged), ``reconnects``, ``errors``, ``idle_seconds``
        (since the last entry) and ``last_error``."""
        if self._ended:
            publisher = "ended"
        else:
            try:
                publisher = "running" if self._client.exists(self._alive_key) else "lost"
            except _redis_errors():
                publisher = "unreachable"
        return {
            "publisher": publisher,
            "origin": self._origin,
            "entries": self._entries,
            "samples": self._samples,
            "gaps": self._gaps,
            "lost_samples": self._lost,
            "shared_samples": self._shared,
            "acknowledged": self._acked,
            "redelivered": self._redelivered,
            "reconnects": self._reconnects,
            "errors": self._errors,
            "idle_seconds": time.monotonic() - self._last_entry,
            "last_error": self._last_error,
        }

    # ------------------------------------------------------------------ source protocol
    def start(self) -> None:
        """Allow ``acquire()`` again after :meth:`stop` (the position is kept)."""
        self._stop.clear()

    def stop(self) -> None:
        """Make a waiting ``acquire()`` return None within about 0.1 s."""
        self._stop.set()

    def close(self) -> None:
        """Acknowledge what was delivered and close the connection."""
        with self._lock:
            if self._client is not None:
                self._ack_delivered()
                self._client.close()
                self._client = None

    def acknowledger(self) -> _Acknowledger:
        """A sink that acknowledges each group entry once the stream delivered all of it.

        Add it last to the stream's sinks (``RealtimeStream.from_source(src,
        sinks=[..., src.acknowledger()])``) so that entries count as done only after
        every other sink and analyser has seen their samples.
        """
        return _Acknowledger(self)

    def acquire(self) -> Block | None:
        """The next entry's samples; None when none came within about 0.05 s, once stopped,
        or while Redis is unreachable (retried with backoff)."""
        delay = 0.05
        while not self._stop.is_set():
            with self._lock:
                if self._client is None:
                    self._client = _connect(self.url)
                try:
                    out = self._read_one()
                    delay = 0.05
                except _redis_errors() as exc:
                    self._errors += 1
                    self._last_error = f"{type(exc).__name__}: {exc}"
                    self._disc_next = True
                    self._group_ready = False
                    out = None
                    failed = True
                else:
                    failed = False
            if not failed:
                return out  # None after one empty wait of about 0.05 s
            self._reconnects += 1
            self._stop.wait(delay)
            delay = min(1.0, delay * 2)
        return None

    # ------------------------------------------------------------------ reading
    def _ensure_group(self) -> None:
        if self._group_ready or self.group is None:
            return
        exc_mod: Any = require("redis.exceptions", "redis")
        try:
            self._client.xgroup_create(self.key, self.group, id=self._last_id, mkstream=True)
        except exc_mod.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _fetch(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        client = self._client
        if self.group is None:
            resp = client.xread({self.key: self._last_id}, count=self.count, block=_BLOCK_MS)
            return list(resp[0][1]) if resp else []
        assert self.consumer is not None
        self._ensure_group()
        self._ack_delivered()
        exc_mod: Any = require("redis.exceptions", "redis")
        try:
            if self._history:
                resp = client.xreadgroup(
                    self.group, self.consumer, {self.key: self._hist_id}, count=self.count
                )
                entries = list(resp[0][1]) if resp else []
                if entries:
                    self._redelivered += len(entries)
                    self._hist_id = entries[-1][0].decode()
                    kept = [(e, f) for e, f in entries if f]  # trimmed ones come back empty
                    for e, f in entries:
                        if not f:
                            self._ack(e)
                    return kept
                self._history = False
            resp = client.xreadgroup(
                self.group, self.consumer, {self.key: ">"}, count=self.count, block=_BLOCK_MS
            )
        except exc_mod.ResponseError as exc:
            if "NOGROUP" in str(exc):  # the server lost the group (restarted without data)
                self._group_ready = False
                return []
            raise
        return list(resp[0][1]) if resp else []

    def _read_one(self) -> Block | None:
        if self._ended:
            raise EndOfStream(f"redis key {self.key}: the publisher closed the stream")
        if not self._batch:
            self._batch = collections.deque(self._fetch())
            if not self._batch:
                if self.group is not None and not self._history:
                    self._check_group_end()
                return None
        entry, fields = self._batch.popleft()
        self._last_entry = time.monotonic()
        index = int(fields[b"i"])
        n = int(fields[b"n"])
        flags = int(fields[b"f"])
        if int(fields[b"g"]) > 0 or flags & FLAG_DISCONTINUITY:
            self._disc_next = True
        if self.group is None or _index_of(entry) >= _index_of(self._last_id):
            self._last_id = entry.decode()
        if flags & FLAG_END:
            self._ended = True
            self._ack(entry)
            gap = index - self._expect if index > self._expect else 0
            if gap or self._disc_next:
                self._count_gap(gap)
                self._disc_next = False
                return Block(self._empty(), start_index=index - self._origin, discontinuity=True)
            raise EndOfStream(f"redis key {self.key}: the publisher closed the stream")
        data: NDArray[Any] = np.frombuffer(fields[b"d"], dtype=self._dtype)
        if self._channels > 1:
            data = data.reshape(n, self._channels)
        if index < self._min_index:  # the entry straddles the requested start
            cut = min(n, self._min_index - index)
            data, index, n = data[cut:], index + cut, n - cut
        if index < self._expect:  # seen already (a group worker re-reading its history)
            cut = min(n, self._expect - index)
            data, index, n = data[cut:], index + cut, n - cut
        if n == 0:
            self._ack(entry)
            return None
        if self.group is not None:
            self._unacked.append((entry, index + n - self._origin))
        jump = index - self._expect
        if jump > 0:
            if self.group is not None and not int(fields[b"g"]) and not flags:
                self._shared += jump
            else:
                self._count_gap(jump)
        disc = self._disc_next or (jump > 0 and self.group is None)
        self._disc_next = False
        self._expect = index + n
        self._entries += 1
        self._samples += n
        return Block(data, start_index=index - self._origin, discontinuity=disc)

    def _check_group_end(self) -> None:
        """A group worker ends once the group was given the end-of-stream entry."""
        last = self._client.xrevrange(self.key, "+", "-", count=1)
        if not last or not int(last[0][1][b"f"]) & FLAG_END:
            return
        for g in self._client.xinfo_groups(self.key):
            name = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
            if name == self.group:
                delivered = g["last-delivered-id"]
                delivered = delivered.decode() if isinstance(delivered, bytes) else delivered
                if delivered == last[0][0].decode():
                    self._ended = True
                    self._ack_delivered()
                    raise EndOfStream(f"redis key {self.key}: the publisher closed the stream")

    def _count_gap(self, gap: int) -> None:
        if gap > 0:
            self._gaps += 1
            self._lost += gap

    def _empty(self) -> NDArray[Any]:
        shape = (0,) if self._channels == 1 else (0, self._channels)
        return np.empty(shape, self._dtype)

    def _ack(self, entry: bytes) -> None:
        if self.group is not None:
            self._client.xack(self.key, self.group, entry)
            self._acked += 1

    def _ack_delivered(self, through: int | None = None) -> None:
        """Acknowledge entries whose samples the stream delivered (all pending ones when the
        stream does not say: requesting more data implies the previous entry was taken)."""
        if self.group is None or not self._unacked:
            return
        if through is None and self._acknowledging:
            through = self._delivered
        done = []
        while self._unacked and (through is None or self._unacked[0][1] <= through):
            done.append(self._unacked.popleft()[0])
        if done:
            self._client.xack(self.key, self.group, *done)
            self._acked += len(done)

    _acknowledging = False


class _Acknowledger:
    """The sink returned by :meth:`RedisSource.acknowledger`."""

    def __init__(self, source: RedisSource) -> None:
        self.source = source
        source._acknowledging = True

    def open(self, info: SourceInfo) -> None:
        """Nothing to prepare."""

    def write(self, chunk: WaveformTrace) -> None:
        """Record that the stream delivered every sample before this chunk's end."""
        src = self.source
        src._delivered = max(src._delivered, chunk.metadata.start_index + len(chunk.data))

    def close(self) -> None:
        """Acknowledge what was delivered."""
        src = self.source
        with src._lock:
            if src._client is not None:
                src._ack_delivered(src._delivered)


def _start_param(text: str) -> str | int:
    if text in ("latest", "start"):
        return text
    return to_int(text)


def from_uri(p: ParsedURI) -> RedisSource:
    """``redis[s]://[:pw@]host:port/KEY?from=latest|start|INDEX&group=G&consumer=C&db=N``."""
    query = {"db": str(p.take("db", to_int, 0))}
    for name in ("ssl_cert_reqs", "ssl_ca_certs"):
        value = p.take(name, str, "")
        if value:
            query[name] = value
    url, key, _ = split_url(
        f"{p.scheme}://{p.target}?" + "&".join(f"{k}={v}" for k, v in query.items())
    )
    latest: str | int = "latest"
    return RedisSource(
        url,
        key,
        start=p.take("from", _start_param, latest, aliases=("start",)),
        group=p.take("group", str, None),
        consumer=p.take("consumer", str, None),
        count=p.take("count", to_int, 16),
    )
