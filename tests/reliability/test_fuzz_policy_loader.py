"""Fuzzing the policy loader with damaged copies of the mini policy.

Style: "Report every problem at once ... errors in policy files show file:line:col". Whatever
the damage (a changed value, a deleted or inserted piece of text, a stray tag), loading either
works or raises PolicyLoadError / another FupinRulesError whose problems name a file.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import ROOT, fuzz_budget, tally, write_tally

from fupin_rules.errors import FupinRulesError, PolicyLoadError
from fupin_rules.policy.loader import load_policy_dir

MINI = ROOT / "tests/data/mini_policy"
FILES = sorted(p.relative_to(MINI).as_posix() for p in MINI.rglob("*.yaml"))
SNIPPETS = [
    ":", "- ", "{", "}", "[", "]", "&a", "*a", "!!python/object:os.system", "!!binary", "? ",
    "\t", "%YAML 1.1", "---", "...", "'", '"', "#", "expr: 1 +", "expr: __import__('os')",
    "entity: nowhere", "clause: 九", "type: money", "value: .inf", "start: 2017-02-30", "id: x",
    "\u3000", "\ufeff", "<<: *a",
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    write_tally()


@settings(
    max_examples=fuzz_budget("policy"),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_damaged_policies_raise_library_errors_naming_a_file(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "mini"
        shutil.copytree(MINI, root)
        for _ in range(data.draw(st.integers(1, 2), label="damages")):
            rel = data.draw(st.sampled_from(FILES), label="file")
            f = root / rel
            text = f.read_text(encoding="utf-8")
            lines = text.splitlines(keepends=True)
            i = data.draw(st.integers(0, max(0, len(lines) - 1)), label="line")
            op = data.draw(
                st.sampled_from(["delete_line", "insert", "replace_value", "cut", "dup_line"]),
                label="op",
            )
            piece = data.draw(st.sampled_from(SNIPPETS) | st.text(max_size=12), label="piece")
            if op == "delete_line" and lines:
                del lines[i]
            elif op == "insert":
                line = lines[i] if lines else ""
                at = data.draw(st.integers(0, len(line)), label="col")
                lines[i : i + 1] = [line[:at] + piece + line[at:]]
            elif op == "replace_value" and lines and ":" in lines[i]:
                key = lines[i].split(":", 1)[0]
                lines[i] = f"{key}: {piece}\n"
            elif op == "cut" and lines:
                j = data.draw(st.integers(i, len(lines)), label="to")
                del lines[i:j]
            elif lines:
                lines.insert(i, lines[i])
            f.write_text("".join(lines), encoding="utf-8")
        try:
            load_policy_dir(root)
        except PolicyLoadError as exc:
            assert exc.problems, exc
            for p in exc.problems:
                assert ".yaml" in p or "mini" in p or str(root) in p, p
            tally("policy", "PolicyLoadError")
            return
        except FupinRulesError as exc:
            assert ".yaml" in str(exc) or str(root) in str(exc), str(exc)
            tally("policy", type(exc).__name__)
            return
        tally("policy", "loaded")
