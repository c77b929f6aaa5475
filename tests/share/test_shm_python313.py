"""Shared memory under Python 3.13, whose ``SharedMemory(track=False)`` readers use (3.10-3.12
open the segment with ``shm_open`` instead, which the rest of tests/share covers): a reader
that exits leaves the publisher's segment alone and warns of no leak; the publisher's exit,
clean or killed, removes it.

Runs when a CPython 3.13 is on the machine (pyenv's, or ``python3.13`` on the PATH), in a
virtual environment with numpy and scipy made once per session (about 25 s).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SRC = str(Path(__file__).parents[2] / "src")
SHM_DIR = Path("/dev/shm")

READER = r"""
import sys, numpy as np
from livetrace.sources import ShmSource
src = ShmSource(sys.argv[1], timeout=5.0)
got = 0
while got < 20000:
    block = src.read(copy=True)  # start_index: the publisher's absolute index
    if block is None:
        continue
    expect = np.arange(block.start_index, block.start_index + len(block.data), dtype=float)
    assert (block.data[:, 0] == expect).all(), "not the ramp"
    got += len(block.data)
print("read", got, flush=True)
"""


def _find_python313() -> str | None:
    candidates = [shutil.which("python3.13"), *sorted(glob.glob(os.path.expanduser(
        "~/.pyenv/versions/3.13*/bin/python3.13")))]  # fmt: skip
    for exe in candidates:
        if exe is None:
            continue
        probe = subprocess.run(
            [exe, "-c", "import sys; assert sys.version_info[:2] == (3, 13)"],
            capture_output=True,
        )
        if probe.returncode == 0:
            return exe
    return None


@pytest.fixture(scope="session")
def python313(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python 3.13 with numpy and scipy, running livetrace from this checkout."""
    if sys.platform != "linux":
        pytest.skip("POSIX shared memory under /dev/shm")
    exe = _find_python313()
    if exe is None:
        pytest.skip("no CPython 3.13 on this machine")
    venv = tmp_path_factory.mktemp("py313")
    subprocess.run([exe, "-m", "venv", str(venv)], check=True, capture_output=True)
    py = str(venv / "bin" / "python")
    install = subprocess.run(
        [py, "-m", "pip", "install", "-q", "numpy>=1.24", "scipy>=1.10"],
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        pytest.skip(f"numpy/scipy could not be installed for Python 3.13: {install.stderr[-300:]}")
    return py


def _run(py: str, *args: str, **kw: object) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=SRC, LIVETRACE_NO_KERNEL="1")
    return subprocess.Popen(
        [py, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kw
    )  # type: ignore[call-overload]


def test_readers_exit_without_removing_the_segment_or_warning(python313: str) -> None:
    name = f"t313-{uuid.uuid4().hex[:8]}"
    seg = SHM_DIR / f"livetrace-{name}"
    pub = _run(python313, str(HERE / "_shm_publisher.py"), name, "-1", "500", "65536", "0.001")
    try:
        assert pub.stdout is not None
        assert pub.stdout.readline().strip() == "ready"
        for _ in range(2):  # a second reader attaches after the first one exited
            reader = _run(python313, "-c", READER, name)
            out, err = reader.communicate(timeout=60)
            assert reader.returncode == 0, err
            assert out.startswith("read ")
            assert "leaked" not in err
            assert "resource_tracker" not in err
            assert seg.exists(), "a reader's exit removed the publisher's segment"
            assert pub.poll() is None
        pub.send_signal(signal.SIGKILL)
        pub.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while seg.exists():  # the killed publisher's resource tracker removes it
            assert time.monotonic() < deadline, "a killed publisher's segment was leaked"
            time.sleep(0.05)
    finally:
        if pub.poll() is None:
            pub.kill()
            pub.communicate(timeout=30)


def test_clean_close_removes_the_segment(python313: str) -> None:
    name = f"t313-{uuid.uuid4().hex[:8]}"
    pub = _run(python313, str(HERE / "_shm_publisher.py"), name, "30000", "500", "65536", "0")
    out, err = pub.communicate(timeout=60)
    assert pub.returncode == 0, err
    assert out.split() == ["ready", "done", "30000"]
    assert "leaked" not in err
    assert not (SHM_DIR / f"livetrace-{name}").exists()
