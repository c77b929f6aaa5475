"""ProcessSource against real child processes: sox, sigrok-cli, and small Python programs."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import threading
import time
import urllib.parse

import numpy as np
import pytest

from livetrace import (
    ConfigurationError,
    EndOfStream,
    RealtimeStream,
    SourceError,
    SourceUnavailableError,
)
from livetrace.sources import ProcessSource, open_source
from livetrace.sources._process import SigrokAnalogParser
from livetrace.testing import check_source

PY = sys.executable
SOX = shutil.which("sox")
SIGROK = shutil.which("sigrok-cli")
# sox and sigrok-cli are installed by .ci/run (apt-get install sox sigrok-cli); a missing one
# is a broken environment, not a reason to skip.


def drain(src, limit=10_000):
    out = []
    for _ in range(limit):
        try:
            got = src.acquire()
        except EndOfStream:
            return np.concatenate(out) if out else np.empty(0)
        if got is not None:
            out.append(got)
    raise AssertionError("source did not end")


def py(code: str) -> list[str]:
    return [PY, "-c", code]


def proc_state(pid: int) -> str:
    """The /proc state letter of ``pid`` ("" when there is no such process)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return ""


def gone(pid: int) -> bool:
    """True when ``pid`` is neither running nor a zombie waiting to be reaped."""
    return proc_state(pid) in ("", "X")


def dead(pid: int, timeout: float = 2.0) -> bool:
    """True once ``pid`` is not running (a zombie of someone else's counts as dead)."""
    deadline = time.monotonic() + timeout
    while proc_state(pid) not in ("", "X", "Z"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# ---------------------------------------------------------------------------------- sox
def test_sox_float32_sine_exact_count_and_shape():
    assert SOX, "sox is required (apt-get install sox)"
    cmd = "sox -n -t raw -e float -b 32 -r 48000 -c 1 - synth 1 sine 1000"
    src = ProcessSource(cmd, dtype="float32", sample_rate=48000)
    x = drain(src)
    assert x.dtype == np.float32
    assert x.shape == (48000,)
    ref = np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000)
    assert np.max(np.abs(x - ref)) < 1e-6
    spectrum = np.abs(np.fft.rfft(x))
    assert np.argmax(spectrum) == 1000  # 1 Hz bins: the peak is at 1000 Hz
    assert np.max(np.abs(x)) == pytest.approx(1.0, abs=1e-6)
    assert src.health()["bytes_read"] == 48000 * 4
    assert src.returncode == 0


def test_sox_int16_stereo_through_a_stream():
    assert SOX, "sox is required (apt-get install sox)"
    cmd = "sox -D -n -t raw -e signed -b 16 -r 48000 -c 2 - synth 0.5 sine 1000 sine 500 vol 0.5"
    src = ProcessSource(cmd, dtype="int16", channels=2, sample_rate=48000, scale=1 / 32768)
    assert src.info.dtype == "int16"
    assert src.info.n_channels == 2
    with RealtimeStream.from_source(src, chunk_size=1000, overflow="block") as stream:
        chunks = list(stream)
    assert [c.metadata.start_index for c in chunks] == list(range(0, 24000, 1000))
    x = np.concatenate([c.data for c in chunks])
    assert x.shape == (24000, 2)
    n = np.arange(24000)
    ref = 0.5 * np.stack(
        [np.sin(2 * np.pi * 1000 * n / 48000), np.sin(2 * np.pi * 500 * n / 48000)], axis=1
    )
    assert np.max(np.abs(x - ref)) <= 1.5 / 32768  # within one count (rounding)
    assert src.health()["bytes_read"] == 24000 * 4


# ---------------------------------------------------------------------------------- sigrok-cli
def test_sigrok_cli_demo_two_analog_channels_exact():
    assert SIGROK, "sigrok-cli is required (apt-get install sigrok-cli)"
    cmd = "sigrok-cli --driver demo --channels A0,A2 --samples 3000 -O analog"
    src = ProcessSource(
        cmd,
        format="sigrok",
        channels=2,
        sample_rate=200e3,
        channel_names=["A0", "A2"],
        ok_status=(0, 1),  # Debian's sigrok-cli 0.7.2 exits 1 after a complete capture
    )
    x = drain(src)
    assert x.shape == (3000, 2)
    i = np.arange(3000)
    square = np.where(i % 10 < 5, -10.0, 10.0)  # demo pattern of A0, volts
    k = i % 20
    triangle = np.where(k <= 5, 2.0 * k, np.where(k <= 15, 20.0 - 2 * k, 2.0 * k - 40))
    np.testing.assert_array_equal(x[:, 0], square)
    np.testing.assert_array_equal(x[:, 1], triangle)
    h = src.health()
    assert h["lines"] == 6000
    assert h["malformed_lines"] == 0


