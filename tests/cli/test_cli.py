"""The ``livetrace`` command line, run for real in subprocesses."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from _helpers import livetrace_cli as lt
from livetrace import RealtimeConfig, RealtimeStream, SimulatedSource
from livetrace.sinks import Recorder, RecordingReader, RecordingSource
from livetrace.sources import SCHEMES, open_source
from livetrace.testing import RampSource

SIM = "sim:sine?realtime=0&samples=5000&sample_rate=8000&frequency=100&dtype=float32&amplitude=0.8"


def expected_signal(n: int) -> np.ndarray:
    return SimulatedSource(
        "sine", sample_rate=8000, frequency=100, dtype="float32", amplitude=0.8, realtime=False
    ).generate(0, n)


def test_record_info_replay_export_round_trip(tmp_path: Path) -> None:
    r = lt("record", SIM, "-o", "rec.h5", "--samples", "3000", "--chunk-size", "256", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    (summary,) = r.stdout.splitlines()
    assert summary.startswith("recorded 3000 samples (0.375 s of signal, 1 channel(s), float32)")
    assert "0 dropped, 0 gap(s) [done]" in summary
    x = expected_signal(3000)
    with RecordingReader(tmp_path / "rec.h5") as rec:
        assert rec.complete
        np.testing.assert_array_equal(rec.read(), x)

    info = lt("info", "rec.h5", "--json", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    d = json.loads(info.stdout)
    assert (d["n_samples"], d["sample_rate"], d["dtype"], d["complete"]) == (
        3000,
        8000.0,
        "float32",
        True,
    )
    assert d["description"].startswith("sim:sine")
    assert d["gaps"] == []
    st = d["statistics"]["ch0"]
    x64 = x.astype(np.float64)
    assert (st["min"], st["max"]) == (float(x.min()), float(x.max()))
    assert st["rms"] == pytest.approx(np.sqrt(np.mean(x64 * x64)), rel=1e-9)
    assert st["mean"] == pytest.approx(x64.mean(), abs=1e-9)
    text = lt("info", "rec.h5", cwd=tmp_path)
    assert "samples:      3000 (0.375 s)" in text.stdout
    assert "gaps:         0" in text.stdout
    assert (
        f"statistics:   ch0: min {x.min():.6g}  max {x.max():.6g}  rms {st['rms']:.6g}"
        in text.stdout
    )

    rep = lt("replay", "rec.h5", "--speed", "0", "--json", "--window", "0.05", cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr
    last = json.loads(rep.stdout.splitlines()[-1])
    assert last["state"] == "finished"
    assert (last["samples_in"], last["samples_out"], last["dropped"]) == (3000, 3000, 0)
    assert (last["position"], last["total"]) == (0.375, 0.375)  # replayed to the end
    assert (last["window"], last["stats_window"]) == (0.05, 0.05)  # --window wins
    assert last["trigger"] == {"triggered": True, "level": pytest.approx(0.0), "slope": "rising"}
    (ch,) = last["channels"]
    w = x[-400:].astype(np.float64)  # window 0.05 s = 400 samples
    assert ch["n_samples"] == 400
    assert ch["mean"] == pytest.approx(w.mean(), abs=1e-6)
    assert ch["rms"] == pytest.approx(np.sqrt(np.mean(w * w)), rel=1e-6)
    assert ch["min"] == float(w.min())
    assert ch["max"] == float(w.max())
    assert ch["frequency"] is None or ch["frequency"] == pytest.approx(100.0, rel=1e-6)

    for name in ("out.npy", "out.wav", "out.csv"):
        e = lt("export", "rec.h5", "-o", name, cwd=tmp_path)
        assert e.returncode == 0, e.stderr
        assert e.stdout.strip() == f"exported 3000 samples from 'rec.h5' to '{name}'"
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), x)
    csv = np.loadtxt(tmp_path / "out.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(csv[:, 1].astype(np.float32), x)


def test_installed_console_script(tmp_path: Path) -> None:
    exe = shutil.which("livetrace")
    assert exe is not None, "the livetrace console script is not installed (pip install -e .)"
    r = subprocess.run(
        [exe, "record", SIM, "-o", "s.h5", "--samples", "1000"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    info = subprocess.run(
        [exe, "info", "s.h5", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert json.loads(info.stdout)["n_samples"] == 1000


def test_record_keeps_gaps_and_replay_reproduces_them(tmp_path: Path) -> None:
    # real-time blocks of 8000 samples every 20 ms into a 2000-sample buffer under
    # drop_newest: 6000 of each block are dropped, the consumer drains the rest in between
    uri = "sim:sine?sample_rate=400000&chunk_size=8000"
    r = lt(
        "record",
        uri,
        "-o",
        "g.h5",
        "--overflow",
        "drop_newest",
        "--buffer-size",
        "2000",
        "--chunk-size",
        "500",
        "--samples",
        "10000",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    with RecordingReader(tmp_path / "g.h5") as rec:
        gaps = rec.gaps
        n, lost = rec.n_samples, rec.samples_lost
        idx = rec.absolute_index(np.arange(n))
        full = SimulatedSource("sine", sample_rate=400000, realtime=False).generate(
            0, int(idx[-1]) + 1
        )
        np.testing.assert_array_equal(rec.read(), full[idx])
    assert n == 10000
    assert gaps
    assert all(g.known and g.length > 0 for g in gaps)
    assert lost == int(idx[-1]) + 1 - n
    shown = lt("info", "g.h5", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert [g["start_index"] for g in info["gaps"]] == [g.start_index for g in gaps]
    assert f"{len(gaps)} gap(s)" in r.stdout
    rep = lt("replay", "g.h5", "--speed", "0", "--json", cwd=tmp_path)
    last = json.loads(rep.stdout.splitlines()[-1])
    assert last["samples_out"] == n
    assert last["source_gap"] == sum(g.length for g in gaps)  # replayed as the same jumps


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a recording (exists.h5), its WAV export (tone.wav) and junk.h5."""
    path = tmp_path_factory.mktemp("cli")
    assert lt("record", SIM, "-o", "exists.h5", "--samples", "10", cwd=path).returncode == 0
    assert lt("export", "exists.h5", "-o", "tone.wav", cwd=path).returncode == 0
    (path / "junk.h5").write_bytes(b"junk" * 100)
    return path


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["monitor", "nosuch:thing"], "unknown source scheme 'nosuch'", 2),
        (["monitor", "sim:sine?bogus=1"], "unknown parameter(s) bogus", 2),
        (
            ["record", "sim:sine", "-o", "exists.h5"],
            "livetrace: error: 'exists.h5' already exists; add --overwrite to replace it",
            2,
        ),
        (
            ["record", "sim:sine", "-o", "nodir/x/y.h5"],
            "livetrace: error: cannot create recording file 'nodir/x/y.h5': No such file or"
            " directory",
            2,
        ),
        (
            ["record", "sim:sine", "-o", "y.h5", "--dtype", "foo"],
            "error: --dtype must be a numeric numpy dtype",
            2,
        ),
        (
            ["record", "sim:sine", "-o", "x.wav"],
            "livetrace records HDF5 files: name the output .h5 or .hdf5, not 'x.wav'; for a .wav"
            " file, record to 'x.h5', then 'livetrace export x.h5 -o x.wav'",
            2,
        ),
        (
            ["record", "sim:sine", "-o", "tone.wav", "--overwrite"],
            "livetrace records HDF5 files: name the output .h5 or .hdf5, not 'tone.wav'",
            2,
        ),
        (["info", "missing.h5"], "livetrace: error: no such recording: 'missing.h5'", 2),
        (
            ["info", "tone.wav"],
            "livetrace: error: 'tone.wav' is not a livetrace recording: it looks like a WAV"
            " file, and `livetrace info` reads the HDF5 files `livetrace record` writes; to"
            " watch this file's samples: livetrace monitor 'file:tone.wav'",
            2,
        ),
        (["info", "junk.h5"], "'junk.h5' is not a livetrace recording: it looks like a text", 2),
        (["replay", "missing.h5"], "livetrace: error: no such recording: 'missing.h5'", 2),
        (
            ["export", "exists.h5", "-o", "x.mp3"],
            "livetrace: error: cannot tell the format of 'x.mp3' from its name: use a .wav, .npy"
            " or .csv file name, or --format wav|npy|csv",
            2,
        ),
        (
            ["export", "exists.h5", "-o", "tone.wav"],
            "livetrace: error: 'tone.wav' already exists; add --overwrite to replace it",
            2,
        ),
        (["record", "sim:sine", "-o", "a.h5", "--samples", "5", "--duration", "1"], "not both", 2),
        (["monitor", "sim:sine", "--nope"], "'--nope'. (see 'livetrace monitor --help')", 2),
        (["monitor", "sim:sine", "--window", "0"], "Invalid value for --window: must be a", 2),
        (["frobnicate"], "'frobnicate'", 2),
        (
            ["record", "exec:true?dtype=float32&sample_rate=1000", "-o", "empty.h5"],
            "livetrace: error: nothing was recorded: the source delivered no samples"
            " ('empty.h5' is empty)",
            1,
        ),
    ],
)
def test_errors_are_one_line_without_traceback(
    workdir: Path, args: list[str], message: str, code: int
) -> None:
    """Usage errors (options, URIs, file names) exit 2, failures while running exit 1; the
    message names the command line's options, never Python's parameters."""
    r = lt(*args, cwd=workdir)
    assert r.returncode == code, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("livetrace: error: ")
    assert message in lines[0]
    assert "[Errno" not in lines[0]
    assert "=True" not in lines[0]
    assert "Traceback" not in r.stderr
    if code == 2:
        assert r.stdout == ""
    assert (workdir / "tone.wav").read_bytes()[:4] == b"RIFF"  # never replaced by a recording


