"""TextParser (Arduino-style lines, CSV/TSV/whitespace columns) and SigrokAnalogParser:
exact values, malformed lines, chunking."""

from __future__ import annotations

import contextlib
import io
import itertools
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import ConfigurationError
from livetrace.sources._text import SigrokAnalogParser, TextParser, _decimals, _words


def feed_all(p: TextParser, data: bytes, cuts: list[int]) -> np.ndarray:
    """Feed ``data`` split at ``cuts``, then flush; concatenate the results."""
    bounds = [0, *sorted(cuts), len(data)]
    parts = [p.feed(data[a:b]) for a, b in itertools.pairwise(bounds)]
    parts.append(p.flush())
    return np.concatenate(parts)


def test_arduino_lines_exact():
    p = TextParser()
    out = p.feed(b"512,498\r\n513,497\r\n")
    np.testing.assert_array_equal(out, [[512, 498], [513, 497]])
    assert out.dtype == np.float64
    assert (p.lines, p.malformed, p.last_malformed, p.n_channels) == (2, 0, None, 2)


@pytest.mark.parametrize(
    "text",
    [
        b"1,2\n3,4\n",
        b"1\t2\n3\t4\n",
        b"1 2\n3   4\n",
        b"1;2\n3;4\n",
        b"1, 2\r\n3 ,4\r\n",
        b"1,2,\n3,4,\n",  # trailing delimiter
        b"  1 2  \n\t3\t4\t\n",
    ],
)
def test_delimiter_variants(text):
    p = TextParser()
    np.testing.assert_array_equal(p.feed(text), [[1, 2], [3, 4]])
    assert p.malformed == 0


def test_incomplete_line_is_carried_then_flushed():
    p = TextParser(2)
    assert p.feed(b"1,2\n3,").tolist() == [[1, 2]]
    assert p.pending_bytes == 2
    assert p.feed(b"4").shape == (0, 2)
    assert p.flush().tolist() == [[3, 4]]
    assert p.flush().shape == (0, 2)


def test_malformed_lines_counted_and_skipped_blank_lines_not():
    p = TextParser()
    text = (
        b"time,volt\n"  # header: non-numeric
        b"1,2\n"
        b"\n\r\n   \n"  # blank
        b"3,4,5\n"  # wrong count
        b"6,,7\n"  # empty field
        b",8,9\n"  # empty first field
        b"abc,1\n"  # non-numeric
        b"10,11\n"
    )
    np.testing.assert_array_equal(p.feed(text), [[1, 2], [10, 11]])
    assert p.malformed == 5
    assert p.lines == 7
    assert p.last_malformed == b"abc,1"


def test_channel_count_fixed_by_first_valid_line():
    p = TextParser()
    assert p.feed(b"hello world\n").shape == (0,)
    assert p.n_channels is None
    np.testing.assert_array_equal(p.feed(b"5\n6 7\n8\n"), [5, 8])
    assert p.n_channels == 1
    assert p.malformed == 2
    assert p.last_malformed == b"6 7"


def test_given_channel_count_rejects_other_counts():
    p = TextParser(3)
    out = p.feed(b"1 2\n1 2 3\n1 2 3 4\n")
    np.testing.assert_array_equal(out, [[1, 2, 3]])
    assert p.malformed == 2


def test_integer_dtype_rejects_inexact_values():
    p = TextParser(1, dtype="int16")
    out = p.feed(b"1\n2.5\n70000\n-4\n")
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out, [1, -4])
    assert p.malformed == 2


def test_explicit_delimiter():
    p = TextParser(delimiters=",")
    np.testing.assert_array_equal(p.feed(b"1,2\n1 2,3\n 4 , 5 \n"), [[1, 2], [4, 5]])
    assert p.malformed == 1
    assert p.last_malformed == b"1 2,3"
    w = TextParser(delimiters="whitespace")
    np.testing.assert_array_equal(w.feed(b"1 2\n1,2\n4\t5\n"), [[1, 2], [4, 5]])
    assert w.malformed == 1


def test_overlong_unterminated_line_is_dropped_and_counted():
    p = TextParser(1, max_line=100)
    assert len(p.feed(b"9" * 150)) == 0
    assert p.malformed == 1
    assert p.pending_bytes == 0
    np.testing.assert_array_equal(p.feed(b"\n7\n"), [7])


