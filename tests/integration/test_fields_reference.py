"""The author field reference (``fupin-rules fields``, docs/fields.md) follows the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fupin_rules.authoring.fields import entity_fields, fields_markdown, find_entity
from fupin_rules.cli import EXIT_INPUT, EXIT_OK, main
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.io.headers import enum_code, field_specs, resolve_column

DOCS = Path(__file__).parents[2] / "docs"


def test_fields_page_is_current() -> None:
    assert (DOCS / "fields.md").read_text(encoding="utf-8") == fields_markdown() + "\n", (
        "docs/fields.md is stale: run `fupin-rules fields --format markdown > docs/fields.md`"
    )


def test_every_header_and_code_listed_is_one_the_ledger_reader_takes() -> None:
    for e in ENTITIES:
        enums = {s.name: s.enum for s in field_specs(e.table)}
        for f in entity_fields(e):
            for header in (f.name, f.title_zh, *f.headers):
                assert resolve_column(e.table, header) == (f.name, None), (e.table, header)
            for c in f.codes:
                enum_cls = enums[f.name]
                assert enum_cls is not None
                for spelling in (c.code, c.label_zh, *c.also):
                    assert enum_code(enum_cls, spelling) == c.code, (f.name, spelling)


def test_every_field_of_every_record_is_listed() -> None:
    for e in ENTITIES:
        assert [f.name for f in entity_fields(e)] == list(e.record.model_fields)


def test_concepts_collections_table_matches_the_declaration() -> None:
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\w+) \| (`.*`) \|$", text, flags=re.M))
    declared = {
        e.kind: ", ".join(f"`{c.name}`" for c in e.collections) for e in ENTITIES if e.collections
    }
    listed = {k: re.sub(r" \([^)]*\)", "", v) for k, v in rows.items()}  # drop the glosses
    assert listed == declared


def test_fields_command_lists_one_entity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "人员"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("person — 人员 (household member)")
    assert "relationship: 与户主关系 — code" in out
    assert "also accepted as header: 家庭关系、与户主的关系、关系" in out
    assert "secondary_vocational: 中职" in out
    assert "annual_income_yuan: 个人年收入(元) — money: yuan, at most 2 decimals" in out


def test_fields_command_without_entity_lists_the_entities(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["fields"]) == EXIT_OK
    out = capsys.readouterr().out
    for e in ENTITIES:
        assert f"  {e.kind} " in out


def test_fields_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "households", "--format", "json"]) == EXIT_OK
    (household,) = json.loads(capsys.readouterr().out)
    assert household["entity"] == "household" and household["key"] == "household_id"
    status = next(f for f in household["fields"] if f["name"] == "poverty_status")
    assert {"code": "exited", "label_zh": "已脱贫户", "also": ["已脱贫", "脱贫户"]} in status[
        "codes"
    ]


def test_unknown_entity_says_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "hosehold"]) == EXIT_INPUT
    assert "unknown entity 'hosehold'; did you mean 'household'?" in capsys.readouterr().err


def test_entity_found_by_kind_table_or_chinese_name() -> None:
    assert find_entity("households") is find_entity("户") is find_entity("贫困户")
    assert find_entity("household") is ENTITIES["household"]
