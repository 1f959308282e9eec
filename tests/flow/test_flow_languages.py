"""Languages: link `loc`, then `?lang=`, then Accept-Language, then DEFAULT_LOCALE; complete catalogs."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel import dates as babel_dates
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from flow_helpers import NEWSLETTER, NEWSLETTER_BATCH_1, link

from app.journal.models import REASON_LABELS as ENGLISH_REASONS
from app.unsubscribe.i18n import SUPPORTED_LOCALES
from app.unsubscribe.reasons import BUILT_IN_LABELS, ReasonCatalog

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"

HEADINGS = {"en": "Unsubscribe", "de": "Abmelden", "fr": "Se désabonner", "es": "Darse de baja"}
REASON_TEXT = {
    "en": "I get too many emails",
    "de": "Ich erhalte zu viele E-Mails",
    "fr": "Je reçois trop d’e-mails",
    "es": "Recibo demasiados correos",
}
DONE = {
    "en": "You are unsubscribed",
    "de": "Sie sind abgemeldet",
    "fr": "Désabonnement confirmé",
    "es": "Se ha dado de baja",
}


def _cldr_long_date(day: date, language: str) -> str:
    """Babel's long date, with French's "1er" on the first of a month (which CLDR writes as "1")."""
    written = babel_dates.format_date(day, "long", locale=language)
    if language == "fr" and day.day == 1:
        return written.replace("1 ", "1er ", 1)
    return written


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


@pytest.mark.parametrize(
    ("loc", "query", "accept", "default", "expected"),
    [
        ("de", "?lang=fr", "es", "en", "de"),  # the link's language first
        ("fr-CA", "", "de", "en", "fr"),  # regional tags fall back to the language
        (None, "?lang=fr", "es", "de", "fr"),  # then ?lang=
        ("xx", "?lang=es", "de", "en", "es"),  # an unsupported loc is passed over
        (None, "", "es-MX,es;q=0.9,en;q=0.5", "de", "es"),  # then Accept-Language
        (None, "?lang=zz", "pt-BR,de;q=0.8", "en", "de"),  # best supported match
        (None, "", "ja", "fr", "fr"),  # then DEFAULT_LOCALE
        (None, "", "", "de-CH", "de"),
        (None, "", "", "pt", "en"),  # and English when the default is not one we speak
    ],
)
def test_language_order(
    make_app: Any, loc: str | None, query: str, accept: str, default: str, expected: str
) -> None:
    client = make_app(DEFAULT_LOCALE=default).test_client()
    url = link(subscriber_key="demo-001", locale=loc, **NEWSLETTER) + query.replace("?", "&")
    html = client.get(url, headers={"Accept-Language": accept} if accept else {}).get_data(as_text=True)
    assert _lang(html) == expected
    assert f"<h1>{HEADINGS[expected]}</h1>" in html


@pytest.mark.parametrize("language", SUPPORTED_LOCALES)
def test_every_page_speaks_the_language_including_reasons_and_dates(
    client: FlaskClient, language: str
) -> None:
    url = link(subscriber_key="demo-002", locale=language, **NEWSLETTER_BATCH_1)
    form = client.get(url).get_data(as_text=True)
    assert _lang(form) == language and REASON_TEXT[language] in form
    result = client.post(url, data={"scope": "list", "reason": "too_many"}).get_data(as_text=True)
    assert _lang(result) == language and DONE[language] in result
    assert _cldr_long_date(date.today(), language) in result  # "Recorded on …" (BRAND_TIMEZONE is UTC)
    invalid = client.get("/unsubscribe?t=x", headers={"Accept-Language": language}).get_data(as_text=True)
    assert _lang(invalid) == language
    index = client.get(f"/?lang={language}").get_data(as_text=True)
    assert _lang(index) == language


def test_the_recorded_date_is_formatted_for_the_language(app: Flask) -> None:
    with app.test_request_context("/?lang=de"):
        from flask_babel import format_date

        assert format_date(date(2026, 11, 25), "long") == "25. November 2026"


@pytest.mark.parametrize("language", SUPPORTED_LOCALES)
def test_the_pages_long_date_is_written_as_each_language_writes_it(app: Flask, language: str) -> None:
    """The result page's ``long_date``, for every month of every shipped language, a date and a datetime:
    what Babel itself writes (``app/unsubscribe/dates.py`` keeps its own copy of CLDR's month names), with
    French's "1er" on the first of a month."""
    from datetime import UTC, datetime

    from app.unsubscribe.dates import long_date

    with app.test_request_context(f"/?lang={language}"):
        for month in range(1, 13):
            for day in (1, 9, 28):
                expected = _cldr_long_date(date(2026, month, day), language)
                assert long_date(datetime(2026, month, day, 23, 30, tzinfo=UTC)) == expected
                assert long_date(date(2026, month, day)) == expected
    with app.test_request_context("/?lang=de"):
        assert long_date(date(2026, 11, 25)) == "25. November 2026"
    with app.test_request_context("/?lang=fr"):
        assert long_date(date(2026, 12, 1)) == "1er décembre 2026"
        assert long_date(date(2026, 12, 11)) == "11 décembre 2026"


@pytest.mark.parametrize(
    ("zone", "language", "expected"),
    [
        (None, "fr", "30 novembre 2026"),  # the default, UTC
        ("Europe/Paris", "fr", "1er décembre 2026"),  # 00:30 in Paris: already the next day there
        ("europe/berlin", "de", "1. Dezember 2026"),  # the name as the tz database spells it, any case
        ("America/New_York", "en", "November 30, 2026"),  # 18:30 the day before
        ("Pacific/Kiritimati", "es", "1 de diciembre de 2026"),  # UTC+14
    ],
)
def test_the_recorded_date_is_the_brands_day(
    make_app: Any, zone: str | None, language: str, expected: str
) -> None:
    """A request recorded at 23:30 UTC on 30 November is shown on the day it was where the brand is."""
    from datetime import UTC, datetime

    from flask import render_template_string

    app = make_app(**({"BRAND_TIMEZONE": zone} if zone else {}))
    instant = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    with app.test_request_context(f"/?lang={language}"):
        page = render_template_string("{{ _('Recorded on %(date)s.', date=when | long_date) }}", when=instant)
    assert expected in page


def test_a_business_units_own_timezone_wins_for_its_links(make_app: Any) -> None:
    """``BRAND_<MID>_TIMEZONE`` (the units' brand settings, ``config["BRAND_UNITS"]``) for a link of that
    unit (``g.link_mid``); every other page keeps ``BRAND_TIMEZONE``."""
    from datetime import UTC, datetime

    from flask import g

    from app.unsubscribe.dates import long_date

    app = make_app(BRAND_TIMEZONE="America/New_York")
    app.config["BRAND_UNITS"] = {"510001001": {"BRAND_TIMEZONE": "Asia/Tokyo"}}
    instant = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    for mid, expected in (
        (510001001, "1er décembre 2026"),
        (510001000, "30 novembre 2026"),
        (None, "30 novembre 2026"),
    ):
        with app.test_request_context("/?lang=fr"):
            g.link_mid = mid
            assert long_date(instant) == expected, mid


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "CET+1", "../../etc/passwd", "Euro"])
def test_a_brand_timezone_that_is_not_an_iana_name_stops_start_up_with_its_name(zone: str) -> None:
    from config import ConfigError, load_config, timezone_name

    with pytest.raises(ValueError, match="IANA"):
        timezone_name(zone)
    with pytest.raises(ConfigError) as raised:
        load_config({"BRAND_TIMEZONE": zone})
    assert any(problem.startswith("BRAND_TIMEZONE is invalid") for problem in raised.value.problems)


