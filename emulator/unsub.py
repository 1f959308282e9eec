"""LogUnsubEvent (Execute): the rules of the seed pages, applied in the unit the request acts in.

docs/emulator.md ("LogUnsubEvent: the rules it applies") lists them in order with the emulator's choices where
the pages are silent; each is a test in tests/emulator/test_emulator_rules.py. An "all email" unsubscribe
(no job context, or the unit's All Subscribers list) goes through ``memberships.master_unsubscribe`` and so
follows the unit's MasterUnsubscribeBehavior.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .memberships import list_status, master_unsubscribe, set_list_status
from .model import UNSUBSCRIBED, Job, Subscriber, utc_now
from .soap import OBJECT_REFERENCE, ExecuteResult

if TYPE_CHECKING:
    from .state import Account

DEFAULT_REASON = "Unsubscribed via Log Unsub Event Execute call"
SUBSCRIBER_ID, SUBSCRIBER_KEY, EMAIL = "SubscriberID", "SubscriberKey", "EmailAddress"
IDENTIFIERS = (SUBSCRIBER_ID, SUBSCRIBER_KEY, EMAIL)
PARAMETERS = (*IDENTIFIERS, "JobID", "ListID", "BatchID", "Reason")
_PARAMETERS_BY_LOWER = {name.lower(): name for name in PARAMETERS}
# The code for "the identifiers refer to different subscribers" names the identifier used for the lookup.
MISMATCH_CODES = {SUBSCRIBER_ID: 405, SUBSCRIBER_KEY: 406, EMAIL: 407}


def to_int(value: str) -> int | None:
    """The number in ``value`` (spaces allowed around it), else None: non-numeric IDs never match."""
    try:
        return int(value.strip())
    except ValueError:
        return None


def _error(code: int, message: str) -> ExecuteResult:
    return ExecuteResult("Error", message, code)


def log_unsub_event(account: Account, mid: int, parameters: list[tuple[str, str]]) -> ExecuteResult:
    """Unsubscribe a subscriber of unit ``mid`` and log the UnsubEvent, per the seed pages."""
    values: dict[str, str] = {}
    for raw_name, raw_value in parameters:
        name = _PARAMETERS_BY_LOWER.get(raw_name.lower())
        if name is not None and name != raw_name:
            return ExecuteResult("Error", OBJECT_REFERENCE)  # Names are case-sensitive.
        value = raw_value.strip()
        if name is not None and value and name not in values:  # the first non-empty occurrence counts
            values[name] = value
    if not values:
        return _error(402, "The Parameters array held no values, or none of the parameters looked for.")
    identifiers = [name for name in values if name in IDENTIFIERS]  # in document order
    if not identifiers:
        return _error(403, "EmailAddress, SubscriberKey and SubscriberID are all missing or empty.")
    key_permission = account.permission(mid)
    if key_permission and identifiers == [EMAIL]:
        return _error(404, "The SubscriberKey permission is on: supply SubscriberKey or SubscriberID too.")

    # The lookup key is the first identifier in the request; with the SubscriberKey permission on, email
    # addresses are not unique, so EmailAddress is never the lookup key then.
    lookup = next(n for n in identifiers if not (key_permission and n == EMAIL))
    subscriber = account.find_subscriber(mid, lookup, values[lookup])
    if subscriber is None:
        return _error(400, f"The subscriber could not be found by {lookup}.")
    for other in identifiers:
        if other != lookup and not matches(subscriber, other, values[other]):
            return _error(
                MISMATCH_CODES[lookup],
                f"{other} does not refer to the subscriber found by {lookup}.",
            )
    if subscriber.status == UNSUBSCRIBED:
        return _error(12012, "OnMasterUnsubscribeList")

    reason = values.get("Reason", DEFAULT_REASON)
    job_text, list_text, batch_text = values.get("JobID"), values.get("ListID"), values.get("BatchID")
    job: Job | None = None
    batch: int | None = None
    if job_text is not None:
        job_id = to_int(job_text)
        job = account.jobs.get(job_id) if job_id is not None else None
        sends = account.sends_of(subscriber, job) if job is not None and job.mid == mid else []
        if batch_text is not None:
            sends = [s for s in sends if s.batch_id == to_int(batch_text)]
        if not sends:
            return _error(400, "The subscriber could not be found on the specified JobID.")
        batch = sends[-1].batch_id
    elif list_text is not None:
        # ListID without JobID: the most recent job the subscriber was sent (maybe not the one acted on).
        latest = account.latest_send(subscriber)
        if latest is not None:
            job = account.jobs[latest.job_id]
            batch = to_int(batch_text) if batch_text is not None else latest.batch_id
    else:
        # No job context (nothing, or BatchID alone): master unsubscribe, no UnsubEvent.
        master_unsubscribe(account, subscriber)
        return ExecuteResult("OK", "Event posted")

    if list_text is not None:
        list_id = to_int(list_text)
        mailing_list = account.lists.get(list_id) if list_id is not None else None
        if mailing_list is None or mailing_list.mid != mid:
            return _error(400, "The specified ListID could not be found.")
    else:
        assert job is not None  # JobID given: the list is the one the job was sent to
        mailing_list = account.lists[job.list_id]
    if mailing_list.type == "suppression":
        text = f"List {mailing_list.id} is a suppression list: use a subscriber or publication list."
        return _error(400, text)

    if mailing_list.type == "all_subscribers":
        master_unsubscribe(account, subscriber)  # the All Subscribers list: a master unsubscribe
    elif list_status(subscriber, mailing_list) == UNSUBSCRIBED:
        return _error(401, "Subscriber is already unsubscribed")
    else:
        set_list_status(mailing_list, subscriber, UNSUBSCRIBED)
    if job is not None:
        account.events.append(
            {
                "subscriber_id": str(subscriber.id),
                "subscriber_key": subscriber.key,
                "email": subscriber.email,
                "job_id": str(job.id),
                "list_id": str(mailing_list.id),
                "batch_id": "" if batch is None else str(batch),
                "mid": str(mid),
                "reason": reason,
                "time": utc_now(),
            }
        )
    return ExecuteResult("OK", "Event posted")


def matches(subscriber: Subscriber, name: str, value: str) -> bool:
    """Whether identifier ``name`` = ``value`` refers to ``subscriber`` (emails case-insensitively)."""
    if name == SUBSCRIBER_ID:
        return to_int(value) == subscriber.id
    if name == SUBSCRIBER_KEY:
        return value == subscriber.key
    return value.lower() == subscriber.email.lower()
