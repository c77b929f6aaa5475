"""One sample-rate rule and one set of parameter checks for every analyser and transform.

Each test runs over every class of ``livetrace.analysis`` that takes a sample rate: the rate in
use is the one given, else the attached one, else the first chunk's; a chunk at another rate
is refused with the same error and message form everywhere; bare arrays are taken at the rate
in use, and refused with one message by the objects that need a rate when none is known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from livetrace import RealtimeConfig, RealtimeStream, SourceInfo, TraceMetadata, WaveformTrace
from livetrace._errors import ConfigurationError
from livetrace.analysis import (
    Decimator,
    EdgeTrigger,
    FrequencyCounter,
    GlitchTrigger,
    MinMaxDecimator,
    PulseWidthTrigger,
    RuntTrigger,
    Spectrum,
    StreamingFilter,
    WindowTrigger,
)
from livetrace.analysis._base import (
    RateResolver,
    check_choice,
    check_finite,
    check_int,
    check_nonnegative,
    check_positive,
)
from livetrace.sources import SimulatedSource

Factory = Callable[..., Any]

#: name -> (factory taking keyword arguments such as sample_rate=, needs a rate for arrays)
CLASSES: dict[str, tuple[Factory, bool]] = {
    "StreamingFilter": (lambda **kw: StreamingFilter(cutoff=10.0, order=2, **kw), True),
    "StreamingFilter-fir": (lambda **kw: StreamingFilter(b=[0.5, 0.5], **kw), False),
    "Decimator": (lambda **kw: Decimator(factor=2, **kw), False),
    "MinMaxDecimator": (lambda **kw: MinMaxDecimator(bucket=4, **kw), False),
    "Spectrum": (lambda **kw: Spectrum(nperseg=8, **kw), False),
    "FrequencyCounter": (lambda **kw: FrequencyCounter(level=0.0, hysteresis=0.1, **kw), True),
    "EdgeTrigger": (lambda **kw: EdgeTrigger(level=0.0, pre=1, post=1, **kw), True),
    "PulseWidthTrigger": (
        lambda **kw: PulseWidthTrigger(level=0.0, condition="<", width=0.01, **kw),
        True,
    ),
    "GlitchTrigger": (lambda **kw: GlitchTrigger(level=0.0, width=0.01, **kw), True),
    "RuntTrigger": (lambda **kw: RuntTrigger(low=-0.5, high=0.5, **kw), True),
    "WindowTrigger": (lambda **kw: WindowTrigger(low=-0.5, high=0.5, **kw), True),
}
NEEDS_RATE = [k for k, (_, needs) in CLASSES.items() if needs]
NO_RATE_NEEDED = [k for k, (_, needs) in CLASSES.items() if not needs]

SIGNAL = np.sin(2 * np.pi * np.arange(32) / 8)


def make(key: str, **kw: Any) -> Any:
    return CLASSES[key][0](**kw)


def owner(obj: Any) -> str:
    return type(obj).__name__


def trace(rate: float, start: int = 0, n: int = 16) -> WaveformTrace:
    data = SIGNAL[start % 8 : start % 8 + n].copy()
    return WaveformTrace(data, TraceMetadata(sample_rate=rate, start_index=start))


def conflict(obj: Any, rate: float, used: float, how: str) -> str:
    """The one message of a refused chunk, as a regular expression."""
    name = owner(obj)
    return (
        rf"^{name}: chunk sample_rate {rate!r} Hz differs from the {used!r} Hz in use "
        rf"\({how}\); "
    )


ALL = pytest.mark.parametrize("key", list(CLASSES))


@ALL
def test_given_rate_against_a_chunk_at_another_rate(key):
    obj = make(key, sample_rate=1000.0)
    assert obj.sample_rate == 1000.0
    with pytest.raises(
        ConfigurationError, match=conflict(obj, 2000.0, 1000.0, "given as sample_rate")
    ) as info:
        obj.update(trace(2000.0))
    assert str(info.value).endswith(
        "pass sample_rate=2000.0, or leave it out to take the chunks' rate"
    )
    obj.update(trace(1000.0))  # the refused chunk left nothing behind: this one still fits
    assert obj.sample_rate == 1000.0


@ALL
def test_attached_rate_wins_over_the_chunks(key):
    obj = make(key)
    obj.attach(SourceInfo(sample_rate=1000.0))
    assert obj.sample_rate == 1000.0
    with pytest.raises(
        ConfigurationError,
        match=conflict(obj, 2000.0, 1000.0, "the rate of the stream it is attached to"),
    ) as info:
        obj.update(trace(2000.0))
    assert str(info.value).endswith(
        "pass sample_rate=2000.0 if this object receives chunks at that rate "
        "(e.g. after a decimating transform)"
    )
    obj.update(trace(1000.0))
    obj.update(SIGNAL[16:24].copy())  # a bare array: at the rate in use
    obj.reset()  # an attached rate stays
    assert obj.sample_rate == 1000.0


@ALL
def test_attaching_after_a_chunk_replaces_the_chunks_rate(key):
    obj = make(key)
    obj.update(trace(1000.0))
    obj.attach(SourceInfo(sample_rate=2000.0))
    assert obj.sample_rate == 2000.0
    with pytest.raises(
        ConfigurationError,
        match=conflict(obj, 1000.0, 2000.0, "the rate of the stream it is attached to"),
    ):
        obj.update(trace(1000.0, start=16))


@ALL
def test_given_rate_wins_over_the_attached_one(key):
    obj = make(key, sample_rate=500.0)
    obj.attach(SourceInfo(sample_rate=1000.0))
    assert obj.sample_rate == 500.0
    obj.update(trace(500.0))
    with pytest.raises(
        ConfigurationError, match=conflict(obj, 1000.0, 500.0, "given as sample_rate")
    ):
        obj.update(trace(1000.0, start=16))
    obj.reset()
    assert obj.sample_rate == 500.0


@ALL
def test_rate_from_the_first_chunk_until_reset(key):
    obj = make(key)
    assert obj.sample_rate is None
    obj.update(trace(1000.0))
    assert obj.sample_rate == 1000.0
    obj.update(SIGNAL[16:24].copy())  # a bare array: at the rate in use
    with pytest.raises(
        ConfigurationError, match=conflict(obj, 2000.0, 1000.0, "the rate of its first chunk")
    ) as info:
        obj.update(trace(2000.0, start=24))
    assert str(info.value).endswith(
        f"reset() it before feeding another rate, or use one {owner(obj)} per rate"
    )
    obj.reset()  # forgets a rate learnt from chunks
    assert obj.sample_rate is None
    obj.update(trace(2000.0))
    assert obj.sample_rate == 2000.0


@ALL
def test_one_tolerance_for_the_same_rate(key):
    obj = make(key, sample_rate=1000.0)
    obj.update(trace(1000.0 * (1 + 1e-10)))  # the same rate, written differently
    with pytest.raises(ConfigurationError, match="differs from the 1000.0 Hz in use"):
        obj.update(trace(1000.0 * (1 + 1e-6), start=16))


@pytest.mark.parametrize("key", NEEDS_RATE)
def test_bare_array_without_a_known_rate_is_refused(key):
    obj = make(key)
    with pytest.raises(ConfigurationError) as info:
        obj.update(SIGNAL.copy())
    assert str(info.value) == (
        f"{owner(obj)} needs the sample rate and none is known: pass sample_rate=... (Hz), "
        "feed WaveformTrace chunks (their metadata carries it) or add it to a stream"
    )
    assert obj.sample_rate is None
    obj.update(trace(1000.0))  # the refused array left nothing behind
    assert obj.sample_rate == 1000.0


@pytest.mark.parametrize("key", NO_RATE_NEEDED)
def test_bare_array_without_a_rate_where_none_is_needed(key):
    obj = make(key)
    obj.update(SIGNAL.copy())
    assert obj.sample_rate is None
    obj.update(trace(1000.0, start=32))  # the first chunk carrying a rate fixes it
    assert obj.sample_rate == 1000.0


@ALL
def test_channel_count_is_fixed_until_reset(key):
    obj = make(key, sample_rate=1000.0)
    obj.update(SIGNAL[:16].copy())
    two = np.column_stack([SIGNAL[16:32], SIGNAL[16:32]])
    message = (
        f"{owner(obj)} was fed 1 channel(s) and now gets 2; reset() it (or use one "
        f"{owner(obj)} per stream)"
    )
    with pytest.raises(ValueError) as info:
        obj.update(two)
    assert str(info.value) == message
    after_gap = WaveformTrace(two, TraceMetadata(sample_rate=1000.0, start_index=100))
    with pytest.raises(ValueError) as info:
        obj.update(after_gap)  # a gap does not start a new channel layout
    assert str(info.value) == message
    obj.reset()
    obj.update(two)


@ALL
@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "fast", True])
def test_invalid_given_rate(key, bad):
    with pytest.raises(ConfigurationError) as info:
        make(key, sample_rate=bad)
    assert str(info.value) == f"sample_rate must be a finite number > 0, got {bad!r}"


def test_after_a_decimating_transform_the_analyser_is_given_its_rate():
    """A stream attaches analysers with the rate of what reaches them: after a decimator,
    the decimated rate (no ``sample_rate=`` needed; a given one that agrees is fine)."""
    fs, q, n = 8000.0, 4, 8000

    def run(spectrum: Spectrum) -> None:
        src = SimulatedSource(
            "sine", frequency=100.0, sample_rate=fs, chunk_size=1000, realtime=False, n_samples=n
        )
        cfg = RealtimeConfig(sample_rate=fs, chunk_size=1000, buffer_size=8000, overflow="block")
        with RealtimeStream(cfg, src, transforms=[Decimator(factor=q)], analyzers=[spectrum]) as s:
            for _ in s:
                pass

    told = Spectrum(nperseg=200, sample_rate=fs / q)
    run(told)
    assert told.result.peak_frequency == pytest.approx(100.0, rel=1e-3)
    untold = Spectrum(nperseg=200)
    run(untold)
    assert untold.sample_rate == fs / q
    assert untold.result.peak_frequency == pytest.approx(100.0, rel=1e-3)
    with pytest.raises(ConfigurationError, match="differs from"):
        run(Spectrum(nperseg=200, sample_rate=fs))  # told the input rate: refused, not wrong


def test_resolver_alone():
    r = RateResolver("Thing", None)
    assert r.see(None) is None
    with pytest.raises(ConfigurationError, match="^Thing needs the sample rate"):
        r.require(None)
    assert r.require(48000) == 48000.0
    r.forget()
    assert r.value is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: check_positive("gate", 0, " (seconds)"),
            "gate must be a finite number > 0 (seconds), got 0",
        ),
        (lambda: check_positive("gate", "1"), "gate must be a finite number > 0, got '1'"),
        (
            lambda: check_nonnegative("holdoff", -0.5),
            "holdoff must be a finite number >= 0, got -0.5",
        ),
        (
            lambda: check_nonnegative("holdoff", float("nan")),
            "holdoff must be a finite number >= 0, got nan",
        ),
        (
            lambda: check_finite("level", float("inf"), " (V)"),
            "level must be a finite number (V), got inf",
        ),
        (lambda: check_finite("level", None), "level must be a finite number, got None"),
        (lambda: check_int("pre", 2.0, 0), "pre must be an integer >= 0, got 2.0"),
        (lambda: check_int("pre", True, 0), "pre must be an integer >= 0, got True"),
        (lambda: check_int("order", 0, 1), "order must be an integer >= 1, got 0"),
        (
            lambda: check_choice("mode", "free", ("auto", "normal")),
            "mode must be one of 'auto', 'normal', got 'free'",
        ),
    ],
)
def test_parameter_checks(call, message):
    with pytest.raises(ConfigurationError) as info:
        call()
    assert str(info.value) == message


def test_parameter_checks_return_the_clean_value():
    assert check_positive("x", np.float32(2.5)) == 2.5
    assert check_positive("x", None, allow_none=True) is None
    assert check_nonnegative("x", 0) == 0.0
    assert check_finite("x", -3) == -3.0
    assert type(check_int("x", np.int64(7), 0)) is int
    assert check_choice("x", "a", ("a", "b")) == "a"
