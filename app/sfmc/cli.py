"""``flask sfmc …``: check the Marketing Cloud connection, log one unsubscribe by hand (support desks),
show a unit's lists and a person's memberships (ops checking a setup).

Exit status: 0 when the person is unsubscribed (or already was) / the connection works / the lists or
memberships were read; 1 when Marketing Cloud answered but did not unsubscribe (rejected, or an error worth
retrying later) or knows no such subscriber; 3 when the call failed as a whole (unreachable, timeout,
refused credentials, unreadable answer, a Retrieve refused). Never a traceback, never the token.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..identity import Recipient
from ..privacy import mask_email
from .errors import SfmcAuthError, SfmcError, SfmcTransientError
from .models import LogUnsubEvent, OutcomeKind
from .objects import MailingList

sfmc_cli = AppGroup(
    "sfmc",
    help="Marketing Cloud: check the connection, log an unsubscribe by hand, show lists and memberships.",
)
#: ``--mid`` of the commands that act in a business unit.
MID_OPTION = click.option(
    "--mid", type=click.IntRange(min=1, max=2**31 - 1), help="MID of the child business unit"
)

EXIT_NOT_UNSUBSCRIBED = 1
EXIT_NOT_FOUND = 1
EXIT_CALL_FAILED = 3

_KIND_TEXT = {
    OutcomeKind.DELIVERED: "unsubscribed, UnsubEvent logged",
    OutcomeKind.ALREADY: "already unsubscribed (nothing changed)",
    OutcomeKind.REJECTED: "rejected by Marketing Cloud (retrying the same request cannot help)",
    OutcomeKind.TRANSIENT: "not done: an error worth retrying later",
}


def _client():
    from . import get_client

    return get_client(current_app)


def _describe_error(exc: SfmcError) -> str:
    """One readable line for a failed call: what kind, what happened, whether it may have gone through."""
    if isinstance(exc, SfmcTransientError):
        sent = (
            "the request may have reached Marketing Cloud: check before sending it again"
            if exc.maybe_sent
            else "nothing was sent"
        )
        return f"Marketing Cloud unavailable: {exc} ({sent})"
    if isinstance(exc, SfmcAuthError):
        return f"Marketing Cloud refused our credentials: {exc}"
    return f"Marketing Cloud call failed: {exc}"


@sfmc_cli.command("ping")
def ping_command() -> None:
    """Get a token and reach the SOAP endpoint with a request that unsubscribes nobody."""
    result = _client().ping()
    if not result.token_ok:
        click.echo(f"token: FAILED: {result.problem}")
        raise SystemExit(1)
    click.echo("token: ok")
    if not result.soap_reached:
        click.echo(f"soap endpoint: {result.soap_url or '?'}: NOT reached: {result.problem}")
        raise SystemExit(1)
    click.echo(
        f"soap endpoint: {result.soap_url} reached in {result.seconds:.2f} s "
        f"(RequestID {result.request_id or '-'}; empty test request answered with ErrorCode "
        f"{result.error_code if result.error_code is not None else '-'}: {result.status_message or '-'})"
    )
    if result.problem:
        click.echo(f"problem: {result.problem}")
        raise SystemExit(1)


@sfmc_cli.command("log-unsub")
@click.option("--subscriber-key", help="SubscriberKey")
@click.option("--subscriber-id", help="SubscriberID (Marketing Cloud's number)")
@click.option("--email", help="EmailAddress")
@click.option("--job-id", help="JobID of the send the person answers")
@click.option("--list-id", help="ListID to unsubscribe from")
@click.option("--batch-id", help="BatchID within the job")
@MID_OPTION
@click.option("--reason", help="Reason shown in Marketing Cloud's reports")
def log_unsub_command(reason: str | None, mid: int | None, **identity: str | None) -> None:
    """Send one LogUnsubEvent (an unsubscribe received by phone or mail) and print the answer.
    \f
    The identity options are named after ``Recipient``'s fields, so they arrive as one mapping (``\\f``
    keeps this paragraph out of ``--help``).
    """
    recipient = Recipient(**identity, mid=str(mid) if mid is not None else None)
    if not recipient.identified:
        raise click.UsageError("give at least one of --subscriber-key, --subscriber-id, --email")
    request = LogUnsubEvent(recipient, reason=reason)
    who = ", ".join(
        part
        for part in (
            f"SubscriberID {recipient.subscriber_id}" if recipient.subscriber_id else "",
            "SubscriberKey given" if recipient.subscriber_key else "",
            f"EmailAddress {mask_email(recipient.email)}" if recipient.email else "",
        )
        if part
    )
    try:
        result = _client().log_unsub_events([request])
    except SfmcError as exc:
        click.echo(f"error: {_describe_error(exc)}", err=True)
        raise SystemExit(EXIT_CALL_FAILED) from None
    outcome = result.outcomes[0]
    click.echo(f"outcome: {outcome.kind.value}: {_KIND_TEXT[outcome.kind]} ({who})")
    click.echo(f"RequestID: {result.request_id or '-'}")
    click.echo(f"StatusCode: {outcome.status_code or '-'}")
    click.echo(f"StatusMessage: {outcome.status_message or '-'}")
    if outcome.error_code is not None:
        click.echo(f"ErrorCode: {outcome.error_code}: {outcome.meaning}")
    if not outcome.unsubscribed:
        raise SystemExit(EXIT_NOT_UNSUBSCRIBED)


def _unit(mid: int | None) -> str:
    return f"business unit {mid}" if mid is not None else "the token's own business unit"


def _list_line(item: MailingList) -> str:
    kinds = "/".join(part for part in (item.type, item.classification) if part) or "-"
    marks = " [public publication list]" if item.is_public_publication else ""
    about = f": {item.description}" if item.description else ""
    return f"{item.id:>10}  {kinds:<24}  {item.name}{about}{marks}"


@sfmc_cli.command("lists")
@MID_OPTION
def lists_command(mid: int | None) -> None:
    """Show the lists of a business unit (Retrieve List): ID, type/classification, name, description."""
    try:
        lists = _client().retrieve_lists(mid)
    except SfmcError as exc:
        click.echo(f"error: {_describe_error(exc)}", err=True)
        raise SystemExit(EXIT_CALL_FAILED) from None
    for item in sorted(lists, key=lambda item: item.id):
        click.echo(_list_line(item))
    public = sum(item.is_public_publication for item in lists)
    everyone = [item.id for item in lists if item.is_all_subscribers]
    click.echo(
        f"{len(lists)} list(s) in {_unit(mid)}, {public} public publication list(s); "
        f"All Subscribers: {', '.join(map(str, everyone)) or 'not found'}"
    )


@sfmc_cli.command("memberships")
@click.argument("subscriber_key")
@MID_OPTION
def memberships_command(subscriber_key: str, mid: int | None) -> None:
    """Show one person's status on All Subscribers and on each list of a business unit (Retrieve
    Subscriber, ListSubscriber and List, for the names)."""
    client = _client()
    try:
        subscriber = client.retrieve_subscriber(subscriber_key, mid)
        memberships = client.retrieve_memberships(subscriber_key, mid)
    except SfmcError as exc:
        click.echo(f"error: {_describe_error(exc)}", err=True)
        raise SystemExit(EXIT_CALL_FAILED) from None
    try:
        names = {item.id: item.name for item in client.retrieve_lists(mid)}
    except SfmcError as exc:  # the memberships are what was asked: show them without names
        click.echo(f"warning: list names unavailable: {_describe_error(exc)}", err=True)
        names = {}
    if subscriber is None:
        click.echo(f"All Subscribers: no subscriber with that SubscriberKey in {_unit(mid)}")
    else:
        since = (
            f" since {subscriber.unsubscribed_date:%Y-%m-%d %H:%M}" if subscriber.unsubscribed_date else ""
        )
        click.echo(f"All Subscribers: {subscriber.status}{since}")
    for membership in sorted(memberships, key=lambda item: item.list_id):
        name = names.get(membership.list_id, "(name unknown)")
        click.echo(f"{membership.list_id:>10}  {membership.status:<12}  {name}")
    click.echo(f"{len(memberships)} list membership(s) in {_unit(mid)}")
    if subscriber is None and not memberships:
        raise SystemExit(EXIT_NOT_FOUND)
