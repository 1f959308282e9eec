"""``python -m bench.fuzz``: every target in turn, the figures last; exits 1 on any failure."""

from __future__ import annotations

import argparse
import random
import sys
import time

import bench.fuzz
from bench.fuzz.app import fuzz_app
from bench.fuzz.parser import fuzz_parser
from bench.fuzz.transport import fuzz_transport


def main(argv: list[str] | None = None) -> int:
    """Run the parser, transport and app fuzzers with one seed; 1 when any of them found a failure."""
    parser = argparse.ArgumentParser(
        description=bench.fuzz.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=3000, help="random cases per target (default 3000)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    started = time.monotonic()
    print(f"python -m bench.fuzz: seed {seed}", flush=True)
    parser_tally = fuzz_parser(args.cases, random.Random(seed))
    drip_seconds = fuzz_transport(parser_tally)
    print(f"parser and transport done in {time.monotonic() - started:.0f} s; now the app", flush=True)
    app_tally, safe = fuzz_app(args.cases, random.Random(seed + 1))

    for label, tally in (("response parser", parser_tally), ("app", app_tally)):
        for crash in tally.crashes[:10]:
            print(f"  {label} FAILURE: {crash}")
    print()
    print(f"seed                              {seed}")
    print(f"parser + transport cases tried    {parser_tally.cases}")
    print(f"parser outcomes                   {dict(parser_tally.outcomes.most_common())}")
    print(f"parser slowest case               {parser_tally.slowest * 1000:.1f} ms")
    print(f"parser + transport crashes        {len(parser_tally.crashes)}")
    print(
        f"a server dripping 1 byte / 0.5 s  held one call {drip_seconds:.0f} s with SFMC_TIMEOUT 2 s "
        "(the client's total deadline per call is 2 x SFMC_TIMEOUT)"
    )
    print(f"app requests tried                {app_tally.cases}")
    print(f"app statuses                      {dict(sorted(app_tally.outcomes.items()))}")
    print(f"UnsubEvents from GET/HEAD/OPTIONS {safe.events}")
    print(f"journal rows by GET/HEAD/OPTIONS  {safe.journal_rows}")
    print(f"app ERROR log records             {sum(app_tally.logged_errors.values())}")
    for message, count in app_tally.logged_errors.most_common(5):
        print(f"  app FAILURE: {count} x {message}")
    print(f"app server errors (5xx/crash)     {len(app_tally.crashes)}")
    print(f"total time                        {time.monotonic() - started:.0f} s")
    drip_held_too_long = drip_seconds > 2 * 2 + 1  # the deadline plus a second of slack
    failed = (
        parser_tally.crashes
        or app_tally.crashes
        or app_tally.logged_errors
        or safe.events
        or safe.journal_rows
        or drip_held_too_long
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
