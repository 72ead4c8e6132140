"""The audit log: who did what, tamper-evident.

Events form one hash chain per org, plus one for deployment-level events (org_id
NULL); ``record`` appends in the caller's transaction, ``verify`` walks every chain.
"""

from servio.platform.audit.models import DEPLOYMENT_CHAIN, AuditEvent
from servio.platform.audit.recording import AuditScopeError, record
from servio.platform.audit.verification import Tamper, VerifyResult, verify

__all__ = [
    "DEPLOYMENT_CHAIN",
    "AuditEvent",
    "AuditScopeError",
    "Tamper",
    "VerifyResult",
    "record",
    "verify",
]
