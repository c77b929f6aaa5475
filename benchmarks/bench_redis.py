"""Redis Streams: publisher -> redis-server -> readers on loopback, float32, 65536-sample chunks.

Each figure is printed next to a reference measured in the same run: bare redis-py, a writer
doing ``XADD`` of the same 256 KiB payloads and readers doing ``XREAD`` + ``np.frombuffer``,
nothing else. Modes alternate (bare, livetrace, bare, livetrace...). The writer sends
``--entries`` chunks as fast as it can while the readers, started first, read every entry
from the beginning (no trimming during the run, so every reader is lossless by construction,
which each mode checks); a reader's rate is samples / (time from its first to its last entry).

``--instances 1 2 4`` also measures aggregate throughput with that many redis-server
instances on this machine (one publisher and ``--readers`` readers per instance, livetrace
and bare side by side) and, with ``--plot PATH``, draws it.

Usage: python benchmarks/bench_redis.py [--entries 300] [--readers 4] [--rounds 2]
       python benchmarks/bench_redis.py --instances 1 2 4 --readers 1 --plot docs/scaling.png
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from typing import Any

import numpy as np

from _common import machine_busy, process_cpu

CHUNK = 65536


def _server_cpu(pid: int) -> float:
    """CPU seconds process ``pid`` used so far (Linux /proc; NaN elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, extra: list[str] | None = None) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("redis-server is not installed (scripts/install-test-deps)")
        self.port = _free_port()
        self.dir = tempfile.TemporaryDirectory()
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir.name, *(extra or [])],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                c = redis.Redis(port=self.port)
                c.ping()
                c.close()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.url = f"redis://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.dir.cleanup()


def _payload() -> np.ndarray:
    return np.random.default_rng(0).standard_normal(CHUNK).astype(np.float32)


def _bare_writer(url: str, key: str, entries: int, go: Any, out_q: Any) -> None:
    import redis

    c = redis.Redis.from_url(url)
    data = _payload().tobytes()
    go.wait()
    t0, c0 = time.perf_counter(), process_cpu()
    for k in range(entries):
        c.xadd(key, {"d": data, "i": k * CHUNK}, id=f"{k * CHUNK}-1")
    c.xadd(key, {"d": b"", "i": -1}, id=f"{entries * CHUNK}-2")
    wall = time.perf_counter() - t0
    out_q.put(("writer", entries * CHUNK / wall, (process_cpu() - c0) / wall))
    c.close()


def _bare_reader(url: str, key: str, entries: int, go: Any, out_q: Any) -> None:
    import redis

    c = redis.Redis.from_url(url)
    last = "0-0"
    n = 0
    t0 = None
    go.wait()
    c0 = process_cpu()
    while True:
        resp = c.xread({key: last}, count=16, block=100)
        if not resp:
            continue
        for entry, fields in resp[0][1]:
            last = entry
            if int(fields[b"i"]) < 0:
                wall = time.perf_counter() - (t0 or 0.0)
                out_q.put(("reader", n / wall, n == entries * CHUNK, (process_cpu() - c0) / wall))
                c.close()
                return
            data = np.frombuffer(fields[b"d"], np.float32)
            if t0 is None:
                t0 = time.perf_counter()
            n += len(data)


def _lt_writer(url: str, key: str, entries: int, go: Any, out_q: Any) -> None:
    from livetrace import TraceMetadata, WaveformTrace
    from livetrace.sinks import RedisPublisher
    from livetrace.sources import SourceInfo

    pub = RedisPublisher(url, key, max_pending=entries + 1)
    pub.open(SourceInfo(sample_rate=1e9, dtype="float32", start_time=0.0))
    data = _payload()
    go.wait()
    t0, c0 = time.perf_counter(), process_cpu()
    for k in range(entries):
        pub.write(WaveformTrace(data, TraceMetadata(1e9, start_index=k * CHUNK)))
    pub.close()
    wall = time.perf_counter() - t0
    assert pub.health()["lost_samples"] == 0, pub.health()
    out_q.put(("writer", entries * CHUNK / wall, (process_cpu() - c0) / wall))


def _lt_reader(url: str, key: str, entries: int, go: Any, out_q: Any) -> None:
    from livetrace import EndOfStream
    from livetrace.sources import RedisSource

    deadline = time.monotonic() + 30
    while True:  # the publisher writes the description first
        try:
            src = RedisSource(url, key, start="start")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    n = 0
    t0 = None
    go.wait()
    c0 = process_cpu()
    while True:
        try:
            block = src.acquire()
        except EndOfStream:
            break
        if block is None:
            continue
        if t0 is None:
            t0 = time.perf_counter()
        n += len(block.data)
    wall = time.perf_counter() - (t0 or 0.0)
    lossless = n == entries * CHUNK and src.health()["lost_samples"] == 0
    out_q.put(("reader", n / wall, lossless, (process_cpu() - c0) / wall))
    src.close()


class Run:
    """One run's figures: reader rates, summed writer rate, CPU used (cores) by the writers,
    by each reader and by the redis-server processes."""

    def __init__(self) -> None:
        self.rates: list[float] = []
        self.written = 0.0
        self.writer_cpu: list[float] = []
        self.reader_cpu: list[float] = []
        self.server_cpu = 0.0


