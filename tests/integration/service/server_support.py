"""Start ``fupin-rules serve`` in a subprocess on a free loopback port and talk to it over HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
COUNTY_2018 = ROOT / "examples" / "county_2018"
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the OS picks it: bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(
    tmp: Path,
    *,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    startup_seconds: float = 90.0,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``(base_url, process)`` of a server serving county_2017 and the county_2018 example;
    stopped (terminate, then kill after 10 s) on exit."""
    for _attempt in range(3):  # the free port may be taken between the probe and the bind
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
            "--store",
            str(tmp / f"runs-{port}.sqlite"),
            *args,
        ]
        if "--policy" not in args:
            cmd += ["--policy", "county_2017", "--policy", "county_2017@1.0.0"]
            cmd += ["--policy", str(COUNTY_2018)]
        log = (tmp / f"server-{port}.log").open("wb")
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        base = f"http://{LOOPBACK}:{port}"
        deadline = time.monotonic() + startup_seconds
        up = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(base + "/healthz", timeout=2.0).status_code == 200:
                    up = True
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        if not up:
            proc.kill()
            proc.wait(10)
            log.close()
            continue
        try:
            yield base, proc
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            log.close()
        return
    text = (tmp / f"server-{port}.log").read_text("utf-8", "replace")
    raise RuntimeError(f"the server did not start on {LOOPBACK}:\n{text[-3000:]}")
