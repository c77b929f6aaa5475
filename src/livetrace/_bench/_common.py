"""Shared helpers for the benchmarks: timing, and one table format for every figure."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Row", "best_rate", "print_rows"]


@dataclass(frozen=True)
class Row:
    """One measured figure: ``value`` in ``unit``, with the issue's ``target`` if there is one.

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


def best_rate(fn: Callable[[], int], *, repeat: int = 3, min_time: float = 0.2) -> float:
    """Items per second of ``fn`` (which returns how many items it processed), best of
    ``repeat`` runs of at least ``min_time`` seconds each."""
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


def print_rows(title: str, rows: list[Row]) -> None:
    """Print ``rows`` as an aligned table with a pass/fail mark against each target."""
    print(f"\n== {title}")
    width = max((len(r.name) for r in rows), default=10)
    for r in rows:
        if r.target is None:
            verdict = ""
        else:
            cmp = ">=" if r.higher_is_better else "<="
            verdict = f"  [{'ok' if r.ok else 'BELOW TARGET'}: target {cmp} {r.target:g}]"
        note = f"  ({r.note})" if r.note else ""
        print(f"  {r.name:<{width}}  {r.value:>12.4g} {r.unit}{verdict}{note}")
