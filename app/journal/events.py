"""What a journaled request becomes on the wire: the LogUnsubEvent, its job context and its ``Reason``, or
for a list change the Subscriber Update of that list's status.

Pure functions, no I/O. Two rules of Marketing Cloud shape them:

- Every business unit has its own All Subscribers list, and a ListID is only found in its own unit: sending
  the parent's list with a child's ``Client/ID`` is refused (ErrorCode 400) and the person stays
  subscribed. So "all marketing email" uses the All Subscribers list *of the entry's unit* when it is
  configured, and otherwise no job context at all (a plain master unsubscribe, which always works).
- Marketing Cloud keeps the reason in ``UnsubReason``, Text(100) (an nvarchar: UTF-16 code units). The
  ``Reason`` sent is cut to 100 UTF-16 code units between grapheme clusters, without format controls;
  the person's full text stays in the journal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import regex

from app.identity import Recipient
from app.sfmc.models import LogUnsubEvent
from app.sfmc.objects import ListStatusChange

from .models import REASON_LABELS, Action, Scope, Source, UnsubscribeRequest

ONE_CLICK_REASON = "One-click unsubscribe (RFC 8058)"
NO_REASON = "Profile Center: No reason given"
#: ``UnsubReason`` is Text(100) in Marketing Cloud; counted in UTF-16 code units, as SQL Server's
#: nvarchar does (an emoji outside the BMP counts 2), so it also fits a count of code points.
MAX_REASON_UNITS = 100
ELLIPSIS = "…"

# Characters XML 1.0 cannot carry; a pasted free text must never make the whole batch unbuildable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Format controls (Cf: bidi marks, embeddings, overrides and isolates, soft hyphen, BOM, ...) and other
# controls (Cc) are invisible or reorder the text around them in a report. Kept: ZWJ and ZWNJ (they join
# or part letters and emoji inside one cluster) and tag characters (subdivision flags; strays go below).
_FORMAT = regex.compile(r"[[\p{Cf}\p{Cc}]--[\u200c\u200d\U000E0020-\U000E007F]]", flags=regex.V1)
_STRAY_TAGS = regex.compile(r"(?<!\U0001F3F4[\U000E0020-\U000E007F]*)[\U000E0020-\U000E007F]")
_CLUSTER = regex.compile(r"\X")
_DIGITS = re.compile(r"[0-9]{1,19}")


def utf16_units(text: str) -> int:
    """Length as SQL Server's nvarchar counts it."""
    return len(text.encode("utf-16-le")) // 2


def clean_free_text(text: str | None) -> str:
    """A person's free text as Marketing Cloud's report shows it: one line, visible characters only."""
    text = " ".join(_NOT_XML.sub("", text or "").split())
    text = _STRAY_TAGS.sub("", _FORMAT.sub("", text))
    return " ".join(text.split())


def fit_reason(reason: str, limit: int = MAX_REASON_UNITS) -> str:
    """``reason`` within ``limit`` UTF-16 code units, cut between grapheme clusters, ``…`` when cut.

    A cluster (a ZWJ family emoji, a flag, a letter with its accents) is kept whole or dropped whole.
    """
    if utf16_units(reason) <= limit:
        return reason
    budget = limit - utf16_units(ELLIPSIS)
    kept: list[str] = []
    for cluster in _CLUSTER.findall(reason):
        units = utf16_units(cluster)
        if units > budget:
            break
        kept.append(cluster)
        budget -= units
    return "".join(kept).rstrip() + ELLIPSIS


def reason_text(request: UnsubscribeRequest) -> str:
    """The English ``Reason`` Marketing Cloud shows in its reports (contract in docs/architecture.md):
    ``reason_label`` when the request has one, else the label of its ``reason_code``."""
    if request.source is Source.ONE_CLICK:
        return ONE_CLICK_REASON
    # A marketer's own reason code carries its English label from the POST (``reason_label``).
    label = clean_free_text(request.reason_label)
    if not label and not request.reason_code:
        return NO_REASON
    label = label or REASON_LABELS.get(request.reason_code or "", REASON_LABELS["other"])
    reason = f"Profile Center: {label}"
    free_text = clean_free_text(request.reason_text)
    if request.reason_code == "other" and free_text:
        reason = f"{reason}: {free_text}"
    return fit_reason(reason)


