"""Optional API-key authentication; off on loopback by default, required off loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
from server_support import running_server

from fupin_rules.cli import main
from fupin_rules.service.examples import decision_example


def test_api_key_required_when_configured(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# service keys\nfile-key\n", encoding="utf-8")
    with running_server(
        tmp_path,
        args=["--policy", "county_2017", "--api-key-file", str(keys)],
        env={"FUPIN_RULES_API_KEYS": "env-key-1, env-key-2"},
    ) as (base, _):
        with httpx.Client(base_url=base, timeout=60) as c:
            r = c.get("/v1/policies")
            assert r.status_code == 401
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["www-authenticate"] == "X-API-Key"
            assert c.get("/v1/policies", headers={"X-API-Key": "wrong"}).status_code == 401
            for key in ("file-key", "env-key-1", "env-key-2"):
                assert c.get("/v1/policies", headers={"X-API-Key": key}).status_code == 200
            r = c.post(
                "/v1/policies/county_2017/eligibility",
                json=decision_example(),
                headers={"X-API-Key": "env-key-2"},
            )
            assert r.status_code == 200
            # liveness and the API description stay open
            assert c.get("/healthz").status_code == 200
            assert c.get("/openapi.json").status_code == 200


def test_no_key_needed_on_loopback_by_default(client: httpx.Client) -> None:
    assert client.get("/v1/policies").status_code == 200


def test_refuses_to_serve_off_loopback_without_a_key(capsys: object, monkeypatch: object) -> None:
    """Checked before anything is bound: nothing listens on the other address."""
    import pytest

    mp = monkeypatch
    assert isinstance(mp, pytest.MonkeyPatch)
    mp.delenv("FUPIN_RULES_API_KEYS", raising=False)
    code = main(["serve", "--host", "192.0.2.1", "--policy", "county_2017"])
    assert code == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "not a loopback address" in err and "--no-auth" in err
