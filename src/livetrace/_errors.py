"""The livetrace exception tree.

Every exception livetrace raises on purpose derives from :class:`LivetraceError`; where a
builtin already says what went wrong, the livetrace class also derives from it so that plain
``except TimeoutError`` / ``except ValueError`` keeps working::

    LivetraceError
    ├── ConfigurationError (ValueError)   a parameter has the wrong value
    ├── EndOfStream                       a finite source has no more data (not a failure)
    ├── SourceError                       the world broke the source; ``__cause__`` says how
    │   └── SourceUnavailableError (ConnectionError)  could not open / reach it
    ├── BufferOverflowError               overflow="error", or "block" timed out waiting for room
    ├── BufferTimeoutError (TimeoutError) no data arrived in time
    ├── BufferClosedError                 you closed the buffer / stream
    ├── StreamStateError (RuntimeError)   the call does not fit the stream's state
    ├── SinkError                         a sink (recorder...) failed; ``__cause__`` says how
    └── MissingExtraError (ImportError)   an optional dependency is not installed
"""

from __future__ import annotations

__all__ = [
    "BufferClosedError",
    "BufferOverflowError",
    "BufferTimeoutError",
    "ConfigurationError",
    "EndOfStream",
    "LivetraceError",
    "MissingExtraError",
    "SinkError",
    "SourceError",
    "SourceUnavailableError",
    "StreamStateError",
]


class LivetraceError(Exception):
    """Root of every exception livetrace raises on purpose."""


class ConfigurationError(LivetraceError, ValueError):
    """A parameter has a value livetrace cannot use; the message names it and what is expected."""


class EndOfStream(LivetraceError):
    """Raised by a finite source's ``acquire()`` when it has no more data.

    The stream then delivers every buffered sample and ends the iteration normally.
    """


class SourceError(LivetraceError):
    """A source failed (after the retry policy gave up); ``__cause__`` is the original error.

    A source raises it with ``final=True`` when retrying cannot help (a program that exited
    with an error status): the stream then ends at once with this error, reported once.
    """

    def __init__(self, *args: object, final: bool = False) -> None:
        super().__init__(*args)
        self.final = final


class SourceUnavailableError(SourceError, ConnectionError):
    """A source could not be opened or reached (missing file, refused connection, no device)."""


class BufferOverflowError(LivetraceError):
    """A write did not fit: ``overflow="error"``, or ``"block"`` waited ``timeout`` for room.

    ``written`` is how many samples of that write were stored before giving up (0 for
    ``"error"``, which writes nothing).
    """

    def __init__(self, message: str, written: int = 0) -> None:
        super().__init__(message)
        self.written = written


class BufferTimeoutError(LivetraceError, TimeoutError):
    """A read waited ``timeout`` seconds and no data arrived."""


class BufferClosedError(LivetraceError):
    """The buffer was closed; no more reads or writes."""


class StreamStateError(LivetraceError, RuntimeError):
    """The call does not fit the stream's current state (e.g. iterating a stream never started)."""


class SinkError(LivetraceError):
    """A sink failed to take a chunk; the stream stops with this error rather than lose data."""


class MissingExtraError(LivetraceError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


def require(module: str, extra: str) -> object:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that provides it.

    The message gives the install command that works for how livetrace was installed: from a
    checkout (``pip install -e .``) ``pip install -e '.[extra]'`` (with the checkout's path when
    the current directory is elsewhere), else ``pip install 'livetrace[extra]'``.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module!r} is needed for this feature but is not installed; "
            f"install it with: {_install_command(extra)}"
        ) from exc


def _install_command(extra: str) -> str:
    """The ``pip install`` command adding ``extra`` to this installation of livetrace."""
    import json
    import os
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    try:
        direct = metadata.distribution("livetrace").read_text("direct_url.json")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        direct = None
    info = json.loads(direct) if direct else {}
    url = urlparse(str(info.get("url", "")))
    if url.scheme == "file" and "dir_info" in info:  # installed from a local directory
        path = unquote(url.path)
        here = os.path.abspath(os.curdir)
        target = "." if os.path.abspath(path) == here else path
        editable = " -e" if info["dir_info"].get("editable") else ""
        return f"pip install{editable} '{target}[{extra}]'"
    return f"pip install 'livetrace[{extra}]'"
