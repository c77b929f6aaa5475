"""File replay and text parsing figures, each beside its bare numpy reference.

- unpaced ``.npy`` (float32, memory-mapped) through ``RealtimeStream`` iteration with
  ``overflow="block"`` vs a bare loop copying chunks out of the same memmap;
- ``TextParser`` on Arduino-style CSV lines vs ``np.loadtxt`` on the same text;
- ``SigrokAnalogParser`` on ``sigrok-cli -O analog`` lines (as many values) vs its own
  line-by-line pass (the parser before vectorisation);
- WAV int16 stereo replay: ``FileSource.acquire`` alone and through a stream.
"""

from __future__ import annotations

import io
import os
import tempfile
import time

import numpy as np
from scipy.io import wavfile

from ._common import Row, best_rate, print_rows

__all__ = ["main", "run"]


def _stream_rate(make_source: object, chunk: int, n_total: int, repeat: int) -> float:
    from .._stream import RealtimeStream

    best = 0.0
    for _ in range(repeat):
        src = make_source()  # type: ignore[operator]  # a factory passed by run()
        stream = RealtimeStream.from_source(src, chunk_size=chunk, overflow="block")
        n = 0
        t0 = time.perf_counter()
        with stream:
            for c in stream:
                n += len(c.data)
        dt = time.perf_counter() - t0
        if n != n_total:
            raise AssertionError(f"stream delivered {n} samples, expected {n_total}")
        best = max(best, n / dt)
    return best


def _sigrok_text(n_values: int) -> tuple[bytes, np.ndarray]:
    """``sigrok-cli -O analog`` style text for two channels (packets of 1020 lines per
    channel, values with 4 decimals, SI prefixes as sigrok picks them) holding ``n_values``
    values, and the ``(n, 2)`` rows it encodes, in volts."""
    n = n_values // 2
    volts = np.round(np.random.default_rng(2).uniform(-10, 10, size=(n, 2)), 4)
    volts[::7] = 0.0
    lines = []
    for start in range(0, n, 1020):
        for ch in range(2):
            for v in volts[start : start + 1020, ch].tolist():
                if v == 0:
                    lines.append(b"A%d: 0.0 mV DC\n" % ch)
                elif abs(v) < 1:
                    lines.append(b"A%d: %.1f mV DC\n" % (ch, v * 1000))
                else:
                    lines.append(b"A%d: %.4f V DC\n" % (ch, v))
    text = b"".join(lines)
    rows = np.empty((n, 2))
    for ch in range(2):  # what the text says, scaled as sigrok's prefixes mean
        column = [line.split() for line in lines if line.startswith(b"A%d:" % ch)]
        rows[:, ch] = [float(f[1]) * (1e-3 if f[2] == b"mV" else 1.0) for f in column]
    return text, rows


