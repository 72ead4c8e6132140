"""Turning a rendered email into the MIME message a mailer sends."""

from __future__ import annotations

import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from email.utils import formatdate, parseaddr

from servio.platform.email.rendering import RenderedEmail

MESSAGE_KEY_HEADER = "X-Servio-Message-Key"
ONE_CLICK = "List-Unsubscribe=One-Click"
# Long header values (List-Unsubscribe's URLs) stay literal instead of being folded into
# RFC 2047 encoded words that receivers would not parse; 998 is SMTP's line limit.
POLICY = default.clone(max_line_length=998)


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
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML) carrying ``message_key`` in
    ``X-Servio-Message-Key``; ``list_unsubscribe`` adds RFC 2369/8058 one-click headers."""
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
    return message
