"""A marketer's own reasons and texts, from ``content.toml`` in TEMPLATE_DIR: no Python, no catalogs.

Own reason codes are offered, posted, journaled with their report label and reach Marketing Cloud under it;
own texts show in the languages they are written in and the built-in translation shows in the others;
``problems()`` lists every mistake of the file at once, and the app still serves its pages around them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flow_helpers import NEWSLETTER, NEWSLETTER_BATCH_1, journal_entries, link, template_dir
from lxml import html as lxml_html

from app.unsubscribe import content
from app.unsubscribe.texts import BUILT_IN

CONTENT = """
# ACME's own reasons and texts
[reasons.prefer_sms]
report = "Prefers SMS"
en = "I prefer text messages"
de = "Ich bekomme lieber SMS"

[reasons.too_many]
de = "Sie schreiben mir zu oft"

[texts.form.heading]
en = "Leaving ACME News?"
de = "Sie verlassen ACME News?"

[texts."form.intro"]
en = "Sorry to see you go, reader of %(brand)s."

[texts."result.unsubscribed.heading"]
de = "Erledigt"
"""


def _app(make_app: Any, tmp_path: Path, text: str = CONTENT, **settings: Any) -> Any:
    folder = template_dir(tmp_path, {"content.toml": text})
    return make_app(TEMPLATE_DIR=str(folder), **settings)


def _reason_labels(page: Any) -> dict[str, str]:
    return {
        radio.get("value"): page.xpath(f'//label[@for="{radio.get("id")}"]')[0].text_content()
        for radio in page.xpath('//input[@name="reason"]')
    }


def test_own_reasons_and_texts_show_per_language_with_the_built_in_translation_elsewhere(
    make_app: Any, tmp_path: Path
) -> None:
    client = _app(make_app, tmp_path, UNSUB_REASONS="prefer_sms,too_many,other").test_client()
    pages = {
        lang: lxml_html.fromstring(
            client.get(link(subscriber_key="demo-001", locale=lang, **NEWSLETTER)).get_data(as_text=True)
        )
        for lang in ("en", "de", "fr")
    }
    assert pages["en"].findtext(".//h1") == "Leaving ACME News?"
    assert pages["de"].findtext(".//h1") == "Sie verlassen ACME News?"
    assert pages["fr"].findtext(".//h1") == "Se désabonner"  # not written in French: ours, not English
    assert (
        pages["en"].find_class("intro")[0].text.strip()
        == "Sorry to see you go, reader of Example Newsletters."
    )
    assert (
        pages["de"].find_class("intro")[0].text.strip()
        == "Sie haben eine E-Mail von Example Newsletters erhalten."
    )
    assert pages["en"].findtext(".//title") == "Leaving ACME News? – Example Newsletters"
    assert _reason_labels(pages["en"]) == {
        "prefer_sms": "I prefer text messages",
        "too_many": "I get too many emails",
        "other": "Another reason",
    }
    assert _reason_labels(pages["de"]) == {
        "prefer_sms": "Ich bekomme lieber SMS",
        "too_many": "Sie schreiben mir zu oft",
        "other": "Anderer Grund",
    }
    assert _reason_labels(pages["fr"])["prefer_sms"] == "I prefer text messages"  # no French label written


def test_an_own_reason_is_journaled_with_its_report_label(
    make_app: Any, tmp_path: Path, emulator: Any
) -> None:
    app = _app(make_app, tmp_path, UNSUB_REASONS="prefer_sms,too_many")
    client = app.test_client()
    url = link(subscriber_key="demo-001", locale="de", **NEWSLETTER)
    result = client.post(url, data={"scope": "list", "reason": "prefer_sms"})
    assert result.status_code == 200 and "Erledigt" in result.get_data(as_text=True)
    [entry] = journal_entries(app)
    assert entry.request.reason_code == "prefer_sms"
    assert entry.request.reason_label == "Prefers SMS"
    assert [e["reason"] for e in emulator.events()] == ["Profile Center: Prefers SMS"]
    assert "Prefers SMS" in app.test_cli_runner().invoke(args=["journal", "export", "--format", "csv"]).output


def test_a_code_that_is_not_offered_is_refused_like_any_wrong_answer(make_app: Any, tmp_path: Path) -> None:
    client = _app(make_app, tmp_path, UNSUB_REASONS="too_many").test_client()
    response = client.post(
        link(subscriber_key="demo-001", **NEWSLETTER), data={"scope": "list", "reason": "prefer_sms"}
    )
    assert response.status_code == 400 and "Please choose one of the options." in response.get_data(
        as_text=True
    )


def test_a_block_replaces_a_text_and_keeps_the_rest(make_app: Any, tmp_path: Path) -> None:
    """A marketer's form.html extends the built-in one and replaces one block, not the whole page."""
    folder = tmp_path / "acme"
    (folder / "unsubscribe").mkdir(parents=True)
    (folder / "unsubscribe" / "form.html").write_text(
        '{% extends "built-in/unsubscribe/form.html" %}'
        '{% block form_heading %}<em>{{ page_text("form.button") }}</em>{% endblock %}',
        encoding="utf-8",
    )
    client = make_app(TEMPLATE_DIR=str(folder)).test_client()
    for lang, heading in (("en", "Unsubscribe"), ("es", "Darse de baja")):
        html = client.get(link(subscriber_key="demo-001", locale=lang, **NEWSLETTER)).get_data(as_text=True)
        page = lxml_html.fromstring(html)
        assert page.xpath("//h1/em/text()") == [heading]
        assert page.xpath('//input[@name="scope"]/@value') == ["list", "all"]


