"""Raw binary samples over sockets: :class:`TcpSource` (client or server) and :class:`UdpSource`.

Both read into one preallocated buffer with ``recv_into`` and decode whole frames (one sample
of every channel) with :class:`~livetrace.sources._raw.RawDecoder`, so a piece that ends in
the middle of a sample never shifts the stream. Neither starts a thread: ``acquire()`` runs in
the caller's thread (the stream's acquisition thread) and waits on sockets with a
:data:`POLL_INTERVAL` timeout, so ``stop()`` makes it return within that time even when the
peer is silent.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError, EndOfStream, SourceError, SourceUnavailableError
from .._protocols import Block, SourceInfo
from ._checks import check_channels, check_rate, default_names
from ._polled import POLL_INTERVAL, PolledSource
from ._raw import make_decoder, raw_info, required_rate
from ._uri import ParsedURI, to_bool, to_int

__all__ = [
    "POLL_INTERVAL",
    "TcpSource",
    "UdpSource",
    "required_rate",
    "split_host_port",
    "tcp_from_uri",
    "udp_from_uri",
]

_SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40 if sys.platform.startswith("linux") else None)

_SEQ_HEADERS = {"u32": 4, "u64": 8}


def _check_port(name: str, port: Any) -> None:
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"{name}: port must be an integer in 0..65535, got {port!r}")


def _fmt_addr(addr: Any) -> str:
    return f"{addr[0]}:{addr[1]}"


def _sockname(sock: socket.socket) -> tuple[str, int]:
    bound = sock.getsockname()
    return (str(bound[0]), int(bound[1]))


def _bind(
    host: str, port: int, kind: int, options: list[tuple[int, int]], what: str
) -> socket.socket:
    """A socket bound to ``host:port`` (listening, for TCP) that polls with POLL_INTERVAL.

    ``options``: ``(SOL_SOCKET option, value)`` pairs set before binding. Any failure raises
    SourceUnavailableError starting with ``what`` and naming the address.
    """
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host, port, type=kind, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise SourceUnavailableError(f"{what} {host}:{port}: {exc}") from exc
    try:
        for option, value in options:
            sock.setsockopt(socket.SOL_SOCKET, option, value)
        sock.bind(addr)
        if kind == socket.SOCK_STREAM:
            sock.listen(1)
    except OSError as exc:
        sock.close()
        raise SourceUnavailableError(f"{what} {host}:{port}: {exc}") from exc
    sock.settimeout(POLL_INTERVAL)
    return sock


class TcpSource(PolledSource):
    """Raw binary samples from a TCP connection, as a client (default) or a server.

    Args:
        host, port: the peer to connect to, or with ``listen=True`` the address to listen on
            (port 0 picks a free port: read it from :attr:`address` after :meth:`start`).
        sample_rate: samples per second per channel (the socket does not say; required).
        dtype, channels, byteorder: the sample format on the wire; frames are interleaved
            (``ch0 ch1 ... ch0 ch1 ...``).
        listen: accept one peer at a time; when it disconnects, wait for the next one.
        reconnect: keep going after a refused or dropped connection (default). Every
            failed connection attempt (refused, unreachable, unknown host, timed out) is
            recorded in :meth:`health` (``connect_failures``, ``last_error``) and raised from
            ``acquire()`` as :class:`~livetrace.SourceUnavailableError` naming ``host:port``
            and the OS error, and so is a connection lost to an OS error (reset) as
            :class:`~livetrace.SourceError`; the next ``acquire()`` tries again. A stream thus
            counts each failure (``stream.errors``, ``health().source_errors``,
            ``last_error``) and its :class:`~livetrace.RetryPolicy` decides how long to keep
            trying: when it gives up, the consumer gets :class:`~livetrace.SourceError`
            chained to the last failure. ``backoff = (initial, max)`` seconds stays a
            *minimum* wait between two attempts (doubling after each failure, reset by a
            connection; ``stop()`` interrupts it), so the wait between attempts is the larger
            of the stream's retry delay and this backoff. The first connection is attempted
            by the first ``acquire()``, not by :meth:`start`. A peer that closes the
            connection cleanly is not an error: the source reconnects at once. Once the peer
            has been reached, a lost connection is retried with backoff for as long as it
            takes (an instrument that reboots): ``health()["reconnecting"]`` is True
            meanwhile and ``reconnect_attempts`` counts the attempts.
            With ``reconnect=False`` the client connects in :meth:`start` and a refused
            connection raises :class:`~livetrace.SourceUnavailableError` from there (or from
            ``acquire()``), a clean close by the peer ends the stream
            (:class:`~livetrace.EndOfStream`) and a reset raises :class:`~livetrace.SourceError`.
            A server (``listen=True``) waiting for its peer is not failing: ``acquire()`` just
            waits (``stop()`` interrupts it).
        connect_timeout: seconds one connection attempt may take.
        recv_size: bytes read per ``recv_into`` call at most (one ``acquire()``).
        recv_buffer: kernel receive buffer asked for (``SO_RCVBUF``).

    After a dropped connection (and after ``stop()``/``start()``, which closes and reopens it)
    the partial frame is discarded (counted in ``discarded_bytes``) and the first samples from
    the new connection come as ``Block(data, discontinuity=True)``: the stream flags that
    samples may be missing there. Failed attempts *before* the first connection do not flag
    anything (the peer was not sending yet): its first samples come as a plain array. A
    connection that ends with bytes that do not make a whole frame (e.g. 6 bytes of float32
    x 1 channel) raises :class:`~livetrace.SourceError` once naming the leftover, then
    :class:`~livetrace.EndOfStream` (``reconnect=False``).

    Example (a server that receives int16 stereo at 1 MHz):
        >>> src = TcpSource("127.0.0.1", 0, listen=True, dtype="int16", channels=2,
        ...                 sample_rate=1e6)
        >>> src.info.n_channels, src.info.dtype
        (2, 'int16')
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sample_rate: float,
        dtype: Any = "float32",
        channels: int = 1,
        byteorder: str = "little",
        listen: bool = False,
        reconnect: bool = True,
        backoff: tuple[float, float] = (0.05, 2.0),
        connect_timeout: float = 5.0,
        recv_size: int = 1 << 20,
        recv_buffer: int = 4 << 20,
        channel_names: tuple[str, ...] | None = None,
    ) -> None:
        rate = check_rate("TcpSource", sample_rate)
        _check_port("TcpSource", port)
        check_channels("TcpSource", channels)
        if not listen and port == 0:
            raise ConfigurationError("TcpSource: a client needs the server's port, got port=0")
        if len(backoff) != 2 or not 0 < backoff[0] <= backoff[1]:
            raise ConfigurationError(
                f"TcpSource: backoff must be (initial, max) seconds with 0 < initial <= max, "
                f"got {backoff!r}"
            )
        if not connect_timeout > 0:
            raise ConfigurationError(
                f"TcpSource: connect_timeout must be > 0 s, got {connect_timeout!r}"
            )
        self.host = host
        self.port = port
        self.sample_rate = rate
        self.listen = bool(listen)
        self.reconnect = bool(reconnect)
        self.backoff = (float(backoff[0]), float(backoff[1]))
        self.connect_timeout = float(connect_timeout)
        self.recv_buffer = int(recv_buffer)
        self._decoder = make_decoder("TcpSource", dtype, channels, byteorder)
        if recv_size < self._decoder.frame:
            raise ConfigurationError(
                f"TcpSource: recv_size must hold at least one frame "
                f"({self._decoder.frame} bytes), got {recv_size!r}"
            )
        self.byteorder = byteorder
        self.channel_names = default_names(channel_names, self._decoder.n_channels)
        self._buf = bytearray(int(recv_size))
        self._view = memoryview(self._buf)
        self._init_polled()
        self._conn: socket.socket | None = None
        self._server: socket.socket | None = None
        self._bound: tuple[str, int] | None = None
        self._peer: str | None = None
        self._ever_connected = False
        self._next_attempt = 0.0
        self._delay = self.backoff[0]
        self._finished: BaseException | None = None  # raised by acquire() (reconnect=False)
        self._then: BaseException | None = None  # replaces _finished once that was raised
        self._bytes = 0
        self._connections = 0
        self._reconnects = 0
        self._reconnecting = False  # the connection was lost; trying again with backoff
        self._reconnect_attempts = 0  # failed attempts since the connection was lost
        self._connect_failures = 0
        self._disconnects = 0
        self._discarded = 0
        self._last_error: str | None = None

    # ------------------------------------------------------------------ description
    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def address(self) -> tuple[str, int] | None:
        """``(host, port)`` the server listens on (after :meth:`start`), else None."""
        return self._bound

    @property
    def info(self) -> SourceInfo:
        port = self._bound[1] if self._bound else self.port
        return self._calibrated(
            raw_info(
                f"tcp://{self.host}:{port}",
                self.sample_rate,
                self._decoder,
                self.channel_names,
                "&listen=1" if self.listen else "",
                backpressure=True,  # TCP flow control makes the sender wait: nothing is lost
            )
        )

    def health(self) -> dict[str, Any]:
        """Counters: ``connected``, ``peer``, ``bytes_received``, ``samples_received``,
        ``connections``, ``reconnects`` (connections after the first), ``connect_failures``,
        ``reconnecting`` (the connection was lost and the source is trying again),
        ``reconnect_attempts``, ``disconnects``, ``discarded_bytes`` (partial frames lost at
        disconnects), ``pending_bytes`` (partial frame waiting) and ``last_error``."""
        return {
            "connected": self._conn is not None,
            "peer": self._peer,
            "bytes_received": self._bytes,
            "samples_received": self._samples,
            "connections": self._connections,
            "reconnects": self._reconnects,
            "connect_failures": self._connect_failures,
            "reconnecting": self._reconnecting,
            "reconnect_attempts": self._reconnect_attempts,
            "disconnects": self._disconnects,
            "discarded_bytes": self._discarded,
            "pending_bytes": self._decoder.pending_bytes,
            "last_error": self._last_error,
        }

    # ------------------------------------------------------------------ lifecycle
    # start()/stop()/acquire() come from PolledSource: start() opens (below), stop() makes a
    # blocked acquire() return within POLL_INTERVAL and closes.
    def _open(self) -> None:
        """Listen (server) or, with ``reconnect=False``, connect now so errors surface here.

        Raises :class:`~livetrace.SourceUnavailableError` naming ``host:port``.
        """
        if self.listen:
            self._open_server()
        elif not self.reconnect and self._conn is None and self._finished is None:
            self._open_client()

    def _close(self) -> None:
        self._drop_connection(None, count=False)
        if self._server is not None:
            self._server.close()
            self._server = None

    # ------------------------------------------------------------------ acquisition
    def _poll(self) -> NDArray[Any] | Block | None:
        """One wait for bytes (at most POLL_INTERVAL); whole frames, or None to poll again."""
        if self._finished is not None:
            err = self._finished
            self._finished = self._then or err
            self._then = None
            raise err
        conn = self._conn
        if conn is None:
            if self.listen:
                if self._server is None:
                    self._open_server()
                self._accept()
            else:
                self._open_client()
            return None
        try:
            n = conn.recv_into(self._buf)
        except TimeoutError:
            return None
        except OSError as exc:
            self._connection_lost(exc)
            return None
        if n == 0:
            self._connection_lost(None)
            return None
        self._bytes += n
        data = self._decoder.feed(self._view[:n])
        if len(data) == 0:
            return None
        return self._deliver(data)

    # ------------------------------------------------------------------ connections
    def _new_connection(self, conn: socket.socket, peer: str) -> None:
        conn.settimeout(POLL_INTERVAL)
        self._conn = conn
        self._peer = peer
        self._connections += 1
        if self._ever_connected:
            self._reconnects += 1
            self._disc_next = True
        self._ever_connected = True
        self._reconnecting = False
        self._reconnect_attempts = 0
        self._delay = self.backoff[0]

    def _drop_connection(self, exc: BaseException | None, *, count: bool = True) -> None:
        conn = self._conn
        if conn is None:
            return
        conn.close()
        self._conn = None
        self._peer = None
        self._discarded += self._decoder.pending_bytes
        self._decoder.reset()
        if count:
            self._disconnects += 1
        if exc is not None:
            self._last_error = f"connection lost: {exc!r}"

    def _connection_lost(self, exc: OSError | None) -> None:
        """Close the lost connection. With ``reconnect``, reconnect on the next poll; an OS
        error (reset) is raised once as SourceError so that the stream counts it."""
        leftover = self._decoder.pending_bytes
        self._drop_connection(exc)
        what = f"TcpSource {self.name}"
        if self.reconnect:
            self._next_attempt = 0.0
            self._reconnecting = not self.listen
            if exc is not None:
                again = "waiting for the next peer" if self.listen else "reconnecting"
                raise SourceError(f"{what}: connection lost: {exc}; {again}") from exc
            return
        if exc is not None:
            self._finished = SourceError(f"{what}: connection lost: {exc}")
            self._finished.__cause__ = exc
        elif leftover:
            d = self._decoder
            self._then = EndOfStream(f"{what}: the peer closed the connection")
            self._finished = SourceError(
                f"{what}: the peer closed the connection with {leftover} leftover byte(s) that "
                f"do not make a whole frame of {d.frame} bytes ({d.dtype.name} x "
                f"{d.n_channels} channel(s)): is the dtype/channel count right?"
            )
        else:
            self._finished = EndOfStream(f"{what}: the peer closed the connection")

    def _wait_backoff(self) -> bool:
        """True when it is time for the next connection attempt (waits at most a poll)."""
        left = self._next_attempt - time.monotonic()
        if left > 0:
            self._stop.wait(min(left, POLL_INTERVAL))
            return False
        return True

    def _failed(self, exc: BaseException) -> None:
        """Record a failed connection attempt. Before the first connection it is raised as
        SourceUnavailableError (a wrong address fails fast, through the stream's retry
        policy); once the peer has been reached, ``reconnect`` keeps trying with backoff
        for as long as it takes (an instrument that reboots), counted and visible in
        :meth:`health` as ``reconnecting``."""
        self._connect_failures += 1
        self._last_error = f"cannot connect to {self.name}: {exc!r}"
        if self.reconnect:
            self._next_attempt = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, self.backoff[1])
            if self._ever_connected:
                self._reconnect_attempts += 1
                return
        raise SourceUnavailableError(f"TcpSource: cannot connect to {self.name}: {exc}") from exc

    def _open_client(self) -> None:
        if not self._wait_backoff():
            return
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            self._failed(exc)
            return
        if self._stop.is_set():
            return  # stopped during the lookup (which stop() cannot interrupt)
        last: BaseException | None = None
        for family, kind, proto, _, addr in infos:
            sock = socket.socket(family, kind, proto)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.recv_buffer)
                if self._connect(sock, addr):
                    self._new_connection(sock, _fmt_addr(addr))
                    return
                sock.close()
                return  # stopped while connecting
            except OSError as exc:
                sock.close()
                last = exc
        self._failed(last or OSError(f"no address for {self.host!r}"))
        return

    def _connect(self, sock: socket.socket, addr: Any) -> bool:
        """Non-blocking connect that looks at the stop flag; False if stopped first."""
        sock.setblocking(False)
        err = sock.connect_ex(addr)
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            raise OSError(err, os.strerror(err))
        deadline = time.monotonic() + self.connect_timeout
        while err:
            _, ready, _ = select.select([], [sock], [], POLL_INTERVAL)
            if ready:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, os.strerror(err))
                break
            if self._stop.is_set():
                return False
            if time.monotonic() > deadline:
                raise TimeoutError(f"connection attempt timed out after {self.connect_timeout} s")
        return True

    def _open_server(self) -> None:
        if self._server is not None:
            return
        port = self._bound[1] if self._bound else self.port
        options = [(socket.SO_REUSEADDR, 1), (socket.SO_RCVBUF, self.recv_buffer)]
        self._server = server = _bind(
            self.host, port, socket.SOCK_STREAM, options, "TcpSource: cannot listen on"
        )
        self._bound = _sockname(server)

    def _accept(self) -> None:
        server = self._server
        if server is None:
            return
        if self._ever_connected and not self.reconnect:
            self._finished = EndOfStream(f"TcpSource {self.name}: the peer disconnected")
            return
        try:
            conn, addr = server.accept()
        except TimeoutError:
            return
        except OSError as exc:
            self._last_error = f"accept failed: {exc!r}"
            raise SourceError(f"TcpSource {self.name}: accepting a peer failed: {exc}") from exc
        self._new_connection(conn, _fmt_addr(addr))

    def __repr__(self) -> str:
        role = "listen" if self.listen else "connect"
        return f"TcpSource({self.host!r}, {self.port}, {role}, {self._decoder.dtype.name})"


