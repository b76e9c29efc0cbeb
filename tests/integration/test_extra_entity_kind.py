"""Adding an entity kind touches its declaration, its record model and the policy using it.

A copy of the package gets one new module (the record model of 入户走访, a cadre's visit to a
household) and a few lines appended to ``domain/entities.py`` (its declaration); nothing else
changes. In that copy a policy with a visit rule and a household aggregate over ``visits``
loads, a dataset with a ``visits`` table (and an orphan visit) loads, both engines give the same
findings, and the reports place the visits under their household and village. The reports name
the kind as declared: 入户走访 in Chinese text (the HTML report's unit errors too), "cadre visit"
in English explanations, and a drill-down shows a visit's declared display field (the cadre).
The service's request examples cut a household's visits with its other records.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import fupin_rules

PACKAGE = Path(fupin_rules.__file__).parent

RECORD = '''
"""入户走访 — a cadre's visit to a household (an extra kind, declared by a test)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import Field

from fupin_rules.domain.models import Key, Record


class CadreVisit(Record):
    """入户走访."""

    key_field: ClassVar[str] = "visit_id"
    visit_id: Key = Field(title="走访编号")
    household_id: Key = Field(title="户编码")
    cadre_name: str | None = Field(default=None, title="走访干部")
    visited_on: dt.date | None = Field(default=None, title="走访日期")
    problem_found: bool | None = Field(default=None, title="发现问题")