@pytest.mark.parametrize(
    "args", [["--debug", "monitor", "nosuch:thing"], ["monitor", "nosuch:thing", "--debug"]]
)
def test_debug_shows_the_traceback(tmp_path: Path, args: list[str]) -> None:
    r = lt(*args, cwd=tmp_path)
    assert r.returncode != 0
    assert "Traceback" in r.stderr
    assert "ConfigurationError: unknown source scheme 'nosuch'" in r.stderr


@pytest.mark.parametrize(
    "command",
    ["", "monitor", "record", "replay", "info", "export", "sources", "devices", "bench"],
)
def test_help_everywhere_with_examples(tmp_path: Path, command: str) -> None:
    r = lt(*([command] if command else []), "--help", cwd=tmp_path)
    assert r.returncode == 0
    assert "Usage: livetrace" in r.stdout
    assert "Example" in r.stdout
    assert "livetrace " in r.stdout.split("Example", 1)[1]


def test_sources_lists_every_scheme(tmp_path: Path) -> None:
    r = lt("sources", cwd=tmp_path)
    assert r.returncode == 0
    for name, scheme in SCHEMES.items():
        assert f"livetrace monitor '{scheme.example}'" in r.stdout
        assert any(line.startswith(name + " ") for line in r.stdout.splitlines())


