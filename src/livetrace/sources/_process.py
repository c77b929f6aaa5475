"""ProcessSource: run an acquisition program and stream its stdout (raw samples or text lines)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import shlex
import signal
import subprocess
import threading
import urllib.parse
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from numpy.typing import NDArray

from .._errors import ConfigurationError, EndOfStream, SourceError, SourceUnavailableError
from .._pacing import Pacer, default_chunk
from .._protocols import RealtimeSource, SourceInfo
from ._checks import check_speed
from ._raw import RawDecoder
from ._text import SigrokAnalogParser, TextParser
from ._uri import ParsedURI, to_bool, to_int, to_speed

_STDERR_TAIL = 1 << 16  # bytes of an unterminated stderr line kept
_MESSAGE_LINES = 5  # stderr lines quoted in an error message
_LINE_CHARS = 300  # characters of each quoted line

__all__ = ["PROCESS_FORMATS", "ProcessSource", "SigrokAnalogParser"]

PROCESS_FORMATS: tuple[str, ...] = ("raw", "text", "sigrok")

_POLL = 0.05  # seconds: how often blocked threads look at the stop flag
_EOF = b""  # queue sentinel: stdout closed


class ProcessSource(RealtimeSource):
    """Runs ``argv`` and streams the samples it writes to stdout.

    ``format``:

    - ``"raw"``: interleaved binary samples of ``dtype`` (default float32; ``byteorder``),
      ``channels`` per frame, decoded by :class:`~livetrace.sources._raw.RawDecoder` (a frame
      split across two reads is carried over, never misaligned);
    - ``"text"``: lines of numbers (one column per channel: ``"512,498"``, tabs or spaces),
      parsed by :class:`~livetrace.sources._text.TextParser` into ``dtype`` (default
      float64); other lines (headers,
      comments) are skipped and counted in ``health()["malformed_lines"]``;
    - ``"sigrok"``: the ``sigrok-cli -O analog`` format (``"A0: 3.0902 V DC"``), values scaled
      to base units, channels re-assembled by name (:class:`SigrokAnalogParser`; pass
      ``channel_names`` to fix their order). Debian's sigrok-cli 0.7.2 exits with status 1
      after a complete analog capture (a glib ``g_atomic_ref_count_dec`` assertion at
      shutdown), so pass ``ok_status=(0, 1)`` with it; its ``-O csv`` output is not an
      alternative (it keeps only the first packet of 1020 samples).

    Threads: ``start()`` launches the program (in its own process group, stdin from
    ``/dev/null``; ``env`` entries are added to the inherited environment) and two reader
    threads: one moves stdout into a bounded queue (when it is full the reader waits, so a
    fast program is slowed by the pipe rather than losing data), one keeps the last
    ``stderr_lines`` lines of stderr. ``acquire()`` (any thread) waits on that queue, waking
    every 50 ms to look at the stop flag.

    End: when stdout closes and the program exits with status 0 (or one of ``ok_status``),
    ``acquire()`` raises
    :class:`~livetrace.EndOfStream` after the last sample, and again on every later call. A
    non-zero status (or death by a signal) raises :class:`~livetrace.SourceError` naming the
    command, the status and the last lines of stderr; so does an incomplete raw frame at the
    end (the byte count is not a multiple of ``itemsize * channels``). A program that cannot
    be started raises :class:`~livetrace.SourceUnavailableError`.

    ``stop()`` terminates the program's process group (SIGTERM, then SIGKILL after ``grace``
    seconds), reaps it and joins both threads; output not yet delivered is discarded.
    ``start()`` after ``stop()`` runs the program again from the beginning (the stream keeps
    numbering samples after the previous ones). ``acquire()`` before any ``start()`` starts
    the program.

    Example:
        >>> from livetrace.sources import ProcessSource
        >>> src = ProcessSource(["printf", "1,2\\\\n3,4\\\\n"], format="text", channels=2,
        ...                     sample_rate=10)
        >>> src.acquire()
        array([[1., 2.],
               [3., 4.]])
        >>> src.stop()
    """

    def __init__(
        self,
        argv: Sequence[str] | str,
        *,
        format: str = "raw",  # the natural name for an output format
        dtype: Any = None,
        channels: int = 1,
        sample_rate: float,
        byteorder: str = "little",
        chunk_bytes: int = 65536,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        delimiters: str | None = None,
        channel_names: Sequence[str] | None = None,
        units: Sequence[str] | None = None,
        scale: float | None = None,
        offset: float | None = None,
        stderr_lines: int = 20,
        grace: float = 0.2,
        queue_size: int = 64,
        ok_status: Sequence[int] = (0,),
        speed: float | None = None,
    ) -> None:
        args = shlex.split(argv) if isinstance(argv, str) else [str(a) for a in argv]
        if not args:
            raise ConfigurationError(f"ProcessSource: empty command line {argv!r}")
        if format not in PROCESS_FORMATS:
            raise ConfigurationError(
                f"ProcessSource: format must be one of {', '.join(PROCESS_FORMATS)}, got {format!r}"
            )
        if not sample_rate > 0:
            raise ConfigurationError(
                f"ProcessSource: sample_rate must be positive, got {sample_rate!r}"
            )
        if channels < 1:
            raise ConfigurationError(f"ProcessSource: channels must be >= 1, got {channels!r}")
        if chunk_bytes < 1 or stderr_lines < 1 or queue_size < 1:
            raise ConfigurationError(
                "ProcessSource: chunk_bytes, stderr_lines and queue_size must be >= 1, got "
                f"{chunk_bytes!r}, {stderr_lines!r}, {queue_size!r}"
            )
        if grace < 0:
            raise ConfigurationError(f"ProcessSource: grace must be >= 0 seconds, got {grace!r}")
        self.argv = args
        self.format = format
        self.n_channels = int(channels)
        self.sample_rate = float(sample_rate)
        self.chunk_bytes = int(chunk_bytes)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.grace = float(grace)
        self.ok_status = frozenset(int(x) for x in ok_status)
        self.speed = check_speed("ProcessSource", speed)
        self._pacer: Pacer | None = None
        self._held: NDArray[Any] | None = None  # decoded, not yet due (paced)
        self._paced_out = 0  # samples delivered since start (the pacer's position)
        self._queue_size = int(queue_size)
        self._stderr_lines = int(stderr_lines)
        self._decoder: RawDecoder | TextParser | SigrokAnalogParser
        if dtype is None:
            dtype = "float32" if format == "raw" else "float64"
        try:
            if format == "raw":
                self._decoder = RawDecoder(dtype, self.n_channels, byteorder)
                out_dtype = self._decoder.dtype.newbyteorder("=")
            elif format == "text":
                self._decoder = TextParser(self.n_channels, dtype, delimiters)
                out_dtype = self._decoder.dtype
            else:
                names = tuple(channel_names or ())
                self._decoder = SigrokAnalogParser(self.n_channels, dtype, names)
                out_dtype = self._decoder.dtype
        except ConfigurationError as exc:
            raise ConfigurationError(f"ProcessSource ({shlex.join(args)}): {exc}") from exc
        self._info = SourceInfo(
            sample_rate=self.sample_rate,
            dtype=out_dtype.name,
            n_channels=self.n_channels,
            channel_names=tuple(channel_names or ()),
            units=tuple(units or ()),
            finite=True,
            backpressure=True,  # a full pipe makes the program wait
            description=f"exec:{shlex.join(args)}?format={format}&dtype={out_dtype.name}"
            f"&channels={self.n_channels}&sample_rate={self.sample_rate:g}"
            + ("" if speed is None else f"&speed={speed:g}"),
            scale=scale,
            offset=offset,
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._queue: queue.Queue[bytes] = queue.Queue(self._queue_size)
        self._threads: list[threading.Thread] = []
        self._stderr: deque[bytes] = deque(maxlen=self._stderr_lines)
        self._state = "idle"  # idle | running | stopped | ended | failed
        self._failure: SourceError | None = None
        self._pipe_error: OSError | None = None
        self.runs = 0
        self.bytes_read = 0
        self.returncode: int | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def info(self) -> SourceInfo:
        return self._calibrated(self._info)

    @property
    def pid(self) -> int | None:
        """Process id of the running program (None before start and after it was reaped)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    def start(self) -> None:
        """Launch the program (again after ``stop()``; no-op while running)."""
        with self._lock:
            if self._state == "running":
                return
            self._stop.clear()
            if self.speed is not None:
                self._pacer = Pacer(self.sample_rate * self.speed, self._stop)
            self._held = None
            self._paced_out = 0
            self._queue = queue.Queue(self._queue_size)
            self._stderr = deque(maxlen=self._stderr_lines)
            self._decoder.reset()
            self._failure = None
            self._pipe_error = None
            self.returncode = None
            env = None if self.env is None else {**os.environ, **self.env}
            try:
                proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    cwd=self.cwd,
                    start_new_session=True,  # own process group: stop() ends its children too
                )
            except OSError as exc:
                failure = SourceUnavailableError(
                    f"exec: cannot run {self.argv[0]!r} ({shlex.join(self.argv)}): {exc}"
                )
                self._state = "failed"
                self._failure = failure  # acquire() raises it too, not wait for nothing
                raise failure from exc
            self._proc = proc
            self.runs += 1
            assert proc.stdout is not None and proc.stderr is not None
            out = threading.Thread(
                target=self._read_stdout,
                args=(proc.stdout.fileno(), self._queue),
                name=f"livetrace-exec-stdout-{proc.pid}",
                daemon=True,
            )
            err = threading.Thread(
                target=self._read_stderr,
                args=(proc.stderr.fileno(), self._stderr),
                name=f"livetrace-exec-stderr-{proc.pid}",
                daemon=True,
            )
            self._threads = [out, err]
            out.start()
            err.start()
            self._state = "running"

    def stop(self) -> None:
        """Terminate and reap the program, join the reader threads (prompt: see ``grace``)."""
        with self._lock:
            self._stop.set()
            if self._state == "running":
                self._state = "stopped"
            self._terminate()
            self._join_threads()
            self._close_pipes()

    def _terminate(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        for sig, wait in ((signal.SIGTERM, self.grace), (signal.SIGKILL, None)):
            # ProcessLookupError: the group is gone already; wait() below reaps the leader
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.returncode = proc.returncode

    def _join_threads(self) -> None:
        for t in self._threads:
            t.join()  # both loops look at the stop flag every 50 ms
        self._threads = []

    def _close_pipes(self) -> None:
        proc = self._proc
        if proc is None:
            return
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()

    def close(self) -> None:
        """Same as :meth:`stop`."""
        self.stop()

    # -- reader threads ----------------------------------------------------------------------
    def _pieces(self, fd: int, size: int) -> Iterator[bytes]:
        """What the program writes to ``fd``, piece by piece, ending with ``b""`` when the pipe
        closes; polls every 50 ms and stops early when the stop flag is set. A read error
        ends the pieces like a close and is kept for :meth:`_finish` to report."""
        stop = self._stop
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], _POLL)
            if not ready:
                continue
            try:
                data = os.read(fd, size)
            except OSError as exc:
                self._pipe_error = exc
                data = _EOF
            yield data
            if not data:
                return

    def _read_stdout(self, fd: int, q: queue.Queue[bytes]) -> None:
        stop = self._stop
        for data in self._pieces(fd, self.chunk_bytes):
            while not stop.is_set():
                try:
                    q.put(data, timeout=_POLL)
                    break
                except queue.Full:
                    continue

    def _read_stderr(self, fd: int, tail: deque[bytes]) -> None:
        """Keep the last lines of stderr, in linear time and bounded memory: ``\\r`` (progress
        bars) ends a line too, and an endless line keeps only its last 64 KiB."""
        partial = b""
        for data in self._pieces(fd, 65536):
            if not data:
                break
            lines = (partial + data).replace(b"\r", b"\n").split(b"\n")
            partial = lines.pop()[-_STDERR_TAIL:]
            tail.extend(line for line in lines[-(tail.maxlen or 1) :] if line.strip())
        if partial.strip():
            tail.append(partial)

    # -- data ------------------------------------------------------------------------------
    def acquire(self) -> NDArray[Any] | None:
        """The samples decoded from the next piece of stdout (waits for one); see the class."""
        if self._state == "idle":
            self.start()
        if self._state == "ended":
            raise EndOfStream(f"exec: {shlex.join(self.argv)} finished")
        if self._state == "failed" and self._failure is not None:
            raise self._failure
        if self._held is not None:
            return self._paced(self._held)
        while not self._stop.is_set():
            try:
                piece = self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            if piece:
                self.bytes_read += len(piece)
                out = self._decoder.feed(piece)
                if len(out):
                    return self._paced(out)
                continue
            rest = self._finish()
            return None if rest is None else self._paced(rest)
        return None

    def _paced(self, out: NDArray[Any]) -> NDArray[Any] | None:
        """With ``speed``: deliver about 10 ms at a time, each when it is due."""
        pacer = self._pacer
        if pacer is None:
            return out
        n = min(len(out), default_chunk(self.sample_rate))
        if not pacer.wait(self._paced_out, self._paced_out + n):
            self._held = out
            return None
        self._held = out[n:] if n < len(out) else None
        self._paced_out += n
        return out[:n]

    def _finish(self) -> NDArray[Any] | None:
        """stdout closed: deliver what is left, then end (status 0) or fail."""
        dec = self._decoder
        rest: NDArray[Any] | None = None
        incomplete = 0
        if isinstance(dec, RawDecoder):
            incomplete = dec.pending_bytes
        else:
            rest = dec.flush()
        proc = self._proc
        assert proc is not None
        while True:
            try:
                proc.wait(_POLL)
                break
            except subprocess.TimeoutExpired:
                if self._stop.is_set():
                    return None
        self.returncode = proc.returncode
        # stderr closes with the program unless a child of it keeps the pipe: wait a little
        # for its last lines; stop() joins the thread in any case
        for t in self._threads:
            t.join(1.0)
        with self._lock:
            if not any(t.is_alive() for t in self._threads):
                self._threads = []
                self._close_pipes()
        cmd = shlex.join(self.argv)
        if not self._exit_ok(proc.returncode):
            self._fail(f"exec: {cmd} {self._status_text(proc.returncode)}")
        elif self._pipe_error is not None:
            self._fail(f"exec: reading the output of {cmd} failed: {self._pipe_error}")
        elif incomplete:
            assert isinstance(dec, RawDecoder)
            self._fail(
                f"exec: {cmd} wrote {self.bytes_read} bytes, which is not a whole number of "
                f"{dec.frame}-byte frames ({dec.n_channels} channel(s) of {dec.dtype.name}): "
                f"{incomplete} byte(s) of an incomplete frame at the end; check dtype= and "
                "channels="
            )
        else:
            self._state = "ended"
        if rest is not None and len(rest):
            return rest
        if self._failure is not None:
            raise self._failure
        raise EndOfStream(f"exec: {cmd} finished")

    def _status_text(self, rc: int) -> str:
        if rc < 0:
            try:
                what = f"was killed by signal {signal.Signals(-rc).name}"
            except ValueError:
                what = f"was killed by signal {-rc}"
        else:
            what = f"exited with status {rc}"
        tail = self.stderr_tail[-_MESSAGE_LINES:]
        if tail:
            shown = [
                line if len(line) <= _LINE_CHARS else "..." + line[-_LINE_CHARS:] for line in tail
            ]
            return f"{what}; last lines of stderr:\n  " + "\n  ".join(shown)
        return f"{what} (stderr was empty)"

    def _exit_ok(self, status: int) -> bool:
        """Whether the program's exit status ends the stream cleanly (``ok_status``)."""
        return status in self.ok_status

    def _fail(self, message: str) -> None:
        self._state = "failed"
        self._failure = SourceError(message, final=True)  # a rerun would not be a retry

    @property
    def stderr_tail(self) -> list[str]:
        """The last lines the program wrote to stderr."""
        return [line.decode("utf-8", "replace").rstrip() for line in self._stderr]

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "runs": self.runs,
            "bytes_read": self.bytes_read,
            "returncode": self.returncode,
            "state": self._state,
        }
        dec = self._decoder
        if isinstance(dec, RawDecoder):
            out["pending_bytes"] = dec.pending_bytes
        else:
            out["lines"] = dec.lines
            out["malformed_lines"] = dec.malformed
            out["last_malformed"] = dec.last_malformed
        return out

    def __repr__(self) -> str:
        return (
            f"ProcessSource({shlex.join(self.argv)!r}, format={self.format!r}, "
            f"dtype={self._info.dtype!r}, channels={self.n_channels}, "
            f"sample_rate={self.sample_rate:g}, state={self._state!r})"
        )