'''

DECLARATION = """

# --- one more kind (added by tests/integration/test_extra_entity_kind.py) ---
from fupin_rules.domain.visit import CadreVisit  # noqa: E402

ENTITIES = declare(
    [
        *(
            attrs.evolve(
                e, collections=(*e.collections, Collection("visits", "visit", ("household",)))
            )
            if e.kind == "household"
            else e
            for e in ENTITIES
        ),
        EntityKind(
            "visit",
            "visits",
            CadreVisit,
            name_zh="入户走访",
            name_en="cadre visit",
            stratum="household",
            level="household",
            parents=(_HOUSEHOLD,),
            visited_through="visits",
            sheet_zh="入户走访",
            sheet_aliases=("走访记录",),
            display="cadre_name",
        ),
    ]
)
"""

POLICY = {
    "policy.yaml": """
        id: visits
        version: 0.1.0
        title: {zh: 入户走访, en: Cadre visits}
        jurisdiction: {zh: 测试县, en: Test county}
        source: {title: test}
        effective: {start: 2017-01-01, end: 2017-12-31}
        clauses:
          - {clause: 一, title: {zh: 入户走访, en: Visits}}
        """,
    "rules/rules.yaml": """
        rules:
          - id: visit.no_problem
            clause: 一
            title: {zh: 走访未发现问题, en: No problem found on a visit}
            entity: visit
            kind: compliance
            status: seed
            conditions:
              - id: clean
                title: {zh: 未发现问题, en: No problem found}
                expr: not problem_found
          - id: household.visited
            clause: 一
            title: {zh: 贫困户已走访, en: Household visited}
            entity: household
            kind: compliance
            status: seed
            conditions:
              - id: visited
                title: {zh: 至少走访一次, en: At least one visit}
                expr: count(visits, known(visited_on)) >= 1
          - id: household.visits_clean
            clause: 一
            title: {zh: 走访均未发现问题, en: No visit found a problem}
            entity: household
            kind: compliance
            status: seed
            conditions:
              - id: clean
                title: {zh: 各次走访未发现问题, en: No problem on any visit}
                expr: all(visits, not problem_found)
        """,
}

DATA = {
    "county": {"county_id": "C1", "name": "测试县"},
    "villages": [{"village_id": "V1", "township_id": "T1", "name": "一村"}],
    "households": [
        {"household_id": "H1", "village_id": "V1"},
        {"household_id": "H2", "village_id": "V1"},
    ],
    "persons": [{"person_id": "P1", "household_id": "H1", "name": "张三", "is_head": True}],
    "visits": [
        {
            "visit_id": "W1",
            "household_id": "H1",
            "visited_on": "2017-05-01",
            "problem_found": True,
            "cadre_name": "李四",
        },
        {"visit_id": "W2", "household_id": "H1", "visited_on": "2017-06-01"},
        {"visit_id": "W3", "household_id": "H9", "visited_on": "2017-06-01"},
    ],
}

SCRIPT = """
import datetime as dt, json, sys
import attrs
from fupin_rules import explain, load_data, load_policy
from fupin_rules.engine.run import SubjectError
from fupin_rules.reports.html import render_html
from fupin_rules.api import evaluate
from fupin_rules.reports.excel import SubjectDirectory, level_of, write_problem_list
from fupin_rules.reports.html import write_html_report
from fupin_rules.reports.json_report import evaluation_to_json
from fupin_rules.domain.jsonschema import dataset_json_schema
from fupin_rules.io.headers import resolve_table

policy = load_policy(sys.argv[1])
loaded = load_data(sys.argv[2])
out = {"issues": [i.render() for i in loaded.issues], "accounted": loaded.accounted}
for engine in ("reference", "batch"):
    ev = evaluate(policy, loaded, dt.date(2017, 12, 31), engine=engine)
    report = evaluation_to_json(ev)
    out[engine] = sorted(
        (f["rule"], f["subject"]["id"], f["verdict"]) for f in report["findings"]
    )
    out[engine + " named"] = [
        (f["subject"]["id"], c["children"])
        for f in report["findings"]
        for c in f["conditions"]
        if c.get("children")
    ]
    out[engine + " en"] = [
        explain(f, "en").splitlines()[0] for f in ev.findings if f.subject_kind == "visit"
    ]
    write_problem_list(ev, sys.argv[3] + engine + ".xlsx", dataset=loaded.dataset)
    write_html_report(ev, sys.argv[3] + engine + ".html", dataset=loaded.dataset)
out["html"] = "入户走访 W1" in open(sys.argv[3] + "batch.html", encoding="utf-8").read()
failed = SubjectError("household", "visit", "W2", "boom", "visit.no_problem")
out["html errors"] = "户级单元 入户走访 W2: boom" in render_html(attrs.evolve(ev, errors=(failed,)))
directory = SubjectDirectory.from_dataset(loaded.dataset)
out["placed"] = [directory.village("visit", "W2"), directory.household("visit", "W2")]
out["level"] = level_of("visit")
out["schema"] = "visits" in dataset_json_schema()["properties"]
out["sheet"] = resolve_table("走访记录")[0]
from fupin_rules.service.examples import household_slice
sliced = household_slice(json.load(open(sys.argv[2], encoding="utf-8")), "H1")
out["slice"] = [v["visit_id"] for v in sliced.get("visits", [])]
print(json.dumps(out, ensure_ascii=False))
"""


def test_a_new_kind_needs_only_its_declaration_record_and_policy(tmp_path: Path) -> None:
    copy = tmp_path / "src" / "fupin_rules"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "domain" / "visit.py").write_text(RECORD, encoding="utf-8")
    entities = copy / "domain" / "entities.py"
    entities.write_text(entities.read_text(encoding="utf-8") + DECLARATION, encoding="utf-8")
    policy = tmp_path / "policy"
    for name, text in POLICY.items():
        (policy / name).parent.mkdir(parents=True, exist_ok=True)
        (policy / name).write_text(textwrap.dedent(text), encoding="utf-8")
    data = tmp_path / "data.json"
    data.write_text(json.dumps(DATA, ensure_ascii=False), encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(policy), str(data), str(tmp_path / "report.")],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={"PYTHONPATH": str(tmp_path / "src"), "PATH": ""},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)

    assert out["issues"] == [
        "data.json:visits:3 (W3) household_id: orphan record: "
        "household_id='H9' does not exist in households (层级关系不成立)"
    ]
    assert out["accounted"]
    expected = [
        ["household.visited", "H2", "fail"],
        ["household.visits_clean", "H1", "fail"],  # W1 found a problem; W2 unknown
        ["visit.no_problem", "W1", "fail"],
        ["visit.no_problem", "W2", "unknown"],  # problem_found not recorded: unknown, not pass
    ]
    assert [f for f in out["reference"] if f[2] != "pass"] == expected
    assert [f for f in out["batch"] if f[2] != "pass"] == expected
    assert ["household.visited", "H1", "pass"] in out["reference"]
    assert out["placed"] == ["V1", "H1"]
    assert out["level"] == "household"
    assert out["schema"] is True
    assert out["sheet"] == "visits"
    assert out["slice"] == ["W1", "W2"]  # the service examples' household slice
    assert out["html"] is True  # the report names the kind in Chinese
    assert out["html errors"] is True  # its unit errors too, under the unit's level
    for engine in ("reference", "batch"):
        # the visit behind H1's failure, with its declared display field: the cadre's name
        named = {
            "aggregate": "all(visits, not problem_found)",
            "kind": "visit",
            "role": "failing",
            "total": 1,
            "records": [{"id": "W1", "name": "李四"}],
        }
        assert out[engine + " named"] == [["H1", [named]]], engine
        # English explanations name the kind as declared (name_en), not by its identifier
        assert sorted(out[engine + " en"]) == [
            "cadre visit W1 — No problem found on a visit (clause 一): FAIL",
            "cadre visit W2 — No problem found on a visit (clause 一): UNKNOWN (data missing)",
        ], engine
