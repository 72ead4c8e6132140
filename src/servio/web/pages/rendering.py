"""The pages' Jinja2 environment: templates under ``web/templates``, static files with a
content hash in their URL, and filters that show money, dates and times in the reader's
locale and the business's time zone (babel)."""

from __future__ import annotations

import gzip
import hashlib
import uuid
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from servio.web.pages.nav import CONSOLE_NAV

WEB = Path(__file__).resolve().parent.parent
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"
DEFAULT_LOCALE = "en_CA"
GZIP_FROM, GZIP_LEVEL = 1400, 6  # below about one packet, compressing saves nothing
SUPPORTED_LOCALES = ("en_CA", "en_US", "en_GB", "fr_CA", "fr_FR", "de_DE", "es_ES")


@cache
def static_url(name: str) -> str:
    """``/static/<name>?v=<hash>``: the URL changes with the file, so it can be cached."""
    path = STATIC / name
    version = hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.exists() else "0"
    return f"/static/{name}?v={version}"


def money(cents: int | None, currency: str = "CAD", locale: str = DEFAULT_LOCALE) -> str:
    if cents is None:
        return ""
    return format_currency(Decimal(cents) / 100, currency.upper(), locale=locale)


def _zone(tz: str | tzinfo | None) -> tzinfo | None:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def local_datetime(
    value: datetime | None, tz: str | tzinfo | None = None, locale: str = DEFAULT_LOCALE
) -> str:
    if value is None:
        return ""
    return format_datetime(value, "medium", tzinfo=_zone(tz), locale=locale)


def local_date(
    value: date | datetime | None,
    tz: str | tzinfo | None = None,
    locale: str = DEFAULT_LOCALE,
    fmt: str = "full",
) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        zone = _zone(tz)
        value = value.astimezone(zone).date() if zone else value.date()
    return format_date(value, fmt, locale=locale)


def local_time(
    value: datetime | None, tz: str | tzinfo | None = None, locale: str = DEFAULT_LOCALE
) -> str:
    if value is None:
        return ""
    return format_time(value, "short", tzinfo=_zone(tz), locale=locale)


def reader_locale(request: Request, preferred: str | None = None) -> str:
    """The business's locale when it set one, else the best match of the browser's
    ``Accept-Language`` among those the pages support."""
    if preferred:
        try:
            return str(Locale.parse(preferred))
        except (ValueError, UnknownLocaleError):
            pass
    header = request.headers.get("accept-language", "")
    wanted = [part.split(";")[0].strip().replace("-", "_") for part in header.split(",")]
    match = Locale.negotiate([w for w in wanted if w], SUPPORTED_LOCALES, sep="_")
    return str(match) if match else DEFAULT_LOCALE


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "xml")),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals["static"] = static_url
    env.globals["new_key"] = lambda: uuid.uuid4().hex
    env.globals["console_nav"] = CONSOLE_NAV
    env.filters["money"] = money
    env.filters["local_datetime"] = local_datetime
    env.filters["local_date"] = local_date
    env.filters["local_time"] = local_time
    return env


ENV = _environment()


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` with ``request`` and the CSRF value the page's forms carry;
    gzipped for a browser that accepts it, when that saves anything worth the bytes."""
    values = {"request": request, "csrf": request.cookies.get("servio_csrf", "")}
    values.update(context or {})
    body = ENV.get_template(template).render(values).encode()
    if len(body) >= GZIP_FROM and "gzip" in request.headers.get("accept-encoding", ""):
        packed = gzip.compress(body, GZIP_LEVEL, mtime=0)
        extra = {"content-encoding": "gzip", "vary": "accept-encoding"}
        return HTMLResponse(packed, status_code=status_code, headers={**(headers or {}), **extra})
    return HTMLResponse(body, status_code=status_code, headers=headers)


def page_redirect(request: Request, location: str) -> Response:
    """To ``location``: a 303 for a page, ``HX-Redirect`` for an htmx request (which
    would otherwise swap the next page into the current one)."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def render_text(template: str, context: dict[str, Any] | None = None) -> str:
    return ENV.get_template(template).render(context or {})
