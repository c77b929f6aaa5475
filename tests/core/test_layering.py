"""Imports flow downwards: a module imports only from its own layer or below.

The layers are drawn in ``docs/architecture.md``; this test encodes them. Every import of a
livetrace module is checked, including imports inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import livetrace

PACKAGE = Path(livetrace.__file__).parent

# first component of the module path below livetrace -> layer
LAYERS: dict[str, int] = {
    # 1. contracts: types, configuration, errors, results; no behaviour
    "_errors": 1,
    "_types": 1,
    "_config": 1,
    "_protocols": 1,
    "_result": 1,
    "_memory": 1,
    "_lazy": 1,
    "_version": 1,
    # 2. mechanisms: the ring buffer, pacing, analysis
    "_buffer": 2,
    "_pacing": 2,
    "_fileio": 2,
    "_clock": 2,
    "analysis": 2,
    # 3. the stream and its consumer pipeline
    "_health": 3,
    "_pipeline": 3,
    "_stream": 3,
    # 4. endpoints: sources, recordings, sinks, transports to other processes and machines
    "sources": 4,
    "recording": 4,
    "sinks": 4,
    "formats": 4,
    "transport": 4,
    # 5. applications: the command line, the web scope, testing tools
    "testing": 5,
    "web": 5,
    "_cli": 5,
    "_dashboard": 5,
    "cli": 5,
    "__main__": 5,
    "_bench": 5,
}


def _layer_of(parts: tuple[str, ...]) -> int:
    if not parts:  # the livetrace package itself: its __init__ re-exports every layer
        return 99
    head = parts[0]
    if head not in LAYERS:
        raise AssertionError(f"livetrace.{head} has no layer: add it to LAYERS and the docs")
    return LAYERS[head]


def _module_parts(path: Path) -> tuple[str, ...]:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return tuple(parts)


def _imports(
    path: Path, text: str | None = None, parts: tuple[str, ...] | None = None
) -> list[tuple[int, tuple[str, ...]]]:
    """(line, module parts below livetrace) of every livetrace import in ``path`` (or in
    ``text``, taken as the module ``parts`` of the package)."""
    tree = ast.parse(path.read_text() if text is None else text, str(path))
    here = _module_parts(path) if parts is None else parts
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[int, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("livetrace."):
                    found.append((node.lineno, tuple(alias.name.split(".")[1:])))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                mod = tuple(node.module.split(".")) if node.module else ()
                target = base + mod
                if not mod:  # "from . import x": x is a module of the package, or a name in it
                    for alias in node.names:
                        sub = PACKAGE.joinpath(*target, alias.name)
                        is_module = sub.with_suffix(".py").exists() or sub.is_dir()
                        found.append((node.lineno, (*target, alias.name) if is_module else target))
                    continue
                found.append((node.lineno, target))
            elif node.module and node.module.startswith("livetrace."):
                found.append((node.lineno, tuple(node.module.split(".")[1:])))
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_downwards(path: Path) -> None:
    own = _layer_of(_module_parts(path))
    bad = [
        f"line {line}: imports livetrace.{'.'.join(target)} (layer {_layer_of(target)})"
        for line, target in _imports(path)
        if _layer_of(target) > own
    ]
    assert not bad, f"{path.relative_to(PACKAGE)} (layer {own}) " + "; ".join(bad)


def test_the_check_sees_upward_imports(tmp_path: Path) -> None:
    """The parser resolves relative imports, so an upward import cannot hide."""
    text = "from .._stream import RealtimeStream\nfrom .. import RealtimeStream as R\n"
    targets = [t for _, t in _imports(tmp_path / "x.py", text, ("analysis", "_probe"))]
    assert targets == [("_stream",), ()]
    assert _layer_of(targets[0]) > _layer_of(("analysis",))


def test_every_module_has_a_layer() -> None:
    for path in SOURCES:
        _layer_of(_module_parts(path))
