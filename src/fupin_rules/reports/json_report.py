"""The machine-readable report: stable order, exact numbers, byte-identical for identical input."""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO, Literal, TextIO, cast

import orjson

from fupin_rules._gc import gc_paused
from fupin_rules.domain.dataset import DataIssue, rejected_row_count
from fupin_rules.engine.run import Evaluation, SubjectError
from fupin_rules.findings.model import Outcome
from fupin_rules.findings.render import finding_to_json

__all__ = [
    "REPORT_FORMATS",
    "ReportFormat",
    "evaluation_to_json",
    "not_in_force_notice",
    "report_format",
    "summary",
    "to_json_text",
    "unknown_fields",
    "write_json",
    "write_json_file",
    "write_json_lines",
    "write_report_file",
]

ReportFormat = Literal["json", "json.gz", "jsonl", "jsonl.gz"]


def summary(ev: Evaluation) -> dict[str, Any]:
    """Counts by verdict, by rule, and the nothing-lost tallies.

    The counts are the run's :meth:`~fupin_rules.engine.run.Evaluation.rule_tallies`: the
    same whatever the engine, whether or not passing findings were listed.
    """
    listed = Counter(f.verdict.value for f in ev.findings)
    by_rule: dict[str, Counter[str]] = {}
    for f in ev.findings:
        if f.verdict is Outcome.NOT_APPLICABLE:  # listed with keep_not_applicable
            by_rule.setdefault(f.rule_id, Counter())[f.verdict.value] += 1
    by_verdict: Counter[str] = Counter()
    for t in ev.rule_tallies():
        c = by_rule.setdefault(t.rule_id, Counter())
        for v in ("pass", "fail", "unknown"):
            if t.count(v):
                c[v] += t.count(v)
                by_verdict[v] += t.count(v)
    unlisted = sum(by_verdict[v] - listed.get(v, 0) for v in ("pass", "fail", "unknown"))
    out: dict[str, Any] = {
        "findings": len(ev.findings) + unlisted,
        "by_verdict": {
            v.value: by_verdict.get(v.value, 0) for v in Outcome if v is not Outcome.NOT_APPLICABLE
        },
        "not_applicable": ev.not_applicable_count,
        "problems": len(ev.problems()),
        # the 问题清单 in two parts: stated by the text / resting on an assumed reading or value
        "problems_text_stated": len(ev.problems_text_stated()),
        "problems_assumed": len(ev.problems_assumed()),
        "unknown": len(ev.unknowns()),
        "unit_errors": len(ev.errors),
        "rejected_rows": rejected_row_count(ev.data_issues),
        "by_rule": {r: dict(sorted(c.items())) for r, c in sorted(by_rule.items())},
    }
    warnings = sum(1 for i in ev.data_issues if i.severity == "warning")
    if warnings:  # only then: other reports stay byte-identical
        out["input_warnings"] = warnings
    if ev.not_in_force:  # only then: other reports stay byte-identical
        start, end = ev.effective
        out["not_in_force"] = {
            "effective": {
                "start": start.isoformat() if start else None,
                "end": end.isoformat() if end else None,
            },
            "rules": list(ev.not_in_force),
        }
    return out


def not_in_force_notice(ev: Evaluation) -> tuple[str, str] | None:
    """(zh, en) text saying which rules were not in force as of the run's date, or None.

    Every report shows it, so an answer outside the policy's own period is never silent.
    """
    if not ev.not_in_force:
        return None
    start, end = ev.effective
    period = f"{start.isoformat() if start else '…'} ~ {end.isoformat() if end else '…'}"
    n, total = len(ev.not_in_force), ev.on.isoformat()
    zh = (
        f"判定日期 {total} 不在政策有效期 {period} 内: {n} 条规则不在效力期内(未生效或已失效),"
        f"其结论为“不适用”,未作判定: {', '.join(ev.not_in_force)}"
    )
    en = (
        f"as of {total}, outside the policy's period {period}: {n} rule(s) not in force, "
        f"their findings are not applicable: {', '.join(ev.not_in_force)}"
    )
    return zh, en


