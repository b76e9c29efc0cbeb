"""Single decisions: the asked rule alone, decided first, explained on demand; one front door."""

from __future__ import annotations

import datetime as dt
import pickle
from importlib import resources
from pathlib import Path

import pytest

import fupin_rules as fr
from fupin_rules.api import AUTO_BATCH_HOUSEHOLDS, choose_engine
from fupin_rules.engine.context import Context
from fupin_rules.engine.decide import policy_slices, rule_slice
from fupin_rules.findings.render import finding_to_json
from fupin_rules.io.generate import generate_county, to_dataset_dict

ON = dt.date(2017, 12, 31)
SAMPLE = Path(str(resources.files("fupin_rules") / "data" / "sample_county.json"))


@pytest.fixture(scope="module")
def county() -> fr.Policy:
    return fr.load_policy("county_2017")


@pytest.fixture(scope="module")
def loaded() -> fr.LoadResult:
    return fr.load_data(SAMPLE)


def _all_pairs(policy: fr.Policy, ds: fr.Dataset) -> list[tuple[str, str]]:
    index = fr.Evaluator(policy, ds).index
    return [(r.id, key) for r in policy.rules for key in sorted(index.by_id[r.entity])[::37]]


def test_every_finding_equals_the_explained_reference(county: fr.Policy, loaded) -> None:
    ev = fr.Evaluator(county, loaded)
    ref = fr.Evaluator(county, loaded, engine="reference")
    pairs = _all_pairs(county, loaded.dataset)
    assert len(pairs) > 100
    for on in (dt.date(2017, 8, 31), ON):
        lazy = [ev.finding(rule, key, on) for rule, key in pairs]
        assert not any(f.explained for f in lazy)
        eager = [ref.finding(rule, key, on, explain=True) for rule, key in pairs]
        assert all(f.explained for f in eager)
        for f, g in zip(lazy, eager, strict=True):
            assert (f.verdict, f.amount, f.outputs) == (g.verdict, g.amount, g.outputs)
            assert finding_to_json(f) == finding_to_json(g)
            assert f == g and hash(f) == hash(g)
        assert all(f.explained for f in lazy)


def test_eligibility_does_not_explain_until_asked(county: fr.Policy, loaded) -> None:
    ev = fr.Evaluator(county, loaded)
    person = sorted(ev.index.by_id["person"])[0]
    f = ev.eligibility(person, "person.rain_and_dew.grant", ON)
    assert not f.explained
    text = fr.explain(f)
    assert f.explained and f.rule_id in text
    g = ev.eligibility(person, "person.rain_and_dew.grant", ON, explain=True)
    assert g.explained and g == f and fr.explain(g) == text


def test_a_decision_reads_only_its_dependency_slice(county: fr.Policy, loaded, monkeypatch) -> None:
    computed: list[tuple[str, str]] = []
    original = Context.derived

    def spy(self: Context, subject, var):  # type: ignore[no-untyped-def]
        computed.append((var.entity, var.name))
        return original(self, subject, var)

    monkeypatch.setattr(Context, "derived", spy)
    ev = fr.Evaluator(county, loaded)
    for rule in county.rules:
        for key in sorted(ev.index.by_id[rule.entity])[:3]:
            computed.clear()
            f = ev.finding(rule.id, key, dt.date(2016, 1, 1))  # a fresh date: nothing memoised
            allowed = set(rule_slice(county, rule.id).variables)
            assert set(computed) <= allowed, (rule.id, set(computed) - allowed)
            explained = f.conditions  # the explanation reads the same slice
            assert (f.explained and len(explained) == len(rule.conditions)) or f.verdict in (
                fr.Outcome.NOT_APPLICABLE,
                fr.Outcome.UNKNOWN,
            )
            assert set(computed) <= allowed, (rule.id, set(computed) - allowed)
        ev = fr.Evaluator(county, loaded)  # forget the memo between rules


def test_slices_are_computed_once_per_policy_version(county: fr.Policy) -> None:
    assert policy_slices(county) is policy_slices(county)
    grant = rule_slice(county, "person.rain_and_dew.grant")
    assert grant.variables == (  # in dependency order (county_2017 1.1.0)
        ("household", "is_registered_poor"),
        ("person", "is_vocational_student"),
        ("person", "is_household_child"),
    )
    assert grant.parameters == ("rain_and_dew.grant_yuan",)


