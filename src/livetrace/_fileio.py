"""Reading binary files safely: ``pread`` into arrays, never a memory map (a file truncated
under a mapped read kills the process with SIGBUS; a short read here is a clear error)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from ._errors import SourceError

__all__ = ["check_same_file", "file_identity", "open_sequential", "pread_into"]


def open_sequential(path: Path) -> int:
    """A read-only descriptor of ``path``, advised for front-to-back reads (read ahead)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    return fd


def pread_into(fd: int, out: NDArray[Any], at: int, path: Path) -> None:
    """Fill ``out`` (contiguous) from byte ``at`` of ``fd``; a file that no longer holds those
    bytes (truncated by another program under a replay) is a SourceError naming ``path``."""
    view = memoryview(out.data).cast("B")
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], at + done)
        if got == 0:
            size = os.fstat(fd).st_size
            raise SourceError(
                f"FileSource: {str(path)!r} shrank while it was replayed: "
                f"{len(view)} bytes of samples were expected at offset {at}, the file now "
                f"has {size} bytes (truncated or rewritten by another program)"
            )
        done += got


def file_identity(st: os.stat_result) -> tuple[int, int]:
    """What tells one file from another at the same path: (device, inode)."""
    return (st.st_dev, st.st_ino)


def check_same_file(st: os.stat_result, identity: tuple[int, int], path: Path) -> None:
    """SourceError naming ``path`` when ``st`` is not the file first opened there (replaced
    by another program while it is replayed)."""
    if file_identity(st) != identity:
        raise SourceError(
            f"FileSource: {str(path)!r} was replaced by another file while it was replayed"
        )