def test_sigint_stops_recording_with_a_complete_file(tmp_path: Path) -> None:
    out = tmp_path / "live.h5"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "livetrace",
            "record",
            "sim:sine?sample_rate=20000",
            "-o",
            str(out),
            "--flush-interval",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with RecordingReader(out) as rec:
                    if rec.n_samples >= 4000:
                        break
            except (OSError, ValueError, KeyError):
                pass
            assert proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stdout.rstrip().endswith("[interrupted]")
    n = int(stdout.split()[1])
    with RecordingReader(out) as rec:
        assert rec.complete  # closed cleanly, not merely flushed
        assert rec.n_samples == n >= 4000
        np.testing.assert_array_equal(
            rec.read(), SimulatedSource("sine", sample_rate=20000, realtime=False).generate(0, n)
        )


TMUX = shutil.which("tmux")  # installed by scripts/install-test-deps: missing is a broken setup


def _tmux(*args: str) -> str:
    assert TMUX is not None, "tmux is missing: run scripts/install-test-deps"
    return subprocess.run(
        [TMUX, *args], capture_output=True, text=True, timeout=30, check=True
    ).stdout


def _frame(screen: str) -> list[str] | None:
    """The dashboard's panel on a captured screen (its lines, borders included)."""
    lines = screen.splitlines()
    tops = [i for i, ln in enumerate(lines) if ln.startswith("╭─ livetrace")]
    if not tops:
        return None
    i = tops[-1]
    ends = [j for j in range(i, len(lines)) if lines[j].startswith("╰")]
    return lines[i : ends[0] + 1] if ends else None