_NO_NAMES: tuple[str, ...] = ()
_OK_STATUS: tuple[int, ...] = (0,)


def _names(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split(",") if x)


def _statuses(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def _argv_json(text: str) -> list[str]:
    value = json.loads(text)
    if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
        raise ValueError(f"argv must be a JSON list of strings, got {text!r}")
    return value


_SIGROK_QUIRK = "g_atomic_ref_count_dec"


class SigrokSource(ProcessSource):
    """A sigrok device through ``sigrok-cli -O analog`` (any driver sigrok supports).

    ``driver`` is sigrok's driver spec (``demo``, ``fx2lafw``, ``rigol-ds:conn=usbtmc/...``);
    ``channels`` the channel names to capture (``A0,A1``); ``samples`` a finite capture, else
    it runs until stopped (``--continuous``); ``config`` extra ``-c`` settings. Values are
    converted to base units (V, A...) as sigrok reports them.

    Debian's sigrok-cli 0.7.2 exits with status 1 after every complete capture (a glib
    ``g_atomic_ref_count_dec`` assertion at shutdown). That status ends the stream cleanly only
    when samples arrived and stderr holds nothing but that assertion; anything else (no
    samples, an error such as "Driver demo2 not found.") is a failure naming the command and
    the error.
    """

    def __init__(
        self,
        driver: str,
        *,
        sample_rate: float,
        channels: Sequence[str],
        samples: int | None = None,
        config: Sequence[str] = (),
        units: Sequence[str] | None = None,
        executable: str = "sigrok-cli",
        speed: float | None = None,
    ) -> None:
        names = [c for c in channels if c]
        if not names:
            raise ConfigurationError("sigrok: name the channels to capture, e.g. channels=A0,A1")
        argv = [executable, "-d", driver, "--channels", ",".join(names), "-O", "analog"]
        argv += ["-c", f"samplerate={int(sample_rate)}", *(x for c in config for x in ("-c", c))]
        argv += ["--samples", str(int(samples))] if samples else ["--continuous"]
        super().__init__(
            argv,
            format="sigrok",
            channels=len(names),
            sample_rate=sample_rate,
            channel_names=names,
            units=units or ("V",) * len(names),
            ok_status=(0,),
            speed=speed,
        )

    def _exit_ok(self, status: int) -> bool:
        if status == 0:
            return True
        quirk_only = all(_SIGROK_QUIRK in line for line in self.stderr_tail)
        return status == 1 and self.bytes_read > 0 and quirk_only


def sigrok_from_uri(parsed: ParsedURI) -> SigrokSource:
    """``sigrok:DRIVER?sample_rate=1000&channels=A0,A1&samples=N&config=k=v;k=v&units=V,V&speed=..``
    (``samplerate`` is accepted for ``sample_rate``, as sigrok spells it)."""
    p = parsed
    if not p.target:
        raise ConfigurationError(f"sigrok: a driver is needed, e.g. 'sigrok:demo', got {p.uri!r}")
    rate = p.take("sample_rate", float, None, aliases=("samplerate", "rate"))
    if rate is None:
        raise ConfigurationError(f"sigrok: sample_rate= is required, in {p.uri!r}")
    return SigrokSource(
        urllib.parse.unquote(p.target),
        sample_rate=rate,
        channels=p.take("channels", _names, ("A0",)),
        samples=p.take("samples", to_int, None),
        config=p.take("config", lambda t: tuple(x for x in t.split(";") if x), ()),
        units=p.take("units", _names, None),
        speed=p.take("speed", to_speed, None),
    )


def from_uri(parsed: ParsedURI) -> ProcessSource:
    """``exec:COMMAND LINE?sample_rate=48000&dtype=float32&format=raw|text|sigrok&channels=1
    &byteorder=little&chunk_bytes=65536&delimiters=..&names=A0,A1&ok_status=0,1&speed=1
    &realtime=0|1&argv=..``.

    ``speed=1`` (or ``realtime=1``) paces a program that writes a synthetic or recorded signal
    as fast as it can (``sox ... synth``) to real time, as files and the simulator are; a live
    instrument needs no pacing.

    The command line is split with :func:`shlex.split` (quotes work as in a shell, but no
    shell runs). The query starts at the *last* ``?``, and ``sample_rate`` is required, so a
    command may itself contain ``?`` (``exec:echo a?b?sample_rate=1&format=text`` runs
    ``echo a?b``). For exact control pass ``argv=`` a JSON list of strings, percent-encoded
    (``urllib.parse.quote(json.dumps(argv), safe="")``), with nothing between ``exec:`` and
    ``?``.
    """
    p = parsed
    argv_list = p.take("argv", _argv_json, None)
    speed = p.take("speed", to_speed, None)
    if p.take("realtime", to_bool, False) and speed is None:
        speed = 1.0
    command = p.target.strip()
    if argv_list is not None and command:
        raise ConfigurationError(
            f"exec: give the command either before '?' or as argv=, not both, in {p.uri!r}"
        )
    if argv_list is None and not command:
        raise ConfigurationError(
            f"exec: a command line is needed, e.g. {'exec:sox -n -t raw - synth 1 sine 1000'!r}"
            f"?sample_rate=48000, got {p.uri!r}"
        )
    rate = p.take("sample_rate", float, None, aliases=("rate", "fs"))
    if rate is None:
        raise ConfigurationError(
            f"exec: sample_rate= is required (the program's output does not say it), in {p.uri!r}"
        )
    names = p.take("names", _names, _NO_NAMES)
    ok_status = p.take("ok_status", _statuses, _OK_STATUS)
    return ProcessSource(
        argv_list if argv_list is not None else command,
        format=p.take("format", str, "raw"),
        dtype=p.take("dtype", str, "float32"),
        channels=p.take("channels", to_int, 1, aliases=("n_channels",)),
        sample_rate=rate,
        byteorder=p.take("byteorder", str, "little"),
        chunk_bytes=p.take("chunk_bytes", to_int, 65536),
        delimiters=p.take("delimiters", str, None),
        channel_names=names or None,
        ok_status=ok_status,
        speed=speed,
    )
