"""Structured JSON logs (structlog) with personal data masked before anything is written."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import structlog

MASK = "[redacted]"

_SENSITIVE_KEYS = re.compile(
    r"(authorization|cookie|set-cookie|password|passwd|secret|token|api[-_]?key|"
    r"x-admin-api-key|signature|session|otp|mfa|card|cvc|iban)",
    re.IGNORECASE,
)
# One alternation, one pass per string: emails, bearer/basic credentials, JWTs,
# Stripe-like keys, secrets in query strings, card-like digit runs (13-19 digits, spaces
# or dashes allowed) and phone numbers (international, North American, or bare 10-15
# digit runs); never a date, a decimal or a UUID group, which sit next to '-', '.' or
# letters.
_PII = re.compile(
    r"(?P<auth>(?i:\b(?:bearer|basic))\s+)[A-Za-z0-9._~+/=\-]+"
    r"|\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"
    r"|\b(?:sk|pk|rk|whsec|sv)_[A-Za-z0-9_]{8,}"
    r"|(?P<query>(?i:[?&](?:token|key|secret|password|code|signature)=))[^&\s]+"
    r"|[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
    r"|(?<![\w\-])(?:\d[ -]?){12,18}\d(?![\w\-])"
    r"|(?<![\w.\-+])(?:\+\d[\d ().\-]{6,18}\d|\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}|\d{10,15})"
    r"(?![\w.\-])"
)
_MAY_HOLD_PII = re.compile(r"[@\d=_]|eyJ|(?i:bearer|basic)")
_SAFE_KEYS = frozenset(
    {
        "timestamp",
        "level",
        "request_id",
        "duration_ms",
        "status",
        "method",
        "route",
        "logger",
        "client_ip",
    }
)


def _mask(match: re.Match[str]) -> str:
    prefix = match.group("auth") or match.group("query") or ""
    return f"{prefix}{MASK}"


def redact_text(text: str) -> str:
    """Mask emails, phone numbers, card-like digit runs and tokens inside free text."""
    if not _MAY_HOLD_PII.search(text):
        return text
    return _PII.sub(_mask, text)


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


REQUEST_ID: ContextVar[str | None] = ContextVar("servio_request_id", default=None)


def add_request_id(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Every line logged while a request is served carries its id."""
    rid = REQUEST_ID.get()
    if rid is not None:
        event_dict.setdefault("request_id", rid)
    return event_dict


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key not in _SAFE_KEYS:
            event_dict[key] = redact_value(key, event_dict[key])
    return event_dict


class _Sink:
    """Where log lines go. Loggers are cached on first use for speed, so reconfiguring
    swaps the stream behind this one object instead of the loggers."""

    def __init__(self) -> None:
        self.stream: Any = sys.stdout

    def write(self, text: str) -> int:
        return int(self.stream.write(text))

    def flush(self) -> None:
        self.stream.flush()


_SINK = _Sink()


class _AccessLog:
    """The per-request access line: the same JSON shape, redaction and renderer as every
    other log line, but the processors are called directly instead of through a bound
    logger, because this runs on every request."""

    def __init__(self) -> None:
        self.enabled = True
        self._render: Any = structlog.processors.JSONRenderer()

    def configure(self, *, enabled: bool, renderer: Any) -> None:
        self.enabled = enabled
        self._render = renderer

    def write(self, **fields: Any) -> None:
        if not self.enabled:
            return
        event: MutableMapping[str, Any] = {"event": "request", **fields}
        for processor in (_stamp_access, _redact_access):
            event = processor(None, "info", event)
        _SINK.write(self._render(None, "info", event) + "\n")
        _SINK.flush()


def _stamp_access(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event_dict["level"] = "info"
    event_dict["logger"] = "servio.access"
    event_dict["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return event_dict


def _redact_access(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in ("path", "user_agent"):
        value = event_dict.get(key)
        if value:
            event_dict[key] = redact_text(value)
    return event_dict


ACCESS_LOG = _AccessLog()


def configure_logging(
    level: str = "info", fmt: str = "json", stream: Any = None, *, access_log: bool = True
) -> None:
    """Route structlog and the standard library through one redacting JSON pipeline."""
    _SINK.stream = stream or sys.stdout
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_processor,
    ]
    ACCESS_LOG.configure(
        enabled=access_log and logging.getLevelNamesMapping()[level.upper()] <= logging.INFO,
        renderer=renderer,
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.WriteLoggerFactory(file=_SINK),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(_SINK)
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
