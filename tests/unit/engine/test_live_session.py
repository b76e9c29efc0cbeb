"""Live sessions: partitions, changes before -> after, orphans, validation, incremental
aggregates, and the durable-rules live-session primitive's limits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import fupin_rules as fr
from fupin_rules.domain.dataset import load_dataset
from fupin_rules.engine import live
from fupin_rules.engine.inference import durable_available
from fupin_rules.engine.run import ReferenceEngine, run_policy
from fupin_rules.errors import DataError, EngineError
from fupin_rules.io.generate import generate_county, to_dataset_dict

pytestmark = pytest.mark.skipif(not durable_available(), reason="durable-rules does not import")

ON = dt.date(2017, 12, 31)
POLICY = fr.load_policy("county_2017")


@pytest.fixture(scope="module")
def county() -> dict[str, Any]:
    return to_dataset_dict(generate_county(40, 11, villages=4))


def fresh(session: fr.Session) -> fr.Evaluation:
    return run_policy(POLICY, load_dataset(session.records()).dataset, ON, engine=ReferenceEngine())


def test_a_county_larger_than_a_partition_is_split_by_village(county: dict[str, Any]) -> None:
    with fr.Session(POLICY, county, on=ON, partition_size=60) as s:
        assert len(s.partitions) > 1
        assert s.load_stats["partitions"] == len(s.partitions)
        assert s.all_findings() == fresh(s).findings
        assert s.problems() == fresh(s).problems()


def test_one_household_change_returns_its_changed_findings(county: dict[str, Any]) -> None:
    hh = next(h for h in county["households"] if h.get("poverty_status") == "exited")
    with fr.Session(POLICY, county, on=ON) as s:
        before = s.all_findings(keep_not_applicable=True)
        assert s.findings(f"household:{hh['household_id']}")
        changed = {**hh, "poverty_status": "pre_exit_2017"}
        r = s.apply([fr.Change.upsert("households", changed)])
        after = s.all_findings(keep_not_applicable=True)
        assert s.findings(("household", hh["household_id"])) == fresh(s).for_subject(
            "household", hh["household_id"]
        )
        assert r.retracted > 0 and r.asserted > 0 and r.rules_fired > 0
        assert r.changed
        # the household, its members and records, its village and the county: not the others
        assert r.subjects_refired < 20
        assert any(c.subject_kind == "county" for c in r.changed)  # a county target moved
        for c in r.changed:
            assert c.before != c.after
            assert c.before in before and c.after in after
        assert s.all_findings() == fresh(s).findings
        # the same record again: nothing changes
        r2 = s.apply([fr.Change.upsert("households", changed)])
        assert r2.changed == ()


def test_deleting_a_household_orphans_its_records_until_it_comes_back(
    county: dict[str, Any],
) -> None:
    hh = county["households"][0]
    hid = hh["household_id"]
    members = [p["person_id"] for p in county["persons"] if p["household_id"] == hid]
    with fr.Session(POLICY, county, on=ON) as s:
        r = s.apply([fr.Change.delete("households", hid)])
        assert {("persons", m) for m in members} <= set(r.orphans)
        gone = {c.subject_id for c in r.changed if c.after is None}
        assert hid in gone and set(members) <= gone
        assert s.findings(f"person:{members[0]}") == ()
        assert s.all_findings() == fresh(s).findings
        back = s.apply([fr.Change.upsert("households", hh)])
        assert {c.subject_id for c in back.changed if c.before is None} >= {hid, *members}
        assert s.all_findings() == fresh(s).findings


def test_changes_are_validated_before_anything_is_applied(county: dict[str, Any]) -> None:
    with pytest.raises(DataError, match=r"households:H1.*poverty_status"):
        fr.Change.upsert(
            "households", {"household_id": "H1", "village_id": "V1", "poverty_status": "rich"}
        )
    with pytest.raises(DataError, match="unknown table"):
        fr.Change.upsert("housholds", {})
    with pytest.raises(DataError, match="cannot delete"):
        fr.Change.delete("county", "X")


def test_an_aggregate_is_updated_from_the_changed_child_only(
    county: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person's change touches its own contribution to the county's and village's
    aggregates, never its siblings' (the totals are maintained, not recomputed)."""
    calls: list[str] = []
    real = live._contribution

    def counting(func: str, value: Any, filt: Any, c: Any, e: Any) -> Any:
        calls.append(c.key)
        return real(func, value, filt, c, e)

    with fr.Session(POLICY, county, on=ON) as s:
        monkeypatch.setattr(live, "_contribution", counting)
        poor = {
            h["household_id"]
            for h in county["households"]
            if h.get("poverty_status") in ("registered_poor", "pre_exit_2017", "exited")
        }
        person = next(
            p
            for p in county["persons"]
            if p["household_id"] in poor and p.get("basic_medical_insured") is True
        )
        r = s.apply([fr.Change.upsert("persons", {**person, "basic_medical_insured": False})])
        village = next(
            h["village_id"]
            for h in county["households"]
            if h["household_id"] == person["household_id"]
        )
        # the person, then its household and village as children of their own ancestors
        assert calls and set(calls) <= {person["person_id"], person["household_id"], village}
        assert r.changed
        assert s.all_findings() == fresh(s).findings


