"""Turning a rendered email into the MIME message a mailer sends."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from email.utils import formatdate, parseaddr
from typing import Any

from servio.platform.email.rendering import RenderedEmail

MESSAGE_KEY_HEADER = "X-Servio-Message-Key"
ONE_CLICK = "List-Unsubscribe=One-Click"
# Long header values (List-Unsubscribe's URLs) stay literal instead of being folded into
# RFC 2047 encoded words that receivers would not parse; 998 is SMTP's line limit.
POLICY = default.clone(max_line_length=998)
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$")


@dataclass(frozen=True)
class Attachment:
    """A file an email carries. ``content`` is text (sent as UTF-8) or bytes;
    ``content_type`` may carry parameters (``text/calendar; method=REQUEST``). In an
    outbox payload it travels as JSON (``as_json``): the text itself, or base64."""

    filename: str
    content_type: str
    content: str | bytes

    def __post_init__(self) -> None:
        if not _FILENAME.match(self.filename):
            raise ValueError(f"attachment filename {self.filename!r} is not a plain file name")
        self.mime_type()

    def mime_type(self) -> tuple[str, str, dict[str, str]]:
        """(maintype, subtype, parameters) of ``content_type``; ValueError when invalid."""
        header = POLICY.header_factory("content-type", self.content_type)
        if header.defects or "/" not in self.content_type:
            raise ValueError(f"attachment content type {self.content_type!r} is not valid")
        return header.maintype, header.subtype, dict(header.params)

    @property
    def size(self) -> int:
        content = self.content
        return len(content.encode() if isinstance(content, str) else content)

    def as_json(self) -> dict[str, str]:
        body = (
            {"text": self.content}
            if isinstance(self.content, str)
            else {"base64": base64.b64encode(self.content).decode("ascii")}
        )
        return {"filename": self.filename, "content_type": self.content_type, **body}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Attachment:
        """The attachment ``as_json`` wrote; ValueError, KeyError or TypeError otherwise."""
        content: str | bytes
        if "text" in data:
            content = str(data["text"])
        else:
            content = base64.b64decode(str(data["base64"]), validate=True)
        return cls(str(data["filename"]), str(data["content_type"]), content)


def sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "servio.local"


def message_id(message_key: str, domain: str) -> str:
    """The same key always gets the same Message-ID, so a retried send is recognisably
    the same message to the receiver."""
    return f"<{hashlib.sha256(message_key.encode()).hexdigest()[:32]}@{domain}>"


def compose(
    rendered: RenderedEmail,
    *,
    to: str,
    sender: str,
    message_key: str,
    list_unsubscribe: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML) carrying ``message_key`` in
    ``X-Servio-Message-Key``; ``list_unsubscribe`` adds RFC 2369/8058 one-click headers.
    With ``attachments`` the message is multipart/mixed: the alternative, then each file."""
    message = EmailMessage(policy=POLICY)
    name, address = parseaddr(sender)
    username, _, domain = address.partition("@")
    message["From"] = Address(display_name=name, username=username, domain=domain)
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(message_key, domain or "servio.local")
    message[MESSAGE_KEY_HEADER] = message_key
    if list_unsubscribe:
        message["List-Unsubscribe"] = list_unsubscribe
        message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for attachment in attachments:
        _attach(message, attachment)
    return message


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    maintype, subtype, params = attachment.mime_type()
    content = attachment.content
    if isinstance(content, str) and maintype == "text":
        params.pop("charset", None)  # text goes out as UTF-8, whatever was asked
        message.add_attachment(
            content, subtype=subtype, filename=attachment.filename, params=params
        )
        return
    data = content.encode() if isinstance(content, str) else content
    message.add_attachment(
        data, maintype=maintype, subtype=subtype, filename=attachment.filename, params=params
    )
