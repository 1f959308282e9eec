"""``flask sfmc …``: check the Marketing Cloud connection, log one unsubscribe by hand (support desks).

Exit status: 0 when the person is unsubscribed (or already was) / the connection works; 1 when Marketing
Cloud answered but did not unsubscribe (rejected, or an error worth retrying later); 3 when the call
failed as a whole (unreachable, timeout, refused credentials, unreadable answer). Never a traceback.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..identity import Recipient
from ..privacy import mask_email
from .errors import SfmcAuthError, SfmcError, SfmcTransientError
from .models import LogUnsubEvent, OutcomeKind

sfmc_cli = AppGroup("sfmc", help="Marketing Cloud: check the connection, log an unsubscribe by hand.")

EXIT_NOT_UNSUBSCRIBED = 1
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
@click.option("--mid", type=click.IntRange(min=1, max=2**31 - 1), help="MID of the child business unit")
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