def run(quick: bool = False) -> list[Row]:
    from ..sources import FileSource
    from ..sources._text import SigrokAnalogParser, TextParser

    rows: list[Row] = []
    repeat = 1 if quick else 3
    min_time = 0.05 if quick else 0.2
    with tempfile.TemporaryDirectory() as tmp:
        # -- .npy replay --------------------------------------------------------------
        n = 4_000_000 if quick else 32_000_000
        chunk = 262_144
        path = os.path.join(tmp, "x.npy")
        np.save(path, np.random.default_rng(0).standard_normal(n).astype(np.float32))
        out = np.empty(chunk, np.float32)

        def bare() -> int:
            mm = np.load(path, mmap_mode="r")  # a fresh map each run, as FileSource does
            for i in range(0, n, chunk):
                part = mm[i : i + chunk]
                out[: len(part)] = part
            return n

        rows.append(
            Row(
                "npy memmap: bare loop copying chunks (reference)",
                best_rate(bare, repeat=repeat, min_time=min_time) / 1e6,
                "MS/s",
                note=f"{chunk}-sample chunks",
            )
        )

        def npy_source() -> FileSource:
            return FileSource(path, sample_rate=1e6, speed=None, chunk_size=chunk)

        rate = _stream_rate(npy_source, chunk, n, repeat)
        rows.append(
            Row(
                "npy replay -> RealtimeStream iteration (unpaced, block)",
                rate / 1e6,
                "MS/s",
                target=200,
                note=f"float32, {chunk}-sample chunks",
            )
        )

        from ..sources import ArraySource

        in_memory = np.load(path)

        def array_source() -> ArraySource:
            return ArraySource(in_memory, 1e6, chunk_size=chunk)

        rows.append(
            Row(
                "in-memory ArraySource -> RealtimeStream (stream cost alone)",
                _stream_rate(array_source, chunk, n, repeat) / 1e6,
                "MS/s",
                note="same chunks, no file",
            )
        )

        # -- text parsing ------------------------------------------------------------
        n_lines = 100_000 if quick else 400_000
        vals = np.random.default_rng(1).integers(0, 1024, size=(n_lines, 2))
        text = b"".join(b"%d,%d\r\n" % (a, b) for a, b in vals.tolist())

        def parse() -> int:
            p = TextParser()
            for i in range(0, len(text), 65536):
                p.feed(text[i : i + 65536])
            p.flush()
            return vals.size

        def loadtxt() -> int:
            np.loadtxt(io.BytesIO(text), delimiter=",")
            return vals.size

        check = TextParser().feed(text)
        if not np.array_equal(check, vals):
            raise AssertionError("TextParser disagrees with the written values")
        rows.append(
            Row(
                "TextParser, Arduino CSV lines '512,498\\r\\n'",
                best_rate(parse, repeat=repeat, min_time=min_time) / 1e6,
                "M values/s",
                target=2,
                note="64 KiB pieces",
            )
        )
        rows.append(
            Row(
                "np.loadtxt on the same text (reference)",
                best_rate(loadtxt, repeat=1, min_time=min_time) / 1e6,
                "M values/s",
            )
        )

        # -- sigrok-cli -O analog text -------------------------------------------------
        sig_text, sig_rows = _sigrok_text(vals.size)

        def parse_sigrok(line_by_line: bool = False) -> int:
            p = SigrokAnalogParser(2, channel_names=("A0", "A1"))
            if line_by_line:
                p._parse_fast = lambda block: False  # type: ignore[method-assign]  # reference
            for i in range(0, len(sig_text), 65536):
                p.feed(sig_text[i : i + 65536])
            p.flush()
            return sig_rows.size

        check = SigrokAnalogParser(2).feed(sig_text)
        if not np.array_equal(check, sig_rows):
            raise AssertionError("SigrokAnalogParser disagrees with the written values")
        rows.append(
            Row(
                "SigrokAnalogParser, sigrok-cli lines 'A0: -3.0902 V DC'",
                best_rate(parse_sigrok, repeat=repeat, min_time=min_time) / 1e6,
                "M values/s",
                target=2,
                note=f"{vals.size} values as the CSV above, 2 channels, 64 KiB pieces",
            )
        )
        rows.append(
            Row(
                "SigrokAnalogParser line-by-line pass (regex + float per line, reference)",
                best_rate(lambda: parse_sigrok(True), repeat=1, min_time=min_time) / 1e6,
                "M values/s",
                note="the parser before vectorisation",
            )
        )

        # -- WAV int16 ----------------------------------------------------------------
        frames = 2_000_000 if quick else 8_000_000
        wav = os.path.join(tmp, "x.wav")
        data = (np.arange(frames * 2, dtype=np.int64) % 65536 - 32768).astype(np.int16)
        wavfile.write(wav, 48000, data.reshape(-1, 2))

        sink = np.empty((65536, 2), np.int16)

        def wav_acquire() -> int:
            src = FileSource(wav, speed=None, chunk_size=65536)
            total = 0
            try:
                while True:
                    got = src.acquire()
                    assert isinstance(got, np.ndarray)
                    sink[: len(got)] = got  # touch the samples: acquire returns map views
                    total += len(got)
            except Exception as exc:
                if type(exc).__name__ != "EndOfStream":
                    raise
            return total

        rows.append(
            Row(
                "WAV int16 stereo: FileSource.acquire + copy",
                best_rate(wav_acquire, repeat=repeat, min_time=min_time) / 1e6,
                "M frames/s",
            )
        )

        def wav_source() -> FileSource:
            return FileSource(wav, speed=None, chunk_size=65536)

        rows.append(
            Row(
                "WAV int16 stereo -> RealtimeStream (counts -> float32 scaled)",
                _stream_rate(wav_source, 65536, frames, repeat) / 1e6,
                "M frames/s",
            )
        )
    return rows


def main() -> None:
    import sys

    print_rows("sources: file replay and text parsing", run(quick="--quick" in sys.argv))
