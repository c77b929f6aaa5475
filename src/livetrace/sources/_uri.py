"""``open_source(uri)``: one string names any source (for the CLI and config files).

``scheme:target?key=value&key=value`` where the query is everything after the *last* ``?``.
Built-in schemes are listed in :data:`SCHEMES` as ``"module:function"`` so that opening a
``sim:`` source never imports pyzmq; third-party packages add schemes through the
``livetrace.sources`` entry-point group (name = scheme, value = a ``from_uri(parsed)``
callable taking a :class:`ParsedURI` and returning a source).
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from .._errors import ConfigurationError
from .._protocols import RealtimeSource

__all__ = [
    "SCHEMES",
    "ParsedURI",
    "SchemeInfo",
    "available_schemes",
    "open_source",
    "scheme_parameters",
]

T = TypeVar("T")


@dataclass(frozen=True)
class SchemeInfo:
    """A URI scheme: where its factory lives, one example, and a one-line description."""

    factory: str
    example: str
    description: str


SCHEMES: dict[str, SchemeInfo] = {
    "sim": SchemeInfo(
        "livetrace.sources._simulated:from_uri",
        "sim:sine?frequency=1e3&sample_rate=48000",
        "built-in signal generator (sine, square, triangle, sawtooth, noise, chirp, multitone)",
    ),
    "file": SchemeInfo(
        "livetrace.sources._file:from_uri",
        "file:capture.wav?speed=1",
        "replay a WAV, .npy, raw binary, CSV/text file or a livetrace recording",
    ),
    "exec": SchemeInfo(
        "livetrace.sources._process:from_uri",
        "exec:sox -n -t raw -e float -b 32 -r 48000 -c 1 - synth 10 sine 1000"
        "?dtype=float32&sample_rate=48000&speed=1",
        "run a program and stream its stdout (raw binary or text lines)",
    ),
    "sigrok": SchemeInfo(
        "livetrace.sources._process:sigrok_from_uri",
        "sigrok:demo?sample_rate=1000&channels=A0&samples=1000",
        "a sigrok device through sigrok-cli -O analog (Debian 0.7.2's exit status handled)",
    ),
    "tcp": SchemeInfo(
        "livetrace.sources._socket:tcp_from_uri",
        "tcp://127.0.0.1:9000?dtype=int16&channels=2&sample_rate=1e6",
        "raw binary samples over TCP (client, or server with listen=1)",
    ),
    "udp": SchemeInfo(
        "livetrace.sources._socket:udp_from_uri",
        "udp://127.0.0.1:9001?dtype=float32&sample_rate=1e6&seq=1",
        "raw binary samples in UDP datagrams, optional sequence-number header",
    ),
    "serial": SchemeInfo(
        "livetrace.sources._serial:from_uri",
        "serial:///dev/ttyUSB0?baudrate=115200&format=text&sample_rate=1000",
        "serial port (pyserial): Arduino-style text lines or raw binary",
    ),
    "zmq+sub": SchemeInfo(
        "livetrace.sources._zmq:from_uri",
        "zmq+sub://127.0.0.1:5555?dtype=complex64&sample_rate=1e6",
        "ZeroMQ SUB socket, GNU Radio zeromq.pub_sink raw items",
    ),
    "zmq+pull": SchemeInfo(
        "livetrace.sources._zmq:from_uri",
        "zmq+pull://127.0.0.1:5556?dtype=float32&sample_rate=1e6",
        "ZeroMQ PULL socket, GNU Radio zeromq.push_sink raw items",
    ),
    "lsl": SchemeInfo(
        "livetrace.transport._lsl:from_uri",
        "lsl:name=EEG?timeout=5",
        "Lab Streaming Layer outlet found by name or type (pylsl)",
    ),
    "audio": SchemeInfo(
        "livetrace.sources._audio:from_uri",
        "audio:default?sample_rate=48000",
        "sound card input through PortAudio (python-sounddevice)",
    ),
    "shm": SchemeInfo(
        "livetrace.transport._shm:from_uri",
        "shm://scope1?from=latest",
        "a stream another local process publishes in shared memory (ShmPublisher)",
    ),
    "redis": SchemeInfo(
        "livetrace.transport._redis:from_uri",
        "redis://127.0.0.1:6379/scope1?from=latest",
        "a stream published to a Redis stream (RedisPublisher); consumer groups",
    ),
    "rediss": SchemeInfo(
        "livetrace.transport._redis:from_uri",
        "rediss://:password@host:6380/scope1?from=start",
        "as redis://, over TLS",
    ),
}


@dataclass
class ParsedURI:
    """A source URI split into ``scheme``, ``target`` and ``params``.

    Factories read parameters with :meth:`take`, then call :meth:`finish`, which rejects any
    parameter nobody took, listing those that are accepted.
    """

    uri: str
    scheme: str
    target: str
    params: dict[str, str]
    accepted: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, uri: str) -> ParsedURI:
        """Split ``uri``; ``ConfigurationError`` if it has no ``scheme:``.

        A bare path to an existing file, or one with a file suffix livetrace reads
        (``cap.wav``, ``./x.npy``), is taken as ``file:PATH``.
        """
        if not isinstance(uri, str) or not uri.strip():
            raise ConfigurationError(
                f"a source URI looks like 'scheme:target?key=value', got {uri!r}; "
                f"schemes: {', '.join(available_schemes())}"
            )
        if _is_bare_path(uri):
            uri = "file:" + uri
        if ":" not in uri:
            raise ConfigurationError(
                f"a source URI looks like 'scheme:target?key=value', got {uri!r}; "
                f"schemes: {', '.join(available_schemes())}"
            )
        scheme, _, rest = uri.partition(":")
        scheme = scheme.strip().lower()
        query = ""
        if "?" in rest:
            rest, _, query = rest.rpartition("?")
            if scheme != "exec" and _QUERY_LIKE.search(rest):
                first = rest.index("?")
                raise ConfigurationError(
                    f"{uri!r} has more than one '?': parameters are separated by '&', e.g. "
                    f"{uri[: len(scheme) + 1 + first]}?{rest[first + 1 :]}&{query}"
                )
        if rest.startswith("//"):
            rest = rest[2:]
        params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
            if key in params:
                raise ConfigurationError(f"parameter {key!r} is given twice in {uri!r}")
            params[key] = value
        return cls(uri=uri, scheme=scheme, target=rest, params=params)

    def take(
        self,
        name: str,
        convert: Callable[[str], T],
        default: T,
        *,
        aliases: tuple[str, ...] = (),
    ) -> T:
        """Pop parameter ``name`` (or an alias) converted by ``convert``, else ``default``."""
        self.accepted.append(name)
        for key in (name, *aliases):
            if key in self.params:
                raw = self.params.pop(key)
                try:
                    return convert(raw)
                except (TypeError, ValueError) as exc:
                    raise ConfigurationError(
                        f"{self.scheme}: parameter {key}={raw!r} is invalid ({exc}) in {self.uri!r}"
                    ) from exc
        return default

    def finish(self) -> None:
        """Raise ``ConfigurationError`` if parameters remain that no factory took."""
        if self.params:
            accepted = sorted(set(self.accepted))
            hints = []
            for key in sorted(self.params):
                close = difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)
                if close:
                    hints.append(f"{key!r}: did you mean {close[0]!r}?")
            hint = f" ({'; '.join(hints)})" if hints else ""
            raise ConfigurationError(
                f"{self.scheme}: unknown parameter(s) {', '.join(sorted(self.params))} in "
                f"{self.uri!r}{hint}; accepted: {', '.join(accepted) or 'none'}"
            )


def to_bool(text: str) -> bool:
    """``1/true/yes/on`` → True, ``0/false/no/off`` → False."""
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on", ""):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a boolean (1/0, true/false), got {text!r}")


def to_speed(text: str) -> float | None:
    """A replay pace: ``1`` = real time; ``0``, ``max``, ``none`` or ``inf`` = unpaced (None)."""
    low = text.strip().lower()
    if low in ("0", "max", "none", "inf"):
        return None
    return float(text)


def to_int(text: str) -> int:
    """An integer, also written as a float such as ``1e6``."""
    value = float(text)
    if value != int(value):
        raise ValueError(f"expected an integer, got {text!r}")
    return int(value)


_QUERY_LIKE = re.compile(r"\?[A-Za-z_][A-Za-z0-9_]*=")


def _is_bare_path(uri: str) -> bool:
    """True for ``cap.wav``, ``./x.npy``, ``/data/run.h5``: a file, not ``scheme:...``."""
    head = uri.split("?", 1)[0]
    scheme = head.partition(":")[0].lower()
    if ":" in head and scheme in SCHEMES:
        return False
    if os.path.exists(head):
        return True
    from ._formats import FORMATS  # here: the formats import decoders that import this module

    suffixes = tuple(suffix for names in FORMATS.values() for suffix in names)
    return ":" not in head and head.lower().endswith(suffixes)


def _plugin_schemes() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for ep in entry_points(group="livetrace.sources"):
        found[ep.name.lower()] = ep
    return found


def available_schemes() -> list[str]:
    """Built-in and plug-in scheme names, sorted."""
    return sorted(set(SCHEMES) | set(_plugin_schemes()))


_COMMON = ("scale", "offset", "unit")
_PARAM = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)=")


def scheme_parameters(scheme: str) -> tuple[str, ...]:
    """The URI parameters a built-in scheme takes (from its factory's documented template),
    then ``scale``, ``offset`` and ``unit``, which every scheme takes for integer counts."""
    info = SCHEMES.get(scheme)
    if info is None:
        raise ConfigurationError(
            f"unknown source scheme {scheme!r}; built-in: {', '.join(SCHEMES)}"
        )
    doc = (_load(info.factory).__doc__ or "").split("\n\n")[0]
    names = list(dict.fromkeys(_PARAM.findall(doc)))
    return (*names, *(c for c in _COMMON if c not in names))


def _load(spec: str) -> Callable[[ParsedURI], RealtimeSource]:
    module, _, attr = spec.partition(":")
    fn: Callable[[ParsedURI], RealtimeSource] = getattr(importlib.import_module(module), attr)
    return fn


def open_source(uri: str) -> RealtimeSource:
    """Create the source a URI names (see :data:`SCHEMES` for one example of each).

    Raises :class:`~livetrace.ConfigurationError` (a ``ValueError``) for an unknown scheme or
    parameter, listing what is accepted, and :class:`~livetrace.MissingExtraError` when the
    scheme needs an optional dependency that is not installed.
    """
    parsed = ParsedURI.parse(uri)
    if parsed.scheme in SCHEMES:
        factory = _load(SCHEMES[parsed.scheme].factory)
    else:
        plugins = _plugin_schemes()
        if parsed.scheme not in plugins:
            names = available_schemes()
            close = difflib.get_close_matches(parsed.scheme, names, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(
                f"unknown source scheme {parsed.scheme!r} in {parsed.uri!r}{hint} "
                f"(available: {', '.join(names)})"
            )
        factory = plugins[parsed.scheme].load()
    source: Any = factory(parsed)
    # ADC scaling is common to every scheme whose samples are integer counts (a factory that
    # has a parameter of the same name, like the simulator's offset, took it already)
    scale = parsed.take("scale", float, None)
    offset = parsed.take("offset", float, None)
    units = parsed.take("unit", _units, None, aliases=("units",))
    parsed.finish()
    if isinstance(source, RealtimeSource):
        source._uri = parsed.uri
        if scale is not None or offset is not None or units is not None:
            source.calibrate(scale=scale, offset=offset, units=units)
            source.info  # noqa: B018 - refuses scale= on a source of floats, now
    elif scale is not None or offset is not None or units is not None:
        raise ConfigurationError(
            f"{parsed.scheme}: this source does not take scale=, offset= or unit= "
            f"(it does not derive from RealtimeSource), in {parsed.uri!r}"
        )
    opened: RealtimeSource = source
    return opened


def _units(text: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in text.split(","))
