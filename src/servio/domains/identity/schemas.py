"""What identity's endpoints accept and return."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from servio.domains.identity import org_config
from servio.domains.identity.permissions import Role


def _example(**fields: Any) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [fields]})


Password = Field(min_length=1, max_length=256)


class RegisterIn(BaseModel):
    model_config = _example(
        email="owner@example.com", password="correct horse battery", org_name="Bright Homes"
    )
    email: str = Field(max_length=320)
    password: str = Password
    org_name: str = Field(min_length=2, max_length=200)
    vertical: str = Field(default="cleaning", pattern=r"^[a-z][a-z0-9_]{1,39}$")
    timezone: str = Field(default="UTC", max_length=64)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class LoginIn(BaseModel):
    model_config = _example(email="owner@example.com", password="correct horse battery")
    email: str = Field(max_length=254, description="an address has at most 254 characters")
    password: str = Password
    org: str | None = Field(default=None, max_length=63, description="Org slug to sign in to")


class RefreshIn(BaseModel):
    model_config = _example(refresh_token="rt_...")
    refresh_token: str | None = Field(default=None, max_length=200)


class UserRef(BaseModel):
    id: uuid.UUID
    email: str


class OrgRef(BaseModel):
    id: uuid.UUID
    slug: str
    name: str


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserRef | None = None
    org: OrgRef | None = None


class MeOut(BaseModel):
    user: UserRef | None
    org: OrgRef
    role: str | None
    permissions: list[str]
    principal: str
    mfa_enabled: bool = False
    mfa_enrollment_required: bool = False


class SessionOut(BaseModel):
    id: uuid.UUID
    org_id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


class PasswordChangeIn(BaseModel):
    model_config = _example(
        current_password="old password here", new_password="a new long passphrase"
    )
    current_password: str = Password
    new_password: str = Password


class ResetRequestIn(BaseModel):
    model_config = _example(email="owner@example.com")
    email: str = Field(max_length=320)


class ResetIn(BaseModel):
    model_config = _example(token="from-the-email", new_password="a new long passphrase")
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Password


class CodeIn(BaseModel):
    model_config = _example(code="123456")
    code: str = Field(min_length=6, max_length=32)


class MfaVerifyIn(CodeIn):
    model_config = _example(mfa_token="eyJ...", code="123456")
    mfa_token: str = Field(min_length=1, max_length=4096)


class EnrollOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]


class SwitchOrgIn(BaseModel):
    model_config = _example(org="bright-homes")
    org: str = Field(min_length=2, max_length=63)


class ApiKeyIn(BaseModel):
    model_config = _example(name="Zapier", permissions=["bookings:read"])
    name: str = Field(min_length=1, max_length=100)
    permissions: list[str] | None = Field(default=None, max_length=50)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    permissions: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str


class InviteIn(BaseModel):
    model_config = _example(email="dispatch@example.com", role="DISPATCHER")
    email: str = Field(max_length=320)
    role: Role


class InviteOut(BaseModel):
    email: str
    role: Role
    expires_in_hours: int


class AcceptInviteIn(BaseModel):
    model_config = _example(token="from-the-email", password="a new long passphrase")
    token: str = Field(min_length=1, max_length=200)
    password: str = Password


class MemberOut(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    active: bool
    mfa_enabled: bool
    joined_at: datetime


class RoleIn(BaseModel):
    model_config = _example(role="VIEWER")
    role: Role


class RevokedOut(BaseModel):
    revoked_sessions: int


class BreakGlassIn(BaseModel):
    model_config = _example(reason="Fix a wrong booking during the freeze", ttl_minutes=30)
    reason: str = Field(min_length=10, max_length=500)
    ttl_minutes: int = Field(default=30, ge=1, le=240)


class BreakGlassOut(BaseModel):
    id: uuid.UUID
    token: str
    expires_at: datetime
    header: str = "X-Break-Glass"


class OrgSafetyIn(BaseModel):
    model_config = _example(read_only=True)
    read_only: bool | None = None
    require_mfa: bool | None = None


class OrgSafetyOut(BaseModel):
    read_only: bool
    require_mfa: bool


class AuditEventOut(BaseModel):
    id: uuid.UUID
    seq: int
    actor: str
    action: str
    target: str
    ip: str | None
    request_id: str | None
    before: Any
    after: Any
    created_at: datetime
    hash: str


class AuditPageOut(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


class SettingsOut(BaseModel):
    settings: dict[str, Any] = Field(description="every known setting: stored value or default")
    stored: list[str] = Field(description="the keys the business has set")
    overrides: dict[str, Any] = Field(description="pricing.* and deposit.* price-list overrides")
    deposit: dict[str, Any] | None = Field(description="the deposit policy now in force")

    @classmethod
    def of(cls, config: org_config.OrgConfig) -> SettingsOut:
        return cls(
            settings=config.values,
            stored=sorted(config.stored),
            overrides=config.overrides,
            deposit=config.deposit,
        )
