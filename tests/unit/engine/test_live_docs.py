"""docs/live.md's code runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fupin_rules.engine.inference import durable_available

DOC = Path(__file__).resolve().parents[3] / "docs" / "live.md"


@pytest.mark.skipif(not durable_available(), reason="durable-rules does not import")
def test_the_python_blocks_run(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert "->" in capsys.readouterr().out
    assert namespace["mine"]
