"""The README's runnable examples (blocks marked ``<!-- readme-test -->``) run as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"<!-- readme-test -->\n```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_marked_examples() -> None:
    assert len(BLOCKS) >= 3
    # every Python example of the README is one of them: none can rot unseen
    assert README.read_text().count("```python") == len(BLOCKS)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    text = out.getvalue()
    if "n_samples=96_000" in code:  # the quick start: "ends after sample 95 999"
        rows = [line.split() for line in text.splitlines()]
        assert [int(r[0]) for r in rows] == list(range(0, 96_000, 1024))
        assert float(rows[-1][2]) == pytest.approx(0.7071, abs=1e-3)  # std of a unit sine
    if "EdgeTrigger" in code:
        assert "frequency: 1000.000000 Hz" in text
        assert "THD: -8.2 dB" in text
        assert text.count("rise time 800 ns") == 20