def unknown_fields(ev: Evaluation) -> list[dict[str, Any]]:
    """The data to collect (待补数据): each missing field with the rules it blocks."""
    fields: dict[tuple[str, str, str], dict[str, Any]] = {}
    for f in ev.unknowns():
        for m in f.missing:
            key = (m.subject_kind, m.subject_id, m.field)
            entry = fields.setdefault(
                key,
                {
                    "subject": f"{m.subject_kind}:{m.subject_id}",
                    "field": m.field,
                    "label_zh": m.label_zh,
                    "rules": [],
                },
            )
            if f.rule_id not in entry["rules"]:
                entry["rules"].append(f.rule_id)
    return [fields[k] for k in sorted(fields)]


def _sections(
    ev: Evaluation, include_passing: bool, tracking: Any = None, problems_only: bool = False
) -> list[tuple[str, Any, bool]]:
    """(key, value, is_list) of the report in order; list values are lazy iterables.

    With ``tracking`` (``check --since`` / ``--store``: a
    :class:`~fupin_rules.runs.tracking.Tracking`), a last ``since`` section holds the comparison
    with the earlier run: counts by status, by township and by village, and each problem's
    status (new / persisting / fixed / regressed). Without it the report is unchanged.

    ``problems_only``: the findings listed are the problems (问题清单) only, and a
    ``findings_listed: "problems"`` key says so; the counts, the data to collect and the errors
    stay complete.
    """
    findings: tuple[Any, ...]
    if problems_only:
        findings = ev.problems()
    elif include_passing:
        findings = ev.findings
    else:
        findings = tuple(f for f in ev.findings if f.verdict is not Outcome.PASS)
    sections: list[tuple[str, Any, bool]] = [
        (
            "policy",
            {"id": ev.policy_id, "version": ev.policy_version, "hash": ev.policy_hash},
            False,
        ),
        ("on", ev.on.isoformat(), False),
        ("engine", ev.engine, False),
        ("summary", summary(ev), False),
        *([("findings_listed", "problems", False)] if problems_only else []),
        ("findings", (finding_to_json(f) for f in findings) if findings else [], True),
        ("data_to_collect", unknown_fields(ev), True),
        ("unit_errors", [_unit_error(e) for e in ev.errors], True),
        (
            "rejected_rows",
            [_rejected_row(i) for i in ev.data_issues if i.severity != "warning"],
            True,
        ),
    ]
    warnings = [_rejected_row(i) for i in ev.data_issues if i.severity == "warning"]
    if warnings:  # read, but noted (the encoding of a file, a hidden sheet, merged cells, ...)
        sections.append(("input_warnings", warnings, True))
    if tracking is not None:
        sections.append(("since", tracking.to_json(), False))
    return sections


def evaluation_to_json(ev: Evaluation, *, include_passing: bool = True) -> dict[str, Any]:
    """The whole evaluation as a JSON-ready dict."""
    return {
        key: list(value) if is_list else value
        for key, value, is_list in _sections(ev, include_passing)
    }


def _rejected_row(i: DataIssue) -> dict[str, Any]:
    return {
        "source": i.source,
        "table": i.table,
        "row": i.row,
        "record_id": i.record_id,
        "field": i.field,
        "column": i.column,
        "message": i.message,
    }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


#: list items (findings, ...) encoded per write: one write of ~1.5 MB instead of one per item
_CHUNK = 1000


