"""What messaging needs from WhatsApp's API: send a message, look up and download an
inbound medium. Integrations implement it (``integrations.whatsapp_graph``, Meta's
Graph API); the composition root hands the client over, so messaging never imports
an integration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class SendFailed(Exception):
    """The API answered with an error (``status`` 0: no answer at all)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"WhatsApp answered {status}: {message}" if status else message)
        self.status = status
        self.message = message

    @property
    def retryable(self) -> bool:
        """Worth another attempt later: no answer, throttled (429) or a server error."""
        return self.status == 0 or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class Media:
    url: str
    mime_type: str
    sha256: str | None


class WhatsAppSender(Protocol):
    async def send_message(self, phone_number_id: str, body: dict[str, Any]) -> str:
        """Send ``body`` from the business's number; returns the message's id (wamid).
        Raises ``SendFailed``."""
        ...

    async def media(self, media_id: str) -> Media:
        """Where an inbound medium can be downloaded. Raises ``SendFailed``."""
        ...

    async def download(self, url: str) -> bytes:
        """The medium's bytes. Raises ``SendFailed``."""
        ...
