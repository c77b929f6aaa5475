"""``livetrace scope``: serves the page and its status for a URI, stops at --duration."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")
pytest.importorskip("click")

SRC = Path(__file__).resolve().parents[2] / "src"


def test_scope_command_serves_the_source_until_duration() -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-m", "livetrace", "scope", "sim:sine?frequency=1000&sample_rate=50000",
           "--port", "0", "--no-browser", "--duration", "3"]  # fmt: skip
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    ) as p:
        assert p.stdout is not None
        line = p.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        with urllib.request.urlopen(url.group(0), timeout=10) as r:
            page = r.read().decode()
        assert "uPlot.iife.min.js" in page
        assert "http" not in page.replace("http-equiv", "")  # no CDN: every asset is local
        with urllib.request.urlopen(url.group(0) + "static/vendor/uPlot.iife.min.js") as r:
            assert len(r.read()) > 10_000
        status: dict = {}
        for _ in range(50):
            with urllib.request.urlopen(url.group(0) + "api/status", timeout=10) as r:
                status = json.load(r)
            if status["health"]["samples_out"] > 0:
                break
        assert status["health"]["state"] == "running"
        assert status["stream"]["sample_rate"] == 50_000
        _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err


def test_scope_command_warns_when_listening_beyond_this_machine() -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-m", "livetrace", "scope", "sim:sine", "--host", "0.0.0.0",
           "--port", "0", "--no-browser", "--duration", "0.5"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "warning: the scope listens on 0.0.0.0" in done.stderr


def test_replay_scope_serves_a_recording_and_keeps_its_last_picture(tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    import numpy as np

    from livetrace import SourceInfo, TraceMetadata, WaveformTrace
    from livetrace.sinks import Recorder

    path = tmp_path / "rec.h5"
    rec = Recorder(path)
    rec.open(SourceInfo(sample_rate=10_000.0, dtype="float32", finite=True))
    x = np.sin(2 * np.pi * 100 * np.arange(20_000) / 10_000).astype(np.float32)
    rec.write(WaveformTrace(x, TraceMetadata(sample_rate=10_000.0)))
    rec.close()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-m", "livetrace", "replay", str(path), "--scope", "--speed", "0",
           "--port", "0", "--no-browser", "--duration", "4"]  # fmt: skip
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    ) as p:
        assert p.stdout is not None
        url = re.search(r"http://127\.0\.0\.1:\d+/", p.stdout.readline())
        assert url
        status: dict = {}
        for _ in range(100):
            with urllib.request.urlopen(url.group(0) + "api/status", timeout=10) as r:
                status = json.load(r)
            if status["health"]["state"] == "finished":
                break
            time.sleep(0.05)
        assert status["health"]["state"] == "finished"  # the page stays up after the end
        assert status["health"]["samples_out"] == 20_000
        assert status["measurements"][0]["frequency"] == pytest.approx(100.0, rel=1e-6)
        _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err


def test_scope_command_says_when_the_port_is_taken() -> None:
    from livetrace.web import Scope

    with Scope(port=0) as taken:
        port = taken.url.rsplit(":", 1)[1].strip("/")
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        cmd = [sys.executable, "-m", "livetrace", "scope", "sim:sine", "--port", port,
               "--no-browser", "--duration", "1"]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode != 0
    assert f"cannot serve the scope on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
