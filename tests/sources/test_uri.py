"""open_source(): plug-in schemes through a real ``livetrace.sources`` entry point, unknown
schemes, and constructor errors that name the source."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from livetrace import ConfigurationError, SimulatedSource, SourceUnavailableError
from livetrace.sources import (
    ArraySource,
    FileSource,
    ParsedURI,
    ProcessSource,
    SerialSource,
    TcpSource,
    UdpSource,
    ZmqSource,
    available_schemes,
    open_source,
)

PLUGIN = """
import numpy as np
from livetrace.sources import ArraySource


def from_uri(parsed):
    n = parsed.take("n", int, 4)
    return ArraySource(np.arange(n, dtype=np.float32), 100.0, chunk_size=n,
                       description="myscheme:" + parsed.target)
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An installed distribution (a ``*.dist-info`` with ``entry_points.txt`` on sys.path)
    registering the scheme ``myscheme`` in the ``livetrace.sources`` group."""
    (tmp_path / "lt_plugin_demo.py").write_text(PLUGIN)
    dist = tmp_path / "lt_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lt-plugin-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[livetrace.sources]\nMyScheme = lt_plugin_demo:from_uri\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield "myscheme"
    sys.modules.pop("lt_plugin_demo", None)


def test_a_scheme_registered_through_an_entry_point_opens(plugin: str) -> None:
    assert plugin in available_schemes()
    assert {"sim", "file", "exec", "tcp", "udp", "serial", "zmq+sub", "audio"} <= set(
        available_schemes()
    )
    src = open_source("myscheme:bench-1?n=6")
    assert isinstance(src, ArraySource)
    assert src.info.description == "myscheme:bench-1?n=6"  # the URI that opened it
    assert src.acquire().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    # the scheme is matched case-insensitively, as the entry point's name is
    assert len(open_source("MYSCHEME:x").acquire()) == 4


def test_a_plugin_scheme_rejects_parameters_it_did_not_take(plugin: str) -> None:
    with pytest.raises(ConfigurationError, match=r"myscheme: unknown parameter\(s\) gain.*n"):
        open_source("myscheme:x?n=3&gain=2")


def test_without_the_plugin_the_scheme_is_unknown_and_the_error_lists_schemes() -> None:
    assert "myscheme" not in available_schemes()
    with pytest.raises(ConfigurationError, match="unknown source scheme 'myscheme'") as err:
        open_source("myscheme:x")
    for scheme in ("sim", "file", "exec", "tcp", "udp", "serial", "zmq+sub", "audio"):
        assert scheme in str(err.value)
    with pytest.raises(ConfigurationError, match="scheme:target"):
        open_source("no-scheme-here")


def test_parsed_uri_query_is_after_the_last_question_mark() -> None:
    p = ParsedURI.parse("exec:echo a?b?sample_rate=1&format=text")
    assert (p.scheme, p.target, p.params) == (
        "exec",
        "echo a?b",
        {"sample_rate": "1", "format": "text"},
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ArraySource(np.zeros(4), 0), "ArraySource: sample_rate must be positive"),
        (lambda: ArraySource(np.zeros(4), 1, chunk_size=0), "ArraySource: chunk_size"),
        (
            lambda: TcpSource("127.0.0.1", 1, sample_rate=1, dtype="U4"),
            "TcpSource: dtype must be integer, float or complex",
        ),
        (
            lambda: UdpSource(sample_rate=1, byteorder="middle"),
            "UdpSource: byteorder must be one of",
        ),
        (
            lambda: ZmqSource("tcp://127.0.0.1:1", sample_rate=1, dtype="banana"),
            "ZmqSource: dtype must be a numpy",
        ),
        (
            lambda: SerialSource("/dev/null", sample_rate=1, dtype="complex64"),
            "SerialSource: dtype must be integer or float",
        ),
        (
            lambda: ProcessSource(["true"], sample_rate=1, dtype="banana"),
            r"ProcessSource \(true\): dtype must be a numpy",
        ),
        (
            lambda: ProcessSource(["true"], sample_rate=0),
            "ProcessSource: sample_rate must be positive",
        ),
    ],
)
def test_constructor_errors_name_the_source(make, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    raw = tmp_path / "x.raw"
    raw.write_bytes(b"\0" * 8)
    with pytest.raises(ConfigurationError, match=r"FileSource: raw file '.*x\.raw': dtype must"):
        FileSource(raw, sample_rate=1, dtype="banana")
    with pytest.raises(ConfigurationError, match="FileSource: speed must be a finite number > 0"):
        FileSource(raw, sample_rate=1, speed=-1)


@pytest.mark.parametrize(
    "uri",
    [
        "sim:sine?channels=2&amplitude=2&offset=0.5",
        "sim:square?frequency=250&sample_rate=8000&duty_cycle=0.25&realtime=0",
        "tcp://127.0.0.1:9000?dtype=int16&channels=2&sample_rate=1e6&scale=0.001&unit=V",
        "udp://127.0.0.1:9001?dtype=float32&sample_rate=1e6&seq=1",
        "exec:sox -n -t raw -e float -b 32 -r 8000 -c 1 - synth 1 sine 100"
        "?dtype=float32&sample_rate=8000&speed=1",
    ],
)
def test_the_description_is_a_uri_that_recreates_the_source(uri: str) -> None:
    first = open_source(uri)
    again = open_source(first.info.description)
    assert again.info == first.info
    assert type(again) is type(first)


def test_simulated_description_keeps_every_parameter() -> None:
    info = open_source("sim:sine?channels=2&amplitude=2&offset=0.5").info
    assert info.n_channels == 2
    src = SimulatedSource("sine", channels=2, amplitude=2, offset=0.5, realtime=False)
    again = open_source(src.info.description)
    np.testing.assert_array_equal(again.acquire(), src.acquire())  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("smi:sine", "did you mean 'sim'"),
        ("sim:sine?frequncy=1000", "did you mean 'frequency'"),
        ("sim:sine?frequency=1000?sample_rate=48000", "more than one '\\?'.*'&'"),
        ("sim:sine?scale=2", "scale/offset apply to integer samples"),
    ],
)
def test_mistakes_in_uris_get_a_pointed_message(uri: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_source(uri)


def test_a_bare_path_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    np.save(tmp_path / "cap.npy", np.arange(4.0))
    monkeypatch.chdir(tmp_path)
    for uri in ("cap.npy?sample_rate=10", str(tmp_path / "cap.npy") + "?sample_rate=10"):
        src = open_source(uri)
        assert isinstance(src, FileSource)
        assert src.info.description.startswith("file:")
    with pytest.raises(SourceUnavailableError, match="no such file"):
        open_source("missing.wav")


def test_scale_offset_and_unit_describe_integer_counts() -> None:
    src = open_source("tcp://127.0.0.1:9000?dtype=int16&sample_rate=1e3&scale=0.5&offset=1&unit=mV")
    info = src.info
    assert (info.scale, info.offset, info.units) == (0.5, 1.0, ("mV",))
    two = open_source("udp://127.0.0.1:9001?dtype=int16&channels=2&sample_rate=1e3&unit=V,A")
    assert two.info.units == ("V", "A")


@pytest.mark.parametrize("scheme", ["sim", "file", "exec", "tcp", "udp", "serial", "sigrok"])
def test_every_parameter_a_scheme_takes_is_listed(scheme: str, tmp_path: Path) -> None:
    """``livetrace sources`` lists scheme_parameters(): it must name every parameter the
    scheme's factory takes (checked by running the factory on its example)."""
    from livetrace.sources._uri import SCHEMES, ParsedURI, _load, scheme_parameters

    example = SCHEMES[scheme].example
    if scheme == "file":
        np.save(tmp_path / "capture.npy", np.zeros(4))
        example = f"file:{tmp_path / 'capture.npy'}?sample_rate=10"
    parsed = ParsedURI.parse(example)
    source = _load(SCHEMES[scheme].factory)(parsed)
    close = getattr(source, "close", None)
    if callable(close):
        close()
    listed = set(scheme_parameters(scheme))
    assert set(parsed.accepted) <= listed, set(parsed.accepted) - listed
    assert {"scale", "offset", "unit"} <= listed
