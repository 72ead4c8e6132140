"""Signing and sending: a real receiver on 127.0.0.1 verifies what we send with the
``standardwebhooks`` library, with the new and the old secret during a rotation; each
answer maps to the right verdict; the guard vets the addresses of every connection a
send opens, and a sender keeps its connections between sends."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import ssl
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from servio.platform.db import utcnow
from servio.platform.outbox import PermanentFailure, RetryLater
from servio.platform.webhooks_out import (
    DeliveryFailed,
    SecretRing,
    Sender,
    SendPolicy,
    Verdict,
    new_secret,
    parse_target,
    post,
    settle,
    signed_headers,
    vet,
)
from tests.support.receiver import running_receiver

LOCAL = SendPolicy(allow_private=True, allow_http=True, connect_timeout=2, read_timeout=2)
BODY = json.dumps({"type": "ping", "data": {"hello": "world"}})


def test_secrets_have_the_standard_form_and_enough_randomness() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert new_secret() != secret


def test_the_old_secret_signs_only_during_its_grace() -> None:
    now = utcnow()
    ring = SecretRing("whsec_new", "whsec_old", now + timedelta(hours=1))
    assert ring.signing_secrets(now) == ["whsec_new", "whsec_old"]
    assert ring.signing_secrets(now + timedelta(hours=2)) == ["whsec_new"]
    assert SecretRing("whsec_new").signing_secrets(now) == ["whsec_new"]


async def test_receiver_verifies_with_either_secret_during_rotation() -> None:
    old, new = new_secret(), new_secret()
    ring = SecretRing(new, old, utcnow() + timedelta(hours=24))
    headers = signed_headers(ring.signing_secrets(utcnow()), "msg_1", BODY)
    async with running_receiver() as receiver:
        attempt = await post(receiver.url(), BODY, headers, LOCAL)
    assert attempt.ok, attempt
    got = receiver.requests[0]
    assert got.headers["webhook-id"] == "msg_1"
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(got.body, got.headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(got.body, got.headers)


async def test_after_the_grace_only_the_new_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    ring = SecretRing(new, old, utcnow() - timedelta(seconds=1))
    headers = signed_headers(ring.signing_secrets(utcnow()), "msg_2", BODY)
    async with running_receiver() as receiver:
        await post(receiver.url(), BODY, headers, LOCAL)
    got = receiver.requests[0]
    Webhook(new).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(got.body, got.headers)


@pytest.mark.parametrize(
    ("status", "verdict", "raised"),
    [
        (200, Verdict.DELIVERED, None),
        (204, Verdict.DELIVERED, None),
        (410, Verdict.GONE, PermanentFailure),
        (400, Verdict.REJECTED, PermanentFailure),
        (401, Verdict.REJECTED, PermanentFailure),
        (302, Verdict.REJECTED, PermanentFailure),
        (408, Verdict.RETRY, DeliveryFailed),
        (429, Verdict.RETRY, DeliveryFailed),
        (500, Verdict.RETRY, DeliveryFailed),
        (503, Verdict.RETRY, DeliveryFailed),
    ],
)
async def test_answers_map_to_verdicts(
    status: int, verdict: Verdict, raised: type[Exception] | None
) -> None:
    headers = signed_headers([new_secret()], "msg_3", BODY)
    async with running_receiver() as receiver:
        receiver.answer(status, "x" * 2000, {"location": "http://169.254.169.254/"})
        attempt = await post(receiver.url(), BODY, headers, LOCAL)
    assert attempt.verdict == verdict
    assert attempt.status_code == status
    assert attempt.latency_ms is not None
    assert len(receiver.requests) == 1  # a redirect is never followed
    if status != 204:
        assert attempt.response_snippet == "x" * 500
    if raised is None:
        settle(attempt)
    else:
        with pytest.raises(raised):
            settle(attempt)


async def test_retry_after_is_honoured() -> None:
    async with running_receiver() as receiver:
        receiver.answer(429, "slow down", {"retry-after": "120"})
        attempt = await post(receiver.url(), BODY, signed_headers(["whsec_AA=="], "m", BODY), LOCAL)
    with pytest.raises(RetryLater) as caught:
        settle(attempt)
    assert caught.value.after_seconds == 120


async def test_a_slow_receiver_times_out_and_is_retried() -> None:
    policy = SendPolicy(allow_private=True, allow_http=True, connect_timeout=1, read_timeout=0.2)
    async with running_receiver() as receiver:
        receiver.delay = 1.0
        headers = signed_headers(["whsec_AA=="], "m", BODY)
        attempt = await post(receiver.url(), BODY, headers, policy)
        await asyncio.sleep(1.0)  # let the receiver finish before it shuts down
    assert attempt.verdict == Verdict.RETRY
    assert attempt.error is not None
    assert "timeout" in attempt.error


async def test_without_the_allowlist_a_loopback_receiver_is_refused_before_connecting() -> None:
    policy = SendPolicy(allow_private=False, allow_http=True)
    async with running_receiver() as receiver:
        attempt = await post(receiver.url(), BODY, {}, policy)
    assert attempt.verdict == Verdict.REFUSED
    assert attempt.error is not None
    assert "loopback" in attempt.error
    assert receiver.requests == []
    with pytest.raises(PermanentFailure):
        settle(attempt)


async def test_the_send_connects_to_the_address_vetted_just_before() -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # a DNS answer that rebinds

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    policy = SendPolicy(allow_private=False, allow_http=True, resolve=rebinding)
    target = parse_target("http://rebind.example.com:8080/hook", allow_http=True)
    assert await vet(target, allow_private=False, resolve=rebinding)
    attempt = await post("http://rebind.example.com:8080/hook", BODY, {}, policy)
    assert attempt.verdict == Verdict.REFUSED  # the second answer is checked, not trusted


async def test_a_host_name_is_sent_to_the_address_its_vetted_resolution_gave() -> None:
    asked: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    policy = SendPolicy(allow_private=True, allow_http=True, read_timeout=2, resolve=resolve)
    async with running_receiver() as receiver:
        url = f"http://hooks.example.test:{receiver.port}/in"
        attempt = await post(url, BODY, {"content-type": "application/json"}, policy)
        strict = SendPolicy(allow_private=False, allow_http=True, resolve=resolve)
        refused = await post(url, BODY, {}, strict)
    assert attempt.ok, attempt
    assert asked[0] == ("hooks.example.test", receiver.port)
    [got] = receiver.requests
    assert got.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert got.headers["user-agent"] == "Servio-Webhooks/1.0"
    assert got.body == BODY
    assert refused.verdict == Verdict.REFUSED
    assert refused.error is not None
    assert "hooks.example.test resolves to 127.0.0.1 (loopback" in refused.error


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1]:9/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("http://10.0.0.1/hook", "private"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://2130706433/hook", "not a canonical IP address"),
        ("http://127.1/hook", "not a canonical IP address"),
        ("http://8.8.8.8./hook", "not a valid URL"),
    ],
)
async def test_addresses_written_in_the_url_are_vetted_too(url: str, reason: str) -> None:
    attempt = await post(url, BODY, {}, SendPolicy(allow_private=False, allow_http=True))
    assert attempt.verdict == Verdict.REFUSED
    assert attempt.error is not None
    assert reason in attempt.error


async def test_a_sender_keeps_its_connection_to_a_receiver_and_closes_cleanly() -> None:
    sender = Sender(LOCAL)
    async with running_receiver() as receiver:
        for n in range(3):
            attempt = await sender.post(
                receiver.url(), BODY, signed_headers(["whsec_AA=="], f"m{n}", BODY)
            )
            assert attempt.ok, attempt
        await sender.aclose()
    ports = {r.client_port for r in receiver.requests}
    assert len(receiver.requests) == 3
    assert len(ports) == 1  # one connection served the three sends


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A key and a certificate for hooks.example.test that no authority signed."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.example.test"),
            *("-addext", "subjectAltName=DNS:hooks.example.test"),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


async def test_a_certificate_no_trusted_authority_signed_is_refused(
    self_signed: tuple[Path, Path],
) -> None:
    key, cert = self_signed
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.read(100))
        writer.close()

    async def to_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    policy = SendPolicy(allow_private=True, connect_timeout=2, read_timeout=2, resolve=to_loopback)
    async with server:
        attempt = await post(f"https://hooks.example.test:{port}/in", BODY, {}, policy)
    assert attempt.verdict == Verdict.RETRY
    assert attempt.error is not None
    assert "certificate verify failed" in attempt.error
    assert not any(requests)
