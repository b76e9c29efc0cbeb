"""Every code block of docs/service.md runs or parses: Python runs against the test server,
JSON parses and validates against the API's models, shell parses (bash -n)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fupin_rules.service.models import DecisionRequest
from fupin_rules.service.problems import ProblemDetails

DOC = Path(__file__).resolve().parents[3] / "docs" / "service.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def _blocks(lang: str) -> list[str]:
    found = [body for kind, body in BLOCK.findall(DOC.read_text("utf-8")) if kind == lang]
    assert found, f"no {lang} block in {DOC.name}"
    return found


def test_blocks_are_only_of_known_kinds() -> None:
    kinds = {kind for kind, _ in BLOCK.findall(DOC.read_text("utf-8"))}
    assert kinds <= {"python", "json", "sh"}, kinds


def test_python_client_runs_against_the_server(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for code in _blocks("python"):
        exec(compile(code.replace("http://127.0.0.1:8000", server), str(DOC), "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("pass 5000 county_2017@"), out
    assert "Rain and Dew" in out


def test_json_blocks_are_a_valid_request_and_problem() -> None:
    request, problem = (json.loads(b) for b in _blocks("json"))
    assert DecisionRequest.model_validate(request).rule == "person.rain_and_dew.grant"
    assert ProblemDetails.model_validate(problem).status == 422


def test_the_json_request_is_answered_as_the_doc_says(server: str) -> None:
    import httpx

    request = json.loads(_blocks("json")[0])
    r = httpx.post(f"{server}/v1/policies/county_2017/eligibility", json=request, timeout=60)
    assert r.status_code == 200 and r.json()["finding"]["amount_yuan"] == "5000"


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_shell_blocks_parse() -> None:
    for code in _blocks("sh"):
        subprocess.run(["bash", "-n"], input=code, text=True, check=True)
