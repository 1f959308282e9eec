"""`flask --app wsgi mint-link …`: print a signed unsubscribe link, signed with the first key."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from .tokens import LinkClaims, mint


@click.command("mint-link")
@click.option("--subscriber-key", help="SubscriberKey (the sk claim)")
@click.option("--subscriber-id", help="SubscriberID (sid)")
@click.option("--email", help="EmailAddress (em); readable in the link, so prefer the key")
@click.option("--job-id", help="JobID of the send (j)")
@click.option("--list-id", help="ListID the email went to (l)")
@click.option("--batch-id", help="BatchID within the job (b)")
@click.option("--mid", help="MID of the child business unit (m)")
@click.option("--locale", help="Page language, e.g. de (loc)")
@click.option("--expires-in", type=click.IntRange(min=1), help="Seconds until the link expires (exp)")
@click.option("--base-url", help="Where the app is served; default PUBLIC_BASE_URL")
@with_appcontext
def mint_link_command(
    subscriber_key: str | None,
    subscriber_id: str | None,
    email: str | None,
    job_id: str | None,
    list_id: str | None,
    batch_id: str | None,
    mid: str | None,
    locale: str | None,
    expires_in: int | None,
    base_url: str | None,
) -> None:
    """Print an unsubscribe link for one subscriber (and optionally one send)."""
    from . import unsubscribe_url

    base = base_url or current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        raise click.UsageError("give --base-url or set PUBLIC_BASE_URL")
    if not (subscriber_key or subscriber_id or email):
        raise click.UsageError("give at least one of --subscriber-key, --subscriber-id, --email")
    for name, value in (
        ("--job-id", job_id),
        ("--list-id", list_id),
        ("--batch-id", batch_id),
        ("--mid", mid),
    ):
        if value is not None and not value.isdigit():
            raise click.UsageError(f"{name} must be a number")
    if subscriber_id is not None and not subscriber_id.isdigit():
        raise click.UsageError("--subscriber-id must be a number")
    claims = LinkClaims(
        subscriber_key=subscriber_key,
        subscriber_id=subscriber_id,
        email=email,
        job_id=job_id,
        list_id=list_id,
        batch_id=batch_id,
        mid=mid,
        locale=locale,
        expires_at=int(time.time()) + expires_in if expires_in else None,
    )
    key = current_app.config["LINK_SIGNING_KEYS"][0]
    click.echo(unsubscribe_url(base, mint(claims, key)))
