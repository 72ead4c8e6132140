"""Refuse a NUL character (U+0000) before routing: 422 Problem+JSON naming where it was.

PostgreSQL text cannot hold U+0000: any statement binding one fails, so a NUL that
reached a query would answer 500. No business value needs one, so the one check lives
here, for every route: the path, the query string (percent-decoded), and text bodies
(JSON strings and keys, URL-encoded forms, the text fields of multipart forms). Binary
bodies and multipart file parts are never looked into. A text body is read whole (the
guard outside has already bounded its size) and handed on to the app unchanged."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servio.platform.http.middleware import PayloadTooLarge, send_payload_too_large, send_problem

NUL = "\x00"
_MESSAGE = "NUL characters (U+0000) are not allowed"


def _escaped(text: str) -> str:
    return text.replace(NUL, "\\u0000")


def nul_in_query(query: bytes, prefix: str = "query") -> str | None:
    """The field of an URL-encoded query or form holding a NUL, or None."""
    if b"%00" not in query and b"\x00" not in query:
        return None
    if b"\x00" not in unquote_to_bytes(query.replace(b"+", b" ")):
        return None
    pairs = parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True)
    for name, value in pairs:
        if NUL in name or NUL in value:
            return f"{prefix}.{_escaped(name)}"
    return prefix


def nul_in_json(value: Any, where: str = "body") -> str | None:
    """The path (``body.a.0.b``) of the first string or key holding a NUL, or None."""
    if isinstance(value, str):
        return where if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            at = f"{where}.{_escaped(key)}"
            if NUL in key:
                return at
            found = nul_in_json(item, at)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_in_json(item, f"{where}.{index}")
            if found:
                return found
    return None


def _json_field(body: bytes) -> str | None:
    # A JSON string can only carry U+0000 escaped: a raw control character makes the
    # document invalid, which the app answers itself. Raw zero bytes mean UTF-16 or 32,
    # which JSON decoding reads too. Most bodies hold neither.
    if b"\\u0000" not in body and b"\x00" not in body:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return nul_in_json(document)


async def _multipart_field(headers: Headers, body: bytes) -> str | None:
    if b"\x00" not in body:
        return None

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(headers, stream()).parse()
    except MultiPartException:
        return None  # the app refuses a broken form itself
    try:
        for name, value in form.multi_items():
            if isinstance(value, str) and (NUL in value or NUL in name):
                return f"body.{_escaped(name)}"
        return None
    finally:
        await form.close()


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _body_kind(scope: Scope) -> str | None:
    """How to read the body for NULs: JSON (also when no type is given, as FastAPI then
    reads JSON), a URL-encoded form, a multipart form, or not at all."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            if media == b"application/json" or media.endswith(b"+json"):
                return "json"
            if media == b"application/x-www-form-urlencoded":
                return "form"
            if media == b"multipart/form-data":
                return "multipart"
            return None
    return "json" if scope["method"] in _BODY_METHODS else None


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole body, and the messages to hand on (a disconnect is handed on too)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            body = b"".join(chunks)
            return body, [{"type": "http.request", "body": body, "more_body": True}, message]
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            body = b"".join(chunks)
            return body, [{"type": "http.request", "body": body, "more_body": False}]


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return messages.pop(0) if messages else await receive()

    return replayed


async def _refuse(scope: Scope, send: Send, field: str) -> None:
    await send_problem(
        scope,
        send,
        name="validation-error",
        title="Validation failed",
        status=422,
        detail=f"1 field(s) failed validation: {field}: {_MESSAGE}",
        extra={"errors": [{"field": field, "message": _MESSAGE, "type": "string_nul"}]},
    )


class NulGuardMiddleware:
    """422 for a NUL in the path, the query or a text body, before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if NUL in scope["path"]:
            await _refuse(scope, send, "path")
            return
        field = nul_in_query(scope.get("query_string", b""))
        if field:
            await _refuse(scope, send, field)
            return
        kind = _body_kind(scope)
        if kind is None:
            await self.app(scope, receive, send)
            return
        try:
            body, messages = await _read_body(receive)
        except PayloadTooLarge as too_large:  # the guard's limit, met while reading here
            await send_payload_too_large(scope, send, str(too_large.detail))
            return
        if kind == "json":
            field = _json_field(body)
        elif kind == "form":
            field = nul_in_query(body, "body")
        else:
            field = await _multipart_field(Headers(scope=scope), body)
        if field:
            await _refuse(scope, send, field)
            return
        await self.app(scope, _replay(messages, receive), send)
