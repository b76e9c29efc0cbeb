"""The partitioned Parquet layout: village-bound tables split by groups of villages.

Layout written by :func:`write_partitioned` (read back by :func:`read_partition`)::

    <dir>/_manifest.json                   format, tables supplied, partitions and their villages
    <dir>/county.parquet                   the county-stratum tables, small, read by every task
    <dir>/townships.parquet
    <dir>/rectification_items.parquet
    <dir>/<table>/part-00000.parquet       village-bound tables, one file per group of villages

Every record of a village-bound table goes to its village's partition: villages by
``village_id``; households by ``village_id``; persons, loans, payments, procedure steps and
relocations (no ``village_id``) through their household; projects and documents through their
household when they name one, else through their own ``village_id``. A record whose village
cannot be found (an orphan: its household does not exist, or its village does not) goes to
partition 0, where it is reported as the single-machine engine reports it. So every village's
subtree is in one file set and village aggregates stay local.

Every file carries ``_row``: the record's position in the input table, used to order data
issues as the single-machine engine orders them. Number columns given as text or binary floats
are written as ``Decimal`` with the table-wide scale, so every partition reads the same exact
denominators (partial sums from different partitions can then be added).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from fupin_rules.domain.dataset import TABLES
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.domain.schema import ENTITY_RECORDS
from fupin_rules.engine.context import TABLE_KIND
from fupin_rules.errors import FupinRulesError

__all__ = [
    "BROADCAST_TABLES",
    "LAYOUT_VERSION",
    "PARTITIONED_TABLES",
    "Manifest",
    "PartitionError",
    "read_broadcast",
    "read_manifest",
    "read_partition",
    "write_partitioned",
]

LAYOUT_VERSION = 1
ROW = "_row"
#: tables every task reads whole (the county stratum: small)
BROADCAST_TABLES: tuple[str, ...] = tuple(e.table for e in ENTITIES if e.stratum == "county")
#: tables split by village
PARTITIONED_TABLES: tuple[str, ...] = tuple(t for t in TABLES if t not in BROADCAST_TABLES)


class PartitionError(FupinRulesError):
    """A dataset or policy cannot be evaluated exactly when partitioned by village."""


class Manifest:
    """What a partitioned folder holds: supplied tables and the villages of each partition."""

    def __init__(self, directory: Path, data: Mapping[str, Any]) -> None:
        self.directory = directory
        self.supplied: tuple[str, ...] = tuple(data["supplied"])
        self.partitions: tuple[tuple[str, ...], ...] = tuple(tuple(p) for p in data["partitions"])

    def __len__(self) -> int:
        return len(self.partitions)

    def part_file(self, table: str, index: int) -> Path:
        """The Parquet file of one table's partition."""
        return self.directory / table / f"part-{index:05d}.parquet"


def read_manifest(directory: str | os.PathLike[str]) -> Manifest:
    """The manifest of a folder written by :func:`write_partitioned`."""
    folder = Path(directory)
    path = folder / "_manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PartitionError(
            f"{path}: no manifest; write the dataset with fupin_rules.scale.write_partitioned"
        ) from None
    except json.JSONDecodeError as exc:
        raise PartitionError(
            f"{path}:{exc.lineno}:{exc.colno}: invalid manifest ({exc.msg})"
        ) from None
    if not isinstance(data, dict) or data.get("layout") != LAYOUT_VERSION:
        got = data.get("layout") if isinstance(data, dict) else type(data).__name__
        raise PartitionError(f"{path}: layout={got!r}, expected {LAYOUT_VERSION}")
    return Manifest(folder, data)


def _key_field(table: str) -> str:
    return ENTITY_RECORDS[TABLE_KIND[table]].key_field


