"""Starting the command line does not import the Excel writer (openpyxl took ~0.4 s of every
start); the report writers are still importable from ``fupin_rules.reports``."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_starts_without_openpyxl() -> None:
    code = "import sys, fupin_rules.cli; print('openpyxl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_lazy_names_are_the_writers() -> None:
    import fupin_rules.reports as reports
    from fupin_rules.reports.excel import write_problem_list
    from fupin_rules.reports.html import render_html, write_html_report

    assert reports.write_problem_list is write_problem_list
    assert reports.render_html is render_html and reports.write_html_report is write_html_report
    assert set(reports.__all__) <= set(dir(reports)) | {"render_html", "write_html_report"}