def test_an_empty_brand_timezone_is_utc() -> None:
    from config import timezone_name

    assert timezone_name(" ") == timezone_name("utc") == "UTC"
    assert timezone_name(" Europe/Berlin ") == "Europe/Berlin"


def test_one_click_answer_follows_accept_language(client: FlaskClient) -> None:
    response = client.post(
        link(subscriber_key="demo-003", **NEWSLETTER),
        data={"List-Unsubscribe": "One-Click"},
        headers={"Accept-Language": "de"},
    )
    assert response.get_data(as_text=True) == "Sie sind abgemeldet.\n"


def _messages(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return {message.id: message for message in read_po(handle) if message.id}


def test_the_template_catalog_holds_every_text_of_the_code_and_templates() -> None:
    """Every text babel.cfg names (the code, the pages' and the error pages' templates) is in the .pot."""
    keywords = {
        "_": None,
        "gettext": None,
        "lazy_gettext": None,
        "ngettext": (1, 2),
        "N_": None,
        "pgettext": ((1, "c"), 2),
    }
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    assert ("app/ops/templates/**.html", "jinja2") in method_map  # the error pages' own templates
    found = {
        message
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, options_map=options_map, keywords=keywords
        )
        if isinstance(message, str)
    }
    assert found == set(_messages(TRANSLATIONS / "messages.pot"))
    assert {"Bad request", "Please try again", "Reference"} <= found


