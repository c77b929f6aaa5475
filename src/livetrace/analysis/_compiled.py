"""The optional compiled kernels of the analysers (``_kernels.c``).

``pip install`` builds them when a C compiler is present; without them every analyser uses its
numpy implementation, which gives the same results (see each analyser's notes). Setting
``LIVETRACE_NO_KERNEL=1`` in the environment makes analysers created afterwards use numpy.
"""

from __future__ import annotations

import os

__all__ = ["kernels", "wanted"]

try:
    from . import _kernels as kernels
except ImportError:  # built without a C compiler
    kernels = None  # type: ignore[assignment]


def wanted() -> bool:
    """True when the kernels were built and the environment does not turn them off."""
    return kernels is not None and not os.environ.get("LIVETRACE_NO_KERNEL")
