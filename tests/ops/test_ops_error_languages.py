"""Error pages speak through the same catalogs (translations/) and choice of language as every page."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import abort
from lxml import html as lxml_html

from app.ops.errors import service_unavailable

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
#: What each error page says in English: the catalogs' msgids.
ENGLISH = {
    400: ("Bad request", "Your browser sent a request we could not understand."),
    404: ("Page not found", "There is no page at this address. Please use the link from your email."),
    405: ("Method not allowed", "This page cannot be used this way."),
    413: ("Request too large", "The form you sent is too large. Please shorten your text and try again."),
    429: (
        "Too many requests",
        "We received too many requests from your network in a short time. Please wait a minute and try "
        "again; nothing you already sent is lost.",
    ),
    500: ("Something went wrong", "An unexpected error occurred on our side. Please try again later."),
    503: (
        "Please try again",
        "We could not record your request just now. Please try again in a moment; your request has not "
        "been confirmed yet.",
    ),
}


def _catalog(language: str) -> dict[str, str]:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {message.id: message.string for message in read_po(handle) if message.id}


@pytest.fixture
def erring_app(make_app):
    """An app with one route per error status (500 from an exception, 503 as the journal-down view)."""
    app = make_app()
    app.testing = False  # the 500 handler answers instead of the test client raising

    @app.get("/fail/<int:status>")
    def fail(status: int):
        if status == 500:
            raise RuntimeError("boom")
        if status == 503:
            return service_unavailable()
        abort(status)

    return app


@pytest.mark.parametrize("language", ["en", "de", "fr", "es"])
def test_every_error_page_is_the_catalogs_translation(erring_app, language: str) -> None:
    catalog = _catalog(language)
    client = erring_app.test_client()
    for status, (title, text) in ENGLISH.items():
        response = client.get(f"/fail/{status}?lang={language}")
        assert response.status_code == status
        page = lxml_html.fromstring(response.get_data(as_text=True))
        assert page.get("lang") == language
        assert page.findtext(".//h1") == catalog[title], (status, language)
        assert page.findtext(".//title") == f"{catalog[title]} – Example Newsletters", (status, language)
        assert catalog[text] in [p.text_content() for p in page.iter("p")], (status, language)
        # The colon is the catalog's (French puts a no-break space before it), not the template's.
        reference = catalog["Reference: %(reference)s"] % {"reference": response.headers["X-Request-ID"]}
        assert reference in page.text_content(), (status, language)


@pytest.mark.parametrize(
    ("query", "accept", "default", "expected"),
    [
        ("?lang=fr", "de", "es", "fr"),  # ?lang= first, as on every page
        ("?lang=zz", "es-MX, es;q=0.9, de;q=0.5", "fr", "es"),  # then Accept-Language
        ("", "ja", "de-CH", "de"),  # then DEFAULT_LOCALE
    ],
)
def test_error_pages_choose_the_language_as_every_page(make_app, query, accept, default, expected) -> None:
    client = make_app(DEFAULT_LOCALE=default).test_client()
    missing = client.get(f"/nowhere{query}", headers={"Accept-Language": accept})
    form = client.get(f"/{query}", headers={"Accept-Language": accept})
    for response in (missing, form):
        assert f'<html lang="{expected}"' in response.get_data(as_text=True)
    assert f"<h1>{_catalog(expected)['Page not found']}</h1>" in missing.get_data(as_text=True)