class UdpSource(PolledSource):
    """Raw binary samples in UDP datagrams, received on ``host:port``.

    Each datagram carries whole frames (one sample of every channel, interleaved); a datagram
    whose payload is not a whole number of frames loses its incomplete tail (counted in
    ``discarded_bytes`` and ``bad_datagrams``); datagrams are never glued together.

    ``seq="u64"`` (or ``True``) / ``"u32"``: every datagram starts with an 8- (or 4-) byte
    little-endian unsigned **sample index**: the sender's number of the datagram's first frame
    (frames sent before it; it need not start at 0 and a ``u32`` may wrap). The source then
    places samples exactly: a lost datagram becomes a gap of exactly its size in the stream
    (``Block(start_index=...)``; the buffer counts it in ``source_gap``, health in
    ``lost_samples``); a late or duplicate datagram (at most ``reorder_window`` samples back)
    is dropped and counted (``late_datagrams``, ``late_samples``). Index 0 of the stream is the
    first datagram received.

    A header is only believed within plausible bounds: at most ``max_gap`` samples ahead of
    the next expected index (default ``10 * sample_rate``, ten seconds) and at most
    ``reorder_window`` samples behind it. A datagram outside them (a corrupted or spoofed
    header, a sender that restarted its count or jumped its clock) is held back, not
    delivered, until the next datagram decides:

    - the next datagram fits the current count: the far one was a lone outlier, dropped and
      counted (``rejected_datagrams``); positions go on exactly, nothing is invented;
    - the next datagram continues the far one (within ``max_gap`` after it), or nothing
      arrives for :data:`POLL_INTERVAL`: the sender's count really moved, and the source
      **resynchronises** on it: the held samples come right after the last delivered ones as
      ``Block(discontinuity=True)`` (samples may be missing there, how many is unknown: no
      gap of the jump's size is invented) and the count goes on exactly from there. Counted
      in ``resyncs`` (and, for a jump backwards, a sender restart, in ``sender_restarts``).

    So a far header delays the samples behind it by one datagram (or one poll interval), and
    a stream's positions never jump by more than ``max_gap`` samples.

    Without a header, loss is only visible through the kernel's count of datagrams dropped
    for a full receive buffer (Linux ``SO_RXQ_OVFL``, health ``kernel_drops``): when it grows,
    the next samples come as ``Block(discontinuity=True)``.

    Example (a sequence number that lies is not a gap):
        >>> src = UdpSource("127.0.0.1", 0, sample_rate=1e3, seq="u64")
        >>> src.max_gap, src.reorder_window
        (10000, 1048576)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sample_rate: float,
        dtype: Any = "float32",
        channels: int = 1,
        byteorder: str = "little",
        seq: bool | str | None = False,
        max_datagram: int = 65507,
        recv_buffer: int = 4 << 20,
        reorder_window: int = 1 << 20,
        max_gap: int | None = None,
        channel_names: tuple[str, ...] | None = None,
    ) -> None:
        rate = check_rate("UdpSource", sample_rate)
        _check_port("UdpSource", port)
        check_channels("UdpSource", channels)
        if seq is True:
            seq = "u64"
        if seq in (False, None, "", "0", "none"):
            seq = None
        if seq is not None and seq not in _SEQ_HEADERS:
            raise ConfigurationError(
                f"UdpSource: seq must be False, True, 'u32' or 'u64', got {seq!r}"
            )
        self.seq: str | None = seq
        self.header = _SEQ_HEADERS[seq] if seq else 0
        self._decoder = make_decoder("UdpSource", dtype, channels, byteorder)
        if not self._decoder.frame + self.header <= max_datagram <= 65535:
            raise ConfigurationError(
                f"UdpSource: max_datagram must be in {self._decoder.frame + self.header}..65535 "
                f"bytes, got {max_datagram!r}"
            )
        if reorder_window < 1:
            raise ConfigurationError(
                f"UdpSource: reorder_window must be >= 1 sample, got {reorder_window!r}"
            )
        if max_gap is None:
            max_gap = max(1, round(10 * rate))
        if isinstance(max_gap, bool) or not isinstance(max_gap, int) or max_gap < 1:
            raise ConfigurationError(
                f"UdpSource: max_gap must be an integer >= 1 sample, got {max_gap!r}"
            )
        self.host = host
        self.port = port
        self.sample_rate = rate
        self.byteorder = byteorder
        self.recv_buffer = int(recv_buffer)
        self.reorder_window = int(reorder_window)
        self.max_gap = int(max_gap)
        self.channel_names = default_names(channel_names, self._decoder.n_channels)
        self._buf = bytearray(int(max_datagram) + 1)  # +1: detects an oversize datagram
        self._view = memoryview(self._buf)
        self._init_polled()
        self._sock: socket.socket | None = None
        self._bound: tuple[str, int] | None = None
        self._anc = socket.CMSG_SPACE(4) if hasattr(socket, "CMSG_SPACE") else 0
        self._kernel_drops = 0
        self._kernel_seen = 0
        self._offset: int | None = None  # sender index (unwrapped) minus stream index
        self._next = 0  # stream index of the next expected sample
        self._datagrams = 0
        self._bytes = 0
        self._bad = 0
        self._discarded = 0
        self._oversize = 0
        self._lost = 0
        self._gaps = 0
        self._late = 0
        self._late_samples = 0
        self._restarts = 0
        self._resyncs = 0
        self._rejected = 0
        self._rejected_samples = 0
        # a datagram whose header was out of bounds, held until the next one decides:
        # (its sender index, its samples)
        self._held: tuple[int, NDArray[Any]] | None = None
        self._queued: Block | None = None  # a second block to return from the next poll

    @property
    def address(self) -> tuple[str, int] | None:
        """``(host, port)`` the socket is bound to (after :meth:`start`), else None."""
        return self._bound

    @property
    def info(self) -> SourceInfo:
        port = self._bound[1] if self._bound else self.port
        return self._calibrated(
            raw_info(
                f"udp://{self.host}:{port}",
                self.sample_rate,
                self._decoder,
                self.channel_names,
                self._uri_extra(),
                # a waiting reader only moves the loss into the kernel's small socket buffer
                backpressure=False,
            )
        )

    def _uri_extra(self) -> str:
        if not self.seq:
            return ""
        if self.max_gap == max(1, round(10 * self.sample_rate)):
            return f"&seq={self.seq}"
        return f"&seq={self.seq}&max_gap={self.max_gap}"

    def health(self) -> dict[str, Any]:
        """Counters: ``datagrams``, ``bytes_received``, ``samples_received``, ``bad_datagrams``
        (payload not whole frames, or shorter than the header), ``discarded_bytes``,
        ``oversize_datagrams`` (longer than ``max_datagram``: dropped), ``kernel_drops``;
        with ``seq``: ``lost_samples``, ``gaps``, ``late_datagrams``, ``late_samples``,
        ``resyncs`` (the count jumped beyond ``max_gap`` or ``reorder_window`` and the source
        resynchronised), ``sender_restarts`` (those that jumped backwards),
        ``rejected_datagrams`` and ``rejected_samples`` (lone datagrams with an implausible
        header, dropped) and ``held_samples`` (a far datagram waiting for the next one)."""
        return {
            "bound": self._bound,
            "datagrams": self._datagrams,
            "bytes_received": self._bytes,
            "samples_received": self._samples,
            "bad_datagrams": self._bad,
            "discarded_bytes": self._discarded,
            "oversize_datagrams": self._oversize,
            "kernel_drops": self._kernel_drops,
            "lost_samples": self._lost,
            "gaps": self._gaps,
            "late_datagrams": self._late,
            "late_samples": self._late_samples,
            "resyncs": self._resyncs,
            "sender_restarts": self._restarts,
            "rejected_datagrams": self._rejected,
            "rejected_samples": self._rejected_samples,
            "held_samples": 0 if self._held is None else len(self._held[1]),
        }

    # start()/stop()/acquire() come from PolledSource: start() binds the socket (so datagrams
    # are queued from now on; SourceUnavailableError if the address is taken or invalid),
    # stop() makes a blocked acquire() return within POLL_INTERVAL and closes it.
    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._disc_next = self.seq is None  # datagrams sent meanwhile are lost

    def _open(self) -> None:
        if self._sock is not None:
            return
        port = self._bound[1] if self._bound else self.port
        options = [(socket.SO_RCVBUF, self.recv_buffer)]
        if _SO_RXQ_OVFL is not None and self._anc:
            options.append((_SO_RXQ_OVFL, 1))
        self._sock = sock = _bind(
            self.host, port, socket.SOCK_DGRAM, options, "UdpSource: cannot bind"
        )
        self._kernel_seen = 0
        self._bound = _sockname(sock)

    def _recv(self, sock: socket.socket) -> int:
        if not self._anc:
            return sock.recv_into(self._buf)
        n, anc, _, _ = sock.recvmsg_into([self._view], self._anc)
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == _SO_RXQ_OVFL and len(payload) >= 4:
                total = int.from_bytes(payload[:4], sys.byteorder)
                if total > self._kernel_seen:
                    self._kernel_drops += total - self._kernel_seen
                    self._kernel_seen = total
                    self._disc_next = True
        return int(n)

    def _poll(self) -> NDArray[Any] | Block | None:
        """One wait for a datagram (at most POLL_INTERVAL); its samples, or None to poll
        again. See the class docs for what a sequence header adds."""
        if self._queued is not None:
            block, self._queued = self._queued, None
            return block
        if self._sock is None:
            self._open()
        sock = self._sock
        assert sock is not None
        try:
            n = self._recv(sock)
        except TimeoutError:
            if self._held is not None:  # nothing contradicts the far datagram: believe it
                raw, data = self._held
                self._held = None
                return self._resync(raw, data, None)
            return None
        except OSError as exc:  # e.g. ENOMEM; the socket stays open for the next acquire()
            port = self._bound[1] if self._bound else self.port
            raise SourceError(f"UdpSource {self.host}:{port}: receive failed: {exc}") from exc
        return self._datagram(n)

    def _datagram(self, n: int) -> NDArray[Any] | Block | None:
        self._datagrams += 1
        self._bytes += n
        if n >= len(self._buf):
            self._oversize += 1
            self._disc_next = True
            return None
        h = self.header
        if n < h:
            self._bad += 1
            self._discarded += n
            return None
        dec = self._decoder
        data = dec.feed(self._view[h:n])
        if dec.pending_bytes:
            self._bad += 1
            self._discarded += dec.pending_bytes
            dec.reset()
        frames = len(data)
        if frames == 0:
            return None
        if not h:
            return self._deliver(data)
        raw = int.from_bytes(self._view[:h], "little")
        if self._offset is None:  # the first datagram is stream index 0
            self._offset = raw - self._next
        delta = self._ahead(raw, self._next + self._offset)
        held = self._held
        if delta > self.max_gap or -delta > self.reorder_window:
            if held is not None:
                after = self._ahead(raw, held[0] + len(held[1]))
                if 0 <= after <= self.max_gap:  # it continues the held one: the count moved
                    self._held = None
                    return self._resync(held[0], held[1], (raw, data))
                self._reject(held)
            self._held = (raw, data)
            return None
        if held is not None:  # the current count goes on: the held datagram was an outlier
            self._held = None
            self._reject(held)
        if delta < 0:
            if delta + frames <= 0:
                self._late += 1
                self._late_samples += frames
                return None
            # overlaps what was delivered: keep the new tail
            self._late_samples += -delta
            data = data[-delta:]
            frames = len(data)
            delta = 0
        if delta > 0:
            self._lost += delta
            self._gaps += 1
        first = self._next + delta
        self._next = first + frames
        self._samples += frames
        return Block(data, start_index=first)

    def _ahead(self, raw: int, expected: int) -> int:
        """How far the sender index ``raw`` is ahead of ``expected`` (negative: behind);
        a ``u32`` count wraps, so its distance is taken within +-2**31."""
        if self.header == 4:
            delta = (raw - expected) % (1 << 32)
            return delta - (1 << 32) if delta >= 1 << 31 else delta
        return raw - expected

    def _reject(self, held: tuple[int, NDArray[Any]]) -> None:
        self._rejected += 1
        self._rejected_samples += len(held[1])

    def _resync(self, raw: int, data: NDArray[Any], then: tuple[int, NDArray[Any]] | None) -> Block:
        """Re-anchor the count on the held datagram ``(raw, data)``: its samples follow the
        last delivered ones as a discontinuity of unknown size; ``then``, the datagram that
        confirmed it, follows exactly (queued for the next poll when a gap separates them)."""
        self._resyncs += 1
        if self._ahead(raw, self._next + (self._offset or 0)) < 0:
            self._restarts += 1
        self._offset = raw - self._next
        first = self._next
        self._next = first + len(data)
        self._samples += len(data)
        if then is None:
            return Block(data, start_index=first, discontinuity=True)
        raw2, data2 = then
        gap = self._ahead(raw2, self._next + self._offset)
        if gap == 0:
            self._next += len(data2)
            self._samples += len(data2)
            return Block(np.concatenate([data, data2]), start_index=first, discontinuity=True)
        self._lost += gap
        self._gaps += 1
        self._queued = Block(data2, start_index=self._next + gap)
        self._next += gap + len(data2)
        self._samples += len(data2)
        return Block(data, start_index=first, discontinuity=True)

    def __repr__(self) -> str:
        return f"UdpSource({self.host!r}, {self.port}, {self._decoder.dtype.name}, seq={self.seq})"


# ---------------------------------------------------------------------- URI factories
def split_host_port(target: str, scheme: str) -> tuple[str, int]:
    """``"127.0.0.1:9000"`` / ``"[::1]:9000"`` → ``(host, port)``; ConfigurationError else."""
    host, sep, port_text = target.rstrip("/").rpartition(":")
    if not sep or not port_text.isdigit() or not host:
        raise ConfigurationError(
            f"{scheme}: expected {scheme}://HOST:PORT (e.g. {scheme}://127.0.0.1:9000), "
            f"got {target!r}"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    port = int(port_text)
    if port > 65535:
        raise ConfigurationError(f"{scheme}: port must be in 0..65535, got {port}")
    return host, port


def tcp_from_uri(parsed: ParsedURI) -> TcpSource:
    """``tcp://HOST:PORT?sample_rate=..&dtype=float32&channels=1&byteorder=little&listen=0
    &reconnect=1&backoff=0.05&backoff_max=2&connect_timeout=5&recv_size=1048576``."""
    host, port = split_host_port(parsed.target, "tcp")
    p = parsed
    rate = required_rate(p)
    backoff = p.take("backoff", float, 0.05)
    backoff_max = p.take("backoff_max", float, max(2.0, backoff))
    return TcpSource(
        host,
        port,
        sample_rate=rate,
        dtype=p.take("dtype", str, "float32"),
        channels=p.take("channels", to_int, 1, aliases=("n_channels",)),
        byteorder=p.take("byteorder", str, "little"),
        listen=p.take("listen", to_bool, False),
        reconnect=p.take("reconnect", to_bool, True),
        backoff=(backoff, backoff_max),
        connect_timeout=p.take("connect_timeout", float, 5.0),
        recv_size=p.take("recv_size", to_int, 1 << 20),
    )


def _seq_param(text: str) -> str | bool:
    low = text.strip().lower()
    if low in _SEQ_HEADERS:
        return low
    return to_bool(text)


def udp_from_uri(parsed: ParsedURI) -> UdpSource:
    """``udp://HOST:PORT?sample_rate=..&dtype=float32&channels=1&byteorder=little
    &seq=0|1|u32|u64&max_datagram=65507&max_gap=SAMPLES`` (default ``max_gap``: ten seconds
    of samples)."""
    host, port = split_host_port(parsed.target, "udp")
    no_seq: str | bool = False
    p = parsed
    rate = required_rate(p)
    return UdpSource(
        host,
        port,
        sample_rate=rate,
        dtype=p.take("dtype", str, "float32"),
        channels=p.take("channels", to_int, 1, aliases=("n_channels",)),
        byteorder=p.take("byteorder", str, "little"),
        seq=p.take("seq", _seq_param, no_seq),
        max_datagram=p.take("max_datagram", to_int, 65507),
        max_gap=p.take("max_gap", to_int, None),
    )
