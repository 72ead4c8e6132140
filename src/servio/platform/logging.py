"""Structured JSON logs (structlog) with personal data masked before anything is written."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import logging
import re
import sys
import threading
import time
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from json.encoder import encode_basestring_ascii
from typing import Any

import structlog

MASK = "[redacted]"

_encode_json_str = encode_basestring_ascii

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
    swaps the stream behind this one object instead of the loggers.

    Access lines are queued and written together once the event loop finishes its
    current turn: one write for every request answered in that turn, whether or not the
    stream buffers (``PYTHONUNBUFFERED`` makes stdout write through). Any other line,
    a flush, a swap of stream or the process exiting writes the queue first, so lines
    keep their order."""

    def __init__(self) -> None:
        self.stream: Any = sys.stdout
        self._queued: list[str] = []
        self._lock = threading.Lock()
        self._due_on: asyncio.AbstractEventLoop | None = None

    def write(self, text: str) -> int:
        if self._queued:
            self._write_queued()
        return int(self.stream.write(text))

    def flush(self) -> None:
        if self._queued:
            self._write_queued()
        self.stream.flush()

    def write_soon(self, line: str) -> None:
        with self._lock:
            self._queued.append(line)
        due = self._due_on
        if due is not None and due.is_running():
            return  # this turn's write is already scheduled
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._due_on = loop
        loop.call_soon(self._end_of_turn)

    def _end_of_turn(self) -> None:
        self._due_on = None
        self.flush()

    def _write_queued(self) -> None:
        with self._lock:
            lines, self._queued = self._queued, []
        if lines:
            self.stream.write("".join(lines))

    def settle(self) -> None:
        """Write what is queued and flush; a closed stream takes nothing."""
        with contextlib.suppress(ValueError, OSError):
            self.flush()

    def swap(self, stream: Any) -> None:
        self.settle()
        self.stream = stream


_SINK = _Sink()
atexit.register(_SINK.settle)


def _json_str(value: str | None) -> str:
    return "null" if value is None else _encode_json_str(value)


class _UtcClock:
    """ISO-8601 UTC timestamps with microseconds (``2026-11-24T09:30:00.123456Z``), as
    the structlog stamp writes them, with the date and time formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{int((now - second) * 1_000_000):06d}Z"


_CLOCK = _UtcClock()

# The line JSONRenderer would write for the access event (same keys, same order, same
# json.dumps escaping), filled in with already-encoded values.
_ACCESS_JSON = (
    '{{"event": "request", "request_id": {}, "method": {}, "route": {}, "path": {}, '
    '"status": {}, "duration_ms": {}, "client_ip": {}, "user_agent": {}, '
    '"level": "info", "logger": "servio.access", "timestamp": "{}"}}\n'
)


@functools.lru_cache(maxsize=512)
def _redact_user_agent(user_agent: str) -> str:
    # A handful of user agents make most of the traffic; each is checked once.
    return redact_text(user_agent)


class _AccessLog:
    """The per-request access line: the same JSON shape and redaction as every other log
    line. It runs on every request, so with the JSON format the line is filled into a
    template (what ``JSONRenderer`` would print, byte for byte) and only the fields that
    can carry personal data (path with query, user agent) go through redaction; other
    formats call the processors and renderer directly."""

    def __init__(self) -> None:
        self.enabled = True
        self._json = True
        self._render: Any = structlog.processors.JSONRenderer()

    def configure(self, *, enabled: bool, renderer: Any, json_format: bool) -> None:
        self.enabled = enabled
        self._json = json_format
        self._render = renderer

    def write(
        self,
        request_id: str,
        method: str,
        route: str,
        path: str,
        status: int,
        duration_ms: float,
        client_ip: str | None,
        user_agent: str | None,
    ) -> None:
        if not self.enabled:
            return
        path = redact_text(path)
        if user_agent:
            user_agent = _redact_user_agent(user_agent)
        if self._json:
            line = _ACCESS_JSON.format(
                _encode_json_str(request_id),
                _encode_json_str(method),
                _encode_json_str(route),
                _encode_json_str(path),
                int(status),
                float(duration_ms).__repr__(),
                _json_str(client_ip),
                _json_str(user_agent),
                _CLOCK.now(),
            )
        else:
            event: dict[str, Any] = {
                "event": "request",
                "request_id": request_id,
                "method": method,
                "route": route,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "client_ip": client_ip,
                "user_agent": user_agent,
                "level": "info",
                "logger": "servio.access",
                "timestamp": _CLOCK.now(),
            }
            line = self._render(None, "info", event) + "\n"
        _SINK.write_soon(line)


ACCESS_LOG = _AccessLog()


def configure_logging(
    level: str = "info", fmt: str = "json", stream: Any = None, *, access_log: bool = True
) -> None:
    """Route structlog and the standard library through one redacting JSON pipeline."""
    _SINK.swap(stream or sys.stdout)
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
        json_format=fmt == "json",
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
