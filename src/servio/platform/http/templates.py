"""Plain server-rendered pages a domain answers with (an action link, the page a
checkout returns to), from Jinja2 templates in the domain's own folder.

HTML is autoescaped and undefined names are errors. Beside the domain's templates sits
the shared ``plain_page.html``: a title, a paragraph ``message`` and a narrow column,
which a domain's template extends or which a domain renders as it is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

LAYOUTS = Path(__file__).parent / "templates"


class PageTemplates:
    """The templates under ``folder``, then the shared layouts."""

    def __init__(self, folder: Path) -> None:
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(str(folder)), FileSystemLoader(str(LAYOUTS))]),
            autoescape=select_autoescape(("html",)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )

    def render(
        self,
        template: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        body = self.env.get_template(template).render(context)
        return HTMLResponse(body, status_code=status_code, headers=headers)
