"""The command blocks of the README and docs/ run as written, and show what the text says.

Command blocks are ```console blocks. In a block of ``$ `` lines each is one command (the
other lines are its output as shown); they run in order in one directory, each bounded: the
endless ``monitor`` gets Ctrl-C after a few seconds, like a user would, and must then end
cleanly; the others end by themselves. Blocks without prompts are checked as far as a test
can: in the set-up block the virtual environment line runs as written and the install line's
extra provides every command; the test and lint lines are what CI (``.ci/run``) runs.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CONSOLE = re.compile(r"```console\n(.*?)```", re.S)


def console_blocks() -> list[tuple[str, str]]:
    return [(p.name, b) for p in DOCS for b in CONSOLE.findall(p.read_text())]


def commands() -> list[tuple[str, list[str]]]:
    """``(command, output lines shown under it)`` of every ``$`` line, in order."""
    out: list[tuple[str, list[str]]] = []
    for _, block in console_blocks():
        if not block.startswith("$ "):
            continue  # a block of commands without prompts (set-up, development)
        for line in block.splitlines():
            if line.startswith("$ "):
                out.append((line[2:].split("  #")[0].strip(), []))
            elif line.strip():
                out[-1][1].append(line)
    return out


def run_bounded(command: str, cwd: Path, seconds: float = 4.0) -> tuple[int, str, str]:
    """Run ``command`` with bash; Ctrl-C (SIGINT) after ``seconds`` if it is still running."""
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err


def _timeless(line: str) -> str:
    """A summary line without its wall-clock figures (time taken, rate)."""
    return re.sub(r"in [\d.]+ s: [\d.]+ \w?S/s", "in <t> s: <rate>", line)


# what each command's comment or shown output claims, checked on its output
def _monitor_sine(out: str) -> None:
    assert "livetrace · sim:sine" in out
    assert "freq 1000 Hz" in out
    assert "rms 0.707107" in out
    assert "stopped" in out  # Ctrl-C stopped it


def _monitor_json(out: str) -> None:
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) >= 3  # one line per update
    assert rows[-1]["samples_out"] == 48_000  # --duration 1: one second of signal
    assert rows[-1]["channels"][0]["frequency"] == pytest.approx(50.0)


def _info(out: str) -> None:
    assert "samples:      144000 (3 s)" in out
    assert "gaps:         0 (0 samples lost)" in out
    assert "statistics:   ch0: min -1  max 1  rms 0.707107" in out


def _replay(out: str) -> None:
    assert "finished" in out
    assert "at 3.00 s of 3.00 s (100%)" in out  # its position in the file
    assert "freq 1000 Hz" in out


def _export(out: str) -> None:
    assert out.strip() == "exported 144000 samples from 'capture.h5' to 'capture.wav'"


def _sources(out: str) -> None:
    for scheme in ("sim", "file", "exec", "tcp", "udp", "serial", "audio"):
        assert any(line.startswith(scheme + " ") for line in out.splitlines()), scheme


def _devices(out: str) -> None:
    assert "audio inputs (PortAudio):" in out
    assert "serial ports (pyserial):" in out


#: commands that run until Ctrl-C ("Ctrl-C stops")
ENDLESS = {"livetrace monitor sim:sine"}

CLAIMS = {
    "livetrace monitor sim:sine": _monitor_sine,
    "livetrace monitor 'sim:square?frequency=50' --duration 1 --json": _monitor_json,
    "livetrace info capture.h5": _info,
    "livetrace replay capture.h5 --speed 2": _replay,
    "livetrace export capture.h5 -o capture.wav": _export,
    "livetrace sources": _sources,
    "livetrace devices": _devices,
}


@pytest.mark.slow
def test_every_command_line_runs_as_written(tmp_path: Path) -> None:
    cmds = commands()
    assert [c for c, _ in cmds if c not in CLAIMS and not c.startswith("livetrace record")] == []
    for command, shown in cmds:
        code, out, err = run_bounded(command, tmp_path, 4.0 if command in ENDLESS else 60.0)
        assert code == 0, f"{command}: exit {code}\n{err}"
        assert "Traceback" not in err, f"{command}\n{err}"
        if shown:  # the output as shown, but for the wall-clock figures
            assert [_timeless(x) for x in out.splitlines()] == [_timeless(x) for x in shown], (
                command
            )
        if command in CLAIMS:
            CLAIMS[command](out)
    assert (tmp_path / "capture.wav").stat().st_size > 144_000 * 4


def test_blocks_without_prompts_are_the_ones_checked() -> None:
    blocks = [b for _, b in console_blocks() if not b.startswith("$ ")]
    lines = [ln.split("  #")[0].strip() for b in blocks for ln in b.splitlines()]
    ci = (ROOT / ".ci" / "run").read_text()
    setup = [
        "python3 -m venv .venv && . .venv/bin/activate",  # run below
        "pip install -e '.[cli]' && livetrace monitor sim:sine",  # extra and monitor: below
    ]
    in_ci = [ln for ln in lines if ln not in setup and ln in ci]
    assert lines[:3] == [*setup, "scripts/install-test-deps && python -m pytest -q"]
    assert "scripts/install-test-deps && python -m pytest -q" in in_ci
    (lint,) = [ln for ln in lines if ln.startswith("ruff check")]
    assert all(part in ci for part in lint.split(" && "))  # ruff, ruff format, mypy


def test_the_cli_extra_installs_every_command() -> None:
    """`pip install -e '.[cli]'` gives the whole command line: the dashboard's and the
    recordings' dependencies are in the extra."""
    (line,) = re.findall(r"^cli = \[(.*)\]", (ROOT / "pyproject.toml").read_text(), re.M)
    names = {re.split(r"[<>=\[ ]", req.strip(' "'))[0].lower() for req in line.split(",")}
    assert {"click", "rich", "h5py"} <= names


def test_install_test_deps_waits_for_the_package_lock() -> None:
    script = (ROOT / "scripts" / "install-test-deps").read_text()
    assert "DPkg::Lock::Timeout=" in script
    assert script.count('"${lock[@]}"') == 2  # update and install
    assert " tmux" in script  # the terminal test of the live view


@pytest.mark.slow
def test_the_virtual_environment_line_runs_as_written(tmp_path: Path) -> None:
    """It gives a ``python`` and a ``pip`` of their own, which install into the venv."""
    line = "python3 -m venv .venv && . .venv/bin/activate"
    probe = "python -c 'import sys; print(sys.prefix)' && pip --version"
    r = subprocess.run(
        ["bash", "-c", f"{line} && {probe}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert r.returncode == 0, r.stderr
    prefix, pip = r.stdout.splitlines()[:2]
    assert Path(prefix) == tmp_path / ".venv"
    assert str(tmp_path / ".venv") in pip


def test_missing_extra_hint_fits_a_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """From a checkout (editable install) the hint is the command that works there."""
    from livetrace import MissingExtraError
    from livetrace._errors import require

    monkeypatch.chdir(ROOT)
    with pytest.raises(MissingExtraError) as err:
        require("no_such_module_for_the_test", "zmq")
    assert str(err.value).endswith("install it with: pip install -e '.[zmq]'")
    monkeypatch.chdir(ROOT / "docs")
    with pytest.raises(MissingExtraError) as err:
        require("no_such_module_for_the_test", "zmq")
    assert str(err.value).endswith(f"install it with: pip install -e '{ROOT}[zmq]'")
