"""Unsubscribe links: a signed token naming the address and the org it unsubscribes
from (none = the whole deployment). Tokens do not expire: a years-old newsletter's link
must still work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "servio.email.unsubscribe"


@dataclass(frozen=True)
class UnsubscribeRequest:
    address: str
    org_id: uuid.UUID | None


class UnsubscribeLinks:
    def __init__(self, secret_key: str, public_url: str, mailto: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt=SALT)
        self.public_url = public_url.rstrip("/")
        self.mailto = mailto

    def token(self, address: str, org_id: uuid.UUID | None) -> str:
        return self._serializer.dumps({"a": address.strip().lower(), "o": org_id and str(org_id)})

    def read(self, token: str) -> UnsubscribeRequest | None:
        """The request a token stands for; None when it was not signed by us."""
        try:
            data = self._serializer.loads(token[:1000])
            address, org = data["a"], data["o"]
            return UnsubscribeRequest(str(address), uuid.UUID(org) if org else None)
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def url(self, token: str) -> str:
        return f"{self.public_url}/unsubscribe/{token}"

    def header(self, token: str) -> str:
        """The ``List-Unsubscribe`` value: the one-click HTTPS link and a mailto."""
        subject = quote(f"unsubscribe {token}")
        return f"<{self.url(token)}>, <mailto:{self.mailto}?subject={subject}>"
