"""Runs the LSL tests inside a private network namespace (only ``lo``), so liblsl's sockets
cannot reach any other machine."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

INSIDE_ENV = "LIVETRACE_LSL_NETNS"
ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def netns_prefix() -> tuple[list[str] | None, str]:
    """``(command prefix, "")`` that runs a command in a fresh network namespace (``unshare
    -n`` as root, ``unshare -rn`` in an unprivileged user namespace), or ``(None, why not)``."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None, "unshare or ip (util-linux, iproute2) is not installed"
    errors = []
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        proc = subprocess.run(
            [*prefix, "ip", "link", "set", "lo", "up"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if proc.returncode == 0:
            return prefix, ""
        errors.append(f"{' '.join(prefix)}: {proc.stderr.decode().strip()[-120:]}")
    return None, "; ".join(errors)


def netns_missing() -> str | None:
    """Why a private network namespace cannot be made here, or None when it can."""
    prefix, why = netns_prefix()
    return None if prefix is not None else why


def test_lsl_tests_in_a_private_network_namespace() -> None:
    pytest.importorskip("pylsl")
    if os.environ.get(INSIDE_ENV) == "1":
        pytest.skip("already inside the namespace")
    reason = netns_missing()
    if reason is not None:
        pytest.skip(f"{reason}; test_lsl.py runs on loopback in this namespace instead")
    env = {**os.environ, INSIDE_ENV: "1"}
    prefix, _ = netns_prefix()
    assert prefix is not None
    proc = subprocess.run(
        [
            *prefix,
            "sh",
            "-c",
            'ip link set lo up && exec "$0" -m pytest -q -p no:cacheprovider '
            "tests/formats/test_lsl.py",
            sys.executable,
        ],
        capture_output=True,
        timeout=100,
        check=False,
        cwd=ROOT,
        env=env,
    )
    out = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode == 0, out[-4000:]
    assert " passed" in out
    assert "skipped" not in out, out[-2000:]
