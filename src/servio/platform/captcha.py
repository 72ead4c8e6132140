"""Cloudflare Turnstile, verified server-side when a secret is configured."""

from __future__ import annotations

import httpx

from servio.platform.errors import DomainError
from servio.platform.logging import get_logger

log = get_logger("servio.captcha")


class CaptchaFailed(DomainError):
    status = 400
    type = "captcha-failed"
    title = "The captcha was not solved"
    description = "Send the Turnstile token from the widget in `captcha_token`."


async def verify_turnstile(
    *, secret: str | None, verify_url: str, token: str | None, remote_ip: str | None
) -> None:
    """Raise ``CaptchaFailed`` unless Turnstile accepts ``token``; no secret = off."""
    if not secret:
        return
    if not token:
        raise CaptchaFailed("A captcha token is required.")
    data = {"secret": secret, "response": token[:2048]}
    if remote_ip:
        data["remoteip"] = remote_ip
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
            answer = (await client.post(verify_url, data=data)).json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("turnstile_unreachable", error=type(exc).__name__)
        raise CaptchaFailed("The captcha could not be checked; try again.") from exc
    if not answer.get("success"):
        raise CaptchaFailed(
            "The captcha was not accepted.", extra={"codes": answer.get("error-codes", [])}
        )
