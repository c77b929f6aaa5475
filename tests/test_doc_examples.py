"""The Python examples of docs/*.md run as written.

The blocks of one page run in order in one namespace (a page builds on its earlier examples),
in a temporary directory. A block that needs hardware or a peer the test machine lacks is
preceded by ``<!-- not-run: REASON -->``; the reason must name where the same code is tested.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = sorted((Path(__file__).resolve().parent.parent / "docs").glob("*.md"))
BLOCK = re.compile(r"(<!-- not-run: (?P<why>[^>]*)-->\n)?```python\n(?P<code>.*?)```", re.S)


def pages() -> list[Path]:
    return [p for p in DOCS if "```python" in p.read_text()]


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_the_python_examples_of_a_page_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    seen = 0
    for n, m in enumerate(BLOCK.finditer(page.read_text())):
        seen += 1
        if m.group("why") is not None:
            assert "tests/" in m.group("why"), f"{page.name} block {n}: say where it is tested"
            continue
        exec(compile(m.group("code"), f"{page.name}, block {n}", "exec"), namespace)
    assert seen == page.read_text().count("```python")  # no block escaped the pattern
