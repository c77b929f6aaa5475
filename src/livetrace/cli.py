"""Entry point of the ``livetrace`` command (``[project.scripts]``) and ``python -m livetrace``.

Only the standard library is imported here; click and rich (the ``cli`` extra) are imported
when the command runs, so ``import livetrace`` stays light. Every error ends the command with
one line on stderr and a non-zero exit code: 2 for a usage error (an option, a source URI, a
file name or a value that cannot be used), 1 for a failure while running (a source or the disk
failed, nothing was recorded), 130 after a second Ctrl-C; ``--debug`` (anywhere on the command
line) shows the traceback instead.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def _fail(message: str, code: int) -> None:
    text = " ".join(str(message).split())  # one line, whatever the exception said
    print(f"livetrace: error: {text}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); exits the process."""
    args = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere before "--" (``livetrace record ... --debug`` too): it is
    # taken out and given to the group, which is where click knows it
    end = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:end]
    if debug:
        args = ["--debug", *(a for a in args[:end] if a != "--debug"), *args[end:]]
    from ._errors import MissingExtraError, require

    try:
        require("click", "cli")
        require("rich", "cli")
    except MissingExtraError as exc:
        _fail(str(exc), 1)
    import click

    from ._cli.app import cli

    try:
        code = cli.main(args=args, prog_name="livetrace", standalone_mode=False)
    except click.exceptions.Abort:
        print("livetrace: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        if debug:
            raise
        print("livetrace: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except click.UsageError as exc:
        if debug:
            raise
        hint = ""
        if exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        _fail(f"{exc.format_message()}{hint}", 2)
    except click.ClickException as exc:
        if debug:
            raise
        _fail(exc.format_message(), exc.exit_code or 1)
    except SystemExit:
        raise
    except BaseException as exc:
        if debug or not isinstance(exc, Exception):
            raise
        from ._errors import ConfigurationError

        _fail(_describe(exc), 2 if isinstance(exc, ConfigurationError) else 1)
    raise SystemExit(code if isinstance(code, int) else 0)


def _os_text(exc: BaseException) -> str:
    """``str(exc)``, without the ``[Errno N]`` prefix of an OSError that has a strerror."""
    if isinstance(exc, OSError) and exc.strerror:
        if exc.filename is None or str(exc.filename) in exc.strerror:
            return exc.strerror
        return f"{exc.strerror}: '{exc.filename}'"
    return str(exc)


def _describe(exc: BaseException) -> str:
    """The error's message, with its cause when the message does not already include it."""
    text = _os_text(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None:
        cause_text = _os_text(cause)
        core = cause.strerror if isinstance(cause, OSError) and cause.strerror else cause_text
        if core and core not in text:
            text = f"{text}: {cause_text}"
    from ._errors import LivetraceError

    if not isinstance(exc, (LivetraceError, OSError, ValueError)):
        text = f"{type(exc).__name__}: {text}"
    return text
