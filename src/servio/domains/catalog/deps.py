"""Dependencies of routes that price: the deployment's price lists (``Prices``)."""

from __future__ import annotations

from typing import Annotated, Protocol, cast

from fastapi import Depends, Request

from servio.domains.catalog.service import Catalog
from servio.platform.http.services import provided


class CatalogServices(Protocol):
    @property
    def catalog(self) -> Catalog: ...


def prices(request: Request) -> Catalog:
    return cast(CatalogServices, provided(request)).catalog


Prices = Annotated[Catalog, Depends(prices)]
