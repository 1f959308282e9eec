"""Form pages rendered once per language and shape, with holes for the few values that belong to the person.

Why: the landing page is the most frequent request (every click on an unsubscribe link, and every mail
scanner that pre-fetches one), and its HTML is the same for everybody who reads it in the same language
with the same choices. Only the masked address, the list number and the form's action (the signed link)
differ. Rendering the Jinja templates (layout, macros, radio groups, ~100 escapes) was most of the
page's CPU time (docs/benchmarks.md); filling three holes in a cached page is a few string joins.

How it stays correct:

- A page is cached per *shape*: the caller's key (language, which choices the link offers, ...) plus which
  holes are empty. Empty values (no address on the link, no list) are rendered as they are, not as holes.
- The skeleton is rendered with unique placeholder strings in place of the person's values. Filling puts
  in each value escaped for HTML, which is exactly what ``{{ value }}`` and the ``%(name)s`` of ``_()``
  print under autoescape.
- A skeleton is *trusted* only after it has matched a full render, in later requests, ``CONFIRMATIONS``
  times. A marketer's template that prints a value transformed (``{{ masked_email | upper }}``) or prints
  something else that changes per request (the time, a request id) fails that check: the page is then
  always rendered in full, and a warning says so once.
- Nothing here is used while templates auto-reload (``TEMPLATES_AUTO_RELOAD`` or debug mode), so a
  marketer editing a template sees every change at once.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

from markupsafe import escape

logger = logging.getLogger(__name__)

#: Where the app keeps its PageCache (``app.extensions``).
PAGE_CACHE_KEY = "unsubscribe_page_cache"
#: Full renders a new skeleton must match before it is trusted.
CONFIRMATIONS = 2
#: Shapes kept per process; a page beyond that is rendered in full (a bound against odd keys).
MAX_SHAPES = 256

Render = Callable[[Mapping[str, object]], str]


@dataclass
class _Skeleton:
    """A rendered page cut at its holes: ``parts`` alternate literal HTML and hole names."""

    parts: tuple[str, ...]
    confirmations: int = 0
    failed: bool = False

    @property
    def trusted(self) -> bool:
        """Matched enough full renders, and never missed one."""
        return not self.failed and self.confirmations >= CONFIRMATIONS

    def fill(self, values: Mapping[str, object]) -> str:
        pieces = list(self.parts)
        for index in range(1, len(pieces), 2):
            pieces[index] = str(escape(str(values[pieces[index]])))
        return "".join(pieces)


@dataclass
class PageCache:
    """Skeletons of rendered pages, keyed by shape. One per app; safe to share between threads."""

    _marker: str = field(default_factory=lambda: f"hole{secrets.token_hex(12)}")
    _skeletons: dict[Hashable, _Skeleton] = field(
        default_factory=dict
    )  # dict operations: atomic under the GIL

    def render(self, key: Hashable, values: Mapping[str, object], render: Render) -> str:
        """The page for ``values``: from the skeleton of its shape when trusted, else ``render(values)``."""
        holes = tuple(sorted(name for name, value in values.items() if value))
        shape = (key, holes, tuple(sorted((n, repr(v)) for n, v in values.items() if not v)))
        skeleton = self._skeletons.get(shape)
        if skeleton is not None and skeleton.trusted:
            return skeleton.fill(values)
        page = render(values)
        if skeleton is None:
            self._learn(shape, holes, values, render)
        elif not skeleton.failed:
            self._confirm(skeleton, page, values)
        return page

    def trusted_shapes(self) -> int:
        """How many page shapes are served from their skeleton (for tests and curiosity)."""
        return sum(1 for skeleton in self._skeletons.values() if skeleton.trusted)

    def _learn(
        self, shape: Hashable, holes: tuple[str, ...], values: Mapping[str, object], render: Render
    ) -> None:
        if len(self._skeletons) >= MAX_SHAPES:
            return
        placeholders = {name: f"{self._marker}{name}{self._marker}" for name in holes}
        rendered = render({**values, **placeholders})
        pattern = "|".join(re.escape(placeholder) for placeholder in placeholders.values())
        pieces = re.split(f"({pattern})", rendered) if pattern else [rendered]
        by_placeholder = {placeholder: name for name, placeholder in placeholders.items()}
        parts = tuple(
            piece if index % 2 == 0 else by_placeholder[piece] for index, piece in enumerate(pieces)
        )
        skeleton = _Skeleton(parts)
        # A placeholder that was transformed on the way (filters, slicing) leaves a trace of the marker.
        skeleton.failed = any(self._marker in part for part in parts[::2])
        self._skeletons.setdefault(shape, skeleton)
        if skeleton.failed:
            self._warn()

    def _confirm(self, skeleton: _Skeleton, page: str, values: Mapping[str, object]) -> None:
        if skeleton.fill(values) == page:
            skeleton.confirmations += 1
        else:
            skeleton.failed = True
            self._warn()

    @staticmethod
    def _warn() -> None:
        logger.warning(
            "a form page's template prints something other than the person's values that changes between "
            "requests, or prints those values transformed: that page is rendered in full every time "
            "(docs/pages.md, 'Page cache')"
        )