def _mid_text(value: Any) -> str | None:
    """A MID as canonical decimal text (``" 0510001001"`` and ``510001001`` name one unit), or None."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    return str(int(text)) if text.isdecimal() else text


@dataclass(frozen=True)
class AllSubscribersLists:
    """Which All Subscribers ListID belongs to which business unit.

    ``by_mid`` is ``SFMC_ALL_SUBSCRIBERS_LISTS``; ``token_unit_list`` (``SFMC_ALL_SUBSCRIBERS_LIST_ID``)
    belongs to the unit the token acts in: entries without a MID, or with ``token_mid``
    (``SFMC_ACCOUNT_ID``). Any other unit whose list is not configured gets None: never another unit's list.
    """

    by_mid: Mapping[str, str] = field(default_factory=dict)
    token_unit_list: str | None = None
    token_mid: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AllSubscribersLists:
        """The lists of the app's settings (a mapping, ``MID:ListID`` texts, or one comma-separated text)."""
        pairs: Iterable[Any] = config.get("SFMC_ALL_SUBSCRIBERS_LISTS") or ()
        if isinstance(pairs, Mapping):
            pairs = (f"{mid}:{list_id}" for mid, list_id in pairs.items())
        elif isinstance(pairs, str):
            pairs = pairs.split(",")
        by_mid: dict[str, str] = {}
        for pair in pairs:
            mid_text, _, list_id = str(pair).partition(":")
            mid = _mid_text(mid_text)
            if mid is not None and list_id.strip():
                by_mid[mid] = list_id.strip()
        token_list = str(config.get("SFMC_ALL_SUBSCRIBERS_LIST_ID") or "").strip()
        return cls(
            by_mid=by_mid,
            token_unit_list=token_list or None,
            token_mid=_mid_text(config.get("SFMC_ACCOUNT_ID")),
        )

    def for_mid(self, mid: str | None) -> str | None:
        """The All Subscribers ListID of the unit an entry with ``mid`` acts in; None when not known."""
        unit = _mid_text(mid) or self.token_mid
        if unit is not None and unit in self.by_mid:
            return self.by_mid[unit]
        if unit is None or unit == self.token_mid:
            return self.token_unit_list
        return None


def to_event(
    request: UnsubscribeRequest, *, all_subscribers: AllSubscribersLists | None = None
) -> LogUnsubEvent:
    """Map a journaled request to the LogUnsubEvent Marketing Cloud should receive.

    ``Scope.LIST`` sends the job context from the link. ``Scope.ALL`` sends JobID/BatchID with the All
    Subscribers list of the entry's own business unit when that is known (a master unsubscribe tracked
    against the job), otherwise no job context at all (Marketing Cloud then master-unsubscribes without an
    UnsubEvent).
    """
    recipient = request.recipient
    if request.scope is Scope.ALL:
        list_for_all = (all_subscribers or AllSubscribersLists()).for_mid(recipient.mid)
        recipient = replace(recipient, list_id=list_for_all) if list_for_all else recipient.without_job()
    return LogUnsubEvent(recipient.without_blanks(), reason=reason_text(request))


def to_change(request: UnsubscribeRequest) -> ListStatusChange | str:
    """The Subscriber Update a list change becomes (a ``ListStatusChange``), or the text of why it cannot
    be sent (it is then rejected without a call).

    Only the SubscriberKey and the MID (``Client/ID``) name the subscriber: an Update that carried the
    link's EmailAddress would also *change* the subscriber's address to it, and a link can be old.
    """
    who = request.recipient.without_blanks()
    if not who.subscriber_key:
        return "a list change needs the SubscriberKey"
    list_id = (request.target_list_id or "").strip()
    if not _DIGITS.fullmatch(list_id):
        return "the list's ID is not a number"
    status = "Unsubscribed" if request.action is Action.LIST_UNSUBSCRIBE else "Active"
    return ListStatusChange(
        recipient=Recipient(subscriber_key=who.subscriber_key, mid=who.mid),
        list_id=int(list_id),
        status=status,
    )
