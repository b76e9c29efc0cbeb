"""The service's decision log is the run store's decisions table."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import threading
import time
from pathlib import Path

import attrs
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


def _rows(path: Path) -> list[tuple[str, str]]:
    """(subject, recorded_at) of every decision in the file, read by a connection of its own."""
    with contextlib.closing(sqlite3.connect(path)) as con:
        return con.execute(
            "SELECT subject, recorded_at FROM decisions ORDER BY decision_id"
        ).fetchall()


def test_decisions_are_committed_by_the_writer_without_a_flush(tmp_path: Path) -> None:
    """The guarantee of docs/service.md: an appended decision reaches the file just after the
    answer, without anyone asking for it (not only at close)."""
    path = tmp_path / "runs.sqlite"
    log = StoreDecisionLog(path)
    try:
        log.append([_entry(1)])
        deadline = time.monotonic() + 30
        while not _rows(path) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert [s for s, _ in _rows(path)] == ["person:P1"]
    finally:
        log.close()


def test_the_time_logged_is_when_the_decision_was_made(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    log = StoreDecisionLog(path)
    made = dt.datetime(2017, 9, 1, 8, 30, tzinfo=dt.UTC)
    log.append([attrs.evolve(_entry(1), at=made), _entry(2)])
    log.close()
    (s1, at1), (s2, at2) = _rows(path)
    assert (s1, at1) == ("person:P1", made.isoformat())
    assert s2 == "person:P2" and at2.startswith(str(dt.datetime.now(dt.UTC).year))


def test_every_decision_of_many_threads_is_committed_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    log = StoreDecisionLog(path)

    def work(k: int) -> None:
        for i in range(100):
            log.append([_entry(k * 1000 + i)])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log.recent(1000)) == 800  # recent() flushes first
    log.close()
    subjects = [s for s, _ in _rows(path)]
    assert sorted(subjects) == sorted(
        f"person:P{k * 1000 + i}" for k in range(8) for i in range(100)
    )


def test_close_commits_what_is_queued(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    log = StoreDecisionLog(path)
    log.append([_entry(n) for n in range(500)])
    log.close()
    assert len(_rows(path)) == 500
    with pytest.raises(RunStoreError, match="closed"):
        log.append([_entry(501)])


def test_a_failed_commit_refuses_every_later_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A decision the log cannot write is not given: after a failed commit, append raises
    (the service answers 503) and the lost decisions are named on the service's logger."""
    log = StoreDecisionLog(tmp_path / "runs.sqlite")

    def disk_full(rows: object) -> list[int]:
        raise RunStoreError("database or disk is full")

    monkeypatch.setattr(log.store, "insert_decision_rows", disk_full)
    log.append([_entry(7)])
    with pytest.raises(RunStoreError, match="disk is full"):
        log.flush()
    with pytest.raises(RunStoreError, match=r"cannot be written: .*disk is full"):
        log.append([_entry(8)])
    assert any("person:P7" in r.getMessage() for r in caplog.records)
    log.close()


def test_a_store_batch_is_all_or_nothing(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        good = {"policy_ref": "p", "input_digest": "sha256:1", "result": "{}"}
        ids = store.record_decisions([good, good])
        assert ids == [1, 2]
        with pytest.raises(RunStoreError):
            store.record_decisions([good, {**good, "input_digest": None}])  # NOT NULL
        assert len(store.decisions()) == 2
