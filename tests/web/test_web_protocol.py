"""The scope's decimation and WebSocket protocol, without a browser."""

from __future__ import annotations

import asyncio
import io
import json
import math
import struct
import time
import urllib.request
from typing import Any

import numpy as np
import pytest

from livetrace import RealtimeStream, SimulatedSource, SourceInfo, TraceMetadata, WaveformTrace
from livetrace.web import Scope
from livetrace.web._decimate import History, minmax_buckets
from livetrace.web._frames import View, parse_view

aiohttp = pytest.importorskip("aiohttp")

RATE = 100_000.0


def decode(buf: bytes) -> dict[str, Any]:
    """A time frame as documented in docs/web.md."""
    magic, kind, c, n, ng = struct.unpack_from("<IHHII", buf, 0)
    assert magic == 0x3146544C
    assert kind == 1
    first, bucket, rate, trigger, seq, end = struct.unpack_from("<6d", buf, 16)
    skipped, flags = struct.unpack_from("<II", buf, 64)
    gaps = np.frombuffer(buf, "<f8", ng * 2, 72).reshape(-1, 2)
    body = np.frombuffer(buf, "<f4", c * 2 * n, 72 + ng * 16).reshape(c, 2, n)
    return {
        "first": int(first), "bucket": int(bucket), "rate": rate, "trigger": trigger,
        "seq": seq, "end": int(end), "skipped": skipped, "flags": flags, "gaps": gaps,
        "mins": body[:, 0, :].T, "maxs": body[:, 1, :].T,
    }  # fmt: skip


def signal(n: int, start: int = 0) -> np.ndarray:
    """Two channels: a 1 kHz sine and a noise-like hash, both functions of the absolute index."""
    idx = np.arange(start, start + n)
    noise = np.modf(np.sin(idx * 12.9898) * 43758.5453)[0]
    return np.column_stack([np.sin(2 * np.pi * 1e3 * idx / RATE), noise]).astype(np.float32)


def chunk(data: np.ndarray, start: int, gap: int = 0) -> WaveformTrace:
    meta = TraceMetadata(
        sample_rate=RATE, start_index=start, gap=gap, discontinuity=gap > 0,
        channel_names=("sine", "noise"),
    )  # fmt: skip
    return WaveformTrace(data, meta)


@pytest.fixture
def fed_scope():
    """A scope opened on a 2-channel description, served on a free port, fed by the test."""
    scope = Scope(port=0)
    scope.open(SourceInfo(sample_rate=RATE, dtype="float32", n_channels=2))
    try:
        yield scope
    finally:
        scope.close()


async def frames(url: str, view: dict[str, Any], count: int, *, ack: bool = True) -> list[dict]:
    out: list[dict] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url + "ws") as ws:
        await ws.send_str(json.dumps({"view": view}))
        deadline = time.monotonic() + 20
        while len(out) < count and time.monotonic() < deadline:
            msg = await ws.receive(timeout=20)
            if msg.type == aiohttp.WSMsgType.BINARY and msg.data[4] == 1:
                out.append(decode(msg.data))
                if ack:
                    await ws.send_str(json.dumps({"ack": out[-1]["seq"]}))
    return out


# ------------------------------------------------------------------ decimation
@pytest.mark.parametrize("bucket", [1, 3, 64, 1000])
@pytest.mark.parametrize("first", [0, 5, 12_345])
def test_buckets_equal_numpy_and_fall_on_absolute_indices(bucket: int, first: int) -> None:
    data = signal(20_000, first)
    mins, maxs, start = minmax_buckets(data.T.copy(), first, bucket)
    mins, maxs = mins.T, maxs.T
    assert start % bucket == 0
    assert start >= first
    assert start - first < bucket
    n = mins.shape[0]
    ref = data[start - first : start - first + n * bucket].reshape(n, bucket, 2)
    np.testing.assert_array_equal(mins, ref.min(axis=1))
    np.testing.assert_array_equal(maxs, ref.max(axis=1))
    assert (first + len(data)) - (start + n * bucket) < bucket


