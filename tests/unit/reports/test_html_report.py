"""The HTML report: self-contained, key numbers, charts, capped drill-downs, escaped, stable."""

from __future__ import annotations

import re
from pathlib import Path

import attrs

import fupin_rules as fr
from fupin_rules.reports import render_html, summary, write_html_report


def _card(page: str, key: str) -> str:
    m = re.search(rf'id="n-{key}"><b>([^<]*)</b>', page)
    assert m, key
    return m.group(1)


def test_self_contained(county_case: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path) -> None:
    ev, loaded = county_case
    path = tmp_path / "report.html"
    write_html_report(ev, path, dataset=loaded.dataset)
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert '<meta charset="utf-8">' in page


def test_key_numbers_and_provenance(
    county_case: tuple[fr.Evaluation, fr.LoadResult],
) -> None:
    ev, loaded = county_case
    page = render_html(ev, dataset=loaded.dataset)
    s = summary(ev)
    assert _card(page, "findings") == f"{s['findings']:,}"
    assert _card(page, "problems") == f"{s['problems']:,}"
    assert _card(page, "unknowns") == f"{s['unknown']:,}"
    assert _card(page, "rejected") == f"{s['rejected_rows']:,}"
    for text in (ev.policy_id, ev.policy_version, ev.policy_hash, ev.on.isoformat(), ev.engine):
        assert f"<dd>{text}" in page


def test_charts_are_inline_svg(county_case: tuple[fr.Evaluation, fr.LoadResult]) -> None:
    ev, loaded = county_case
    page = render_html(ev, dataset=loaded.dataset)
    targets = [f for f in ev.findings if f.rule_kind == "target"]
    assert '<svg id="target-chart"' in page
    assert page.count('<g class="target-bar">') == len(targets)
    assert '<svg id="criteria-chart"' in page
    village_conditions = {
        (f.rule_id, c.id) for f in ev.findings if f.subject_kind == "village" for c in f.conditions
    }
    assert page.count('<g class="criterion-bar">') == len(village_conditions)
    # "1 / 73 (1.4%)": actual / target of the village target, read from the finding outputs
    (villages,) = [f for f in targets if f.rule_id == "county.target.villages_exited"]
    out = dict(villages.outputs)
    assert f"{out['actual']} / {out['target']} (" in page


def test_drill_down_by_village_and_rule(failing_village: fr.Evaluation) -> None:
    page = render_html(failing_village)
    assert '<details class="drill" id="v0"><summary>村 V1' in page
    assert "贫困发生率低于2%" in page  # the failing condition
    assert "村 V1 — 贫困村出列标准(第三(三)条): 不符合" in page  # the explanation
    assert "village.exit.standard" in page
    assert "本次评估没有县级目标" in page  # the mini policy has no targets


def test_tables_are_capped_with_a_pointer_to_excel(
    county_case: tuple[fr.Evaluation, fr.LoadResult],
) -> None:
    ev, loaded = county_case
    per_rule: dict[str, int] = {}
    for f in ev.problems():
        per_rule[f.rule_id] = per_rule.get(f.rule_id, 0) + 1
    biggest = max(per_rule.values())
    assert biggest > 2
    page = render_html(ev, dataset=loaded.dataset, max_rows=2)
    assert f"… {biggest - 2} more (see the Excel file)" in page
    assert "见 Excel 问题清单" in page
    full = render_html(ev, dataset=loaded.dataset, max_rows=10_000)
    assert "more (see the Excel file)" not in full


def test_all_text_is_escaped(failing_village: fr.Evaluation) -> None:
    evil = "<script>alert('x')</script>&"
    issue = fr.DataIssue("a<b>.csv", "persons", 3, "P9", "name", evil)
    page = render_html(attrs.evolve(failing_village, data_issues=(issue,)))
    assert evil not in page and "a<b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;" in page
    assert page.count("<script>") == 1  # only the report's own filter script


def test_byte_identical_across_runs(
    county_case: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, loaded = county_case
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    write_html_report(ev, a, dataset=loaded.dataset)
    write_html_report(ev, b, dataset=loaded.dataset)
    assert a.read_bytes() == b.read_bytes()
