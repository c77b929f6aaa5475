"""The ``livetrace`` commands (click); run through :func:`livetrace.cli.main`.

Every command is a thin client of the library: it opens a source by its URI, builds a
:class:`~livetrace.RealtimeStream` with sinks and analysers (a ``Recorder``, the dashboard's
:class:`~livetrace._cli.dashboard.LiveView`) and runs it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import re
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
from .._protocols import RealtimeSource
from .._stream import RealtimeStream
from .._types import WaveformTrace

__all__ = ["InputError", "cli"]

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Suffixes ``record`` writes (HDF5 recordings) and ``export`` converts to.
RECORDING_SUFFIXES = (".h5", ".hdf5")
EXPORT_SUFFIXES = {".wav": "wav", ".npy": "npy", ".csv": "csv"}

#: Without ``--window``, the rolling statistics cover this many seconds.
DEFAULT_STATS_WINDOW = 0.1


class InputError(click.ClickException):
    """Something on the command line cannot be used (a URI, a file name, an option's value);
    exit code 2 like click's own usage errors."""

    exit_code = 2


@click.group(context_settings=_CONTEXT)
@click.version_option(package_name="livetrace", message="livetrace %(version)s")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
def cli(debug: bool) -> None:
    """livetrace: watch, record and replay live waveforms.

    Exit codes: 0 success, 1 a failure while running (a source or the disk failed, nothing
    was recorded), 2 a usage error (options, source URI, file names), 130 interrupted.

    \b
    Examples:
      livetrace monitor sim:sine
      livetrace record sim:sine -o capture.h5 --duration 10
      livetrace info capture.h5
      livetrace replay capture.h5 --speed 2
      livetrace export capture.h5 -o capture.wav
      livetrace plot capture.h5 -o capture.png
      livetrace scope sim:sine
      livetrace sources
      livetrace devices
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


@contextlib.contextmanager
def _quiet_terminal() -> Iterator[None]:
    """While a live display runs, the terminal does not echo keys (Ctrl-C's ``^C`` would
    shift the redrawn frame by a line); restored on exit."""
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    except (ImportError, OSError, ValueError):  # no termios (Windows) or no real stdin
        saved = None
    if saved is None:
        yield
        return
    quiet = list(saved)
    quiet[3] &= ~(termios.ECHO | termios.ECHOCTL)
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


@contextlib.contextmanager
def _stop_when(event: threading.Event, stream: RealtimeStream) -> Iterator[None]:
    """Stop ``stream`` from a helper thread as soon as ``event`` is set (a signal handler may
    not stop it itself: it runs in the consumer thread, between two bytecodes of a chunk)."""
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if event.wait(0.05):
                stream.stop()
                return

    thread = threading.Thread(target=watch, name="livetrace-stop-on-signal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextlib.contextmanager
def _user_input() -> Iterator[None]:
    """Errors of what the user typed (a URI, a file name, a value) become exit code 2."""
    try:
        yield
    except ConfigurationError as exc:
        raise InputError(str(exc)) from exc
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise InputError(_os_message(exc)) from exc


def _os_message(exc: OSError) -> str:
    text = exc.strerror or str(exc)
    name = exc.filename
    if name is not None and str(name) not in text:
        text = f"{text}: '{name}'"
    return text


def _open(uri: str) -> RealtimeSource:
    from ..sources import open_source

    with _user_input():
        return open_source(uri)


def _signal_limit(
    source: RealtimeSource, duration: float | None, samples: int | None, pace: float | None
) -> tuple[int | None, float | None]:
    """``(max_samples, wall-clock limit)`` for ``--duration`` / ``--samples``.

    ``--duration`` is signal time: exactly ``round(duration * rate)`` samples; a source that
    falls behind (or delivers nothing) is stopped after ``2 * duration / pace + 1`` s of wall
    clock (``pace``: how much faster than real time it delivers; None: as fast as it can,
    no wall-clock limit).
    """
    if duration is None:
        return samples, None
    info = source.info
    rate = 1.0 if info is None else float(info.sample_rate)
    wall = None if pace is None else 2.0 * duration / pace + 1.0
    return max(1, round(duration * rate)), wall


def _stream_for(
    source: RealtimeSource,
    *,
    chunk_size: int | None,
    overflow: str | None,
    window: float | None = None,
    buffer_size: int | None = None,
    **parts: Any,
) -> RealtimeStream:
    info = source.info
    if info is None:
        raise ConfigurationError(
            f"{type(source).__name__} does not describe its samples (info is None)"
        )
    extra: dict[str, Any] = {}
    if overflow is not None:
        extra["overflow"] = overflow
    if window is not None:
        extra["window_size"] = max(1, round(window * float(info.sample_rate)))
    with _user_input():
        return RealtimeStream.from_source(
            source, chunk_size=chunk_size, buffer_size=buffer_size, **extra, **parts
        )


_overflow_option = click.option(
    "--overflow",
    type=click.Choice(OVERFLOW_POLICIES),
    default=None,
    help="Buffer overflow policy (default: block when the source can wait without losing "
    "samples - files, programs, TCP, simulator - else overwrite, drops counted).",
)


def _positive(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be a number > 0, got {value}", param_hint=name)


def _dashboard_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options of ``monitor`` and ``replay``, passed on to :func:`_run_dashboard` by name."""
    options = [
        click.option(
            "--chunk-size",
            type=click.IntRange(min=1),
            default=None,
            help="Samples per chunk (default ~10 ms).",
        ),
        click.option(
            "--window",
            type=float,
            default=None,
            help="Seconds of signal the trace and the rolling statistics cover (default: the "
            "trace shows 3 periods of the measured frequency, statistics cover 0.1 s).",
        ),
        click.option(
            "--trigger",
            type=click.Choice(["rising", "falling", "either", "none"]),
            default="rising",
            show_default=True,
            help="Edge the trace is triggered on, so that a periodic signal stands still "
            "(none: free-running).",
        ),
        click.option(
            "--level",
            type=float,
            default=None,
            help="Trigger level in signal units (default: the middle of the signal's range).",
        ),
        click.option(
            "--rate",
            type=float,
            default=10.0,
            show_default=True,
            help="Display updates per second.",
        ),
        click.option(
            "--duration",
            type=float,
            default=None,
            help="Stop after this many seconds of signal.",
        ),
        _overflow_option,
        click.option(
            "--height",
            type=click.IntRange(min=1),
            default=4,
            show_default=True,
            help="Rows of the trace.",
        ),
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
    window: float | None,
    trigger: str,
    level: float | None,
    rate: float,
    duration: float | None,
    overflow: str | None,
    height: int,
    as_json: bool,
    pace: float | None = 1.0,
    total: float | None = None,
) -> None:
    from .dashboard import LiveView, render, snapshot

    _positive("--rate", rate)
    _positive("--duration", duration)
    _positive("--window", window)
    if level is not None and not math.isfinite(level):
        raise click.BadParameter(f"must be a finite number, got {level}", param_hint="--level")
    view = LiveView(window=window, slope=None if trigger == "none" else trigger, level=level)
    stream = _stream_for(
        source,
        chunk_size=chunk_size,
        overflow=overflow,
        window=window if window is not None else DEFAULT_STATS_WINDOW,
        analyzers=[view],
    )
    max_samples, wall = _signal_limit(source, duration, None, pace)
    period = 1.0 / rate
    interrupted = threading.Event()
    finished = threading.Event()
    t0 = time.monotonic()
    failure: list[BaseException] = []
    console: Any = None
    live: Any = None
    if not as_json:
        from rich.console import Console
        from rich.live import Live

        console = Console()
        live = Live(console=console, auto_refresh=False, transient=False)

    def show(error: BaseException | None = None) -> bool:
        snap = snapshot(stream, view, t0=t0, error=error, total=total)
        if as_json:
            click.echo(json.dumps(snap.to_dict()))
        else:
            live.update(render(snap, width=console.width, height=height), refresh=True)
        return view.result is not None

    def display() -> None:
        shown = False
        try:
            while not finished.is_set():
                if interrupted.is_set():
                    stream.stop()
                if show() and not shown:
                    shown = True
                    view.enable_spectrum()  # after the first frame: scipy takes a while
                finished.wait(period)
        except BaseException as exc:  # handed to the main thread, which raises it
            failure.append(exc)
            stream.stop()

    thread = threading.Thread(target=display, name="livetrace-display", daemon=True)
    error: BaseException | None = None
    with _on_interrupt(interrupted), _quiet_terminal() if live else contextlib.nullcontext():
        if live is not None:
            live.start()
        try:
            with stream:
                thread.start()
                try:
                    stream.run(max_samples=max_samples, duration=wall)
                except Exception as exc:
                    error = exc
                finally:
                    finished.set()
                    thread.join()
            if not failure:
                show(error)
        finally:
            if live is not None:
                live.stop()
    if failure:
        raise failure[0]
    if error is not None:
        raise error


# ---------------------------------------------------------------------------------- monitor
@cli.command(context_settings=_CONTEXT)
@click.argument("uri")
@_dashboard_options
def monitor(uri: str, **dashboard: Any) -> None:
    """Watch a live source: triggered trace, statistics, frequency, spectrum peak, health.

    URI names the source (see `livetrace sources` and `livetrace devices`). Ctrl-C stops.

    \b
    Examples:
      livetrace monitor sim:sine
      livetrace monitor 'sim:square?frequency=50&channels=2' --window 0.04
      livetrace monitor sim:sine --trigger falling --level 0.5
      livetrace monitor 'tcp://127.0.0.1:9000?dtype=int16&sample_rate=1e6' --json
    """
    _run_dashboard(_open(uri), **dashboard)


# ---------------------------------------------------------------------------------- scope
def _scope_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--host``, ``--port`` and ``--no-browser``, for ``scope`` and ``replay --scope``."""
    options = [
        click.option(
            "--host",
            default="127.0.0.1",
            show_default=True,
            help="Address to serve the page on; any other than this machine's is reachable "
            "from the network (a warning is printed).",
        ),
        click.option("--port", type=int, default=8050, show_default=True, help="0: any free."),
        click.option("--no-browser", is_flag=True, help="Do not open the page in a browser."),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def _run_scope(
    source: RealtimeSource,
    *,
    host: str,
    port: int,
    no_browser: bool,
    chunk_size: int | None,
    overflow: str | None,
    duration: float | None,
    **_dashboard: Any,
) -> None:
    """Serve the web scope of ``source`` until Ctrl-C or ``duration``; the page stays up after
    a finite source ends, showing its last picture, until Ctrl-C."""
    import warnings
    import webbrowser

    from ..web import Scope

    if duration is not None and not duration > 0:
        raise click.BadParameter(f"must be > 0, got {duration}", param_hint="--duration")
    stream = _stream_for(source, chunk_size=chunk_size, overflow=overflow)
    # this process serves pages: hand the interpreter lock over sooner than the default 5 ms,
    # so the server thread is not kept waiting behind the acquisition and consumer threads
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
    scope = Scope(host=host, port=port, health=stream.health)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            scope.start()
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise OSError(
                exc.errno, f"cannot serve the scope on {host}:{port}: {why} (try --port)"
            ) from exc
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    failure: list[BaseException] = []

    def consume() -> None:
        try:
            stream.run()
        except BaseException as exc:  # reported by the main thread below
            failure.append(exc)

    stop = threading.Event()
    try:
        stream.add_sink(scope)
        what = source.info.description if source.info is not None else ""
        click.echo(f"scope of {what or type(source).__name__} at {scope.url} (Ctrl-C stops)")
        if not no_browser:
            webbrowser.open(scope.url)
        thread = threading.Thread(target=consume, name="livetrace-cli-consumer", daemon=True)
        with _on_interrupt(stop):
            thread.start()
            deadline = None if duration is None else time.monotonic() + duration
            while not stop.wait(0.1) and not failure:
                if deadline is not None and time.monotonic() >= deadline:
                    break
            stream.stop()
            thread.join()
    finally:
        scope.stop()
    if failure:
        raise failure[0]


@cli.command("scope", context_settings=_CONTEXT)
@click.argument("uri")
@_scope_options
@click.option("--chunk-size", type=int, default=None, help="Samples per chunk (default ~10 ms).")
@click.option(
    "--duration", type=float, default=None, help="Stop after this many seconds (wall clock)."
)
@_overflow_option
def scope_command(uri: str, **options: Any) -> None:
    """Live oscilloscope in the browser: time view with trigger, spectrum, measurements.

    Serves http://HOST:PORT/ (127.0.0.1:8050 by default) and opens it. Ctrl-C stops.

    \b
    Examples:
      livetrace scope sim:sine
      livetrace scope 'sim:square?frequency=50&channels=2' --port 8060 --no-browser
    """
    _run_scope(_open(uri), **options)


# ---------------------------------------------------------------------------------- plot
@cli.command(context_settings=_CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default=None, help="PNG or SVG file (default FILE.png).")
@click.option("--start", type=float, default=None, help="Seconds from the first sample.")
@click.option("--duration", type=float, default=None, help="Seconds to draw (default: to the end).")
@click.option("--spectrum", is_flag=True, help="Add the Welch spectrum below.")
@click.option("--channels", default=None, help="Comma-separated channel names or indices.")
@click.option("--width", type=int, default=1600, show_default=True, help="Pixels.")
@click.option("--height", type=int, default=None, help="Pixels (default 260 per panel + 120).")
def plot(
    file: str,
    output: str | None,
    start: float | None,
    duration: float | None,
    spectrum: bool,
    channels: str | None,
    width: int,
    height: int | None,
) -> None:
    """Draw a recording to a PNG or SVG: min/max envelope, gaps shown, optional spectrum.

    \b
    Examples:
      livetrace plot capture.h5
      livetrace plot capture.h5 -o zoom.svg --start 1.5 --duration 0.01 --spectrum
    """

    from ..sinks import RecordingReader

    out = Path(output) if output else Path(file).with_suffix(".png")
    chans = None if channels is None else [c.strip() for c in channels.split(",") if c.strip()]
    with RecordingReader(file) as reader:
        fig = reader.plot(
            start=start,
            duration=duration,
            channels=chans,
            spectrum=spectrum,
            width=width,
            height=height,
        )
        fig.savefig(out)
    click.echo(f"wrote {out}")


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
@click.option("--scope", "web_scope", is_flag=True, help="Show it in the web scope instead.")
@_scope_options
@_dashboard_options
def replay(
    file: str,
    speed: float,
    loop: bool,
    web_scope: bool,
    host: str,
    port: int,
    no_browser: bool,
    **dashboard: Any,
) -> None:
    """Replay a recording as if it were live, on the same dashboard as `monitor`.

    Gaps in the recording are replayed as gaps (same positions, same duration at --speed 1).
    The status line shows the position in the recording.

    \b
    Examples:
      livetrace replay capture.h5
      livetrace replay capture.h5 --speed 0 --json | tail -n 1
      livetrace replay capture.h5 --scope
    """
    from ..sinks import RecordingReader, RecordingSource

    if speed < 0 or not math.isfinite(speed):
        raise click.BadParameter(f"must be a finite number >= 0, got {speed}", param_hint="--speed")
    _check_recording(file, "replay")
    with _user_input():
        with RecordingReader(file) as rec:
            total = rec.end_index / rec.info.sample_rate
        source = RecordingSource(
            file, speed=speed or None, loop=loop, chunk_size=dashboard["chunk_size"]
        )
    try:
        if web_scope:
            _run_scope(source, host=host, port=port, no_browser=no_browser, **dashboard)
        else:
            _run_dashboard(source, pace=speed or None, total=None if loop else total, **dashboard)
    finally:
        source.close()


# ---------------------------------------------------------------------------------- record
_PY_TO_FLAG = {
    "flush_interval": "--flush-interval",
    "dtype": "--dtype",
    "compression": "--compression",
    "scale": "--scale",
}


def _flags(text: str) -> str:
    """A Recorder's message with its parameter names spelled as ``record``'s options."""
    return re.sub(r"^(flush_interval|dtype|compression|scale)\b", lambda m: _PY_TO_FLAG[m[1]], text)


@cli.command(context_settings=_CONTEXT)
@click.argument("uri")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Recording file (.h5 or .hdf5).",
)
@click.option(
    "--duration",
    type=float,
    default=None,
    help="Stop after this many seconds of signal (exactly duration x rate samples).",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after exactly this many samples.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=None,
    help="Samples per chunk (default ~10 ms).",
)
@click.option(
    "--buffer-size", type=click.IntRange(min=1), default=None, help="Buffer capacity in samples."
)
@_overflow_option
@click.option(
    "--flush-interval",
    type=float,
    default=1.0,
    show_default=True,
    help="Seconds between flushes (at most this much is lost in a crash).",
)
@click.option(
    "--compression",
    type=click.Choice(["gzip", "lzf"]),
    default=None,
    help="Compress the samples in the file: gzip (smaller, slower) or lzf (fast); "
    "default: none (fastest, readable everywhere).",
)
@click.option("--dtype", default=None, help="Store samples as this dtype (default: as delivered).")
@click.option(
    "--scale",
    type=float,
    default=None,
    help="With an integer --dtype: the value of one stored count (e.g. 3.0517578125e-05 = "
    "1/32768 for a +-1 signal in int16); values outside the dtype are clipped and counted.",
)
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
    scale: float | None,
    quiet: bool,
) -> None:
    """Record a source to an HDF5 file (crash-safe, gaps kept), with a progress bar.

    Runs until --duration seconds of signal or --samples were recorded, the source ended, or
    Ctrl-C; the file is complete in every case. Ends with a one-line summary. Recording
    nothing is an error (exit code 1). To get a WAV, .npy or CSV file, export the recording.

    \b
    Examples:
      livetrace record sim:sine -o sine.h5 --duration 5
      livetrace record 'sim:noise?realtime=0' -o noise.h5 --samples 1000000
      livetrace record 'udp://127.0.0.1:9001?dtype=float32&sample_rate=1e6' -o rx.h5
      livetrace export sine.h5 -o sine.wav
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..sinks import Recorder
    from .dashboard import format_rate

    if duration is not None and samples is not None:
        raise click.UsageError("give --duration or --samples, not both")
    _positive("--duration", duration)
    suffix = Path(output).suffix.lower()
    if suffix not in RECORDING_SUFFIXES:
        stem = str(Path(output).with_suffix(".h5"))
        raise InputError(
            f"livetrace records HDF5 files: name the output .h5 or .hdf5, not '{output}'; "
            f"for a {suffix or 'suffix-less'} file, record to '{stem}', then "
            f"'livetrace export {stem} -o {output}' (.wav, .npy or .csv)"
        )
    try:
        recorder = Recorder(
            output,
            overwrite=overwrite,
            flush_interval=flush_interval,
            compression=compression,
            dtype=dtype,
            scale=scale,
        )
    except ConfigurationError as exc:
        raise InputError(_flags(str(exc))) from exc
    except FileExistsError as exc:
        raise InputError(f"'{output}' already exists; add --overwrite to replace it") from exc
    source = _open(uri)
    max_samples, wall = _signal_limit(source, duration, samples, 1.0)
    err_console = Console(stderr=True)
    columns: list[Any] = [TextColumn("[bold]recording")]
    if max_samples is not None:
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
    task = progress.add_task("record", total=max_samples, samples=0, rate="", dropped=0)
    last = [0.0]

    def show_progress(chunk: WaveformTrace) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.1:
            last[0] = now
            h = stream.health()
            progress.update(
                task,
                completed=h.samples_out,
                samples=h.samples_out,
                rate=format_rate(h.input_rate),
                dropped=h.dropped,
            )

    stream = _stream_for(
        source,
        chunk_size=chunk_size,
        overflow=overflow,
        buffer_size=buffer_size,
        sinks=[recorder],
        on_chunk=None if progress.disable else show_progress,
    )
    info = stream.info
    interrupted = threading.Event()
    t0 = time.monotonic()
    with _on_interrupt(interrupted), progress:
        try:
            stream.start()
        except SinkError as exc:
            cause = exc.__cause__
            if isinstance(cause, FileExistsError):
                raise InputError(
                    f"'{output}' already exists; add --overwrite to replace it"
                ) from exc
            if isinstance(cause, OSError):
                raise InputError(_os_message(cause)) from exc
            if isinstance(cause, ConfigurationError):  # e.g. --dtype int16 without --scale
                raise InputError(str(cause)) from exc
            raise
        with stream, _stop_when(interrupted, stream):
            n = stream.run(max_samples=max_samples, duration=wall)
    elapsed = time.monotonic() - t0
    h = stream.health()
    if n == 0:
        ended = "nothing recorded"
    elif interrupted.is_set():
        ended = "interrupted"
    elif max_samples is not None and n < max_samples and h.state != "finished":
        ended = f"stopped: the source delivered {n} of {max_samples} samples in {elapsed:.2f} s"
    else:
        ended = "done"
    click.echo(
        f"recorded {n} samples ({n / info.sample_rate:.6g} s of signal, {info.n_channels} "
        f"channel(s), {recorder.dtype}) to '{output}' in {elapsed:.2f} s: "
        f"{format_rate(n / elapsed if elapsed > 0 else 0.0)}, {h.dropped} dropped, "
        f"{recorder.gaps} gap(s)"
        + (f", {recorder.clipped} value(s) clipped to {recorder.dtype}" if recorder.clipped else "")
        + f" [{ended}]"
    )
    if n == 0:
        raise click.ClickException(
            f"nothing was recorded: the source delivered no samples ('{output}' is empty)"
        )


# ---------------------------------------------------------------------------------- info
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _looks_like(path: Path) -> str | None:
    """What a file that is not HDF5 looks like (None: it is HDF5, or unreadable here)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2048)
            for offset in (0, 512, 1024, 2048):  # HDF5 allows a user block before it
                if offset:
                    fh.seek(offset)
                    block = fh.read(8)
                else:
                    block = head[:8]
                if block == _HDF5_SIGNATURE:
                    return None
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "a WAV file"
    if head[:6] == b"\x93NUMPY":
        return "a NumPy .npy file"
    if not head:
        return "an empty file"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "a binary file of another format"
    return "a text file"


def _check_recording(file: str, command: str) -> None:
    """:class:`InputError` when ``file`` is plainly not an HDF5 recording."""
    path = Path(file)
    if not path.exists():
        raise InputError(f"no such recording: '{file}'")
    kind = _looks_like(path) if path.is_file() else None
    if kind is not None:
        raise InputError(
            f"'{file}' is not a livetrace recording: it looks like {kind}, and `livetrace "
            f"{command}` reads the HDF5 files `livetrace record` writes; to watch this file's "
            f"samples: livetrace monitor 'file:{file}'"
        )


@cli.command(context_settings=_CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
@click.option(
    "--max-gaps", type=click.IntRange(min=0), default=20, show_default=True, help="Gaps to list."
)
@click.option(
    "--no-stats", is_flag=True, help="Skip the statistics (they read every sample of the file)."
)
def info(file: str, as_json: bool, max_gaps: int, no_stats: bool) -> None:
    """Describe a recording: metadata, duration, gaps, and per channel min/max/rms/mean.

    \b
    Examples:
      livetrace info capture.h5
      livetrace info capture.h5 --json
    """
    from ..sinks import RecordingReader, RecordingSource

    _check_recording(file, "info")
    with _user_input(), RecordingReader(file) as rec:
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
            "measured_rate": rec.measured_rate,
            "drift_ppm": (
                None
                if rec.measured_rate is None
                else (rec.measured_rate / i.sample_rate - 1.0) * 1e6
            ),
            "gaps": [g._asdict() for g in gaps],
            "attrs": {k: _jsonable(v) for k, v in rec.attrs.items()},
        }
    stats: dict[str, dict[str, float | None]] | None = None
    if not no_stats and rec.n_samples:
        # the library's statistics over every stored sample: a stream from the file, run
        with RealtimeStream.from_source(RecordingSource(file, speed=None)) as stream:
            stream.run()
            s = stream.get_cumulative_statistics()
        stats = {}
        for c, name in enumerate(i.channel_names):
            stats[name] = {k: _float(s[k], c, i.n_channels) for k in ("min", "max", "rms", "mean")}
    desc["statistics"] = stats
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
        f"sample rate:  {i.sample_rate:g} Hz"
        + (
            ""
            if desc["measured_rate"] is None
            else f" (measured {desc['measured_rate']:.6f} Hz, drift {desc['drift_ppm']:+.1f} ppm)"
        ),
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
    if stats is not None:
        from .dashboard import format_number

        for n, (name, st) in enumerate(stats.items()):
            label = "statistics:" if n == 0 else ""
            lines.append(
                f"{label:<14}{name}: " + "  ".join(f"{k} {format_number(v)}" for k, v in st.items())
            )
    lines.extend(f"attr {k}:  {v}" for k, v in desc["attrs"].items())
    click.echo("\n".join(_printable(line) for line in lines))


def _printable(text: str) -> str:
    """``text`` with control characters (terminal escape sequences from a file) escaped."""
    return "".join(
        c if c == "\t" or (c.isprintable() and not 0x7F <= ord(c) <= 0x9F) else repr(c)[1:-1]
        for c in text
    )


def _float(value: Any, channel: int, n_channels: int) -> float | None:
    import numpy as np

    arr = np.atleast_1d(np.asarray(value))
    v = arr[channel] if arr.size == n_channels else arr[0]
    f = float(abs(v)) if np.iscomplexobj(v) else float(v)
    return f if math.isfinite(f) else None


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
    from ..sinks import export_recording

    fmt = fmt or EXPORT_SUFFIXES.get(Path(output).suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot tell the format of '{output}' from its name: use a .wav, .npy or .csv "
            "file name, or --format wav|npy|csv"
        )
    _check_recording(file, "export")
    if os.path.exists(output) and not overwrite:
        raise InputError(f"'{output}' already exists; add --overwrite to replace it")
    with _user_input():
        n = export_recording(
            file,
            output,
            format=fmt,
            wav_dtype="int16" if int16 else "float32",
            overwrite=overwrite,
        )
    click.echo(f"exported {n} samples from '{file}' to '{output}'")


# ---------------------------------------------------------------------------------- sources
@cli.command(context_settings=_CONTEXT)
def sources() -> None:
    """List the source URI schemes, each with its parameters and an example.

    \b
    Example:
      livetrace sources
    """
    import textwrap

    from ..sources._uri import SCHEMES, _plugin_schemes, scheme_parameters

    rows = [
        (name, s.example, s.description, ", ".join(scheme_parameters(name)))
        for name, s in sorted(SCHEMES.items())
    ]
    for name, ep in sorted(_plugin_schemes().items()):
        if name not in SCHEMES:
            rows.append((name, f"{name}:...", f"plug-in ({ep.value})", "see the plug-in"))
    width = max(len(r[0]) for r in rows)
    pad = " " * (width + 4)
    for name, example, description, params in rows:
        click.echo(f"{name:<{width}}  {description}")
        click.echo(
            textwrap.fill(f"parameters: {params}", 96, initial_indent=pad, subsequent_indent=pad)
        )
        click.echo(f"{pad}e.g. livetrace monitor '{example}'")


# ---------------------------------------------------------------------------------- devices
def _audio_devices() -> tuple[list[tuple[str, str]], str | None]:
    """``([(uri, description)], note)`` of the sound cards' inputs, via PortAudio."""
    from .._errors import MissingExtraError, require

    try:
        sd: Any = require("sounddevice", "audio")
        devices = sd.query_devices()
    except MissingExtraError as exc:
        return [], str(exc)
    except OSError as exc:  # PortAudio's library itself is missing
        return [], f"PortAudio is not available: {exc}"
    rows = []
    for index, dev in enumerate(devices):
        channels = int(dev["max_input_channels"])
        if channels < 1:
            continue
        rate = round(float(dev["default_samplerate"]))
        uri = f"audio:{index}?sample_rate={rate}&channels={min(channels, 2)}"
        rows.append((uri, f"{dev['name']} ({channels} input channel(s), {rate} Hz)"))
    return rows, None


def _serial_ports() -> tuple[list[tuple[str, str]], str | None]:
    """``([(uri, description)], note)`` of the serial ports, via pyserial."""
    from .._errors import MissingExtraError, require

    try:
        require("serial", "serial")
        list_ports: Any = importlib.import_module("serial.tools.list_ports")
    except MissingExtraError as exc:
        return [], str(exc)
    rows = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        described = port.description if port.description not in (None, "", "n/a") else ""
        extra = f" [{port.hwid}]" if port.hwid not in (None, "", "n/a") else ""
        uri = f"serial://{port.device}?baudrate=115200&format=text&sample_rate=1000"
        rows.append((uri, f"{described}{extra}".strip() or port.device))
    return rows, None


@cli.command(context_settings=_CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def devices(as_json: bool) -> None:
    """List the audio inputs (PortAudio) and serial ports, each with the URI that opens it.

    Serial URIs are shown with typical settings (115200 baud, text lines, 1 kHz): adjust
    baudrate, format and sample_rate to the device.

    \b
    Examples:
      livetrace devices
      livetrace devices --json
    """
    found = {"audio": _audio_devices(), "serial": _serial_ports()}
    if as_json:
        click.echo(
            json.dumps(
                {
                    kind: [{"uri": uri, "description": d} for uri, d in rows]
                    for kind, (rows, _) in found.items()
                }
                | {"notes": [note for _, note in found.values() if note]}
            )
        )
        return
    titles = {"audio": "audio inputs (PortAudio)", "serial": "serial ports (pyserial)"}
    for kind, (rows, note) in found.items():
        click.echo(f"{titles[kind]}:")
        if note:
            click.echo(f"  none listed: {note}")
        elif not rows:
            click.echo("  none found")
        for uri, description in rows:
            click.echo(f"  {description}")
            click.echo(f"    livetrace monitor '{uri}'")


# ---------------------------------------------------------------------------------- bench
_NO_BENCHMARKS = (
    "the benchmarks are not part of the installed package: they are the scripts in the "
    "benchmarks/ folder of livetrace's source repository. Run `livetrace bench` from a "
    "checkout of it (with livetrace installed from that checkout), or run a script directly: "
    "python benchmarks/bench_core.py --quick"
)


def _benchmarks_dir() -> Path | None:
    """``benchmarks/`` of the checkout this livetrace was imported from (src layout), if any."""
    from .._version import __file__ as package_init

    root = Path(package_init).resolve().parents[2]  # <root>/src/livetrace/_version.py
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


# ---------------------------------------------------------------------------------- publish
@cli.command(context_settings=_CONTEXT)
@click.argument("uri")
@click.option(
    "--to",
    "targets",
    multiple=True,
    required=True,
    help="redis[s]://[:pw@]host:port/KEY or shm://NAME; repeat to publish to several.",
)
@click.option("--maxlen-seconds", type=float, default=None, help="Redis retention in seconds.")
@click.option("--maxlen-samples", type=int, default=None, help="Redis retention in samples.")
@click.option(
    "--capacity-seconds", type=float, default=2.0, show_default=True, help="Shared-memory ring."
)
@click.option("--record", "record_to", default=None, help="Also record to this HDF5 file.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--chunk-size", type=int, default=None, help="Samples per chunk (default ~10 ms).")
def publish(
    uri: str,
    targets: tuple[str, ...],
    maxlen_seconds: float | None,
    maxlen_samples: int | None,
    capacity_seconds: float,
    record_to: str | None,
    duration: float | None,
    chunk_size: int | None,
) -> None:
    """Acquire a source once and publish it to Redis streams and shared memory.

    Every other command reads what is published with a redis:// or shm:// source URI.
    Runs until the source ends, --duration passed, or Ctrl-C.

    \b
    Examples:
      livetrace publish sim:sine --to redis://127.0.0.1:6379/scope1 --maxlen-seconds 60
      livetrace publish sim:sine --to shm://scope1 --to redis://db:6379/scope1
      livetrace monitor redis://127.0.0.1:6379/scope1
    """
    from ..sources._uri import open_source

    sinks: list[Any] = []
    for target in targets:
        scheme = target.partition(":")[0].lower()
        if scheme in ("redis", "rediss"):
            from ..transport._redis import RedisPublisher

            sinks.append(
                RedisPublisher(target, maxlen_seconds=maxlen_seconds, maxlen_samples=maxlen_samples)
            )
        elif scheme == "shm":
            from ..transport._shm import ShmPublisher

            name = target.partition(":")[2].lstrip("/")
            sinks.append(ShmPublisher(name, capacity_seconds=capacity_seconds))
        else:
            raise click.BadParameter(
                f"expected redis://, rediss:// or shm://, got {target!r}", param_hint="--to"
            )
    if record_to is not None:
        from ..recording import Recorder

        sinks.append(Recorder(record_to))
    source = open_source(uri)
    stream = _stream_for(source, chunk_size=chunk_size, overflow=None)
    for sink in sinks:
        stream.add_sink(sink)
    stop = threading.Event()
    with _on_interrupt(stop), stream:

        def stop_on_signal() -> None:
            stop.wait()
            stream.stop()

        watcher = threading.Thread(
            target=stop_on_signal, name="livetrace-publish-stop", daemon=True
        )
        watcher.start()
        click.echo(f"publishing {uri} to {', '.join(targets)}", err=True)
        n = stream.run(duration=duration)
        stop.set()
        watcher.join()
    click.echo(f"published {n} samples", err=True)