def test_history_stores_gaps_as_nan_and_refuses_overwritten_spans() -> None:
    h = History(1000, 2)
    h.write(signal(300), 0)
    h.write(signal(200, 400), 400)  # 100 samples lost
    assert h.span() == (0, 600)
    assert [(g.start, g.length) for g in h.gaps_in(0, 600)] == [(300, 100)]
    got = h.read(250, 450)
    assert got is not None
    got = got.T
    assert np.isnan(got[50:150]).all()
    np.testing.assert_array_equal(got[:50], signal(300)[250:])
    np.testing.assert_array_equal(got[150:], signal(200, 400)[:50])
    h.write(signal(900, 600), 600)  # wraps: [0, 500) is gone
    assert h.read(400, 700) is None
    np.testing.assert_array_equal(h.read(600, 1500).T, signal(900, 600))
    np.testing.assert_array_equal(h.read(600, 1500, channel=1), signal(900, 600)[:, 1])


# ------------------------------------------------------------------ frames over the WebSocket
def test_frame_buckets_equal_numpy_reference_on_the_same_samples(fed_scope: Scope) -> None:
    data = signal(50_000)
    for k in range(0, 50_000, 1000):
        fed_scope.write(chunk(data[k : k + 1000], k))
    # 20 ms/div: a 200 ms window of 20 000 samples on 700 columns -> buckets of 29
    got = asyncio.run(frames(fed_scope.url, {"time_per_div": 0.02, "width": 700, "level": 9}, 1))
    f = got[0]
    assert f["bucket"] == math.ceil(20_000 / 700)
    assert f["first"] % f["bucket"] == 0
    n = f["mins"].shape[0]
    assert n <= 2 * 700
    ref = data[f["first"] : f["first"] + n * f["bucket"]].reshape(n, f["bucket"], 2)
    np.testing.assert_array_equal(f["mins"], ref.min(axis=1))
    np.testing.assert_array_equal(f["maxs"], ref.max(axis=1))
    assert f["first"] + n * f["bucket"] == f["end"]
    assert f["end"] == (50_000 // f["bucket"]) * f["bucket"]


def test_buckets_stay_on_the_same_absolute_grid_as_chunks_arrive(fed_scope: Scope) -> None:
    async def run() -> list[dict]:
        out = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(fed_scope.url + "ws") as ws,
        ):
            await ws.send_str(
                json.dumps({"view": {"time_per_div": 0.01, "width": 333, "level": 9}})
            )
            start = 0
            while len(out) < 3:
                for _ in range(7):  # odd-sized chunks
                    fed_scope.write(chunk(signal(777, start), start))
                    start += 777
                msg = await ws.receive(timeout=20)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    out.append(decode(msg.data))
                    await ws.send_str(json.dumps({"ack": out[-1]["seq"]}))
        return out

    got = asyncio.run(run())
    bucket = got[0]["bucket"]
    for f in got:
        assert f["bucket"] == bucket
        assert f["first"] % bucket == 0
        ref = signal(f["mins"].shape[0] * bucket, f["first"]).reshape(-1, bucket, 2)
        np.testing.assert_array_equal(f["maxs"], ref.max(axis=1))


def test_gap_is_reported_and_never_bridged(fed_scope: Scope) -> None:
    fed_scope.write(chunk(signal(5000), 0))
    fed_scope.write(chunk(signal(3000, 5400), 5400, gap=400))
    f = asyncio.run(frames(fed_scope.url, {"time_per_div": 5e-3, "width": 6000, "level": 9}, 1))[0]
    assert f["bucket"] == 1
    assert f["gaps"].tolist() == [[5000.0, 400.0]]
    idx = f["first"] + np.arange(f["mins"].shape[0])
    inside = (idx >= 5000) & (idx < 5400)
    assert inside.any()
    assert np.isnan(f["mins"][inside]).all()
    assert np.isfinite(f["mins"][~inside]).all()
    status = fed_scope.status()
    assert status["health"]["gaps"] == 1
    assert status["health"]["lost"] == 400


