"""The examples in docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "livetrace._buffer",
    "livetrace._stream",
    "livetrace.analysis._stats",
    "livetrace.sources._base",
    "livetrace.analysis._spectrum",
    "livetrace.analysis._filter",
    "livetrace.analysis._decimate",
    "livetrace.analysis._frequency",
    "livetrace.analysis._trigger",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
    assert tried > 0, f"{name} has no examples"
