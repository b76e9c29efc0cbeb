"""Scaffold a new, installable policy package that validates and passes its cases at once.

``fupin-rules new-policy county_2018 --dir policies`` writes::

    policies/county_2018/
      pyproject.toml                  distribution fupin-policy-county-2018, entry point
                                      county_2018 in group fupin_rules.policies
      README.md                       what to edit, how to check it
      src/fupin_policy_county_2018/
        __init__.py                   policy_path(): where the YAML folder is
        policy/policy.yaml            id, version, title, clauses
        policy/parameters/example.yaml   one dated parameter (two values)
        policy/rules/example.yaml        one rule using it
        policy/cases/example.yaml        a fixture and two cases (pass, then fail after the
                                         parameter's second start date)
      tests/test_cases.py             runs the case files with pytest

Every example item says EXAMPLE in its note: authors replace them with their document's
clauses, rules and parameters.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from fupin_rules.errors import FupinRulesError

__all__ = ["ScaffoldError", "ScaffoldResult", "distribution_name", "module_name", "scaffold_policy"]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class ScaffoldError(FupinRulesError):
    """The package could not be scaffolded (bad name, target folder not empty)."""


@attrs.frozen
class ScaffoldResult:
    """What :func:`scaffold_policy` wrote."""

    name: str
    root: Path  # the distribution folder (holds pyproject.toml)
    policy_dir: Path  # the folder holding policy.yaml (what validate/test take)
    files: tuple[Path, ...]


def distribution_name(policy_id: str) -> str:
    """``county_2018`` -> ``fupin-policy-county-2018`` (the name pip installs)."""
    return "fupin-policy-" + policy_id.replace("_", "-")


def module_name(policy_id: str) -> str:
    """``county_2018`` -> ``fupin_policy_county_2018`` (the import name)."""
    return f"fupin_policy_{policy_id}"


def _pyproject(name: str) -> str:
    return f"""[build-system]
