"""Reports: JSON (machine-readable); Excel 问题清单 and HTML come with the batch engine."""

from fupin_rules.reports.json_report import (
    evaluation_to_json,
    summary,
    to_json_text,
    unknown_fields,
)

__all__ = ["evaluation_to_json", "summary", "to_json_text", "unknown_fields"]
