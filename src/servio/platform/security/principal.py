"""Who is asking: the authenticated principal every permission check looks at."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Principal:
    """A member of one org acting through a session, an API key or a break-glass grant."""

    kind: str  # "user" | "api_key" | "basic_admin"
    id: uuid.UUID
    org_id: uuid.UUID
    permissions: frozenset[str]
    role: str | None = None
    session_id: uuid.UUID | None = None
    via_cookie: bool = False
    org_read_only: bool = False
    break_glass_id: uuid.UUID | None = None
    mfa_enrollment_required: bool = False
    user_id: uuid.UUID | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"
