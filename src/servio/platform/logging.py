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
from collections.abc import Callable, Mapping, MutableMapping
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


# One access line to be written: request id, method, route template, path, query string,
# status, seconds taken, client address, user agent, and when it was answered.
_AccessEntry = tuple[str, str, str, str, bytes, int, float, str | None, bytes | None, float]


class _Sink:
    """Where log lines go. Loggers are cached on first use for speed, so reconfiguring
    swaps the stream behind this one object instead of the loggers.

    Access lines are queued as their raw fields and rendered and written together once
    the event loop finishes its current turn: one write for every request answered in
    that turn, whether or not the stream buffers (``PYTHONUNBUFFERED`` makes stdout
    write through). Any other line, a flush, a swap of stream or the process exiting
    writes the queue first, so lines keep their order."""

    def __init__(self, render: Callable[[list[_AccessEntry]], str]) -> None:
        self.stream: Any = sys.stdout
        self._render = render
        self._queued: list[_AccessEntry] = []
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

    def queue(self, entry: _AccessEntry) -> None:
        with self._lock:
            self._queued.append(entry)
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
            entries, self._queued = self._queued, []
        if entries:
            self.stream.write(self._render(entries))

    def settle(self) -> None:
        """Write what is queued and flush; a closed stream takes nothing."""
        with contextlib.suppress(ValueError, OSError):
            self.flush()

    def swap(self, stream: Any) -> None:
        self.settle()
        self.stream = stream


def _json_str(value: str | None) -> str:
    return "null" if value is None else _encode_json_str(value)


class _UtcClock:
    """ISO-8601 UTC timestamps with microseconds (``2026-11-24T09:30:00.123456Z``), as
    the structlog stamp writes them, with the date and time formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def iso(self, at: float) -> str:
        second = int(at)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        micros = 1_000_000 + int((at - second) * 1_000_000)  # 7 digits: zero-padded 6
        return f"{self._prefix}.{str(micros)[1:]}Z"


_CLOCK = _UtcClock()


@functools.lru_cache(maxsize=512)
def _user_agent(raw: bytes) -> str:
    # A handful of user agents make most of the traffic; each is decoded and checked once.
    return redact_text(raw.decode("latin-1"))


class _AccessLog:
    """The per-request access line: the same JSON shape and redaction as every other log
    line. It runs on every request, so a request only queues its raw fields (see
    ``_Sink``); at the end of the loop turn each line is filled into a template (what
    ``JSONRenderer`` would print, byte for byte) and only the fields that can carry
    personal data go through redaction: the user agent, and the path with its query
    unless it is the route template itself. Other formats call the renderer."""

    def __init__(self) -> None:
        self.enabled = True
        self._json = True
        self._renderer: Any = structlog.processors.JSONRenderer()

    def configure(self, *, enabled: bool, renderer: Any, json_format: bool) -> None:
        self.enabled = enabled
        self._json = json_format
        self._renderer = renderer

    def write(
        self,
        request_id: str,
        method: str,
        route: str,
        path: str,
        query: bytes,
        status: int,
        seconds: float,
        client_ip: str | None,
        user_agent: bytes | None,
    ) -> None:
        if self.enabled:
            _SINK.queue(
                (
                    request_id,
                    method,
                    route,
                    path,
                    query,
                    status,
                    seconds,
                    client_ip,
                    user_agent,
                    time.time(),
                )
            )

    def render(self, entries: list[_AccessEntry]) -> str:
        if not self._json:
            return "".join(self._render_event(*entry) for entry in entries)
        # The line JSONRenderer writes for this event (same keys, same order, same
        # json.dumps escaping and number formatting), built from already-encoded values.
        lines = []
        for rid, method, route, path, query, status, seconds, client_ip, agent, at in entries:
            if query:
                path = f"{path}?{query.decode('latin-1')}"
            if path != route:
                path = redact_text(path)
            user_agent = "null" if agent is None else _encode_json_str(_user_agent(agent))
            lines.append(
                f'{{"event": "request", "request_id": {_encode_json_str(rid)}, '
                f'"method": {_encode_json_str(method)}, "route": {_encode_json_str(route)}, '
                f'"path": {_encode_json_str(path)}, "status": {int(status)}, '
                f'"duration_ms": {float(round(seconds * 1000, 2))!r}, '
                f'"client_ip": {_json_str(client_ip)}, "user_agent": {user_agent}, '
                f'"level": "info", "logger": "servio.access", "timestamp": "{_CLOCK.iso(at)}"}}\n'
            )
        return "".join(lines)

    def _render_event(
        self,
        rid: str,
        method: str,
        route: str,
        path: str,
        query: bytes,
        status: int,
        seconds: float,
        client_ip: str | None,
        agent: bytes | None,
        at: float,
    ) -> str:
        if query:
            path = f"{path}?{query.decode('latin-1')}"
        event: dict[str, Any] = {
            "event": "request",
            "request_id": rid,
            "method": method,
            "route": route,
            "path": path if path == route else redact_text(path),
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "client_ip": client_ip,
            "user_agent": None if agent is None else _user_agent(agent),
            "level": "info",
            "logger": "servio.access",
            "timestamp": _CLOCK.iso(at),
        }
        return f"{self._renderer(None, 'info', event)}\n"


ACCESS_LOG = _AccessLog()
_SINK = _Sink(ACCESS_LOG.render)
atexit.register(_SINK.settle)


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
