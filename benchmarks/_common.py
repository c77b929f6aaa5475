"""Shared helpers of the benchmark scripts: timing, the machine's description, one table format.

Every benchmark measures each figure side by side with a reference in the same run (machines
are shared and noisy: absolute rates move 20-40 % between runs, ratios hold) and prints the
ratios first. Only public livetrace names are used, so the scripts run against any install.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Ratio",
    "Row",
    "aligned_empty",
    "alternate",
    "best_rate",
    "machine",
    "machine_busy",
    "main",
    "print_report",
    "process_cpu",
]


@dataclass(frozen=True)
class Row:
    """One measured figure: ``value`` in ``unit``, with a ``target`` when the issue set one.

    ``higher_is_better`` says which side of the target passes.
    """

    name: str
    value: float
    unit: str
    target: float | None = None
    note: str = ""
    higher_is_better: bool = True

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


@dataclass(frozen=True)
class Ratio:
    """A figure divided by its reference, both measured in this run (``target``: the issue's)."""

    name: str
    ours: float
    reference: float
    reference_name: str
    unit: str = "MS/s"
    target: float | None = None

    @property
    def value(self) -> float:
        return self.ours / self.reference if self.reference else float("nan")


def aligned_empty(n: int, dtype: Any, like: np.ndarray | None = None) -> np.ndarray:
    """``np.empty(n, dtype)`` whose page offset equals that of ``like`` (default: 0).

    Copies between arrays whose addresses differ by a small non-multiple of 64 modulo 4096 run
    up to 10x slower on these CPUs (4K aliasing); references must not fall into that trap by
    accident.
    """
    dt = np.dtype(dtype)
    raw = np.empty(n * dt.itemsize + 4096, dtype=np.uint8)
    target = 0 if like is None else like.ctypes.data % 4096
    start = (target - raw.ctypes.data) % 4096
    out: np.ndarray = raw[start : start + n * dt.itemsize].view(dt)
    return out


def best_rate(fn: Callable[[], int], *, repeat: int = 3, min_time: float = 0.2) -> float:
    """Items per second of ``fn`` (which returns how many items it did), best of ``repeat``
    runs of at least ``min_time`` seconds each."""
    best = 0.0
    for _ in range(repeat):
        n = 0
        t0 = time.perf_counter()
        while True:
            n += fn()
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        best = max(best, n / dt)
    return best


def alternate(
    fns: dict[str, Callable[[], int]], *, rounds: int = 5, min_time: float = 0.2
) -> dict[str, float]:
    """Median rate of each of ``fns``, timed in turn A B C A B C ... so that a machine whose
    speed drifts during the run affects them alike."""
    rates: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            rates[key].append(best_rate(fn, repeat=1, min_time=min_time))
    return {k: float(np.median(v)) for k, v in rates.items()}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info  # optional
    except ImportError:
        pass
    else:
        libs = [
            f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
        if libs:
            return ", ".join(libs)
    try:
        cfg: Any = np.show_config(mode="dicts")  # type: ignore[func-returns-value]
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # an unknown numpy build: say so rather than fail the benchmark
        return "unknown"


def machine() -> str:
    """One line: CPU model, cores usable here, Python, numpy and its BLAS, livetrace and its
    compiled analysis kernel."""
    import livetrace
    from livetrace.analysis import compiled_kernel

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    kernel = compiled_kernel() or "none (numpy)"
    return (
        f"{_cpu_model()}, {cores} cores usable, Python {platform.python_version()}, "
        f"numpy {np.__version__} (BLAS: {_blas()}), livetrace {livetrace.__version__} "
        f"(analysis kernel: {kernel})"
    )


def process_cpu() -> float:
    """CPU seconds this process used so far (user + system)."""
    t = os.times()
    return t.user + t.system


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (Linux /proc; NaNs elsewhere).

    Other processes' load shows here, beside each benchmark process's own CPU use.
    """
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            ticks = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan"), float("nan")
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


def print_report(title: str, ratios: list[Ratio], rows: list[Row]) -> None:
    """Print the ratios first (each figure over its same-run reference), then every figure."""
    print(f"\n== {title}")
    print(f"   machine: {machine()}")
    print("   absolute figures are this run's on this machine; compare the ratios")
    if ratios:
        print("  -- ratios (ours / reference, both measured in this run)")
        width = max(len(r.name) for r in ratios)
        for r in ratios:
            verdict = ""
            if r.target is not None:
                ok = r.value >= r.target
                verdict = f"  [{'ok' if ok else 'BELOW TARGET'}: target >= {r.target:g}]"
            print(
                f"  {r.name:<{width}}  {r.value:6.2f} x{verdict}  "
                f"({r.ours:.4g} vs {r.reference:.4g} {r.unit}: {r.reference_name})"
            )
    if rows:
        print("  -- figures")
        width = max(len(r.name) for r in rows)
        for row in rows:
            if row.target is None:
                verdict = ""
            else:
                cmp = ">=" if row.higher_is_better else "<="
                verdict = f"  [{'ok' if row.ok else 'BELOW TARGET'}: target {cmp} {row.target:g}]"
            note = f"  ({row.note})" if row.note else ""
            print(f"  {row.name:<{width}}  {row.value:>12.4g} {row.unit}{verdict}{note}")
    sys.stdout.flush()


def main(title: str, run: Callable[[bool], tuple[list[Ratio], list[Row]]], doc: str | None) -> None:
    """Command line of a benchmark script: ``--quick`` for a short smoke run."""
    parser = argparse.ArgumentParser(description=(doc or title).strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a few seconds)")
    args = parser.parse_args()
    ratios, rows = run(args.quick)
    print_report(title, ratios, rows)
