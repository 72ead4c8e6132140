"""The transactional outbox: record side effects with the business change, deliver them
after commit from workers, retry with backoff, dead-letter what keeps failing."""

from servio.platform.outbox.api import DedupeKeyTaken, add
from servio.platform.outbox.circuits import open_circuits
from servio.platform.outbox.dispatch import Dispatcher
from servio.platform.outbox.models import OutboxMessage, ProviderCircuit
from servio.platform.outbox.registry import (
    Delivery,
    OutboxRegistry,
    PermanentFailure,
    RetryLater,
    Skipped,
)

__all__ = [
    "DedupeKeyTaken",
    "Delivery",
    "Dispatcher",
    "OutboxMessage",
    "OutboxRegistry",
    "PermanentFailure",
    "ProviderCircuit",
    "RetryLater",
    "Skipped",
    "add",
    "open_circuits",
]
