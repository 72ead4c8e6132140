"""A fake Stripe on a local port for the payment tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_stripe import FakeStripe, served


@pytest.fixture
def stripe_fake() -> Iterator[tuple[FakeStripe, str]]:
    with served() as fake_and_url:
        yield fake_and_url
