"""A real SMTP server (aiosmtpd) on a free local port that keeps what arrives; with
AUTH LOGIN, STARTTLS (a self-signed certificate made with openssl) and recipients it
refuses, as a test asks."""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER, PASSWORD = "mailer", "smtp-secret"


@dataclass
class Arrival:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None
    tls: bool

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Inbox:
    refuse: set[str] = field(default_factory=set)
    arrivals: list[Arrival] = field(default_factory=list)
    mechanisms: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        auth = session.auth_data
        login = (
            auth.login.decode()
            if session.authenticated and isinstance(auth, LoginPassword)
            else None
        )
        raw = envelope.original_content or b""
        assert envelope.mail_from is not None
        self.arrivals.append(
            Arrival(
                envelope.mail_from, list(envelope.rcpt_tos), raw, login, session.ssl is not None
            )
        )
        return "250 Message accepted"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok, auth_data=data if ok else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@asynccontextmanager
async def smtp_server(
    *,
    port: int | None = None,
    auth: bool = False,
    tls: tuple[Path, Path] | None = None,
    refuse: set[str] | None = None,
) -> AsyncIterator[tuple[Inbox, int]]:
    """Serve SMTP until the block ends; yields the inbox and the port. With ``auth``
    only AUTH LOGIN is offered (allowed without TLS, as tests on one machine may)."""
    inbox = Inbox(refuse={a.lower() for a in refuse or set()})
    options: dict[str, Any] = {}
    if auth:
        options |= {
            "authenticator": inbox.authenticate,
            "auth_required": True,
            "auth_require_tls": tls is not None,
            "auth_exclude_mechanism": ["PLAIN"],
        }
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        options |= {"tls_context": context, "require_starttls": True}
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    await asyncio.to_thread(controller.start)
    try:
        yield inbox, port
    finally:
        await asyncio.to_thread(controller.stop)
