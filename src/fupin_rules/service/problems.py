"""RFC 9457 problem details: every error the service answers is ``application/problem+json``.

A :class:`Problem` names what was wrong (``title``, ``detail``), where (``errors``: one entry
per bad field, with the table, row and record of the dataset when the input was a dataset) and
how to fix it (did-you-mean in the detail). Bad input is always a 4xx; a 5xx means a bug.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from fupin_rules.domain.dataset import DataIssue
from fupin_rules.errors import did_you_mean

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "FieldError",
    "Problem",
    "ProblemDetails",
    "did_you_mean",
    "issue_errors",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://fupin-rules.invalid/problems/"


class FieldError(BaseModel):
    """One bad field: where it is (a JSON pointer into the request, or table + row of a dataset)."""

    field: str | None = Field(None, description="The field, e.g. 'rule' or 'annual_income_yuan'.")
    pointer: str | None = Field(None, description="JSON pointer into the request body.")
    table: str | None = Field(None, description="Dataset table of the bad row, e.g. 'persons'.")
    row: int | None = Field(None, description="1-based row (record number) in the table.")
    record_id: str | None = None
    source: str | None = Field(None, description="The uploaded file (and sheet) the row is in.")
    column: str | None = Field(None, description="The column header as written, if different.")
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class Problem(Exception):
    """An error answer: raised anywhere in the service, rendered as problem details."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The JSON body."""
        return ProblemDetails(
            type=_TYPE_BASE + self.kind,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        ).model_dump(mode="json", exclude_none=False)


def issue_errors(issues: Iterable[DataIssue], *, limit: int = 200) -> list[FieldError]:
    """Field errors naming table, row, record and field of each dataset issue (first ``limit``)."""
    out: list[FieldError] = []
    for i in issues:
        if len(out) >= limit:
            break
        out.append(
            FieldError(
                field=i.field,
                table=i.table,
                row=i.row,
                record_id=i.record_id,
                source=i.source,
                column=i.column,
                message=i.message,
            )
        )
    return out
