"""The optional compiled kernels of the analysers (``_kernels.c``).

``pip install`` builds them when a C compiler is present; without them every analyser uses its
numpy implementation, which gives the same results (see each analyser's notes). Setting
``LIVETRACE_NO_KERNEL=1`` in the environment makes analysers created afterwards use numpy.
"""

from __future__ import annotations

import os

__all__ = ["compiled_kernel", "kernels", "wanted"]

try:
    from . import _kernels as kernels
except ImportError:  # built without a C compiler
    kernels = None  # type: ignore[assignment]


def wanted() -> bool:
    """True when the kernels were built and the environment does not turn them off."""
    return kernels is not None and not os.environ.get("LIVETRACE_NO_KERNEL")


def compiled_kernel() -> str | None:
    """Which compiled kernel the analysers created now use: ``"avx2"``, ``"sse2"`` or
    ``"plain"`` (C without SIMD), or None when it was not built (no C compiler at install
    time) or ``LIVETRACE_NO_KERNEL`` is set; they then compute the same results with numpy."""
    return str(kernels.variant) if wanted() else None
