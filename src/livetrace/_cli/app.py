"""The ``livetrace`` commands (click); run through :func:`livetrace.cli.main`."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from .._config import OVERFLOW_POLICIES
from .._errors import ConfigurationError, SinkError
from .._stream import RealtimeStream
from .._types import WaveformTrace
from ..sources._base import RealtimeSource

__all__ = ["cli"]

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=_CONTEXT)
@click.version_option(package_name="livetrace", message="livetrace %(version)s")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
def cli(debug: bool) -> None:
    """livetrace: watch, record and replay live waveforms.

    \b
    Examples:
      livetrace monitor sim:sine
      livetrace record sim:sine -o capture.h5 --duration 10
      livetrace info capture.h5
      livetrace replay capture.h5 --speed 2
      livetrace export capture.h5 -o capture.wav
      livetrace sources
    """


# ---------------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _on_interrupt(event: threading.Event) -> Iterator[None]:
    """While active, Ctrl-C (SIGINT) and SIGTERM set ``event`` instead of raising; a second
    Ctrl-C raises KeyboardInterrupt as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        event.set()

    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def _stream_for(
    source: RealtimeSource,
    *,
    chunk_size: int | None,
    overflow: str | None,
    window: float | None = None,
    buffer_size: int | None = None,
) -> tuple[RealtimeStream, int]:
    info = source.info
    if info is None:
        raise ConfigurationError(
            f"{type(source).__name__} does not describe its samples (info is None)"
        )
    rate = float(info.sample_rate)
    policy = overflow or ("block" if info.backpressure else "overwrite")
    extra: dict[str, Any] = {"overflow": policy}
    window_samples = 0
    if window is not None:
        if not window > 0:
            raise click.BadParameter(f"must be > 0 seconds, got {window}", param_hint="--window")
        window_samples = max(1, round(window * rate))
        extra["window_size"] = window_samples
    if chunk_size is not None and chunk_size < 1:
        raise click.BadParameter(f"must be >= 1, got {chunk_size}", param_hint="--chunk-size")
    stream = RealtimeStream.from_source(
        source, chunk_size=chunk_size, buffer_size=buffer_size, **extra
    )
    return stream, window_samples


