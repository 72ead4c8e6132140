"""What an audit event may keep of a before/after snapshot: no credentials, no personal
data. The log redaction rules apply (emails, phones, cards, tokens in text; sensitive
keys), and on top of them any key that looks like a secret or a hash of one."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from servio.platform.logging import MASK, redact_value

_SECRET_KEYS = re.compile(
    r"(password|passwd|passphrase|secret|token|hash|salt|api[-_]?key|private[-_]?key|"
    r"credential|recovery[-_]?code|otp)",
    re.IGNORECASE,
)


def _masked(value: Any, key: str) -> Any:
    if key and _SECRET_KEYS.search(key):
        return MASK
    if isinstance(value, Mapping):
        return {str(k): _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(item, key) for item in value]
    return redact_value(key, value)


def redact_snapshot(value: Any) -> Any:
    """``value`` as plain JSON (UUIDs, dates and decimals become text) with secrets and
    personal data masked; what is stored is exactly what is hashed."""
    if value is None:
        return None
    plain = json.loads(json.dumps(value, default=str, allow_nan=False))
    return _masked(plain, "")
