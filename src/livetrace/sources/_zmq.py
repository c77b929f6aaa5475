"""ZmqSource: raw items from a ZeroMQ SUB or PULL socket (GNU Radio ``zeromq`` sinks).

GNU Radio's ``zeromq.pub_sink`` / ``push_sink`` (with ``pass_tags=False``) send each message as
a plain concatenation of items (``itemsize * vlen`` bytes each, native byte order, i.e.
little-endian on the usual machines); with a non-empty ``key`` the pub sink sends it as a
separate first frame. This source reads those messages, keeps the last frame of a multipart
message, and decodes whole frames with :class:`~livetrace.sources._raw.RawDecoder`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from numpy.typing import NDArray

from .._errors import ConfigurationError, SourceError, SourceUnavailableError, require
from .._protocols import Block, SourceInfo
from ._checks import check_channels, check_rate, default_names
from ._polled import POLL_INTERVAL, PolledSource
from ._raw import make_decoder, raw_info, required_rate
from ._uri import ParsedURI, to_bool, to_int

if TYPE_CHECKING:
    from ..formats._gnuradio_tags import Tag

__all__ = ["ZmqSource", "from_uri"]

_POLL_MS = round(POLL_INTERVAL * 1000)


class ZmqSource(PolledSource):
    """Samples from a ZeroMQ socket: ``pattern="sub"`` (from a PUB, e.g. GNU Radio's
    ``pub_sink``) or ``"pull"`` (from a PUSH, e.g. ``push_sink``).

    Args:
        address: a ZeroMQ endpoint, ``tcp://127.0.0.1:5555`` (``ipc://``, ``inproc://`` too).
        sample_rate: samples per second per channel (required: the messages do not say).
        dtype, channels, byteorder: the item format (GNU Radio: ``complex64`` for
            ``gr_complex``, ``float32`` for float; ``channels`` = ``vlen``).
        bind: bind the address instead of connecting to it (GNU Radio sinks bind).
        topic: SUB subscription prefix. A multipart message's last frame is the payload
            (the topic/key frames before it are skipped); a single-frame message that
            matched a non-empty topic has the topic bytes stripped from its start.
        rcvhwm: receive high-water mark (messages queued before ZeroMQ drops, for SUB, or
            holds the sender back, for PULL).
        tags: GNU Radio tag headers (``pass_tags=True`` sinks): None (default) detects them
            from the first message, True requires them, False reads raw items only. With
            headers, every message says the sender's index of its first item, so messages
            lost on a SUB link become exact gaps (``Block(start_index=...)`` jumps; the first
            item received is index 0, a sender that restarts its count is a
            ``discontinuity``); :meth:`timestamps` gives ``(sample_index, POSIX time)`` of
            each ``rx_time`` tag, :meth:`tags` every tag kept, ``health()`` the latest
            ``rx_rate`` and ``rx_freq``.

    PULL is lossless: a PUSH peer waits while this side is slow or stopped. SUB is not:
    ZeroMQ drops messages for a slow subscriber on the publisher's side and cannot say how
    many. A message that is not a whole number of frames leaves its tail to be completed
    by the next message (GNU Radio never splits items), counted in ``partial_messages``.
    The socket is created by :meth:`start` (or the first ``acquire()``) and closed by
    :meth:`stop` (messages queued or sent meanwhile are lost, so the first samples after a
    restart come as ``Block(discontinuity=True)``); ``acquire()`` polls it every 50 ms so
    ``stop()`` is prompt. The source starts no thread of its own (ZeroMQ's I/O thread lives
    in a context created by ``start()`` and terminated by ``stop()``).
    """

    def __init__(
        self,
        address: str,
        *,
        sample_rate: float,
        pattern: str = "sub",
        dtype: Any = "complex64",
        channels: int = 1,
        byteorder: str = "little",
        bind: bool = False,
        topic: bytes | str = b"",
        rcvhwm: int = 1000,
        channel_names: tuple[str, ...] | None = None,
        tags: bool | None = None,
    ) -> None:
        from ..formats._gnuradio_tags import TagHeaderParser

        rate = check_rate("ZmqSource", sample_rate)
        if pattern not in ("sub", "pull"):
            raise ConfigurationError(f"ZmqSource: pattern must be 'sub' or 'pull', got {pattern!r}")
        check_channels("ZmqSource", channels)
        if "://" not in address:
            raise ConfigurationError(
                f"ZmqSource: address must be a ZeroMQ endpoint such as tcp://127.0.0.1:5555, "
                f"got {address!r}"
            )
        if pattern == "pull" and topic:
            raise ConfigurationError("ZmqSource: topic applies to pattern='sub' only")
        self.address = address
        self.sample_rate = rate
        self.pattern = pattern
        self.bind = bool(bind)
        self.topic = topic.encode() if isinstance(topic, str) else bytes(topic)
        self.rcvhwm = int(rcvhwm)
        self.byteorder = byteorder
        self._decoder = make_decoder("ZmqSource", dtype, channels, byteorder)
        self.channel_names = default_names(channel_names, channels)
        self._init_polled()
        self._ctx: Any = None
        self._sock: Any = None
        self._messages = 0
        self._bytes = 0
        self._partial = 0
        self._discarded = 0
        self._short = 0
        self._opened = 0
        self._tag_parser = TagHeaderParser(tags, f"ZmqSource {address}")
        self._tag_next: int | None = None  # stream index after the last tagged message

    @property
    def info(self) -> SourceInfo:
        return self._calibrated(
            raw_info(
                f"zmq+{self.pattern}://{self.address.split('://', 1)[1]}",
                self.sample_rate,
                self._decoder,
                self.channel_names,
                "&bind=1" if self.bind else "",
                # PUSH blocks at the high-water mark (no loss); PUB drops for a slow SUB, unseen
                backpressure=self.pattern == "pull",
            )
        )

    def health(self) -> dict[str, Any]:
        """Counters: ``open``, ``messages``, ``bytes_received``, ``samples_received``,
        ``partial_messages`` (messages not ending on a frame boundary), ``short_messages``
        (single frames shorter than the topic), ``discarded_bytes`` (partial frame dropped
        at stop) and ``pending_bytes``."""
        return {
            "open": self._sock is not None,
            "messages": self._messages,
            "bytes_received": self._bytes,
            "samples_received": self._samples,
            "partial_messages": self._partial,
            "short_messages": self._short,
            "discarded_bytes": self._discarded,
            "pending_bytes": self._decoder.pending_bytes,
            **self._tag_health(),
        }

    def _tag_health(self) -> dict[str, Any]:
        tp = self._tag_parser
        if not tp.mode:
            return {}
        return {"tags": tp.n_tags, "rx_rate": tp.rx_rate, "rx_freq": tp.rx_freq}

    def timestamps(self) -> list[tuple[int, float]]:
        """``(sample_index, POSIX time)`` of the ``rx_time`` tags received (tag headers only)."""
        return self._tag_parser.timestamps()

    def tags(self) -> list[Tag]:
        """The stream tags received (the latest 10000), at stream sample indices."""
        return list(self._tag_parser.tags)

    # start()/stop()/acquire() come from PolledSource: start() creates and connects (or
    # binds) the socket (SourceUnavailableError on a bad endpoint or an address in use),
    # stop() makes a blocked acquire() return within 50 ms and closes the socket.
    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None
        self._discarded += self._decoder.pending_bytes
        self._decoder.reset()

    def _open(self) -> None:
        if self._sock is not None:
            return
        zmq: Any = require("zmq", "zmq")
        ctx = zmq.Context()
        sock = ctx.socket(zmq.SUB if self.pattern == "sub" else zmq.PULL)
        try:
            sock.setsockopt(zmq.RCVHWM, self.rcvhwm)
            sock.setsockopt(zmq.LINGER, 0)
            if self.pattern == "sub":
                sock.setsockopt(zmq.SUBSCRIBE, self.topic)
            (sock.bind if self.bind else sock.connect)(self.address)
        except zmq.ZMQError as exc:
            sock.close(linger=0)
            ctx.term()
            verb = "bind" if self.bind else "connect to"
            raise SourceUnavailableError(f"ZmqSource: cannot {verb} {self.address}: {exc}") from exc
        self._ctx, self._sock = ctx, sock
        if self._opened:
            self._disc_next = True
        self._opened += 1

    def _poll(self) -> NDArray[Any] | Block | None:
        """One wait for a message (at most 50 ms); its whole frames, or None to poll again."""
        if self._sock is None:
            self._open()
        sock = self._sock
        zmq: Any = require("zmq", "zmq")
        try:
            if not sock.poll(_POLL_MS):
                return None
            parts = sock.recv_multipart(copy=False)
        except zmq.ZMQError as exc:
            raise SourceError(f"ZmqSource {self.address}: receive failed: {exc}") from exc
        payload = parts[-1].buffer
        if len(parts) == 1 and self.topic:
            if len(payload) < len(self.topic):
                self._short += 1
                return None
            payload = payload[len(self.topic) :]
        payload, offset, tags = self._tag_parser.split(payload)
        self._messages += 1
        self._bytes += len(payload)
        data = self._decoder.feed(payload)
        if self._decoder.pending_bytes:
            self._partial += 1
        if offset is not None:
            return self._tagged(data, offset, tags)
        if len(data) == 0:
            return None
        return self._deliver(data)

    def _tagged(self, data: NDArray[Any], offset: int, tags: list[Tag]) -> Block | None:
        """Place a tagged message's items at the sender's index (see ``tags``)."""
        tp = self._tag_parser
        if self._decoder.pending_bytes:
            raise SourceError(
                f"ZmqSource {self.address}: a tagged message holds a partial item "
                f"({self._decoder.pending_bytes} bytes left over); check dtype= and channels="
            )
        restarted = False
        if self._tag_next is None:
            tp.base = -offset  # the first item received is index 0
        elif offset + tp.base < self._tag_next:  # the sender restarted its count
            tp.base = self._tag_next - offset
            restarted = True
        tp.record(tags)
        if len(data) == 0:
            return None
        start = offset + tp.base
        self._tag_next = start + len(data)
        self._samples += len(data)
        disc = self._disc_next or restarted
        self._disc_next = False
        stamp: float | None = None
        for tag in tags:  # an rx_time tag: the device's time of an item, for the clock map
            value = tag.value
            if tag.key == "rx_time" and isinstance(value, tuple) and len(value) == 2:
                secs, frac = value
                if isinstance(secs, int) and isinstance(frac, float):
                    stamp = secs + frac - (tag.offset - offset) / self.sample_rate
                    break
        return Block(data, start, disc, stamp)

    def __repr__(self) -> str:
        return f"ZmqSource({self.address!r}, pattern={self.pattern!r}, bind={self.bind})"


def from_uri(parsed: ParsedURI) -> ZmqSource:
    """``zmq+sub://HOST:PORT?sample_rate=..&dtype=complex64&channels=1&bind=0&topic=..``
    and ``zmq+pull://HOST:PORT?...`` (``transport=ipc`` with ``zmq+sub:///path`` for ipc);
    ``tags=auto|1|0`` for GNU Radio tag headers."""
    pattern = parsed.scheme.partition("+")[2]
    if pattern not in ("sub", "pull"):
        raise ConfigurationError(f"zmq: scheme must be zmq+sub or zmq+pull, got {parsed.scheme!r}")
    p = parsed
    if not p.target:
        raise ConfigurationError(
            f"{p.scheme}: expected {p.scheme}://HOST:PORT (e.g. {p.scheme}://127.0.0.1:5555), "
            f"got {p.uri!r}"
        )
    rate = required_rate(p)
    transport = p.take("transport", str, "tcp")
    return ZmqSource(
        f"{transport}://{p.target}",
        sample_rate=rate,
        pattern=pattern,
        dtype=p.take("dtype", str, "complex64"),
        channels=p.take("channels", to_int, 1, aliases=("vlen", "n_channels")),
        byteorder=p.take("byteorder", str, "little"),
        bind=p.take("bind", to_bool, False),
        topic=p.take("topic", str, ""),
        rcvhwm=p.take("rcvhwm", to_int, 1000),
        tags=p.take("tags", _tags_mode, None),
    )


def _tags_mode(text: str) -> bool | None:
    return None if text.strip().lower() == "auto" else to_bool(text)
