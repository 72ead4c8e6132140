"""Circuit breakers per provider: after repeated failures stop calling it for a while
(its messages wait without spending attempts), then let one probe through."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass
class Breaker:
    threshold: int = 5
    cooldown_seconds: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        if time.monotonic() - self.opened_at >= self.cooldown_seconds:
            return HALF_OPEN
        return OPEN

    def remaining_seconds(self) -> float:
        """How long until an open circuit lets a probe through (0 when it would now)."""
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self.cooldown_seconds - time.monotonic())

    def allows(self) -> bool:
        """Closed: yes. Open: no. Half-open: one probe at a time."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self.probing:
            self.probing = True
            return True
        return False

    def succeeded(self) -> bool:
        """Record a success; True when this closed an open circuit."""
        was_open = self.opened_at is not None
        self.failures, self.opened_at, self.probing = 0, None, False
        return was_open

    def released(self) -> None:
        """The call ended without telling whether the provider works (the message was
        skipped or could never succeed): a probe's slot frees, the state stays."""
        self.probing = False

    def failed(self) -> bool:
        """Record a failure; True when this opened (or re-opened) the circuit."""
        self.failures += 1
        self.probing = False
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = time.monotonic()
            return True
        return False

    def inconclusive(self) -> None:
        """The call proved nothing about the provider (the message itself was refused):
        a running probe ends, so the next message may probe."""
        self.probing = False

    def adopt_open(self, remaining_seconds: float) -> None:
        """Open this circuit as another worker (or this one before a restart) reported it,
        for the cooldown it has left; a closed local circuit would never report closing."""
        if self.opened_at is not None:
            return
        elapsed = max(0.0, self.cooldown_seconds - remaining_seconds)
        self.opened_at = time.monotonic() - elapsed
        self.failures = max(self.failures, self.threshold)


@dataclass
class Breakers:
    threshold: int = 5
    cooldown_seconds: float = 30.0
    by_provider: dict[str, Breaker] = field(default_factory=dict)

    def of(self, provider: str) -> Breaker:
        if provider not in self.by_provider:
            self.by_provider[provider] = Breaker(self.threshold, self.cooldown_seconds)
        return self.by_provider[provider]

    def blocked(self) -> set[str]:
        """Providers whose messages must not be claimed now (open, or a probe running)."""
        return {
            p
            for p, b in self.by_provider.items()
            if b.state == OPEN or (b.state == HALF_OPEN and b.probing)
        }
