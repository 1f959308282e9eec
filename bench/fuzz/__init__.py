"""Fuzzers: hostile links, forms and headers against the app; hostile Marketing Cloud answers to the parser.

    .venv/bin/python -m bench.fuzz [--cases 3000] [--seed N]

1. The Marketing Cloud response parser (``app.sfmc.response.parse_response``) gets random and mutated
   Execute answers and faults, and the classic attacks: XXE (file and network), billion laughs, quadratic
   blow-up, deep nesting, huge bodies, DOCTYPEs in UTF-16. Allowed: a parsed result, a fault, or an
   ``SfmcError``. Anything else (another exception, a second or more of CPU, a file's content or a network
   hit leaking through an entity) counts as a crash. A hostile server in Marketing Cloud's place tries the
   transport below it (endless bodies, a gzip bomb, header floods, a drip).
2. The app (Flask test client, a real emulator over loopback, a real SQLite journal) gets random and
   mutated link tokens — including correctly signed tokens with claims of every odd type — random form
   fields, methods, bodies and headers; a quarter of them the manage page's (``manage``: hostile lists
   forms, signed shown states, "subscribe again" values, expired links). Any 5xx or exception counts as
   a server error, and so does an ERROR record from an ``app.*`` logger (an exception delivery
   swallowed); a GET, HEAD or OPTIONS must never log an UnsubEvent nor add or change a journal row.

Prints the cases tried and the crash / server-error counts last; exits 1 on any.

One module per target (``parser``, ``transport``, ``app``) and one per kind of input (``bodies``,
``links``); ``__main__`` runs them all. The names the tests use are re-exported here.
"""

from bench.fuzz.app import (
    AppUnderTest,
    ErrorLogCounter,
    SafeMethodEffects,
    app_under_test,
    changed_rows,
    check_request,
    fuzz_app,
    journal_rows,
    random_request,
)
from bench.fuzz.bodies import (
    HARMLESS_ATTACKS,
    SEED_BODIES,
    attack_bodies,
    execute_response,
    fault_response,
    mutate_body,
    random_response_case,
)
from bench.fuzz.links import ODD_VALUES, mutate_token, odd_claims
from bench.fuzz.manage import LIST_IDS, random_manage_request, shown_state
from bench.fuzz.parser import SECRET_MARKER, Canary, attack_environment, check_parse, fuzz_parser
from bench.fuzz.tally import Tally
from bench.fuzz.transport import HOSTILE_MODES, HostileServer, fuzz_transport, hostile_client

__all__ = [
    "HARMLESS_ATTACKS",
    "HOSTILE_MODES",
    "LIST_IDS",
    "ODD_VALUES",
    "SECRET_MARKER",
    "SEED_BODIES",
    "AppUnderTest",
    "Canary",
    "ErrorLogCounter",
    "HostileServer",
    "SafeMethodEffects",
    "Tally",
    "app_under_test",
    "attack_bodies",
    "attack_environment",
    "changed_rows",
    "check_parse",
    "check_request",
    "execute_response",
    "fault_response",
    "fuzz_app",
    "fuzz_parser",
    "fuzz_transport",
    "hostile_client",
    "journal_rows",
    "mutate_body",
    "mutate_token",
    "odd_claims",
    "random_manage_request",
    "random_request",
    "random_response_case",
    "shown_state",
]
