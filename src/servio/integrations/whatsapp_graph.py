"""The WhatsApp Cloud API (Meta's Graph API): send a message, look up and download
media. ``base_url`` is a setting (``SERVIO_WHATSAPP_API_BASE``), so tests and demos
point it at a local fake that speaks the same protocol."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from servio.domains.messaging.sender import Media as Media
from servio.domains.messaging.sender import SendFailed
from servio.platform.outbox.http import HttpClients

MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for images is 5 MB


class GraphError(SendFailed):
    """The Graph API answered with an error (``status`` 0: no answer at all)."""


def _error_message(status: int, text: str) -> str:
    try:
        error = json.loads(text).get("error", {})
        message = error.get("error_user_msg") or error.get("message")
        code = error.get("code")
    except (ValueError, AttributeError):
        return text[:500] or f"HTTP {status}"
    if not message:
        return text[:500] or f"HTTP {status}"
    return f"{message} (code {code})" if code is not None else str(message)


class GraphClient:
    """A ``messaging.sender.WhatsAppSender``: calls with the deployment's access token
    (bearer) over pooled connections."""

    def __init__(self, base_url: str, access_token: str, http: HttpClients) -> None:
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self.http = http

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    async def send_message(self, phone_number_id: str, body: dict[str, Any]) -> str:
        """POST /{phone_number_id}/messages; returns the message id (wamid)."""
        url = f"{self.base_url}/{phone_number_id}/messages"
        try:
            response = await self.http.post(url, json=body, headers=self._auth)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GraphError(0, f"WhatsApp could not be reached: {exc!r}") from exc
        if not response.is_success:
            raise GraphError(
                response.status_code, _error_message(response.status_code, response.text)
            )
        try:
            return str(json.loads(response.text)["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GraphError(502, f"unexpected answer: {response.text[:200]}") from exc

    async def media(self, media_id: str) -> Media:
        """GET /{media_id}: where to download the media, and its type."""
        body = await self._get(f"{self.base_url}/{media_id}")
        try:
            data = json.loads(body)
            return Media(str(data["url"]), str(data.get("mime_type") or ""), data.get("sha256"))
        except (ValueError, KeyError, TypeError) as exc:
            raise GraphError(502, f"unexpected media answer: {body[:200]!r}") from exc

    async def download(self, url: str) -> bytes:
        """The media's bytes (the URL needs the same bearer token)."""
        return await self._get(url)

    async def _get(self, url: str) -> bytes:
        try:
            async with self.http.session().get(
                url, headers=self._auth, allow_redirects=False
            ) as response:
                body = await response.content.read(MAX_MEDIA_BYTES + 1)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GraphError(0, f"WhatsApp could not be reached: {exc!r}") from exc
        if not 200 <= status < 300:
            raise GraphError(status, _error_message(status, body.decode("utf-8", "replace")))
        if len(body) > MAX_MEDIA_BYTES:
            raise GraphError(413, "the media is larger than 16 MB")
        return body
