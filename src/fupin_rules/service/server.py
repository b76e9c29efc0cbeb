"""Run the service with uvicorn, and read the API keys the operator gives."""

from __future__ import annotations

import os
from pathlib import Path

from fupin_rules.errors import FupinRulesError
from fupin_rules.service.app import ServiceConfig, create_app, is_loopback

__all__ = ["API_KEYS_ENV", "read_api_keys", "serve"]

API_KEYS_ENV = "FUPIN_RULES_API_KEYS"


def read_api_keys(key_file: Path | None = None) -> frozenset[str]:
    """Keys from ``key_file`` (one a line, ``#`` comments) and ``$FUPIN_RULES_API_KEYS``
    (comma-separated). Keys are never taken from the command line (``ps`` would show them)."""
    keys = [k.strip() for k in os.environ.get(API_KEYS_ENV, "").split(",")]
    if key_file is not None:
        try:
            lines = key_file.read_text("utf-8").splitlines()
        except OSError as exc:
            raise FupinRulesError(f"--api-key-file {key_file}: cannot read it ({exc})") from None
        keys += [ln.strip() for ln in lines if not ln.lstrip().startswith("#")]
    return frozenset(k for k in keys if k)


def serve(
    config: ServiceConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    allow_open: bool = False,
    log_level: str = "info",
) -> None:
    """Serve with uvicorn until interrupted.

    Off loopback an API key is required unless ``allow_open`` (``--no-auth``) is given: a
    decision service open to a network by accident is worse than one that refuses to start.
    """
    import uvicorn

    if not is_loopback(host) and not config.api_keys and not allow_open:
        raise FupinRulesError(
            f"--host {host} is not a loopback address and no API key is set: set "
            f"${API_KEYS_ENV} or --api-key-file, or pass --no-auth to serve without keys"
        )
    # keep-alive longer than clients' pools keep idle connections (a connection the server closes
    # as a client reuses it is a reset on the client's side)
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=log_level,
        timeout_keep_alive=75,
    )
