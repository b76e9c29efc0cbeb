"""What the operator chooses when the service starts: :class:`ServiceConfig` and the API key header."""

from __future__ import annotations

import ipaddress

import attrs

from fupin_rules.service.uploads import UploadLimits

__all__ = ["API_KEY_HEADER", "ServiceConfig", "is_loopback"]

API_KEY_HEADER = "X-API-Key"


@attrs.frozen
class ServiceConfig:
    """What the operator chooses when the service starts (never the clients)."""

    #: policy refs to serve (installed names, ``name@version``, folders); None = all installed
    policies: tuple[str, ...] | None = None
    #: the decision log's SQLite file (``:memory:`` keeps it in memory)
    #: the run store whose ``decisions`` table is the decision log (default: $FUPIN_RULES_STORE
    #: or fupin-runs.sqlite, as ``fupin-rules check --store``)
    store: str = ""
    engine: str = "auto"
    #: accepted API keys; empty = no authentication
    api_keys: frozenset[str] = frozenset()
    #: largest JSON request body (single decisions and units), bytes
    max_body_bytes: int = 8 << 20
    upload: UploadLimits = attrs.field(factory=UploadLimits)
    job_workers: int = 1
    #: longest a run request may wait for its job (``wait=`` seconds) before answering 202
    max_wait_seconds: float = 30.0


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
