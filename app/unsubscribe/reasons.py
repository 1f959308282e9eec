"""The reasons a person may give: what the form shows, and the label Marketing Cloud's reports get.

Two labels per reason, kept apart on purpose: the **shown** label is a page text (translated, worded for
the person: "I get too many emails") and the **report** label is the English text the journal sends as
``Profile Center: <label>`` ("Too many emails", ``app.journal.models.REASON_LABELS``). Rewording a page,
in any language, never changes a report. The shown labels of the built-in codes are context-qualified
catalog messages (``pgettext("reason", …)``), so they never share an entry with another text.

A marketer's ``content.toml`` (``content.py``) may relabel the built-in codes per language and add codes
of their own, each with its own report label.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from flask_babel import pgettext

from app.journal.models import REASON_LABELS as REPORT_LABELS

logger = logging.getLogger(__name__)

OTHER = "other"
#: The longest free text a person may write with "another reason" (the form and its texts say this number).
MAX_OTHER_CHARS = 500
#: Where the app keeps its ReasonCatalog (``app.extensions``).
REASONS_KEY = "unsubscribe_reason_catalog"


def _too_many() -> str:
    return pgettext("reason", "I get too many emails")


def _not_relevant() -> str:
    return pgettext("reason", "The content is not relevant to me")


def _never_signed_up() -> str:
    return pgettext("reason", "I never signed up")


def _no_longer_interested() -> str:
    return pgettext("reason", "I am no longer interested")


def _other() -> str:
    return pgettext("reason", "Another reason")


#: Built-in code -> its shown label in the page's language (a function: translated when the page is drawn).
BUILT_IN_LABELS: dict[str, Callable[[], str]] = {
    "too_many": _too_many,
    "not_relevant": _not_relevant,
    "never_signed_up": _never_signed_up,
    "no_longer_interested": _no_longer_interested,
    OTHER: _other,
}


@dataclass(frozen=True)
class Reason:
    """One reason code: its report label and the marketer's shown labels by language (may be empty)."""

    code: str
    report_label: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def label(self, locale: str) -> str:
        """The shown label in ``locale``: the marketer's, else the built-in translation, else the marketer's
        English one, else the report label."""
        if locale in self.labels:
            return self.labels[locale]
        if self.code in BUILT_IN_LABELS:
            return BUILT_IN_LABELS[self.code]()
        return self.labels.get("en") or self.report_label


@dataclass(frozen=True)
class ReasonCatalog:
    """Every reason code this deployment knows: the built-in ones and the content file's."""

    reasons: Mapping[str, Reason]

    @classmethod
    def with_content(cls, own: Mapping[str, Reason] | None = None) -> ReasonCatalog:
        """The built-in reasons, each replaced or extended by the content file's entry of that code."""
        reasons = {code: Reason(code, label) for code, label in REPORT_LABELS.items()}
        reasons.update(own or {})
        return cls(reasons)

    def offered(self, codes: tuple[str, ...]) -> tuple[str, ...]:
        """The configured codes we know, in order; unknown codes are dropped with a warning."""
        for code in codes:
            if code not in self.reasons:
                logger.warning(
                    "UNSUB_REASONS names an unknown reason %r (neither built in nor in content.toml); "
                    "it is not offered",
                    code,
                )
        return tuple(code for code in codes if code in self.reasons)

    def label(self, code: str, locale: str) -> str:
        return self.reasons[code].label(locale)

    def report_label(self, code: str) -> str:
        return self.reasons[code].report_label


def reason_catalog() -> ReasonCatalog:
    """The app's catalog (built-ins only outside an app, e.g. in a unit test of the form)."""
    if has_app_context() and REASONS_KEY in current_app.extensions:
        return current_app.extensions[REASONS_KEY]
    return ReasonCatalog.with_content()


def configured_reasons(codes: tuple[str, ...], catalog: ReasonCatalog | None = None) -> tuple[str, ...]:
    """The configured codes the catalog knows (the built-in ones unless given), in order."""
    return (catalog or ReasonCatalog.with_content()).offered(codes)
