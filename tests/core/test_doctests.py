"""Every ``>>>`` example in the package runs and prints what it shows.

Modules are found by walking the package, so a new example can never go unchecked.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import livetrace


def _all_modules() -> list[str]:
    names = ["livetrace"]
    for info in pkgutil.walk_packages(livetrace.__path__, "livetrace."):
        names.append(info.name)
    return sorted(names)


MODULES = _all_modules()


def test_every_module_is_walked() -> None:
    assert "livetrace._stream" in MODULES
    assert "livetrace.analysis._stats" in MODULES
    assert "livetrace.testing._doubles" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_the_examples_are_many() -> None:
    """Guards against a walk that silently finds nothing."""
    tried = 0
    for name in MODULES:
        finder = doctest.DocTestFinder()
        tests = finder.find(importlib.import_module(name))
        tried += sum(len(t.examples) for t in tests)
    assert tried > 50
