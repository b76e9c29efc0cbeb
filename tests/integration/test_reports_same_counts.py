"""Every report shows the same counts whatever the engine (issue 13): the batch engine lists only
some passing findings, yet its JSON summary, Excel 汇总 and HTML charts count every pass."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from fupin_rules.cli import EXIT_OK, main
from fupin_rules.io.generate import generate_county, to_dataset_dict

ENGINES = ("batch", "reference", "inference")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated county of 60 households in 2 villages (with deliberate problems)."""
    path = tmp_path_factory.mktemp("county") / "county.json"
    data = to_dataset_dict(generate_county(60, 7, villages=2))
    path.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reports(county: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The JSON, Excel and HTML reports of ``check`` with each engine."""
    if "inference" in ENGINES:
        from fupin_rules.engine.inference import durable_available

        if not durable_available():
            pytest.skip("durable-rules does not import on this Python (see docs/engine.md)")
    out: dict[str, Path] = {}
    for engine in ENGINES:
        folder = tmp_path_factory.mktemp(engine)
        args = ["check", str(county), "--engine", engine, "--quiet"]
        args += ["--out", str(folder / "r.json"), "--excel", str(folder / "r.xlsx")]
        args += ["--html", str(folder / "r.html")]
        assert main(args) == EXIT_OK
        out[engine] = folder
    return out


def _summary(folder: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((folder / "r.json").read_text("utf-8"))["summary"]
    return summary


def test_json_summary_counts_are_equal(reports: dict[str, Path]) -> None:
    want = _summary(reports["reference"])
    assert want["by_verdict"]["pass"] > 0
    for engine in ENGINES:
        assert _summary(reports[engine]) == want, engine


def _summary_sheet_by_rule(folder: Path) -> list[tuple[Any, ...]]:
    import openpyxl

    wb = openpyxl.load_workbook(folder / "r.xlsx", read_only=True)
    rows = [r for r in wb["汇总"].iter_rows(values_only=True) if r and r[0]]
    wb.close()
    start = next(i for i, r in enumerate(rows) if r[0] == "规则编号")
    return [r for r in rows[start + 1 :] if isinstance(r[0], str) and "." in r[0]]


def test_excel_summary_sheet_counts_are_equal(reports: dict[str, Path]) -> None:
    want = _summary_sheet_by_rule(reports["reference"])
    assert any(r[5] for r in want)  # some rule has passes (符合)
    for engine in ENGINES:
        assert _summary_sheet_by_rule(reports[engine]) == want, engine


def _charts(folder: Path) -> list[str]:
    text = (folder / "r.html").read_text("utf-8")
    sections = ("numbers", "targets", "criteria")
    return [re.search(f'<section id="{s}">.*?</section>', text, re.S).group(0) for s in sections]  # type: ignore[union-attr]


def test_html_charts_are_equal(reports: dict[str, Path]) -> None:
    want = _charts(reports["reference"])
    assert re.search(r"符合 [1-9]", want[2])  # some village criterion passes
    for engine in ENGINES:
        assert _charts(reports[engine]) == want, engine
