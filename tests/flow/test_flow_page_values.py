"""The values the profile-center pages fill into the existing templates (contracts.md D), rendered now.

``list_name`` and ``manage_url`` on the form (page-cache holes), ``undo``, ``manage_url`` and
``all_covers_every_brand`` on the result page: each changes what the person reads, and nothing of one person
reaches another's page through the cache. Until the views pass them they are absent and the pages read as
before (generic wording, never a bare list ID).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask, render_template
from flask_babel import refresh
from lxml import html as lxml_html

from app.unsubscribe.forms import UnsubscribeForm
from app.unsubscribe.page_cache import PageCache

REASONS = ("too_many", "other")


def _form_page(app: Flask, lang: str = "en", cache: PageCache | None = None, **values: Any) -> Any:
    person = {"masked_email": "d•••@example.com", "list_id": "17914", "action": "/unsubscribe?t=T"}
    person |= {"request_id": None, "list_name": None, "manage_url": None} | values

    def render(page_values: Mapping[str, object]) -> str:
        form = UnsubscribeForm.for_link(None, True, REASONS)
        return render_template("unsubscribe/form.html", form=form, has_job_context=True, **page_values)

    with app.test_request_context(f"/unsubscribe?lang={lang}"):
        refresh()
        html = cache.render(("form", lang), person, render) if cache else render(person)
    return lxml_html.fromstring(html)


def _result_page(app: Flask, lang: str = "en", **values: Any) -> Any:
    context = {"outcome": "unsubscribed", "scope": "list", "recorded_at": None, "offer_all": False}
    context |= {"action": "/unsubscribe?t=T", "contact_url": None} | values
    with app.test_request_context(f"/unsubscribe?lang={lang}"):
        refresh()
        return lxml_html.fromstring(render_template("unsubscribe/result.html", **context))


def _squeeze(text: str) -> str:
    """Runs of ASCII white space as one space (a no-break space is the catalog's, and stays)."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def _labels(page: Any) -> list[str]:
    return [_squeeze(label.text_content()) for label in page.find_class("choice-label")]


def _text(page: Any) -> str:
    return _squeeze(page.find(".//main").text_content())


def test_the_form_names_the_list_and_links_to_the_manage_page(app: Flask) -> None:
    cache = PageCache()
    for name, url in (("Weekly <Deals> & more", "/manage?t=A&x=1"), ("Newsletter", "/manage?t=B")):
        page = _form_page(app, cache=cache, list_name=name, manage_url=url)
        assert _labels(page)[0] == f"Only the list “{name}”"
        assert page.xpath('//p[@class="manage"]/a/@href') == [url]
        assert "17914" not in _text(page)
        buttons = page.xpath('//button[@type="submit"]')
        manage = page.find_class("manage")[0]
        assert buttons[0].getparent().index(buttons[0]) < manage.getparent().index(manage)  # after the button
    assert cache.cached_shapes() == 1  # one skeleton, filled for each person
    german = _form_page(app, "de", list_name="Newsletter")
    assert _labels(german)[0] == "Nur die Liste „Newsletter“"


def test_without_a_list_name_the_form_says_this_list_and_no_id(app: Flask) -> None:
    page = _form_page(app)
    assert _labels(page) == [
        "Only this list",
        "All marketing email",
        "I get too many emails",
        "Another reason",
    ]
    assert "17914" not in _text(page) and not page.find_class("manage")


@pytest.mark.parametrize(
    ("covers", "label", "says"),
    [
        (True, "All marketing email from all our brands", "and from every other brand of our company"),
        (
            False,
            "All marketing email from Example Newsletters",
            "Other brands of our company are not affected",
        ),
        (None, "All marketing email", "Every marketing email from Example Newsletters."),
    ],
)
def test_all_email_says_whether_it_covers_every_brand(app: Flask, covers: Any, label: str, says: str) -> None:
    form = _form_page(app, all_covers_every_brand=covers)
    assert _labels(form)[1] == label and says in _text(form)
    result = _text(_result_page(app, scope="all", all_covers_every_brand=covers))
    assert "You will no longer receive marketing email from Example Newsletters." in result
    assert ("This covers every brand of our company." in result) is (covers is True)
    assert ("Other brands of our company are not affected." in result) is (covers is False)


def test_a_list_result_offers_undo_and_the_manage_page(app: Flask) -> None:
    undo = {"action": "/preferences?t=T", "list_id": "17914", "list_name": "Newsletter"}
    page = _result_page(app, "fr", undo=undo, manage_url="/manage?t=T")
    assert "Vous ne recevrez plus d’e-mails de la liste «\u00a0Newsletter\u00a0»." in _text(page)
    [form] = page.xpath('//form[@class="undo-form"]')
    assert form.get("method") == "post" and form.get("action") == "/preferences?t=T"
    assert form.xpath('.//input[@type="hidden"]/@name') == ["resubscribe"]
    assert form.xpath('.//input[@name="resubscribe"]/@value') == ["17914"]
    assert _squeeze(form.findtext(".//button")) == "Se réabonner à «\u00a0Newsletter\u00a0»"
    assert page.xpath('//p[@class="manage"]/a/@href') == ["/manage?t=T"]
    unnamed = _result_page(app, undo=undo | {"list_name": None})
    assert _squeeze(unnamed.findtext('.//form[@class="undo-form"]//button')) == (
        "Subscribe to this list again"
    )
    assert "You will no longer receive emails from this list." in _text(unnamed)
    assert not _result_page(app).xpath("//form")  # no undo offered: no form
