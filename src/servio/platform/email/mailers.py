"""Where messages go: an SMTP server (aiosmtplib) or, in development, ``.eml`` files.

``SERVIO_SMTP_URL`` names the server: ``smtp://user:pass@host:587?starttls=1`` (STARTTLS
required; ``starttls=0`` never; absent: upgrade when offered), ``smtps://host:465``
(implicit TLS), and optionally ``cafile=/path.pem`` to trust a private CA. Every call
is bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from servio.platform.email.composing import MESSAGE_KEY_HEADER


class RecipientRejected(Exception):
    """The server refused the recipient for good (a 5xx at RCPT): a hard bounce."""

    def __init__(self, address: str, code: int, detail: str) -> None:
        super().__init__(f"{address} refused: {code} {detail}")
        self.address, self.code = address, code


class MessageRejected(Exception):
    """The server refused this message for good (a 5xx after DATA)."""


class Mailer(Protocol):
    provider: str

    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over; raise to have it retried (or a rejection, never)."""
        ...


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: bool | None = None
    cafile: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("must look like smtp://user:pass@host:587 or smtps://host:465")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        flag = query.get("starttls")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=None if flag is None or implicit else flag.lower() in ("1", "true", "yes"),
            cafile=query.get("cafile"),
        )


class SmtpMailer:
    provider = "smtp"

    def __init__(self, config: SmtpConfig, *, timeout_seconds: float = 10.0) -> None:
        self.config = config
        self.timeout_seconds = timeout_seconds

    async def send(self, message: EmailMessage) -> None:
        c = self.config
        try:
            await aiosmtplib.send(
                message,
                hostname=c.host,
                port=c.port,
                username=c.username,
                password=c.password,
                use_tls=c.implicit_tls,
                start_tls=c.starttls,
                cert_bundle=c.cafile,
                timeout=self.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            if refusal.code >= 500:
                raise RecipientRejected(refusal.recipient, refusal.code, refusal.message) from exc
            raise
        except aiosmtplib.SMTPDataError as exc:
            if exc.code >= 500:
                raise MessageRejected(f"{exc.code} {exc.message}") from exc
            raise


class FileMailer:
    """Development sink: one ``.eml`` per message under ``folder``, named
    ``<time>-<digest of the message key>.eml`` so files sort by arrival and a retried
    send finds its file instead of writing a second one."""

    provider = "mail-file"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        key = str(message[MESSAGE_KEY_HEADER] or message["Message-ID"])
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        self.folder.mkdir(parents=True, exist_ok=True)
        if any(self.folder.glob(f"*-{digest}.eml")):
            return
        partial = self.folder / f".{digest}.partial"
        partial.write_bytes(bytes(message))
        partial.replace(self.folder / f"{time.time_ns()}-{digest}.eml")


def mailer_from_settings(smtp_url: str | None, var_dir: Path, timeout_seconds: float) -> Mailer:
    """SMTP when ``smtp_url`` is set, else the file sink under ``<var_dir>/mail``."""
    if smtp_url:
        return SmtpMailer(SmtpConfig.from_url(smtp_url), timeout_seconds=timeout_seconds)
    return FileMailer(var_dir / "mail")
