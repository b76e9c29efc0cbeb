"""Policy text is data, never Python: payloads in expressions and YAML are rejected or inert.

Style: "Import has no side effects ... use a private SafeLoader"; the expression language is
parsed by its own grammar and interpreted over its IR. A payload that ran would create the
sentinel file; none may.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from reliability_support import ON, ROOT

from fupin_rules.errors import FupinRulesError
from fupin_rules.policy.loader import load_policy_dir

MINI = ROOT / "tests/data/mini_policy"
CONDITION = "expr: household.is_poor"


def _payloads(sentinel: Path) -> list[str]:
    cmd = f"touch {sentinel}"
    return [
        f"__import__('os').system('{cmd}')",
        f'__import__("os").system("{cmd}")',
        f"eval(\"__import__('os').system('{cmd}')\")",
        f"exec(\"import os; os.system('{cmd}')\")",
        f"f\"{{__import__('os').system('{cmd}')}}\"",
        "().__class__.__bases__[0].__subclasses__()",
        f"(lambda: __import__('os').system('{cmd}'))()",
        f"open('{sentinel}', 'w').write('x')",
        f"household.is_poor or __import__('os').system('{cmd}') == 0",
        f"${{__import__('os').system('{cmd}')}}",
        f"{{{{ __import__('os').system('{cmd}') }}}}",
        f"household.__class__.__init__.__globals__['os'].system('{cmd}')",
    ]


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "mini"
    shutil.copytree(MINI, root)
    return root


def _yaml_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def test_python_in_expressions_is_rejected_and_never_runs(tmp_path: Path) -> None:
    sentinel = tmp_path / "SENTINEL"
    rejected = 0
    for i, payload in enumerate(_payloads(sentinel)):
        root = _copy(tmp_path / f"p{i}")
        rules = root / "rules/rules.yaml"
        text = rules.read_text(encoding="utf-8")
        assert CONDITION in text
        rules.write_text(text.replace(CONDITION, f"expr: {_yaml_quote(payload)}"), encoding="utf-8")
        with pytest.raises(FupinRulesError) as info:
            load_policy_dir(root)
        assert "rules.yaml" in str(info.value), str(info.value)
        rejected += 1
        assert not sentinel.exists(), payload
    assert rejected == len(_payloads(sentinel))


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {s}']",
        "!!python/object/new:os.system ['touch {s}']",
        "!!python/name:os.system",
        "!!python/module:os",
        "!python/object/apply:subprocess.check_output [['touch', '{s}']]",
    ],
)
def test_python_yaml_tags_are_rejected(tmp_path: Path, tag: str) -> None:
    sentinel = tmp_path / "SENTINEL"
    root = _copy(tmp_path)
    params = root / "parameters/params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(
        text.replace("value: 5000", "value: " + tag.format(s=sentinel), 1), encoding="utf-8"
    )
    with pytest.raises(FupinRulesError) as info:
        load_policy_dir(root)
    assert "params.yaml" in str(info.value)
    assert not sentinel.exists()


def test_payloads_in_titles_notes_and_ledger_cells_are_plain_data(tmp_path: Path) -> None:
    from fupin_rules.api import evaluate
    from fupin_rules.domain.dataset import load_dataset

    sentinel = tmp_path / "SENTINEL"
    payload = f"{{__import__('os').system('touch {sentinel}')}}"
    root = _copy(tmp_path)
    rules = root / "rules/rules.yaml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(
        text.replace("en: Rain and Dew training grant}", f"en: {_yaml_quote(payload)}}}"),
        encoding="utf-8",
    )
    policy = load_policy_dir(root)
    assert policy.rule("person.rain_and_dew.grant").title.en == payload
    data = {
        "county": {"county_id": "C1", "name": payload},
        "villages": [{"village_id": "V1", "township_id": "T1", "name": payload}],
        "households": [
            {
                "household_id": "H1",
                "village_id": "V1",
                "helper_name": payload,
                "poverty_status": "registered_poor",
            }
        ],
        "persons": [
            {
                "person_id": "P1",
                "household_id": "H1",
                "name": payload,
                "school_level": "secondary_vocational",
            }
        ],
    }
    loaded = load_dataset(data)
    assert not loaded.issues, [i.render() for i in loaded.issues]
    ev = evaluate(policy, loaded, ON, engine="reference")
    assert ev.findings
    from fupin_rules.batch import evaluate_batch

    assert evaluate_batch(policy, loaded, ON, materialize="all").findings
    assert loaded.dataset.persons[0].name == payload
    assert not sentinel.exists()