BROKEN = """
[reasons.prefer_sms]
en = "I prefer text messages"

[reasons."Bad Code"]
report = "Bad"

[reasons.too_many]
report = ""
xx = "?"

[texts.form.headnig]
en = "Typo"

[texts."form.intro"]
en = "Hello %(name)s"
de = "50 % weniger"
it = "Ciao"

[texts."result.already.text"]
fr = "Déjà fait"

[colours]
primary = "#fff"
"""


def test_problems_lists_every_mistake_at_once(tmp_path: Path) -> None:
    (tmp_path / "content.toml").write_text(BROKEN, encoding="utf-8")
    found = content.problems(tmp_path)
    assert content.problems(tmp_path / "content.toml") == found
    expected = [
        "unknown section [colours]",
        '[reasons.prefer_sms]: a reason of your own needs report = "…"',
        "[reasons.Bad Code]: a code is lower-case letters, digits and _",
        "[reasons.too_many] report is empty",
        "[reasons.too_many] xx unknown key",
        "[texts.form.headnig]: no such text",
        "[texts.form.intro] en uses name, which this text does not have (it has: %(brand)s)",
        "[texts.form.intro] de has a % that is not a placeholder",
        "[texts.form.intro] it is not a language of the pages",
    ]
    for start in expected:
        assert sum(problem.startswith(start) for problem in found) == 1, (start, found)
    assert len(found) == len(expected)


def test_a_broken_file_leaves_the_pages_working_with_what_is_right(make_app: Any, tmp_path: Path) -> None:
    client = _app(make_app, tmp_path, BROKEN, UNSUB_REASONS="prefer_sms,too_many").test_client()
    response = client.get(link(subscriber_key="demo-001", locale="fr", **NEWSLETTER))
    page = lxml_html.fromstring(response.get_data(as_text=True))
    assert response.status_code == 200 and page.findtext(".//h1") == "Se désabonner"
    assert _reason_labels(page) == {"too_many": "Je reçois trop d’e-mails"}  # prefer_sms had no report label
    already = client.post(
        link(subscriber_key="demo-022", locale="fr", **NEWSLETTER_BATCH_1), data={"scope": "list"}
    )
    assert "Déjà fait" in already.get_data(as_text=True)  # the good entry next to the broken ones is used


@pytest.mark.parametrize(
    ("text", "problem"),
    [("[texts\nen = 1", "not valid TOML"), (b"\xff\xfe", "not UTF-8 text")],
)
def test_a_file_that_does_not_parse_is_one_problem(tmp_path: Path, text: Any, problem: str) -> None:
    path = tmp_path / "content.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    [found] = content.problems(path)
    assert problem in found and str(path) in found


def test_no_file_is_no_problem(tmp_path: Path) -> None:
    assert content.problems(tmp_path) == [] and content.load(None) == content.Content()


@pytest.mark.parametrize(
    "text",
    [
        '[reasons.prefer_sms]\nreport = "Prefers SMS"\n',
        '[texts."form.heading"]\nen = "Hi"\n',
        "[texts]\n",
        "",
    ],
)
def test_a_file_with_one_section_only_has_no_problem(tmp_path: Path, text: str) -> None:
    (tmp_path / "content.toml").write_text(text, encoding="utf-8")
    assert content.problems(tmp_path) == []


def test_every_text_key_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "pages.md").read_text(encoding="utf-8")
    for key in BUILT_IN:
        assert f"`{key}`" in docs, key


def test_a_typo_in_a_text_key_shows_the_key_instead_of_an_error_page(
    make_app: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "typo"
    (folder / "unsubscribe").mkdir(parents=True)
    (folder / "unsubscribe" / "form.html").write_text(
        '{% extends "built-in/unsubscribe/form.html" %}'
        '{% block form_heading %}{{ page_text("form.headnig") }}{% endblock %}',
        encoding="utf-8",
    )
    response = (
        make_app(TEMPLATE_DIR=str(folder)).test_client().get(link(subscriber_key="demo-001", **NEWSLETTER))
    )
    assert response.status_code == 200
    assert lxml_html.fromstring(response.get_data(as_text=True)).findtext(".//h1") == "form.headnig"
    assert "page_text('form.headnig'): no such text" in caplog.text