def test_partitions_beyond_the_limit_are_refused(
    county: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "MAX_PARTITIONS", 2)
    with pytest.raises(EngineError, match="partitions"):
        fr.Session(POLICY, county, on=ON, partition_size=1)


def test_the_durable_live_session_reuses_ids_and_limits_sessions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fupin_rules.engine import _durable
    from fupin_rules.engine._durable import Match, RulesetSpec, RuleSpec

    engine = _durable.DurableEngine()
    seen: list[Any] = []
    handle = engine.register(
        RulesetSpec(
            "test-live-primitive",
            [RuleSpec("r", Match(kind="x"), lambda c: c.context.append(c.fact["v"]))],
        )
    )
    a = engine.live_session(handle, seen).open()
    first = a.assert_fact({"kind": "x", "v": "1"})
    a.retract_fact({"kind": "x", "v": "1"}, first)
    assert a.assert_fact({"kind": "x", "v": "2"}) == first  # the id is reused
    assert seen == ["1", "2"]
    monkeypatch.setattr(_durable, "MAX_LIVE_SESSIONS_PER_RULESET", 2)
    b = engine.live_session(handle, []).open()
    with pytest.raises(EngineError, match="live sessions"):
        engine.live_session(handle, [])
    b.close()
    c = engine.live_session(handle, []).open()  # a closed session frees its id
    c.close()
    a.close()
    with pytest.raises(EngineError, match="closed"):
        a.assert_fact({"kind": "x", "v": "3"})
    # an ordinary session of the same ruleset still works next to live ones
    with engine.session(handle, seen) as s:
        s.assert_fact({"kind": "x", "v": "4"})
    assert seen[-1] == "4"


def test_a_named_child_renamed_is_renamed_in_the_findings(county: dict[str, Any]) -> None:
    """Drill-down (issue 12): a finding names its failing children by id and name. Renaming a
    named child changes no aggregate, yet the finding must name it by its new name, as a fresh
    run does (the village and county findings kept the old name)."""
    with fr.Session(POLICY, county, on=ON) as s:
        named = [
            (f, d)
            for f in fresh(s).findings
            for c in f.conditions
            for d in c.children
            if d.child_kind == "person"
        ]
        assert {f.subject_kind for f, _ in named} >= {"village", "county"}
        for f, d in named[:1] + [x for x in named if x[0].subject_kind == "county"][:1]:
            pid = d.records[0][0]
            person = next(p for p in s.records()["persons"] if p["person_id"] == pid)
            s.apply([fr.Change.upsert("persons", {**person, "name": f"改名{pid}"})])
            mine = next(
                x
                for x in s.all_findings()
                if (x.rule_id, x.subject_id) == (f.rule_id, f.subject_id)
            )
            assert any(
                (pid, f"改名{pid}") in dd.records for c in mine.conditions for dd in c.children
            )
        assert s.all_findings() == fresh(s).findings


def test_ctrl_c_during_apply_is_raised_after_the_change_is_applied(
    county: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SIGINT half-way through apply: KeyboardInterrupt reaches the caller after the
    change, and the session still equals a fresh evaluation (an interrupt inside apply used to
    leave records, aggregates and facts out of step)."""
    import os
    import signal

    hh = next(h for h in county["households"] if h.get("poverty_status") == "exited")
    calls = {"n": 0}
    real = live.evaluate_rule

    def interrupting(*args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kw)

    with fr.Session(POLICY, county, on=ON) as s:
        monkeypatch.setattr(live, "evaluate_rule", interrupting)
        with pytest.raises(KeyboardInterrupt):
            s.apply([fr.Change.upsert("households", {**hh, "poverty_status": "pre_exit_2017"})])
        monkeypatch.setattr(live, "evaluate_rule", real)
        assert calls["n"] > 2  # the change went on after the signal
        assert s.all_findings() == fresh(s).findings
        r = s.apply([fr.Change.upsert("households", hh)])  # and the session still works
        assert r.changed and s.all_findings() == fresh(s).findings


def test_orphans_are_listed_by_table_then_id(county: dict[str, Any]) -> None:
    """Deleting a household orphans its records in table order, then by id, every run (the
    order within a table followed a set's iteration, so it changed with PYTHONHASHSEED)."""
    from fupin_rules.domain.dataset import TABLES

    sizes: dict[str, int] = {}
    for p in county["persons"]:
        sizes[p["household_id"]] = sizes.get(p["household_id"], 0) + 1
    hid = max(sizes, key=lambda h: sizes[h])
    assert sizes[hid] >= 3
    with fr.Session(POLICY, county, on=ON) as s:
        r = s.apply([fr.Change.delete("households", hid)])
        tables = list(TABLES)
        assert len(r.orphans) >= 3
        assert list(r.orphans) == sorted(r.orphans, key=lambda o: (tables.index(o[0]), o[1]))
