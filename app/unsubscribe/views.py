"""The pages a person reaches from an email: GET shows, POST journals and delivers, one-click.

Views stay thin: verify the link, read the form, call the journal, render. GET never changes anything
(mail scanners fetch every link); every failure of the link gets the same "not valid" page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, render_template, request
from flask_babel import gettext, refresh

from app.identity import Recipient
from app.journal import record_and_deliver
from app.journal.models import JournalEntry, Scope, Source, State, UnsubscribeRequest
from app.journal.values import JournalError
from app.links import LinkClaims, TokenError, verify_with_app_keys
from app.preferences import landing as preferences_landing

from ..ops.errors import service_unavailable
from ..preferences.directory import get_directory
from ..privacy import masked_address
from .branding import BRANDS_KEY, current_brand
from .forms import UnsubscribeForm
from .i18n import select_locale
from .page_cache import PAGE_CACHE_KEY

logger = logging.getLogger(__name__)

bp = Blueprint("unsubscribe", __name__)

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
WITHOUT_JOB_FIELD = "without_job"
#: The landing form's path: the email's link, and where the form posts.
FORM_PATH = "/unsubscribe"


class Outcome(StrEnum):
    """What the result page tells the person."""

    UNSUBSCRIBED = "unsubscribed"
    ALREADY = "already"
    PROCESSING = "processing"
    NOT_FOUND = "not_found"  # Marketing Cloud error 400: not on that job/list
    NOT_MATCHED = "not_matched"  # 402-407: the link's identifiers do not fit one subscriber
    STALLED = "stalled"  # the journal gave up retrying (dead); support sees it


def outcome_of(entry: JournalEntry) -> Outcome:
    """Map a journal entry's state to what we can truthfully tell the person."""
    if entry.state is State.DELIVERED:
        return Outcome.UNSUBSCRIBED
    if entry.state is State.ALREADY:
        return Outcome.ALREADY
    if entry.state is State.REJECTED:
        return Outcome.NOT_FOUND if entry.error_code == 400 else Outcome.NOT_MATCHED
    if entry.state is State.DEAD:
        return Outcome.STALLED
    return Outcome.PROCESSING


@bp.get("/")
def index() -> str:
    """What this service is, for someone who arrives without a link. No personal data."""
    return render_template("index.html")


