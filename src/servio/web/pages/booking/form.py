"""The booking form as the customer filled it: what they typed (shown again on an
error), the estimate inputs and contact it makes, and each error beside its field.
Errors come from the same validation as the API: pydantic for shapes, the domain's
Problem+JSON errors (``extra.field``) for the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData

from servio.domains.catalog import service as catalog
from servio.platform.dates import SaneDateTime
from servio.platform.errors import DomainError

TEXT_FIELDS = (
    "beds",
    "baths",
    "cleaning_type",
    "frequency",
    "date",
    "slot",
    "name",
    "email",
    "phone",
    "notes",
)
FLAGS = ("heavy_grease", "multi_floor")
QUANTITY = "qty."
# Where a domain or pydantic error names a field the form shows under another name.
FIELD_OF = {"start": "slot", "inputs": "beds", "customer": "name", "captcha_token": "captcha"}
MISSING = {
    "slot": "Pick a time for the visit.",
    "name": "Tell us your name.",
    "email": "We need an email to send the confirmation.",
}


class Contact(BaseModel):
    """The contact part; the domain then checks the email and phone themselves."""

    model_config = ConfigDict(str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    notes: str | None = Field(default=None, max_length=2000)
    slot: SaneDateTime


@dataclass
class BookingForm:
    values: dict[str, str]
    flags: set[str]
    add_ons: dict[str, int]
    errors: dict[str, str] = field(default_factory=dict)
    captcha_token: str | None = None

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(FIELD_OF.get(name, name), message)

    def add_domain_error(self, error: DomainError) -> None:
        name = error.extra.get("field")
        self.add_error(str(name) if name else "form", error.detail)


def _quantity(raw: str) -> int:
    try:
        return int(raw or 0)
    except ValueError:
        return -1  # refused by the estimate's own check (0 to 20)


def read_form(data: FormData) -> BookingForm:
    values = {name: str(data.get(name) or "").strip() for name in TEXT_FIELDS}
    flags = {name for name in FLAGS if data.get(name)}
    add_ons = {str(v): 1 for v in data.getlist("add_on") if str(v)}
    for key, raw in data.items():
        if key.startswith(QUANTITY) and str(raw).strip():
            add_ons[key.removeprefix(QUANTITY)] = _quantity(str(raw).strip())
    token = str(data.get("cf-turnstile-response") or "") or None
    return BookingForm(values, flags, {k: v for k, v in add_ons.items() if v}, {}, token)


def _loc_field(loc: tuple[Any, ...]) -> str:
    names = [str(part) for part in loc if isinstance(part, str)]
    return names[0] if names else "form"


def estimate_inputs(form: BookingForm) -> catalog.EstimateIn | None:
    """The estimate request the answers make; None (with errors) when they make none."""
    raw: dict[str, Any] = {
        "beds": form.values["beds"] or "0",
        "baths": form.values["baths"] or "0",
        "cleaning_type": form.values["cleaning_type"] or "standard",
        "frequency": form.values["frequency"] or "one_time",
        "heavy_grease": "heavy_grease" in form.flags,
        "multi_floor": "multi_floor" in form.flags,
        "add_ons": form.add_ons,
    }
    try:
        return catalog.EstimateIn.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            form.add_error(_loc_field(err["loc"]), str(err["msg"]))
        return None


def contact(form: BookingForm) -> Contact | None:
    """The contact and chosen start; None (with each error beside its field) if unusable."""
    for name, message in MISSING.items():
        if not form.values[name]:
            form.add_error(name, message)
    try:
        return Contact.model_validate(
            {
                "name": form.values["name"],
                "email": form.values["email"],
                "phone": form.values["phone"] or None,
                "notes": form.values["notes"] or None,
                "slot": form.values["slot"] or None,
            }
        )
    except ValidationError as exc:
        for err in exc.errors():
            name = _loc_field(err["loc"])
            form.add_error(name, "Pick a time from the list." if name == "slot" else err["msg"])
        return None
