"""Fixtures writing files and starting peers with the real tools (GNU Radio, sigmf,
soundfile, sox, pylsl)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
FLOWGRAPH = Path(__file__).with_name("gnuradio_meta_flowgraph.py")


@functools.cache
def gnuradio_missing() -> str | None:
    """Why GNU Radio cannot run, or None when it can."""
    try:
        proc = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import gnuradio.zeromq, gnuradio.blocks, pmt"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} cannot run: {exc}"
    if proc.returncode:
        return f"{SYSTEM_PYTHON} cannot import gnuradio: {proc.stderr.decode().strip()[-200:]}"
    return None


@pytest.fixture(scope="session")
def gnuradio() -> None:
    reason = gnuradio_missing()
    if reason is not None:
        pytest.skip(
            f"GNU Radio 3.10 is not usable ({reason}); install it with "
            "'apt-get install -y --no-install-recommends gnuradio' (scripts/install-test-deps)"
        )


def write_meta(path: Path, kind: str, n: int, *, detached: bool, max_segment: int = 10**6) -> Path:
    """Run a real GNU Radio flowgraph that writes ``path`` with ``blocks.file_meta_sink``."""
    proc = subprocess.run(
        [
            SYSTEM_PYTHON,
            str(FLOWGRAPH),
            "meta",
            str(path),
            kind,
            str(n),
            "1" if detached else "0",
            str(max_segment),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-1000:]
    return path


def write_iq(prefix: Path, n: int) -> None:
    """``prefix.cfile``, ``.cs16``, ``.cs8`` from GNU Radio's ``file_sink`` (see the flowgraph)."""
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(FLOWGRAPH), "iq", str(prefix), str(n)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-1000:]
