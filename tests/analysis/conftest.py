"""The analysers' two implementations: tests marked with
``pytest.mark.usefixtures("implementation")`` run once with the compiled kernels and once with
numpy (``LIVETRACE_NO_KERNEL=1``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from livetrace.analysis import _compiled


@pytest.fixture(scope="module", params=["compiled", "numpy"])
def implementation(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "compiled" and _compiled.kernels is None:
        pytest.skip("the compiled kernels were not built")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIVETRACE_NO_KERNEL", "1" if request.param == "numpy" else "")
        yield request.param
