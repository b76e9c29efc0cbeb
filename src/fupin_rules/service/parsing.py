"""Reading a request (query, JSON body with exact decimals, inline dataset) and writing an answer."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from fupin_rules.domain.dataset import LoadResult, load_dataset
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.errors import DataError
from fupin_rules.service.problems import FieldError, Problem, issue_errors

M = TypeVar("M", bound=BaseModel)


_LANG_PATTERN = "^(zh|en)$"
_LANG_TEXT = "Language of the explanation"


class _AnswerQuery(BaseModel):
    """The query of a decision or unit request: ``explain`` and ``lang``.

    Read by :func:`_answer_query` rather than declared as endpoint parameters: FastAPI's
    per-parameter validation cost about 20 µs a request (measured in process), a tenth of a
    decision. The same pydantic rules and messages apply (a bad value is the same 422), and
    the routes' ``openapi_extra`` lists the parameters exactly as FastAPI did."""

    explain: bool = False
    lang: Annotated[str, Field(pattern=_LANG_PATTERN, description=_LANG_TEXT)] = "zh"


#: the OpenAPI entries FastAPI generated for ``explain: bool = False`` and ``lang: Lang = "zh"``
_EXPLAIN_PARAM = {
    "name": "explain",
    "in": "query",
    "required": False,
    "schema": {"type": "boolean", "default": False, "title": "Explain"},
}
_LANG_PARAM = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {
        "type": "string",
        "pattern": _LANG_PATTERN,
        "description": _LANG_TEXT,
        "default": "zh",
        "title": "Lang",
    },
    "description": _LANG_TEXT,
}


def _answer_query(request: Request, names: tuple[str, ...]) -> tuple[bool, str]:
    """``(explain, lang)`` from the query string; a bad value is FastAPI's 422."""
    params = request.query_params
    if not params:
        return False, "zh"
    raw = {n: params[n] for n in names if n in params}
    try:
        q = _AnswerQuery.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
        ) from None
    return q.explain, q.lang


def _parse_json(body: bytes) -> Any:
    """JSON with exact decimals; NaN/Infinity refused; a 400 naming line and column otherwise."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(body, parse_float=Decimal, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise Problem(
            400,
            "invalid-json",
            "Invalid JSON",
            f"request body line {exc.lineno} column {exc.colno}: {exc.msg}",
        ) from None
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "invalid-json", "Invalid JSON", f"request body: {exc}") from None


def _validate(model: type[M], value: Any) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        errors = [
            FieldError(
                field=".".join(str(p) for p in e["loc"]) or None,
                pointer="/" + "/".join(str(p) for p in e["loc"]),
                message=e["msg"],
            )
            for e in exc.errors()[:50]
        ]
        raise Problem(
            422,
            "invalid-request",
            "Invalid request",
            "; ".join(f"{e.field or 'body'}: {e.message}" for e in errors[:5]),
            errors,
        ) from None


def _load_inline(data: dict[str, Any]) -> LoadResult:
    """The inline dataset through the library's loader; any bad row is a 422 naming it."""
    try:
        loaded = load_dataset(data, source="request")
    except DataError as exc:
        raise Problem(
            422,
            "bad-dataset",
            "Invalid dataset",
            str(exc),
            [FieldError(field="data", pointer="/data/county", message=str(exc))],
        ) from None
    if loaded.issues:
        errors = issue_errors(loaded.issues)
        for e, i in zip(errors, loaded.issues, strict=False):
            e.pointer = f"/data/{i.table}" + (f"/{i.row - 1}" if i.row else "")
            if i.field:
                e.pointer += f"/{i.field}"
        first = loaded.issues[0]
        raise Problem(
            422,
            "bad-dataset",
            "Invalid dataset",
            f"{len(loaded.issues)} problem(s) in the dataset; first: {first.render()}",
            errors,
        )
    return loaded


def _subject_ids(loaded: LoadResult, entity: str) -> list[str]:
    ds = loaded.dataset
    if entity == "county":
        return [ds.county.key()]
    table = ds.table(ENTITIES[entity].table)
    return [r.key() for r in table or ()]


def _json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON text (orjson; what it refuses, such as an integer over 64 bits or a
    lone surrogate from a request, goes through the standard library, escaped)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def _json_response(body: bytes) -> Response:
    """An answer already serialised: FastAPI neither validates nor re-encodes it (the models in
    the route's ``response_model`` describe it in the OpenAPI document; a test checks that every
    finding the library makes validates against :class:`FindingModel`)."""
    return Response(body, media_type="application/json")