@bp.get("/brand.css")
def brand_css() -> Response:
    """The brand colour as a CSS custom property (no inline styles: a strict CSP stays possible);
    ``?mid=`` gives a business unit's colour (the global one for a unit without its own)."""
    css = current_app.extensions[BRANDS_KEY].stylesheet(request.args.get("mid"))
    response = Response(css, mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@bp.get(FORM_PATH)
def show() -> tuple[str, int] | str:
    """The form. Reads the link, and the list's name from the list directory: no journal entry, and no
    call to Marketing Cloud but the directory's one List Retrieve per business unit (bounded, cached)."""
    token = request.args.get("t", "")
    claims = _claims_or_none(token)
    if claims is None:
        return _invalid_link()
    g.outcome = "form_shown"
    return _fresh_form_page(token, claims)


@bp.post(FORM_PATH)
def submit() -> Any:
    """The form's POST, or an RFC 8058 one-click POST from a mail client."""
    token = request.args.get("t", "")
    claims = _claims_or_none(token)
    if claims is None:
        return _invalid_link()
    if request.form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE:
        return _one_click(claims)
    form = UnsubscribeForm.for_link(request.form, claims.has_job_context, _reasons())
    if not form.validate():
        g.outcome = "form_invalid"
        return _render_form(claims, form, _person_values(token, claims)), 400
    recipient = claims.recipient
    if form.chosen_scope is Scope.ALL and request.form.get(WITHOUT_JOB_FIELD) == "1":
        # The offer after "could not find that subscription": Marketing Cloud did not find the person on
        # the link's job, so the same job would fail again; a plain master unsubscribe does not need it.
        recipient = recipient.without_job()
    entry = record_and_deliver(
        _request_for(
            recipient,
            scope=form.chosen_scope,
            reason_code=form.reason_code,
            reason_text=form.reason_text,
            reason_label=form.reason_label,
            source=Source.FORM,
        )
    )
    outcome = outcome_of(entry)
    g.outcome = str(entry.state)
    return render_template(
        "unsubscribe/result.html",
        outcome=outcome.value,
        scope=entry.request.scope.value,
        recorded_at=entry.created_at,
        offer_all=outcome is Outcome.NOT_FOUND and entry.request.scope is Scope.LIST,
        action=_action_url(token),
        contact_url=current_brand()["contact_url"],
        **preferences_landing.result_values(token, entry),
    )


def _one_click(claims: LinkClaims) -> Response:
    """RFC 8058: unsubscribe from the list at once; a short plain-text answer, no redirect, no cookie."""
    scope = Scope.LIST if claims.has_job_context else Scope.ALL
    entry = record_and_deliver(_request_for(claims.recipient, scope=scope, source=Source.ONE_CLICK))
    g.outcome = f"one_click_{entry.state}"
    messages = {
        Outcome.UNSUBSCRIBED: gettext("You are unsubscribed."),
        Outcome.ALREADY: gettext("You were already unsubscribed."),
        Outcome.PROCESSING: gettext("Your unsubscribe request was received and is being processed."),
        Outcome.NOT_FOUND: gettext("We could not find that subscription."),
        Outcome.NOT_MATCHED: gettext("We could not find that subscription."),
        Outcome.STALLED: gettext("Your unsubscribe request was received and is being processed."),
    }
    return Response(messages[outcome_of(entry)] + "\n", status=200, mimetype="text/plain")


@bp.errorhandler(JournalError)
def _journal_unavailable(error: JournalError) -> tuple[str, int]:
    """The journal could not be reached or written (down, disk full, lock held too long): "try again"
    in the person's language (503), never a 500 and never a confirmation."""
    logger.warning("journal unavailable; answered 503: %s", error)
    g.outcome = "journal_unavailable"
    return service_unavailable()


def _request_for(
    recipient: Recipient,
    *,
    scope: Scope,
    source: Source,
    reason_code: str | None = None,
    reason_text: str | None = None,
    reason_label: str | None = None,
) -> UnsubscribeRequest:
    """What the journal records: the link's recipient as it is, with what the form (or one-click) adds
    (``reason_label``: the English report label of the chosen reason, built in or from content.toml)."""
    return UnsubscribeRequest(
        recipient,
        scope=scope,
        reason_code=reason_code,
        reason_text=reason_text,
        reason_label=reason_label,
        language=select_locale(),
        source=source,
    )


def _claims_or_none(token: str) -> LinkClaims | None:
    """The link's claims, or None for every kind of bad link (the reason is logged, never shown)."""
    try:
        claims = verify_with_app_keys(token)
    except TokenError as exc:
        logger.info("rejected an unsubscribe link: %s (%s)", type(exc).__name__, exc)
        return None
    g.link_locale = claims.locale
    g.link_mid = claims.recipient.mid  # picks the page's brand (branding.current_brand)
    refresh()
    return claims


def _invalid_link() -> tuple[str, int]:
    g.outcome = "invalid_link"
    return render_template("unsubscribe/invalid.html"), 400


def _reasons() -> tuple[str, ...]:
    return current_app.extensions["unsubscribe_reasons"]


def _action_url(token: str) -> str:
    """Where the form posts: the same link, keeping an explicit ``?lang=`` so the answer speaks it too."""
    # The form and its POST share one URL (also when the manage page shows this form as its fallback).
    # A verified token is base64url and dots, which a query string carries as they are.
    url = f"{request.script_root}{FORM_PATH}?t={token}"
    lang = request.args.get("lang")
    return f"{url}&{urlencode({'lang': lang})}" if lang else url


def _person_values(token: str, claims: LinkClaims, offer_manage: bool = True) -> dict[str, object]:
    """What the form page shows of this person, link and request: everything else is the same for
    everybody, so these are the page cache's holes (the template prints them with ``hole()``)."""
    return {
        "masked_email": masked_address(claims.recipient.email)
        or masked_address(claims.recipient.subscriber_key),
        "list_id": claims.recipient.list_id,
        "list_name": _list_name(claims.recipient) if claims.has_job_context else None,
        "action": _action_url(token),
        "request_id": g.get("request_id"),
        "manage_url": preferences_landing.form_values(token, claims)["manage_url"] if offer_manage else None,
    }


def _render_form(
    claims: LinkClaims,
    form: UnsubscribeForm,
    values: Mapping[str, object],
    shape_values: Mapping[str, object] | None = None,
) -> str:
    """The form page; ``shape_values`` are the values the same for everybody of a page-cache shape."""
    if shape_values is None:
        shape_values = preferences_landing.form_shape_values(claims)
    return render_template(
        "unsubscribe/form.html",
        form=form,
        has_job_context=claims.has_job_context,
        **shape_values,
        **values,
    )


def plain_form_page(token: str, claims: LinkClaims) -> str:
    """The form as the landing page shows it, without its link to the manage page: what the manage page
    answers when it cannot read the person's lists in its budget (the person can always unsubscribe)."""
    return _fresh_form_page(token, claims, offer_manage=False)


def _fresh_form_page(token: str, claims: LinkClaims, offer_manage: bool = True) -> str:
    """The form as a GET shows it, from the page cache (see page_cache.py) unless templates auto-reload.

    The shape's key holds everything else a template can see that differs between requests: the language,
    the choices the link offers, the URL root (``url_for`` writes the mount prefix and, with
    ``_external``, the host), the brand's business unit (None for the global brand) and what "all email"
    covers for the link's unit, as far as it is known without a call (``preferences.landing``).
    """

    shape_values = preferences_landing.form_shape_values(claims)

    def render(values: Mapping[str, object]) -> str:
        return _render_form(
            claims, UnsubscribeForm.for_link(None, claims.has_job_context, _reasons()), values, shape_values
        )

    values = _person_values(token, claims, offer_manage)
    if current_app.jinja_env.auto_reload:
        return render(values)
    shape = (
        "unsubscribe/form.html",
        select_locale(),
        claims.has_job_context,
        request.url_root,
        current_brand()["mid"],
        tuple(sorted(shape_values.items())),
    )
    return current_app.extensions[PAGE_CACHE_KEY].render(shape, values, render)


def _list_name(recipient: Recipient) -> str | None:
    """The name of the email's list in its business unit, or None (no list, not known yet, Marketing Cloud
    unreachable): the pages then keep their generic wording and never show a bare list ID."""
    if not recipient.list_id:
        return None
    return get_directory().list_name(recipient.mid, recipient.list_id)
