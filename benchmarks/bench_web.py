"""Web scope figures, side by side with the bare decimation they rest on.

1. Decimation: the scope's min/max bucketing vs bare numpy reshape + min/max on the same samples.
2. One browser: a paced 10 MS/s float32 2-channel simulated source -> stream -> Scope, one
   WebSocket client in another process that acknowledges every frame as a page does: frames/s
   delivered, CPU of the scope's server thread and of ``Scope.write`` (consumer thread), and
   the latency from a chunk's arrival at the scope to the frame holding it leaving the server.
3. Five clients, one paused: samples dropped by the stream, the paused client's skipped
   frames, the others' frame rate against the single-client figure.

The machines are shared and noisy: compare the ratios printed in one run.

    python benchmarks/bench_web.py [--seconds 5] [--rate 10e6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np


# ---------------------------------------------------------------------- the client process
async def _client(url: str, paused: bool, seconds: float, spectrum: bool) -> dict[str, Any]:
    import aiohttp

    frames = 0
    first = last = 0.0
    async with aiohttp.ClientSession() as session, session.ws_connect(url + "ws") as ws:
        view = {"time_per_div": 1e-3, "width": 1000, "level": 0.0, "spectrum": spectrum}
        await ws.send_str(json.dumps({"view": view}))
        # runs until the parent process closes our stdin (or `seconds` pass)
        stop = asyncio.ensure_future(asyncio.to_thread(sys.stdin.read))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not stop.done():
            try:
                msg = await ws.receive(timeout=0.1)
            except asyncio.TimeoutError:
                continue
            if msg.type != aiohttp.WSMsgType.BINARY or msg.data[4] != 1:
                continue
            frames += 1
            last = time.monotonic()
            if frames == 1:
                first = last
            if not paused:  # a paused page stops drawing and acknowledging
                seq = np.frombuffer(msg.data, "<f8", 1, 48)[0]
                await ws.send_str(json.dumps({"ack": float(seq)}))
    fps = (frames - 1) / (last - first) if frames > 1 and last > first else 0.0
    return {"frames": frames, "fps": fps}


def _spawn(url: str, paused: bool, seconds: float, spectrum: bool) -> subprocess.Popen[str]:
    cmd = [sys.executable, __file__, "--client", url, "--paused", str(int(paused))]
    cmd += ["--spectrum", str(int(spectrum))]
    cmd += ["--seconds", str(seconds)]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


# ---------------------------------------------------------------------- measurements
def bench_decimation(n: int = 1 << 22, bucket: int = 1000, repeat: int = 7) -> tuple[float, float]:
    from livetrace.web import minmax_buckets

    # channel-major, as the scope stores samples (numpy's fastest layout for this)
    data = np.random.default_rng(0).standard_normal((2, n)).astype(np.float32)
    m = (n // bucket) * bucket

    def bare() -> None:
        shaped = data[:, :m].reshape(2, -1, bucket)
        shaped.min(axis=2)
        shaped.max(axis=2)

    def scope() -> None:
        minmax_buckets(data, 0, bucket)

    out = []
    for fn in (bare, scope):
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        out.append(m * 2 / best)  # samples (both channels) per second
    return out[0], out[1]


def _thread_cpu(thread: threading.Thread) -> float:
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def bench_scope(
    rate: float, seconds: float, n_clients: int, n_paused: int, spectrum: bool = False
) -> dict[str, Any]:
    from livetrace import RealtimeStream, SimulatedSource
    from livetrace.web import Scope

    class TimedScope(Scope):
        write_time = 0.0

        def write(self, chunk: Any) -> None:
            t = time.thread_time()
            super().write(chunk)
            self.write_time += time.thread_time() - t

    chunk = 65_536
    src = SimulatedSource("sine", frequency=1e3, sample_rate=rate, n_channels=2,
                          dtype="float32", chunk_size=chunk)  # fmt: skip
    stream = RealtimeStream.from_source(src, chunk_size=chunk, buffer_size=16 * chunk)
    scope = TimedScope(port=0, health=stream.health, history=0.5)
    stream.add_sink(scope)
    consumer = threading.Thread(target=stream.run, name="bench-consumer")
    stream.start()
    consumer.start()
    try:
        time.sleep(0.5)
        server_thread = next(t for t in threading.enumerate() if t.name == "livetrace-scope")
        clients = [
            _spawn(scope.url, i < n_paused, seconds + 120.0, spectrum) for i in range(n_clients)
        ]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # client processes start slowly on a busy machine
            server = scope.status()["server"]
            if server["clients"] == n_clients and min(c["sent"] for c in server["per_client"]):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        cpu0, wall0, write0 = _thread_cpu(server_thread), time.monotonic(), scope.write_time
        n0 = stream.health().samples_out
        time.sleep(max(0.5, seconds - 1.0))  # every client still connected
        cpu1, wall1, write1 = _thread_cpu(server_thread), time.monotonic(), scope.write_time
        n1 = stream.health().samples_out
        status = scope.status()
        for c in clients:
            assert c.stdin is not None
            c.stdin.close()  # every client stops now
        results = []
        for c in clients:
            assert c.stdout is not None
            results.append(json.loads(c.stdout.read()))
            c.wait(timeout=60)
    finally:
        stream.stop()
        consumer.join()
    health = stream.health()
    wall = wall1 - wall0
    return {
        "clients": results,
        "server_cpu": (cpu1 - cpu0) / wall,
        "write_cpu": (write1 - write0) / wall,
        "latency_p50_ms": status["server"]["latency_ms_p50"],
        "latency_p99_ms": status["server"]["latency_ms_p99"],
        "per_client": status["server"]["per_client"],
        "dropped": health.dropped,
        "delivered_rate": (n1 - n0) / (wall1 - wall0),
        "samples": health.samples_out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=10e6)
    parser.add_argument("--client")
    parser.add_argument("--paused", type=int, default=0)
    parser.add_argument("--spectrum", type=int, default=0)
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="sys.setswitchinterval for this process (livetrace scope uses 0.001 s)",
    )
    args = parser.parse_args()
    if args.client:
        client = _client(args.client, bool(args.paused), args.seconds, bool(args.spectrum))
        print(json.dumps(asyncio.run(client)))
        return

    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    print(f"(interpreter switch interval {sys.getswitchinterval() * 1e3:g} ms)")
    bare, ours = bench_decimation()
    print("1. min/max decimation, 2 channels float32, 4 Mi samples, bucket 1000")
    print(f"   bare numpy reshape+min+max : {bare / 1e9:6.2f} GS/s")
    print(f"   scope minmax_buckets       : {ours / 1e9:6.2f} GS/s   ratio {ours / bare:.2f}")

    one = bench_scope(args.rate, args.seconds, 1, 0)
    fps1 = one["clients"][0]["fps"]
    print(f"\n2. one browser, {args.rate / 1e6:g} MS/s float32 x 2 channels, 1 ms/div, 1000 px")
    print(f"   frames/s delivered            : {fps1:6.1f}   (goal >= 30, aim 60)")
    print(f"   scope server thread CPU       : {100 * one['server_cpu']:6.1f} % of one core")
    print(f"   Scope.write (consumer thread) : {100 * one['write_cpu']:6.1f} % of one core")
    print(
        f"   latency chunk -> frame sent   : p50 {one['latency_p50_ms']:.1f} ms, "
        f"p99 {one['latency_p99_ms']:.1f} ms"
    )
    print(f"   samples dropped by the stream : {one['dropped']}")
    print(
        f"   samples/s delivered (of {args.rate / 1e6:g} M) : {one['delivered_rate'] / 1e6:6.2f} M"
    )

    spec = bench_scope(args.rate, args.seconds, 1, 0, spectrum=True)
    print("\n2b. the same browser with the frequency view on (Welch spectrum of every sample)")
    print(f"   frames/s delivered            : {spec['clients'][0]['fps']:6.1f}")
    print(f"   Scope.write (consumer thread) : {100 * spec['write_cpu']:6.1f} % of one core")
    print(f"   samples dropped by the stream : {spec['dropped']}")
    print(
        f"   samples/s delivered (of {args.rate / 1e6:g} M) : {spec['delivered_rate'] / 1e6:6.2f} M"
    )

    five = bench_scope(args.rate, args.seconds, 5, 1)
    paused = max(five["per_client"], key=lambda c: c["skipped"], default={})
    others = [c["fps"] for c in five["clients"][1:]]
    print("\n3. five browsers, one paused")
    print(f"   samples dropped by the stream : {five['dropped']}")
    print(
        f"   samples/s delivered (of {args.rate / 1e6:g} M) : {five['delivered_rate'] / 1e6:6.2f} M"
    )
    print(f"   paused browser skipped frames : {paused.get('skipped', 'n/a')}")
    print(
        f"   others' frames/s              : {', '.join(f'{f:.1f}' for f in others)}   "
        f"(min/single {min(others) / fps1 if fps1 else float('nan'):.2f})"
    )
    print(f"   scope server thread CPU       : {100 * five['server_cpu']:6.1f} % of one core")
    print(f"   latency p99                   : {five['latency_p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
