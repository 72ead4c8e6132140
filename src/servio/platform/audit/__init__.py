"""The audit log: who did what, tamper-evident.

Events form one hash chain per org, plus one for deployment-level events (org_id
NULL); ``record`` appends in the caller's transaction, ``verify`` walks every chain,
``list_events`` reads one chain newest first.
"""

from servio.platform.audit.listing import InvalidAuditCursor, Page, list_events
from servio.platform.audit.models import DEPLOYMENT_CHAIN, AuditEvent
from servio.platform.audit.recording import AuditScopeError, record
from servio.platform.audit.verification import Tamper, VerifyResult, verify

__all__ = [
    "DEPLOYMENT_CHAIN",
    "AuditEvent",
    "AuditScopeError",
    "InvalidAuditCursor",
    "Page",
    "Tamper",
    "VerifyResult",
    "list_events",
    "record",
    "verify",
]