def test_trigger_puts_the_edge_at_the_trigger_index(fed_scope: Scope) -> None:
    for k in range(0, 20_000, 1000):
        fed_scope.write(chunk(signal(1000, k), k))
    view = {"time_per_div": 2e-4, "width": 500, "level": 0.5, "slope": "rising", "pre": 0.25}
    f = asyncio.run(frames(fed_scope.url, view, 1))[0]
    assert f["flags"] & 1
    t = f["trigger"]
    # sin crosses 0.5 rising at phase pi/6: index 100 * (k + 1/12)
    assert (t / 100 - 1 / 12) == pytest.approx(round(t / 100 - 1 / 12), abs=1e-3)
    assert f["first"] <= t - 0.25 * 200
    assert f["end"] >= t + 0.75 * 200 - 1


def test_raw_frame_download_equals_the_samples_shown(fed_scope: Scope) -> None:
    data = signal(30_000)
    fed_scope.write(chunk(data, 0))

    async def run() -> tuple[dict, bytes, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(fed_scope.url + "ws") as ws,
        ):
            hello = json.loads((await ws.receive(timeout=20)).data)["hello"]
            await ws.send_str(
                json.dumps({"view": {"time_per_div": 1e-3, "width": 400, "level": 9}})
            )
            while True:
                msg = await ws.receive(timeout=20)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    break
            url = f"{fed_scope.url}api/frame?client={hello['client']}"
            async with session.get(url + "&format=npy") as r:
                npy = await r.read()
            async with session.get(url + "&format=csv") as r:
                csv = await r.text()
            return decode(msg.data), npy, csv

    f, npy, csv = asyncio.run(run())
    raw = np.load(io.BytesIO(npy))
    n = f["mins"].shape[0] * f["bucket"]
    np.testing.assert_array_equal(raw, data[f["first"] : f["first"] + n])
    lines = csv.splitlines()
    assert lines[0] == "index,ch0,ch1"
    assert lines[1].split(",")[0] == str(f["first"])
    assert len(lines) == n + 1


def test_status_reports_health_and_measurements_of_every_sample() -> None:
    src = SimulatedSource("sine", frequency=1e3, sample_rate=RATE, n_samples=200_000,
                          chunk_size=5000, realtime=False)  # fmt: skip
    stream = RealtimeStream.from_source(src)
    with Scope(port=0, health=stream.health) as scope:
        stream.add_sink(scope)
        stream.run()
        with urllib.request.urlopen(scope.url + "api/status", timeout=10) as r:
            status = json.load(r)
    health = status["health"]
    assert health["samples_in"] == health["samples_out"] == 200_000
    assert health["dropped"] == 0
    assert health["state"] == "finished"
    m = status["measurements"][0]
    assert m["frequency"] == pytest.approx(1000.0, rel=1e-6)
    assert m["rms"] == pytest.approx(1 / math.sqrt(2), rel=1e-3)
    assert m["peak_to_peak"] == pytest.approx(2.0, rel=1e-3)
    assert status["stream"]["sample_rate"] == RATE


