"""Chinese text names every entity kind in Chinese, with the name its declaration gives.

The zh explanations, the problem lists' "why" column and the HTML report used to show English
kinds inside Chinese text (``document D00000876: 缺少 …``, ``loan L0000072: 缺少 …``) and ``人``
where the declaration (and the Excel workbook) says ``人员``: two hand-kept lists of four or five
kinds instead of the one declaration in :mod:`fupin_rules.domain.entities`.

English text names them with the declaration's English name in the same way: the en explanations
said ``person P1`` and ``procedure_step S1`` (the identifiers) where the declaration says
``household member`` and ``exit procedure step``. The problem list's person sheet was ``人``
where the declaration says ``人员``, and the HTML report's unit errors showed the English kind.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

import fupin_rules as fr
from fupin_rules.cli import sample_data_path
from fupin_rules.domain.entities import ENTITIES, REPORT_LEVELS, EntityKind
from fupin_rules.engine.run import SubjectError
from fupin_rules.findings import MissingField
from fupin_rules.findings.model import DeadlineCheck
from fupin_rules.findings.render import failing_summary
from fupin_rules.reports import render_html
from fupin_rules.reports.excel import KIND_ZH, LEVELS

#: an English kind word (kind or table name) followed by a record id
ENGLISH_KIND_ID = re.compile(
    r"\b(" + "|".join(sorted({w for e in ENTITIES for w in (e.kind, e.table)})) + r")\s+[A-Z]+\d"
)


@pytest.fixture(scope="module")
def sample_county() -> fr.Evaluation:
    return fr.evaluate("county_2017", sample_data_path(), dt.date(2017, 12, 31))


def test_zh_explanations_name_kinds_in_chinese(sample_county: fr.Evaluation) -> None:
    problems = [f for f in sample_county.findings if f.verdict.value != "pass"]
    assert problems
    bad = [
        line
        for f in problems
        for line in [*fr.explain(f, "zh").splitlines(), failing_summary(f, "zh")]
        if ENGLISH_KIND_ID.search(line)
    ]
    assert bad == [], bad[:5]


def test_html_report_names_kinds_in_chinese(sample_county: fr.Evaluation) -> None:
    page = render_html(sample_county)
    assert "档案资料 D" in page  # the sample county's documents are named, in Chinese
    assert sorted({m.group(0) for m in ENGLISH_KIND_ID.finditer(page)}) == []


@pytest.mark.parametrize("e", list(ENTITIES), ids=lambda e: e.kind)
def test_every_kind_has_its_declared_name(e: EntityKind) -> None:
    missing = MissingField(e.kind, "X1", "f", "某项")
    assert missing.render("zh") == f"{e.name_zh} X1: 缺少 某项 数据"
    assert missing.render("en") == f"{e.name_en} X1: missing f"
    assert KIND_ZH[e.kind] == e.name_zh  # the workbook's word is the explanation's word
    check = DeadlineCheck(
        e.kind, "X1", "done_on", "完成日期", None, dt.date(2017, 11, 30), "overdue"
    )
    assert check.render("zh").endswith(f"({e.name_zh} X1 done_on)")
    assert check.render("en").endswith(f"({e.name_en} X1 done_on)")


def test_en_explanations_name_kinds_in_english(sample_county: fr.Evaluation) -> None:
    problems = [f for f in sample_county.findings if f.verdict.value != "pass"]
    shown: set[str] = set()
    for f in problems:
        text = fr.explain(f, "en")
        name_en = ENTITIES[f.subject_kind].name_en
        assert text.startswith(f"{name_en} {f.subject_id} — {f.title_en} "), text[:80]
        for c in f.conditions:
            for r in c.reads:
                assert f"      {ENTITIES[r.subject_kind].name_en} {r.subject_id} {r.path}" in text
                shown.add(r.subject_kind)
            for m in c.missing:
                assert m.render("en").startswith(f"{ENTITIES[m.subject_kind].name_en} ")
                shown.add(m.subject_kind)
    # the sample county reaches kinds whose English name is not their identifier
    assert {"person", "village", "procedure_step"} <= shown | {f.subject_kind for f in problems}


@pytest.mark.parametrize("e", list(ENTITIES), ids=lambda e: e.kind)
def test_html_unit_errors_name_kinds_in_chinese(e: EntityKind) -> None:
    failed = SubjectError(e.stratum, e.kind, "X1", "boom", "r")
    ev = fr.Evaluation("p", "1", "0" * 64, dt.date(2017, 12, 31), "reference", (), (failed,))
    page = render_html(ev)
    level = ENTITIES[e.stratum].name_zh
    assert f"{level}级单元 {e.name_zh} X1: boom" in page
    assert f"{e.kind} X1" not in page


def test_level_sheets_are_titled_with_the_declared_names() -> None:
    titles = [title for title, _ in LEVELS.values()]
    assert titles == ["县级目标", *(ENTITIES[level].name_zh for level in REPORT_LEVELS[1:])]
    assert titles[1:] == ["村", "户", "人员"]
