"""``fupin-rules serve``: registered on the main CLI; FastAPI and uvicorn are imported only when
the command runs (they are the optional ``serve`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def serve_cmd(
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 8000,
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy",
            "-p",
            help="Policy to serve: installed name, name@version or folder; repeat for several. "
            "Default: every installed policy and its kept releases.",
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            help="Run store (SQLite) whose decisions table is the decision log; dataset runs "
            "are stored as runs. Default: $FUPIN_RULES_STORE or fupin-runs.sqlite."
        ),
    ] = None,
    engine: Annotated[str, typer.Option(help="auto | inference | reference")] = "auto",
    api_key_file: Annotated[
        Path | None,
        typer.Option(help="File of accepted API keys, one a line (also $FUPIN_RULES_API_KEYS)."),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve off loopback without an API key.")
    ] = False,
    max_body_mb: Annotated[int, typer.Option(help="Largest JSON request body, MiB.", min=1)] = 8,
    max_upload_mb: Annotated[int, typer.Option(help="Largest dataset upload, MiB.", min=1)] = 64,
) -> None:
    """Serve the HTTP/JSON API (OpenAPI at /docs and /openapi.json); needs the serve extra."""
    from fupin_rules._terminal import fail
    from fupin_rules.errors import FupinRulesError

    try:
        from fupin_rules.service.app import ServiceConfig
        from fupin_rules.service.server import read_api_keys, serve
        from fupin_rules.service.uploads import UploadLimits
    except ImportError as exc:
        fail(f'the service needs the serve extra: pip install "fupin-rules[serve]" ({exc})')
    try:
        config = ServiceConfig(
            policies=tuple(policy) if policy else None,
            store=str(store) if store else "",
            engine=engine,
            api_keys=read_api_keys(api_key_file),
            max_body_bytes=max_body_mb << 20,
            upload=UploadLimits(max_upload_bytes=max_upload_mb << 20),
        )
        serve(config, host=host, port=port, allow_open=no_auth)
    except FupinRulesError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``fupin-rules`` command line."""
    app.command("serve")(serve_cmd)
