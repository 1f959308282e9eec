"""What "unsubscribe from all email" covers for a business unit: every brand of the company, or one.

Marketing Cloud's ``BusinessUnit.MasterUnsubscribeBehavior`` decides it (``ENTIRE_ENTERPRISE``: the
parent's All Subscribers list, every unit; ``BUSINESS_UNIT_ONLY``: this unit). The pages say which, so a
person knows what "all" means before and after pressing it. Each process reads it once per unit
(``BUSINESS_UNIT_CACHE_SECONDS``); while one read is under way, or after a failed one (for
``FAILED_READ_SECONDS``), the answer comes from ``SFMC_MASTER_UNSUBSCRIBE_BEHAVIOR``, else it is unknown
(None) and the pages keep the wording that promises neither.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

ENTIRE_ENTERPRISE = "ENTIRE_ENTERPRISE"
BUSINESS_UNIT_ONLY = "BUSINESS_UNIT_ONLY"
#: How long a failed read keeps its unit on the fallback before the next read is tried: a Marketing
#: Cloud outage costs each process one call per unit per minute, not one per page.
FAILED_READ_SECONDS = 60.0


def configured_behaviors(pairs: tuple[str, ...] | None) -> dict[int, str]:
    """``SFMC_MASTER_UNSUBSCRIBE_BEHAVIOR`` (``MID:BEHAVIOR`` texts, checked by config.py) by MID."""
    behaviors = {}
    for pair in pairs or ():
        mid, _, behavior = pair.partition(":")
        behaviors[int(mid)] = behavior
    return behaviors


class UnitBehaviors:
    """Each unit's MasterUnsubscribeBehavior, read from Marketing Cloud on first need and kept a while."""

    def __init__(
        self,
        client: Callable[[], Any],
        configured: Mapping[int, str],
        *,
        default_mid: int | None = None,
        keep_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._configured = dict(configured)
        self._default_mid = default_mid
        self._keep_seconds = keep_seconds
        self._clock = clock
        self._known: dict[int | None, tuple[str | None, float]] = {}  # unit → (behavior, valid until)
        self._reading: set[int | None] = set()
        self._lock = threading.Lock()

    def covers_every_brand(self, mid: int | None, *, timeout: float) -> bool | None:
        """True for ENTIRE_ENTERPRISE, False for BUSINESS_UNIT_ONLY, None when nobody knows.

        ``mid`` None is the unit the API tokens act in. Waits at most ``timeout`` for Marketing Cloud, and
        not at all when the unit is known, being read by another request, or failed a moment ago.
        """
        behavior = self.behavior(mid, timeout=timeout)
        if behavior == ENTIRE_ENTERPRISE:
            return True
        if behavior == BUSINESS_UNIT_ONLY:
            return False
        return None

    def known(self, mid: int | None) -> bool | None:
        """``covers_every_brand`` without ever calling Marketing Cloud: what this process has read already,
        else the setting, else None. For the landing form, whose GET reads nothing but list names."""
        known = self._known.get(mid)  # a dict read is atomic: no lock on the landing page's path
        behavior = known[0] if known is not None and known[0] is not None else self._fallback(mid)
        return {ENTIRE_ENTERPRISE: True, BUSINESS_UNIT_ONLY: False}.get(behavior or "")

    def behavior(self, mid: int | None, *, timeout: float) -> str | None:
        """The unit's behavior as Marketing Cloud said it, else as configured, else None."""
        now = self._clock()
        with self._lock:
            known = self._known.get(mid)
            if known is not None and known[1] > now and known[0] is not None:
                return known[0]
            if (known is not None and known[1] > now) or mid in self._reading or timeout <= 0:
                return self._fallback(mid)
            self._reading.add(mid)
        read = None
        try:
            read = self._read(mid, timeout)
        finally:
            with self._lock:
                self._reading.discard(mid)
                keep = self._keep_seconds if read else FAILED_READ_SECONDS
                self._known[mid] = (read, self._clock() + keep)
        return read or self._fallback(mid)

    def _read(self, mid: int | None, timeout: float) -> str | None:
        from app.sfmc import SfmcError

        try:
            unit = self._client().retrieve_business_unit(mid, timeout=timeout)
        except SfmcError as exc:
            logger.info("could not read a business unit's MasterUnsubscribeBehavior: %s", type(exc).__name__)
            return None
        except Exception:
            # Only wording depends on this, often on a page whose request is journaled already: a bug
            # here must cost the sentence, never the page.
            logger.exception("reading a business unit's MasterUnsubscribeBehavior failed unexpectedly")
            return None
        behavior = getattr(unit, "master_unsubscribe_behavior", None)
        return behavior if behavior in (ENTIRE_ENTERPRISE, BUSINESS_UNIT_ONLY) else None

    def _fallback(self, mid: int | None) -> str | None:
        return self._configured.get(mid if mid is not None else self._default_mid or 0)
