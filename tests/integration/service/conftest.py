"""One real ``fupin-rules serve`` (uvicorn, loopback, free port) for the service tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_support import running_server


@pytest.fixture(scope="session")
def server_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, int]]:
    """(base URL, its folder (decision log, server log), process id) of a running server."""
    tmp = tmp_path_factory.mktemp("service")
    with running_server(tmp) as (base, proc):
        yield base, tmp, proc.pid


@pytest.fixture(scope="session")
def server(server_run: tuple[str, Path, int]) -> str:
    """The base URL of the running server."""
    return server_run[0]


@pytest.fixture()
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60.0) as c:
        yield c
