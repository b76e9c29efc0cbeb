"""The service's decision log is the run store's decisions table."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from fupin_rules.runs import RunStore
from fupin_rules.runs.store import RunStoreError
from fupin_rules.service.decision_log import DecisionEntry, StoreDecisionLog


def _entry(n: int) -> DecisionEntry:
    return DecisionEntry(
        policy_ref="county_2017@1.0.0#abc",
        policy_id="county_2017",
        policy_version="1.0.0",
        policy_hash="abc" * 21 + "a",
        on=dt.date(2017, 9, 1),
        rule_id="person.rain_and_dew.grant",
        subject=f"person:P{n}",
        input_digest=f"sha256:{n:064d}",
        verdict="pass",
        result=json.dumps({"amount_yuan": "5000", "n": n}),
    )


def test_entries_land_in_the_run_store_newest_first(tmp_path: Path) -> None:
    log = StoreDecisionLog(tmp_path / "runs.sqlite")
    log.append([_entry(1), _entry(2)])
    log.append([_entry(3)])
    recent = log.recent(2)
    assert [e["subject"] for e in recent] == ["person:P3", "person:P2"]
    assert recent[0]["amount_yuan"] == "5000" and recent[0]["on"] == "2017-09-01"
    log.close()
    with RunStore(tmp_path / "runs.sqlite", create=False) as store:
        assert [d.subject for d in store.decisions()] == ["person:P3", "person:P2", "person:P1"]


def test_the_service_store_does_not_flush_each_commit(tmp_path: Path) -> None:
    log = StoreDecisionLog(tmp_path / "runs.sqlite")
    assert log.store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    log.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "runs.sqlite")) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with RunStore(tmp_path / "runs.sqlite") as store:  # the library's default stays FULL
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_synchronous_is_checked(tmp_path: Path) -> None:
    with pytest.raises(RunStoreError, match="synchronous"):
        RunStore(tmp_path / "x.sqlite", synchronous="off")  # type: ignore[arg-type]
