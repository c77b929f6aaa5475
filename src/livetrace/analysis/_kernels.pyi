from typing import Any

API: int  # the interface version (see _compiled.py)
variant: str  # the implementation chosen at import: avx2, sse2 or plain

_Summary = tuple[int, float, float, float, float]

def blocks(samples: Any, k: float, size: int, out: Any, /) -> None: ...
def one(samples: Any, k: float, /) -> tuple[float, float, float, float]: ...
def window(summaries: Any, lo: int, m: int, size: int, edge: _Summary | None, /) -> _Summary: ...