def _exact_numbers(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Text and float number columns as Decimal with the table-wide scale (see module doc)."""
    from fupin_rules.batch.frames import _number_series
    from fupin_rules.domain.schema import domain_schema
    from fupin_rules.expr import NUMBER

    kind = TABLE_KIND.get(table, table)
    fields = domain_schema().entities[kind].fields
    out = []
    for name, t in fields.items():
        if t != NUMBER or name not in frame.columns:
            continue
        dtype = frame[name].dtype
        if isinstance(dtype, pl.Decimal) or dtype.is_integer() or dtype == pl.Null:
            continue
        num, den = _number_series(frame[name])
        scale = len(str(den)) - 1
        text = pl.DataFrame({"n": num}).select(
            pl.when(pl.col("n") < 0).then(pl.lit("-")).otherwise(pl.lit(""))
            + (pl.col("n").abs() // den).cast(pl.String)
            + (
                pl.lit(".") + (pl.col("n").abs() % den).cast(pl.String).str.zfill(scale)
                if scale
                else pl.lit("")
            )
        )
        col = text.to_series().str.to_decimal(scale=scale).cast(pl.Decimal(38, scale))
        out.append(col.alias(name))
    return frame.with_columns(out) if out else frame


def _village_of(frames: Mapping[str, pl.DataFrame]) -> dict[str, pl.Series]:
    """For each partitioned table, the village id of each row (null: unknown)."""
    households = frames.get("households")
    if households is None:
        raise PartitionError("the frames need a 'households' table to place records by village")
    villages = frames.get("villages")
    known = (
        villages["village_id"].cast(pl.String).unique()
        if villages is not None
        else pl.Series([], dtype=pl.String)
    )
    # a household of an unknown village is an orphan: its records are orphans wherever they go,
    # so they follow their own village_id (or go to partition 0), as the reference reports them
    hh = (
        households.select(
            pl.col("household_id").cast(pl.String).alias("_h"),
            pl.col("village_id").cast(pl.String).alias("_hv"),
        )
        .filter(pl.col("_hv").is_in(known.implode()))
        .unique("_h", keep="first", maintain_order=True)
    )
    out: dict[str, pl.Series] = {}
    for table in PARTITIONED_TABLES:
        df = frames.get(table)
        if df is None:
            continue
        if table in ("villages", "households"):
            out[table] = df["village_id"].cast(pl.String)
            continue
        via = df.select(pl.col("household_id").cast(pl.String).alias("_h")).join(
            hh, on="_h", how="left", maintain_order="left"
        )["_hv"]
        if "village_id" in df.columns:
            own = df["village_id"].cast(pl.String)
            clash = df.filter(own.is_in(known.implode()) & via.is_not_null() & (own != via))
            if clash.height:
                rid = clash[_key_field(table)][0]
                raise PartitionError(
                    f"{table}: record {rid!r} names village_id {clash['village_id'][0]!r} but its "
                    f"household {clash['household_id'][0]!r} is in another village; a partitioned "
                    "run keeps a village's records together, so fix the record or run it on one "
                    "machine (fupin_rules.batch.evaluate_batch)"
                )
            out[table] = pl.select(pl.coalesce(via, own)).to_series()
        else:
            out[table] = via
    payments = frames.get("payments")
    persons = frames.get("persons")
    if payments is not None and persons is not None and "person_id" in payments.columns:
        pv = persons.select(pl.col("person_id").cast(pl.String).alias("_p")).with_columns(
            out["persons"].alias("_pv")
        )
        via_person = payments.select(pl.col("person_id").cast(pl.String).alias("_p")).join(
            pv.unique("_p", keep="first", maintain_order=True),
            on="_p",
            how="left",
            maintain_order="left",
        )["_pv"]
        mine = out["payments"]
        clash = payments.filter(
            mine.is_not_null() & via_person.is_not_null() & (mine != via_person)
        )
        if clash.height:
            raise PartitionError(
                f"payments: record {clash['payment_id'][0]!r} pays person "
                f"{clash['person_id'][0]!r} of a household in another village; a partitioned run "
                "keeps a village's records together, so fix the record or run it on one machine"
            )
    return out


def _groups(villages: pl.DataFrame, households: pl.DataFrame, n: int) -> list[list[str]]:
    """Villages in input order, cut into ``n`` contiguous groups of similar household counts."""
    ids = villages["village_id"].cast(pl.String).to_list()
    sizes = dict(households.group_by(pl.col("village_id").cast(pl.String)).len().iter_rows())
    weights = [int(sizes.get(v, 0)) + 1 for v in ids]
    total = sum(weights)
    n = max(1, min(n, len(ids))) if ids else 1
    groups: list[list[str]] = [[] for _ in range(n)]
    acc = 0
    for v, w in zip(ids, weights, strict=True):
        k = min(n - 1, acc * n // total) if total else 0
        groups[k].append(v)
        acc += w
    return groups


def write_partitioned(
    frames: Mapping[str, pl.DataFrame],
    directory: str | os.PathLike[str],
    *,
    partitions: int | None = None,
    households_per_partition: int = 50_000,
) -> Path:
    """Write ``frames`` (as from :func:`fupin_rules.io.generate.generate_county`) partitioned by
    village under ``directory``; return the folder.

    ``partitions`` fixes the number of partitions (village groups; at most one per village); by
    default there is one per
    ``households_per_partition`` households. Villages are cut in input order into contiguous
    groups of similar size. Tables absent from ``frames`` stay *not supplied*. Raises
    :class:`PartitionError` when a record ties two villages together (a project or document
    whose ``village_id`` differs from its household's village, a payment for a person of
    another village's household): such data cannot be split by village exactly.
    """
    if "county" not in frames:
        raise PartitionError("the frames need a 'county' table")
    unknown = sorted(set(frames) - {"county", *TABLES})
    if unknown:
        raise PartitionError(f"unknown table(s) {unknown}; expected some of {['county', *TABLES]}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    villages = frames.get("villages", pl.DataFrame({"village_id": pl.Series([], dtype=pl.String)}))
    households = frames.get(
        "households",
        pl.DataFrame(
            {"household_id": [], "village_id": []},
            schema={"household_id": pl.String, "village_id": pl.String},
        ),
    )
    n = (
        partitions
        if partitions is not None
        else max(1, -(-households.height // households_per_partition))
    )
    if n < 1:
        raise PartitionError(f"partitions={n}: expected at least 1")
    groups = _groups(villages, households, n)
    where = {v: k for k, g in enumerate(groups) for v in g}
    village_of = _village_of({**frames, "households": households})
    for table in BROADCAST_TABLES:
        df = frames.get(table)
        if df is None:
            continue
        if table == "county" and not isinstance(df, pl.DataFrame):
            df = pl.DataFrame([dict(df)])
        df = _exact_numbers(df, table).with_row_index(ROW)
        df.write_parquet(folder / f"{table}.parquet")
    mapping = pl.DataFrame(
        {"_v": list(where), "_k": list(where.values())}, schema={"_v": pl.String, "_k": pl.Int64}
    )
    supplied = [t for t in ("county", *TABLES) if t in frames]
    for table in PARTITIONED_TABLES:
        df = frames.get(table)
        if df is None:
            continue
        df = _exact_numbers(df, table).with_row_index(ROW)
        part = (
            pl.DataFrame({"_v": village_of[table]})
            .join(mapping, on="_v", how="left", maintain_order="left")["_k"]
            .fill_null(0)
        )
        (folder / table).mkdir(exist_ok=True)
        for k in range(len(groups)):
            df.filter(part == k).write_parquet(folder / table / f"part-{k:05d}.parquet")
    manifest = {"layout": LAYOUT_VERSION, "supplied": supplied, "partitions": groups}
    (folder / "_manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return folder


def read_broadcast(manifest: Manifest) -> dict[str, pl.DataFrame]:
    """The county-stratum tables (county, townships, rectification items) that were supplied."""
    return {
        t: pl.read_parquet(manifest.directory / f"{t}.parquet")
        for t in BROADCAST_TABLES
        if t in manifest.supplied
    }


def read_partition(manifest: Manifest, indices: Sequence[int]) -> dict[str, pl.DataFrame]:
    """The broadcast tables and the village-bound tables of some partitions (one frame each)."""
    frames = read_broadcast(manifest)
    for table in PARTITIONED_TABLES:
        if table not in manifest.supplied:
            continue
        parts = [pl.read_parquet(manifest.part_file(table, i)) for i in indices]
        frames[table] = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
    return frames


def empty_partition(manifest: Manifest) -> dict[str, pl.DataFrame]:
    """The broadcast tables and empty village-bound tables with their written schemas."""
    frames = read_broadcast(manifest)
    for table in PARTITIONED_TABLES:
        if table in manifest.supplied:
            schema = pl.read_parquet_schema(manifest.part_file(table, 0))
            frames[table] = pl.DataFrame(schema=schema)
    return frames