def run(mode: str, servers: list[Server], entries: int, readers: int) -> Run:
    """One run with a publisher and ``readers`` readers on every server in ``servers``."""
    urls = [s.url for s in servers]
    ctx = mp.get_context("spawn")
    per = 1 + readers
    go = ctx.Barrier(per * len(urls) + 1)
    out_q = ctx.Queue()
    writer, reader = (_bare_writer, _bare_reader) if mode == "bare" else (_lt_writer, _lt_reader)
    procs = []
    for url in urls:
        key = f"bench-{uuid.uuid4().hex[:8]}"
        procs.append(ctx.Process(target=writer, args=(url, key, entries, go, out_q)))
        procs += [
            ctx.Process(target=reader, args=(url, key, entries, go, out_q)) for _ in range(readers)
        ]
    for p in procs:
        p.start()
    go.wait(120)
    s0 = [_server_cpu(s.proc.pid) for s in servers]
    t0 = time.perf_counter()
    out = Run()
    for _ in procs:
        got = out_q.get(timeout=300)
        if got[0] == "writer":
            out.written += got[1]
            out.writer_cpu.append(got[2])
        else:
            if not got[2]:
                raise SystemExit(f"a {mode} reader lost samples")
            out.rates.append(got[1])
            out.reader_cpu.append(got[3])
    wall = time.perf_counter() - t0
    out.server_cpu = (
        sum(_server_cpu(s.proc.pid) - c for s, c in zip(servers, s0, strict=True)) / wall
    )
    for p in procs:
        p.join(60)
    for url in urls:
        import redis

        c = redis.Redis.from_url(url)
        c.flushall()
        c.close()
    return out


def _client_version() -> str:
    import redis

    try:
        import hiredis

        parser = "with hiredis " + getattr(hiredis, "__version__", "?")
    except ImportError:
        parser = "without hiredis (pure-Python reply parser)"
    return f"{redis.__version__} {parser}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--entries", type=int, default=300)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--instances", type=int, nargs="*", default=[1])
    ap.add_argument("--plot", default=None, help="Write a PNG of aggregate throughput here.")
    ap.add_argument(
        "--server-args",
        default="",
        help="More redis-server options, such as '--io-threads 2' (one string).",
    )
    args = ap.parse_args()
    servers = [Server(shlex.split(args.server_args)) for _ in range(max(args.instances))]
    if args.server_args:
        print(f"redis-server options added: {args.server_args}")
    table = []
    busy0, total0 = machine_busy()
    try:
        for k in args.instances:
            found: dict[str, list[float]] = {"bare": [], "livetrace": []}
            agg: dict[str, list[float]] = {"bare": [], "livetrace": []}
            runs: dict[str, list[Run]] = {"bare": [], "livetrace": []}
            for _ in range(args.rounds):
                for mode in ("bare", "livetrace"):
                    r = run(mode, servers[:k], args.entries, args.readers)
                    found[mode] += r.rates
                    agg[mode].append(sum(r.rates))
                    runs[mode].append(r)
            bare = statistics.median(found["bare"])
            lt = statistics.median(found["livetrace"])
            print(
                f"{k} redis-server instance(s), 1 publisher + {args.readers} reader(s) each, "
                f"float32, {CHUNK}-sample entries x {args.entries}, {args.rounds} rounds "
                f"(this run, this machine; {mp.cpu_count()} CPUs), all readers lossless"
            )
            print(f"  per reader, median: livetrace {lt / 1e6:7.1f} MS/s   bare redis-py "
                  f"{bare / 1e6:7.1f} MS/s   ratio {lt / bare:.2f}")  # fmt: skip
            a_lt, a_bare = statistics.median(agg["livetrace"]), statistics.median(agg["bare"])
            print(f"  aggregate delivered:  livetrace {a_lt / 1e6:7.1f} MS/s   bare redis-py "
                  f"{a_bare / 1e6:7.1f} MS/s   ratio {a_lt / a_bare:.2f}")  # fmt: skip
            for mode in ("livetrace", "bare"):
                rs = runs[mode]
                med = statistics.median
                print(
                    f"  {mode:<9} publisher {med(r.written for r in rs) / 1e6:6.1f} MS/s; "
                    f"CPU (cores): publisher {med(c for r in rs for c in r.writer_cpu):.2f}, "
                    f"each reader {med(c for r in rs for c in r.reader_cpu):.2f}, "
                    f"redis-server {med(r.server_cpu for r in rs):.2f}"
                )
            print(f"  redis client: redis-py {_client_version()}")
            table.append((k, a_lt, a_bare))
    finally:
        for s in servers:
            s.close()
    busy1, total1 = machine_busy()
    print(
        f"machine CPU busy during the runs (all processes, this benchmark's and others'): "
        f"{(busy1 - busy0) / (total1 - total0):.0%} of {mp.cpu_count()} cores"
    )
    if args.plot and len(table) > 1:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.2))
        ks = [t[0] for t in table]
        ax.plot(ks, [t[1] / 1e6 for t in table], "o-", label="livetrace")
        ax.plot(ks, [t[2] / 1e6 for t in table], "s--", label="bare redis-py")
        ax.set_xlabel("redis-server instances (2-core machine)")
        ax.set_ylabel("aggregate MS/s delivered")
        ax.set_xticks(ks)
        ax.set_ylim(bottom=0)
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
