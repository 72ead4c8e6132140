"""``/static``: the pages' CSS and scripts, gzip-compressed once in memory for clients
that accept it, and cached for a year when asked for by a hashed URL (``?v=``)."""

from __future__ import annotations

import gzip
import mimetypes
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from servio.web.pages.rendering import STATIC

MIN_COMPRESS = 1024
_compressed: dict[tuple[Path, float], bytes] = {}
_plain: dict[tuple[Path, float], bytes] = {}


def _resolve(name: str) -> Path | None:
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        return None
    return path


async def static_file(request: Request) -> Response:
    path = _resolve(request.path_params["path"])
    if path is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    key = (path, path.stat().st_mtime)
    body = _plain.get(key)
    if body is None:
        body = _plain[key] = path.read_bytes()
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media.startswith("text/") or media.endswith("javascript"):
        media += "; charset=utf-8"
    headers = {"vary": "accept-encoding"}
    headers["cache-control"] = (
        "public, max-age=31536000, immutable" if "v" in request.query_params else "no-cache"
    )
    if len(body) >= MIN_COMPRESS and "gzip" in request.headers.get("accept-encoding", ""):
        packed = _compressed.get(key)
        if packed is None:
            packed = _compressed[key] = gzip.compress(body, 9, mtime=0)
        headers["content-encoding"] = "gzip"
        return Response(packed, media_type=media, headers=headers)
    return Response(body, media_type=media, headers=headers)


static_mount = Mount("/static", routes=[Route("/{path:path}", static_file, methods=["GET"])])
