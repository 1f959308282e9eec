"""The preference soak's app: the real app of ``wsgi`` plus one POST route that saves list changes.

Until the manage page (issue 12's pages) is on main there is no page whose POST journals list changes, so
the soak posts here: the same signed link (``?t=``, verified with the app's keys), one ``change`` field per
list (``off:<ListID>`` or ``on:<ListID>``), and the same one call a page makes,
``app.journal.record_and_deliver_many``. The answer is what the journal holds for each change (JSON); a
journal that cannot be written answers 503 "try again", as the pages do. Nothing here is part of the
product (only ``gunicorn bench._prefs_app:app`` serves it).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app.journal import JournalUnavailableError, record_and_deliver_many
from app.journal.models import Action, UnsubscribeRequest
from app.links import TokenError, verify_with_app_keys
from wsgi import app

ACTIONS = {"off": Action.LIST_UNSUBSCRIBE, "on": Action.LIST_RESUBSCRIBE}

route = Blueprint("soak_preferences", __name__)


@route.post("/_soak/preferences")
def save() -> tuple[Response | str, int]:
    """Journal and deliver one save: every ``change`` of the form, in the order given."""
    try:
        claims = verify_with_app_keys(request.args.get("t", ""))
    except TokenError:
        return "invalid link", 400
    changes: list[UnsubscribeRequest] = []
    for field in request.form.getlist("change"):
        word, _, list_id = field.partition(":")
        if word not in ACTIONS or not list_id.isdigit():
            return f"bad change {field!r}", 400
        changes.append(UnsubscribeRequest(claims.recipient, action=ACTIONS[word], target_list_id=list_id))
    if not changes:
        return "no change", 400
    try:
        entries = record_and_deliver_many(changes)
    except JournalUnavailableError:
        return "We could not record your request just now. Please try again in a moment.", 503
    return jsonify([{"id": entry.id, "state": str(entry.state)} for entry in entries]), 200


app.register_blueprint(route)
