"""The live session against its oracle: after every random change, its findings equal a fresh
reference evaluation of the same records (hypothesis RuleBasedStateMachine).

Changes: field edits of any table (values seen in the county, unknowns, threshold values that
flip a village's exit verdict), moves to another parent (a missing parent makes an orphan),
deletes (children become orphans), re-inserts (orphans come back), new records, county edits,
and an optional table that starts unknown and is then supplied.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fupin_rules.domain.dataset import TABLES, load_dataset
from fupin_rules.engine.inference import durable_available
from fupin_rules.engine.run import ReferenceEngine, run_policy
from fupin_rules.errors import DataError
from fupin_rules.io.generate import generate_county, to_dataset_dict
from fupin_rules.policy import load_policy

pytestmark = pytest.mark.skipif(not durable_available(), reason="durable-rules does not import")

ON = dt.date(2017, 12, 31)
POLICY = load_policy("county_2017")
KEY = {name: cls.key_field for name, cls in TABLES.items()}
PARENT_FIELDS = {"village_id", "household_id", "person_id", "township_id"}
#: values around the village exit thresholds (collective income 50,000 以上, growth, counts)
THRESHOLDS: dict[str, list[Any]] = {
    "collective_income_yuan": ["50000", "49999.99", "50000.01", None],
    "income_growth_rate": ["0.0698", "0.0699", "0.0697", None],
    "new_market_entities_count": [0, 1, 2, None],
    "category": ["province_key", "county_designated", None],
}


def _pools(data: dict[str, Any]) -> dict[tuple[str, str], list[Any]]:
    pools: dict[tuple[str, str], list[Any]] = {}
    for name in TABLES:
        for row in data.get(name) or []:
            for field, value in row.items():
                pool = pools.setdefault((name, field), [None])
                if value not in pool and len(pool) < 12:
                    pool.append(value)
    for field, values in THRESHOLDS.items():
        pools.setdefault(("villages", field), [None]).extend(values)
    return pools


class LiveSessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.session: Any = None

    @initialize(
        seed=st.integers(0, 10_000),
        households=st.integers(4, 14),
        unknown_table=st.sampled_from([None, "loans", "relocations"]),
    )
    def load(self, seed: int, households: int, unknown_table: str | None) -> None:
        from fupin_rules.engine.live import Session

        data = to_dataset_dict(generate_county(households, seed, villages=2))
        if unknown_table is not None:
            data[unknown_table] = None
        self.pools = _pools(data)
        self.county = dict(data["county"])
        self.tables: dict[str, dict[str, dict[str, Any]] | None] = {
            name: (
                None
                if data.get(name) is None
                else {row[KEY[name]]: dict(row) for row in data[name]}
            )
            for name in TABLES
        }
        self.graveyard: list[tuple[str, dict[str, Any]]] = []
        self.unknown_table = unknown_table
        self.counter = 0
        loaded = load_dataset(self.model())
        # a small partition size: the county spans several durable-rules sessions
        self.session = Session(POLICY, loaded, on=ON, partition_size=15)
        self.previous = self.current()

    def teardown(self) -> None:
        if self.session is not None:
            self.session.close()

    # -- the model ------------------------------------------------------------------------

    def model(self) -> dict[str, Any]:
        out: dict[str, Any] = {"county": self.county}
        for name, rows in self.tables.items():
            out[name] = None if rows is None else list(rows.values())
        return out

    def current(self) -> dict[tuple[str, str, str], Any]:
        return {
            (f.rule_id, f.subject_kind, f.subject_id): f
            for f in self.session.all_findings(keep_not_applicable=True)
        }

    def apply(self, changes: list[Any]) -> None:
        result = self.session.apply(changes)
        now = self.current()
        expected = {k for k in set(now) | set(self.previous) if now.get(k) != self.previous.get(k)}
        got = {(c.rule_id, c.subject_kind, c.subject_id) for c in result.changed}
        assert got == expected, (sorted(got ^ expected))[:5]
        for c in result.changed:
            key = (c.rule_id, c.subject_kind, c.subject_id)
            assert c.before == self.previous.get(key) and c.after == now.get(key)
        self.previous = now

    def upsert(self, table: str, row: dict[str, Any]) -> None:
        from fupin_rules.engine.live import Change

        try:
            change = Change.upsert(table, row)
        except DataError:
            return  # not a valid record: nothing applied, the model is unchanged
        if table == "county":
            self.county = row
        else:
            rows = self.tables[table]
            if rows is None:
                rows = self.tables[table] = {}
            rows[row[KEY[table]]] = row
        self.apply([change])

    # -- rules ----------------------------------------------------------------------------

    @rule(data=st.data())
    def edit_field(self, data: st.DataObject) -> None:
        editable = {t for (t, f) in self.pools if f != KEY[t]}
        names = [n for n, rows in self.tables.items() if rows and n in editable]
        table = data.draw(st.sampled_from(names))
        rows = self.tables[table]
        assert rows
        key = data.draw(st.sampled_from(sorted(rows)))
        fields = sorted(f for (t, f) in self.pools if t == table and f != KEY[table])
        field = data.draw(st.sampled_from(fields))
        pool = list(self.pools[(table, field)])
        if field in PARENT_FIELDS:
            pool.append(f"MISSING{data.draw(st.integers(0, 2))}")  # an orphan
        value = data.draw(st.sampled_from(pool))
        row = dict(rows[key])
        if value is None:
            row.pop(field, None)
        else:
            row[field] = value
        self.upsert(table, row)

    @precondition(lambda self: bool(self.tables["villages"]))  # every village may be deleted
    @rule(data=st.data())
    def flip_village(self, data: st.DataObject) -> None:
        rows = self.tables["villages"]
        assert rows is not None
        key = data.draw(st.sampled_from(sorted(rows)))
        field = data.draw(st.sampled_from(sorted(THRESHOLDS)))
        row = dict(rows[key])
        value = data.draw(st.sampled_from(THRESHOLDS[field]))
        if value is None:
            row.pop(field, None)
        else:
            row[field] = value
        self.upsert("villages", row)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        from fupin_rules.engine.live import Change

        names = [n for n, rows in self.tables.items() if rows]
        table = data.draw(st.sampled_from(names))
        rows = self.tables[table]
        assert rows
        key = data.draw(st.sampled_from(sorted(rows)))
        self.graveyard.append((table, rows.pop(key)))
        self.apply([Change.delete(table, key)])

    @precondition(lambda self: bool(self.graveyard))
    @rule(data=st.data())
    def reinsert(self, data: st.DataObject) -> None:
        table, row = self.graveyard.pop(data.draw(st.integers(0, len(self.graveyard) - 1)))
        self.upsert(table, row)

    @rule(data=st.data())
    def new_household(self, data: st.DataObject) -> None:
        villages = self.tables["villages"]
        assert villages is not None
        self.counter += 1
        hid = f"HNEW{self.counter}"
        vid = data.draw(st.sampled_from([*sorted(villages), "VMISSING"]))
        status = data.draw(
            st.sampled_from(["registered_poor", "pre_exit_2017", "exited", "non_poor", None])
        )
        row: dict[str, Any] = {"household_id": hid, "village_id": vid}
        if status:
            row["poverty_status"] = status
        self.upsert("households", row)
        self.upsert(
            "persons",
            {
                "person_id": f"PNEW{self.counter}",
                "household_id": hid,
                "is_head": True,
                "birth_date": "1960-01-01",
                "basic_medical_insured": data.draw(st.booleans()),
            },
        )

    @rule(rate=st.sampled_from(["0.0698", "0.05", "0.2"]))
    def county_growth(self, rate: str) -> None:
        self.upsert("county", {**self.county, "avg_income_growth_rate": rate})

    @precondition(lambda self: self.unknown_table is not None)
    @rule()
    def supply_unknown_table(self) -> None:
        households = self.tables["households"]
        assert households and self.unknown_table
        hid = sorted(households)[0]
        row = (
            {"loan_id": "LNEW", "household_id": hid, "amount_yuan": "50000", "term_months": 36}
            if self.unknown_table == "loans"
            else {"relocation_id": "RNEW", "household_id": hid, "year": 2017}
        )
        self.unknown_table = None
        self.upsert(row and ("loans" if "loan_id" in row else "relocations"), row)

    # -- the oracle -------------------------------------------------------------------------

    @invariant()
    def equals_a_fresh_reference_evaluation(self) -> None:
        if self.session is None:
            return
        loaded = load_dataset(self.model())
        fresh = run_policy(POLICY, loaded.dataset, ON, engine=ReferenceEngine())
        got = self.session.all_findings()
        if got != fresh.findings:
            a, b = set(got), set(fresh.findings)
            wrong = sorted((f.rule_id, f.subject_id, f.verdict.value) for f in a - b)[:5]
            missing = sorted((f.rule_id, f.subject_id, f.verdict.value) for f in b - a)[:5]
            raise AssertionError(f"live != fresh: extra {wrong}, missing {missing}")
        assert self.session.problems() == fresh.problems()
        assert sorted(self.session.records()) == sorted(
            k for k, v in self.model().items() if v is not None
        )


LiveSessionMachine.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestLiveSession = LiveSessionMachine.TestCase