def test_reset_restores_constructed_state():
    p = TextParser()
    p.feed(b"1,2\nx\n3,")
    p.reset()
    assert (p.lines, p.malformed, p.last_malformed, p.n_channels, p.pending_bytes) == (
        0,
        0,
        None,
        None,
        0,
    )
    np.testing.assert_array_equal(p.feed(b"5\n"), [5])


def test_bad_arguments():
    with pytest.raises(ConfigurationError, match="n_channels"):
        TextParser(0)
    with pytest.raises(ConfigurationError, match="dtype"):
        TextParser(dtype="complex64")
    with pytest.raises(ConfigurationError, match="delimiters"):
        TextParser(delimiters="\n")


def test_matches_loadtxt_on_csv():
    rng = np.random.default_rng(3)
    data = rng.standard_normal((2000, 4))
    buf = io.StringIO()
    np.savetxt(buf, data, delimiter=",", fmt="%.17g")
    text = buf.getvalue().encode()
    p = TextParser()
    out = feed_all(p, text, [100, 5000, 5001, 40000])
    np.testing.assert_array_equal(out, np.loadtxt(io.BytesIO(text), delimiter=","))
    np.testing.assert_array_equal(out, data)


row = st.lists(
    st.one_of(
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
    ),
    min_size=3,
    max_size=3,
)
junk = st.sampled_from([b"", b"junk", b"1,2", b"1,,2,3", b"nan?", b"\r", b"  "])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.one_of(row, junk), min_size=0, max_size=60),
    seps=st.sampled_from([",", "\t", " ", ", ", ";"]),
    crlf=st.booleans(),
    data=st.data(),
)
def test_chunking_invariance_and_exact_values(rows, seps, crlf, data):
    """Any split of the byte stream gives the same rows and counts as one feed."""
    eol = b"\r\n" if crlf else b"\n"
    lines = []
    expected = []
    n_bad = 0
    for r in rows:
        if isinstance(r, bytes):
            lines.append(r)
            n_bad += bool(r.strip())
        else:
            lines.append(seps.join(repr(float(v)) for v in r).encode())
            expected.append([float(v) for v in r])
    text = eol.join(lines) + eol
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=8))
    whole = TextParser(3)
    ref = feed_all(whole, text, [])
    split = TextParser(3)
    out = feed_all(split, text, cuts)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(out.reshape(-1, 3), np.array(expected).reshape(-1, 3))
    assert split.malformed == whole.malformed == n_bad
    assert split.lines == whole.lines == len(expected) + n_bad


def test_large_block_with_one_bad_line_falls_back_exactly():
    rows = np.arange(4000, dtype=np.float64).reshape(-1, 2)
    lines = [b"%d,%d" % (a, b) for a, b in rows.astype(int).tolist()]
    lines.insert(1000, b"12,x7")  # right field count, not a number
    p = TextParser()
    out = p.feed(b"\r\n".join(lines) + b"\r\n")
    np.testing.assert_array_equal(out, rows)
    assert p.malformed == 1
    assert p.last_malformed == b"12,x7\r"
    assert p.lines == 2001


# ---------------------------------------------------------------------------------- sigrok
_LINE = re.compile(rb"^\s*([^:\s][^:]*):\s+(\S+)(?:\s+(\S+))?")
_PREFIX = {"p": 1e-12, "n": 1e-9, "µ": 1e-6, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}
_BASE = {"V", "A", "Ω", "F", "H", "Hz", "s", "W", "Wh", "S", "g", "Vrms"}


def sigrok_reference(data: bytes, n: int, fixed: tuple[str, ...] = ()) -> dict[str, Any]:
    """The documented format, line by line in plain Python: what the parser must give."""
    names = list(fixed)
    values: dict[str, list[float]] = {k: [] for k in names}
    units: dict[str, str] = {}
    lines = malformed = 0
    last = None
    for line in data.splitlines():
        if not line.strip():
            continue
        lines += 1
        m = _LINE.match(line)
        try:
            number = float(m.group(2)) if m else None
        except ValueError:
            number = None
        name = m.group(1).strip().decode("utf-8", "replace") if m else ""
        if m and number is not None and name not in values and not fixed and len(names) < n:
            names.append(name)
            values[name] = []
        if m is None or number is None or name not in values:
            malformed += 1
            last = line
            continue
        unit = (m.group(3) or b"").decode("utf-8", "replace")
        factor = 1.0
        if len(unit) >= 2 and unit[0] in _PREFIX and unit[1:] in _BASE:
            factor, unit = _PREFIX[unit[0]], unit[1:]
        units[name] = unit
        values[name].append(number * factor)
    rows = min((len(values[k]) for k in names), default=0) if len(names) == n else 0
    table = np.array([values[k][:rows] for k in names]).T.reshape(rows, n)
    return {
        "rows": table[:, 0] if n == 1 else table,
        "names": names,
        "units": units,
        "lines": lines,
        "malformed": malformed,
        "last_malformed": last,
    }


