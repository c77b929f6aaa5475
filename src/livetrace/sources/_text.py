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
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._errors import ConfigurationError
from ._raw import parse_dtype

__all__ = ["SigrokAnalogParser", "TextParser"]

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


class _LineParser:
    """What the line parsers share: the carried partial line and the line counters."""

    def _reset_lines(self) -> None:
        self._carry = b""
        self.lines = 0
        self.malformed = 0
        self.last_malformed: bytes | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete line waiting for its newline."""
        return len(self._carry)


class TextParser(_LineParser):
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
        dt = parse_dtype(dtype, "native", kinds="iuf")
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
        self._reset_lines()

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


# ---------------------------------------------------------------------------------- sigrok
_SI_PREFIX: dict[str, float] = {
    "p": 1e-12,
    "n": 1e-9,
    "µ": 1e-6,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
}
# base units sigrok prints after an SI prefix (mV, kHz, µA, ms, MΩ ...)
_SI_UNITS = frozenset(["V", "A", "Ω", "F", "H", "Hz", "s", "W", "Wh", "S", "g", "Vrms"])
# one line: NAME ":" whitespace VALUE [whitespace UNIT] ...; bytes, so \s is ASCII whitespace
_SIGROK_LINE = re.compile(rb"^\s*([^:\s][^:]*):\s+(\S+)(?:\s+(\S+))?")
# byte classes of the sigrok block scan: what bytes.split() calls whitespace, line breaks
# (\n and \r, as bytes.splitlines()), the colon, anything else
_S_SPACE, _S_BREAK, _S_OTHER, _S_COLON = 0, 1, 2, 3
_SIGROK_CLASSES = np.full(256, _S_OTHER, dtype=np.uint8)
_SIGROK_CLASSES[list(b" \t\x0b\x0c")] = _S_SPACE
_SIGROK_CLASSES[list(b"\r\n")] = _S_BREAK
_SIGROK_CLASSES[ord(":")] = _S_COLON
_KEY_BYTES = 7  # names and units up to 7 bytes are keyed as uint64 (bytes + length)
# _BYTE_MASKS[n]: the low n bytes of a uint64 (n = 0..9, 8 and 9 all of them)
_BYTE_MASKS = np.array([(1 << (8 * min(n, 8))) - 1 for n in range(10)], dtype=np.uint64)
_PAIRS = np.uint64(0x00FF00FF00FF00FF)
_QUADS = np.uint64(0x0000FFFF0000FFFF)
_OCTETS = np.uint64(0x00000000FFFFFFFF)
_ONES = np.uint64(0x0101010101010101)
_DESCENDING = np.uint64(0x0001020304050607)  # byte j holds 7 - j
_TOP = np.uint64(56)
_POW10_INT = 10 ** np.arange(9, dtype=np.int64)
_POW10 = 10.0 ** np.arange(9)


def _unit_factor(unit: str) -> tuple[float, str]:
    """``"mV"`` -> ``(1e-3, "V")``; a unit without a known prefix -> ``(1.0, unit)``."""
    if len(unit) >= 2 and unit[0] in _SI_PREFIX and unit[1:] in _SI_UNITS:
        return _SI_PREFIX[unit[0]], unit[1:]
    return 1.0, unit


def _keys(words: Any, start: NDArray[np.intp], length: NDArray[np.intp]) -> Any:
    """A uint64 per token: its (at most 7) bytes and its length, so that equal keys mean
    equal tokens. ``words[i]`` holds the 8 bytes from byte ``i`` (see :func:`_words`);
    ``length`` 0 gives the key of the empty token."""
    return (words[start] & _BYTE_MASKS[length]) | (length.astype(np.uint64) << np.uint64(56))


def _words(block: bytes) -> Any:
    """``w[i]`` = the 8 bytes of ``block`` from byte ``i`` as a little-endian uint64 (an
    overlapping, unaligned view of the block padded with zeros)."""
    padded = np.frombuffer(block + bytes(8), dtype=np.uint8)
    return np.ndarray((len(block),), dtype="<u8", buffer=padded, strides=(1,))


def _digits_value(digits: Any) -> Any:
    """The integer written by the 8 digit values (0..9) in the bytes of each uint64, the
    first byte the most significant (a byte that is not part of the number must be 0)."""
    v = (digits * 10 + (digits >> 8)) & _PAIRS
    v = (v * 100 + (v >> 16)) & _QUADS
    return ((v * 10000 + (v >> 32)) & _OCTETS).astype(np.int64)


def _decimals(words: Any, start: NDArray[np.intp], length: NDArray[np.intp]) -> tuple[Any, Any]:
    """Parse the tokens (``words`` from :func:`_words`) that are plain decimals of at most
    8 bytes, ``[+-]digits[.digits]`` with at least one digit, in numpy; ``(values, plain)``
    with ``plain`` False for the other tokens (their value is garbage).

    Exactly ``float(token)``: the digits make an integer ``M < 10**8`` and the value is
    ``M / 10**k`` (``k`` digits after the point), one correctly rounded division of two
    exactly represented numbers, so the nearest double to the decimal, as ``float`` gives.
    """
    size = np.minimum(length, 8)
    word = (words[start] & _BYTE_MASKS[size]).astype("<u8", copy=False)
    chars = word.view(np.uint8).reshape(-1, 8)
    digit = chars - np.uint8(48)
    is_digit = digit < 10
    is_point = chars == 46
    point_bits = is_point.view("<u8").reshape(-1)  # byte j is 1 where char j is a point
    n_digits = (is_digit.view("<u8").reshape(-1) * _ONES) >> _TOP  # sum of the 8 bytes
    n_points = (point_bits * _ONES) >> _TOP
    negative = chars[:, 0] == 45
    signed = negative | (chars[:, 0] == 43)
    plain = (
        (length <= 8)
        & (n_digits > 0)
        & (n_points <= 1)
        & (n_digits + n_points + signed == size)  # nothing else inside the token
    )
    digit *= is_digit
    digits = digit.view("<u8").reshape(-1)
    # the point's byte index (one byte set at p: the product's top byte is byte 7 - p of
    # _DESCENDING, which is p), or the token size without a point
    point = np.where(n_points == 1, (point_bits * _DESCENDING) >> _TOP, size).astype(np.intp)
    before = _digits_value(digits & _BYTE_MASKS[point]) // _POW10_INT[8 - point]
    after = _digits_value(digits & ~_BYTE_MASKS[point + 1]) // _POW10_INT[8 - size]
    k = np.where(n_points == 1, size - 1 - point, 0)
    values = (before * _POW10_INT[k] + after) / _POW10[k]
    np.negative(values, out=values, where=negative)
    return values, plain


def _group(keys: Any) -> tuple[Any, Any]:
    """``(index of each distinct key's first occurrence, group of every item)``, groups
    numbered in order of first occurrence. Sorts only the runs of equal keys (sigrok
    prints a channel's values in runs of a packet)."""
    n = len(keys)
    run_start = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    _, first_run, inverse = np.unique(keys[run_start], return_index=True, return_inverse=True)
    order = np.argsort(first_run, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    run_group = rank[inverse.reshape(-1)]
    groups = np.repeat(run_group, np.diff(np.append(run_start, n)))
    return run_start[first_run[order]], groups


class SigrokAnalogParser(_LineParser):
    """Parses ``sigrok-cli -O analog`` output: ``"A0: -10.0000 V DC"`` lines.

    sigrok prints one line per sample and channel, channel by channel in packets (1020 lines
    of A0, then 1020 of A2, ...), and scales each value with an SI prefix (``"0.0 mV"``,
    ``"3.0902 V"``). This parser converts every value to the base unit (V, A, Hz...) and
    re-assembles rows: channel ``k`` of row ``i`` is the ``i``-th value seen for channel
    ``channel_names[k]`` (or, without names, for the ``k``-th channel name seen). Rows come out
    when every channel has a value for them. Lines that do not fit (unknown channel when names
    are given, a value that is not a number) are counted in :attr:`malformed`; a channel
    beyond ``n_channels`` counts as malformed too. :attr:`units` holds the base unit seen per
    channel. Interface as :class:`TextParser` (``feed``/``flush``/``reset``).

    A line is ``NAME: VALUE [UNIT ...]``: the name is the text before the first colon
    (surrounding whitespace removed), a colon and whitespace follow, then the value (a Python
    ``float`` literal) and optionally the unit; anything after is ignored. Lines end with
    ``\\n``, ``\\r\\n`` or ``\\r``; whitespace is ASCII whitespace; blank lines are skipped.

    Speed: the complete lines of a ``feed`` are parsed as one block. One numpy pass classifies
    the bytes, the fields of every line are located from that, names and units are keyed and
    grouped with numpy (one Python step per distinct channel or unit, not per line), the
    values are converted by one ``float`` map over ``bytes.split()`` and scaled with a factor
    array. A block holding a line of another shape (a name with spaces, a missing value, a
    name or unit longer than 7 bytes, a value ``float`` rejects) is parsed line by line with
    a regular expression instead, with the same results.
    """

    def __init__(
        self, n_channels: int = 1, dtype: Any = "float64", channel_names: Sequence[str] = ()
    ) -> None:
        if n_channels < 1:
            raise ConfigurationError(f"channels must be >= 1, got {n_channels!r}")
        if channel_names and len(channel_names) != n_channels:
            raise ConfigurationError(
                f"channel_names must have {n_channels} entries, got {list(channel_names)!r}"
            )
        self.n_channels = int(n_channels)
        self.dtype = np.dtype(dtype)
        self.fixed_names = tuple(channel_names)
        self.reset()

    def reset(self) -> None:
        """Forget the carried partial line, the pending values and the counters."""
        self.names: list[str] = list(self.fixed_names)
        self.units: dict[str, str] = {}
        self._values: dict[str, list[NDArray[np.float64]]] = {n: [] for n in self.names}
        self._counts: dict[str, int] = dict.fromkeys(self.names, 0)
        self._reset_lines()

    def feed(self, data: bytes | bytearray | memoryview) -> NDArray[Any]:
        """Parse the complete lines of (carried bytes + ``data``); return the complete rows."""
        buf = data if isinstance(data, bytes) else bytes(data)
        if self._carry:
            buf = self._carry + buf
        end = buf.rfind(b"\n") + 1
        self._carry = buf[end:]
        if end:
            self._parse(buf[:end] if end < len(buf) else buf)
        return self._ready()

    def flush(self) -> NDArray[Any]:
        """Parse the carried partial line (end of stream)."""
        block, self._carry = self._carry, b""
        if block:
            self._parse(block + b"\n")
        return self._ready()

    # -- parsing -----------------------------------------------------------------------
    def _parse(self, block: bytes) -> None:
        """Parse ``block`` (ending with a line break) into the per-channel pending values."""
        if not self._parse_fast(block):
            self._parse_lines(block)

    def _parse_fast(self, block: bytes) -> bool:
        """The vectorised parse; False (nothing changed) when a line needs the regex."""
        raw = np.frombuffer(block, dtype=np.uint8)
        cls = _SIGROK_CLASSES.take(raw)
        is_tok = cls >= _S_OTHER
        edge = np.diff(is_tok.view(np.int8), prepend=np.int8(0), append=np.int8(0))
        tok_start = np.flatnonzero(edge == 1)
        tok_end = np.flatnonzero(edge == -1)  # one past the last byte
        breaks = np.flatnonzero(cls == _S_BREAK)
        per_line = np.diff(np.searchsorted(tok_start, breaks), prepend=0)
        lines = np.flatnonzero(per_line)
        if len(lines) == 0:
            return True
        count = per_line[lines]
        first = np.cumsum(per_line)[lines] - count  # token index of each line's name
        if not (count >= 2).all():
            return False
        n_start, n_end = tok_start[first], tok_end[first] - 1  # name, without its colon
        colons = np.flatnonzero(cls == _S_COLON)
        n_colons = np.searchsorted(colons, n_end, "right") - np.searchsorted(colons, n_start)
        if not (
            (raw[n_end] == ord(":")).all()
            and (n_colons == 1).all()
            and (n_end > n_start).all()
            and (n_end - n_start <= _KEY_BYTES).all()
        ):
            return False
        has_unit = count >= 3
        u_tok = np.where(has_unit, first + 2, 0)
        u_start = tok_start[u_tok]
        u_len = np.where(has_unit, tok_end[u_tok] - u_start, 0)
        if not (u_len <= _KEY_BYTES).all():
            return False
        words = _words(block)
        v_start = tok_start[first + 1]
        values, plain = _decimals(words, v_start, tok_end[first + 1] - v_start)
        if not plain.all():  # exponents, inf/nan, long numbers: float() decides
            odd = np.flatnonzero(~plain)
            ends = tok_end[first + 1]
            try:
                values[odd] = [float(block[v_start[i] : ends[i]]) for i in odd.tolist()]
            except ValueError:
                return False  # a value that is not a number: the line-by-line pass counts it
        name_first, name_of = _group(_keys(words, n_start, n_end - n_start))
        unit_first, unit_of = _group(_keys(words, u_start, u_len))
        factors = np.empty(len(unit_first))
        bases = []
        for k, line in enumerate(unit_first.tolist()):
            unit = block[u_start[line] : u_start[line] + u_len[line]].decode("utf-8", "replace")
            factors[k], base = _unit_factor(unit)
            bases.append(base)
        values *= factors[unit_of]
        self.lines += len(lines)
        rejected = []
        for g, line in enumerate(name_first.tolist()):
            name = block[n_start[line] : n_end[line]].decode("utf-8", "replace")
            pending = self._values.get(name)
            if pending is None:
                if self.fixed_names or len(self.names) >= self.n_channels:
                    rejected.append(g)
                    continue
                self.names.append(name)
                pending = self._values[name] = []
                self._counts[name] = 0
            mine = name_of == g
            pending.append(values[mine])
            self._counts[name] += len(pending[-1])
            last = int(np.flatnonzero(mine)[-1])
            self.units[name] = bases[int(unit_of[last])]
        if rejected:
            bad = np.flatnonzero(np.isin(name_of, rejected))
            self.malformed += len(bad)
            line = int(lines[bad[-1]])
            begin = int(breaks[line - 1]) + 1 if line else 0
            self.last_malformed = block[begin : int(breaks[line])]
        return True

    def _bad(self, line: bytes) -> None:
        self.malformed += 1
        self.last_malformed = line

    def _parse_lines(self, block: bytes) -> None:
        """Line by line with the regular expression (blocks with odd lines only)."""
        new: dict[str, list[float]] = {}
        for line in block.splitlines():
            if not line.strip():
                continue
            self.lines += 1
            m = _SIGROK_LINE.match(line)
            if m is None:
                self._bad(line)
                continue
            try:
                number = float(m.group(2))
            except ValueError:
                self._bad(line)
                continue
            name = m.group(1).strip().decode("utf-8", "replace")
            if name not in self._values:
                if self.fixed_names or len(self.names) >= self.n_channels:
                    self._bad(line)
                    continue
                self.names.append(name)
                self._values[name] = []
                self._counts[name] = 0
            factor, base = _unit_factor((m.group(3) or b"").decode("utf-8", "replace"))
            self.units[name] = base
            new.setdefault(name, []).append(number * factor)
        for name, values in new.items():
            self._values[name].append(np.array(values, dtype=np.float64))
            self._counts[name] += len(values)

    def _ready(self) -> NDArray[Any]:
        """The rows every channel has a value for, removed from the pending values."""
        n = 0
        if len(self.names) == self.n_channels:
            n = min(self._counts[name] for name in self.names)
        if n == 0:
            shape = (0,) if self.n_channels == 1 else (0, self.n_channels)
            return np.empty(shape, dtype=self.dtype)
        out = np.empty((n, self.n_channels), dtype=self.dtype)
        for k, name in enumerate(self.names):
            pending = self._values[name]
            column = pending[0] if len(pending) == 1 else np.concatenate(pending)
            out[:, k] = column[:n]
            self._values[name] = [column[n:]] if len(column) > n else []
            self._counts[name] -= n
        return out.reshape(-1) if self.n_channels == 1 else out

    def __repr__(self) -> str:
        return (
            f"SigrokAnalogParser(n_channels={self.n_channels}, names={self.names!r}, "
            f"lines={self.lines}, malformed={self.malformed})"
        )
