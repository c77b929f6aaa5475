"""Fixtures writing files and starting peers with the real tools (GNU Radio, sigmf,
soundfile, sox, pylsl)."""

from __future__ import annotations

import subprocess
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
FLOWGRAPH = Path(__file__).with_name("gnuradio_meta_flowgraph.py")


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
