"""Fuzzing the policy loader with damaged copies of the mini policy.

Style: "Report every problem at once ... errors in policy files show file:line:col". Whatever
the damage (a changed value, a deleted or inserted piece of text, a stray tag), loading either
works or raises PolicyLoadError / another FupinRulesError whose problems name a file.
"""

from __future__ import annotations

import re
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


# --- the YAML level: well-formed YAML carrying hostile values --------------------------------

#: scalars written as they would appear in a file: dates that do not exist, numbers too large
#: or too long to convert exactly, special floats, explicit tags, control characters
_RAW_SCALARS = [
    "2017-02-30", "2017-13-01", "0000-00-00", "2017-02-28", "9999-12-31T25:61:61",
    "'1e999999999'", "'-1e-999999999'", "1e999999999", ".inf", "-.inf", ".nan", "0x" + "f" * 200,
    "9" * 5000, "'" + "9" * 5000 + "'", "1_000", "0o17", "~", "null", "yes", "on", "''",
    "!!int '" + "1" * 200 + "'", "!!timestamp 2017-02-30", "!!float 'x'", "!!str 3",
    '"\\x1b[31m\\u202e"', "'\u3000'", "-0", "0.09000000000000000001", "50000.000000000001",
]  # fmt: skip

_EXPR_ATOMS = ["collective_income_yuan", "clinic_built", "1", "0", 'param("nope")', "on", "true"]


@st.composite
def _expressions(draw: st.DrawFn) -> str:
    """Expression text, sometimes far deeper than any policy needs (chains of hundreds)."""
    atom = draw(st.sampled_from(_EXPR_ATOMS))
    kind = draw(st.sampled_from(["sum", "not", "minus", "call", "parens", "and", "flat"]))
    n = draw(st.integers(1, 700))
    if kind == "sum":
        return " + ".join([atom] * n) + " >= 0"
    if kind == "not":
        return "not " * n + atom
    if kind == "minus":
        return "-" * n + atom
    if kind == "call":
        return "max(" * n + atom + ")" * n
    if kind == "parens":
        return "(" * n + atom + ")" * n
    if kind == "and":
        return " and ".join([atom] * n)
    return atom


def _alias_bomb(depth: int, width: int) -> list[str]:
    lines = [f"  b0: &b0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, depth + 1):
        lines.append(f"  b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * width) + "]")
    return lines


_values = st.recursive(
    st.sampled_from(_RAW_SCALARS) | st.integers(-(10**30), 10**30).map(str),
    lambda inner: (
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
        | st.dictionaries(
            st.sampled_from(["a", "b", "value", "start", "<<"]), inner, max_size=3
        ).map(lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}")
    ),
    max_leaves=8,
)


@settings(
    max_examples=fuzz_budget("policy"),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_yaml_values_raise_library_errors_naming_a_file(data: st.DataObject) -> None:
    """Well-formed YAML with hostile content: alias bombs and self-referring aliases, huge or
    impossible scalars in any value, expressions nested hundreds deep, ``extends`` pointing at
    the package itself or a cycle. Loading works or raises a library error naming a file; never
    a traceback, a hang or a memory blow-up."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "mini"
        shutil.copytree(MINI, root)
        attack = data.draw(
            st.sampled_from(["value", "expr", "bomb", "self_alias", "extends"]), label="attack"
        )
        rel = data.draw(st.sampled_from(FILES), label="file")
        f = root / rel
        lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
        if attack == "value":
            keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*-?\s*[\w.]+:", line)]
            i = data.draw(st.sampled_from(keyed), label="line")
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {data.draw(_values, label='value')}\n"
        elif attack == "expr":
            f = root / "rules/rules.yaml"
            lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
            exprs = [i for i, line in enumerate(lines) if line.strip().startswith("expr:")]
            i = data.draw(st.sampled_from(exprs), label="line")
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            lines[i] = f"{indent}expr: {data.draw(_expressions(), label='expr')}\n"
        elif attack in ("bomb", "self_alias"):
            if rel == "policy.yaml":  # its keys are closed: the bomb goes in a section file
                f = root / "parameters/params.yaml"
                lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
            depth = data.draw(st.integers(1, 12), label="depth")
            width = data.draw(st.integers(2, 12), label="width")
            bomb = _alias_bomb(depth, width)
            if attack == "self_alias":
                bomb.append("  loop: &loop [1, {x: *loop}]")
            lines = ["x_extra:\n", *(line + "\n" for line in bomb), *lines]
        else:
            f = root / "policy.yaml"
            lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
            target = data.draw(
                st.sampled_from(["./", ".", "../mini", "../other", "../mini/", "mini@9.9.9"]),
                label="extends",
            )
            if target == "../other":  # a two-package cycle
                other = Path(tmp) / "other"
                shutil.copytree(MINI, other)
                meta = other / "policy.yaml"
                meta.write_text("extends: ../mini\n" + meta.read_text(encoding="utf-8"))
            lines.insert(0, f"extends: {target}\n")
        f.write_text("".join(lines), encoding="utf-8")
        try:
            load_policy_dir(root)
        except PolicyLoadError as exc:
            assert exc.problems, exc
            for p in exc.problems:
                assert ".yaml" in p or "mini" in p or str(root) in p, p
                assert "Traceback" not in p and "RecursionError" not in p, p
            assert len(str(exc)) < 20_000, len(str(exc))
            tally("policy_yaml", "PolicyLoadError")
            return
        except FupinRulesError as exc:
            assert ".yaml" in str(exc) or str(root) in str(exc), str(exc)
            tally("policy_yaml", type(exc).__name__)
            return
        tally("policy_yaml", "loaded")
