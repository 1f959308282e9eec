"""`flask --app wsgi mint-link …`: print a signed unsubscribe link, signed with the first key.

What it prints is checked with the app's own verifier before it is printed, so a link it gives out is one
the app accepts; anything else is refused with one line on stderr and exit status 2.
"""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from app.identity import ID_FIELDS, Recipient

from .tokens import LinkClaims, TokenError, identifier, locale_tag, mint, verify


class Refused(click.ClickException):
    """A usage problem told in one line (``Error: …``), exit status 2 as click's usage errors."""

    exit_code = 2


def _id_option(option: str, value: str | None) -> str | None:
    """The ID as the verifier reads it (ASCII digits, below 10**19, leading zeros dropped), or refused."""
    if value is None:
        return None
    try:
        parsed = identifier(value, option)
    except TokenError:
        parsed = None
    if parsed is None:
        raise Refused(f"{option} must be a whole number written with the digits 0-9 (at most 19 of them)")
    return parsed


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
    locale: str | None, expires_in: int | None, base_url: str | None, **identity: str | None
) -> None:
    """Print an unsubscribe link for one subscriber (and optionally one send).
    \f
    The identity options are named after ``Recipient``'s fields, so they arrive as one mapping (``\\f``
    keeps this paragraph out of ``--help``).
    """
    from . import unsubscribe_url

    base = base_url or current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        raise Refused("give --base-url or set PUBLIC_BASE_URL")
    if not Recipient(**identity).identified:
        raise Refused("give at least one of --subscriber-key, --subscriber-id, --email")
    if locale is not None and locale_tag(locale) is None:
        raise Refused("--locale must be a language tag such as de or fr-CA")
    recipient = Recipient(
        **{
            name: _id_option(f"--{name.replace('_', '-')}", value) if name in ID_FIELDS else value
            for name, value in identity.items()
        }
    )
    claims = LinkClaims(
        recipient=recipient,
        locale=locale_tag(locale),
        expires_at=int(time.time()) + expires_in if expires_in else None,
    )
    key = current_app.config["LINK_SIGNING_KEYS"][0]
    try:
        token = mint(claims, key)
        verify(token, [key])
    except (TokenError, ValueError) as exc:
        raise Refused(f"the app would refuse this link: {exc}") from None
    click.echo(unsubscribe_url(base, token))
