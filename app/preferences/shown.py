"""The state the manage page showed, carried in its form, signed, so only real changes are journaled.

Why signed and not re-read: the POST must compare the boxes sent back with the boxes *shown* (a box left
as it was sends nothing), and re-reading Marketing Cloud on the POST would cost a call and could race the
person's own earlier change still on its way. The form carries the lists with their state and name as
shown, signed with the link keys (itsdangerous, salted for this one use) and bound to the signed link it
was shown for: a changed or copied value is refused and nothing is journaled for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from itsdangerous import BadData, URLSafeSerializer

from .values import OfferedList

SALT = "profile-center.manage-page.shown-state"
UNDO_SALT = "profile-center.manage-page.undo"


class ShownStateError(ValueError):
    """The form's shown state is missing, changed, or belongs to another link."""


def _serializer(keys: Sequence[str], salt: str = SALT) -> URLSafeSerializer:
    # itsdangerous signs with the last key and verifies with all; LINK_SIGNING_KEYS signs with the first.
    return URLSafeSerializer(list(reversed(keys)), salt=salt)


def _link_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32]


def sign_shown(lists: Sequence[OfferedList], token: str, keys: Sequence[str]) -> str:
    """The hidden field's value for the ``lists`` the page shows for the link ``token``."""
    rows = [[item.list_id, int(item.subscribed), item.name, int(item.is_email_list)] for item in lists]
    return _serializer(keys).dumps({"t": _link_digest(token), "l": rows})


def read_shown(value: str, token: str, keys: Sequence[str]) -> tuple[OfferedList, ...]:
    """The lists a form showed, from its hidden field; ``ShownStateError`` if it cannot be trusted."""
    try:
        data = _serializer(keys).loads(value)
    except BadData as exc:
        raise ShownStateError("the shown state does not verify") from exc
    if not isinstance(data, dict) or data.get("t") != _link_digest(token):
        raise ShownStateError("the shown state belongs to another link")
    try:
        return tuple(
            OfferedList(str(list_id), str(name), subscribed=bool(subscribed), is_email_list=bool(email))
            for list_id, subscribed, name, email in data["l"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ShownStateError("the shown state is malformed") from exc


def sign_undo(list_id: str, name: str | None, token: str, keys: Sequence[str]) -> str:
    """The "subscribe again" button's proof that this page offered ``list_id`` to this link.

    Why: the button's POST must work while Marketing Cloud is down, in a process that has never read the
    unit's lists (a restart mid-outage); the page that showed the button knew the list was offered, so it
    signs that, and the POST trusts the signature instead of the list directory.
    """
    return _serializer(keys, UNDO_SALT).dumps({"t": _link_digest(token), "l": list_id, "n": name})


def read_undo(value: str, list_id: str, token: str, keys: Sequence[str]) -> str | None:
    """The list's name as signed by ``sign_undo`` for this link and list; ``ShownStateError`` otherwise."""
    try:
        data = _serializer(keys, UNDO_SALT).loads(value)
    except BadData as exc:
        raise ShownStateError("the undo proof does not verify") from exc
    if not isinstance(data, dict) or data.get("t") != _link_digest(token) or data.get("l") != list_id:
        raise ShownStateError("the undo proof belongs to another link or list")
    name = data.get("n")
    return name if isinstance(name, str) else None