def sigrok_state(p: SigrokAnalogParser, rows: np.ndarray) -> dict[str, Any]:
    return {
        "rows": rows,
        "names": p.names,
        "units": p.units,
        "lines": p.lines,
        "malformed": p.malformed,
        "last_malformed": p.last_malformed,
    }


def assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    np.testing.assert_array_equal(got["rows"], want["rows"])
    assert np.array_equal(np.signbit(got["rows"]), np.signbit(want["rows"]))  # -0.0 kept
    assert {k: v for k, v in got.items() if k != "rows"} == {
        k: v for k, v in want.items() if k != "rows"
    }


@contextlib.contextmanager
def no_line_pass() -> Iterator[None]:
    """Make SigrokAnalogParser's line-by-line pass fail: the vectorised one must do it all."""

    def refuse(self: SigrokAnalogParser, block: bytes) -> None:
        raise AssertionError(f"line-by-line pass taken for {block[:80]!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SigrokAnalogParser, "_parse_lines", refuse)
        yield


def test_sigrok_real_output_shape_is_parsed_exactly():
    data = (
        b"".join(b"A0: %s V DC\n" % v for v in (b"-10.0000", b"10.0000", b"-0.0", b"3.0902"))
        + b"A2: 0.0 mV DC\nA2: 2.0000 V DC\nA2: 500.5 mV DC\nA2: -1.25 kV\r\n"
    )
    p = SigrokAnalogParser(2)
    out = p.feed(data)
    np.testing.assert_array_equal(
        out, [[-10.0, 0.0], [10.0, 2.0], [-0.0, 500.5 * 1e-3], [3.0902, -1250]]
    )
    assert np.signbit(out[2, 0])
    assert (p.names, p.units, p.lines, p.malformed) == (["A0", "A2"], {"A0": "V", "A2": "V"}, 8, 0)


def test_sigrok_numbers_float_accepts_beyond_plain_decimals():
    p = SigrokAnalogParser(1)
    out = p.feed(b"A0: 1.5e3 mV\nA0: -123456.789 V\nA0: inf V\nA0: 12345678901234567890 V\n")
    np.testing.assert_array_equal(out, [1.5, -123456.789, np.inf, 12345678901234567890.0])
    assert p.malformed == 0


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"A0: abc V", "value not a number"),
        (b"A0:5 V", "no space after the colon"),
        (b": 5 V", "no name"),
        (b"A0 5 V", "no colon"),
        (b"A0:", "no value"),
    ],
)
def test_sigrok_malformed_lines_are_counted_in_any_block(line, why):
    good = b"".join(b"A0: %d.5 V DC\n" % i for i in range(100))
    p = SigrokAnalogParser(1)
    out = p.feed(good + line + b"\n" + good)
    np.testing.assert_array_equal(out, np.tile(np.arange(100) + 0.5, 2), err_msg=why)
    assert (p.lines, p.malformed, p.last_malformed) == (201, 1, line)


def test_sigrok_names_with_spaces_and_long_units_take_the_line_pass_with_same_results():
    data = b"Ch 1: 2 mV\nLongChannelName: 3 V\nA0: 4 Vrmsxxxxxx\n"
    p = SigrokAnalogParser(3)
    assert_same(sigrok_state(p, p.feed(data)), sigrok_reference(data, 3))
    assert p.names == ["Ch 1", "LongChannelName", "A0"]


def test_sigrok_unknown_channels_rejected_with_fixed_names_and_beyond_count():
    data = b"B: 1 V\nA: 2 V\nB: 3 V\nC: 9 V\nA: 4 V\n" * 50
    fixed = SigrokAnalogParser(2, channel_names=["A", "B"])
    out = fixed.feed(data)
    np.testing.assert_array_equal(out, np.tile([[2.0, 1.0], [4.0, 3.0]], (50, 1)))
    assert (fixed.malformed, fixed.last_malformed) == (50, b"C: 9 V")
    free = SigrokAnalogParser(2)
    assert_same(sigrok_state(free, free.feed(data)), sigrok_reference(data, 2))
    assert free.names == ["B", "A"]


