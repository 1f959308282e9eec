"""The long date on the result page ("Recorded on 25 November 2026"): our own copy of CLDR's month names.

Kept instead of Babel's ``format_date`` because of memory (a measured need, not a guess): with Babel the
four languages' CLDR data costs each app worker 1–1.5 MiB of PSS and USS even when it is loaded once in the
preloaded master (the pages a worker touches become its own), and that alone took the refactor's worker
memory past its +10 % bound (`python -m bench.http`, docs/benchmarks.md, "The whole simpler-house refactor,
side by side"). The four languages need only their "long" pattern and their month names, copied from CLDR
(Babel 2.18); ``tests/flow/test_flow_languages.py`` checks every month of every language against Babel
itself. Any other language falls back to Flask-Babel.

Two things on top of CLDR: French writes the first of a month as an ordinal ("1er décembre 2026", the
usual French rule, which CLDR's plain "1 décembre" lacks), and a datetime is shown on the day it is in
the brand's time zone (``BRAND_TIMEZONE``, through Flask-Babel's time-zone selector), so a visitor just after
local midnight does not see yesterday's date.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app, g, has_request_context
from flask_babel import format_date, get_locale, to_user_timezone

#: Per language: the CLDR "long" date pattern as a format string, and the wide month names (format context).
LONG_DATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "en": (
        "{month} {day}, {year}",
        (
            "January", "February", "March", "April", "May", "June",
            "July", "August", "September", "October", "November", "December",
        ),
    ),
    "de": (
        "{day}. {month} {year}",
        (
            "Januar", "Februar", "März", "April", "Mai", "Juni",
            "Juli", "August", "September", "Oktober", "November", "Dezember",
        ),
    ),
    "fr": (
        "{day} {month} {year}",
        (
            "janvier", "février", "mars", "avril", "mai", "juin",
            "juillet", "août", "septembre", "octobre", "novembre", "décembre",
        ),
    ),
    "es": (
        "{day} de {month} de {year}",
        (
            "enero", "febrero", "marzo", "abril", "mayo", "junio",
            "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
        ),
    ),
}  # fmt: skip

#: How a language writes day 1 when it is not just the number.
FIRST_OF_MONTH: dict[str, str] = {"fr": "1er"}


def brand_timezone() -> str:
    """Flask-Babel's time-zone selector: the zone of the page's brand, so every date a page writes
    (``long_date``, a template's own ``dateformat``) is that brand's local day.

    ``BRAND_TIMEZONE``, or the link's business unit's own ``BRAND_<MID>_TIMEZONE`` when it sets one (the
    units' brand settings are ``config["BRAND_UNITS"]``, keyed by MID; ``g.link_mid`` is the link's unit).
    """
    config = current_app.config
    zone = config.get("BRAND_TIMEZONE") or "UTC"
    mid = g.get("link_mid") if has_request_context() else None
    if mid is not None:
        unit = (config.get("BRAND_UNITS") or {}).get(str(mid)) or {}
        zone = unit.get("BRAND_TIMEZONE") or zone
    return zone


def long_date(value: date | datetime) -> str:
    """``value`` as the request's language writes a long date; a datetime in the brand's time zone first,
    exactly as Flask-Babel's ``dateformat("long")`` does (naive datetimes are UTC)."""
    locale = get_locale()
    known = LONG_DATES.get(str(locale)) if locale is not None else None
    if known is None or not isinstance(value, date):
        return format_date(value, "long")
    if isinstance(value, datetime):
        value = to_user_timezone(value)
    pattern, months = known
    day = FIRST_OF_MONTH.get(str(locale), "1") if value.day == 1 else str(value.day)
    return pattern.format(day=day, month=months[value.month - 1], year=value.year)
