"""TextParser: numbers in text lines (Arduino ``"512,498\\r\\n"``, CSV, TSV, whitespace columns).

Bytes arrive in arbitrary pieces (a serial port, a pipe, a file read in blocks); :meth:`feed`
parses every *complete* line and carries the incomplete last one over to the next call, so the
result never depends on where the pieces were cut. The whole block of complete lines is parsed
at once: one ``bytes.translate`` to turn separators into spaces, a few numpy passes over the
bytes to count fields per line, then one ``np.loadtxt`` call on the whole block when every
line is well formed (``bytes.split`` + ``float`` per field otherwise). Lines that fail (wrong
field count, empty field, non-numeric text) are counted in :attr:`TextParser.malformed` and
skipped; only a block that contains a non-numeric field takes a per-line conversion pass.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError

__all__ = ["TextParser"]

# byte classes
_OTHER, _SPACE, _HARD, _NEWLINE = 0, 1, 2, 3
# what bytes.split() (no argument) treats as whitespace, minus the newline
_WHITESPACE = b" \t\r\x0b\x0c"
_AUTO_DELIMITERS = b",;"
# below this many lines a block is converted with float() per field (np.loadtxt costs ~50 us)
_LOADTXT_MIN_LINES = 64


def _prev_class(cls: NDArray[np.uint8], pos: NDArray[np.intp]) -> NDArray[np.uint8]:
    """Class of the last non-space byte before each position (newline before the block).

    Vectorised over positions; loops once per byte of the longest whitespace run before one.
    """
    out = np.full(len(pos), _NEWLINE, dtype=np.uint8)
    look = pos - 1
    todo = np.arange(len(pos))
    while len(todo):
        inside = look[todo] >= 0
        todo = todo[inside]
        c = cls[look[todo]]
        out[todo] = c
        todo = todo[c == _SPACE]
        look[todo] -= 1
    return out


class TextParser:
    """Parse lines of delimited numbers into arrays, one row per line.

    Args:
        n_channels: fields expected on each line; ``None`` takes the count of the first valid
            line and keeps it from then on.
        dtype: dtype of the returned arrays. Values are parsed as float64 and converted; for
            an integer dtype a line whose values are not exactly representable (``1.5``,
            ``70000`` for int16) is malformed.
        delimiters: ``None`` (auto) separates fields by commas, semicolons or runs of
            whitespace (spaces, tabs), with whitespace around a comma ignored, so
            ``"512,498"``, ``"512, 498"``, ``"512\\t498"`` and ``"512 498"`` all give two
            fields. A string such as ``","`` or ``"\\t"`` makes only those characters
            separators (whitespace around fields is still ignored, but ``"1 2"`` is then one
            bad field). ``" "`` (or ``"whitespace"``) splits on whitespace only.
        max_line: an unterminated line longer than this many bytes is counted as malformed
            and dropped, so a device that never sends a newline cannot grow memory forever.

    Rules: a line ends with ``\\n`` (a ``\\r`` before it is ignored); a trailing separator
    (``"512,498,"``) is allowed; an empty field (``"1,,2"``, ``",1"``) or a wrong field count
    makes the line malformed; blank lines are skipped and not counted as malformed.

    Counters (they keep counting across :meth:`feed` calls; :meth:`reset` clears them):
    ``lines`` = complete non-blank lines seen (valid + malformed), ``malformed`` = lines
    skipped, ``last_malformed`` = the bytes of the last skipped line (None if none).

    Example:
        >>> p = TextParser()
        >>> p.feed(b"512,498\\r\\n513,4")
        array([[512., 498.]])
        >>> p.feed(b"97\\r\\nhello\\r\\n")
        array([[513., 497.]])
        >>> p.malformed, p.last_malformed
        (1, b'hello\\r')
    """

    def __init__(
        self,
        n_channels: int | None = None,
        dtype: Any = "float64",
        delimiters: str | bytes | None = None,
        *,
        max_line: int = 1 << 16,
    ) -> None:
        if n_channels is not None and n_channels < 1:
            raise ConfigurationError(f"n_channels must be >= 1 or None, got {n_channels!r}")
        try:
            dt = np.dtype(dtype)
        except TypeError as exc:
            raise ConfigurationError(
                f"dtype must be a numpy numeric type name, got {dtype!r}"
            ) from exc
        if dt.kind not in "iuf":
            raise ConfigurationError(f"dtype must be an integer or float type, got {dt}")
        if max_line < 1:
            raise ConfigurationError(f"max_line must be >= 1, got {max_line!r}")
        self.dtype: np.dtype[Any] = dt.newbyteorder("=")
        self.configured_channels = n_channels
        self.max_line = int(max_line)
        if isinstance(delimiters, str):
            delimiters = (
                b" " if delimiters.lower() == "whitespace" else delimiters.encode("latin-1")
            )
        if delimiters is None:
            hard = _AUTO_DELIMITERS
            self._ws_separates = True
        else:
            if not delimiters or b"\n" in delimiters:
                raise ConfigurationError(
                    f"delimiters must be separator characters other than newline, "
                    f"got {delimiters!r}"
                )
            hard = bytes(b for b in delimiters if b not in b" ")
            self._ws_separates = b" " in delimiters or not hard
        self.delimiters = delimiters
        classes = np.zeros(256, dtype=np.uint8)
        for b in _WHITESPACE:
            classes[b] = _SPACE
        for b in hard:
            classes[b] = _HARD
        classes[ord("\n")] = _NEWLINE
        self._classes = classes
        self._has_hard = bool(hard)
        self._translate = bytes.maketrans(hard + b"\r", b" " * (len(hard) + 1))
        self.reset()

    # -- state -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the carried partial line and the counters; back to the constructed state."""
        self.n_channels: int | None = self.configured_channels
        self._carry = b""
        self.lines = 0
        self.malformed = 0
        self.last_malformed: bytes | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete line waiting for its newline."""
        return len(self._carry)

    # -- parsing -----------------------------------------------------------------------
    def feed(self, data: bytes | bytearray | memoryview) -> NDArray[Any]:
        """Parse the complete lines in (carried bytes + ``data``); carry the incomplete tail.

        Returns ``(n,)`` when there is one channel (or the count is not known yet) and
        ``(n, n_channels)`` otherwise.
        """
        buf = data if isinstance(data, bytes) else bytes(data)
        if self._carry:
            buf = self._carry + buf
        end = buf.rfind(b"\n") + 1
        if end == 0:
            self._carry = buf
            self._check_overlong()
            return self._empty()
        self._carry = buf[end:]
        out = self._parse_block(buf[:end] if end < len(buf) else buf)
        self._check_overlong()
        return out

    def flush(self) -> NDArray[Any]:
        """Parse the carried partial line as a last line (at the end of a stream)."""
        if not self._carry:
            return self._empty()
        block, self._carry = self._carry + b"\n", b""
        return self._parse_block(block)

    def _check_overlong(self) -> None:
        if len(self._carry) > self.max_line:
            self.lines += 1
            self._count_bad(self._carry[:200])
            self._carry = b""

    def _count_bad(self, line: bytes) -> None:
        self.malformed += 1
        self.last_malformed = line

    def _empty(self) -> NDArray[Any]:
        n = self.n_channels
        return np.empty((0,) if n is None or n == 1 else (0, n), dtype=self.dtype)

    def _shape(self, values: NDArray[Any]) -> NDArray[Any]:
        n = self.n_channels
        if n is None or n == 1:
            return values
        return values.reshape(-1, n)

    def _parse_block(self, block: bytes) -> NDArray[Any]:
        """Parse ``block``, which ends with a newline."""
        raw = np.frombuffer(block, dtype=np.uint8)
        cls = self._classes[raw]
        newlines = np.flatnonzero(cls == _NEWLINE)
        is_field = cls == _OTHER
        starts = is_field.copy()
        starts[1:] &= ~is_field[:-1]
        start_pos = np.flatnonzero(starts)
        # fields per line: field starts before each newline, differenced
        counts = np.diff(np.searchsorted(start_pos, newlines), prepend=0)
        bad = self._bad_lines(cls, start_pos, newlines) if self._has_hard else None

        translated = block.translate(self._translate)
        n = self.n_channels
        if n is None:
            usable = counts > 0 if bad is None else (counts > 0) & ~bad
            first = np.flatnonzero(usable)
            if len(first) == 0:
                self.lines += int(
                    np.count_nonzero(counts > 0 if bad is None else (counts > 0) | bad)
                )
                self._record_bad_lines(block, newlines, bad, counts)
                return self._empty()
            n = int(counts[first[0]])
        good = counts == n
        nonblank = counts > 0
        if bad is not None:
            good &= ~bad
            nonblank |= bad
        n_nonblank = int(np.count_nonzero(nonblank))
        n_good = int(np.count_nonzero(good))
        values = None
        if n_good == n_nonblank and n_good >= _LOADTXT_MIN_LINES:
            # every line has n fields: numpy's C reader converts the block in one call
            try:
                values = np.loadtxt(
                    io.BytesIO(translated), dtype=np.float64, comments=None, ndmin=2
                ).reshape(-1)
            except ValueError:
                values = None  # a non-numeric field: the paths below find and count it
            if values is not None and len(values) != n_good * n:
                values = None
        if values is None:
            fields = translated.split()
            if n_good == n_nonblank:
                chosen: Iterable[bytes] = fields
            else:
                chosen = itertools.compress(fields, np.repeat(good, counts).tolist())
            try:
                values = np.fromiter(map(float, chosen), dtype=np.float64, count=n_good * n)
            except ValueError:
                return self._parse_lines_slow(block, newlines, counts, bad, fields)
        if self.n_channels is None and n_good:
            self.n_channels = n
        self.lines += n_nonblank
        if n_good != n_nonblank:
            self._record_bad_lines(block, newlines, nonblank & ~good, None)
        return self._finish(values, n)

    def _finish(self, values: NDArray[np.float64], n: int) -> NDArray[Any]:
        """Convert to the output dtype (rejecting inexact integer rows) and shape."""
        if self.dtype != np.float64:
            conv = values.astype(self.dtype)
            if self.dtype.kind in "iu":
                rows_ok = (conv == values).reshape(-1, n).all(axis=1)
                if not rows_ok.all():
                    n_bad = int(np.count_nonzero(~rows_ok))
                    self.malformed += n_bad
                    bad_row = values.reshape(-1, n)[np.flatnonzero(~rows_ok)[-1]]
                    self.last_malformed = ",".join(repr(float(v)) for v in bad_row).encode()
                    conv = conv.reshape(-1, n)[rows_ok].reshape(-1)
            values = conv
        return self._shape(values)

    def _bad_lines(
        self, cls: NDArray[np.uint8], start_pos: NDArray[np.intp], newlines: NDArray[np.intp]
    ) -> NDArray[np.bool_]:
        """Lines with an empty field (two separators in a row, or one at the line start), or,
        when whitespace does not separate, two fields separated by whitespace only."""
        hard_pos = np.flatnonzero(cls == _HARD)
        bad_pos = hard_pos[np.isin(_prev_class(cls, hard_pos), (_HARD, _NEWLINE))]
        if not self._ws_separates:
            bad_pos = np.concatenate([bad_pos, start_pos[_prev_class(cls, start_pos) == _OTHER]])
        lines = np.zeros(len(newlines), dtype=bool)
        if len(bad_pos):
            lines[np.searchsorted(newlines, bad_pos)] = True
        return lines

    def _record_bad_lines(
        self, block: bytes, newlines: NDArray[Any], bad: Any, counts: Any
    ) -> None:
        """Count the lines flagged in ``bad`` (bool per line) and remember the last one."""
        if bad is None:
            return
        idx = np.flatnonzero(bad)
        if len(idx) == 0:
            return
        self.malformed += len(idx)
        last = int(idx[-1])
        begin = int(newlines[last - 1]) + 1 if last > 0 else 0
        self.last_malformed = block[begin : int(newlines[last])]

    def _parse_lines_slow(
        self,
        block: bytes,
        newlines: NDArray[Any],
        counts: NDArray[Any],
        bad: Any,
        fields: list[bytes],
    ) -> NDArray[Any]:
        """Per-line conversion; taken only for blocks holding a non-numeric field."""
        n = self.n_channels
        rows: list[float] = []
        ends = np.cumsum(counts).tolist()
        count_list = counts.tolist()
        bad_list = bad.tolist() if bad is not None else [False] * len(count_list)
        for i, (c, end, is_bad) in enumerate(zip(count_list, ends, bad_list, strict=False)):
            if c == 0 and not is_bad:
                continue
            self.lines += 1
            ok = not is_bad and (n is None or c == n)
            if ok:
                try:
                    row = [float(f) for f in fields[end - c : end]]
                except ValueError:
                    ok = False
                else:
                    if n is None:
                        n = c
                    rows.extend(row)
            if not ok:
                start = int(newlines[i - 1]) + 1 if i > 0 else 0
                self._count_bad(block[start : int(newlines[i])])
        if n is None:
            return self._empty()
        self.n_channels = n
        return self._finish(np.array(rows, dtype=np.float64), n)

    def __repr__(self) -> str:
        return (
            f"TextParser(n_channels={self.n_channels}, dtype={self.dtype.name!r}, "
            f"delimiters={self.delimiters!r}, lines={self.lines}, malformed={self.malformed})"
        )
