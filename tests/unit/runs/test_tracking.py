"""Problems tracked from run to run: new, persisting, fixed, regressed, first seen, days open."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from fupin_rules.engine.run import Evaluation
from fupin_rules.errors import RunStoreError
from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.reports.json_report import write_json_file
from fupin_rules.runs import (
    Locator,
    RunStore,
    baseline_from_report,
    baseline_from_store,
    problem_key,
    track,
)
from fupin_rules.runs.store import Place

ON = dt.date(2017, 12, 31)
T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def finding(
    subject: str, verdict: str = "fail", *, rule: str = "household.r", version: str = "1"
) -> Finding:
    return Finding(
        rule_id=rule,
        rule_kind="compliance",
        subject_kind="household",
        subject_id=subject,
        verdict=Outcome(verdict),
        clause="三(一)1",
        title_zh="标题",
        title_en="title",
        policy_id="p",
        policy_version=version,
        policy_hash="h" + version,
        engine_version="0",
        on=ON,
    )


def evaluation(failing: set[str], *, version: str = "1") -> Evaluation:
    everyone = ["H1", "H2", "H3", "H4", "H5"]
    fs = tuple(finding(h, "fail" if h in failing else "pass", version=version) for h in everyone)
    return Evaluation("p", version, "h" + version, ON, "reference", fs)


LOCATOR = Locator(
    village_township={"V1": "T1", "V2": "T2"},
    subject_village={
        ("household", h): ("V1" if h in "H1 H2 H3" else "V2") for h in "H1 H2 H3 H4 H5".split()
    },
    subject_household={("household", h): h for h in "H1 H2 H3 H4 H5".split()},
    helpers={"H1": "张三"},
)


def record(store: RunStore, failing: set[str], day: int, version: str = "1") -> int:
    run = store.record_run(
        evaluation(failing, version=version),
        input_name="x",
        input_digest="sha256:0",
        county_id="C",
        locate=LOCATOR.place,
        recorded_at=T0 + dt.timedelta(days=day),
    )
    return run.run_id


def key(h: str) -> str:
    return problem_key("p", "household.r", "household", h)


def test_the_four_classes_against_a_stored_baseline_with_history(tmp_path: Path) -> None:
    with RunStore(tmp_path / "r.sqlite") as store:
        # H1 open throughout; H2 open, fixed in run 2, back in run 3 (regressed);
        # H3 open in run 1 only (fixed); H4 appears in run 3 (new); H5 never
        r1 = record(store, {"H1", "H2", "H3"}, 0)
        record(store, {"H1", "H3"}, 10)
        r3 = record(store, {"H1", "H2", "H4"}, 25)
        t = track(
            evaluation({"H1", "H2", "H4"}).findings,
            baseline_from_store(store, r1),
            locator=LOCATOR,
            store=store,
            current_run=store.run(r3),
        )
    status = {p.subject_id: p.status for p in t.problems}
    assert status == {"H1": "persisting", "H2": "regressed", "H3": "fixed", "H4": "new"}
    assert t.counts() == {"new": 1, "persisting": 1, "regressed": 1, "fixed": 1}
    by_key = {p.subject_id: p for p in t.problems}
    assert by_key["H1"].first_seen == T0 and by_key["H1"].days_open == 25
    assert by_key["H2"].first_seen == T0 + dt.timedelta(days=25) and by_key["H2"].days_open == 0
    assert by_key["H1"].place == Place("T1", "V1", "H1", "张三")
    assert by_key["H4"].place.helper_name is None  # 帮扶责任人 not in the ledger: unknown
    assert t.by_area("township") == {
        "T1": {"new": 0, "persisting": 1, "regressed": 1, "fixed": 1},
        "T2": {"new": 1, "persisting": 0, "regressed": 0, "fixed": 0},
    }
    assert set(t.by_area("village")) == {"V1", "V2"}
    assert [p.subject_id for p in t.open_problems()] == ["H1", "H2", "H4"]
    assert [(pt.label, sum(pt.by_township.values())) for pt in t.history] == [
        ("run 1", 3),
        ("run 2", 2),
        ("run 3", 3),
    ]
    assert t.policy_change is None
    assert json.loads(json.dumps(t.to_json()))["counts"]["regressed"] == 1


def test_regressed_needs_a_fix_between_two_open_runs(tmp_path: Path) -> None:
    with RunStore(tmp_path / "r.sqlite") as store:
        # open in run 1, fixed in run 2 (the baseline), back now: regressed, not new
        record(store, {"H1"}, 0)
        r2 = record(store, set(), 1)
        # H2 first appears after the baseline and stays open: new, not regressed
        record(store, {"H2"}, 2)
        t = track(evaluation({"H1", "H2"}).findings, baseline_from_store(store, r2), store=store)
    status = {p.subject_id: p.status for p in t.problems}
    assert status == {"H1": "regressed", "H2": "new"}
    first = {p.subject_id: p.first_seen for p in t.problems}
    assert first["H2"] == T0 + dt.timedelta(days=2)


def test_runs_recorded_after_the_current_run_are_ignored(tmp_path: Path) -> None:
    with RunStore(tmp_path / "r.sqlite") as store:
        r1 = record(store, {"H1"}, 0)
        r2 = record(store, {"H1"}, 1)
        record(store, set(), 2)
        t = track(
            evaluation({"H1"}).findings,
            baseline_from_store(store, r1),
            store=store,
            current_run=store.run(r2),
        )
    assert [p.status for p in t.problems] == ["persisting"]


def test_a_json_report_as_baseline(tmp_path: Path) -> None:
    report = tmp_path / "before.json"
    write_json_file(evaluation({"H1", "H2"}), report)
    b = baseline_from_report(report)
    assert set(b.open) == {key("H1"), key("H2")}
    t = track(
        evaluation({"H2", "H3"}, version="2").findings, b, locator=LOCATOR, policy=("p", "2", "h2")
    )
    assert {p.subject_id: p.status for p in t.problems} == {
        "H1": "fixed",
        "H2": "persisting",
        "H3": "new",
    }
    assert t.policy_change == "p 1 (h1) -> p 2 (h2)"
    h2 = next(p for p in t.problems if p.subject_id == "H2")
    assert (h2.version_before, h2.version_now) == ("1", "2")
    assert h2.first_seen is None and h2.days_open is None  # no history: not known
    fixed = next(p for p in t.problems if p.subject_id == "H1")
    assert fixed.place.village_id == "V1"  # placed by the current dataset


def test_the_fast_report_reader_equals_a_full_parse(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    ev = evaluation({"H1", "H3"})
    write_json_file(ev, report)
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(json.loads(report.read_text(encoding="utf-8"))), encoding="utf-8")
    assert baseline_from_report(report).open.keys() == baseline_from_report(compact).open.keys()
    assert baseline_from_report(report).about == baseline_from_report(compact).about


def test_a_file_that_is_not_a_report_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(RunStoreError, match="not a fupin-rules JSON report"):
        baseline_from_report(bad)


def test_cli_since_a_report_and_since_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fupin_rules.cli import main

    report = tmp_path / "before.json"
    assert main(["check", "--engine", "batch", "-q", "--out", str(report)]) == 0
    assert main(["check", "--engine", "batch", "--since", str(report)]) == 0
    out = capsys.readouterr().out
    assert "since before.json" in out and "new 0" in out and "fixed 0" in out
    store = tmp_path / "s.sqlite"
    assert main(["check", "--engine", "batch", "-q", "--store", str(store), "--since", "last"]) == 2
    assert "no earlier run" in capsys.readouterr().err


def _three_runs(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = RunStore(tmp_path / "r.sqlite")
    r1 = record(store, {"H1", "H2", "H3"}, 0)
    record(store, {"H1", "H3"}, 10)
    r3 = record(store, {"H1", "H2", "H4"}, 25)
    t = track(
        evaluation({"H1", "H2", "H4"}).findings,
        baseline_from_store(store, r1),
        locator=LOCATOR,
        store=store,
        current_run=store.run(r3),
    )
    store.close()
    return t


def test_the_excel_rectification_ledger_lists_each_open_problem(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from fupin_rules.reports.excel import write_problem_list

    t = _three_runs(tmp_path)
    out = tmp_path / "list.xlsx"
    write_problem_list(evaluation({"H1", "H2", "H4"}), out, tracking=t)
    wb = load_workbook(out, read_only=True)
    assert wb.sheetnames[1] == "整改台账"
    rows = [list(r) for r in wb["整改台账"].iter_rows(values_only=True)]
    header = rows[0]
    got = {r[header.index("对象编码")]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(got) == {"H1", "H2", "H4"}  # H3 is fixed: not in the ledger
    assert got["H1"]["状态"] == "未整改" and got["H2"]["状态"] == "复发"
    assert got["H4"]["状态"] == "新发现"
    assert got["H1"]["帮扶责任人"] == "张三" and got["H4"]["帮扶责任人"] is None
    assert got["H1"]["所属村"] == "V1" and got["H1"]["乡镇"] == "T1"
    assert got["H1"]["首次发现"] == "2026-11-01" and got["H1"]["已持续天数"] == 25
    assert got["H2"]["已持续天数"] == 0
    # without a tracking the workbook has no such sheet
    write_problem_list(evaluation({"H1"}), tmp_path / "plain.xlsx")
    assert "整改台账" not in load_workbook(tmp_path / "plain.xlsx", read_only=True).sheetnames


def test_the_html_report_charts_open_problems_per_township_across_runs(tmp_path: Path) -> None:
    from fupin_rules.reports.html import render_html

    t = _three_runs(tmp_path)
    page = render_html(evaluation({"H1", "H2", "H4"}), tracking=t)
    assert 'id="progress-chart"' in page
    lines = re.findall(r'<g class="township-line"><title>([^<]*)</title>', page)
    # T1: runs 1..3 had 3, 2, 2 open problems; T2: 0, 0, 1
    assert lines == ["T1: 3, 2, 2", "T2: 0, 0, 1"]
    assert "复发 <b>1</b>" in page
    assert 'id="progress-chart"' not in render_html(evaluation({"H1"}))


@pytest.mark.parametrize("name", ["before.json.gz", "before.jsonl", "before.jsonl.gz"])
def test_cli_since_a_compact_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """--since reads every form check --out writes (issue 13), problems-only ones too."""
    from fupin_rules.cli import main

    report = tmp_path / name
    args = ["check", "--engine", "batch", "-q", "--out", str(report), "--problems-only"]
    assert main(args) == 0
    assert main(["check", "--engine", "batch", "--since", str(report)]) == 0
    out = capsys.readouterr().out
    assert f"since {name}" in out and "new 0" in out and "fixed 0" in out
    full = tmp_path / "full.json"
    assert main(["check", "--engine", "batch", "-q", "--out", str(full)]) == 0
    compact, whole = baseline_from_report(report), baseline_from_report(full)
    assert compact.open and compact.open.keys() == whole.open.keys()
    assert compact.about == whole.about and compact.policy_hash == whole.policy_hash
