"""The optional compiled kernels of the analysers (``_kernels.c``).

``pip install`` builds them when a C compiler is present; without them every analyser uses its
numpy implementation, which gives the same results (see each analyser's notes). Setting
``LIVETRACE_NO_KERNEL=1`` in the environment makes analysers created afterwards use numpy.
"""

from __future__ import annotations

import os
import warnings

__all__ = ["compiled_kernel", "kernels", "wanted"]

API = 1  # the interface of _kernels.c this code calls (its KERNELS_API)

try:
    from . import _kernels as kernels
except ImportError:  # built without a C compiler
    kernels = None  # type: ignore[assignment]

if kernels is not None and getattr(kernels, "API", None) != API:
    warnings.warn(
        f"livetrace's compiled kernel ({kernels.__file__}) was built from other sources than "
        "this livetrace (rebuild it: pip install -e . in a checkout, or reinstall); the numpy "
        "implementation is used meanwhile",
        RuntimeWarning,
        stacklevel=2,
    )
    kernels = None  # type: ignore[assignment]


def wanted() -> bool:
    """True when the kernels were built and the environment does not turn them off."""
    return kernels is not None and not os.environ.get("LIVETRACE_NO_KERNEL")


def compiled_kernel() -> str | None:
    """Which compiled kernel the analysers created now use: ``"avx2"``, ``"sse2"`` or
    ``"plain"`` (C without SIMD), or None when it was not built (no C compiler at install
    time) or ``LIVETRACE_NO_KERNEL`` is set; they then compute the same results with numpy."""
    return str(kernels.variant) if wanted() else None
