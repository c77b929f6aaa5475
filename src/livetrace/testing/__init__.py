"""Tools for testing sources: the conformance check plug-in authors run on their own source,
and test doubles (an array-backed source, a finite ramp, a silent blocking source).

    >>> import numpy as np
    >>> from livetrace.testing import ArraySource, check_source
    >>> check_source(lambda: ArraySource(np.zeros((500, 2)), 100, chunk_size=64)).ok
    True
"""

from __future__ import annotations

from ..sources._array import ArraySource
from ._conformance import CheckResult, SourceReport, check_source
from ._doubles import BlockingSource, JumpSource, RampSource

__all__ = [
    "ArraySource",
    "BlockingSource",
    "CheckResult",
    "JumpSource",
    "RampSource",
    "SourceReport",
    "check_source",
]
