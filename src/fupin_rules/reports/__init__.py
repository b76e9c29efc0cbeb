"""Reports: JSON (machine-readable), the Excel problem list (问题清单) and the HTML report."""

from fupin_rules.reports.excel import write_problem_list
from fupin_rules.reports.html import render_html, write_html_report
from fupin_rules.reports.json_report import (
    evaluation_to_json,
    summary,
    to_json_text,
    unknown_fields,
    write_json,
    write_json_file,
)

__all__ = [
    "evaluation_to_json",
    "render_html",
    "summary",
    "to_json_text",
    "unknown_fields",
    "write_html_report",
    "write_json",
    "write_json_file",
    "write_problem_list",
]
