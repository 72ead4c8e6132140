"""Structured JSON logs (structlog) with personal data masked before anything is written."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

MASK = "[redacted]"

_SENSITIVE_KEYS = re.compile(
    r"(authorization|cookie|set-cookie|password|passwd|secret|token|api[-_]?key|"
    r"x-admin-api-key|signature|session|otp|mfa|card|cvc|iban)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Card-like runs: 13-19 digits, optionally split by spaces or dashes.
_CARD = re.compile(r"(?<![\w\-])(?:\d[ -]?){12,18}\d(?![\w\-])")
# Phone numbers: international (+ and 8-15 digits with separators), North American
# (403) 555-1234 / 403-555-1234 forms, and bare 10-15 digit runs; never a date, a
# decimal or a UUID group, which sit next to '-', '.' or letters.
_PHONE = re.compile(
    r"(?<![\w.\-+])(?:\+\d[\d ().\-]{6,18}\d|\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}|\d{10,15})"
    r"(?![\w.\-])"
)
_SAFE_KEYS = frozenset(
    {"timestamp", "level", "request_id", "duration_ms", "status", "method", "route", "logger"}
)
# Bearer tokens, JWTs, Stripe-like and generic long secrets.
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")
_KEYLIKE = re.compile(r"\b(?:sk|pk|rk|whsec|sv)_[A-Za-z0-9_]{8,}")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:token|key|secret|password|code|signature)=)[^&\s]+")


def redact_text(text: str) -> str:
    """Mask emails, phone numbers, card-like digit runs and tokens inside free text."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _JWT.sub(MASK, text)
    text = _KEYLIKE.sub(MASK, text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _EMAIL.sub(MASK, text)
    text = _CARD.sub(MASK, text)
    return _PHONE.sub(MASK, text)


def redact_value(key: str, value: Any) -> Any:
    if _SENSITIVE_KEYS.search(key):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, item) for item in value]
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key not in _SAFE_KEYS:
            event_dict[key] = redact_value(key, event_dict[key])
    return event_dict


def configure_logging(level: str = "info", fmt: str = "json", stream: Any = None) -> None:
    """Route structlog and the standard library through one redacting JSON pipeline."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_processor,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").disabled = True  # our access log replaces it
    for chatty in ("alembic.runtime.migration", "httpx", "httpcore", "asyncio"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
