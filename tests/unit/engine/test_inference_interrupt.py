"""A KeyboardInterrupt in an in-process inference run (Jupyter) reaches the caller and leaves
the engine working.

Before: an interrupt landing inside durable-rules' own Python glue (between two of its C calls)
left the session state behind; every later query of that policy failed ("fact id '0' already
observed"), i.e. 0 findings for the rest of the notebook session.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
from typing import Any

import pytest

pytest.importorskip("durable.engine")

import durable.engine as durable_engine

import fupin_rules as fr
from fupin_rules.engine import _durable

ON = dt.date(2017, 12, 31)


def _data(n: int) -> dict[str, Any]:
    return {
        "county": {"county_id": "C1"},
        "villages": [{"village_id": "V1", "township_id": "T1", "collective_income_yuan": "1"}],
        "households": [
            {"household_id": f"H{i}", "village_id": "V1", "poverty_status": "registered_poor"}
            for i in range(n)
        ],
        "persons": [
            {"person_id": f"P{i}", "household_id": f"H{i}", "school_level": "secondary_vocational"}
            for i in range(n)
        ],
    }


class _InterruptOnce:
    """durable's C module, except that one call of ``name`` is followed by a KeyboardInterrupt
    (or preceded by one, ``before=True``): an interrupt between two of durable's C calls."""

    def __init__(self, real: Any, name: str, after: int, before: bool) -> None:
        self._real = real
        self._name = name
        self._after = after
        self._before = before

    def __getattr__(self, attr: str) -> Any:
        fn = getattr(self._real, attr)
        if attr != self._name:
            return fn

        def call(*args: Any) -> Any:
            self._after -= 1
            if self._after == 0 and self._before:
                raise KeyboardInterrupt
            result = fn(*args)
            if self._after == 0:
                raise KeyboardInterrupt
            return result

        return call


@pytest.mark.parametrize(
    ("call", "after", "before"),
    [
        ("complete_and_start_action", 1, False),
        # a household session of the mini policy has two actions since the scopes are decided
        # before the session (the marker and its one rule group; was more than three): before
        # and after the last one
        ("complete_and_start_action", 2, True),
        ("complete_and_start_action", 2, False),
        ("assert_fact", 1, False),
        ("assert_fact", 2, True),
        ("start_action_for_state", 1, False),
        ("update_state", 2, False),
        ("delete_state", 1, False),
        ("delete_state", 1, True),
    ],
)
def test_interrupt_inside_durable_propagates_and_the_engine_recovers(
    mini_policy, monkeypatch: pytest.MonkeyPatch, call: str, after: int, before: bool
) -> None:  # type: ignore[no-untyped-def]
    ev = fr.Evaluator(mini_policy, _data(3), engine="inference")
    expected = [ev.household(f"H{i}", ON) for i in range(3)]
    assert all(len(f) == 1 for f in expected)
    real = durable_engine.durable_rules_engine
    for _ in range(3):  # "after a few interrupts" the old engine was broken for good
        monkeypatch.setattr(
            durable_engine, "durable_rules_engine", _InterruptOnce(real, call, after, before)
        )
        with pytest.raises(KeyboardInterrupt):
            ev.household("H1", ON)
        monkeypatch.setattr(durable_engine, "durable_rules_engine", real)
        assert [ev.household(f"H{i}", ON) for i in range(3)] == expected
    run = fr.evaluate(mini_policy, _data(3), ON, engine="inference")
    assert run.errors == () and len(run.findings) == 4


def test_ctrl_c_during_a_unit_is_held_until_the_unit_ends() -> None:
    """SIGINT while a unit runs: the unit completes, then KeyboardInterrupt is raised."""
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        pytest.skip("signals reach the main thread only")
    done: list[str] = []
    with pytest.raises(KeyboardInterrupt), _durable.interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the signal is delivered while this runs
            pass
        done.append("unit")
    assert done == ["unit"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
