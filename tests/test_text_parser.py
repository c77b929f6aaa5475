"""TextParser: Arduino-style lines, CSV/TSV/whitespace columns, malformed lines, chunking."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrace import ConfigurationError
from livetrace.sources._text import TextParser


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