requires = ["setuptools>=69", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "{distribution_name(name)}"
version = "0.1.0"  # keep equal to `version` in policy.yaml (a test checks it)
description = "Policy package {name} for fupin-rules"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["fupin-rules"]

[project.optional-dependencies]
test = ["pytest>=8"]

# fupin-rules finds installed policies through this entry point: `fupin-rules policies`
[project.entry-points."fupin_rules.policies"]
{name} = "{module_name(name)}:policy_path"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
{module_name(name)} = ["policy/*.yaml", "policy/*/*.yaml"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = ["--strict-markers", "-ra"]
filterwarnings = ["error", "ignore::DeprecationWarning:durable.*"]
"""


def _init(name: str) -> str:
    return f'''"""Policy package {name} for fupin-rules.

The rules live in YAML under ``policy/``; this module only tells fupin-rules where that folder
is (entry point group ``fupin_rules.policies``, name ``{name}``).
"""

from __future__ import annotations

import pathlib

__all__ = ["policy_path"]


def policy_path() -> pathlib.Path:
    """The folder holding ``policy.yaml`` (shipped as package data)."""
    return pathlib.Path(__file__).resolve().parent / "policy"
'''


def _policy_yaml(name: str) -> str:
    return f"""# {name} — package metadata and the clauses of the source document.
# Rules and parameters may cite only the clauses listed here (use the document's own numbering).
id: {name}
version: 0.1.0                # semantic version; raise it with every published change
title:
  zh: 示例政策包(请改为文件标题)
  en: Example policy package (replace with the document's title)
jurisdiction: {{zh: 示例县, en: Example County}}
source:
  title: 请填写文件标题
  issuer: 请填写发文单位
  document_number: 请填写文号
effective: {{start: 2017-01-01}}
extends: null                 # or e.g. county_2017: inherit everything, override by name
clauses:
  - clause: 一
    title: {{zh: 示例条款(请替换), en: Example clause (replace)}}
  # A clause whose text you do not have: listed, but nothing may cite it.
  # - {{clause: 二, title: {{zh: ..., en: ...}}, text_missing: true, note: "why"}}
"""


_PARAMETERS = """# Dated parameters: each value holds from its start date until the next start date.
parameters:
  example.income_line_yuan:
    title: {zh: 示例：人均年收入标准线(元), en: "Example: income line per member per year (yuan)"}
    type: number
    unit: yuan
    clause: 一
    status: assumed
    note: EXAMPLE — replace with a parameter of your document (status seed if stated there).
    values:
      - {start: 2017-01-01, value: 3000}
      - {start: 2018-01-01, value: 3500, note: "EXAMPLE: a raised line from 2018"}
"""

_RULES = """# Rules: every condition must pass (pass / fail / unknown when data is missing).
rules:
  - id: household.example.income_above_line
    clause: 一
    title: {zh: 示例：已脱贫户人均收入超过标准线, en: "Example: exited household's income per member above the line"}
    entity: household
    kind: compliance
    status: assumed
    note: >-
      EXAMPLE — replace. 超过 (above) excludes the number itself, so the comparison is strict (>).
    applies_if: poverty_status == "exited"
    conditions:
      - id: income_above_line
        title: {zh: 人均年收入超过标准线, en: Income per member above the line}
        expr: sum(members, annual_income_yuan) / count(members) > param("example.income_line_yuan")
"""

_CASES = """# Case files: input data, an as-of date, and the findings expected.
fixtures:
  one_exited_household:
    county: {county_id: C1, name: 示例县}
    townships: [{township_id: T1, county_id: C1}]
    villages: [{village_id: V1, township_id: T1}]
    households: [{household_id: H1, village_id: V1, poverty_status: exited}]
    persons:
      - {person_id: P1, household_id: H1, annual_income_yuan: 3000}
      - {person_id: P2, household_id: H1, annual_income_yuan: 3100}
cases:
  - id: example.above_the_2017_line
    title: 3050 yuan per member is above the 2017 line of 3000
    on: 2017-12-31
    fixture: one_exited_household
    expect:
      - {rule: household.example.income_above_line, subject: H1, verdict: pass}
  - id: example.below_the_2018_line
    title: the same household is below the raised 2018 line of 3500
    on: 2018-06-30
    fixture: one_exited_household
    expect:
      - {rule: household.example.income_above_line, subject: H1, verdict: fail, conditions: {income_above_line: fail}}
"""


def _tests(name: str) -> str:
    return f'''"""Run the package's case files (policy/cases/*.yaml) on every engine available."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import fupin_rules as fr

ROOT = Path(__file__).resolve().parents[1]
POLICY_DIR = ROOT / "src" / "{module_name(name)}" / "policy"


@pytest.fixture(scope="module")
def policy() -> fr.Policy:
    return fr.load_policy(POLICY_DIR)


def test_policy_loads(policy: fr.Policy) -> None:
    assert policy.id == "{name}"


def test_distribution_version_is_the_policy_version(policy: fr.Policy) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == policy.version


@pytest.mark.parametrize("engine", ["reference", "inference"])
def test_cases_pass(policy: fr.Policy, engine: str) -> None:
    if engine == "inference":
        from fupin_rules.engine.inference import durable_available

        if not durable_available():
            pytest.skip("durable-rules does not import on this Python")
    results = fr.run_cases(policy, fr.get_engine(engine))
    assert results, "no cases: add some under policy/cases/"
    failed = {{r.case_id: r.failures for r in results if not r.passed}}
    assert not failed, failed
'''


def _readme(name: str, policy_rel: str) -> str:
    return f"""# {name}

A policy package for fupin-rules, scaffolded by
`fupin-rules new-policy {name}`. Edit only the YAML under `{policy_rel}/`.

The EXAMPLE parameter, rule and cases show the format: replace them with your document's.

```sh
fupin-rules validate {policy_rel}   # every problem at once, file:line:col
fupin-rules test {policy_rel}       # run the case files
pip install -e .                       # then: fupin-rules policies  (lists {name})
python -m pytest                       # the package's own tests
```
"""


def scaffold_policy(
    name: str, directory: Path | str = ".", *, force: bool = False
) -> ScaffoldResult:
    """Write a new policy package ``name`` into ``directory/name``.

    Raises :class:`ScaffoldError` when ``name`` is not a policy id (``[a-z][a-z0-9_]*``) or
    the target folder exists and is not empty (pass ``force=True`` to write into it anyway;
    existing files with the same names are overwritten).
    """
    if not _ID.match(name):
        suggestion = re.sub(r"[^a-z0-9_]", "_", name.lower()).lstrip("0123456789_") or "county_2018"
        raise ScaffoldError(
            f"name={name!r} is not a policy id: use lower-case letters, digits and _ , "
            f"starting with a letter (e.g. {suggestion!r})"
        )
    root = Path(directory) / name
    if root.exists() and any(root.iterdir()) and not force:
        raise ScaffoldError(
            f"{root} exists and is not empty; choose another --dir or name, or remove it"
        )
    module = module_name(name)
    policy_rel = f"src/{module}/policy"
    contents: dict[str, str] = {
        "pyproject.toml": _pyproject(name),
        "README.md": _readme(name, policy_rel),
        f"src/{module}/__init__.py": _init(name),
        f"{policy_rel}/policy.yaml": _policy_yaml(name),
        f"{policy_rel}/parameters/example.yaml": _PARAMETERS,
        f"{policy_rel}/rules/example.yaml": _RULES,
        f"{policy_rel}/cases/example.yaml": _CASES,
        "tests/test_cases.py": _tests(name),
    }
    written: list[Path] = []
    for rel, text in contents.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return ScaffoldResult(name, root, root / policy_rel, tuple(written))