def test_monitor_in_a_real_terminal_shows_a_waveform_that_stands_still(tmp_path: Path) -> None:
    """`livetrace monitor sim:sine`, nothing else, in an 80x24 tmux terminal: the frame shows
    the sine's shape (not a solid block), the same shape frame after frame (triggered), fits
    80 columns; Ctrl-C leaves one clean frame and exit code 0."""
    session = f"lt{os.getpid()}"
    env_cmd = (
        f"cd {tmp_path} && {sys.executable} -m livetrace monitor sim:sine; echo rc=$?; sleep 60"
    )
    _tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", env_cmd)
    try:
        traces: list[list[str]] = []
        borders: list[str] = []  # the bottom border shows the elapsed time: one per frame
        frame: list[str] | None = None
        deadline = time.monotonic() + 60
        while len(traces) < 3 and time.monotonic() < deadline:
            time.sleep(0.3)
            frame = _frame(_tmux("capture-pane", "-p", "-t", session))
            if frame is None or "window 3 ms · trig ↑0 ·" not in frame[-1]:
                continue  # still measuring the frequency
            if borders and frame[-1] == borders[-1]:
                continue  # not redrawn since the last capture
            borders.append(frame[-1])
            traces.append([ln[2:-2] for ln in frame if set(ln[2:-2]) <= set(" ▀▄█")])
        assert frame is not None
        assert len(traces) >= 3, frame
        assert all(len(ln) <= 80 for ln in frame)
        text = "\n".join(frame)
        assert frame[0].startswith("╭─ livetrace · sim:sine")
        assert "rms 0.707107" in text
        assert "dropped 0" in text
        trace = traces[-1]
        assert len(trace) == 4  # the default height
        cells = "".join(trace)
        assert cells.count("█") < len(cells) / 4  # a line, not a solid block
        for row in trace:  # every row is crossed by the curve, 3 periods wide
            assert row.strip(), trace
        # top row: the 3 crests, separated by blanks
        assert len([run for run in trace[0].split() if run]) == 3, trace
        assert traces[-1] == traces[-2] == traces[-3]  # in phase, frame after frame
        _tmux("send-keys", "-t", session, "C-c")
        deadline = time.monotonic() + 30
        screen = ""
        while "rc=" not in screen and time.monotonic() < deadline:
            time.sleep(0.2)
            screen = _tmux("capture-pane", "-p", "-t", session)
        assert "rc=0" in screen, screen
        assert screen.count("╭─ livetrace") == 1, screen  # no stray border after Ctrl-C
        assert "stopped" in screen
        assert "Traceback" not in screen
    finally:
        subprocess.run([TMUX or "tmux", "kill-session", "-t", session], capture_output=True)


