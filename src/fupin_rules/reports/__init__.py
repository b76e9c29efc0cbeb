"""Reports: JSON (machine-readable), the Excel problem list (问题清单) and the HTML report.

The Excel and HTML writers are imported on first use: openpyxl alone took ~0.4 s of every
``fupin-rules`` start (``python -X importtime``), also for runs that write no workbook.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fupin_rules.reports.json_report import (
    evaluation_to_json,
    summary,
    to_json_text,
    unknown_fields,
    write_json,
    write_json_file,
)

if TYPE_CHECKING:
    from fupin_rules.reports.excel import write_problem_list
    from fupin_rules.reports.html import render_html, write_html_report

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

_LAZY = {
    "write_problem_list": "fupin_rules.reports.excel",
    "render_html": "fupin_rules.reports.html",
    "write_html_report": "fupin_rules.reports.html",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
