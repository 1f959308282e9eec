"""The manage page's states for ``flask preview`` (``app/preview/registry.py``), reached as a person does.

Registered after the built-in states (``app/preview/states.py`` imports this module). The states that
save use demo subscribers of their own, none of the built-in states' ``happy`` ones, which those need fresh.
"""

from __future__ import annotations

import re
from html import unescape
from typing import TYPE_CHECKING

from werkzeug.datastructures import MultiDict

from app.preview.registry import page_state

if TYPE_CHECKING:  # the preview's session is imported only by `flask preview` itself
    from werkzeug.test import TestResponse

    from app.preview.session import PreviewPage

GROUP = "Manage your subscriptions"
#: Demo subscribers unsubscribed from all email, per unit (docs/emulator.md).
UNSUBSCRIBED_FROM_ALL = {None: "demo-021", "510001000": "demo-021"}
CHILD_UNSUBSCRIBED_FROM_ALL = "child-009"
#: Who saves on the manage page's states (on its publication lists, not a built-in state's person).
#: One person per state that saves: the journal of a language keeps each change, so a second state saving
#: the same change for the same person would be folded into the first one's entry.
SAVING = {None: ("demo-013", "demo-015", "demo-017"), "510001000": ("demo-013", "demo-015", "demo-017")}
CHILD_SAVING = ("child-004", "child-002", "child-006")


def _saving_link(page: PreviewPage, which: int) -> str:
    key = SAVING.get(page.people.mid, CHILD_SAVING)[which]
    return _manage(page, page.link(subscriber_key=key, **page.people.send))


def _manage(page: PreviewPage, link: str) -> str:
    return link.replace("/unsubscribe?", "/manage?", 1)


def _lists_form(html: str, untick: int | None = None) -> MultiDict:
    """The lists form as shown, with the box at position ``untick`` unticked (None: left as shown)."""
    shown = unescape(re.search(r'name="shown" value="([^"]*)"', html).group(1))
    ticked = re.findall(r'<input [^>]*checked [^>]*name="lists" type="checkbox" value="([^"]*)"', html)
    if untick is not None and ticked:
        ticked.pop(min(untick, len(ticked) - 1))
    return MultiDict([("shown", shown), *(("lists", value) for value in ticked)])


@page_state("manage", "The manage page: the person's lists and 'all email'", group=GROUP)
def _shown(page: PreviewPage) -> TestResponse:
    return page.client.get(_manage(page, page.happy_link(fresh=False)))


@page_state(
    "manage-unsubscribed-from-all", "The manage page of someone unsubscribed from all email", group=GROUP
)
def _unsubscribed_from_all(page: PreviewPage) -> TestResponse:
    key = UNSUBSCRIBED_FROM_ALL.get(page.people.mid, CHILD_UNSUBSCRIBED_FROM_ALL)
    return page.client.get(_manage(page, page.link(subscriber_key=key, **page.people.send)))


@page_state("manage-plain-form", "The manage page while Marketing Cloud is down: the plain form", group=GROUP)
def _plain_form(page: PreviewPage) -> TestResponse:
    page.failing_marketing_cloud()
    return page.client.get(_manage(page, page.happy_link(fresh=False)))


@page_state("manage-saved", "Saved: one list unticked, with 'subscribe again'", group=GROUP)
def _saved(page: PreviewPage) -> TestResponse:
    link = _saving_link(page, 0)
    return page.client.post(link, data=_lists_form(page.client.get(link).get_data(as_text=True), untick=1))


@page_state("manage-resubscribed", "Subscribed to a list again (after 'subscribe again')", group=GROUP)
def _resubscribed(page: PreviewPage) -> TestResponse:
    link = _saving_link(page, 1)
    saved = page.client.post(link, data=_lists_form(page.client.get(link).get_data(as_text=True), untick=1))
    list_id = re.search(r'name="resubscribe" value="([^"]*)"', saved.get_data(as_text=True)).group(1)
    return page.client.post(link, data={"resubscribe": list_id})


@page_state("manage-nothing-changed", "Saved without a change", group=GROUP)
def _nothing_changed(page: PreviewPage) -> TestResponse:
    link = _manage(page, page.happy_link(fresh=False))
    return page.client.post(link, data=_lists_form(page.client.get(link).get_data(as_text=True)))


@page_state("manage-all", "Unsubscribed from all email on the manage page", group=GROUP)
def _all(page: PreviewPage) -> TestResponse:
    return page.client.post(_saving_link(page, 2), data={"all": "1"})


@page_state("manage-stale", "A manage form that was changed or is out of date", group=GROUP, status=400)
def _stale(page: PreviewPage) -> TestResponse:
    return page.client.post(_manage(page, page.happy_link(fresh=False)), data={"shown": "changed"})
