"""The server's start and stop: what start-up built is kept out of the collector's full
passes while the app serves, and handed back when it stops."""

from __future__ import annotations

import gc

from asgi_lifespan import LifespanManager

from servio.platform.config import Settings
from servio.web.app import create_app


async def test_start_up_objects_are_frozen_while_serving(settings: Settings) -> None:
    app = create_app(settings)
    async with LifespanManager(app):
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
