"""File replay and text parsing figures, each beside its bare numpy reference.

- unpaced ``.npy`` (float32, memory-mapped) through ``RealtimeStream`` iteration with
  ``overflow="block"`` vs a bare loop copying chunks out of the same memmap;
- a text file of Arduino-style CSV lines read by ``FileSource`` vs ``np.loadtxt`` on the same
  text;
- ``sigrok-cli -O analog`` lines read by ``ProcessSource(format="sigrok")`` from ``cat`` vs a
  line-by-line pass in Python (regex and ``float`` per line, the obvious parser);
- WAV int16 stereo replay: ``FileSource.acquire`` alone and through a stream.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
import tempfile
import time

import numpy as np
from scipy.io import wavfile

from _common import Ratio, Row, best_rate, main
from livetrace import EndOfStream, RealtimeStream
from livetrace.sources import FileSource, ProcessSource
from livetrace.testing import ArraySource


def _stream_rate(make_source: object, chunk: int, n_total: int, repeat: int) -> float:
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


def _drain(src: object) -> np.ndarray:
    """Every value a finite source delivers, concatenated (acquire until EndOfStream)."""
    parts = []
    try:
        while True:
            got = src.acquire()  # type: ignore[attr-defined]  # any source
            if got is not None and len(got):
                parts.append(np.asarray(got))
    except EndOfStream:
        pass
    finally:
        stop = getattr(src, "stop", None)
        if callable(stop):
            stop()
    return np.concatenate(parts) if parts else np.empty(0)


_SIGROK_LINE = re.compile(rb"^A(\d+): (\S+) (m?V)")


def _sigrok_line_by_line(text: bytes, n_channels: int) -> np.ndarray:
    """The obvious parser: a regex and a float per line (the reference)."""
    cols: list[list[float]] = [[] for _ in range(n_channels)]
    for line in text.splitlines():
        m = _SIGROK_LINE.match(line)
        if m:
            v = float(m.group(2))
            cols[int(m.group(1))].append(v * 1e-3 if m.group(3) == b"mV" else v)
    return np.column_stack(cols)


def run(quick: bool = False) -> tuple[list[Ratio], list[Row]]:

    rows: list[Row] = []
    ratios: list[Ratio] = []
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
        bare_rate = rows[-1].value * 1e6
        rows.append(
            Row(
                "npy replay -> RealtimeStream iteration (unpaced, block)",
                rate / 1e6,
                "MS/s",
                target=200,
                note=f"float32, {chunk}-sample chunks",
            )
        )

        in_memory = np.load(path)

        def array_source() -> ArraySource:
            return ArraySource(in_memory, 1e6, chunk_size=chunk)

        mem_rate = _stream_rate(array_source, chunk, n, repeat)
        rows.append(
            Row(
                "in-memory ArraySource -> RealtimeStream (stream cost alone)",
                mem_rate / 1e6,
                "MS/s",
                note="same chunks, no file",
            )
        )
        ratios.append(
            Ratio(
                "npy replay stream / bare memmap copy loop", rate / 1e6, bare_rate / 1e6, "memmap"
            )
        )
        ratios.append(
            Ratio("npy replay stream / in-memory array stream", rate / 1e6, mem_rate / 1e6, "array")
        )

        # -- text parsing ------------------------------------------------------------
        n_lines = 100_000 if quick else 400_000
        vals = np.random.default_rng(1).integers(0, 1024, size=(n_lines, 2))
        text = b"".join(b"%d,%d\r\n" % (a, b) for a, b in vals.tolist())
        csv = os.path.join(tmp, "arduino.csv")
        with open(csv, "wb") as fh:
            fh.write(text)

        def parse() -> int:
            got = _drain(FileSource(csv, sample_rate=1e3, speed=None))
            if got.shape != vals.shape:
                raise AssertionError(f"FileSource read {got.shape}, expected {vals.shape}")
            return vals.size

        def loadtxt() -> int:
            np.loadtxt(io.BytesIO(text), delimiter=",")
            return vals.size

        if not np.array_equal(_drain(FileSource(csv, sample_rate=1e3, speed=None)), vals):
            raise AssertionError("FileSource disagrees with the written values")
        text_rate = best_rate(parse, repeat=repeat, min_time=min_time) / 1e6
        loadtxt_rate = best_rate(loadtxt, repeat=1, min_time=min_time) / 1e6
        rows.append(
            Row(
                "FileSource, Arduino CSV lines '512,498\\r\\n'",
                text_rate,
                "M values/s",
                target=2,
            )
        )
        rows.append(Row("np.loadtxt on the same text (reference)", loadtxt_rate, "M values/s"))
        ratios.append(
            Ratio(
                "FileSource CSV / np.loadtxt", text_rate, loadtxt_rate, "np.loadtxt", "M values/s"
            )
        )

        # -- sigrok-cli -O analog text -------------------------------------------------
        sig_text, sig_rows = _sigrok_text(vals.size)
        sig_path = os.path.join(tmp, "sigrok.txt")
        with open(sig_path, "wb") as fh:
            fh.write(sig_text)
        cat = shutil.which("cat")
        if cat is not None and sys.platform != "win32":

            def parse_sigrok() -> int:
                src = ProcessSource(
                    [cat, sig_path],
                    sample_rate=1e3,
                    format="sigrok",
                    channels=2,
                    channel_names=("A0", "A1"),
                )
                src.start()
                got = _drain(src)
                if got.shape != sig_rows.shape:
                    raise AssertionError(f"sigrok read {got.shape}, expected {sig_rows.shape}")
                return sig_rows.size

            def line_by_line() -> int:
                _sigrok_line_by_line(sig_text, 2)
                return sig_rows.size

            if not np.array_equal(_sigrok_line_by_line(sig_text, 2), sig_rows):
                raise AssertionError("the reference parser disagrees with the written values")
            sig_rate = best_rate(parse_sigrok, repeat=repeat, min_time=min_time) / 1e6
            ref_rate = best_rate(line_by_line, repeat=1, min_time=min_time) / 1e6
            rows.append(
                Row(
                    "ProcessSource(format='sigrok'), lines 'A0: -3.0902 V DC'",
                    sig_rate,
                    "M values/s",
                    target=2,
                    note=f"{vals.size} values, 2 channels, from cat",
                )
            )
            rows.append(Row("line-by-line regex + float (reference)", ref_rate, "M values/s"))
            ratios.append(
                Ratio(
                    "sigrok text / line-by-line parser",
                    sig_rate,
                    ref_rate,
                    "regex + float per line",
                    "M values/s",
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
            except EndOfStream:
                pass
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
    return ratios, rows


if __name__ == "__main__":
    main("sources: file replay and text parsing", run, __doc__)
