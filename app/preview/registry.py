"""The registry of page states the preview writes: a name, a title, and how to reach that state.

Each state is reached through the real views with Flask's test client, the way a person's browser (or a
mail client's one-click POST) would reach it, on the emulator's demo data and a journal in a temporary
folder. A page added to the app adds its states here (``@page_state``, in any module that
``app.preview.states`` imports or that imports this one before the command runs), so the preview keeps
showing every page without a copy of a template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from werkzeug.test import TestResponse

if TYPE_CHECKING:
    from .session import PreviewPage

#: How a state is reached: given the page's language, demo identities and client, the response.
Reach = Callable[["PreviewPage"], TestResponse]


@dataclass(frozen=True)
class PageState:
    """One state of one page, e.g. the result page's "already unsubscribed"."""

    name: str  # file name in the preview folder: lowercase, digits and dashes
    title: str  # what the index calls it (English: the preview is for the people who brand the pages)
    group: str  # heading of the index this state is listed under
    reach: Reach
    status: int = 200  # the status the state's page has; a different one means the preview went wrong


STATES: dict[str, PageState] = {}


def page_state(name: str, title: str, *, group: str, status: int = 200) -> Callable[[Reach], Reach]:
    """Register the decorated function as the way to reach state ``name`` (names are unique)."""

    def register(reach: Reach) -> Reach:
        if name in STATES:
            raise ValueError(f"page state {name!r} is registered twice")
        STATES[name] = PageState(name, title, group, reach, status)
        return reach

    return register


def registered_states() -> list[PageState]:
    """Every registered state, in registration order (the built-in ones first)."""
    from . import states  # noqa: F401 (registers the built-in states)

    return list(STATES.values())