def test_monitor_json_lines(tmp_path: Path) -> None:
    r = lt(
        "monitor",
        "sim:sine?sample_rate=8000",
        "--json",
        "--duration",
        "0.6",
        "--rate",
        "10",
        "--trigger",
        "falling",
        "--level",
        "0.5",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert 3 <= len(rows) <= 15  # about 10 a second
    assert rows[-1]["trigger"] == {"triggered": True, "level": 0.5, "slope": "falling"}
    assert rows[-1]["state"] == "stopped"
    assert [row["samples_out"] for row in rows] == sorted(row["samples_out"] for row in rows)
    assert rows[-1]["samples_out"] == 4800  # --duration is signal time: 0.6 s at 8 kHz
    assert rows[-1]["dropped"] == 0
    assert rows[-1]["channels"][0]["rms"] == pytest.approx(np.sqrt(0.5), rel=1e-3)


def test_bench_quick(tmp_path: Path) -> None:
    r = lt("bench", "--quick", "--only", "recording", cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "== recording" in r.stdout
    assert "MB/s" in r.stdout
    # ratios first, the machine recorded
    assert r.stdout.index("-- ratios") < r.stdout.index("-- figures")
    assert "machine: " in r.stdout
    assert "numpy " in r.stdout


BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_bench_help_lists_the_benchmark_scripts(tmp_path: Path) -> None:
    r = lt("bench", "--help", cwd=tmp_path)
    assert r.returncode == 0
    names = sorted(p.stem.removeprefix("bench_") for p in BENCHMARKS.glob("bench_*.py"))
    assert "core" in names
    listing = " ".join(r.stdout.split())
    assert ", ".join(names) in listing


def test_bench_unknown_name_lists_the_available_ones(tmp_path: Path) -> None:
    r = lt("bench", "--only", "nosuch", cwd=tmp_path)
    assert r.returncode != 0
    assert "no benchmark nosuch; available: analysis_dsp" in r.stderr


def test_bench_without_a_checkout_says_where_the_benchmarks_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Installed from a wheel there is no benchmarks/ folder: say where they live."""
    from click.testing import CliRunner

    from livetrace._cli import app

    monkeypatch.setattr(app, "_benchmarks_dir", lambda: None)
    r = CliRunner().invoke(app.cli, ["bench", "--quick"])
    assert r.exit_code != 0
    assert "benchmarks/ folder of livetrace's source repository" in r.output


def test_benchmarks_use_only_public_names() -> None:
    """The benchmark scripts import livetrace's public namespaces only, never its private
    modules, so they run against any install and keep working when the inside moves."""
    public = {
        "livetrace",
        "livetrace.analysis",
        "livetrace.sources",
        "livetrace.sinks",
        "livetrace.recording",
        "livetrace.testing",
        "livetrace.web",
    }
    for script in sorted(BENCHMARKS.glob("*.py")):
        tree = ast.parse(script.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] == "livetrace":
                    assert node.module in public, f"{script.name}: from {node.module} import"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "livetrace":
                        assert alias.name in public, f"{script.name}: import {alias.name}"
        assert not re.search(r"livetrace\._(?!_)", script.read_text(encoding="utf-8")), script.name


def test_record_of_an_unpaced_source_loses_nothing_by_default(tmp_path: Path) -> None:
    """A source that can wait (here the simulator, flat out) is recorded with backpressure:
    however slow the disk, no sample is dropped and there is no gap."""
    res = lt(
        "record",
        "sim:square?realtime=0&frequency=50",
        "-o",
        "r.h5",
        "--samples",
        "300000",
        "-q",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "0 dropped, 0 gap(s)" in res.stdout
    with RecordingReader(tmp_path / "r.h5") as rec:
        assert rec.n_samples == 300_000
        assert rec.gaps == []


def test_record_is_a_stream_with_a_recorder_and_keeps_the_final_loss(tmp_path: Path) -> None:
    """A loss after the last delivered chunk is the recording's last segment row; `livetrace
    record` writes it exactly as the library's Recorder sink does, here re-recording a
    recording that ends with such a loss."""
    cfg = RealtimeConfig(
        sample_rate=1000.0, chunk_size=100, buffer_size=100, overflow="drop_newest"
    )
    with RealtimeStream(cfg, RampSource(250, 250), sinks=[Recorder(tmp_path / "a.h5")]) as s:
        assert s.run() == 100
    lib = RealtimeStream.from_source(
        RecordingSource(tmp_path / "a.h5", speed=None), sinks=[Recorder(tmp_path / "lib.h5")]
    )
    with lib:
        lib.run()
    r = lt("record", "file:a.h5?speed=0", "-o", "cli.h5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("recorded 100 samples")
    assert "1 gap(s) [done]" in r.stdout
    with RecordingReader(tmp_path / "lib.h5") as ref, RecordingReader(tmp_path / "cli.h5") as rec:
        tail = rec.trailing_loss
        assert tail is not None
        assert (tail.start_index, tail.length, tail.stored_index) == (250, 150, 100)
        assert rec.gaps == ref.gaps
        assert rec.complete
        np.testing.assert_array_equal(rec.read(), ref.read())
        np.testing.assert_array_equal(rec.read().reshape(-1), np.arange(100.0))


def test_record_duration_is_signal_time(tmp_path: Path) -> None:
    """--duration 0.25 of a paced 8 kHz source records exactly 2000 samples."""
    r = lt("record", "sim:sine?sample_rate=8000", "-o", "d.h5", "--duration", "0.25", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("recorded 2000 samples (0.25 s of signal, 1 channel(s), float64)")
    assert r.stdout.rstrip().endswith("0 dropped, 0 gap(s) [done]")
    with RecordingReader(tmp_path / "d.h5") as rec:
        assert rec.n_samples == 2000


def test_replay_shows_its_position_in_the_file(tmp_path: Path) -> None:
    assert lt("record", SIM, "-o", "p.h5", "--samples", "4000", cwd=tmp_path).returncode == 0
    rows = [
        json.loads(line)
        for line in lt("replay", "p.h5", "--json", "--rate", "20", cwd=tmp_path).stdout.splitlines()
    ]
    assert rows[-1]["total"] == 0.5
    positions = [row["position"] for row in rows]
    assert positions == sorted(positions)
    assert positions[-1] == 0.5
    assert any(0 < p < 0.5 for p in positions)  # paced at speed 1: seen on its way


def test_devices_lists_inputs_with_their_uris(tmp_path: Path) -> None:
    r = lt("devices", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "audio inputs (PortAudio):" in r.stdout
    assert "serial ports (pyserial):" in r.stdout
    d = json.loads(lt("devices", "--json", cwd=tmp_path).stdout)
    assert set(d) == {"audio", "serial", "notes"}
    for row in d["audio"]:
        assert row["uri"].startswith("audio:")
        assert f"livetrace monitor '{row['uri']}'" in r.stdout
    for row in d["serial"]:
        assert row["uri"].startswith("serial://")
        assert f"livetrace monitor '{row['uri']}'" in r.stdout
    for row in d["audio"] + d["serial"]:
        assert open_source(row["uri"]) is not None  # a URI the library takes (not opened)
