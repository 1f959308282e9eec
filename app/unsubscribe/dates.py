"""The long date on the result page ("Recorded on 25 November 2026"): Babel's CLDR "long" format.

The ``long_date`` filter is Flask-Babel's ``format_date(value, "long")``: the request's language, and a
datetime in the user's timezone first. It keeps its own name because marketers' templates use it
(docs/pages.md).

Babel reads a language's CLDR data the first time it formats in it (a few MiB of Python objects).
``load_date_data`` reads it for our languages when the app is built: under gunicorn's ``preload_app`` that
is once, in the master, and every worker shares those pages instead of loading its own copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from babel import dates as babel_dates
from flask_babel import format_date


def long_date(value: date | datetime) -> str:
    """``value`` as the request's language writes a long date (Flask-Babel's ``dateformat("long")``)."""
    return format_date(value, "long")


def load_date_data(languages: Iterable[str]) -> None:
    """Read Babel's data for the long dates of ``languages`` now, before any worker is forked."""
    for language in languages:
        babel_dates.format_date(date(2000, 1, 1), "long", locale=language)
