"""Declarative bases. Every tenant-owned table derives from ``TenantBase``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ForeignKey, MetaData, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from servio.platform.clock import utcnow
from servio.platform.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Tables whose rows belong to one org; migrations enable row-level security on each.
TENANT_TABLES: set[str] = set()
# The org-owned models that do not derive from ``TenantBase`` (``row_level_secured``).
ROW_LEVEL_SECURED_MODELS: list[type[Base]] = []

ModelT = TypeVar("ModelT", bound=type["Base"])


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TenantBase(Base):
    """A row owned by one org: UUID id, ``org_id`` guarded by RLS, creation time."""

    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @declared_attr
    def org_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(Uuid, ForeignKey("orgs.id", ondelete="CASCADE"), index=True)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__tablename__")
        if isinstance(table, str):
            TENANT_TABLES.add(table)


def row_level_secured(model: ModelT) -> ModelT:
    """Class decorator for an org-owned table that cannot derive from ``TenantBase``
    (its ``org_id`` may be NULL, say): ``migrate check`` then requires RLS on it too."""
    TENANT_TABLES.add(str(model.__tablename__))
    ROW_LEVEL_SECURED_MODELS.append(model)
    return model
