"""The local Redis (127.0.0.1:6379) and an address where nothing listens."""

from __future__ import annotations

import socket
import uuid

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def require_redis() -> str:
    if not redis_reachable():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return REDIS_URL


def unique_prefix() -> str:
    """A key prefix of its own, so tests sharing one Redis never count each other's hits."""
    return f"servio-test:{uuid.uuid4().hex}"


def closed_port_url() -> str:
    """A Redis URL on a local port that was just free: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"
