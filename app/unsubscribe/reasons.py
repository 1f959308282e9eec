"""The reasons a person may give and their translated labels.

The msgids are the English labels of ``app.journal.models.REASON_LABELS`` word for word: the page shows
their translation, and the journal sends the English label to Marketing Cloud's reports.
"""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext

logger = logging.getLogger(__name__)

OTHER = "other"
MAX_OTHER_CHARS = 500

REASON_LABELS = {
    "too_many": lazy_gettext("Too many emails"),
    "not_relevant": lazy_gettext("Content not relevant"),
    "never_signed_up": lazy_gettext("Never signed up"),
    "no_longer_interested": lazy_gettext("No longer interested"),
    OTHER: lazy_gettext("Other"),
}


def configured_reasons(codes: tuple[str, ...]) -> tuple[str, ...]:
    """The configured codes we have labels for, in order; unknown codes are dropped with a warning."""
    for code in codes:
        if code not in REASON_LABELS:
            logger.warning("UNSUB_REASONS names an unknown reason %r; it is not offered", code)
    return tuple(code for code in codes if code in REASON_LABELS)
