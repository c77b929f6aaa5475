"""Helpers shared by test modules of several folders (importable from any of them: ``tests/``
is on ``sys.path`` through ``tests/conftest.py``): a free port, a real TCP peer, and the
``livetrace`` command run as a user runs it."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

DEADLINE = 10.0  # how long the peer waits for a connection, and close() for its thread


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port number on 127.0.0.1 (TCP, or ``socket.SOCK_DGRAM``) that was free a moment ago."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def livetrace_cli(
    *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m livetrace ARGS`` in ``cwd``: exit status and text output, never raising on
    a failing status."""
    return subprocess.run(
        [sys.executable, "-m", "livetrace", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class TcpPeer:
    """A TCP peer on 127.0.0.1 running ``handler(conn, index)`` for ``peers`` connections,
    then closing its listening socket (so later connection attempts are refused).

    ``release`` is an event that handlers holding a connection open can wait for; ``close()``
    sets it, joins the thread and raises what a handler raised.
    """

    def __init__(self, handler: Callable[[socket.socket, int], object], peers: int = 1) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(DEADLINE)
        self.port = int(self.sock.getsockname()[1])
        self.release = threading.Event()
        self.errors: list[BaseException] = []
        self._handler = handler
        self._peers = peers
        self.thread = threading.Thread(target=self._run, name="tcp-test-peer")
        self.thread.start()

    def _run(self) -> None:
        try:
            for i in range(self._peers):
                conn, _ = self.sock.accept()
                with conn:
                    self._handler(conn, i)
        except BaseException as exc:  # surfaced by close()
            self.errors.append(exc)
        finally:
            self.sock.close()

    def close(self) -> None:
        self.release.set()
        self.thread.join(DEADLINE)
        self.sock.close()
        assert not self.thread.is_alive()
        assert not self.errors, self.errors
