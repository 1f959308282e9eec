"""The long date on the result page ("Recorded on 25 November 2026") without loading Babel's CLDR data.

Flask-Babel's ``dateformat`` filter loads Babel's global data and the locale's data the first time a worker
formats a date: about 3.5 MiB of Python objects per worker process, for one date on one page. The four
languages we speak need only their "long" pattern and their month names, copied here from CLDR (Babel
2.18); ``tests/flow/test_flow_languages.py`` checks every month of every language against Babel itself.
Any other language falls back to Flask-Babel.
"""

from __future__ import annotations

from datetime import date, datetime

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


def long_date(value: date | datetime) -> str:
    """``value`` as the request's language writes a long date; a datetime in the user's timezone first,
    exactly as Flask-Babel's ``dateformat("long")`` does."""
    locale = get_locale()
    known = LONG_DATES.get(str(locale)) if locale is not None else None
    if known is None or not isinstance(value, date):
        return format_date(value, "long")
    if isinstance(value, datetime):
        value = to_user_timezone(value)
    pattern, months = known
    return pattern.format(day=value.day, month=months[value.month - 1], year=value.year)
