"""No dead ends: every page that cannot do what the person came for says what they can still do.

"Could not find that subscription" (also after an "all email" Marketing Cloud refused), "This link is not
valid" and the error pages offer the "all email" form where it applies, a contact link when the brand has
one, and otherwise a neutral next step; error pages name the brand in their title.
"""

from __future__ import annotations

from typing import Any

import pytest
from flow_helpers import NEWSLETTER, NOT_ON_NEWSLETTER_JOB, link
from lxml import html as lxml_html

CONTACT = "https://help.example.com/contact"


def _page(response: Any) -> Any:
    return lxml_html.fromstring(response.get_data(as_text=True))


def _next_steps(page: Any) -> list[str]:
    return [" ".join(p.text_content().split()) for p in page.find_class("next-step")]


def _links(page: Any) -> list[str]:
    return [a.get("href") for a in page.iter("a")]


@pytest.mark.parametrize("contact", [None, CONTACT])
def test_an_all_email_unsubscribe_that_was_refused_still_offers_a_way_on(make_app: Any, contact: Any) -> None:
    settings = {"BRAND_CONTACT_URL": contact} if contact else {}
    client = make_app(BRAND_NAME="ACME", **settings).test_client()
    response = client.post(link(subscriber_key="nobody-at-all"), data={"scope": "all"})  # 400: not found
    page = _page(response)
    assert page.find_class("result-not_found") and not page.find_class("unsubscribe-form")
    steps = _next_steps(page)
    if contact:
        assert steps == ["Contact us if you need help."]
        assert page.xpath('//p[@class="next-step"]/a/@href') == [CONTACT]
    else:
        assert steps == [
            "If you still receive emails from ACME, use the unsubscribe link in the most recent one."
        ]


def test_not_on_the_list_offers_all_email_and_the_contact_link(make_app: Any) -> None:
    client = make_app(BRAND_CONTACT_URL=CONTACT).test_client()
    page = _page(
        client.post(link(subscriber_key=NOT_ON_NEWSLETTER_JOB, **NEWSLETTER), data={"scope": "list"})
    )
    assert page.xpath('//form//input[@name="scope"]/@value') == ["all"]
    assert page.xpath('//form//button[@type="submit"]/text()') == ["Unsubscribe from all marketing email"]
    assert _next_steps(page) == ["Contact us if you need help."]


def test_details_that_do_not_match_get_the_neutral_next_step_in_the_pages_language(make_app: Any) -> None:
    client = make_app(BRAND_NAME="ACME").test_client()
    url = link(subscriber_key="demo-002", email="demo001@example.com", locale="de", **NEWSLETTER)  # 406
    page = _page(client.post(url, data={"scope": "list"}))
    assert page.find_class("result-not_matched")
    assert _next_steps(page) == [
        "Wenn Sie weiterhin E-Mails von ACME erhalten, nutzen Sie den Abmeldelink in der neuesten davon."
    ]


@pytest.mark.parametrize("contact", [None, CONTACT])
def test_an_invalid_link_says_how_to_go_on(make_app: Any, contact: Any) -> None:
    settings = {"BRAND_CONTACT_URL": contact} if contact else {}
    page = _page(make_app(**settings).test_client().get("/unsubscribe?t=broken"))
    text = " ".join(page.find(".//main").text_content().split())
    assert "Please use the unsubscribe link in a recent email from us" in text
    if contact:
        assert _next_steps(page) == ["Contact us if you still want to unsubscribe."]
        assert CONTACT in _links(page)
    else:
        assert _next_steps(page) == []


@pytest.mark.parametrize("contact", [None, CONTACT])
def test_error_pages_name_the_brand_and_offer_a_next_step(make_app: Any, contact: Any) -> None:
    settings = {"BRAND_CONTACT_URL": contact} if contact else {}
    client = make_app(BRAND_NAME="ACME", **settings).test_client()
    for response in (
        client.get("/no/such/page?lang=fr"),
        client.put(link(subscriber_key="demo-001") + "&lang=fr"),
    ):
        page = _page(response)
        assert response.status_code in (404, 405)
        assert page.findtext(".//title").endswith(" – ACME")
        assert page.findtext(".//h1") in page.findtext(".//title")
        if contact:
            assert _next_steps(page) == ["Contactez-nous si vous avez besoin d’aide."]
            assert page.xpath('//p[@class="next-step"]/a/@href') == [CONTACT]
        else:
            assert _next_steps(page) == [
                "Pour vous désabonner, utilisez le lien de désabonnement d’un e-mail récent de ACME."
            ]
        reference = page.xpath('//p[@class="reference"]')[0].text_content()
        assert reference == f"Référence\u00a0: {response.headers['X-Request-ID']}"
