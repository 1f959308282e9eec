"""Marketers restyle without Python: TEMPLATE_DIR wins over the built-in templates; brand settings show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flow_helpers import NEWSLETTER, link, template_dir


def test_template_dir_base_overrides_blocks_and_keeps_the_form(make_app: Any, tmp_path: Path) -> None:
    custom = template_dir(
        tmp_path,
        {
            "base.html": '{% extends "layout.html" %}\n'
            '{% block brand %}<p class="acme-brand">ACME Mail Club</p>{% endblock %}\n'
            "{% block footer_links %}<p>ACME Ltd, 1 Main Street</p>{% endblock %}\n"
        },
        name="brand-templates",
    )
    client = make_app(TEMPLATE_DIR=str(custom)).test_client()
    html = client.get(link(subscriber_key="demo-001", **NEWSLETTER)).get_data(as_text=True)
    assert '<p class="acme-brand">ACME Mail Club</p>' in html
    assert "ACME Ltd, 1 Main Street" in html
    assert 'name="scope"' in html and 'type="submit"' in html  # the page itself is still the built-in one
    invalid = client.get("/unsubscribe?t=nope").get_data(as_text=True)
    assert "ACME Mail Club" in invalid and "This link is not valid" in invalid


def test_template_dir_can_replace_a_whole_page(make_app: Any, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(
        '{% extends "base.html" %}'
        '{% block content %}<h1>{{ _("Email preferences") }} · ACME</h1>{% endblock %}',
        encoding="utf-8",
    )
    client = make_app(TEMPLATE_DIR=str(tmp_path)).test_client()
    assert "<h1>E-Mail-Einstellungen · ACME</h1>" in client.get("/?lang=de").get_data(as_text=True)
    assert "Unsubscribe" in client.get(link(subscriber_key="demo-001", **NEWSLETTER)).get_data(as_text=True)


def test_brand_settings_appear_on_every_page(make_app: Any) -> None:
    client = make_app(
        BRAND_NAME="Acme Weekly",
        BRAND_LOGO_URL="https://cdn.example.com/logo.png",
        BRAND_PRIVACY_URL="https://www.example.com/privacy",
        BRAND_CONTACT_URL="mailto:help@example.com",
    ).test_client()
    for url in ("/", link(subscriber_key="demo-001", **NEWSLETTER), "/unsubscribe?t=nope"):
        html = client.get(url).get_data(as_text=True)
        assert '<img class="logo" src="https://cdn.example.com/logo.png" alt="Acme Weekly"' in html
        assert 'referrerpolicy="no-referrer"' in html
        assert 'href="https://www.example.com/privacy"' in html and 'href="mailto:help@example.com"' in html
        assert "Email preferences for Acme Weekly" in html


@pytest.mark.parametrize(
    ("configured", "served"),
    [
        ("#123456", "#123456"),
        ("#A31", "#a31"),
        ("#ffff00", "#0b5cad"),  # yellow: white text on it would be unreadable
        ("red;} body{display:none", "#0b5cad"),  # nothing but a colour reaches the stylesheet
    ],
)
def test_brand_colour_is_served_as_a_stylesheet(make_app: Any, configured: str, served: str) -> None:
    response = make_app(BRAND_PRIMARY_COLOR=configured).test_client().get("/brand.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert response.get_data(as_text=True) == f":root {{ --brand: {served}; }}\n"


def test_configured_reasons_in_their_order_unknown_ones_dropped(make_app: Any) -> None:
    client = make_app(UNSUB_REASONS="no_longer_interested,never_signed_up,bogus").test_client()
    html = client.get(link(subscriber_key="demo-001", **NEWSLETTER)).get_data(as_text=True)
    assert html.index("I am no longer interested") < html.index("I never signed up")
    assert "bogus" not in html and "too many emails" not in html and "other_text" not in html


def test_no_reasons_configured_means_no_reason_question(make_app: Any) -> None:
    client = make_app(UNSUB_REASONS=",").test_client()
    html = client.get(link(subscriber_key="demo-001", **NEWSLETTER)).get_data(as_text=True)
    assert "Why are you unsubscribing?" not in html and 'name="scope"' in html
