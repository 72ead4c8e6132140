"""Outbound webhooks, generically: Standard Webhooks signing with rotating secrets, the
guard against private and metadata addresses, and one signed POST with its verdict."""

from servio.platform.webhooks_out.guard import (
    GuardedResolver,
    Target,
    TargetRefused,
    TargetUnresolvable,
    address_class,
    literal_address,
    parse_target,
    refusal,
    system_resolve,
    vet,
)
from servio.platform.webhooks_out.sender import (
    Attempt,
    DeliveryFailed,
    Sender,
    SendPolicy,
    Verdict,
    check_url,
    post,
    settle,
)
from servio.platform.webhooks_out.signing import SecretRing, new_secret, signed_headers

__all__ = [
    "Attempt",
    "DeliveryFailed",
    "GuardedResolver",
    "SecretRing",
    "SendPolicy",
    "Sender",
    "Target",
    "TargetRefused",
    "TargetUnresolvable",
    "Verdict",
    "address_class",
    "check_url",
    "literal_address",
    "new_secret",
    "parse_target",
    "post",
    "refusal",
    "settle",
    "signed_headers",
    "system_resolve",
    "vet",
]
