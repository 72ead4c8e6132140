"""``/app``: the staff console's landing page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from servio.web.pages.console_auth import Member
from servio.web.pages.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/app")
async def dashboard(request: Request, principal: Member) -> Response:
    return render(request, "console/dashboard.html", {"principal": principal})
