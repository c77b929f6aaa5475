"""Test doubles shared by the recording tests (``from _recording_helpers import ...``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from livetrace import Block, EndOfStream, RealtimeSource, SourceInfo


class JumpSource(RealtimeSource):
    """Blocks of ``block`` samples whose values are their absolute indices (channel ``c``
    scaled by ``factors[c]``; one factor gives 1-D blocks); ``plan`` maps a block number to
    ("jump", k) — skip k samples before it — or ("disc", 0) — an unknown-size loss."""

    def __init__(
        self,
        n_blocks: int,
        block: int,
        plan: dict[int, tuple[str, int]],
        *,
        factors: Sequence[float] = (1.0,),
        sample_rate: float = 1000.0,
        dtype: str = "float32",
        channel_names: Sequence[str] | None = None,
        units: Sequence[str] | None = None,
    ) -> None:
        self.n_blocks, self.block, self.plan = n_blocks, block, plan
        self.factors = tuple(factors)
        self.sample_rate, self.dtype = sample_rate, dtype
        self.names = {"channel_names": channel_names, "units": units}
        self.k = 0
        self.pos = 0

    @property
    def info(self) -> SourceInfo:
        given = {k: tuple(v) for k, v in self.names.items() if v is not None}
        return SourceInfo(
            sample_rate=self.sample_rate,
            dtype=self.dtype,
            n_channels=len(self.factors),
            finite=True,
            description="jumps",
            **given,
        )

    def acquire(self) -> Block:
        if self.k >= self.n_blocks:
            raise EndOfStream("done")
        kind, amount = self.plan.get(self.k, ("", 0))
        if kind == "jump":
            self.pos += amount
        idx = np.arange(self.pos, self.pos + self.block, dtype=self.dtype)
        x = idx if len(self.factors) == 1 else np.stack([idx * f for f in self.factors], axis=1)
        blk = Block(x, self.pos, kind == "disc")
        self.pos += self.block
        self.k += 1
        return blk
