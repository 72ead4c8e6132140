"""Every table's model, imported in one place for Alembic and the test harness."""

from servio.domains.identity import models as identity_models
from servio.platform import idempotency as platform_idempotency
from servio.platform import inbox as platform_inbox
from servio.platform import worker as platform_worker
from servio.platform.audit import models as audit_models
from servio.platform.db import Base
from servio.platform.jobs import models as jobs_models

metadata = Base.metadata

__all__ = [
    "audit_models",
    "identity_models",
    "jobs_models",
    "metadata",
    "platform_idempotency",
    "platform_inbox",
    "platform_worker",
]