def test_sigrok_exit_status_is_an_error_unless_accepted():
    assert SIGROK, "sigrok-cli is required (apt-get install sigrok-cli)"
    src = ProcessSource(
        "sigrok-cli --driver demo --channels A0 --samples 100 -O analog",
        format="sigrok",
        sample_rate=200e3,
    )
    with pytest.raises(SourceError, match="(?s)exited with status 1.*g_atomic_ref_count_dec"):
        drain(src)
    assert src.health()["lines"] == 100  # the samples came, then the failure was reported


def test_sigrok_parser_units_and_demultiplexing():
    p = SigrokAnalogParser(2)
    out = p.feed(b"A1: 0.0 mV DC\nA1: 500 mV DC\nA0: 3.0902 V DC\ngarbage\nA0: 1.5 kV\n")
    np.testing.assert_array_equal(out, [[0.0, 3.0902], [0.5, 1500.0]])
    assert p.names == ["A1", "A0"]
    assert p.units == {"A1": "V", "A0": "V"}
    assert p.malformed == 1
    assert p.last_malformed == b"garbage"
    assert p.feed(b"A2: 1 V\n").shape == (0, 2)  # a third channel is not expected
    assert p.malformed == 2
    fixed = SigrokAnalogParser(1, channel_names=["B"])
    assert fixed.feed(b"A: 1 V\nB: 2 \xc2\xb5A\nB: 7 Hz\n").tolist() == [2e-6, 7.0]
    assert fixed.malformed == 1


# ----------------------------------------------------------------------- raw / text programs
def test_raw_frames_split_across_odd_writes_never_misalign():
    values = np.arange(-5000, 5000, dtype="<i4").reshape(-1, 2)
    code = (
        "import sys, time\n"
        f"data = bytes.fromhex('{values.tobytes().hex()}')\n"
        "i = 0\n"
        "for n in [1, 3, 5, 7, 11, 13, 4093, 9999] * 100:\n"
        "    sys.stdout.buffer.write(data[i:i+n]); sys.stdout.buffer.flush(); i += n\n"
        "    if i >= len(data): break\n"
        "sys.stdout.buffer.write(data[i:])\n"
    )
    src = ProcessSource(py(code), dtype="int32", channels=2, sample_rate=1000, chunk_bytes=777)
    np.testing.assert_array_equal(drain(src), values)


def test_raw_incomplete_last_frame_is_an_error():
    code = "import sys; sys.stdout.buffer.write(bytes(4 * 10 + 3))"
    src = ProcessSource(py(code), dtype="float32", sample_rate=1)
    got = src.acquire()
    assert got.tolist() == [0.0] * 10
    with pytest.raises(SourceError, match=r"43 bytes.*4-byte frames.*3 byte\(s\)"):
        src.acquire()
    with pytest.raises(SourceError, match="incomplete frame"):
        src.acquire()  # keeps failing, does not restart


def test_text_program_with_junk_lines_big_endian_rows():
    code = (
        "import sys\n"
        "print('booting...')\n"
        "for i in range(2000):\n"
        "    print(f'{i},{-i}\\t', end='\\r\\n')\n"
        "    if i == 700: print('ERR sensor')\n"
    )
    src = ProcessSource(py(code), format="text", channels=2, sample_rate=100)
    x = drain(src)
    np.testing.assert_array_equal(x, np.stack([np.arange(2000.0), -np.arange(2000.0)], axis=1))
    h = src.health()
    assert h["malformed_lines"] == 2
    assert h["last_malformed"] == b"ERR sensor"


