"""Fixtures shared by every test folder: GNU Radio, run through Debian's own Python."""

from __future__ import annotations

import functools
import subprocess

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"


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
def gnuradio(request: pytest.FixtureRequest) -> None:
    """Skip without GNU Radio (fail instead when ``-m gnuradio`` asked for these tests)."""
    reason = gnuradio_missing()
    if reason is None:
        return
    if "gnuradio" in (request.config.getoption("-m") or ""):
        pytest.fail(f"-m gnuradio was selected but GNU Radio is not usable: {reason}")
    pytest.skip(
        f"GNU Radio 3.10 is not usable ({reason}); install it with "
        "'apt-get install -y --no-install-recommends gnuradio' (scripts/install-test-deps)"
    )
