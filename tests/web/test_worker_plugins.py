"""SERVIO_WORKER_PLUGINS: modules whose ``register(container)`` runs once when the
container builds a worker, adding outbox kinds (and what they opened is closed with
the container); the worker's dispatcher takes its limits from the settings."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from servio.app.container import Container
from servio.platform.config import Settings
from tests.conftest import make_settings
from tests.support import outbox_sink


@pytest.fixture
def plugin_without_register() -> Iterator[str]:
    name = "tests_plugin_without_register"
    sys.modules[name] = types.ModuleType(name)
    yield name
    del sys.modules[name]


def test_the_setting_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVIO_WORKER_PLUGINS", "tests.support.outbox_sink, acme.plugin")
    assert Settings().worker_plugins == ["tests.support.outbox_sink", "acme.plugin"]


async def test_plugins_register_once_and_close_with_the_container(sqlite_url: str) -> None:
    settings = make_settings(
        sqlite_url,
        worker_plugins=["tests.support.outbox_sink"],
        outbox_max_attempts=4,
        outbox_batch_size=7,
        outbox_concurrency=3,
    )
    container = Container.from_settings(settings)
    closes = len(container.on_close)  # the container's own (the webhook sender)
    try:
        container.worker()
        container.worker()  # a second worker does not register the kinds twice
        assert outbox_sink.KIND in container.outbox.routes
        assert len(container.on_close) == closes + 1
        dispatcher = container.dispatcher("w")
        assert (dispatcher.max_attempts, dispatcher.batch_size, dispatcher.concurrency) == (4, 7, 3)
    finally:
        await container.close()


async def test_a_plugin_without_register_is_named(
    sqlite_url: str, plugin_without_register: str
) -> None:
    container = Container.from_settings(
        make_settings(sqlite_url, worker_plugins=[plugin_without_register])
    )
    try:
        with pytest.raises(TypeError, match=f"{plugin_without_register} has no register"):
            container.worker()
    finally:
        await container.close()
