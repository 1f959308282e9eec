"""Form pages rendered once per language and shape, cut at the holes the template marks for the values that
belong to the person and the request.

Why: the landing page is the most frequent request (every click on an unsubscribe link, and every mail
scanner that pre-fetches one), and its HTML is the same for everybody who reads it in the same language
with the same choices. Only the masked address, the list number, the form's action (the signed link) and
the request id differ. Rendering the Jinja templates (layout, macros, radio groups, ~100 escapes) was most
of the page's CPU time (docs/benchmarks.md); filling a few holes in a cached page is a few string joins.

How it stays exact, without guessing (``holes.py`` has the template side):

- A page is cached per *shape*: the caller's key (language, which choices the link offers, the URL root)
  plus which values are empty. Empty values are rendered as they are, not as holes.
- The skeleton is rendered with ``Sentinel`` objects in place of the values: nobody's data can reach it.
  ``hole("name")`` prints a placeholder there, and the page is cut at the placeholders; filling puts in
  each value escaped for HTML, exactly what ``{{ hole("name") }}`` prints on a full render.
- A template that uses a value in any other way (prints it without ``hole()``, transforms it, branches on
  it, tests its type) raises ``Misuse`` while the skeleton is made; a placeholder taken apart on its way,
  or anything that differs between two renders (``lipsum()``, ``| random``), shows when the skeleton is
  made a second time with other placeholders. Either way that shape is rendered in full every time, and
  a warning says why, once.
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

from .holes import Misuse, Sentinel

logger = logging.getLogger(__name__)

#: Where the app keeps its PageCache (``app.extensions``).
PAGE_CACHE_KEY = "unsubscribe_page_cache"
#: Shapes kept per process; a page beyond that is rendered in full (a bound against odd keys).
MAX_SHAPES = 256

Render = Callable[[Mapping[str, object]], str]


class Uncuttable(Exception):
    """The template gives no exact skeleton for this shape; ``reason`` says what it does instead."""


@dataclass(frozen=True)
class _Skeleton:
    """A rendered page cut at its holes: ``parts`` alternate literal HTML and hole names."""

    parts: tuple[str, ...]

    def fill(self, values: Mapping[str, object]) -> str:
        """The page with ``values`` in the holes, escaped as ``{{ value }}`` escapes them."""
        pieces = list(self.parts)
        for index in range(1, len(pieces), 2):
            pieces[index] = str(escape(values[pieces[index]]))
        return "".join(pieces)


#: Stored for a shape whose template gives no skeleton: render it in full.
_IN_FULL = _Skeleton(())


@dataclass
class PageCache:
    """Skeletons of rendered pages, keyed by shape. One per app; safe to share between threads."""

    _skeletons: dict[Hashable, _Skeleton] = field(default_factory=dict)  # atomic under the GIL
    _warned: set[str] = field(default_factory=set)

    def render(self, key: Hashable, values: Mapping[str, object], render: Render) -> str:
        """The page for ``values``: filled from the skeleton of its shape, else ``render(values)``.

        ``values`` are the page's values that differ between people and requests; ``render`` renders
        the page for any such mapping (the real values, or sentinels while a skeleton is made).
        """
        holes = tuple(sorted(name for name, value in values.items() if value))
        shape = (key, holes, tuple(sorted((n, repr(v)) for n, v in values.items() if not v)))
        skeleton = self._skeletons.get(shape)
        if skeleton is None and len(self._skeletons) < MAX_SHAPES:
            skeleton = self._skeletons.setdefault(shape, self._make(holes, values, render))
        if skeleton is None or skeleton is _IN_FULL:
            return render(values)
        return skeleton.fill(values)

    def cached_shapes(self) -> int:
        """How many page shapes are served from their skeleton (for tests and curiosity)."""
        return sum(1 for skeleton in self._skeletons.values() if skeleton is not _IN_FULL)

    def _make(self, holes: tuple[str, ...], values: Mapping[str, object], render: Render) -> _Skeleton:
        try:
            first, second = (_cut(holes, values, render) for _ in range(2))
            if first != second:
                raise Uncuttable("it prints something that differs between renders, or takes hole() apart")
        except (Misuse, Uncuttable) as verdict:
            self._warn(str(verdict))
            return _IN_FULL
        except Exception as error:  # the full render will show whether the template itself is broken
            self._warn(f"rendering it with placeholders failed ({type(error).__name__}: {error})")
            return _IN_FULL
        return _Skeleton(first)

    def _warn(self, reason: str) -> None:
        if reason in self._warned:
            return
        self._warned.add(reason)
        logger.warning(
            "the form page's template cannot be cached: %s. That page is rendered in full every time "
            "(docs/pages.md, 'Page cache')",
            reason,
        )


def _cut(holes: tuple[str, ...], values: Mapping[str, object], render: Render) -> tuple[str, ...]:
    """Render with sentinels for the ``holes`` and cut the page at their placeholders."""
    mark = secrets.token_hex(12)
    placeholders = {f"{mark}{index}{mark}": name for index, name in enumerate(holes)}
    sentinels = {name: Sentinel(name, placeholder) for placeholder, name in placeholders.items()}
    page = render({**values, **sentinels})
    pattern = "|".join(re.escape(placeholder) for placeholder in placeholders)
    pieces = re.split(f"({pattern})", page) if pattern else [page]
    parts = tuple(piece if index % 2 == 0 else placeholders[piece] for index, piece in enumerate(pieces))
    if any(mark in part.lower() for part in parts[::2]):
        raise Uncuttable("it prints a hole() changed (a filter after escaping it)")
    return parts
