"""The route class every API router uses: a JSON body must arrive as JSON (else 415)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

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