@pytest.mark.parametrize("language", SUPPORTED_LOCALES)
def test_each_catalog_is_complete_and_its_mo_matches(language: str) -> None:
    po_path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    template = _messages(TRANSLATIONS / "messages.pot")
    translated = _messages(po_path)
    assert set(translated) == set(template)
    for msgid, message in translated.items():
        assert message.string, f"{language}: {msgid!r} is not translated"
        assert not message.fuzzy, f"{language}: {msgid!r} is fuzzy"
        placeholders = set(re.findall(r"%\(\w+\)s", msgid))
        assert set(re.findall(r"%\(\w+\)s", message.string)) == placeholders, (language, msgid)
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = {message.id: message.string for message in read_mo(handle) if message.id}
    assert compiled == {msgid: message.string for msgid, message in translated.items()}
    if language != "en":
        assert sum(m.string != msgid for msgid, m in translated.items()) > 0.9 * len(translated)


def test_shown_reason_labels_are_page_texts_apart_from_the_report_labels(app: Flask) -> None:
    """The page shows its own wording of each reason (context "reason" in the catalogs); Marketing Cloud's
    reports get the journal's English label whatever the page says, so rewording a page changes no report."""
    assert set(BUILT_IN_LABELS) == set(ENGLISH_REASONS)
    catalog = ReasonCatalog.with_content()
    with app.test_request_context("/"), force_locale("en"):
        shown = {code: catalog.label(code, "en") for code in ENGLISH_REASONS}
        assert {code: catalog.report_label(code) for code in ENGLISH_REASONS} == ENGLISH_REASONS
    assert shown["too_many"] == "I get too many emails" != ENGLISH_REASONS["too_many"]
    with app.test_request_context("/"), force_locale("de"):
        assert catalog.label("never_signed_up", "de") == "Ich habe mich nie angemeldet"
        assert catalog.report_label("never_signed_up") == "Never signed up"
    template = _messages(TRANSLATIONS / "messages.pot")
    for label in shown.values():
        assert template[label].context == "reason", label


def test_template_gettext_translates_escapes_and_formats_like_jinjas_own(app: Flask) -> None:
    """``_()``, ``gettext()`` and ``{% trans %}`` in a marketer's template: translated, variables escaped."""
    from flask import render_template_string
    from flask_babel import gettext

    source = (
        '{{ _("Unsubscribe") }}|{{ gettext("Unsubscribe") }}|{% trans %}Unsubscribe{% endtrans %}|'
        '{{ _("Email preferences for %(brand)s", brand="<b>&") }}|{% trans brand="<i>" %}'
        "Email preferences for {{ brand }}{% endtrans %}"
    )
    with app.test_request_context("/?lang=de"):
        rendered = render_template_string(source).split("|")
        german = gettext("Email preferences for %(brand)s", brand="BRAND")
    assert rendered[:3] == [HEADINGS["de"]] * 3
    assert rendered[3] == german.replace("BRAND", "&lt;b&gt;&amp;")
    assert rendered[4] == german.replace("BRAND", "&lt;i&gt;")
    assert german != "Email preferences for BRAND"
