"""A small bounded run of bench/bench_service.py's load against the test server: 8 concurrent
loopback clients, no errors, and the server's memory flat. Timing is measured by the bench
(docs/benchmarks.md), never asserted here."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parents[3] / "bench" / "bench_service.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_service", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_service", module)
    spec.loader.exec_module(module)
    return module


def test_eight_clients_no_errors_flat_memory(server_run: tuple[str, Path, int]) -> None:
    base, _tmp, pid = server_run
    bench = _bench()
    body = json.dumps(bench.our_request(), ensure_ascii=False).encode()
    port = urlsplit(base).port
    assert port is not None and urlsplit(base).hostname == "127.0.0.1"
    out = bench.load(
        port,
        "/v1/policies/county_2017/eligibility",
        body,
        clients=8,
        requests=1000,
        max_seconds=300,
        server_pid=pid,
        memory=bench.rss_mb,
    )
    assert out["errors"] == 0, out["first_errors"]
    assert out["requests"] == 1000, out  # all sent within the time bound
    rss = out["server_rss_mb"]
    if rss.get("after_warmup_mb") is not None:  # /proc is there (Linux)
        growth = rss["end_mb"] - rss["after_warmup_mb"]
        assert growth < 20 + 0.1 * rss["after_warmup_mb"], rss


def test_the_bench_asks_both_servers_the_same_question() -> None:
    """The peer's situation is the same household: same persons, the same student asked."""
    bench = _bench()
    ours = bench.our_request()
    peer = bench.peer_request(ours)
    assert set(peer["persons"]) == {p["person_id"] for p in ours["data"]["persons"]}
    asked = [p for p, v in peer["persons"].items() if "rain_dew_grant_amount" in v]
    assert asked == [ours["subject"]] and ours["on"] == "2017-09-01"
    (hh,) = peer["households"].values()
    assert hh["registered_poor"] == {"2017": True}