def _item(value: Any, errors: str) -> bytes:
    """One list item as compact UTF-8 JSON, the bytes of :func:`_dump`.

    orjson writes the same text as the standard library for what the items hold (strings,
    exact numbers as strings, small integers, booleans, null, lists, dicts with string keys;
    no floats) about three times faster; what it refuses (an integer over 64 bits, a key that
    is not a string, a lone surrogate) goes through the standard library, as before.
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _dump(value).encode("utf-8", errors)


def _json_chunks(sections: list[tuple[str, Any, bool]], errors: str) -> Iterator[bytes]:
    """The report's UTF-8 text (see :func:`write_json`) in pieces of up to ``_CHUNK`` items."""
    yield b"{\n"
    for k, (key, value, is_list) in enumerate(sections):
        tail = b"," if k < len(sections) - 1 else b""
        items = iter(value) if is_list else None
        first = next(items, None) if items is not None else None
        head = _dump(key).encode("utf-8", errors)
        if items is None or first is None:
            body = _dump([] if is_list else value).encode("utf-8", errors)
            yield head + b":" + body + tail + b"\n"
            continue
        batch = [head + b":[\n" + _item(first, errors)]
        for item in items:
            batch.append(_item(item, errors))
            if len(batch) == _CHUNK:
                yield b",\n".join(batch)
                batch = [b""]  # the next piece starts with the separator
        yield b",\n".join(batch) + b"\n]" + tail + b"\n"
    yield b"}\n"


def write_json(
    ev: Evaluation,
    out: TextIO,
    *,
    include_passing: bool = True,
    tracking: Any = None,
    problems_only: bool = False,
) -> None:
    """Write the report to a text stream, one finding at a time (the text of :func:`to_json_text`).

    Nothing but the current piece of findings is held besides the evaluation itself, so a
    county of a million households does not need the whole report in memory twice. The cyclic
    garbage collector is paused while writing (the finding dicts are acyclic; its passes over
    the findings were about half of the time, measured) and switched back on afterwards.
    """
    with gc_paused():
        sections = _sections(ev, include_passing, tracking, problems_only)
        for chunk in _json_chunks(sections, "surrogatepass"):
            out.write(chunk.decode("utf-8", "surrogatepass"))


def _write_json_bytes(
    ev: Evaluation,
    out: BinaryIO,
    *,
    include_passing: bool = True,
    tracking: Any = None,
    problems_only: bool = False,
) -> None:
    """:func:`write_json` to a binary stream, UTF-8 (no decoding and encoding again)."""
    with gc_paused():
        sections = _sections(ev, include_passing, tracking, problems_only)
        for chunk in _json_chunks(sections, "strict"):
            out.write(chunk)


def write_json_file(ev: Evaluation, path: str | os.PathLike[str], **kw: Any) -> None:
    """:func:`write_json` to a UTF-8 file, written beside ``path`` and renamed over it when
    complete (an interrupt or a full disk leaves the previous file as it was)."""
    from fupin_rules.reports._files import replacing

    with replacing(path, "wb") as fh:
        _write_json_bytes(ev, cast(BinaryIO, fh), **kw)


#: the forms of the machine-readable report, by file name ending (see :func:`report_format`)
REPORT_FORMATS: dict[str, ReportFormat] = {
    ".json": "json",
    ".json.gz": "json.gz",
    ".jsonl": "jsonl",
    ".jsonl.gz": "jsonl.gz",
}

#: a JSON Lines record's ``record`` value for each list of the report
_LINE_RECORDS = {
    "findings": "finding",
    "data_to_collect": "data_to_collect",
    "unit_errors": "unit_error",
    "rejected_rows": "rejected_row",
    "input_warnings": "input_warning",
}


def report_format(path: str | os.PathLike[str]) -> ReportFormat:
    """The report form a file name asks for: ``.json`` (default for any other name),
    ``.json.gz`` (gzip-compressed), ``.jsonl`` (JSON Lines), ``.jsonl.gz``."""
    name = os.fspath(path).lower()
    for ending in sorted(REPORT_FORMATS, key=len, reverse=True):
        if name.endswith(ending):
            return REPORT_FORMATS[ending]
    return "json"


