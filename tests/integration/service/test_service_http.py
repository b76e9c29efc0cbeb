"""The HTTP API against a real uvicorn server on loopback: policies, decisions, units, the
decision log, and problem details for every kind of bad input (never a 5xx)."""

from __future__ import annotations

import contextlib
import copy
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from fupin_rules.service.examples import (
    EXAMPLE_PERSON,
    EXAMPLE_RULE,
    decision_example,
    household_slice,
    person_household,
    sample_county,
)

PROBLEM = "application/problem+json"


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    return body


# --------------------------------------------------------------------------- policies


def test_policies_listed_side_by_side_with_hash_and_period(client: httpx.Client) -> None:
    r = client.get("/v1/policies")
    assert r.status_code == 200
    by_ref = {p["ref"]: p for p in r.json()}
    assert {"county_2017@1.0.0", "county_2018@0.1.0"} <= set(by_ref)
    # a newer county_2017 (1.1.0) is served next to the frozen 1.0.0, each with its own hash
    versions = {p["version"]: p["hash"] for p in by_ref.values() if p["id"] == "county_2017"}
    assert len(versions) >= 2 and len(set(versions.values())) == len(versions)
    p = by_ref["county_2017@1.0.0"]
    assert len(p["hash"]) == 64
    assert p["effective"] == {"start": "2017-01-01", "end": "2017-12-31"}
    assert by_ref["county_2018@0.1.0"]["extends"] == "county_2017"


def test_one_policy_with_rules_dated_parameters_and_coverage(client: httpx.Client) -> None:
    r = client.get("/v1/policies/county_2017@1.0.0")
    assert r.status_code == 200
    body = r.json()
    grant = next(p for p in body["parameters"] if p["name"] == "rain_and_dew.grant_yuan")
    assert [(v["start"], v["end"], v["value"]) for v in grant["values"]] == [
        ("2015-01-01", "2017-08-31", "3000"),
        ("2017-09-01", None, "5000"),
    ]
    rule = next(x for x in body["rule_list"] if x["id"] == EXAMPLE_RULE)
    assert rule["kind"] == "eligibility" and rule["clause"] == "三(二)2"
    assert any(
        row["clause"] == "三(二)2" and EXAMPLE_RULE in row["rules"] for row in body["clauses"]
    )
    # the 2018 package differs in the overridden parameter only: both are served at once
    r18 = client.get("/v1/policies/county_2018@0.1.0").json()
    g18 = next(p for p in r18["parameters"] if p["name"] == "rain_and_dew.grant_yuan")
    assert len(g18["values"]) > len(grant["values"])


