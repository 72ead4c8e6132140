"""Plain pages from a domain's templates: values are escaped, the shared layout carries
the title, and a name the page needs but was not given is an error, not a blank."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError

from servio.platform.http.templates import PageTemplates


@pytest.fixture
def pages(tmp_path: Path) -> PageTemplates:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "greeting.html").write_text(
        '{% extends "plain_page.html" %}\n{% block body %}<p>Hello {{ name }}</p>{% endblock %}\n'
    )
    return PageTemplates(tmp_path)


def test_a_domain_page_extends_the_layout_and_escapes_what_it_shows(pages: PageTemplates) -> None:
    page = pages.render(
        "pages/greeting.html",
        {"title": "Hi <there>", "name": '<script>alert("x")</script>'},
        status_code=409,
        headers={"Cache-Control": "no-store"},
    )
    body = bytes(page.body).decode()
    assert page.status_code == 409
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert body.startswith("<!doctype html>")
    assert "<title>Hi &lt;there&gt;</title>" in body
    assert "<h1>Hi &lt;there&gt;</h1>" in body
    assert "<p>Hello &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>" in body
    assert "<script>" not in body


def test_the_layout_alone_shows_a_title_and_one_message(pages: PageTemplates) -> None:
    page = pages.render("plain_page.html", {"title": "Gone", "message": "A & B"}, status_code=404)
    assert page.status_code == 404
    assert "<h1>Gone</h1><p>A &amp; B</p></main>" in bytes(page.body).decode()


def test_a_missing_value_is_an_error(pages: PageTemplates) -> None:
    with pytest.raises(UndefinedError):
        pages.render("pages/greeting.html", {"title": "Hi"})
