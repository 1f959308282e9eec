"""The list directory: each business unit's lists (names, descriptions, types), read from Marketing Cloud
once per unit and kept per process, so that pages can name a list without a call per page.

Why a cache of its own: the landing page is fetched by every click and by every mail scanner that
pre-fetches links. Naming the email's list ("Newsletter") needs Marketing Cloud's List objects, which are
the same for everybody of a business unit and change rarely; one ``List`` Retrieve per unit serves them
all. A GET must never become a SOAP storm, and must never wait long for Marketing Cloud.

How it behaves (settings in ``config.py``, "List names"):

- **Unit**: the link's MID, else ``SFMC_ACCOUNT_ID`` (None: the token's own unit). A MID that is not a
  number gets no names (its lists are nobody's business to guess).
- **Fresh**: the lists of a unit are trusted for ``LIST_NAMES_TTL_SECONDS``. Once 80 % of that has passed,
  the next lookup starts a refresh in the background and answers at once with what it has.
- **Miss** (a unit not read yet in this process): the first lookup starts the read and waits for it at
  most ``LIST_NAMES_WAIT_SECONDS``, counted from the start of the read, so that only the first requests of
  a slow read wait, and never longer than that. Past it the page renders without the name; the read goes
  on and fills the directory for the next page.
- **Single flight**: one read per unit at a time, whoever asks; everybody else uses the result.
- **Failures back off**: after a failed read the unit is not read again for ``LIST_NAMES_RETRY_SECONDS``,
  doubling per failure up to the TTL (with jitter). Meanwhile lookups answer at once: the old lists when
  there are some (a name rarely changes; an old one is better than none), else None.
- **Bounded**: at most ``LIST_NAMES_MAX_UNITS`` units are kept; a new one pushes out the least recently
  used.
- **Never on import, never in gunicorn's master**: the directory reads on the first lookup in each worker
  process. A read in the preloaded master would delay every start while Marketing Cloud is down and give
  the workers copies that age alike anyway; the first link per unit and worker waits at most
  ``LIST_NAMES_WAIT_SECONDS`` instead. A scanner's crawl therefore costs one read per unit and worker
  process per TTL, whatever the number of links.
- ``LIST_NAMES=false``: the directory never reads and every lookup answers None (today's generic wording).

Public API (non-blocking, or bounded by ``LIST_NAMES_WAIT_SECONDS`` on a miss; safe from any thread):

- ``list_name(mid, list_id) -> str | None``: the name of list ``list_id`` of the unit, or None (not known
  yet, Marketing Cloud unreachable, no such list, or list names off).
- ``lists(mid) -> list[MailingList] | None``: every list of the unit as the last read found them, or None.
- ``get_directory(app=None)``: the app's directory, made on its first use. ``list_name`` and ``lists``
  are also module functions that use the current app's.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:
    from app.sfmc import MailingList

logger = logging.getLogger(__name__)

#: Where the app keeps its directory (``app.extensions``).
EXTENSION_KEY = "list_directory"
#: Share of the TTL after which a lookup starts a background refresh (before the lists expire).
REFRESH_AHEAD = 0.8

#: Reads one unit's lists from Marketing Cloud: ``SfmcClient.retrieve_lists``'s signature.
Fetch = Callable[[int | None], Sequence["MailingList"]]


@dataclass
class _Unit:
    """What the directory knows of one business unit. Changed under the directory's lock, but for
    ``used_at`` (a plain store, for the least-recently-used bound)."""

    lists: tuple[MailingList, ...] | None = None
    names: Mapping[int, str] = field(default_factory=dict)
    fetched_at: float | None = None
    reading: threading.Event | None = None  # set when the read in flight ends
    read_started: float = 0.0
    failures: int = 0
    retry_at: float = 0.0
    used_at: float = 0.0


class ListDirectory:
    """Business units' lists, cached per process (see the module docstring for the rules)."""

    def __init__(
        self,
        fetch: Fetch | None,
        *,
        default_mid: int | None,
        ttl: float,
        wait: float,
        retry: float,
        max_units: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.default_mid = default_mid
        self.ttl = ttl
        self.wait = wait
        self.retry = retry
        self.max_units = max_units
        self._clock = clock
        self._units: dict[int | None, _Unit] = {}
        self._lock = threading.Lock()
        directory = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (found := directory()) and found._forked())

    @classmethod
    def from_config(cls, config: Mapping[str, Any], fetch: Fetch | None) -> ListDirectory:
        """A directory from the app's parsed settings; ``fetch`` None (or ``LIST_NAMES`` off): never reads."""
        return cls(
            fetch if config["LIST_NAMES"] else None,
            default_mid=config.get("SFMC_ACCOUNT_ID"),
            ttl=config["LIST_NAMES_TTL_SECONDS"],
            wait=config["LIST_NAMES_WAIT_SECONDS"],
            retry=config["LIST_NAMES_RETRY_SECONDS"],
            max_units=config["LIST_NAMES_MAX_UNITS"],
        )

    def list_name(self, mid: str | int | None, list_id: str | int | None) -> str | None:
        """The name of list ``list_id`` in the unit of ``mid``, or None when it is not known (yet)."""
        number = _number(list_id)
        if number is None:
            return None
        unit = self._lookup(mid)
        return None if unit is None else unit.names.get(number)

    def lists(self, mid: str | int | None) -> list[MailingList] | None:
        """Every list of the unit of ``mid`` as the last read found them, or None when none succeeded."""
        unit = self._lookup(mid)
        return None if unit is None or unit.lists is None else list(unit.lists)

    def cached_units(self) -> int:
        """How many business units this process holds lists for (for tests and curiosity)."""
        return sum(1 for unit in list(self._units.values()) if unit.lists is not None)

    def _lookup(self, mid: str | int | None) -> _Unit | None:
        """The unit's entry after starting a read when one is due, waiting for it (bounded) on a miss."""
        if self._fetch is None:
            return None
        key = self.default_mid if mid is None or mid == "" else _number(mid)
        if key is None and mid not in (None, ""):
            return None  # a MID that is not a number: no names rather than another unit's
        now = self._clock()
        unit = self._units.get(key)  # a dict read is atomic: the fresh case takes no lock
        if unit is not None and self._fresh(unit, now):
            unit.used_at = now
            return unit
        with self._lock:
            unit = self._units.get(key) or self._add(key)
            unit.used_at = now
            if not self._fresh(unit, now) and unit.reading is None and now >= unit.retry_at:
                unit.reading = threading.Event()
                unit.read_started = now
                threading.Thread(
                    target=self._read, args=(key, unit, unit.reading), name="list-directory", daemon=True
                ).start()
            reading = unit.reading if unit.lists is None else None
            left = unit.read_started + self.wait - now
        if reading is not None and left > 0:
            reading.wait(left)
        return unit

    def _fresh(self, unit: _Unit, now: float) -> bool:
        """Read recently enough that no refresh is due yet."""
        return unit.fetched_at is not None and now - unit.fetched_at < self.ttl * REFRESH_AHEAD

    def _add(self, key: int | None) -> _Unit:
        """A new entry for ``key`` (under the lock), pushing out the least recently used one when full."""
        if len(self._units) >= self.max_units:
            oldest = min(self._units, key=lambda known: self._units[known].used_at)
            del self._units[oldest]
        unit = self._units[key] = _Unit()
        return unit

    def _read(self, key: int | None, unit: _Unit, done: threading.Event) -> None:
        """One read of a unit's lists (a background thread); a failure backs the unit off."""
        fetch = self._fetch
        try:
            if fetch is None:
                raise RuntimeError("list names are off")
            lists = tuple(fetch(key))
        except Exception as error:
            with self._lock:
                unit.failures += 1
                delay = min(self.retry * 2 ** (unit.failures - 1), max(self.ttl, self.retry))
                unit.retry_at = self._clock() + delay * random.uniform(0.8, 1.2)
            logger.warning(
                "list names of business unit %s not read (%s: %s); next try in about %.0f s",
                key if key is not None else "(default)",
                type(error).__name__,
                error,
                delay,
            )
        else:
            with self._lock:
                unit.lists = lists
                unit.names = {item.id: item.name.strip() for item in lists if item.name.strip()}
                unit.fetched_at = self._clock()
                unit.failures = 0
                unit.retry_at = 0.0
            logger.info("list names of business unit %s read: %d list(s)", key, len(lists))
        finally:
            with self._lock:
                unit.reading = None
            done.set()

    def _forked(self) -> None:
        """In a forked child: the parent's lock may be held by a thread that does not exist here, and its
        reads in flight will never finish here. Start again (what the parent had read is kept)."""
        self._lock = threading.Lock()
        for unit in self._units.values():
            unit.reading = None


def _number(value: str | int | None) -> int | None:
    """A Marketing Cloud ID (a positive decimal number, as text or int), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value) or None
    return None


def list_name(mid: str | int | None, list_id: str | int | None) -> str | None:
    """``ListDirectory.list_name`` of the current app's directory (inside a request or app context)."""
    return get_directory().list_name(mid, list_id)


def lists(mid: str | int | None) -> list[MailingList] | None:
    """``ListDirectory.lists`` of the current app's directory (inside a request or app context)."""
    return get_directory().lists(mid)


def get_directory(app: Any = None) -> ListDirectory:
    """The directory of ``app`` (default: the current Flask app), made on first use: nothing is read,
    or even set up, at import or start-up. It reads through the app's Marketing Cloud client."""
    directory = (current_app if app is None else app).extensions.get(EXTENSION_KEY)
    if directory is None:
        from app.sfmc import get_client

        owner = current_app._get_current_object() if app is None else app

        def fetch(mid: int | None) -> Sequence[MailingList]:
            return get_client(owner).retrieve_lists(mid)

        directory = owner.extensions.setdefault(EXTENSION_KEY, ListDirectory.from_config(owner.config, fetch))
    return directory
