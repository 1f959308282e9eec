"""Brands: the marketer's own stylesheet (and the CSP that follows it), a brand per business unit chosen by
the link's MID with the global brand as fallback, and the favicon browsers ask for on their own."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flow_helpers import CHILD_MID, NEWSLETTER, NOT_ON_NEWSLETTER_JOB, link
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from config import ConfigError

CHILD = {"job_id": "28001", "list_id": "27914", "batch_id": "0", "mid": CHILD_MID}
CHILD_BRAND = {
    f"BRAND_{CHILD_MID}_NAME": "Child Outdoor Co",
    f"BRAND_{CHILD_MID}_LOGO_URL": "https://cdn.child.example/logo.svg",
    f"BRAND_{CHILD_MID}_PRIMARY_COLOR": "#7a1f5c",
    f"BRAND_{CHILD_MID}_CONTACT_URL": "https://child.example/help",
    f"BRAND_{CHILD_MID}_STYLESHEET_URL": "https://styles.child.example/v2/child.css",
}
FAVICON = "unsubscribe.favicon"
GLOBAL_BRAND = {
    "BRAND_NAME": "Parent Media Group",
    "BRAND_CONTACT_URL": "mailto:help@parent.example",
    "BRAND_PRIVACY_URL": "https://parent.example/privacy",
    "BRAND_STYLESHEET_URL": "https://cdn.parent.example/brand/site.css",
}


def _style_src(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    (directive,) = [part.strip() for part in policy.split(";") if part.strip().startswith("style-src")]
    return directive


def _stylesheets(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


def test_the_own_stylesheet_is_linked_and_the_csp_allows_exactly_its_origin(make_app) -> None:
    client = make_app(BRAND_STYLESHEET_URL="https://cdn.acme.example/brand/acme.css?v=3").test_client()
    page = client.get(link(subscriber_key="demo-001", **NEWSLETTER))
    assert page.status_code == 200
    assert _stylesheets(page.text)[-1] == "https://cdn.acme.example/brand/acme.css?v=3"
    assert _style_src(page) == "style-src 'self' https://cdn.acme.example"
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    # Every page of the app, the index and the error pages included, may load it.
    assert _style_src(client.get("/")) == "style-src 'self' https://cdn.acme.example"
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "https://cdn.acme.example/brand/acme.css" in missing.text


def test_without_an_own_stylesheet_styles_come_from_this_app_only(client) -> None:
    page = client.get("/")
    assert _style_src(page) == "style-src 'self'"
    assert all(href.startswith("/") for href in _stylesheets(page.text))


@pytest.mark.parametrize("setting", ["BRAND_STYLESHEET_URL", "BRAND_FAVICON_URL"])
@pytest.mark.parametrize("value", ["http://cdn.acme.example/acme.css", "javascript:alert(1)", "acme.css"])
def test_an_asset_url_the_csp_would_block_stops_start_up(emulator, tmp_path, setting, value) -> None:
    from tests.conftest import base_test_config

    with pytest.raises(ConfigError) as raised:
        create_app(base_test_config(emulator, tmp_path, **{setting: value}))
    assert raised.value.problems == [
        f"{setting} is invalid: must be an https:// URL (the page's Content-Security-Policy allows no other)"
    ]


@pytest.fixture
def branded(make_app: Callable[..., Flask]) -> Flask:
    return make_app(**GLOBAL_BRAND, **CHILD_BRAND)


def test_a_child_unit_link_shows_the_child_brand_and_a_parent_link_the_global_one(branded) -> None:
    client = branded.test_client()
    # Twice each, interleaved: the second form of each comes from the page cache, which must keep them apart.
    for _ in range(2):
        parent = client.get(link(subscriber_key="demo-001", **NEWSLETTER))
        child = client.get(link(subscriber_key="child-001", **CHILD))
        assert parent.status_code == child.status_code == 200

        assert "Parent Media Group" in parent.text and "Child Outdoor Co" not in parent.text
        assert "mailto:help@parent.example" in parent.text
        assert _stylesheets(parent.text)[-2:] == ["/brand.css", "https://cdn.parent.example/brand/site.css"]
        assert _style_src(parent) == "style-src 'self' https://cdn.parent.example"

        assert "Child Outdoor Co" in child.text and "Parent Media Group" not in child.text
        assert 'src="https://cdn.child.example/logo.svg" alt="Child Outdoor Co"' in child.text
        assert "https://child.example/help" in child.text and "mailto:help@parent.example" not in child.text
        # What the unit does not set comes from the global brand.
        assert "https://parent.example/privacy" in child.text
        assert _stylesheets(child.text)[-2:] == [
            f"/brand.css?mid={CHILD_MID}",
            "https://styles.child.example/v2/child.css",
        ]
        assert _style_src(child) == "style-src 'self' https://styles.child.example"
    assert branded.extensions["unsubscribe_page_cache"].cached_shapes() == 2

    assert client.get(f"/brand.css?mid={CHILD_MID}").text == ":root { --brand: #7a1f5c; }\n"
    assert client.get("/brand.css").text == ":root { --brand: #0b5cad; }\n"
    assert client.get("/brand.css?mid=510009999").text == ":root { --brand: #0b5cad; }\n"


def test_a_unit_without_a_brand_of_its_own_gets_the_global_brand(make_app) -> None:
    client = make_app(**GLOBAL_BRAND).test_client()
    child = client.get(link(subscriber_key="child-001", **CHILD))
    assert "Parent Media Group" in child.text
    assert _stylesheets(child.text)[-2] == "/brand.css"


def test_the_result_page_of_a_child_link_offers_the_child_contact(branded) -> None:
    client = branded.test_client()
    done = client.post(link(subscriber_key=NOT_ON_NEWSLETTER_JOB, **NEWSLETTER), data={"scope": "list"})
    assert "We could not find that subscription" in done.text
    assert "mailto:help@parent.example" in done.text
    child = client.post(link(subscriber_key="child-001", **CHILD), data={"scope": "list"})
    assert child.status_code == 200 and "Child Outdoor Co" in child.text
    assert "Parent Media Group" not in child.text


def test_error_pages_show_the_global_brand_even_after_a_child_link(make_app, tmp_path) -> None:
    # A form template that fails once the child's link is verified: the 500 page comes after the brand
    # of the link was chosen, and still shows the global one.
    broken = tmp_path / "templates"
    (broken / "unsubscribe").mkdir(parents=True)
    (broken / "unsubscribe" / "form.html").write_text("{{ cycler.__init__.__globals__ }}", encoding="utf-8")
    client = make_app(
        TEMPLATE_DIR=str(broken), PROPAGATE_EXCEPTIONS=False, **GLOBAL_BRAND, **CHILD_BRAND
    ).test_client()
    failed = client.get(link(subscriber_key="child-001", **CHILD))
    assert failed.status_code == 500
    assert "Parent Media Group" in failed.text and "Child Outdoor Co" not in failed.text
    assert _style_src(failed) == "style-src 'self' https://cdn.parent.example"
    refused = client.put(link(subscriber_key="child-001", **CHILD))
    assert refused.status_code == 405 and "Parent Media Group" in refused.text


def test_a_unit_brand_setting_that_is_not_one_stops_start_up(emulator, tmp_path) -> None:
    from tests.conftest import base_test_config

    with pytest.raises(ConfigError) as raised:
        create_app(
            base_test_config(
                emulator,
                tmp_path,
                **{
                    f"BRAND_{CHILD_MID}_COLOUR": "#7a1f5c",
                    f"BRAND_{CHILD_MID}_STYLESHEET_URL": "http://x.example",
                },
            )
        )
    first, second = raised.value.problems
    assert first.startswith(f"BRAND_{CHILD_MID}_COLOUR is not a brand setting (BRAND_<MID>_ + one of ")
    assert "PRIMARY_COLOR" in first
    assert second.startswith(f"BRAND_{CHILD_MID}_STYLESHEET_URL is invalid: must be an https:// URL")


def _requests_counted(client, route: str, status: str) -> float:
    """``profile_center_http_requests_total`` for ``route`` and ``status`` (counters live per process)."""
    families = text_string_to_metric_families(client.get("/metrics").text)
    return sum(
        sample.value
        for family in families
        for sample in family.samples
        if sample.name == "profile_center_http_requests_total"
        and sample.labels.get("route") == route
        and sample.labels.get("status") == status
    )


def test_the_favicon_is_answered_not_a_404(make_app) -> None:
    client = make_app().test_client()
    unmatched, favicons = (
        _requests_counted(client, r, s) for r, s in (("unmatched", "404"), (FAVICON, "200"))
    )
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.mimetype == "image/x-icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age=86400" in icon.headers["Cache-Control"]
    page = client.get("/")
    assert '<link rel="icon" href="/favicon.ico">' in page.text
    assert _requests_counted(client, FAVICON, "200") == favicons + 1
    assert _requests_counted(client, "unmatched", "404") == unmatched


def test_the_brand_favicon_is_named_by_the_pages_and_served_at_favicon_ico(make_app) -> None:
    client = make_app(
        BRAND_FAVICON_URL="https://cdn.acme.example/favicon.png",
        **{f"BRAND_{CHILD_MID}_FAVICON_URL": "https://cdn.child.example/icon.png"},
    ).test_client()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 302 and icon.headers["Location"] == "https://cdn.acme.example/favicon.png"
    assert '<link rel="icon" href="https://cdn.acme.example/favicon.png">' in client.get("/").text
    child = client.get(link(subscriber_key="child-001", **CHILD))
    assert '<link rel="icon" href="https://cdn.child.example/icon.png">' in child.text


def test_a_contact_link_with_another_scheme_never_reaches_a_page(make_app) -> None:
    client = make_app(
        BRAND_CONTACT_URL="javascript:alert(document.domain)",
        **{f"BRAND_{CHILD_MID}_CONTACT_URL": "data:text/html,hi"},
    ).test_client()
    for page in (client.get("/"), client.get(link(subscriber_key="child-001", **CHILD))):
        assert page.status_code == 200
        assert "javascript:" not in page.text and "data:text" not in page.text
