#!/usr/bin/env python
"""The HTTP service under load, and one decision over HTTP against the OpenFisca Web API.

Starts ``fupin-rules serve`` (and, unless ``--skip-peer``, the OpenFisca peer's ``openfisca
serve``) on free ports of 127.0.0.1 only, then measures in the same run:

* **single**: one client per server, one request after the other (keep-alive), the servers
  taken in turn in blocks of 25 requests (ours, the peer's, the floor's, then again), so that
  bursts of other work on a shared machine fall on all of them alike: the Rain and Dew grant
  (雨露计划) for one student of a four-person registered-poor household, as of 2017-09-01 —
  ours ``POST /v1/policies/county_2017/eligibility`` with the household's records inline, the
  peer's ``POST /calculate`` with the same household as an OpenFisca situation asking
  ``rain_dew_grant_amount`` for 2017-09. Both answer 5000. Median and p99 latency; the ratio
  peer/ours is the speed-up.
* **server CPU** per request in the single phase: user + system time of the server process
  and its children (``/proc/PID/stat``; gunicorn's workers for the peer), divided by the
  requests. On a machine shared with other work the wall-clock latency includes waits for a
  core; the CPU time does not, so ``ratio_server_cpu_peer_over_ours`` is the steadier ratio.
* **floor**: the same client against a bare FastAPI route on the same uvicorn (it reads the
  3.2 kB body and answers a constant 53-byte JSON): what HTTP, uvicorn and FastAPI cost
  before any work, and so the least any FastAPI service can take per decision here.
* **load**: ``--clients`` concurrent clients (threads, one keep-alive connection each) send
  ``--requests`` decisions in all; requests per second, p50/p99 latency, errors (any status
  other than 200 or a transport error), and the server's resident memory (``/proc/PID/status``
  VmRSS) after the warm-up tenth and at the end.

Every loop is bounded in count and in time (``--max-seconds``). Run it in the bench venv
(``bash bench/make_bench_venv.sh``), which has openfisca-core's Web API and the peer model:

    .bench-venv/bin/python bench/bench_service.py --requests 10000 --clients 8 --single 300

``--skip-peer`` runs ours only (in the project venv too). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
ON = "2017-09-01"
#: poverty statuses county_2017 counts as registered poor (household.is_registered_poor)
REGISTERED_POOR = {
    "registered_poor",
    "pre_exit_2017",
    "newly_added",
    "returned_to_poverty",
    "exited",
}


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MiB (Linux), or None."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def tree_rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` and its children (gunicorn workers), MiB."""
    total = rss_mb(pid)
    if total is None:
        return None
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for c in children:
        total += tree_rss_mb(int(c)) or 0.0
    return total


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` and its children (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for c in children:
        total += tree_cpu_seconds(int(c)) or 0.0
    return total


def wait_up(port: int, path: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    """Poll ``GET path`` until it answers 200 (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"no answer on {LOOPBACK}:{port}{path} within {seconds} s")


def start(cmd: Sequence[str], port: int, health: str, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_up(port, health, proc, 180)
    except RuntimeError:
        proc.kill()
        proc.wait(10)
        raise RuntimeError(log.read_text("utf-8", "replace")[-3000:]) from None
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(15)


# --------------------------------------------------------------------------- the question


def our_request() -> dict[str, Any]:
    """The sample county's Rain and Dew example, records limited to what a register export has
    for a household: county, township, village, the household and its persons."""
    from fupin_rules.service.examples import decision_example

    body = decision_example()
    body["on"] = ON
    keep = ("county", "townships", "villages", "households", "persons")
    body["data"] = {k: v for k, v in body["data"].items() if k in keep}
    return body


def peer_request(ours: dict[str, Any]) -> dict[str, Any]:
    """The same household as an OpenFisca situation: enrolment and registered-poor status."""
    persons = ours["data"]["persons"]
    subject = ours["subject"]
    vocational = {"secondary_vocational", "higher_vocational"}
    situation: dict[str, Any] = {"persons": {}}
    for p in persons:
        level = p.get("school_level")
        entry: dict[str, Any] = {
            "vocational_enrolment": {"2017": level if level in vocational else "none"},
            "income": {"2017": float(p.get("annual_income_yuan") or 0)},
        }
        if p["person_id"] == subject:
            entry["rain_dew_grant_amount"] = {"2017-09": None}
        situation["persons"][p["person_id"]] = entry
    ids = [p["person_id"] for p in persons]
    head = next((p["person_id"] for p in persons if p.get("is_head")), ids[0])
    hh = ours["data"]["households"][0]
    situation["households"] = {
        hh["household_id"]: {
            "head": [head],
            "members": [i for i in ids if i != head],
            # county_2017's reading of 建档立卡贫困户 (household.is_registered_poor)
            "registered_poor": {"2017": hh["poverty_status"] in REGISTERED_POOR},
        }
    }
    situation["villages"] = {ours["data"]["villages"][0]["village_id"]: {"residents": ids}}
    return situation


# --------------------------------------------------------------------------- clients


class Client:
    """One keep-alive connection; ``post`` returns (status, body, seconds)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)

    def post(self, path: str, body: bytes) -> tuple[int, bytes, float]:
        t0 = time.perf_counter()
        try:
            self.conn.request("POST", path, body, {"Content-Type": "application/json"})
            r = self.conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=60)
            return -1, b"", time.perf_counter() - t0
        return r.status, data, time.perf_counter() - t0

    def close(self) -> None:
        self.conn.close()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def single(
    port: int,
    path: str,
    body: bytes,
    n: int,
    check: Callable[[bytes], None],
    max_seconds: float,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """``n`` requests one after the other (after 20 warm-up requests); with ``server_pid``,
    also the server's CPU time per request."""
    c = Client(port)
    for _ in range(20):
        status, data, _t = c.post(path, body)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {data[:500]!r}")
    check(data)
    times: list[float] = []
    deadline = time.monotonic() + max_seconds
    cpu0 = tree_cpu_seconds(server_pid) if server_pid is not None else None
    while len(times) < n and time.monotonic() < deadline:
        status, data, t = c.post(path, body)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {data[:500]!r}")
        times.append(t)
    cpu1 = tree_cpu_seconds(server_pid) if server_pid is not None else None
    c.close()
    out: dict[str, Any] = {
        "requests": len(times),
        "median_ms": round(statistics.median(times) * 1000, 3),
        "p99_ms": round(pct(times, 0.99) * 1000, 3),
    }
    if cpu0 is not None and cpu1 is not None and times:
        out["server_cpu_ms_per_request"] = round((cpu1 - cpu0) / len(times) * 1000, 3)
    return out


def interleaved(
    targets: dict[str, tuple[int, str, bytes, Callable[[bytes], None], int | None]],
    n: int,
    max_seconds: float,
    block: int = 25,
) -> dict[str, dict[str, Any]]:
    """``n`` sequential requests to each target (name -> port, path, body, check, server pid),
    taken in turn in blocks of ``block`` (so that a burst of other work on the machine falls on
    all of them alike, while each server runs warm within a block; one request to each in turn
    measured every server 2-3x slower, the floor included); after 20 warm-up requests each.
    Median, p99 and server CPU per target."""
    clients = {name: Client(t[0]) for name, t in targets.items()}
    for name, (_port, path, body, check, _pid) in targets.items():
        for _ in range(20):
            status, data, _t = clients[name].post(path, body)
            if status != 200:
                raise RuntimeError(f"{name} {path}: {status} {data[:500]!r}")
        check(data)
    times: dict[str, list[float]] = {name: [] for name in targets}
    cpu0 = {name: tree_cpu_seconds(t[4]) if t[4] else None for name, t in targets.items()}
    deadline = time.monotonic() + max_seconds
    while min(len(v) for v in times.values()) < n and time.monotonic() < deadline:
        for name, (_port, path, body, _check, _pid) in targets.items():
            for _ in range(min(block, n - len(times[name]))):
                status, data, t = clients[name].post(path, body)
                if status != 200:
                    raise RuntimeError(f"{name} {path}: {status} {data[:500]!r}")
                times[name].append(t)
    out: dict[str, dict[str, Any]] = {}
    for name, target in targets.items():
        clients[name].close()
        ts = times[name]
        res: dict[str, Any] = {
            "requests": len(ts),
            "median_ms": round(statistics.median(ts) * 1000, 3),
            "p99_ms": round(pct(ts, 0.99) * 1000, 3),
        }
        pid = target[4]
        c0, c1 = cpu0[name], tree_cpu_seconds(pid) if pid else None
        if c0 is not None and c1 is not None and ts:
            res["server_cpu_ms_per_request"] = round((c1 - c0) / len(ts) * 1000, 3)
        out[name] = res
    return out


def load(
    port: int,
    path: str,
    body: bytes,
    *,
    clients: int,
    requests: int,
    max_seconds: float,
    server_pid: int | None,
    memory: Callable[[int], float | None] = tree_rss_mb,
) -> dict[str, Any]:
    """``requests`` requests from ``clients`` concurrent clients; latency, errors, memory."""
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    errors: list[str] = []
    rss: dict[str, float | None] = {}
    warm = max(1, requests // 10)
    deadline = time.monotonic() + max_seconds

    def take() -> bool:
        nonlocal issued
        with lock:
            if issued >= requests or time.monotonic() > deadline:
                return False
            issued += 1
            if issued == warm and server_pid is not None:
                rss["after_warmup_mb"] = memory(server_pid)
            return True

    def worker() -> None:
        c = Client(port)
        mine: list[float] = []
        while take():
            status, data, t = c.post(path, body)
            if status != 200:
                with lock:
                    errors.append(f"{status} {data[:200]!r}")
            mine.append(t)
        c.close()
        with lock:
            latencies.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_seconds + 120)
    wall = time.perf_counter() - t0
    if server_pid is not None:
        rss["end_mb"] = memory(server_pid)
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "seconds": round(wall, 3),
        "requests_per_s": round(len(latencies) / wall, 1) if wall else None,
        "p50_ms": round(pct(latencies, 0.50) * 1000, 3),
        "p99_ms": round(pct(latencies, 0.99) * 1000, 3),
        "max_ms": round(max(latencies) * 1000, 3) if latencies else None,
        "server_rss_mb": {k: round(v, 1) if v is not None else None for k, v in rss.items()},
    }


# --------------------------------------------------------------------------- servers


def our_server(tmp: Path, engine: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "fupin_rules.cli",
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--policy",
        "county_2017",
        "--engine",
        engine,
        "--store",
        str(tmp / "runs.sqlite"),
    ]
    return start(cmd, port, "/healthz", tmp / "ours.log"), port


FLOOR_APP = """
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/policies/{policy}/eligibility")
async def eligibility(policy: str, request: Request) -> Response:
    await request.body()
    return Response(
        b'{"finding":{"verdict":"pass","amount_yuan":"5000"},"explanation":null}',
        media_type="application/json",
    )
"""


def floor_server(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A bare FastAPI route on uvicorn with the options ``fupin-rules serve`` gets (uvicorn's
    defaults: httptools and uvloop when installed)."""
    port = free_port()
    (tmp / "floor_app.py").write_text(FLOOR_APP, "utf-8")
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "floor_app:app",
        "--app-dir",
        str(tmp),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return start(cmd, port, "/healthz", tmp / "floor.log"), port


def peer_server(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    exe = shutil.which("openfisca", path=str(Path(sys.executable).parent)) or shutil.which(
        "openfisca"
    )
    if exe is None:
        raise SystemExit("openfisca is not installed here: run in the bench venv or --skip-peer")
    port = free_port()
    cmd = [exe, "serve", "-c", "openfisca_fupin_peer", "--bind", f"{LOOPBACK}:{port}"]
    return start(cmd, port, "/spec", tmp / "peer.log"), port


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=10_000, help="requests of the load test")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--single", type=int, default=300, help="sequential requests per server")
    ap.add_argument("--max-seconds", type=float, default=600.0, help="bound of each phase")
    ap.add_argument("--engine", default="auto", help="the engine our server runs")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--skip-floor", action="store_true", help="do not measure the bare route")
    ap.add_argument("--peer-load", action="store_true", help="also load-test the peer")
    ap.add_argument("--json", help="also write the result here")
    a = ap.parse_args(argv)

    ours_body = our_request()
    ours_bytes = json.dumps(ours_body, ensure_ascii=False).encode()
    peer_bytes = json.dumps(peer_request(ours_body)).encode()
    ours_path = "/v1/policies/county_2017/eligibility"

    def check_ours(data: bytes) -> None:
        f = json.loads(data)["finding"]
        assert (f["verdict"], f["amount_yuan"]) == ("pass", "5000"), f

    def check_peer(data: bytes) -> None:
        got = json.loads(data)["persons"][ours_body["subject"]]["rain_dew_grant_amount"]["2017-09"]
        assert got == 5000, got

    res: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "engine": a.engine,
        "request_bytes": {"ours": len(ours_bytes), "peer": len(peer_bytes)},
    }
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmpname:
        tmp = Path(tmpname)
        ours, port = our_server(tmp, a.engine)
        started: list[subprocess.Popen[bytes]] = []
        try:
            targets: dict[str, tuple[int, str, bytes, Callable[[bytes], None], int | None]] = {
                "ours": (port, ours_path, ours_bytes, check_ours, ours.pid)
            }
            if not a.skip_peer:
                peer, pport = peer_server(tmp)
                started.append(peer)
                targets["peer"] = (pport, "/calculate", peer_bytes, check_peer, peer.pid)
            if not a.skip_floor:
                floor, fport = floor_server(tmp)
                started.append(floor)
                targets["floor"] = (fport, ours_path, ours_bytes, lambda d: None, floor.pid)
            for name, r in interleaved(targets, a.single, a.max_seconds).items():
                res[f"single_{name}"] = r
            if not a.skip_peer:
                res["ratio_single_median_peer_over_ours"] = round(
                    res["single_peer"]["median_ms"] / res["single_ours"]["median_ms"], 2
                )
                cpu = [
                    res[k].get("server_cpu_ms_per_request") for k in ("single_peer", "single_ours")
                ]
                if None not in cpu and cpu[1]:
                    res["ratio_server_cpu_peer_over_ours"] = round(cpu[0] / cpu[1], 2)
                if a.peer_load:
                    res["load_peer"] = load(
                        targets["peer"][0],
                        "/calculate",
                        peer_bytes,
                        clients=a.clients,
                        requests=a.requests,
                        max_seconds=a.max_seconds,
                        server_pid=targets["peer"][4],
                    )
            for proc in started:
                stop(proc)
            started.clear()
            res["load_ours"] = load(
                port,
                ours_path,
                ours_bytes,
                clients=a.clients,
                requests=a.requests,
                max_seconds=a.max_seconds,
                server_pid=ours.pid,
            )
        finally:
            for proc in started:
                stop(proc)
            stop(ours)
    print(json.dumps(res, indent=2, ensure_ascii=False))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
