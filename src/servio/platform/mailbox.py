"""Development mail sink: each message is written as an ``.eml`` file under a folder."""

from __future__ import annotations

import time
import uuid
from email.message import EmailMessage
from pathlib import Path


def write_mail(folder: Path, *, to: str, subject: str, text: str, sender: str) -> Path:
    """Write one message; returns its path. Files sort by the time they were written."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@servio.local>"
    message.set_content(text)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(message))
    return path
