"""Every table's model, imported in one place for Alembic and the test harness."""

from servio.domains.actions import models as actions_models
from servio.domains.bookings import models as bookings_models
from servio.domains.conversations import models as conversations_models
from servio.domains.identity import models as identity_models
from servio.domains.intake import models as intake_models
from servio.domains.messaging import models as messaging_models
from servio.domains.payments import models as payments_models
from servio.domains.portal import models as portal_models
from servio.domains.scheduling import models as scheduling_models
from servio.domains.webhooks import models as webhook_models
from servio.platform import idempotency as platform_idempotency
from servio.platform import inbox as platform_inbox
from servio.platform import worker as platform_worker
from servio.platform.audit import models as audit_models
from servio.platform.db import Base
from servio.platform.email import suppressions as email_models
from servio.platform.jobs import models as jobs_models
from servio.platform.outbox import models as outbox_models

metadata = Base.metadata

__all__ = [
    "actions_models",
    "audit_models",
    "bookings_models",
    "conversations_models",
    "email_models",
    "identity_models",
    "intake_models",
    "jobs_models",
    "messaging_models",
    "metadata",
    "outbox_models",
    "payments_models",
    "platform_idempotency",
    "platform_inbox",
    "platform_worker",
    "portal_models",
    "scheduling_models",
    "webhook_models",
]