def test_a_late_explanation_describes_the_data_of_the_decision(county: fr.Policy, loaded) -> None:
    """The explainer keeps the decision's immutable inputs: later queries on other data or
    dates, and a pickle round trip, give the explanation the decision had."""
    ev = fr.Evaluator(county, loaded)
    pid = sorted(ev.index.by_id["person"])[0]
    f = ev.finding("person.rain_and_dew.grant", pid, ON)
    # the caller moves on: other dates (the context cache evicts this one) and other data
    for day in range(1, 10):
        ev.finding("person.rain_and_dew.grant", pid, dt.date(2017, 1, day))
    data = loaded.dataset.to_dict()
    for p in data["persons"]:
        p.pop("school_level", None)
    other = fr.Evaluator(county, data)
    assert other.finding("person.rain_and_dew.grant", pid, ON).explained is False
    want = fr.Evaluator(county, loaded).finding("person.rain_and_dew.grant", pid, ON, explain=True)
    copy = pickle.loads(pickle.dumps(f))
    assert copy.explained and copy == want
    assert f == want


def test_unknown_subject_and_rule_are_named(county: fr.Policy, loaded) -> None:
    ev = fr.Evaluator(county, loaded)
    with pytest.raises(fr.FupinRulesError, match="no person with id 'nobody'"):
        ev.eligibility("nobody", "person.rain_and_dew.grant", ON)
    with pytest.raises(KeyError, match=r"no rule 'person\.nope'"):
        ev.finding("person.nope", "x", ON)


def test_compliance_evaluates_only_the_subjects_rules(county: fr.Policy, loaded) -> None:
    ev = fr.Evaluator(county, loaded)
    hid = sorted(ev.index.by_id["household"])[0]
    got = ev.compliance("household", hid, ON)
    want = tuple(
        f
        for f in fr.Evaluator(county, loaded, engine="reference").household(hid, ON, explain=True)
        if f.subject_id == hid and f.rule_kind != "eligibility"
    )
    assert got == want and got


def test_every_engine_through_one_front_door(county: fr.Policy) -> None:
    small = fr.load_data(to_dataset_dict(generate_county(60, seed=11)))
    assert not small.issues and len(small.dataset.households) < AUTO_BATCH_HOUSEHOLDS
    runs = {
        name: fr.evaluate(county, small, ON, engine=name) for name in ("auto", "batch", "reference")
    }
    assert runs["batch"].engine == "batch" and runs["batch"].engine_reason == "batch (asked for)"
    assert runs["reference"].findings == runs["batch"].findings
    assert runs["auto"].engine == "reference"
    assert runs["auto"].engine_reason.startswith("auto: reference (60 households < ")
    assert runs["auto"].findings == runs["reference"].findings
    batch_ev = fr.Evaluator(county, small, engine="batch")
    assert batch_ev.run(ON).engine == "batch"
    assert batch_ev.query_engine == "reference"


def test_auto_chooses_batch_for_large_datasets(county: fr.Policy, loaded) -> None:
    ds = loaded.dataset
    assert len(ds.households) >= AUTO_BATCH_HOUSEHOLDS
    engine, reason = choose_engine("auto", ds)
    assert engine == "batch" and reason.startswith("auto: batch (2,000 households >= ")
    few = type(ds)(county=ds.county, households=ds.households[: AUTO_BATCH_HOUSEHOLDS - 1])
    assert choose_engine("auto", few)[0] == "reference"
    ev = fr.Evaluator(county, loaded)
    assert ev.query_engine == "reference"  # single queries: the fastest per-case engine


def test_engine_names_are_checked() -> None:
    with pytest.raises(fr.FupinRulesError, match="did you mean 'batch'"):
        fr.get_engine("bacth")
    with pytest.raises(fr.FupinRulesError, match="evaluates whole datasets"):
        fr.get_engine("batch")
    assert fr.get_engine("auto").name == "reference"
