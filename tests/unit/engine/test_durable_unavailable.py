"""Without an importable durable-rules (Python 3.13), the wrapper imports and fails clearly."""

from __future__ import annotations

import sys

import pytest

from fupin_rules.engine import _durable as dw
from fupin_rules.errors import EngineUnavailableError


def test_module_imports_and_specs_build_without_durable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dw, "_durable", None)
    monkeypatch.setitem(sys.modules, "durable.engine", None)  # import now raises ImportError
    spec = dw.RulesetSpec("p:1:abc:test", [dw.RuleSpec("r", dw.Match(kind="a"), lambda ctx: None)])
    assert spec.signature() == (("r", (dw.Match(kind="a"),)),)
    assert dw.durable_available() is False
    with pytest.raises(EngineUnavailableError) as info:
        dw.DurableEngine()
    message = str(info.value)
    assert "3.13" in message
    assert (
        "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject pip install durable-rules==2.0.28"
        in message
    )
