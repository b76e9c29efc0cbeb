"""Nothing lost: every input row ends in a result or an error row, on every batch run.

Architecture, "Nothing lost". Checked on partly corrupted ledgers (bad dates, unknown codes,
duplicate ids, orphan persons) read through ``read_ledger``, on fuzzed frames given to the batch
engine directly (orphans are dropped and reported there), and on the partitioned run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import ON

from fupin_rules.batch import compute
from fupin_rules.domain.dataset import TABLES, Dataset
from fupin_rules.engine.context import TABLE_KIND
from fupin_rules.io import read_ledger, write_ledger
from fupin_rules.io.generate import generate_county, to_dataset_dict
from fupin_rules.scale import run_partitioned, write_partitioned


def _rule_heights_match(policy, result, height) -> None:  # type: ignore[no-untyped-def]
    for rule in policy.rules:
        assert result.frame(rule.id).height == height(rule.entity), rule.id


def test_corrupted_ledger_every_row_is_a_result_or_an_error(county_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = to_dataset_dict(generate_county(200, 12, villages=4))
    write_ledger(Dataset.from_dict(data), tmp_path / "clean", "csv")
    persons = (tmp_path / "clean/persons.csv").read_text(encoding="utf-8").splitlines()
    header = persons[0].split(",")
    birth = header.index("birth_date")
    school = header.index("school_level")
    rows = [r.split(",") for r in persons[1:]]
    rows[0][birth] = "2017-02-30"  # bad date
    rows[1][school] = "wizardry"  # unknown code
    rows.append(list(rows[2]))  # duplicate id
    orphan = list(rows[3])
    orphan[0], orphan[1] = "P-ORPHAN", "H-NONE"  # orphan person
    rows.append(orphan)
    (tmp_path / "clean/persons.csv").write_text(
        "\n".join([persons[0], *(",".join(r) for r in rows)]) + "\n", encoding="utf-8"
    )
    loaded = read_ledger(tmp_path / "clean")
    assert loaded.accounted
    bad = {(i.table, i.row) for i in loaded.issues if i.row is not None}
    assert len(bad) == 4
    assert loaded.rows_in == loaded.dataset.record_count() + len(bad)
    result = compute(county_policy, loaded, ON)
    ds = loaded.dataset
    counts = {TABLE_KIND[t]: len(ds.table(t) or ()) for t in TABLES} | {"county": 1}
    _rule_heights_match(county_policy, result, counts.__getitem__)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts=st.lists(
        st.tuples(
            st.sampled_from(
                ["persons", "loans", "payments", "households", "documents", "relocations"]
            ),
            st.integers(0, 10_000),
        ),
        min_size=1,
        max_size=6,
    ),
    seed=st.integers(0, 50),
)
def test_fuzzed_orphans_are_counted_in_frames_and_partitions(county_policy, cuts, seed) -> None:  # type: ignore[no-untyped-def]
    frames = generate_county(60, seed, villages=3)
    for table, at in cuts:
        df = frames[table]
        if df.height == 0:
            continue
        i = at % df.height
        fk = "village_id" if table == "households" else "household_id"
        frames[table] = df.with_columns(
            pl.when(pl.int_range(pl.len()) == i)
            .then(pl.lit("NOWHERE"))
            .otherwise(pl.col(fk))
            .alias(fk)
        )
    result = compute(county_policy, frames, ON)
    issues: dict[str, int] = {}
    for issue in result.issues:
        issues[issue.table] = issues.get(issue.table, 0) + 1
    heights = {}
    for table in TABLES:
        kind = TABLE_KIND[table]
        n_in = frames[table].height if table in frames else 0
        heights[kind] = result.compiler.tables.height(kind)
        assert n_in == heights[kind] + issues.get(table, 0), table
    _rule_heights_match(county_policy, result, lambda k: heights.get(k, 1))
    with tempfile.TemporaryDirectory() as tmp:
        write_partitioned(frames, tmp, partitions=2)
        got = run_partitioned(county_policy, tmp, ON)
    for table in TABLES:
        kind = TABLE_KIND[table]
        if kind in got.subjects:
            n_in = frames[table].height if table in frames else 0
            bad = sum(1 for i in got.data_issues if i.table == table)
            assert n_in == got.subjects[kind] + bad, table
    assert got.counts == result.counts()
