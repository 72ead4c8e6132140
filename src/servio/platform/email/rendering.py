"""Rendering an email from a template name and a context: a subject, a text part and an
HTML part, in the org's branding and its vertical's wording.

A template ``NAME`` is two files found through the loader list: ``NAME.txt`` (whose
``subject`` block is the subject line) and ``NAME.html``; a vertical may replace either
with ``NAME.<vertical>.txt`` / ``NAME.<vertical>.html``. HTML is autoescaped, text is
not. Undefined variables are errors, so a mistake dead-letters instead of mailing a
blank.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)

BASE_TEMPLATES = Path(__file__).parent / "templates"
_COLOR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*$")
DEFAULT_ACCENT = "#1f5f8b"


@dataclass(frozen=True)
class Branding:
    """How the sender looks: its name, an accent color, an optional logo and footer."""

    name: str = "Servio"
    accent_color: str = DEFAULT_ACCENT
    logo_url: str | None = None
    footer: str | None = None

    @classmethod
    def of(cls, name: str, values: Mapping[str, Any] | None = None) -> Branding:
        """Branding from stored values, dropping any that could break the layout (a
        color that is not ``#rgb``/``#rrggbb``, a logo that is not an https URL)."""
        values = values or {}
        color = str(values.get("accent_color") or "")
        logo = str(values.get("logo_url") or "")
        footer = values.get("footer")
        return cls(
            name=name,
            accent_color=color if _COLOR.match(color) else DEFAULT_ACCENT,
            logo_url=logo if logo.startswith("https://") else None,
            footer=str(footer)[:500] if footer else None,
        )


@dataclass(frozen=True)
class Vertical:
    """A vertical's key (picks ``NAME.<key>.*`` templates) and its words for generic
    terms, which templates use as ``word("term")``."""

    key: str = "default"
    words: Mapping[str, str] = field(default_factory=dict)

    def word(self, term: str) -> str:
        return self.words.get(term, term)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class TemplateError(Exception):
    """The template is missing or does not render with the given context."""


class EmailTemplates:
    """Templates looked up in ``folders`` in order (domains' folders first), then in the
    base layouts shipped here."""

    def __init__(
        self, folders: Sequence[Path] = (), globals_: Mapping[str, Any] | None = None
    ) -> None:
        """``globals_`` are names every template sees (e.g. ``public_url`` for links)."""
        loader = ChoiceLoader([FileSystemLoader(str(f)) for f in [*folders, BASE_TEMPLATES]])
        self.env = Environment(
            loader=loader,
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(globals_ or {})

    def render(
        self,
        template: str,
        context: Mapping[str, Any],
        *,
        org_branding: Branding,
        vertical: Vertical,
        unsubscribe_url: str | None = None,
    ) -> RenderedEmail:
        if not _TEMPLATE_NAME.match(template):
            raise TemplateError(f"invalid template name {template!r}")
        values = {
            **context,
            "brand": org_branding,
            "vertical": vertical.key,
            "word": vertical.word,
            "unsubscribe_url": unsubscribe_url,
        }
        try:
            text = self._pick(template, "txt", vertical)
            html = self._pick(template, "html", vertical)
            subject_block = text.blocks.get("subject")
            if subject_block is None:
                raise TemplateError(f"{template}.txt has no subject block")
            subject = "".join(subject_block(text.new_context(values)))
            return RenderedEmail(
                subject=" ".join(subject.split()),
                text=text.render(values),
                html=html.render(values),
            )
        except TemplateError:
            raise
        except Exception as exc:  # Jinja's errors: undefined names, syntax, filters
            raise TemplateError(f"{template}: {type(exc).__name__}: {exc}") from exc

    def _pick(self, template: str, extension: str, vertical: Vertical) -> Template:
        names = [f"{template}.{vertical.key}.{extension}", f"{template}.{extension}"]
        try:
            return self.env.select_template(names)
        except TemplateNotFound as exc:
            raise TemplateError(f"no template {template}.{extension}") from exc


def render(
    template: str,
    context: Mapping[str, Any],
    *,
    org_branding: Branding,
    vertical: Vertical,
    folders: Sequence[Path] = (),
) -> RenderedEmail:
    """Render ``template`` once with the templates in ``folders`` and the base layouts."""
    return EmailTemplates(folders).render(
        template, context, org_branding=org_branding, vertical=vertical
    )