def _dashboard_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options of ``monitor`` and ``replay``, passed on to :func:`_run_dashboard` by name."""
    options = [
        click.option(
            "--chunk-size", type=int, default=None, help="Samples per chunk (default ~10 ms)."
        ),
        click.option(
            "--window",
            type=float,
            default=0.1,
            show_default=True,
            help="Seconds of signal the sparkline and the rolling statistics cover.",
        ),
        click.option(
            "--rate",
            type=float,
            default=10.0,
            show_default=True,
            help="Display updates per second.",
        ),
        click.option("--duration", type=float, default=None, help="Stop after this many seconds."),
        click.option(
            "--overflow",
            type=click.Choice(OVERFLOW_POLICIES),
            default=None,
            help="Buffer overflow policy (default: block when the source can wait without losing "
            "samples - files, programs, TCP, simulator - else overwrite, drops counted).",
        ),
        click.option("--height", type=int, default=2, show_default=True, help="Sparkline rows."),
        click.option(
            "--json", "as_json", is_flag=True, help="Print one JSON line per update instead."
        ),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def _run_dashboard(
    source: RealtimeSource,
    *,
    chunk_size: int | None,
    window: float,
    rate: float,
    duration: float | None,
    overflow: str | None,
    height: int,
    as_json: bool,
) -> None:
    from rich.console import Console
    from rich.live import Live

    from .._dashboard import Monitor, render

    if not rate > 0:
        raise click.BadParameter(f"must be > 0, got {rate}", param_hint="--rate")
    if duration is not None and not duration > 0:
        raise click.BadParameter(f"must be > 0, got {duration}", param_hint="--duration")
    if height < 1:
        raise click.BadParameter(f"must be >= 1, got {height}", param_hint="--height")
    stream, window_samples = _stream_for(
        source, chunk_size=chunk_size, overflow=overflow, window=window
    )
    monitor = Monitor(stream, window=window_samples)
    period = 1.0 / rate
    stop = threading.Event()
    console = Console()
    with _on_interrupt(stop):
        deadline = None if duration is None else time.monotonic() + duration
        monitor.start()
        try:
            live: Any = None
            if not as_json:
                live = Live(console=console, auto_refresh=False, transient=False)
                live.start()
            try:
                while True:
                    wait = period
                    if deadline is not None:
                        wait = max(0.0, min(wait, deadline - time.monotonic()))
                    monitor.done.wait(wait)
                    finished = (
                        monitor.done.is_set()
                        or stop.is_set()
                        or (deadline is not None and time.monotonic() >= deadline)
                    )
                    if finished:
                        monitor.stop()
                    snap = monitor.snapshot()
                    if as_json:
                        click.echo(json.dumps(snap.to_dict()))
                    else:
                        live.update(render(snap, width=console.width, height=height), refresh=True)
                    if finished:
                        break
            finally:
                if live is not None:
                    live.stop()
        finally:
            monitor.stop()
    if monitor.error is not None:
        raise monitor.error


# ---------------------------------------------------------------------------------- monitor
@cli.command(context_settings=_CONTEXT)
@click.argument("uri")
@_dashboard_options
def monitor(uri: str, **dashboard: Any) -> None:
    """Watch a live source: sparkline, statistics, frequency, spectrum peak, health.

    URI names the source (see `livetrace sources`). Ctrl-C stops.

    \b
    Examples:
      livetrace monitor sim:sine
      livetrace monitor 'sim:square?frequency=50&channels=2' --window 0.04
      livetrace monitor 'tcp://127.0.0.1:9000?dtype=int16&sample_rate=1e6' --json
    """
    from ..sources._uri import open_source

    _run_dashboard(open_source(uri), **dashboard)


# ---------------------------------------------------------------------------------- replay
@cli.command(context_settings=_CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Replay pace: 1 = real time, 2 = twice as fast, 0 = as fast as possible.",
)
@click.option("--loop", is_flag=True, help="Start again at the end.")
@_dashboard_options
def replay(file: str, speed: float, loop: bool, **dashboard: Any) -> None:
    """Replay a recording as if it were live, on the same dashboard as `monitor`.

    Gaps in the recording are replayed as gaps (same positions, same duration at --speed 1).

    \b
    Examples:
      livetrace replay capture.h5
      livetrace replay capture.h5 --speed 0 --json | tail -n 1
    """
    from ..sinks._reader import RecordingSource

    if speed < 0 or not math.isfinite(speed):
        raise click.BadParameter(f"must be a finite number >= 0, got {speed}", param_hint="--speed")
    chunk_size = dashboard["chunk_size"]
    source = RecordingSource(file, speed=speed or None, loop=loop, chunk_size=chunk_size)
    try:
        _run_dashboard(source, **dashboard)
    finally:
        source.close()


# ---------------------------------------------------------------------------------- record
@cli.command(context_settings=_CONTEXT)
@click.argument("uri")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Recording (.h5)."
)
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--samples", type=int, default=None, help="Stop after exactly this many samples.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("--chunk-size", type=int, default=None, help="Samples per chunk (default ~10 ms).")
@click.option("--buffer-size", type=int, default=None, help="Buffer capacity in samples.")
@click.option(
    "--overflow",
    type=click.Choice(OVERFLOW_POLICIES),
    default=None,
    help="Buffer overflow policy (default: block when the source can wait without losing "
    "samples - files, programs, TCP, simulator - else overwrite, drops counted).",
)
@click.option(
    "--flush-interval",
    type=float,
    default=1.0,
    show_default=True,
    help="Seconds between flushes (at most this much is lost in a crash).",
)
@click.option("--compression", type=click.Choice(["gzip", "lzf"]), default=None)
@click.option("--dtype", default=None, help="Store samples as this dtype (default: as delivered).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def record(
    uri: str,
    output: str,
    duration: float | None,
    samples: int | None,
    overwrite: bool,
    chunk_size: int | None,
    buffer_size: int | None,
    overflow: str | None,
    flush_interval: float,
    compression: str | None,
    dtype: str | None,
    quiet: bool,
) -> None:
    """Record a source to an HDF5 file (crash-safe, gaps kept), with a progress bar.

    Runs until --duration seconds passed, --samples were recorded, the source ended, or
    Ctrl-C; the file is complete in every case. Ends with a one-line summary.

    \b
    Examples:
      livetrace record sim:sine -o sine.h5 --duration 5
      livetrace record 'sim:noise?realtime=0' -o noise.h5 --samples 1000000
      livetrace record 'udp://127.0.0.1:9001?dtype=float32&sample_rate=1e6' -o rx.h5
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .._dashboard import format_rate
    from ..sinks._recorder import Recorder
    from ..sources._uri import open_source

    if duration is not None and samples is not None:
        raise click.UsageError("give --duration or --samples, not both")
    if duration is not None and not duration > 0:
        raise click.BadParameter(f"must be > 0, got {duration}", param_hint="--duration")
    if samples is not None and samples < 1:
        raise click.BadParameter(f"must be >= 1, got {samples}", param_hint="--samples")
    recorder = Recorder(
        output,
        overwrite=overwrite,
        flush_interval=flush_interval,
        compression=compression,
        dtype=dtype,
    )
    source = open_source(uri)
    stream, _ = _stream_for(
        source, chunk_size=chunk_size, overflow=overflow, buffer_size=buffer_size
    )
    info = stream.info
    err_console = Console(stderr=True)
    columns: list[Any] = [TextColumn("[bold]recording")]
    if samples is not None or duration is not None:
        columns.append(BarColumn())
    columns += [
        TimeElapsedColumn(),
        TextColumn("{task.fields[samples]} samples"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("dropped {task.fields[dropped]}"),
    ]
    progress = Progress(
        *columns,
        console=err_console,
        disable=quiet or not err_console.is_terminal,
        transient=True,
    )
    stop = threading.Event()
    n = 0
    t0 = time.monotonic()
    with _on_interrupt(stop), progress:
        task = progress.add_task(
            "record",
            total=samples if samples is not None else duration,
            samples=0,
            rate="",
            dropped=0,
        )
        stream.start()
        try:
            recorder.open(stream.info)
        except BaseException:
            stream.stop()
            raise

        def watch() -> None:
            stop.wait(duration)  # None: until Ctrl-C or the end of the loop
            stream.stop()

        watcher = threading.Thread(target=watch, name="livetrace-record-stop", daemon=True)
        watcher.start()
        try:
            last = 0.0
            while samples is None or n < samples:
                chunk = stream.read_chunk()
                if chunk is None:
                    break
                if samples is not None and n + len(chunk) > samples:
                    chunk = WaveformTrace(chunk.data[: samples - n], chunk.metadata)
                try:
                    recorder.write(chunk)
                except Exception as exc:
                    raise SinkError(f"recording to '{output}' failed: {exc}") from exc
                n += len(chunk)
                now = time.monotonic()
                if now - last >= 0.1:
                    last = now
                    h = stream.health()
                    done = n if samples is not None else now - t0
                    progress.update(
                        task,
                        completed=done,
                        samples=n,
                        rate=format_rate(h.input_rate),
                        dropped=h.dropped,
                    )
        finally:
            interrupted = stop.is_set() and (duration is None or time.monotonic() - t0 < duration)
            stop.set()
            watcher.join()
            stream.stop()
            recorder.close()
    elapsed = time.monotonic() - t0
    h = stream.health()
    ended = "interrupted" if interrupted else "done"
    click.echo(
        f"recorded {n} samples ({n / info.sample_rate:.6g} s of signal, {info.n_channels} "
        f"channel(s), {recorder.dtype}) to '{output}' in {elapsed:.2f} s: "
        f"{format_rate(n / elapsed if elapsed > 0 else 0.0)}, {h.dropped} dropped, "
        f"{recorder.gaps} gap(s) [{ended}]"
    )


# ---------------------------------------------------------------------------------- info
@cli.command(context_settings=_CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
@click.option("--max-gaps", type=int, default=20, show_default=True, help="Gaps to list.")
def info(file: str, as_json: bool, max_gaps: int) -> None:
    """Describe a recording: metadata, duration, gaps.

    \b
    Examples:
      livetrace info capture.h5
      livetrace info capture.h5 --json
    """
    from ..sinks._reader import RecordingReader

    with RecordingReader(file) as rec:
        i = rec.info
        gaps = rec.gaps
        desc: dict[str, Any] = {
            "file": file,
            "complete": rec.complete,
            "format_version": rec.format_version,
            "livetrace_version": rec.metadata.get("livetrace_version"),
            "created": rec.metadata.get("created"),
            "description": i.description,
            "sample_rate": i.sample_rate,
            "dtype": i.dtype,
            "n_channels": i.n_channels,
            "channel_names": list(i.channel_names),
            "units": list(i.units),
            "start_time": i.start_time,
            "n_samples": rec.n_samples,
            "duration": rec.duration,
            "first_index": rec.first_index,
            "end_index": rec.end_index,
            "span": rec.span,
            "samples_lost": rec.samples_lost,
            "gaps": [g._asdict() for g in gaps],
            "attrs": {k: _jsonable(v) for k, v in rec.attrs.items()},
        }
    if as_json:
        click.echo(json.dumps(desc))
        return
    t0 = i.start_time
    when = (
        "unknown"
        if t0 is None
        else datetime.fromtimestamp(t0, timezone.utc).isoformat(timespec="microseconds")
    )
    status = (
        "complete"
        if desc["complete"]
        else "INCOMPLETE: the recording process did not close it; every flushed sample is here"
    )
    chans = ", ".join(
        f"{n} [{u}]" if u else n for n, u in zip(i.channel_names, i.units, strict=True)
    )
    unknown = sum(1 for g in gaps if not g.known)
    lines = [
        f"file:         {file} ({status})",
        f"format:       livetrace-recording v{desc['format_version']}, "
        f"written by livetrace {desc['livetrace_version']} on {desc['created']}",
        f"source:       {i.description}",
        f"sample rate:  {i.sample_rate:g} Hz",
        f"channels:     {i.n_channels} x {i.dtype}: {chans}",
        f"sample 0 at:  {when}",
        f"samples:      {rec.n_samples} ({rec.duration:.6g} s), absolute "
        f"{rec.first_index}..{rec.end_index} (span {rec.span:.6g} s)",
        f"gaps:         {len(gaps)} ({rec.samples_lost} samples lost"
        + (f", {unknown} of unknown size" if unknown else "")
        + ")",
    ]
    for g in gaps[:max_gaps]:
        size = f"{g.length} samples" if g.known else "unknown size"
        lines.append(f"  before index {g.start_index} (stored {g.stored_index}): {size}")
    if len(gaps) > max_gaps:
        lines.append(f"  ... {len(gaps) - max_gaps} more (--max-gaps)")
    lines.extend(f"attr {k}:  {v}" for k, v in desc["attrs"].items())
    click.echo("\n".join(lines))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode()
    return value


# ---------------------------------------------------------------------------------- export
@cli.command(context_settings=_CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="out.wav|.npy|.csv"
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["wav", "npy", "csv"]),
    default=None,
    help="Output format (default: from the file name).",
)
@click.option("--int16", is_flag=True, help="WAV as 16-bit PCM (default: 32-bit float).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
def export(file: str, output: str, fmt: str | None, int16: bool, overwrite: bool) -> None:
    """Export a recording to WAV, .npy or CSV (streamed: any length).

    \b
    Examples:
      livetrace export capture.h5 -o capture.wav
      livetrace export capture.h5 -o capture.wav --int16
      livetrace export capture.h5 -o samples.npy
      livetrace export capture.h5 -o samples.csv
    """
    from ..sinks._export import export_recording

    n = export_recording(
        file, output, format=fmt, wav_dtype="int16" if int16 else "float32", overwrite=overwrite
    )
    click.echo(f"exported {n} samples from '{file}' to '{output}'")


# ---------------------------------------------------------------------------------- sources
@cli.command(context_settings=_CONTEXT)
def sources() -> None:
    """List the source URI schemes, each with an example.

    \b
    Example:
      livetrace sources
    """
    from ..sources._uri import SCHEMES, _plugin_schemes

    rows = [(name, s.example, s.description) for name, s in sorted(SCHEMES.items())]
    for name, ep in sorted(_plugin_schemes().items()):
        if name not in SCHEMES:
            rows.append((name, f"{name}:...", f"plug-in ({ep.value})"))
    width = max(len(r[0]) for r in rows)
    for name, example, description in rows:
        click.echo(f"{name:<{width}}  {description}")
        click.echo(f"{'':<{width}}    e.g. livetrace monitor '{example}'")


# ---------------------------------------------------------------------------------- bench
_NO_BENCHMARKS = (
    "the benchmarks are not part of the installed package: they are the scripts in the "
    "benchmarks/ folder of livetrace's source repository. Run `livetrace bench` from a "
    "checkout of it (with livetrace installed from that checkout), or run a script directly: "
    "python benchmarks/bench_core.py --quick"
)


def _benchmarks_dir() -> Path | None:
    """``benchmarks/`` of the checkout this livetrace was imported from (src layout), if any."""
    from .. import __file__ as package_init

    root = Path(package_init).resolve().parents[2]  # <root>/src/livetrace/__init__.py
    folder = root / "benchmarks"
    return folder if (folder / "_common.py").is_file() else None


def _benchmark_names(folder: Path | None) -> list[str]:
    if folder is None:
        return []
    return sorted(p.stem.removeprefix("bench_") for p in folder.glob("bench_*.py"))


def _bench_epilog() -> str:
    folder = _benchmarks_dir()
    names = _benchmark_names(folder)
    if not names:
        return "Benchmarks: none here; " + _NO_BENCHMARKS
    return f"Benchmarks (in {folder}): {', '.join(names)}"


@cli.command(context_settings=_CONTEXT, epilog=_bench_epilog())
@click.option("--quick", is_flag=True, help="Short runs (a few seconds each).")
@click.option("--only", multiple=True, help="Run only these benchmarks (repeatable).")
def bench(quick: bool, only: tuple[str, ...]) -> None:
    """Run the benchmark scripts of a source checkout (benchmarks/bench_*.py) and print their
    figures, each beside a reference measured in the same run.

    \b
    Examples:
      livetrace bench --quick
      livetrace bench --only recording
    """
    folder = _benchmarks_dir()
    names = _benchmark_names(folder)
    if folder is None or not names:
        raise click.ClickException(_NO_BENCHMARKS)
    unknown = sorted(set(only) - set(names))
    if unknown:
        raise click.BadParameter(
            f"no benchmark {', '.join(unknown)}; available: {', '.join(names)}",
            param_hint="--only",
        )
    failed: list[str] = []
    for name in names:
        if only and name not in only:
            continue
        sys.stdout.flush()
        script = folder / f"bench_{name}.py"
        done = subprocess.run([sys.executable, str(script), *(["--quick"] if quick else [])])
        if done.returncode != 0:
            failed.append(name)
            print(
                f"livetrace: error: benchmark {name} failed (exit status {done.returncode})",
                file=sys.stderr,
            )
    if failed:
        raise click.ClickException(f"{len(failed)} benchmark(s) failed: {', '.join(failed)}")
