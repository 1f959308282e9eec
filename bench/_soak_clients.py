"""The soak's people: what each one POSTs, how they retry, and what they saw (``bench/soak.py`` runs them).

Person ``i`` sends the body of kind ``KINDS[i % len(KINDS)]``: the landing page's form for "only this
list" (most people), "all marketing email", an RFC 8058 one-click POST, a free-text reason holding a NUL
byte, a free-text reason in Latin-1 (percent-escaped, as a browser sends for a page it takes for Latin-1),
and one with raw 8-bit bytes (a client that sends Latin-1 unescaped). Every one of them is a valid
unsubscribe, so every one must end in a 2xx page.

A person presses again after a refused connection (the app was being killed), a 429 and any 5xx, as
people do, up to ``MAX_TRIES`` times with a growing pause; a 4xx other than 429 ends their tries (a
person shown an error page about their own request does not learn anything by pressing again). Every 5xx
is kept with the moment it arrived, so that the verdict can ask the journal whether the request had been
journaled by then (``bench/_soak_verdict.py``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

MAX_TRIES = 20

#: The people's mix, in the order person ``i`` picks it by ``i % len(KINDS)``: six of ten post the plain
#: form, so the soak stays mostly what a mailing's unsubscribes look like.
KINDS = (
    "list",
    "all",
    "list",
    "one_click",
    "list",
    "nul",
    "list",
    "latin1_escaped",
    "list",
    "raw_8bit",
)
#: Kinds whose unsubscribe is "all marketing email" (a master unsubscribe in Marketing Cloud); every
#: other kind unsubscribes from the link's list (one-click too: the soak's links carry a job).
ALL_EMAIL_KINDS = frozenset({"all"})


def kind_of(index: int) -> str:
    """The kind of body person ``index`` sends."""
    return KINDS[index % len(KINDS)]


def body_for(kind: str, form: str) -> bytes:
    """The request body of ``kind``; ``form`` is the landing page's form for "only this list", urlencoded
    as a browser would send it (``bench._common.form_fields``)."""
    if kind == "list":
        return form.encode()
    if kind == "all":
        return form.replace("scope=list", "scope=all").encode()
    if kind == "one_click":
        return b"List-Unsubscribe=One-Click"
    if kind == "nul":
        return form.encode() + b"&reason=other&other_text=before%00after"
    if kind == "latin1_escaped":
        return form.encode() + b"&reason=other&other_text=caf%E9+cr%E8me+br%FBl%E9e"
    if kind == "raw_8bit":
        return form.encode() + b"&reason=other&other_text=caf\xe9 cr\xe8me"
    raise ValueError(f"unknown kind {kind!r}")


def classify_page(html: str) -> str:
    """Which result page the app answered with (English pages: the clients send Accept-Language: en)."""
    text = html.lower()
    if "processing" in text or "being processed" in text or "we have your request" in text:
        return "processing"
    if "already" in text:
        return "already"
    if "could not find" in text:
        return "not found"
    if "unsubscribed" in text:
        return "unsubscribed"
    return "other"


def is_clear_try_again(status: int, text: str) -> bool:
    """A 503 whose page tells the person to try again: the only 5xx the soak accepts, and only when the
    journal already held the person's request when it was sent (see ``bench/_soak_verdict.py``)."""
    return status == 503 and "try again" in text.lower()


@dataclass(frozen=True)
class ServerError:
    """One 5xx a person saw: who, when (wall clock, to compare with the journal's ``created_at``), what."""

    person: int
    at: float
    status: int
    clear_try_again: bool


@dataclass
class Tally:
    """What the clients saw, updated from many threads under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: set[int] = field(default_factory=set)
    pages: Counter = field(default_factory=Counter)
    posts: int = 0
    server_errors: list[ServerError] = field(default_factory=list)
    retries_after_5xx: int = 0
    connection_errors: int = 0
    rate_limited: int = 0
    refused: Counter = field(default_factory=Counter)  # "<status> <kind>" -> people
    given_up: int = 0
    finished: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class People:
    """Everything the client threads share: where to post, whose links, which bodies."""

    urls: list[str]
    tokens: list[str]
    bodies: dict[str, bytes]
    jobs: queue.Queue
    tally: Tally


HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en"}


def run_client(people: People, slot: int) -> None:
    """One client thread: one person after another until the queue is empty."""
    session = requests.Session()
    while True:
        try:
            index = people.jobs.get_nowait()
        except queue.Empty:
            return
        session = _one_person(people, slot, index, session)


def _one_person(people: People, slot: int, index: int, session: requests.Session) -> requests.Session:
    """POST person ``index``'s body until the app accepts it, refuses it, or ``MAX_TRIES`` run out."""
    tally = people.tally
    kind = kind_of(index)
    accepted = refused = False
    for attempt in range(MAX_TRIES):
        url = people.urls[(slot + attempt) % len(people.urls)]
        started = time.monotonic()
        try:
            response = session.post(
                f"{url}/unsubscribe",
                params={"t": people.tokens[index]},
                data=people.bodies[kind],
                headers=HEADERS,
                timeout=30,
            )
        except requests.RequestException:
            with tally.lock:
                tally.posts += 1
                tally.connection_errors += 1
            session.close()
            session = requests.Session()
            time.sleep(0.2 * (attempt + 1))
            continue
        arrived = time.time()
        status = response.status_code
        with tally.lock:
            tally.posts += 1
            tally.latencies.append(time.monotonic() - started)
            if 200 <= status < 300:
                tally.accepted.add(index)
                tally.pages[f"{classify_page(response.text)} ({kind})"] += 1
                accepted = True
            elif status >= 500:
                tally.server_errors.append(
                    ServerError(index, arrived, status, is_clear_try_again(status, response.text))
                )
                if attempt + 1 < MAX_TRIES:
                    tally.retries_after_5xx += 1
            elif status == 429:
                tally.rate_limited += 1
            else:
                tally.refused[f"{status} {kind}"] += 1
                refused = True
        if accepted or refused:
            break
        time.sleep(0.2 * (attempt + 1))
    with tally.lock:
        tally.finished += 1
        if not accepted and not refused:
            tally.given_up += 1
    return session
