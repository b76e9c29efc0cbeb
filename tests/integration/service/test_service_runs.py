"""Dataset runs over HTTP: upload JSON, xlsx, a CSV zip or a Parquet zip; the run is a job with
progress; the report comes back as JSON, Excel and HTML, equal to the library's own run."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from fupin_rules.cli import sample_data_path

ON = "2017-12-31"


def _zip_folder(folder: Path, top: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"{top}{f.name}")
    return buf.getvalue()


@pytest.fixture(scope="module")
def small_county() -> dict[str, Any]:
    """A generated county of 120 households (with deliberate problems and missing values)."""
    from fupin_rules.io import generate_county, to_dataset_dict

    data: dict[str, Any] = to_dataset_dict(generate_county(120, 7, villages=3))
    return data


@pytest.fixture(scope="module")
def uploads(
    tmp_path_factory: pytest.TempPathFactory, small_county: dict[str, Any]
) -> dict[str, tuple[str, bytes]]:
    from fupin_rules.io import write_ledger

    tmp = tmp_path_factory.mktemp("uploads")
    data = small_county
    csv_dir = write_ledger(data, tmp / "csv", "csv")
    pq_dir = write_ledger(data, tmp / "parquet", "parquet")
    xlsx = write_ledger(data, tmp / "ledger.xlsx", "xlsx")
    return {
        "json": ("county.json", json.dumps(data, ensure_ascii=False).encode()),
        "xlsx": ("ledger.xlsx", xlsx.read_bytes()),
        "csv-zip": ("ledger.zip", _zip_folder(csv_dir, "竹山县/")),
        "parquet-zip": ("ledger.zip", _zip_folder(pq_dir)),
    }


@pytest.fixture(scope="module")
def library_summary(small_county: dict[str, Any]) -> dict[str, Any]:
    """The library's own run (reference engine) of the county the uploads hold."""
    from fupin_rules import evaluate
    from fupin_rules.reports.json_report import summary

    ev = evaluate("county_2017@1.0.0", small_county, dt.date.fromisoformat(ON), engine="reference")
    return summary(ev)


def _run(client: httpx.Client, name: str, content: bytes, **form: str) -> dict[str, Any]:
    r = client.post(
        "/v1/policies/county_2017@1.0.0/runs",
        params={"wait": 60},
        files={"file": (name, content)},
        data={"on": ON, **form},
    )
    assert r.status_code in (200, 202), r.text
    job: dict[str, Any] = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}"
    deadline = time.monotonic() + 300
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = client.get(f"/v1/jobs/{job['id']}").json()
    assert job["status"] == "done", job
    return job


@pytest.mark.parametrize("fmt", ["json", "xlsx", "csv-zip", "parquet-zip"])
def test_upload_run_report_equals_the_library(
    client: httpx.Client,
    uploads: dict[str, tuple[str, bytes]],
    library_summary: dict[str, Any],
    fmt: str,
) -> None:
    name, content = uploads[fmt]
    job = _run(client, name, content)
    assert job["progress"]["done"] == job["progress"]["total"] > 0
    assert job["policy"].startswith("county_2017@1.0.0#")
    report = client.get(job["links"]["report"]).json()
    assert report["policy"]["version"] == "1.0.0" and report["on"] == ON
    # the same findings as the library's own run of the same county
    for key in ("findings", "by_verdict", "problems", "unknown", "by_rule"):
        assert report["summary"][key] == library_summary[key], key
    assert job["summary"] == report["summary"]


def test_excel_and_html_downloads(
    client: httpx.Client, uploads: dict[str, tuple[str, bytes]]
) -> None:
    from openpyxl import load_workbook

    job = _run(client, *uploads["json"])
    xl = client.get(job["links"]["excel"])
    assert xl.status_code == 200 and "attachment" in xl.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(xl.content), read_only=True)
    assert len(wb.sheetnames) >= 2
    html = client.get(job["links"]["html"])
    assert html.status_code == 200 and html.text.lstrip().lower().startswith("<!doctype html")


