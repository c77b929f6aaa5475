"""The public namespace: the seed's names, a sorted __all__, every name importable, typed."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import livetrace

SUBPACKAGES = [
    "livetrace.sources",
    "livetrace.analysis",
    "livetrace.sinks",
    "livetrace.recording",
    "livetrace.testing",
    "livetrace.web",
]

SEED_NAMES = {
    "RealtimeAnalyzer",
    "RealtimeBuffer",
    "RealtimeConfig",
    "RealtimeSource",
    "RealtimeStream",
    "TraceMetadata",
    "WaveformTrace",
}


def test_all_is_sorted_and_complete() -> None:
    assert livetrace.__all__ == sorted(livetrace.__all__)
    assert set(livetrace.__all__) >= SEED_NAMES
    for name in livetrace.__all__:
        assert hasattr(livetrace, name), name


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_subpackage_namespaces_resolve_every_listed_name(sub: str) -> None:
    mod = importlib.import_module(sub)
    assert mod.__all__ == sorted(mod.__all__)
    for name in mod.__all__:
        try:
            getattr(mod, name)
        except ImportError as exc:  # optional extra missing: must say which
            message = str(exc)
        else:
            message = "pip install 'livetrace["
        assert "pip install 'livetrace[" in message, name
    with pytest.raises(AttributeError):
        mod.DoesNotExist  # noqa: B018


def test_exceptions_form_one_tree_and_keep_builtin_bases() -> None:
    for name in livetrace.__all__:
        obj = getattr(livetrace, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, livetrace.LivetraceError), name
    assert issubclass(livetrace.BufferTimeoutError, TimeoutError)
    assert issubclass(livetrace.ConfigurationError, ValueError)
    assert issubclass(livetrace.StreamStateError, RuntimeError)
    assert issubclass(livetrace.SourceUnavailableError, ConnectionError)
    assert issubclass(livetrace.MissingExtraError, ImportError)


def test_package_is_typed() -> None:
    assert (Path(livetrace.__file__).parent / "py.typed").exists()


@pytest.mark.parametrize(
    "sub", [s for s in SUBPACKAGES if s not in ("livetrace.testing", "livetrace.web")]
)
def test_lazy_names_are_also_visible_to_type_checkers(sub: str) -> None:
    """Every lazily imported name is imported under TYPE_CHECKING from the same module."""
    import ast

    mod = importlib.import_module(sub)
    tree = ast.parse(Path(mod.__file__).read_text())  # type: ignore[arg-type]
    typed: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom)
                for alias in imp.names:
                    typed[alias.name] = "." * imp.level + str(imp.module)
    assert typed == mod._LAZY


@pytest.mark.parametrize("name", ["livetrace", *SUBPACKAGES])
def test_all_is_exactly_what_the_namespace_exposes(name: str) -> None:
    """No public name is exposed without being in ``__all__``, and none is listed in vain."""
    import types

    mod = importlib.import_module(name)
    exposed = {
        key
        for key, value in vars(mod).items()
        if not key.startswith("_")
        and not isinstance(value, types.ModuleType)  # subpackages, once imported
        and key not in {"annotations", "TYPE_CHECKING"}  # from __future__ / typing
    }
    listed = set(mod.__all__) - {"__version__"}
    lazy = set(getattr(mod, "_LAZY", {}))
    assert exposed - listed == set(), "exposed but not in __all__"
    assert listed - exposed - lazy == set(), "in __all__ but not defined"
    assert set(dir(mod)) >= listed  # dir() shows every public name, lazy ones included
