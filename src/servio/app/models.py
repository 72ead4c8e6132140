"""Every table's model, gathered for Alembic and the test harness: the platform's own
and each domain's (named by its manifest)."""

from servio.app.domains import manifests
from servio.platform import idempotency as platform_idempotency
from servio.platform import inbox as platform_inbox
from servio.platform import worker as platform_worker
from servio.platform.audit import models as audit_models
from servio.platform.db import Base
from servio.platform.email import suppressions as email_models
from servio.platform.jobs import models as jobs_models
from servio.platform.outbox import models as outbox_models

DOMAIN_MODELS = tuple(m.models for m in manifests() if m.models is not None)
PLATFORM_MODELS = (
    platform_idempotency,
    platform_inbox,
    platform_worker,
    audit_models,
    email_models,
    jobs_models,
    outbox_models,
)
metadata = Base.metadata

__all__ = ["DOMAIN_MODELS", "PLATFORM_MODELS", "metadata"]
