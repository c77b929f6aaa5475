"""The scope's HTTP and WebSocket server: aiohttp in an owned thread with its own event loop.

Routes: ``/`` (the page), ``/static/...`` (its assets, all shipped in the package),
``/ws`` (one WebSocket per browser: binary frames out, JSON view settings and acks in),
``/api/status`` (JSON health and measurements) and ``/api/frame?client=ID&format=npy|csv``
(the raw samples of the frame that browser shows).

Flow control: each browser has one slot for the newest frame and may have at most
``MAX_IN_FLIGHT`` frames sent but not yet acknowledged (drawn). A frame that replaces an unsent
one, or that finds the browser still busy, is a *skipped* frame: counted, reported to that
browser, and never waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from aiohttp import WSCloseCode, WSMsgType, web

from ._frames import (
    SEQ_OFFSET,
    SKIPPED_OFFSET,
    TimeFrame,
    TimeFramer,
    View,
    encode_spectrum,
    parse_view,
    spectrum_bins,
)

if TYPE_CHECKING:
    from ._scope import Scope

__all__ = ["Server"]

STATIC = Path(__file__).resolve().parent / "static"
MAX_IN_FLIGHT = 2
STATUS_PERIOD = 0.2  # seconds between status messages to each browser
_STARTUP_TIMEOUT = 10.0


class _Client:
    """One connected browser: its view, its trigger state and its counters."""

    def __init__(self, cid: int, ws: web.WebSocketResponse, rate: float) -> None:
        self.id = cid
        self.ws = ws
        self.view = View()
        self.framer = TimeFramer(rate)
        self.pending: bytes | None = None
        self.pending_end = 0
        self.spectrum: bytes | None = None
        self.status: str | None = None
        self.wake = asyncio.Event()
        self.in_flight = 0
        self.seq = 0
        self.sent = 0
        self.skipped = 0
        self.last_range: tuple[int, int] | None = None
        self.frozen: np.ndarray[Any, Any] | None = None
        self.spectrum_id: int | None = None
        self.ready = False  # frames start once the browser has said what it displays

    def offer(self, frame: bytes, end: int) -> None:
        if self.pending is not None or self.in_flight >= MAX_IN_FLIGHT:
            self.skipped += 1
        if self.in_flight >= MAX_IN_FLIGHT and self.pending is None:
            return  # the browser has not drawn what it has: this frame is skipped
        self.pending = frame
        self.pending_end = end
        self.wake.set()


class Server:
    """Serves one :class:`~livetrace.web.Scope`; ``start()`` binds and returns once serving."""

    def __init__(self, scope: Scope, host: str, port: int) -> None:
        self.scope = scope
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._clients: dict[int, _Client] = {}
        self._next_id = 1
        self._latencies: deque[float] = deque(maxlen=2000)
        self._frames_sent = 0
        self._skipped_closed = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(64)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name="livetrace-scope", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(_STARTUP_TIMEOUT):
            raise TimeoutError(f"the scope server did not start within {_STARTUP_TIMEOUT} s")
        if self._failure is not None:
            self._thread.join()
            raise self._failure

    def stop(self) -> None:
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended by itself
                loop.call_soon_threadsafe(stopping.set)
        if thread is not None:
            thread.join()
        self._thread = None

    def _run(self, sock: socket.socket) -> None:
        try:
            asyncio.run(self._main(sock))
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
        finally:
            sock.close()

    async def _main(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/api/status", self._status)
        app.router.add_get("/api/frame", self._frame)
        app.router.add_static("/static/", STATIC, follow_symlinks=False)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.SockSite(runner, sock)
            await site.start()
            ticker = asyncio.create_task(self._tick())
            self._ready.set()
            await self._stopping.wait()
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            for client in list(self._clients.values()):
                await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"scope stopped")
        finally:
            await runner.cleanup()

    # ------------------------------------------------------------------ figures
    def stats(self) -> dict[str, Any]:
        """Frames sent, skipped, clients and the latency from a sample's arrival to the frame
        holding it leaving the server (ms, over the last 2000 frames)."""
        lat = np.array(self._latencies) if self._latencies else np.array([math.nan])
        clients = list(self._clients.values())
        return {
            "clients": len(clients),
            "frames_sent": self._frames_sent,
            "frames_skipped": self._skipped_closed + sum(c.skipped for c in clients),
            "latency_ms_p50": float(np.percentile(lat, 50) * 1e3),
            "latency_ms_p99": float(np.percentile(lat, 99) * 1e3),
            "per_client": [
                {"id": c.id, "sent": c.sent, "skipped": c.skipped, "running": c.view.running}
                for c in clients
            ],
        }

    # ------------------------------------------------------------------ HTTP
    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self.scope.status())

    async def _frame(self, request: web.Request) -> web.Response:
        try:
            client = self._clients[int(request.query.get("client", ""))]
        except (KeyError, ValueError):
            raise web.HTTPNotFound(text="no such client") from None
        fmt = request.query.get("format", "npy")
        if fmt not in ("npy", "csv"):
            raise web.HTTPBadRequest(text="format must be npy or csv")
        data, first = self._raw(client)
        if data is None:
            raise web.HTTPNotFound(text="no frame yet, or its samples are no longer held")
        name = f"livetrace-frame-{first}.{fmt}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if fmt == "npy":
            buf = io.BytesIO()
            np.save(buf, data)
            return web.Response(
                body=buf.getvalue(), content_type="application/octet-stream", headers=headers
            )
        info = self.scope.info
        names = list(info.channel_names) if info is not None and info.channel_names else []
        names = names or [f"ch{i}" for i in range(data.shape[1])]
        text = io.StringIO()
        index = np.arange(first, first + data.shape[0])[:, None]
        np.savetxt(
            text,
            np.hstack([index, data]),
            delimiter=",",
            header="index," + ",".join(names),
            comments="",
            fmt=["%d"] + ["%.9g"] * data.shape[1],
        )
        return web.Response(text=text.getvalue(), content_type="text/csv", headers=headers)

    def _raw(self, client: _Client) -> tuple[np.ndarray[Any, Any] | None, int]:
        if client.last_range is None:
            return None, 0
        a, b = client.last_range
        if client.frozen is not None:
            return client.frozen, a
        history = self.scope.history
        data = None if history is None else history.read(a, b)
        return (None if data is None else data.T.copy()), a

    # ------------------------------------------------------------------ WebSocket
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=1 << 16)
        await ws.prepare(request)
        info = self.scope.info
        rate = info.sample_rate if info is not None else 1.0
        client = _Client(self._next_id, ws, rate)
        self._next_id += 1
        self._clients[client.id] = client
        sender = asyncio.create_task(self._send_loop(client))
        try:
            await ws.send_str(json.dumps({"hello": {"client": client.id}}))
            self._queue_status(client)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_message(client, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            del self._clients[client.id]
            self._skipped_closed += client.skipped
            if client.view.spectrum:
                self.scope.want_spectrum(False)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        return ws

    def _on_message(self, client: _Client, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            return  # not JSON: nothing a browser of ours sends; ignored
        if not isinstance(msg, dict):
            return
        if isinstance(msg.get("ack"), (int, float)):
            client.in_flight = max(0, client.in_flight - 1)
            client.wake.set()
        view = msg.get("view")
        if isinstance(view, dict):
            info = self.scope.info
            before = client.view
            after = parse_view(before, view, info.n_channels if info is not None else 1)
            if after.spectrum != before.spectrum:
                self.scope.want_spectrum(after.spectrum)
            if after.running and not before.running:
                client.framer.reset()
                client.frozen = None
            elif before.running and not after.running:
                client.frozen, _ = self._raw(client)
            client.view = after
            client.ready = True
            self._queue_status(client)

    async def _send_loop(self, client: _Client) -> None:
        try:
            await self._send(client)
        except ConnectionResetError:
            return  # the browser left while a message was on its way; its handler cleans up

    async def _send(self, client: _Client) -> None:
        ws = client.ws
        while not ws.closed:
            await client.wake.wait()
            client.wake.clear()
            status, client.status = client.status, None
            if status is not None:
                await ws.send_str(status)
            spectrum, client.spectrum = client.spectrum, None
            if spectrum is not None:
                await ws.send_bytes(spectrum)
            if client.pending is not None and client.in_flight < MAX_IN_FLIGHT:
                frame, end = client.pending, client.pending_end
                client.pending = None
                client.in_flight += 1
                await ws.send_bytes(frame)
                client.sent += 1
                self._frames_sent += 1
                arrived = self.scope.arrival_time(end - 1)
                if arrived is not None:
                    self._latencies.append(time.monotonic() - arrived)

    def _queue_status(self, client: _Client, shared: dict[str, Any] | None = None) -> None:
        status = dict(shared) if shared is not None else self.scope.status()
        status["client"] = {
            "id": client.id,
            "sent": client.sent,
            "skipped": client.skipped,
            "running": client.view.running,
            "mode": client.view.mode,
        }
        client.status = json.dumps({"status": status}, allow_nan=False)
        client.wake.set()

    async def _tick(self) -> None:
        period = 1.0 / self.scope.fps
        next_status = 0.0
        while True:
            start = time.monotonic()
            history = self.scope.history
            send_status = start >= next_status
            if send_status:
                next_status = start + STATUS_PERIOD
            spec = self.scope.spectrum_snapshot()
            status = self.scope.status() if send_status else None  # one for every browser
            info = self.scope.info
            shared: dict[Any, Any] = {}  # browsers with the same view share one frame
            for client in list(self._clients.values()):
                if info is not None and client.framer.rate != info.sample_rate:
                    client.framer = TimeFramer(info.sample_rate)
                if history is not None and client.ready and client.view.running:
                    self._time_frame(client, history, shared)
                if spec is not None and client.view.spectrum and spec[0] != client.spectrum_id:
                    client.spectrum_id, freqs, db = spec
                    reduced, group = spectrum_bins(db, client.view.spectrum_width)
                    df = float(freqs[1] - freqs[0]) if len(freqs) > 1 else 1.0
                    client.spectrum = encode_spectrum(float(freqs[0]), df * group, reduced)
                    client.wake.set()
                if status is not None:
                    self._queue_status(client, status)
            await asyncio.sleep(max(0.0, period - (time.monotonic() - start)))

    def _time_frame(self, client: _Client, history: Any, shared: dict[Any, Any]) -> None:
        framer = client.framer
        key = (client.view, framer.state())
        frame: TimeFrame | None
        if key in shared:
            frame, body, state = shared[key]
            framer.set_state(state)
        else:
            frame = framer.build(history, client.view)
            body = None if frame is None else frame.encode(framer.rate, 0, 0)
            shared[key] = (frame, body, framer.state())
        if frame is None or body is None:
            return
        client.seq += 1
        data = bytearray(body)
        struct.pack_into("<d", data, SEQ_OFFSET, float(client.seq))
        struct.pack_into("<I", data, SKIPPED_OFFSET, min(client.skipped, 2**32 - 1))
        client.last_range = (frame.first, frame.first + frame.n_buckets * frame.bucket)
        client.offer(bytes(data), frame.end)
        if client.view.mode == "single" and frame.flags & 1:
            client.view = replace(client.view, running=False)
            client.frozen, _ = self._raw(client)
            self._queue_status(client)
