"""Error pages in the pages' style: a browser asking for a page that is not there gets a
404 page, and a crash a 500 page; API paths keep Problem+JSON."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from servio.platform.http.pages import register_crash_page, wants_page
from servio.platform.http.problems import on_http_exception
from servio.web.pages.rendering import render, render_text

TITLES = {
    401: ("Please sign in", "You need to sign in to see this page."),
    403: ("Not allowed", "Your account may not open this page."),
    404: ("Page not found", "We could not find this page. Check the address or start again."),
    405: ("Not allowed", "This page cannot be used that way."),
    410: ("No longer available", "This link was used or has expired."),
    429: ("Slow down", "Too many requests in a short time; wait a moment and try again."),
    500: ("Something went wrong", "Something failed on our side. Please try again in a moment."),
}


def error_page(request: Request, status: int, detail: str | None = None) -> Response:
    title, default = TITLES.get(status, ("Something went wrong", "Please try again."))
    context = {
        "status": status,
        "title": title,
        "detail": detail or default,
        "request_id": request.scope.get("state", {}).get("request_id"),
    }
    return render(request, "errors/error.html", context, status_code=status)


async def on_http_exception_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if wants_page(request.url.path, request.headers.get("accept", "")):
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else None
        return error_page(request, exc.status_code, detail)
    return await on_http_exception(request, exc)


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, on_http_exception_page)
    title, detail = TITLES[500]
    body = render_text(
        "errors/error.html",
        {"status": 500, "title": title, "detail": detail, "request_id": None, "csrf": ""},
    )
    register_crash_page(body.encode())
