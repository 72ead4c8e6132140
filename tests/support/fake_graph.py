"""Meta's Graph API (WhatsApp Cloud API) for tests: records the messages it is asked
to send, answers with wamids like Meta's, serves media by id, and fails on request."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "graph-test-token"


def sign(body: bytes, app_secret: str) -> str:
    """``X-Hub-Signature-256`` as Meta computes it."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def meta_error(status: int, message: str, code: int = 100) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": "OAuthException", "code": code}}


@dataclass
class FakeGraph:
    token: str = TOKEN
    sent: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """Answers to give to the next sends instead of accepting them."""

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/{phone_number_id}/messages", self._send, methods=["POST"]),
                Route("/files/{media_id}", self._download, methods=["GET"]),
                Route("/{media_id}", self._media, methods=["GET"]),
            ]
        )

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def _unauthorised(self) -> JSONResponse:
        status, body = meta_error(401, "Invalid OAuth access token.", 190)
        return JSONResponse(body, status)

    async def _send(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._unauthorised()
        if self.failures:
            status, body = self.failures.pop(0)
            return JSONResponse(body, status)
        body = json.loads(await request.body())
        wamid = f"wamid.fake{len(self.sent) + 1}"
        self.sent.append(
            {"phone_number_id": request.path_params["phone_number_id"], "body": body, "id": wamid}
        )
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": wamid}],
            }
        )

    async def _media(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._unauthorised()
        media_id = request.path_params["media_id"]
        if media_id not in self.media:
            status, body = meta_error(404, "Unsupported get request.", 100)
            return JSONResponse(body, status)
        data, mime = self.media[media_id]
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": str(request.base_url) + f"files/{media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
        )

    async def _download(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._unauthorised()
        data, mime = self.media[request.path_params["media_id"]]
        return Response(data, media_type=mime)