async def stalled_client(url: str, view: dict[str, Any]) -> asyncio.StreamWriter:
    """A WebSocket client that says what it displays and then never reads a byte."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await reader.readuntil(b"\r\n\r\n")  # 101 Switching Protocols
    payload = json.dumps({"view": view}).encode()
    assert len(payload) < 126
    writer.write(bytes([0x81, 0x80 | len(payload), 0, 0, 0, 0]) + payload)  # zero mask
    await writer.drain()
    return writer


def test_paused_and_stalled_clients_never_block_the_stream() -> None:
    """A browser that stops acknowledging and one that stops reading the socket: the stream
    still delivers every sample, the scope keeps serving the others, and skips are counted."""
    n = 3_000_000
    src = SimulatedSource("sine", frequency=1e3, sample_rate=1e6, n_samples=n,
                          chunk_size=65536, realtime=False)  # fmt: skip
    stream = RealtimeStream.from_source(src, buffer_size=262_144)

    async def clients(url: str, done: asyncio.Event) -> tuple[int, int]:
        async with aiohttp.ClientSession() as session:
            paused = await session.ws_connect(url + "ws")
            stalled = await stalled_client(url, {"time_per_div": 0.05, "width": 1000})
            live = await session.ws_connect(url + "ws")
            for ws in (paused, live):
                await ws.send_str(json.dumps({"view": {"time_per_div": 0.05, "width": 1000}}))
            got_live = 0
            while not done.is_set():
                for ws, acks in ((paused, False), (live, True)):
                    try:
                        msg = await ws.receive(timeout=0.05)
                    except asyncio.TimeoutError:
                        continue
                    if msg.type == aiohttp.WSMsgType.BINARY and msg.data[4] == 1 and acks:
                        got_live += 1
                        await ws.send_str(json.dumps({"ack": decode(msg.data)["seq"]}))
            for ws in (paused, live):
                await ws.close()
            stalled.close()
            await stalled.wait_closed()
            return got_live, 0

    with Scope(port=0, health=stream.health) as scope:
        stream.add_sink(scope)

        async def main() -> tuple[int, list[dict]]:
            done = asyncio.Event()
            task = asyncio.create_task(clients(scope.url, done))
            deadline = time.monotonic() + 10
            while len(scope.status()["server"]["per_client"]) < 3:  # all three connected
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            await asyncio.to_thread(stream.run)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                per = scope.status()["server"]["per_client"]
                if per[0]["skipped"] > 0 and per[2]["sent"] > 2:
                    break
                await asyncio.sleep(0.05)
            done.set()
            return (await task)[0], per

        got_live, per = asyncio.run(main())
    health = stream.health()
    assert health.samples_out == n  # every sample delivered to every consumer, in order
    assert health.dropped == 0
    paused, _, live = per  # in the order they connected
    assert paused["sent"] <= 2  # never drawn, never acknowledged: 2 in flight at most
    assert paused["skipped"] > 0
    assert live["sent"] > 2
    assert got_live > 0


def test_a_browser_changes_only_its_own_view() -> None:
    v = View()
    assert parse_view(v, {"time_per_div": "1", "width": -5, "mode": "x", "pre": 2}, 2) == v
    assert parse_view(v, {"source": "sim:noise", "sample_rate": 1, "__class__": 1}, 2) == v
    assert parse_view(v, {"trigger_channel": 5}, 2) == v
    w = parse_view(v, {"time_per_div": 0.002, "mode": "normal", "trigger_channel": 1}, 2)
    assert (w.time_per_div, w.mode, w.trigger_channel) == (0.002, "normal", 1)


def test_binds_localhost_by_default_and_warns_for_other_addresses() -> None:
    assert Scope(port=0).host == "127.0.0.1"
    scope = Scope(host="0.0.0.0", port=0)
    with pytest.warns(UserWarning, match="anyone who can reach"):
        scope.start()
    scope.stop()


def test_each_browser_has_its_own_view(fed_scope: Scope) -> None:
    for k in range(0, 100_000, 1000):
        fed_scope.write(chunk(signal(1000, k), k))

    async def run() -> tuple[dict, dict]:
        async with aiohttp.ClientSession() as session:
            a = await session.ws_connect(fed_scope.url + "ws")
            b = await session.ws_connect(fed_scope.url + "ws")
            await a.send_str(json.dumps({"view": {"time_per_div": 1e-3, "width": 500}}))
            await b.send_str(json.dumps({"view": {"time_per_div": 5e-2, "width": 500}}))
            got = []
            for ws in (a, b):
                while True:
                    msg = await ws.receive(timeout=20)
                    if msg.type == aiohttp.WSMsgType.BINARY and msg.data[4] == 1:
                        got.append(decode(msg.data))
                        break
            await a.close()
            await b.close()
            return got[0], got[1]

    fa, fb = asyncio.run(run())
    assert fa["bucket"] == 2  # 1000 samples on 500 columns
    assert fb["bucket"] == 100  # 50 000 samples on 500 columns
    assert fa["flags"] & 1  # triggered at level 0
    assert fb["flags"] & 1


def test_single_mode_shows_one_triggered_frame_then_stops(fed_scope: Scope) -> None:
    async def run() -> tuple[list[dict], dict]:
        frames_: list[dict] = []
        last_status: dict = {}
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(fed_scope.url + "ws") as ws,
        ):
            view = {"time_per_div": 1e-3, "width": 500, "mode": "single", "level": 0.2}
            await ws.send_str(json.dumps({"view": view}))
            start = 0
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                fed_scope.write(chunk(signal(1000, start), start))
                start += 1000
                try:
                    msg = await ws.receive(timeout=0.02)
                except asyncio.TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.BINARY:
                    frames_.append(decode(msg.data))
                    await ws.send_str(json.dumps({"ack": frames_[-1]["seq"]}))
                elif msg.type == aiohttp.WSMsgType.TEXT and "status" in msg.data:
                    last_status = json.loads(msg.data)["status"]
        return frames_, last_status

    got, status = asyncio.run(run())
    assert len(got) == 1
    assert got[0]["flags"] & 1
    assert status["client"]["running"] is False


def test_hysteresis_keeps_noise_from_triggering() -> None:
    from livetrace.web._frames import _edges

    rng = np.random.default_rng(1)
    idx = np.arange(20_000)
    x = np.sin(2 * np.pi * idx / 1000) + 0.05 * rng.standard_normal(idx.size)
    noisy = _edges(x, 0.0, 0.0, True)
    clean = _edges(x, 0.0, 0.4, True)
    assert len(noisy) > 20  # noise crosses the level many times near each edge
    assert len(clean) == 19  # one per period; the one at index 0 has no samples before it
    # each edge is the last crossing of the level on the way up, near the true one
    assert np.all(np.abs((clean % 1000) - np.where(clean % 1000 > 500, 1000, 0)) < 30)
    falling = _edges(x, 0.0, 0.4, False)
    assert len(falling) == 20
    assert np.all(np.abs(falling % 1000 - 500) < 30)


def test_slow_time_base_rolls(fed_scope: Scope) -> None:
    for k in range(0, 60_000, 1000):
        fed_scope.write(chunk(signal(1000, k), k))
    # 100 ms/div: one second on screen, newest sample at the right edge, never triggered
    f = asyncio.run(frames(fed_scope.url, {"time_per_div": 0.1, "width": 500}, 1))[0]
    assert f["flags"] == 4
    assert math.isnan(f["trigger"])
    assert f["end"] == (60_000 // f["bucket"]) * f["bucket"]


def test_complex_samples_are_shown_by_their_real_part() -> None:
    h = History(100, 1)
    z = (np.arange(10) + 1j * np.arange(10)).astype(np.complex64)
    h.write(z, 0)
    np.testing.assert_array_equal(h.read(0, 10, channel=0), np.arange(10))


def test_coarse_envelope_equals_numpy_however_chunked() -> None:
    from livetrace.web._decimate import Coarse

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 50_000)).astype(np.float32)
    c = Coarse(64, 10_000, 2)
    start = 1000
    cuts = np.sort(rng.choice(np.arange(1, 50_000), 40, replace=False))
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, 50_000], strict=True):
        c.add(x[:, a:b], start + a)
    k0 = start // 64
    n = (start + 50_000) // 64 - k0 - 1  # whole buckets after the first (partial) one
    ref = x[:, 64 * (k0 + 1) - start : 64 * (k0 + 1 + n) - start].reshape(2, n, 64)
    got = c.mins[:, k0 + 1 : k0 + 1 + n]
    np.testing.assert_array_equal(got, ref.min(axis=2))
    np.testing.assert_array_equal(c.maxs[:, k0 + 1 : k0 + 1 + n], ref.max(axis=2))
    np.testing.assert_array_equal(c.mins[:, k0], x[:, : 64 * (k0 + 1) - start].min(axis=1))


def test_slow_time_base_beyond_the_raw_samples_draws_the_coarse_envelope() -> None:
    scope = Scope(port=0, history=0.01)  # 4096 raw samples: 41 ms at 100 kS/s
    scope.open(SourceInfo(sample_rate=RATE, dtype="float32", n_channels=2))
    try:
        assert scope.history is not None
        assert scope.history.capacity == 4096
        assert scope.history.coarse is not None
        L = scope.history.coarse.bucket
        data = signal(200_000)
        for k in range(0, 150_000, 1000):
            scope.write(chunk(data[k : k + 1000], k))
        for k in range(160_000, 200_000, 1000):  # 10 000 samples lost before 160 000
            scope.write(chunk(data[k : k + 1000], k, gap=10_000 if k == 160_000 else 0))
        view = {"time_per_div": 0.2, "width": 150}  # 2 s on screen, rolling
        f = asyncio.run(frames(scope.url, view, 1))[0]
        b = f["bucket"]
        assert b % L == 0
        assert b >= 200_000 / 150
        assert f["first"] % b == 0
        assert f["end"] == (200_000 // b) * b
        assert f["gaps"].tolist() == [[150_000.0, 10_000.0]]
        idx = f["first"] + b * np.arange(f["mins"].shape[0])
        for k in np.flatnonzero(idx > 0)[::7]:
            lo, hi = int(idx[k]), int(idx[k]) + b
            keep = np.arange(lo, hi)
            keep = keep[(keep < 150_000) | (keep >= 160_000)]
            if keep.size == 0:
                assert np.isnan(f["mins"][k]).all()
                continue
            np.testing.assert_array_equal(f["mins"][k], data[keep].min(axis=0))
            np.testing.assert_array_equal(f["maxs"][k], data[keep].max(axis=0))
        assert scope.status()["stream"]["longest_window"] > 3600 * RATE * 0.99
    finally:
        scope.close()


def test_holdoff_spaces_the_displayed_triggers(fed_scope: Scope) -> None:
    async def run() -> list[dict]:
        got: list[dict] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(fed_scope.url + "ws") as ws,
        ):
            # 1 ms periods, holdoff 3.5 ms: triggers at least 4 periods apart
            view = {"time_per_div": 1e-4, "width": 500, "mode": "normal", "holdoff": 3.5e-3}
            await ws.send_str(json.dumps({"view": view}))
            start = 0
            deadline = time.monotonic() + 20
            while len(got) < 6 and time.monotonic() < deadline:
                fed_scope.write(chunk(signal(200, start), start))  # 2 ms per write
                start += 200
                try:
                    msg = await ws.receive(timeout=0.01)
                except asyncio.TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.BINARY and msg.data[4] == 1:
                    got.append(decode(msg.data))
                    await ws.send_str(json.dumps({"ack": got[-1]["seq"]}))
        return got

    got = asyncio.run(run())
    assert len(got) >= 3
    assert all(f["flags"] & 1 for f in got)  # normal mode: triggered frames only
    spacing = np.diff([f["trigger"] for f in got])
    assert (spacing >= 350).all()  # 3.5 ms at 100 kS/s
    assert np.allclose(spacing / 100, np.round(spacing / 100), atol=1e-6)  # same phase
