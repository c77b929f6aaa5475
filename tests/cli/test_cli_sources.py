"""The ``livetrace`` command line against real network sources, run for real in subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

from _helpers import free_port
from _helpers import livetrace_cli as lt


def test_monitor_refused_tcp_ends_with_one_error_line_and_nonzero_exit(tmp_path: Path) -> None:
    port = free_port()
    uri = f"tcp://127.0.0.1:{port}?dtype=int16&sample_rate=1000"
    res = lt("monitor", uri, "--duration", "2", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("livetrace: error: source TcpSource")
    assert "failed 4 time(s) in a row" in line
    assert f"cannot connect to 127.0.0.1:{port}" in line
    assert "Connection refused" in line
    assert "Traceback" not in res.stderr


def test_monitor_json_counts_the_refused_attempts(tmp_path: Path) -> None:
    port = free_port()
    uri = f"tcp://127.0.0.1:{port}?dtype=int16&sample_rate=1000"
    res = lt("monitor", uri, "--duration", "2", "--json", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    last = json.loads(res.stdout.splitlines()[-1])
    assert last["source_errors"] == 4  # the first attempt and max_retries=3 retries
    assert last["last_error"].startswith("SourceUnavailableError: TcpSource: cannot connect to")
    assert f"127.0.0.1:{port}" in last["last_error"]
    assert last["error"].startswith("SourceError: source TcpSource")
    assert "failed 4 time(s) in a row" in last["error"]


def test_monitor_listening_server_without_peer_is_not_an_error(tmp_path: Path) -> None:
    uri = "tcp://127.0.0.1:0?listen=1&dtype=int16&sample_rate=1000"
    res = lt("monitor", uri, "--duration", "0.5", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    last = json.loads(res.stdout.splitlines()[-1])
    assert last["source_errors"] == 0
    assert last["last_error"] is None
