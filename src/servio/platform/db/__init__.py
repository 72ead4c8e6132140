"""Database access: one engine and session factory, tenancy, the unit of work."""

from servio.platform.db.base import Base, TenantBase, row_level_secured, utcnow
from servio.platform.db.engine import Database
from servio.platform.db.types import UTCDateTime

__all__ = ["Base", "Database", "TenantBase", "UTCDateTime", "row_level_secured", "utcnow"]