def test_exit_status_and_stderr_in_the_error():
    code = (
        "import sys\n"
        "sys.stdout.buffer.write(bytes(8))\n"
        "for i in range(50): print('line', i, file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    src = ProcessSource(py(code), dtype="float32", sample_rate=10)
    assert src.acquire().tolist() == [0.0, 0.0]
    with pytest.raises(SourceError) as info:
        src.acquire()
    msg = str(info.value)
    assert "exited with status 3" in msg
    assert "line 49" in msg
    assert "line 29" not in msg
    assert src.stderr_tail[-1] == "line 49"
    assert len(src.stderr_tail) == 20


def test_killed_child_is_reported_with_its_signal():
    src = ProcessSource(
        py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"), sample_rate=1
    )
    with pytest.raises(SourceError, match="killed by signal SIGKILL"):
        drain(src)


def test_stream_ends_with_source_error_after_the_samples():
    code = "import sys; sys.stdout.buffer.write(bytes(range(16)) * 64); sys.exit(2)"
    src = ProcessSource(py(code), dtype="uint8", sample_rate=1000)
    stream = RealtimeStream.from_source(src, chunk_size=256, overflow="block")
    got = []
    with stream, pytest.raises(SourceError, match="status 2"):
        for c in stream:
            got.append(c.data)
    np.testing.assert_array_equal(np.concatenate(got), np.tile(np.arange(16), 64))


def test_missing_program():
    src = ProcessSource(["/nonexistent/daq-tool", "-x"], sample_rate=1)
    with pytest.raises(SourceUnavailableError, match="cannot run '/nonexistent/daq-tool'"):
        src.start()
    # acquire() after the failed start raises the same error (it does not wait for nothing)
    done = threading.Event()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            src.acquire()
        except BaseException as exc:
            errors.append(exc)
        done.set()

    threading.Thread(target=call, daemon=True).start()
    assert done.wait(5.0)
    assert len(errors) == 1
    assert isinstance(errors[0], SourceUnavailableError)
    assert "cannot run '/nonexistent/daq-tool'" in str(errors[0])


class _FailingReads:
    """The ``os`` module as ProcessSource sees it, with reads failing like a broken pipe."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def read(fd, n):
        raise OSError(5, "Input/output error")


def test_a_failing_pipe_read_is_reported_not_taken_for_the_end(monkeypatch):
    from livetrace.sources import _process

    monkeypatch.setattr(_process, "os", _FailingReads())
    src = ProcessSource(["sh", "-c", "printf abcd"], sample_rate=1)
    src.start()
    try:
        with pytest.raises(
            SourceError, match=r"reading the output of sh -c .* failed: .*Input/out"
        ):
            for _ in range(100):
                src.acquire()
    finally:
        src.stop()


# ---------------------------------------------------------------------------------- stop, reaping
def test_stop_wakes_a_blocked_acquire_and_reaps_the_whole_group():
    # a shell that starts a grandchild: both must be gone after stop()
    src = ProcessSource(["sh", "-c", "sleep 30 & echo $! >&2; sleep 30"], sample_rate=1)
    src.start()
    pid = src.pid
    deadline = time.monotonic() + 5
    while not src.stderr_tail and time.monotonic() < deadline:
        time.sleep(0.01)
    grandchild = int(src.stderr_tail[0])
    result = {}
    th = threading.Thread(target=lambda: result.setdefault("v", src.acquire()))
    th.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    src.stop()
    th.join(1.0)
    elapsed = time.monotonic() - t0
    assert not th.is_alive()
    assert result["v"] is None
    assert elapsed < 0.5
    assert gone(pid)  # our child: killed and reaped
    assert dead(grandchild)  # its child: killed with the process group (init reaps it)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left
    assert src.returncode == -15  # SIGTERM
    assert not [t for t in threading.enumerate() if t.name.startswith(f"livetrace-exec-{pid}")]


def test_child_ignoring_sigterm_is_killed_after_grace():
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "sys.stdout.buffer.write(bytes(4)); sys.stdout.buffer.flush()\n"
        "time.sleep(30)\n"
    )
    src = ProcessSource(py(code), sample_rate=1, grace=0.1)
    assert src.acquire().tolist() == [0.0]  # the handler is in place now
    pid = src.pid
    src.stop()
    assert src.returncode == -9
    assert gone(pid)


def test_start_after_stop_runs_the_program_again():
    src = ProcessSource(py("print('1\\n2')"), format="text", sample_rate=1)
    assert drain(src).tolist() == [1, 2]
    src.stop()
    src.start()
    assert drain(src).tolist() == [1, 2]
    assert src.runs == 2


def test_conformance_with_sox_and_a_failing_program():
    assert SOX, "sox is required (apt-get install sox)"
    report = check_source(
        lambda: ProcessSource(
            "sox -n -t raw -e float -b 32 -r 48000 -c 1 - synth 0.2 sine 1000", sample_rate=48000
        ),
        failing=lambda: ProcessSource(["sh", "-c", "echo broken >&2; exit 4"], sample_rate=1),
    )
    assert report["errors_surface"].status == "passed"
    assert "broken" in report["errors_surface"].detail


# ---------------------------------------------------------------------------------- URI
def test_uri_plain_command_line():
    assert SOX, "sox is required (apt-get install sox)"
    src = open_source(
        "exec:sox -n -t raw -e float -b 32 -r 48000 -c 1 - synth 0.1 sine 1000"
        "?dtype=float32&sample_rate=48000"
    )
    assert isinstance(src, ProcessSource)
    assert src.info.sample_rate == 48000
    assert drain(src).shape == (4800,)


def test_uri_question_mark_in_the_command_and_argv_form():
    src = open_source("exec:printf '1?\\n2\\n'?sample_rate=10&format=text")
    assert src.argv == ["printf", "1?\\n2\\n"]
    assert drain(src).tolist() == [2.0]  # '1?' is not a number: counted as malformed
    assert src.health()["malformed_lines"] == 1
    argv = [PY, "-c", "print('3&4?')\nprint(5)"]
    encoded = urllib.parse.quote(json.dumps(argv), safe="")
    src = open_source(f"exec:?argv={encoded}&sample_rate=10&format=text")
    assert src.argv == argv
    assert drain(src).tolist() == [5.0]


def test_uri_errors():
    with pytest.raises(ConfigurationError, match="sample_rate= is required"):
        open_source("exec:sox -n - synth 1 sine 1000")
    with pytest.raises(ConfigurationError, match="a command line is needed"):
        open_source("exec:?sample_rate=1")
    with pytest.raises(ConfigurationError, match="either before"):
        open_source(f"exec:ls?sample_rate=1&argv={urllib.parse.quote(json.dumps(['ls']))}")
    with pytest.raises(ConfigurationError, match="format must be one of raw, text, sigrok"):
        open_source("exec:ls?sample_rate=1&format=xml")
    with pytest.raises(ConfigurationError, match="unknown parameter.*sped.*did you mean 'speed'"):
        open_source("exec:ls?sample_rate=1&sped=2")
    assert shlex.split("a 'b c'") == ["a", "b c"]


def test_a_program_that_exits_with_an_error_is_reported_once() -> None:
    src = ProcessSource(
        [
            sys.executable,
            "-c",
            "import sys; print('1'); sys.stderr.write('bad input\\n'); sys.exit(2)",
        ],
        format="text",
        sample_rate=10,
    )
    stream = RealtimeStream.from_source(src, chunk_size=1, max_latency=None)
    with stream, pytest.raises(SourceError) as info:
        for _ in stream:
            pass
    message = str(info.value)
    assert "exited with status 2" in message
    assert "bad input" in message
    assert "time(s) in a row" not in message
    assert stream.health().source_errors == 1


def test_megabytes_of_stderr_without_newlines_keep_the_message_short() -> None:
    code = (
        "import sys\n"
        "for i in range(200):\n"
        "    sys.stderr.write('progress %d%%\\r' % i * 10000)\n"
        "sys.stderr.write('x' * 5_000_000)\n"
        "sys.exit(3)\n"
    )
    src = ProcessSource([sys.executable, "-c", code], format="text", sample_rate=10)
    with pytest.raises(SourceError) as info:
        while src.acquire() is not None or True:
            pass
    src.stop()
    message = str(info.value)
    assert "exited with status 3" in message
    assert len(message) < 4000
    quoted = message.split("last lines of stderr:")[1]
    assert quoted.count("\n") <= 5


@pytest.mark.skipif(shutil.which("sigrok-cli") is None, reason="needs sigrok-cli")
def test_sigrok_scheme_reads_a_device_and_keeps_debians_clean_exit_quirk_clean() -> None:
    src = open_source("sigrok:demo?sample_rate=1000&channels=A0,A1&samples=300")
    stream = RealtimeStream.from_source(src, chunk_size=100, max_latency=None)
    with stream:
        chunks = list(stream)
    assert stream.state == "finished"  # status 1 after a complete capture: not a failure
    assert sum(len(c) for c in chunks) == 300
    assert chunks[0].data.shape == (100, 2)
    assert chunks[0].metadata.units == ("V", "V")
    assert chunks[0].metadata.channel_names == ("A0", "A1")


@pytest.mark.skipif(shutil.which("sigrok-cli") is None, reason="needs sigrok-cli")
def test_sigrok_real_failure_is_a_failure() -> None:
    src = open_source("sigrok:nosuchdriver?sample_rate=1000&channels=A0&samples=10")
    stream = RealtimeStream.from_source(src, chunk_size=10, max_latency=None)
    with stream, pytest.raises(SourceError, match="Driver nosuchdriver not found"):
        list(stream)


@pytest.mark.skipif(shutil.which("sox") is None, reason="needs sox")
def test_a_synthetic_program_is_paced_to_real_time_with_speed_1() -> None:
    """sox writes a synthesised signal as fast as it can: speed=1 delivers it live."""
    uri = (
        "exec:sox -n -t raw -e float -b 32 -r 8000 -c 1 - synth 0.6 sine 1000"
        "?dtype=float32&sample_rate=8000&speed=1"
    )
    stream = RealtimeStream.from_source(open_source(uri), chunk_size=400)
    t0 = time.monotonic()
    with stream:
        n = sum(len(c) for c in stream)
    took = time.monotonic() - t0
    assert n == 4800
    assert took >= 0.5  # 0.6 s of signal took about 0.6 s, not the few ms sox needs