def test_a_run_is_a_job_with_progress(client: httpx.Client) -> None:
    """Without wait= the request answers at once (202) and the job is polled; with a per-unit
    engine the progress counts households, villages and the county as they are done."""
    name, content = "sample.json", sample_data_path().read_bytes()
    r = client.post(
        "/v1/policies/county_2017/runs",
        files={"file": (name, content)},
        data={"on": ON, "engine": "reference"},
    )
    assert r.status_code in (200, 202)
    job = r.json()
    seen = [job["progress"]["done"]]
    assert job["status"] in ("queued", "running", "done")
    assert job["progress"]["total"] == 2000 + 10 + 1  # households + villages + the county
    assert job["progress"]["done"] <= job["progress"]["total"]
    if job["status"] != "done":
        early = client.get(f"/v1/jobs/{job['id']}/report")
        assert early.status_code in (200, 409)
    deadline = time.monotonic() + 300
    while job["status"] != "done" and time.monotonic() < deadline:
        time.sleep(0.5)
        job = client.get(f"/v1/jobs/{job['id']}").json()
        seen.append(job["progress"]["done"])
    assert job["status"] == "done"
    assert seen == sorted(seen) and seen[-1] == job["progress"]["total"]  # progress only grows


def test_runs_are_stored_in_the_run_store(
    client: httpx.Client,
    uploads: dict[str, tuple[str, bytes]],
    server_run: tuple[str, Path, int],
) -> None:
    """A run through the service is a run of the run store, as ``check --store`` records."""
    from fupin_rules.runs import RunStore, input_digest

    job = _run(client, *uploads["json"])
    (db,) = server_run[1].glob("runs-*.sqlite")
    with RunStore(db, create=False) as store:
        run = store.run(job["run_id"])
        problems = store.findings(job["run_id"], problems_only=True)
    assert run.policy_ref == job["policy"] and run.input_name == "county.json"
    assert (run.findings, run.problems) == (job["summary"]["findings"], job["summary"]["problems"])
    assert len(problems) == job["summary"]["problems"] > 0
    located = [p for p in problems if p.subject_kind in ("household", "person")]
    assert located and all(p.township_id and p.village_id for p in located)  # for 整改
    tmp = server_run[1] / "same-upload.json"
    tmp.write_bytes(uploads["json"][1])
    assert run.input_digest == input_digest(tmp)


def test_bad_rows_of_an_upload_are_listed_not_dropped(
    client: httpx.Client, small_county: dict[str, Any]
) -> None:
    data = copy.deepcopy(small_county)
    data["persons"][4]["annual_income_yuan"] = "lots"
    job = _run(client, "bad.json", json.dumps(data, ensure_ascii=False).encode())
    report = client.get(job["links"]["report"]).json()
    (row,) = report["rejected_rows"]
    assert (row["table"], row["row"], row["field"]) == ("persons", 5, "annual_income_yuan")


@pytest.mark.parametrize(
    ("name", "content", "form", "status"),
    [
        ("x.txt", b"hello", {}, 422),
        ("x.json", b"{not json", {}, 422),
        ("x.json", b"[1, 2]", {}, 422),
        ("x.xlsx", b"PK\x03\x04 not really", {}, 422),
        ("x.zip", b"PK\x05\x06" + b"\0" * 18, {}, 422),
        ("x.json", b"{}", {"format": "pdf"}, 422),
        ("x.json", b'{"county": {}}', {}, 422),
    ],
)
def test_unreadable_uploads_are_4xx(
    client: httpx.Client, name: str, content: bytes, form: dict[str, str], status: int
) -> None:
    r = client.post(
        "/v1/policies/county_2017/runs", files={"file": (name, content)}, data={"on": ON, **form}
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "/tmp" not in r.text  # no server path leaks into the message


def test_run_form_errors_are_4xx(client: httpx.Client) -> None:
    r = client.post("/v1/policies/county_2017/runs", data={"on": ON})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = client.post(
        "/v1/policies/county_2017/runs",
        files={"file": ("x.json", b"{}")},
        data={"on": "2015-01-01"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "on"
    r = client.get("/v1/jobs/0123")
    assert r.status_code == 404
