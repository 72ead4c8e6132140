"""Password hashing (argon2 via pwdlib) and the password policy."""

from __future__ import annotations

from functools import cache
from importlib import resources

from anyio import to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from servio.platform.errors import DomainError

MIN_LENGTH = 12
MAX_LENGTH = 256


class WeakPassword(DomainError):
    status = 422
    type = "weak-password"
    title = "The password does not meet the policy"
    description = (
        "Passwords need at least 12 characters, may not be one of the 10,000 most common "
        "passwords and may not contain the email's local part. `rule` names the rule broken."
    )


_HASHER: list[PasswordHash] = []


def configure_hasher(*, time_cost: int, memory_kib: int) -> None:
    """Set the argon2 cost for new hashes (stored hashes keep theirs and are upgraded
    on the next successful sign-in)."""
    _HASHER[:] = [PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib),))]
    _dummy_hash.cache_clear()


def hasher() -> PasswordHash:
    if not _HASHER:
        configure_hasher(time_cost=3, memory_kib=65536)
    return _HASHER[0]


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password: str, hashed: str) -> tuple[bool, str | None]:
    """Whether it matches, and a new hash when the stored one uses outdated parameters."""
    return hasher().verify_and_update(password, hashed)


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-for-timing")


def burn_verify_time(password: str) -> None:
    """Spend what a real verification costs, so an unknown account is not faster."""
    hasher().verify(password, _dummy_hash())


async def hash_password_async(password: str) -> str:
    """Hash in a worker thread: argon2 releases the GIL, the event loop keeps serving."""
    return await to_thread.run_sync(hash_password, password)


async def verify_password_async(password: str, hashed: str) -> tuple[bool, str | None]:
    return await to_thread.run_sync(verify_password, password, hashed)


async def burn_verify_time_async(password: str) -> None:
    await to_thread.run_sync(burn_verify_time, password)


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line and not line.startswith("#")
    )


def check_password_policy(password: str, email: str) -> None:
    """Raise ``WeakPassword`` naming the first rule ``password`` breaks."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"The password must have at least {MIN_LENGTH} characters.", extra={"rule": "length"}
        )
    if len(password) > MAX_LENGTH:
        raise WeakPassword(
            f"The password may have at most {MAX_LENGTH} characters.", extra={"rule": "length"}
        )
    if password.lower() in common_passwords():
        raise WeakPassword(
            "The password is one of the 10,000 most common passwords.", extra={"rule": "common"}
        )
    local = email.split("@", 1)[0].lower()
    if len(local) >= 3 and local in password.lower():
        raise WeakPassword(
            "The password may not contain the email address's name part.",
            extra={"rule": "contains-email"},
        )
