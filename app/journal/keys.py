"""The keys an entry is stored under: whose changes line up behind each other, which list they touch, and
when a new request is a double submit of an earlier one.

- ``person_key``: one person (SubscriberKey, else SubscriberID, else email — the first the link names —
  and the business unit). A person's pending entries are delivered oldest first, one after another (head
  of line), so "unsubscribe, resubscribe, unsubscribe" of one list reaches Marketing Cloud in that order.
- ``target_key``: what an entry changes: ``list:<ID>`` (the email's own list, or a list change's
  ``target_list_id``: both are the same subscription), ``job:<ID>`` (a link with a JobID and no ListID), or
  ``all`` (all email).
- ``dedupe_base`` and ``dedupe_key``: the same person, unit, send, scope, action and list give the same
  base. A request collapses into a pending entry only when it is identical to that person's latest change
  of the same target: the key also names the latest entry of that target that was *different* (its id),
  so "unsubscribe, resubscribe, unsubscribe" makes three keys while a double click makes one, and a
  retried commit finds its own entry again.

``queries.BACKFILL_KEYS`` computes ``person_key`` and ``target_key`` of the entries a v2 journal holds
with the same rules in SQL; a test holds the two in step. An UNSUBSCRIBE's base is the v2 ``dedupe_key``
itself, so a v2 entry still pending collapses a new identical request as before the upgrade.
"""

from __future__ import annotations

import hashlib
import json

from .models import Action, Scope, UnsubscribeRequest


def person_key(request: UnsubscribeRequest) -> str | None:
    """Who the entry is about, for head-of-line order; None when the request names nobody."""
    who = request.recipient
    if who.subscriber_key:
        person = f"k:{who.subscriber_key}"
    elif who.subscriber_id:
        person = f"i:{who.subscriber_id}"
    elif who.email:
        person = f"e:{who.email}"
    else:
        return None
    return f"{person}|{who.mid or ''}"


def target_key(request: UnsubscribeRequest) -> str:
    """The subscription the entry changes (a list, a send's list found by its job, or all email)."""
    if request.action.changes_a_list:
        if not request.target_list_id:
            raise ValueError(f"a {request.action} request needs target_list_id")
        return f"list:{request.target_list_id}"
    if request.scope is Scope.ALL:
        return "all"
    if request.recipient.list_id:
        return f"list:{request.recipient.list_id}"
    return f"job:{request.recipient.job_id or ''}"


def dedupe_base(request: UnsubscribeRequest) -> str:
    """One value per "same person + unit + send + scope + action + list" (the v2 key for UNSUBSCRIBE)."""
    who = request.recipient
    identity = [
        (who.subscriber_key or "").strip(),
        (who.subscriber_id or "").strip(),
        (who.email or "").strip().lower(),
        (who.mid or "").strip(),
        (who.job_id or "").strip(),
        (who.list_id or "").strip(),
        str(request.scope),
    ]
    if request.action is not Action.UNSUBSCRIBE:
        identity += [str(request.action), (request.target_list_id or "").strip()]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def dedupe_key(base: str, previous_other: int | None) -> str:
    """The idempotency key of a request with ``base`` whose target's latest *different* entry is
    ``previous_other`` (None: there is none)."""
    if previous_other is None:
        return base
    return hashlib.sha256(f"{base}:{previous_other}".encode()).hexdigest()
