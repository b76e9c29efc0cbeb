"""The service's outer ASGI layer: request body size limits and the optional API key."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse

from fupin_rules.service.config import API_KEY_HEADER, ServiceConfig
from fupin_rules.service.problems import PROBLEM_MEDIA_TYPE, Problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _problem_response(p: Problem, instance: str | None) -> JSONResponse:
    return JSONResponse(
        p.body(instance),
        status_code=p.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=p.headers or None,
    )


class _GuardMiddleware:
    """Body size limits (before and while the body is read) and the optional API key."""

    def __init__(self, app: ASGIApp, config: ServiceConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.config.api_keys and path.startswith("/v1/"):
            given = headers.get(API_KEY_HEADER.lower(), "")
            if not any(hmac.compare_digest(given, k) for k in self.config.api_keys):
                p = Problem(
                    401,
                    "unauthorized",
                    "API key required",
                    f"send a valid key in the {API_KEY_HEADER} header",
                    headers={"WWW-Authenticate": API_KEY_HEADER},
                )
                await _problem_response(p, path)(scope, receive, send)
                return
        limit = (
            self.config.upload.max_upload_bytes + (1 << 20)  # multipart framing
            if path.endswith("/runs")
            else self.config.max_body_bytes
        )
        too_large = Problem(
            413,
            "too-large",
            "Request body too large",
            f"the request body is over {limit} bytes, the limit of {path}",
        )
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _problem_response(too_large, path)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Problem as p:
            if started:
                raise
            await _problem_response(p, path)(scope, receive, send)