def write_json_lines(
    ev: Evaluation,
    out: TextIO,
    *,
    include_passing: bool = True,
    tracking: Any = None,
    problems_only: bool = False,
) -> None:
    """The report as JSON Lines: one object a line, for tools that read line by line.

    The first line is ``{"record": "report", ...}`` with the policy, date, engine, summary (and
    ``findings_listed``, ``since`` when present); then one line per finding, data-to-collect
    entry, unit error, rejected row and input warning, each with ``"record"`` first
    (``finding``, ``data_to_collect``, ``unit_error``, ``rejected_row``, ``input_warning``) and
    then the same keys as in the JSON report.
    """
    with gc_paused():
        sections = _sections(ev, include_passing, tracking, problems_only)
        for chunk in _json_lines_chunks(sections, "surrogatepass"):
            out.write(chunk.decode("utf-8", "surrogatepass"))


def _json_lines_chunks(sections: list[tuple[str, Any, bool]], errors: str) -> Iterator[bytes]:
    """The lines of :func:`write_json_lines` as UTF-8, in pieces of up to ``_CHUNK`` lines."""
    head: dict[str, Any] = {"record": "report"}
    head.update((key, value) for key, value, is_list in sections if not is_list)
    yield _dump(head).encode("utf-8", errors) + b"\n"
    for key, value, is_list in sections:
        if not is_list:
            continue
        record = _LINE_RECORDS[key]
        batch: list[bytes] = []
        for item in value:
            batch.append(_item({"record": record, **item}, errors))
            if len(batch) == _CHUNK:
                yield b"\n".join(batch) + b"\n"
                batch = []
        if batch:
            yield b"\n".join(batch) + b"\n"


def _write_json_lines_bytes(
    ev: Evaluation,
    out: BinaryIO,
    *,
    include_passing: bool = True,
    tracking: Any = None,
    problems_only: bool = False,
) -> None:
    """:func:`write_json_lines` to a binary stream, UTF-8."""
    with gc_paused():
        sections = _sections(ev, include_passing, tracking, problems_only)
        for chunk in _json_lines_chunks(sections, "strict"):
            out.write(chunk)


def write_report_file(
    ev: Evaluation,
    path: str | os.PathLike[str],
    *,
    form: ReportFormat | None = None,
    **kw: Any,
) -> None:
    """Write the machine-readable report in the form its file name asks for (``form``
    overrides it): JSON, JSON Lines, either gzip-compressed. Compressed files are
    byte-identical for identical input (no time stamp or file name in the gzip header).
    Keywords as :func:`write_json`. Written beside ``path`` and renamed over it when complete.
    """
    import gzip

    from fupin_rules.reports._files import replacing

    form = form or report_format(path)
    write = _write_json_lines_bytes if form.startswith("jsonl") else _write_json_bytes
    if not form.endswith(".gz"):
        with replacing(path, "wb") as fh:
            write(ev, cast(BinaryIO, fh), **kw)
        return
    with (
        replacing(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz,
    ):
        write(ev, cast(BinaryIO, gz), **kw)  # closing the gzip stream leaves the file open


def to_json_text(ev: Evaluation, *, include_passing: bool = True) -> str:
    """Serialised report: UTF-8 text, Chinese kept readable, one list item per line.

    Top-level keys each start a line and every finding, data-to-collect entry, unit error and
    rejected row is one compact line, so the file diffs well and is written by the C encoder
    (an indented dump of ~100,000 findings took ten times longer). For large runs write to a
    file with :func:`write_json_file` instead of holding the text.
    """
    buf = io.StringIO()
    write_json(ev, buf, include_passing=include_passing)
    return buf.getvalue()


def _unit_error(e: SubjectError) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stratum": e.stratum,
        "subject": f"{e.subject_kind}:{e.subject_id}",
        "message": e.message,
    }
    if e.rule_id is not None:
        out["rule"] = e.rule_id
    return out
