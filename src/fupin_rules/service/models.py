"""Request and response models of the HTTP API (pydantic; they make the OpenAPI document).

The dataset inside a request is the library's own JSON dataset layout (its JSON Schema is
:func:`fupin_rules.domain.jsonschema.dataset_json_schema`) and is validated by the library's
loader; a finding in a response is exactly :func:`fupin_rules.findings.finding_to_json`, which
:class:`FindingModel` describes (a test checks that every finding the library makes validates
against it, so the two cannot drift apart).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

__all__ = [
    "CoverageRow",
    "DecisionRequest",
    "DecisionResponse",
    "FindingModel",
    "JobStatus",
    "PolicyDetail",
    "PolicySummary",
    "UnitRequest",
    "UnitResponse",
]

Lang = Literal["zh", "en"]
Verdict = Literal["pass", "fail", "unknown", "not_applicable"]


def _without_none(data: Any, keys: tuple[str, ...]) -> Any:
    """The serialised model without the issue-12 keys that are absent (as in the JSON report)."""
    if isinstance(data, dict):
        for k in keys:
            if data.get(k, 0) is None:
                del data[k]
    return data


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextModel(_Strict):
    zh: str
    en: str


class PolicyIdentity(_Strict):
    id: str
    version: str
    hash: str = Field(description="SHA-256 content hash of the policy package.")


class SubjectRef(_Strict):
    kind: str = Field(description="person, household, village or county")
    id: str


class ValueReadModel(_Strict):
    subject: str = Field(description="kind:id of the record read")
    path: str
    value: Any = Field(description="Exact numbers as decimal strings (or 'n/d'); null = unknown")


class MissingModel(_Strict):
    subject: str
    field: str
    label_zh: str


class ConditionModel(_Strict):
    id: str
    title: TextModel
    expr: str
    outcome: Verdict
    values: list[ValueReadModel]
    missing: list[MissingModel]
    #: done_by() checks (issue 12), only on conditions that have one
    deadlines: list[dict[str, Any]] | None = None
    #: the child records behind a failing condition over children (issue 12)
    children: list[dict[str, Any]] | None = None

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: Any) -> Any:
        return _without_none(handler(self), ("deadlines", "children"))


class ParameterUseModel(_Strict):
    name: str
    value: Any
    start: str | None
    end: str | None
    unit: str
    clause: str
    status: str


class FindingModel(_Strict):
    """One finding, as :func:`fupin_rules.findings.finding_to_json` writes it."""

    rule: str
    kind: Literal["eligibility", "compliance", "target"]
    subject: SubjectRef
    verdict: Verdict
    amount_yuan: str | None = Field(description="Exact yuan as a decimal string; null = none")
    clause: str
    title: TextModel
    status: str = Field(description="seed (stated in the plan) or assumed")
    policy: PolicyIdentity
    engine_version: str
    on: str
    outputs: dict[str, Any]
    conditions: list[ConditionModel]
    parameters: list[ParameterUseModel]
    missing: list[MissingModel]
    applies_if: ConditionModel | None = None
    #: what the finding rests on that the document does not state (issue 12)
    assumptions: list[str] | None = None
    #: the policy's titles of the titled outputs (absent when no output has a title)
    output_titles: dict[str, TextModel] | None = None

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: Any) -> Any:
        return _without_none(handler(self), ("assumptions", "output_titles"))


class DecisionRequest(_Strict):
    """One decision: a rule about one subject of the inline dataset, as of a date."""

    rule: str = Field(description="Rule id, e.g. person.rain_and_dew.grant", min_length=1)
    subject: str = Field(
        description="Id of the person / household / village / county", min_length=1
    )
    on: dt.date = Field(description="As-of date (判定日期)")
    data: dict[str, Any] = Field(
        description="The subject's records in the library's JSON dataset layout "
        '({"county": {...}, "villages": [...], "households": [...], "persons": [...], ...})'
    )


class UnitRequest(_Strict):
    """A whole unit (a household with its persons, or a village) of the inline dataset."""

    subject: str = Field(description="Household id or village id", min_length=1)
    on: dt.date
    data: dict[str, Any]


class DecisionResponse(_Strict):
    """A decision: the finding, its explanation when asked, and the input digest logged."""

    policy: str = Field(description="id@version#hash12 that produced the decision")
    input_digest: str = Field(description="SHA-256 of the request's canonical JSON (decision log)")
    finding: FindingModel
    explanation: str | None = Field(None, description="Text in the asked language (explain=true)")


class UnitResponse(_Strict):
    """Every finding about a household and its persons, or about a village."""

    policy: str
    input_digest: str
    subject: SubjectRef
    findings: list[FindingModel]
    explanations: list[str] | None = None


class ParameterValueModel(_Strict):
    start: dt.date
    end: dt.date | None = Field(description="Inclusive; null = open")
    value: Any
    status: str
    note: str


class ParameterModel(_Strict):
    name: str
    title: TextModel
    unit: str
    clause: str
    status: str
    note: str
    values: list[ParameterValueModel]


class ConditionTextModel(_Strict):
    id: str
    title: TextModel
    expr: str


class RuleModel(_Strict):
    id: str
    clause: str
    title: TextModel
    entity: str
    kind: str
    status: str
    note: str
    applies_if: ConditionTextModel | None
    conditions: list[ConditionTextModel]
    amount: str | None
    outputs: list[ConditionTextModel]


class CatalogueModel(_Strict):
    name: str
    title: TextModel
    clause: str
    status: str
    items: list[dict[str, str]]


class Effective(_Strict):
    start: dt.date | None
    end: dt.date | None


class PolicySummary(_Strict):
    ref: str = Field(description="id@version: the path segment naming this policy")
    id: str
    version: str
    hash: str
    title: TextModel
    effective: Effective
    extends: str | None
    rules: int


class CoverageRow(_Strict):
    clause: str
    title: TextModel
    rules: list[str]
    parameters: list[str]
    catalogues: list[str]
    uncovered: list[dict[str, str]]
    text_missing: bool


class PolicyDetail(PolicySummary):
    clauses: list[CoverageRow]
    parameters: list[ParameterModel]
    catalogues: list[CatalogueModel]
    rule_list: list[RuleModel]


class JobProgress(_Strict):
    stratum: str | None
    done: int
    total: int


class JobStatus(_Strict):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    policy: str
    on: dt.date
    progress: JobProgress
    created: dt.datetime
    finished: dt.datetime | None
    summary: dict[str, Any] | None = None
    run_id: int | None = Field(None, description="The run's id in the run store, once done")
    problem: dict[str, Any] | None = None
    links: dict[str, str]
