"""The run store: what a run records, the decisions log, and files it must refuse untouched."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest

import fupin_rules as fr
from fupin_rules.cli import main, sample_data_path
from fupin_rules.errors import RunStoreError
from fupin_rules.runs import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    Locator,
    RunStore,
    input_digest,
    problem_key,
)

ON = dt.date(2017, 12, 31)


@pytest.fixture(scope="module")
def sample() -> tuple[fr.Evaluation, fr.LoadResult]:
    from fupin_rules.batch import evaluate_batch

    loaded = fr.load_data(sample_data_path())
    return evaluate_batch("county_2017", loaded, ON), loaded


def test_a_run_is_recorded_with_its_provenance_counts_and_problems(
    tmp_path: Path, sample: tuple[fr.Evaluation, fr.LoadResult]
) -> None:
    ev, loaded = sample
    locator = Locator.from_dataset(loaded.dataset)
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        run = store.record_run(
            ev,
            input_name="sample_county.json",
            input_digest=input_digest(sample_data_path()),
            county_id=loaded.dataset.county.county_id,
            policy_ref="county_2017",
            locate=locator.place,
        )
    with RunStore(path, create=False) as store:
        (again,) = store.runs()
        assert again == run
        assert (run.policy_id, run.policy_version, run.policy_hash) == (
            ev.policy_id,
            ev.policy_version,
            ev.policy_hash,
        )
        assert run.on == ON and run.engine == ev.engine
        assert run.problems == len(ev.problems()) > 0
        assert run.input_digest == input_digest(sample_data_path())
        assert run.input_digest.startswith("sha256:")
        stored = store.findings(run.run_id, problems_only=True)
        assert {f.problem_key for f in stored} == {
            problem_key(f.policy_id, f.rule_id, f.subject_kind, f.subject_id) for f in ev.problems()
        }
        # every non-passing finding is stored (problems, failing eligibility, unknown)
        non_pass = [f for f in ev.findings if f.verdict.value in ("fail", "unknown")]
        assert len(store.findings(run.run_id)) == len(non_pass)
        household = next(f for f in stored if f.subject_kind == "household")
        hh = next(h for h in loaded.dataset.households if h.household_id == household.subject_id)
        village = next(v for v in loaded.dataset.villages if v.village_id == hh.village_id)
        assert (household.household_id, household.village_id, household.township_id) == (
            hh.household_id,
            hh.village_id,
            village.township_id,
        )
        assert household.helper_name == hh.helper_name
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()


def test_amounts_are_stored_as_exact_decimal_text(
    tmp_path: Path, sample: tuple[fr.Evaluation, fr.LoadResult]
) -> None:
    ev, _ = sample
    with RunStore(tmp_path / "r.sqlite") as store:
        run = store.record_run(ev, input_name="x", input_digest="sha256:0")
        amounts = [f.amount_yuan for f in store.findings(run.run_id) if f.amount_yuan is not None]
    expected = [f.amount for f in ev.findings if f.verdict.value != "pass" and f.amount is not None]
    assert sorted(amounts) == sorted(fr.findings.json_value(a) for a in expected)


def _untouched(path: Path, make: bytes) -> None:
    path.write_bytes(make)
    with pytest.raises(RunStoreError) as err:
        RunStore(path)
    assert str(path) in str(err.value) and "untouched" in str(err.value)
    assert path.read_bytes() == make
    assert not Path(str(path) + "-wal").exists()


def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path: Path) -> None:
    _untouched(tmp_path / "notes.sqlite", "这不是数据库 not a database\n".encode() * 50)


def test_an_empty_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    _untouched(tmp_path / "empty.sqlite", b"")


def test_a_sqlite_database_of_another_schema_is_refused_and_left_untouched(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE runs (x INTEGER)")
    db.execute("INSERT INTO runs VALUES (1)")
    db.commit()
    db.close()
    _untouched(other, other.read_bytes())
    with pytest.raises(RunStoreError, match="another schema"):
        RunStore(other)


def test_an_empty_sqlite_database_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "blank.sqlite"
    db = sqlite3.connect(empty)
    db.execute("CREATE TABLE t (x INTEGER)")
    db.execute("DROP TABLE t")
    db.commit()
    db.close()
    assert empty.stat().st_size > 0
    _untouched(empty, empty.read_bytes())
    with pytest.raises(RunStoreError, match="empty SQLite database"):
        RunStore(empty)


def test_a_truncated_store_is_refused_and_left_untouched(
    tmp_path: Path, sample: tuple[fr.Evaluation, fr.LoadResult]
) -> None:
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        store.record_run(sample[0], input_name="x", input_digest="sha256:0")
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    whole = path.read_bytes()
    assert len(whole) > 8192
    _untouched(path, whole[: len(whole) // 2])
    with pytest.raises(RunStoreError, match="damaged"):
        RunStore(path)


def test_a_store_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(RunStoreError, match="newer"):
        RunStore(path)


def test_a_missing_store_is_created_only_when_asked(tmp_path: Path) -> None:
    with pytest.raises(RunStoreError, match="no such file"):
        RunStore(tmp_path / "none.sqlite", create=False)
    assert not (tmp_path / "none.sqlite").exists()
    with pytest.raises(RunStoreError, match="folder"):
        RunStore(tmp_path)


def test_an_unknown_run_id_names_the_runs_there_are(tmp_path: Path) -> None:
    with RunStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(RunStoreError, match=r"no run 7 .*no runs"):
            store.run(7)


def test_decisions_are_appended_from_many_threads(tmp_path: Path) -> None:
    with RunStore(tmp_path / "r.sqlite") as store:

        def work(k: int) -> None:
            for i in range(20):
                store.record_decision(
                    policy_ref="county_2017@1.0.0",
                    policy_id="county_2017",
                    policy_version="1.0.0",
                    policy_hash="abc",
                    input_digest=f"sha256:{k}-{i}",
                    on=ON,
                    rule_id="person.rain_and_dew.grant",
                    subject="person:P1",
                    verdict="pass",
                    result={"verdict": "pass", "amount_yuan": "3000", "note": "雨露计划"},
                )

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        got = store.decisions()
        assert len(got) == 80
        assert len({d.decision_id for d in got}) == 80
        assert got[0].decision_id > got[-1].decision_id  # newest first
        assert '"雨露计划"' in got[0].result and got[0].on == ON
        assert len(store.decisions(limit=5)) == 5


def test_input_digest_of_a_folder_depends_on_names_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "households.csv").write_text("x\n1\n")
    first = input_digest(tmp_path / "a")
    (tmp_path / "a" / ".hidden").write_text("ignored")
    assert input_digest(tmp_path / "a") == first
    (tmp_path / "a" / "households.csv").write_text("x\n2\n")
    assert input_digest(tmp_path / "a") != first
    assert input_digest({"b": 1, "a": 2}) == input_digest({"a": 2, "b": 1})


def test_cli_check_records_runs_and_runs_lists_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "runs.sqlite"
    assert main(["check", "--engine", "batch", "--store", str(store), "-q"]) == 0
    assert main(["check", "--engine", "batch", "--store", str(store), "--since", "1"]) == 0
    out = capsys.readouterr().out
    assert "since run 1" in out and "persisting" in out
    assert main(["runs", "--store", str(store)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run\t") and len(lines) == 3
    assert lines[1].startswith("1\t") and "county_2017" in lines[1]


def test_cli_refuses_a_foreign_store_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "report.sqlite"
    bad.write_text("not sqlite")
    assert main(["check", "--engine", "batch", "--store", str(bad), "-q"]) == 2
    assert "not a SQLite database" in capsys.readouterr().err
    assert bad.read_text() == "not sqlite"
    assert main(["runs", "--store", str(bad)]) == 2
    assert main(["runs", "--store", str(tmp_path / "absent.sqlite")]) == 2


def test_cli_since_counts_by_township_and_village_on_screen_and_in_the_json_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    store = tmp_path / "runs.sqlite"
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert (
        main(["check", "--engine", "batch", "--store", str(store), "-q", "--out", str(first)]) == 0
    )
    assert "since" not in json.loads(first.read_text(encoding="utf-8"))  # no comparison asked
    capsys.readouterr()
    args = ["check", "--engine", "batch", "--since", str(first), "--out", str(second)]
    assert main(args) == 0
    out = capsys.readouterr().out
    report = json.loads(second.read_text(encoding="utf-8"))
    since = report["since"]
    assert since["counts"]["persisting"] == report["summary"]["problems"] > 0
    assert since["counts"]["new"] == since["counts"]["fixed"] == 0
    villages = {v for v in since["by_village"] if v}
    assert villages and set(since["by_township"]) - {""}
    # every village with a problem has its own line, indented under its township's line
    lines = out.splitlines()
    for village in villages:
        line = next(ln for ln in lines if ln.startswith(f"    {village} "))
        assert f"persisting {since['by_village'][village]['persisting']}" in line
    assert sum(p["village"] in villages for p in since["problems"]) > 0


def test_the_rectification_ledger_says_which_problems_rest_on_assumptions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """整改台账 has a 依据假设 column and the JSON comparison an ``assumptions`` list (issue 12,
    principle 3: every report says when a problem rests on an assumed reading or value)."""
    import json

    from openpyxl import load_workbook

    store = tmp_path / "runs.sqlite"
    assert main(["check", "--engine", "batch", "--store", str(store), "-q"]) == 0
    book, report = tmp_path / "list.xlsx", tmp_path / "report.json"
    args = ["check", "--engine", "batch", "--store", str(store), "-q"]
    assert main([*args, "--excel", str(book), "--out", str(report)]) == 0
    capsys.readouterr()
    findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
    assumed = {(f["rule"], f["subject"]["id"]): f.get("assumptions", []) for f in findings}
    rows = list(load_workbook(book, read_only=True)["整改台账"].iter_rows(values_only=True))
    header = rows[0]
    col = header.index("依据假设")
    seen = {True: 0, False: 0}
    for r in rows[1:]:
        want = assumed[(r[header.index("规则")], r[header.index("对象编码")])]
        assert (r[col] or "") == ("依据假设: " + ", ".join(want) if want else ""), r
        seen[bool(want)] += 1
    assert seen[True] and seen[False]  # the sample has problems of both kinds
    since = json.loads(report.read_text(encoding="utf-8"))["since"]["problems"]
    for p in since:
        assert p["assumptions"] == assumed.get((p["rule"], p["subject"].split(":", 1)[1]), [])
