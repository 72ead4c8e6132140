"""Standard Webhooks signatures: secrets, the signed headers, rotation.

A secret is ``whsec_`` + base64 of random bytes. A message is signed as
``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256 (the ``standardwebhooks``
library does the signing). While a rotated-out secret is still in its grace period the
``webhook-signature`` header carries one ``v1,…`` entry per secret, space-separated, so
a receiver holding either the old or the new secret verifies the message.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks import Webhook

from servio.platform.clock import utcnow

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form (``whsec_`` + base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@dataclass(frozen=True)
class SecretRing:
    """The secrets that sign one endpoint's messages: the current one, and the one it
    replaced while that one's grace period lasts."""

    current: str
    previous: str | None = None
    previous_valid_until: datetime | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        valid = [self.current]
        if (
            self.previous
            and self.previous_valid_until is not None
            and now < self.previous_valid_until
        ):
            valid.append(self.previous)
        return valid


def signature(secrets_: Sequence[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` value: one ``v1,<base64>`` entry per secret."""
    if not secrets_:
        raise ValueError("at least one secret is needed to sign")
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets_)


def signed_headers(
    secrets_: Sequence[str], msg_id: str, body: str, timestamp: datetime | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``, plus its content type."""
    at = (timestamp or utcnow()).astimezone(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature(secrets_, msg_id, at, body),
    }
