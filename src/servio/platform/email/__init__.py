"""Email: templates rendered in an org's branding, sent through the outbox by SMTP or
into ``.eml`` files, with one-click unsubscribe and a suppression list."""

from servio.platform.email.composing import MESSAGE_KEY_HEADER, Attachment, compose
from servio.platform.email.mailers import (
    FileMailer,
    Mailer,
    MessageRejected,
    RecipientRejected,
    SmtpConfig,
    SmtpMailer,
    mailer_from_settings,
)
from servio.platform.email.rendering import (
    BASE_TEMPLATES,
    Branding,
    EmailTemplates,
    RenderedEmail,
    TemplateError,
    Vertical,
    render,
)
from servio.platform.email.sending import (
    CATEGORIES,
    KIND,
    EmailDelivery,
    Look,
    LookOf,
    deployment_look,
    last_email,
    register_email,
    resend_email,
    send_email,
)
from servio.platform.email.suppressions import (
    REASONS,
    EmailSuppression,
    is_suppressed,
    suppress,
    suppression_of,
)
from servio.platform.email.unsubscribe import UnsubscribeLinks, UnsubscribeRequest

__all__ = [
    "BASE_TEMPLATES",
    "CATEGORIES",
    "KIND",
    "MESSAGE_KEY_HEADER",
    "REASONS",
    "Attachment",
    "Branding",
    "EmailDelivery",
    "EmailSuppression",
    "EmailTemplates",
    "FileMailer",
    "Look",
    "LookOf",
    "Mailer",
    "MessageRejected",
    "RecipientRejected",
    "RenderedEmail",
    "SmtpConfig",
    "SmtpMailer",
    "TemplateError",
    "UnsubscribeLinks",
    "UnsubscribeRequest",
    "Vertical",
    "compose",
    "deployment_look",
    "is_suppressed",
    "last_email",
    "mailer_from_settings",
    "register_email",
    "render",
    "resend_email",
    "send_email",
    "suppress",
    "suppression_of",
]