def test_sigrok_reset_and_pending_bytes():
    p = SigrokAnalogParser(1)
    assert p.feed(b"A0: 1 V\nA0: 2").tolist() == [1.0]
    assert p.pending_bytes == len(b"A0: 2")
    p.reset()
    assert (p.pending_bytes, p.lines, p.names, p.units) == (0, 0, [], {})
    assert p.feed(b"B: 7 mV\n").tolist() == [0.007]


_names = st.sampled_from([b"A0", b"A1", b"A2", b"CH 1", b"Abcdefgh9"])
_values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda v: b"%.4f" % v),
    st.integers(-(10**9), 10**9).map(lambda v: b"%d" % v),
    st.sampled_from([b"-0.0", b"0.0", b".5", b"7.", b"+3", b"1e3", b"-inf", b"x1", b"-", b"1.2.3"]),
)
_units = st.sampled_from(
    [b"", b" V", b" mV", b" \xc2\xb5A", b" kHz", b" Vrms", b" longunit", b" V DC"]
)
_ends = st.sampled_from([b"\n", b"\r\n", b"\r"])
_line = st.one_of(
    st.builds(lambda n, v, u, e: n + b": " + v + u + e, _names, _values, _units, _ends),
    st.sampled_from([b"\n", b"  \t\n", b"garbage\n", b"A0:1 V\n", b": 1 V\n"]),
)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(_line, max_size=80),
    repeat=st.integers(1, 30),
    n=st.integers(1, 3),
    fixed=st.booleans(),
    data=st.data(),
)
def test_sigrok_chunking_invariance_and_exact_values(lines, repeat, n, fixed, data):
    """Cut the byte stream anywhere: the same rows (to the bit), names, units and counters as
    feeding it whole, and as the line-by-line reference."""
    stream = b"".join(lines) * repeat
    names = ("A0", "A1", "A2")[:n] if fixed else ()
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    whole = SigrokAnalogParser(n, channel_names=names)
    want = sigrok_state(whole, feed_all(whole, stream, []))
    pieces = SigrokAnalogParser(n, channel_names=names)
    got = sigrok_state(pieces, feed_all(pieces, stream, cuts))
    assert_same(got, want)
    assert_same(want, sigrok_reference(stream + b"\n", n, names))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text("0123456789.+-e", min_size=1, max_size=10).map(str.encode),
            st.floats(allow_nan=False).map(lambda v: repr(v).encode()),
            st.decimals(places=5, allow_nan=False, allow_infinity=False).map(
                lambda d: str(d).encode()
            ),
        ),
        min_size=1,
    )
)
def test_sigrok_plain_decimals_parse_exactly_as_float(tokens):
    block = b" ".join(tokens) + b"\n"
    starts = np.cumsum([0] + [len(t) + 1 for t in tokens[:-1]])
    lengths = np.array([len(t) for t in tokens])
    values, plain = _decimals(_words(block), starts, lengths)
    plain_form = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)")
    for token, value, ok in zip(tokens, values.tolist(), plain.tolist(), strict=True):
        assert ok == (len(token) <= 8 and plain_form.fullmatch(token) is not None), token
        if ok:
            assert value == float(token), token
            assert np.signbit(value) == np.signbit(float(token)), token


_fast_line = st.builds(
    lambda n, v, u, e: n + b": " + v + u + e,
    st.sampled_from([b"A0", b"A1", b"A2", b"B"]),
    st.one_of(
        st.floats(allow_nan=False, width=32).map(lambda v: b"%.4f" % v),
        st.sampled_from([b"-0.0", b"0", b".5", b"7.", b"+3", b"1e3", b"-inf", b"123456789.5"]),
    ),
    st.sampled_from([b"", b" V", b" mV", b" \xc2\xb5A", b" kHz DC", b" Vrms"]),
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
)


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(_fast_line, max_size=60), n=st.integers(1, 3), fixed=st.booleans())
def test_sigrok_vectorised_path_matches_the_reference(lines, n, fixed):
    """Lines of the usual shape never take the line-by-line pass, and give the reference's
    rows, names, units and counters (unknown channels rejected included)."""
    stream = b"".join(lines) + b"\n"
    names = ("A0", "A1", "A2")[:n] if fixed else ()
    p = SigrokAnalogParser(n, channel_names=names)
    with no_line_pass():
        rows = feed_all(p, stream, [])
    assert_same(sigrok_state(p, rows), sigrok_reference(stream, n, names))
