"""Signed access tokens (JWT, HS256, ``kid`` header) with a key ring for rotation."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from servio.platform.clock import utcnow
from servio.platform.errors import DomainError

MAX_TOKEN_LENGTH = 4096
ALGORITHM = "HS256"


class InvalidToken(DomainError):
    status = 401
    type = "invalid-token"
    title = "The token is not valid"
    description = "The token is malformed, expired, signed with an unknown key or revoked."


@dataclass(frozen=True)
class KeyRing:
    """``keys`` maps kid → secret; ``active`` signs, every key verifies."""

    keys: dict[str, bytes]
    active: str
    issuer: str = "servio"

    @classmethod
    def from_settings(cls, entries: list[str], secret_key: str) -> KeyRing:
        keys: dict[str, bytes] = {}
        for entry in entries:
            kid, _, secret = entry.partition(":")
            keys[kid] = secret.encode()
        if not keys:
            derived = hashlib.sha256(b"servio-jwt:" + secret_key.encode()).digest()
            keys["k1"] = derived
        return cls(keys=keys, active=next(iter(keys)))

    def issue(self, claims: dict[str, Any], ttl: timedelta, purpose: str) -> str:
        now = utcnow()
        payload = {
            **claims,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "pur": purpose,
        }
        return jwt.encode(
            payload, self.keys[self.active], algorithm=ALGORITHM, headers={"kid": self.active}
        )

    def verify(self, token: str, purpose: str) -> dict[str, Any]:
        """The claims of a valid token for ``purpose``; ``InvalidToken`` saying why not."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("The token is too long.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("The token is malformed.") from exc
        key = self.keys.get(str(header.get("kid", "")))
        if key is None:
            raise InvalidToken("The token was signed with an unknown key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                # Times are checked below against the process clock, the one that set them.
                options={
                    "require": ["exp", "iat", "sub", "pur"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken("The token's signature or claims are not valid.") from exc
        _check_times(claims)
        if claims.get("pur") != purpose:
            raise InvalidToken("The token is not meant for this use.")
        return claims


def _check_times(claims: dict[str, Any], leeway: float = 0.0) -> None:
    """``exp`` and ``nbf`` against the process clock (``InvalidToken`` when outside)."""
    now = utcnow().timestamp()
    try:
        expires = float(claims["exp"])
        not_before = float(claims.get("nbf", claims["iat"]))
    except (TypeError, ValueError) as exc:
        raise InvalidToken("The token's times are not numbers.") from exc
    if now >= expires + leeway:
        raise InvalidToken("The token has expired.")
    if now < not_before - leeway:
        raise InvalidToken("The token is not valid yet.")