def test_coverage_table_json_and_markdown(client: httpx.Client) -> None:
    rows = client.get("/v1/policies/county_2017/coverage").json()
    assert rows and all({"clause", "rules", "uncovered"} <= set(r) for r in rows)
    md = client.get("/v1/policies/county_2017/coverage", params={"format": "markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    newest = max(
        (p for p in client.get("/v1/policies").json() if p["id"] == "county_2017"),
        key=lambda p: tuple(int(x) for x in p["version"].split(".")),
    )
    assert md.text.startswith(f"# Coverage of county_2017 {newest['version']}")  # bare id: newest
    old = client.get("/v1/policies/county_2017@1.0.0/coverage", params={"format": "markdown"})
    assert old.text.startswith("# Coverage of county_2017 1.0.0")


# --------------------------------------------------------------------------- decisions


@pytest.mark.parametrize(("on", "amount"), [("2017-08-31", "3000"), ("2017-09-01", "5000")])
def test_rain_and_dew_both_sides_of_the_autumn_raise(
    client: httpx.Client, on: str, amount: str
) -> None:
    """三(二)2: 3000 up to 2017-08-31, 5000 from the autumn term (2017-09-01)."""
    body = {**decision_example(), "on": on}
    r = client.post("/v1/policies/county_2017@1.0.0/eligibility", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    f = out["finding"]
    assert (f["verdict"], f["amount_yuan"], f["on"]) == ("pass", amount, on)
    assert f["subject"] == {"kind": "person", "id": EXAMPLE_PERSON}
    assert f["policy"]["version"] == "1.0.0" and out["policy"].startswith("county_2017@1.0.0#")
    assert out["explanation"] is None


@pytest.mark.parametrize(
    ("lang", "words"), [("zh", ["符合条件", "依据"]), ("en", ["PASS", "basis"])]
)
def test_explanation_on_request_in_chinese_and_english(
    client: httpx.Client, lang: str, words: list[str]
) -> None:
    r = client.post(
        "/v1/policies/county_2017/eligibility",
        params={"explain": "true", "lang": lang},
        json=decision_example(),
    )
    text = r.json()["explanation"]
    assert all(w in text for w in words), text
    r2 = client.post(
        "/v1/policies/county_2017/explain", params={"lang": lang}, json=decision_example()
    )
    assert r2.json()["explanation"] == text


def test_compliance_of_one_rule(client: httpx.Client) -> None:
    body = {
        **decision_example(),
        "rule": "person.health.supplementary_insurance",
        "on": "2017-12-31",
    }
    r = client.post("/v1/policies/county_2017/compliance", json=body)
    assert r.status_code == 200, r.text
    f = r.json()["finding"]
    assert f["rule"] == "person.health.supplementary_insurance"
    assert f["verdict"] in {"pass", "fail", "unknown", "not_applicable"}


def test_household_with_its_persons_and_a_village(client: httpx.Client) -> None:
    ex = decision_example()
    hh = ex["data"]["households"][0]["household_id"]
    r = client.post(
        "/v1/policies/county_2017/household",
        json={"subject": hh, "on": "2017-12-31", "data": ex["data"]},
    )
    assert r.status_code == 200, r.text
    kinds = {f["subject"]["kind"] for f in r.json()["findings"]}
    assert {"household", "person"} <= kinds
    vid = ex["data"]["villages"][0]["village_id"]
    data = sample_county()
    village_data = {
        "county": data["county"],
        "townships": data["townships"],
        "villages": [v for v in data["villages"] if v["village_id"] == vid],
        "households": [h for h in data["households"] if h["village_id"] == vid],
    }
    hh_ids = {h["household_id"] for h in village_data["households"]}
    village_data["persons"] = [p for p in data["persons"] if p["household_id"] in hh_ids]
    r = client.post(
        "/v1/policies/county_2017/village",
        params={"explain": "true", "lang": "en"},
        json={"subject": vid, "on": "2017-12-31", "data": village_data},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert {f["subject"]["id"] for f in out["findings"]} == {vid}
    assert len(out["explanations"]) == len(out["findings"]) > 0


# --------------------------------------------------------------------------- decision log


def test_every_decision_is_logged_with_policy_digest_result_time(
    client: httpx.Client, server: str
) -> None:
    body = {**decision_example(), "on": "2017-10-01"}
    out = client.post("/v1/policies/county_2017/eligibility", json=body).json()
    entries = client.get("/v1/decisions", params={"limit": 5}).json()
    mine = next(e for e in entries if e["input_digest"] == out["input_digest"])
    assert mine["policy"] == out["policy"]
    assert (mine["rule"], mine["subject"]) == (EXAMPLE_RULE, f"person:{EXAMPLE_PERSON}")
    assert (mine["verdict"], mine["amount_yuan"], mine["on"]) == ("pass", "5000", "2017-10-01")
    assert mine["result"] == out["finding"] and mine["at"].startswith("20")
    # the same question asked with its keys in another order has the same digest
    reordered = dict(reversed(list(body.items())))
    again = client.post("/v1/policies/county_2017/eligibility", json=reordered).json()
    assert again["input_digest"] == out["input_digest"]


def test_decision_log_is_an_sqlite_file(
    client: httpx.Client, server_run: tuple[str, Path, int]
) -> None:
    body = {**decision_example(), "on": "2017-11-11"}
    r = client.post("/v1/policies/county_2017/eligibility", json=body)
    assert r.status_code == 200
    (db,) = server_run[1].glob("runs-*.sqlite")  # the run store's decisions table
    # the log's writer thread commits a decision within milliseconds of its answer (docs/service.md):
    # read the file itself, without asking the service, until the row is there
    deadline = time.monotonic() + 30
    rows: list[Any] = []
    while not rows and time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(db)) as con:
            rows = con.execute(
                "SELECT policy_ref, policy_version, rule_id, subject, verdict, on_date, result,"
                " recorded_at FROM decisions WHERE input_digest = ?",
                (r.json()["input_digest"],),
            ).fetchall()
        time.sleep(0.01)
    assert [row[:6] for row in rows] == [
        (
            r.json()["policy"],
            r.json()["finding"]["policy"]["version"],
            EXAMPLE_RULE,
            f"person:{EXAMPLE_PERSON}",
            "pass",
            "2017-11-11",
        )
    ]
    assert json.loads(rows[0][6]) == r.json()["finding"]
    assert rows[0][7].startswith("20")


# --------------------------------------------------------------------------- problems


def test_unknown_policy_is_404_with_did_you_mean(client: httpx.Client) -> None:
    body = _problem(
        client.post("/v1/policies/county_2071/eligibility", json=decision_example()), 404
    )
    assert (
        "did you mean 'county_2017'" in body["detail"]
        or "did you mean 'county_2018'" in body["detail"]
    )
    _problem(client.get("/v1/policies/county_2017@9.9.9"), 404)


def test_unknown_rule_is_422_with_did_you_mean(client: httpx.Client) -> None:
    body = {**decision_example(), "rule": "person.rain_and_dew.grnt"}
    p = _problem(client.post("/v1/policies/county_2017/eligibility", json=body), 422)
    assert "did you mean 'person.rain_and_dew.grant'" in p["detail"]
    assert p["errors"][0]["field"] == "rule" and p["errors"][0]["pointer"] == "/rule"


def test_rule_of_the_wrong_kind_is_422(client: httpx.Client) -> None:
    body = {**decision_example(), "rule": "person.rain_and_dew.paid"}
    p = _problem(client.post("/v1/policies/county_2017/eligibility", json=body), 422)
    assert "compliance rule" in p["detail"]


def test_unknown_subject_is_422_with_did_you_mean(client: httpx.Client) -> None:
    body = {**decision_example(), "subject": EXAMPLE_PERSON.replace("P0", "P", 1)}  # a zero short
    p = _problem(client.post("/v1/policies/county_2017/eligibility", json=body), 422)
    assert p["errors"][0]["field"] == "subject" and "did you mean" in p["detail"]


@pytest.mark.parametrize("on", ["2016-12-31", "2018-01-01", "2020-09-01"])
def test_date_outside_the_policy_period_is_422(client: httpx.Client, on: str) -> None:
    body = {**decision_example(), "on": on}
    p = _problem(client.post("/v1/policies/county_2017@1.0.0/eligibility", json=body), 422)
    assert p["errors"][0]["field"] == "on" and "2017-01-01 ~ 2017-12-31" in p["detail"]


def test_inside_the_period_edges_are_answered(client: httpx.Client) -> None:
    for on in ("2017-01-01", "2017-12-31"):
        body = {**decision_example(), "on": on}
        assert client.post("/v1/policies/county_2017/eligibility", json=body).status_code == 200


def test_bad_rows_name_table_row_and_field(client: httpx.Client) -> None:
    body = decision_example()
    body["data"]["persons"][1]["annual_income_yuan"] = "abc"
    body["data"]["persons"][2]["anual_income_yuan"] = "1"
    p = _problem(client.post("/v1/policies/county_2017/eligibility", json=body), 422)
    errs = {(e["table"], e["row"], e["field"]): e for e in p["errors"]}
    assert (
        errs[("persons", 2, "annual_income_yuan")]["pointer"]
        == "/data/persons/1/annual_income_yuan"
    )
    assert (
        "did you mean 'annual_income_yuan'" in errs[("persons", 3, "anual_income_yuan")]["message"]
    )


def test_money_as_a_binary_float_is_refused_exactly(client: httpx.Client) -> None:
    """A float income with more than fen precision is not silently rounded."""
    body = decision_example()
    body["data"]["persons"][0]["annual_income_yuan"] = 0.1 + 0.2
    p = _problem(client.post("/v1/policies/county_2017/eligibility", json=body), 422)
    err = p["errors"][0]
    assert (err["table"], err["row"], err["field"]) == ("persons", 1, "annual_income_yuan")
    assert "0.30000000000000004" in err["message"]  # the exact text sent, not a rounded float


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{", 400),
        (b'{"rule": NaN}', 400),
        (b"[]", 422),
        (b"null", 422),
        (b'{"rule": "x"}', 422),
        (b'{"rule": "x", "subject": "y", "on": "2017-13-01", "data": {}}', 422),
        (b"\xff\xfe", 400),
    ],
)
def test_malformed_bodies_are_4xx(client: httpx.Client, content: bytes, status: int) -> None:
    r = client.post(
        "/v1/policies/county_2017/eligibility",
        content=content,
        headers={"content-type": "application/json"},
    )
    _problem(r, status)


def test_missing_county_is_422(client: httpx.Client) -> None:
    body = decision_example()
    del body["data"]["county"]
    p = _problem(client.post("/v1/policies/county_2017/eligibility", json=body), 422)
    assert "county" in p["detail"]


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    big = b'{"rule": "' + b"x" * (9 << 20) + b'"}'
    _problem(client.post("/v1/policies/county_2017/eligibility", content=big), 413)


def test_unknown_route_and_method_are_problem_details(client: httpx.Client) -> None:
    _problem(client.get("/v1/nowhere"), 404)
    _problem(client.delete("/v1/policies"), 405)


def test_no_file_paths_from_clients(client: httpx.Client) -> None:
    """A policy named by a path is not loaded: only what the operator served is known."""
    for ref in ("..%2F..%2Fetc", "%2Fetc%2Fpasswd", "examples%2Fcounty_2018"):
        r = client.get(f"/v1/policies/{ref}")
        assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)


def test_decision_body_is_not_modified_by_the_service() -> None:
    """Guard for the examples used everywhere: household_slice returns the household's records."""
    data = sample_county()
    hid = person_household(data, EXAMPLE_PERSON)
    sl = household_slice(copy.deepcopy(data), hid)
    assert [h["household_id"] for h in sl["households"]] == [hid]
    assert all(p["household_id"] == hid for p in sl["persons"])
    assert json.loads(json.dumps(sl)) == sl
