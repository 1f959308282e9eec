"""The manage page: GET shows the person's lists (read from Marketing Cloud, changes nothing), POST saves.

Views stay thin: verify the link as the landing page does, read or journal through this package, render.
When the lists cannot be read in the page's budgets the GET answers with the plain unsubscribe form
itself (no redirect), so the person can always unsubscribe. No page cache here: every manage page holds
the person's own lists and states, and its cost is Marketing Cloud's answer, not the render.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, current_app, g, render_template, request

from app.journal.values import JournalError
from app.links import LinkClaims
from app.unsubscribe.branding import current_brand
from app.unsubscribe.i18n import select_locale
from app.unsubscribe.views import _claims_or_none, _invalid_link, plain_form_page

from ..ops.errors import service_unavailable
from ..privacy import masked_address
from .changes import changes_between, resubscribe, unsubscribe_from_all
from .forms import ManageForm, ResubscribeForm
from .journaling import record_changes
from .links import MANAGE_PATH, manage_url
from .outcomes import headline, results_of
from .service import get_service
from .shown import ShownStateError, read_shown, read_undo, sign_shown, sign_undo
from .values import Change, ChangeKind, Preferences

logger = logging.getLogger(__name__)

bp = Blueprint("preferences", __name__)


@bp.get(MANAGE_PATH)
def manage() -> Any:
    """The person's lists with their state, or the plain form when they cannot be read in time."""
    token = request.args.get("t", "")
    claims = _claims_or_none(token)
    if claims is None:
        return _invalid_link()
    if request.method == "HEAD":
        # A HEAD (link checkers, scanners) gets the headers of a page without reading Marketing Cloud.
        g.outcome = "manage_plain_form"
        return plain_form_page(token, claims)
    preferences = get_service().reader.read(claims.recipient)
    if preferences is None:
        g.outcome = "manage_plain_form"
        return plain_form_page(token, claims)
    g.outcome = "manage_unsubscribed_from_all" if preferences.unsubscribed_from_all else "manage_shown"
    return _render_manage(token, claims, preferences)


@bp.post(MANAGE_PATH)
def save() -> Any:
    """The lists form, the "unsubscribe from all email" form, or a "subscribe again" button."""
    token = request.args.get("t", "")
    claims = _claims_or_none(token)
    if claims is None:
        return _invalid_link()
    if "resubscribe" in request.form:
        return _resubscribe(token, claims)
    if request.form.get("all") == "1":
        return _record(token, claims, [unsubscribe_from_all()])
    form = ManageForm(request.form)
    try:
        shown = read_shown(form.shown.data or "", token, current_app.config["LINK_SIGNING_KEYS"])
    except ShownStateError as exc:
        logger.info("manage page: a form's shown state was refused: %s", exc)
        g.outcome = "manage_stale"
        return _render_result(token, claims, [], stale=True), 400
    changes = changes_between(shown, form.ticked)
    if not changes:
        g.outcome = "manage_nothing_changed"
        return _render_result(token, claims, [])
    return _record(token, claims, changes)


def _resubscribe(token: str, claims: LinkClaims) -> Any:
    form = ResubscribeForm(request.form)
    if not form.validate():
        g.outcome = "resubscribe_invalid"
        return _render_result(token, claims, [], stale=True), 400
    list_id = str(form.resubscribe.data)
    allowed, name = _proven_undo(token, list_id) or get_service().resubscribable(claims.recipient, list_id)
    if not allowed:
        logger.info("manage page: a 'subscribe again' named a list this page does not offer")
        g.outcome = "resubscribe_refused"
        return _render_result(token, claims, [], stale=True), 400
    return _record(token, claims, [resubscribe(list_id, name)])


def _proven_undo(token: str, list_id: str) -> tuple[bool, str | None] | None:
    """(True, name) when the button carries this page's signed proof for ``list_id`` (no read needed:
    it works with Marketing Cloud down), else None: the directory decides."""
    proof = request.form.get("undo_proof", "")
    if not proof:
        return None
    try:
        return True, read_undo(proof, list_id, token, current_app.config["LINK_SIGNING_KEYS"])
    except ShownStateError:
        return None


def _record(token: str, claims: LinkClaims, changes: Sequence[Change]) -> str:
    """Journal the changes (one commit before anything else), then the result page listing each."""
    entries = record_changes(changes, claims.recipient, select_locale())
    results = results_of(changes, entries)
    g.outcome = "manage_" + "_".join(sorted({result.outcome for result in results}))
    return _render_result(token, claims, changes, results=results, recorded_at=entries[0].created_at)


def _render_manage(token: str, claims: LinkClaims, preferences: Preferences) -> str:
    form = ManageForm.for_lists(None, preferences.lists)
    form.shown.data = sign_shown(preferences.lists, token, current_app.config["LINK_SIGNING_KEYS"])
    return render_template(
        "preferences/manage.html",
        form=form,
        offered=preferences.lists,
        unsubscribed_from_all=preferences.unsubscribed_from_all,
        all_covers_every_brand=preferences.all_covers_every_brand,
        masked_email=_masked(claims),
        action=manage_url(token),
        contact_url=current_brand()["contact_url"],
    )


def _render_result(
    token: str,
    claims: LinkClaims,
    changes: Sequence[Change],
    *,
    results: Sequence[Any] = (),
    recorded_at: Any = None,
    stale: bool = False,
) -> str:
    covers = None
    keys = current_app.config["LINK_SIGNING_KEYS"]
    if any(change.kind is ChangeKind.ALL for change in changes):
        covers = get_service().covers_every_brand(claims.recipient)
    return render_template(
        "preferences/result.html",
        headline="stale" if stale else (headline(results) if results else "nothing_changed"),
        results=results,
        recorded_at=recorded_at,
        all_covers_every_brand=covers,
        action=manage_url(token),
        manage_url=manage_url(token),
        contact_url=current_brand()["contact_url"],
        undo_proofs={
            result.list_id: sign_undo(result.list_id, result.list_name, token, keys)
            for result in results
            if result.undo
        },
    )


def _masked(claims: LinkClaims) -> str | None:
    return masked_address(claims.recipient.email) or masked_address(claims.recipient.subscriber_key)


@bp.errorhandler(JournalError)
def _journal_unavailable(error: JournalError) -> tuple[str, int]:
    """As the landing form: the journal could not be written, so "try again" (503), never "saved"."""
    logger.warning("journal unavailable; answered 503: %s", error)
    g.outcome = "journal_unavailable"
    return service_unavailable()
