"""The pure parts of idempotency keys: which keys are valid (length and character
boundaries), the request fingerprint's framing, how a scope is stored, and when a stored
row is live, replayable or an answer lost."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from servio.platform.idempotency import (
    DONE,
    IN_FLIGHT,
    ExistingKey,
    IdempotencyKey,
    InvalidIdempotencyKey,
    StoredResponse,
    _existing,
    _is_live,
    request_fingerprint,
    stored_scope,
    validate_key,
)

NOW = datetime(2027, 6, 2, 16, tzinfo=UTC)
TIMEOUT = timedelta(minutes=5)


@pytest.mark.parametrize("key", ["a", "k" * 255, " ~", "0f8e-ABC_xyz.!"])
def test_valid_keys_come_back_unchanged(key: str) -> None:
    assert validate_key(key) == key


def test_a_key_must_be_1_to_255_characters() -> None:
    with pytest.raises(InvalidIdempotencyKey) as empty:
        validate_key("")
    assert empty.value.detail == "Idempotency-Key must be 1 to 255 characters (got 0)."
    with pytest.raises(InvalidIdempotencyKey) as long:
        validate_key("k" * 256)
    assert long.value.detail == "Idempotency-Key must be 1 to 255 characters (got 256)."


@pytest.mark.parametrize("key", ["tab\there", "\x1f", "del\x7f", "café", "a\x00"])
def test_a_key_is_printable_ascii_only(key: str) -> None:
    with pytest.raises(InvalidIdempotencyKey) as bad:
        validate_key(key)
    assert bad.value.detail == "Idempotency-Key may contain printable ASCII characters only."


def test_the_fingerprint_frames_each_part_with_its_length() -> None:
    expected = hashlib.sha256()
    for part in (b"POST", b"/v1/leads", b"a=1", b'{"x":1}'):
        expected.update(len(part).to_bytes(8, "big") + part)
    assert request_fingerprint("POST", "/v1/leads", b"a=1", b'{"x":1}') == expected.hexdigest()
    # Moving a byte from one part to the next changes it.
    assert request_fingerprint("POST", "/v1/leads", b"a=1", b"x") != request_fingerprint(
        "POST", "/v1/leads", b"a=1x", b""
    )
    assert request_fingerprint("POST", "/a", b"", b"") != request_fingerprint(
        "POST", "/", b"a", b""
    )


def test_a_short_printable_scope_is_stored_as_it_is_else_hashed() -> None:
    assert stored_scope("org:1 user:2") == "org:1 user:2"
    assert stored_scope("s" * 255) == "s" * 255
    long = "s" * 256
    assert stored_scope(long) == "sha256:" + hashlib.sha256(long.encode()).hexdigest()
    assert stored_scope("org\x00") == "sha256:" + hashlib.sha256(b"org\x00").hexdigest()
    assert stored_scope("org~ ") == "org~ "
    odd = "org\ud800"  # a lone surrogate still hashes
    assert stored_scope(odd) == (
        "sha256:" + hashlib.sha256(odd.encode("utf-8", "surrogatepass")).hexdigest()
    )


def row(
    state: str, *, age: timedelta, expires_in: timedelta, status: int | None = None
) -> IdempotencyKey:
    return IdempotencyKey(
        scope="s",
        key="k",
        fingerprint="f" * 64,
        state=state,
        response_status=status,
        response_headers=[["content-type", "application/json"]] if status else None,
        response_body=b'{"ok":true}' if status else None,
        created_at=NOW - age,
        expires_at=NOW + expires_in,
    )


def test_an_expired_row_is_never_live() -> None:
    done = row(DONE, age=timedelta(hours=1), expires_in=timedelta(0), status=201)
    assert not _is_live(done, NOW, TIMEOUT)
    assert _is_live(
        row(DONE, age=timedelta(hours=1), expires_in=timedelta(seconds=1)), NOW, TIMEOUT
    )


def test_an_in_flight_claim_is_live_until_the_timeout() -> None:
    later = timedelta(hours=1)
    fresh = row(IN_FLIGHT, age=TIMEOUT - timedelta(seconds=1), expires_in=later)
    assert _is_live(fresh, NOW, TIMEOUT)
    assert not _is_live(row(IN_FLIGHT, age=TIMEOUT, expires_in=later), NOW, TIMEOUT)


def test_a_done_row_replays_its_answer() -> None:
    done = row(DONE, age=timedelta(hours=1), expires_in=timedelta(hours=1), status=201)
    assert _existing(done, NOW, TIMEOUT) == ExistingKey(
        fingerprint="f" * 64,
        response=StoredResponse(201, [("content-type", "application/json")], b'{"ok":true}'),
        answer_lost=False,
    )
    bare = row(DONE, age=timedelta(hours=1), expires_in=timedelta(hours=1), status=204)
    bare.response_headers = None
    bare.response_body = None
    assert _existing(bare, NOW, TIMEOUT).response == StoredResponse(204, [], b"")


def test_a_done_row_without_an_answer_is_lost_once_its_claim_has_timed_out() -> None:
    hour = timedelta(hours=1)
    lost = _existing(row(DONE, age=TIMEOUT, expires_in=hour), NOW, TIMEOUT)
    assert lost == ExistingKey("f" * 64, None, answer_lost=True)
    recent = row(DONE, age=TIMEOUT - timedelta(seconds=1), expires_in=hour)
    assert _existing(recent, NOW, TIMEOUT) == ExistingKey("f" * 64, None, answer_lost=False)


def test_an_in_flight_row_has_no_answer_and_is_not_lost() -> None:
    running = row(IN_FLIGHT, age=timedelta(hours=1), expires_in=timedelta(hours=1), status=200)
    assert _existing(running, NOW, TIMEOUT) == ExistingKey("f" * 64, None, answer_lost=False)
