"""The ``livetrace`` command line, run for real in subprocesses."""

from __future__ import annotations

import ast
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from livetrace import SimulatedSource
from livetrace.sinks import RecordingReader
from livetrace.sources import SCHEMES

SIM = "sim:sine?realtime=0&samples=5000&sample_rate=8000&frequency=100&dtype=float32&amplitude=0.8"


def lt(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "livetrace", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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
    assert d["description"].startswith("sim:sine?frequency=100")
    assert d["gaps"] == []
    text = lt("info", "rec.h5", cwd=tmp_path)
    assert "samples:      3000 (0.375 s)" in text.stdout
    assert "gaps:         0" in text.stdout

    rep = lt("replay", "rec.h5", "--speed", "0", "--json", "--window", "0.05", cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr
    last = json.loads(rep.stdout.splitlines()[-1])
    assert last["state"] == "finished"
    assert (last["samples_in"], last["samples_out"], last["dropped"]) == (3000, 3000, 0)
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
    info = json.loads(lt("info", "g.h5", "--json", cwd=tmp_path).stdout)
    assert [g["start_index"] for g in info["gaps"]] == [g.start_index for g in gaps]
    assert f"{len(gaps)} gap(s)" in r.stdout
    rep = lt("replay", "g.h5", "--speed", "0", "--json", cwd=tmp_path)
    last = json.loads(rep.stdout.splitlines()[-1])
    assert last["samples_out"] == n
    assert last["source_gap"] == sum(g.length for g in gaps)  # replayed as the same jumps


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["monitor", "nosuch:thing"], "unknown source scheme 'nosuch'"),
        (["monitor", "sim:sine?bogus=1"], "unknown parameter(s) bogus"),
        (
            ["record", "sim:sine", "-o", "exists.h5"],
            "livetrace: error: recording file 'exists.h5' already exists; pass overwrite=True"
            " (CLI: --overwrite) to replace it",
        ),
        (
            ["record", "sim:sine", "-o", "nodir/x/y.h5"],
            "livetrace: error: cannot create recording file 'nodir/x/y.h5': No such file or"
            " directory",
        ),
        (["record", "sim:sine", "-o", "y.h5", "--dtype", "foo"], "numeric numpy dtype"),
        (["info", "missing.h5"], "livetrace: error: no such recording: 'missing.h5'"),
        (["info", "junk.h5"], "cannot open 'junk.h5' as an HDF5 recording"),
        (["replay", "missing.h5"], "error: cannot replay 'missing.h5': no such recording"),
        (["export", "exists.h5", "-o", "x.mp3"], "use a .wav, .npy or .csv file name"),
        (["record", "sim:sine", "-o", "a.h5", "--samples", "5", "--duration", "1"], "not both"),
        (["monitor", "sim:sine", "--nope"], "'--nope'. (see 'livetrace monitor --help')"),
        (["frobnicate"], "'frobnicate'"),
    ],
)
def test_errors_are_one_line_without_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    lt("record", SIM, "-o", "exists.h5", "--samples", "10", cwd=tmp_path)
    (tmp_path / "junk.h5").write_bytes(b"junk" * 100)
    r = lt(*args, cwd=tmp_path)
    assert r.returncode != 0
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("livetrace: error: ")
    assert message in lines[0]
    assert "[Errno" not in lines[0]
    assert "Traceback" not in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    "args", [["--debug", "monitor", "nosuch:thing"], ["monitor", "nosuch:thing", "--debug"]]
)
def test_debug_shows_the_traceback(tmp_path: Path, args: list[str]) -> None:
    r = lt(*args, cwd=tmp_path)
    assert r.returncode != 0
    assert "Traceback" in r.stderr
    assert "ConfigurationError: unknown source scheme 'nosuch'" in r.stderr


@pytest.mark.parametrize(
    "command", ["", "monitor", "record", "replay", "info", "export", "sources", "bench"]
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


def test_monitor_with_defaults_in_a_real_terminal(tmp_path: Path) -> None:
    """`livetrace monitor sim:sine`, nothing else, in a pty; Ctrl-C stops it cleanly."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "LINES": "40", "TERM": "xterm-256color"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "livetrace", "monitor", "sim:sine"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=tmp_path,
    )
    os.close(slave)
    out = b""
    try:
        deadline = time.monotonic() + 60
        while b"1000 Hz" not in out and time.monotonic() < deadline:  # spectrum peak shown
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                out += os.read(master, 65536)
            assert proc.poll() is None, out.decode(errors="replace")
        proc.send_signal(signal.SIGINT)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = out.decode(errors="replace")
    assert "livetrace · sim:sine?frequency=1000&sample_rate=48000" in text
    assert "rms 0.707107" in text
    assert "dropped 0" in text
    assert "█" in text  # the sparkline
    assert text.count("╭─ livetrace") >= 2  # redrawn in place several times
    assert "Traceback" not in text


def test_monitor_json_lines(tmp_path: Path) -> None:
    r = lt(
        "monitor",
        "sim:sine?sample_rate=8000",
        "--json",
        "--duration",
        "0.6",
        "--rate",
        "10",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert 3 <= len(rows) <= 10
    assert rows[-1]["state"] == "stopped"
    assert [row["samples_out"] for row in rows] == sorted(row["samples_out"] for row in rows)
    assert rows[-1]["samples_out"] > 0
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


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


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
