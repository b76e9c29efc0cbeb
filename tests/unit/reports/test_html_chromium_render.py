"""The HTML report rendered by headless Chromium: key numbers and chart SVG in the live DOM."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import fupin_rules as fr
from fupin_rules.reports import summary, write_html_report

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium not on PATH (CI installs Debian's chromium in .ci/run; "
    "locally: apt-get install -y chromium)",
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)


def test_rendered_dom_shows_numbers_and_charts(
    county_case: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, loaded = county_case
    page = tmp_path / "report.html"
    write_html_report(ev, page, dataset=loaded.dataset)
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    s = summary(ev)
    for key, n in (
        ("findings", s["findings"]),
        ("problems", s["problems"]),
        ("unknowns", s["unknown"]),
    ):
        assert re.search(rf'id="n-{key}"><b>{n:,}</b>', dom), key
    targets = sum(1 for f in ev.findings if f.rule_kind == "target")
    target_svg = re.search(r'<svg id="target-chart".*?</svg>', dom, re.S)
    assert target_svg and target_svg.group(0).count('class="target-bar"') == targets
    criteria_svg = re.search(r'<svg id="criteria-chart".*?</svg>', dom, re.S)
    assert criteria_svg and "<rect" in criteria_svg.group(0)
    assert "村 V1" in dom  # the drill-down survived rendering


def test_screenshot_is_written(
    county_case: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, loaded = county_case
    page = tmp_path / "report.html"
    write_html_report(ev, page, dataset=loaded.dataset)
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
