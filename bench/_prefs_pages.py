"""The preference soak's people at the real manage page (``GET/POST /manage?t=…`` of ``wsgi:app``).

Before Marketing Cloud goes down each person GETs their manage page and keeps the lists form: its action
(the signed link) and its signed hidden ``shown`` field, read back with the view's own code
(``app.preferences.shown``) and checked to sign to the very same bytes. While it is down no GET can show
the lists (the page falls back to the plain form), so each save POSTs the lists form as a browser would:
one ``lists`` box per ticked list and the ``shown`` state the person last saw. That is the kept field as
long as their lists are as the GET showed them; after an earlier save it is the state the page shows after
that save, signed by ``sign_shown`` exactly as the view signs it (as if the page had been open in another
tab). The email's own list stays ticked: its unsubscribe is a LogUnsubEvent, not an Update, and the
order check reads the emulator's Updates.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import lxml.html
import requests

from app.preferences.shown import read_shown, sign_shown
from app.preferences.values import OfferedList

#: Result pages that say the change is recorded (``result-<headline>`` of templates/preferences/result.html).
RECORDED = {"result-saved", "result-processing", "result-problem"}


@dataclass(frozen=True)
class ManageForm:
    """One person's lists form as their manage page showed it before the outage."""

    action: str  # the form's action: the manage page with the person's signed link
    shown: str  # its signed hidden field, byte for byte
    offered: tuple[OfferedList, ...]  # the lists it showed, read back from ``shown``

    def state(self) -> dict[str, bool]:
        """Each list's box as the page showed it (ticked: subscribed)."""
        return {item.list_id: item.subscribed for item in self.offered}


def get_manage_form(
    session: requests.Session, url: str, token: str, keys: Sequence[str], tries: int = 20
) -> ManageForm:
    """GET the manage page until it shows the lists (not the plain form) and keep its lists form."""
    for attempt in range(tries):
        answer = session.get(f"{url}/manage", params={"t": token}, timeout=30)
        form = _lists_form(answer.text) if answer.status_code == 200 else None
        if form is not None:
            action, shown, boxes = form
            offered = read_shown(shown, token, keys)
            if sign_shown(offered, token, keys) != shown:
                raise AssertionError("the soak's signing of the shown state is not the view's")
            if boxes != [(item.list_id, item.subscribed) for item in offered]:
                raise AssertionError(f"the page's boxes {boxes} are not its shown state {offered}")
            return ManageForm(action, shown, offered)
        time.sleep(0.2 * (attempt + 1))
    raise RuntimeError("the manage page showed the plain form every time, never the lists")


def _lists_form(html: str) -> tuple[str, str, list[tuple[str, bool]]] | None:
    for form in lxml.html.fromstring(html).forms:
        if "shown" in form.fields:
            boxes = [(box.get("value"), bool(box.checked)) for box in form.inputs if box.name == "lists"]
            return form.action, form.fields["shown"], boxes
    return None


def form_body(
    form: ManageForm, token: str, keys: Sequence[str], before: Mapping[str, bool], after: Mapping[str, bool]
) -> list[tuple[str, str]]:
    """The lists form's fields for a save that takes the boxes from ``before`` to ``after``."""
    shown_state = {**form.state(), **before}
    if shown_state == form.state():
        shown = form.shown
    else:
        offered = tuple(replace(item, subscribed=shown_state[item.list_id]) for item in form.offered)
        shown = sign_shown(offered, token, keys)
    ticked = [item.list_id for item in form.offered if {**shown_state, **after}[item.list_id]]
    return [("shown", shown), *(("lists", list_id) for list_id in ticked)]


def recorded(answer: requests.Response) -> bool:
    """Whether a 200 answer is a result page saying the change is recorded (not "nothing changed")."""
    for node in lxml.html.fromstring(answer.text).find_class("result"):
        return bool(RECORDED & set(node.get("class", "").split()))
    return False


Post = tuple[str, list[tuple[str, str]]]  # (the form's action, its fields)


def form_posts(
    form: ManageForm, token: str, keys: Sequence[str], plan: Sequence[Sequence[tuple[str, str]]]
) -> list[Post]:
    """The lists-form POSTs of a person's saves (each ``(list ID, "off" | "on")`` pairs), in order: each
    from the boxes the last one left."""
    posts: list[Post] = []
    state = form.state()
    for save in plan:
        after = {**state, **{list_id: word == "on" for list_id, word in save}}
        posts.append((form.action, form_body(form, token, keys, state, after)))
        state = after
    return posts


def warm_up(
    url: str, tokens: Sequence[str], keys: Sequence[str], lists: Sequence[str], clients: int
) -> list[ManageForm]:
    """Every person's manage page, GET ``clients`` at a time while Marketing Cloud is up: the lists forms
    they will post, each showing exactly ``lists``."""
    forms: list[ManageForm | None] = [None] * len(tokens)
    jobs: queue.Queue = queue.Queue()
    for index in range(len(tokens)):
        jobs.put(index)

    def client() -> None:
        session = requests.Session()
        while True:
            try:
                index = jobs.get_nowait()
            except queue.Empty:
                return
            forms[index] = get_manage_form(session, url, tokens[index], keys)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    missing = [index for index, form in enumerate(forms) if form is None]
    if missing:
        raise RuntimeError(f"{len(missing)} people never got their manage page before the outage")
    for form in forms:
        if form is not None and sorted(form.state()) != sorted(lists):
            raise RuntimeError(f"a manage page showed {form.offered}, not the person's lists")
    return [form for form in forms if form is not None]
