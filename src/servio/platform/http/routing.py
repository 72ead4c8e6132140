"""The route class every API router uses: a JSON body must arrive as JSON (else 415), and
a request whose path cannot be this route's is turned away before any pattern work."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from servio.platform.errors import UnsupportedMediaType


def is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


class JsonRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        # The literal text before the first parameter: a path that does not start with
        # it cannot match, so the regular expression and FastAPI's own bookkeeping are
        # skipped for it. The router asks every route in turn; most answer no.
        self.literal_prefix = self.path.split("{", 1)[0]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path = get_route_path(scope) if scope.get("root_path") else scope["path"]
            if not path.startswith(self.literal_prefix):
                return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        field = self.body_field
        if field is None or isinstance(field.field_info, params.Form | params.File):
            return handler

        async def json_only(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            if _has_body(request) and not (content_type and is_json_media_type(content_type)):
                raise UnsupportedMediaType(
                    f"Send the body as application/json (got {content_type or 'no Content-Type'})."
                )
            return await handler(request)

        return json_only
