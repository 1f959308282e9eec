"""Every setting of the app, read from the environment once and validated in one place.

The table ``SETTINGS`` is the single source of truth: ``load_config`` parses it, ``flask check-config``
prints it (secrets redacted) and the README's configuration table is written from it. Secrets have no
default: a missing one stops start-up with one readable line naming it (``ConfigError``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class ConfigError(Exception):
    """One or more settings are missing or malformed; ``problems`` holds one line per setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


_REQUIRED = object()


@dataclass(frozen=True)
class Setting:
    """One environment variable: how to parse it, its default, and whether it is secret."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    secret: bool = False

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


def _url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value.strip().rstrip("/")


def _optional_url(value: str) -> str | None:
    return _url(value) if value.strip() else None


def _optional_https_url(value: str) -> str | None:
    """An asset the pages load from another origin: https only, because the CSP allows nothing else."""
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError("must be an https:// URL (the page's Content-Security-Policy allows no other)")
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _optional_text(value: str) -> str | None:
    return value.strip() or None


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("must be a positive number")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be 1 or more")
    return number


def _optional_mid(value: str) -> int | None:
    if not value.strip():
        return None
    return _positive_int(value)


def _mid_list_pairs(value: str) -> tuple[str, ...] | None:
    """``MID:ListID,MID:ListID`` (positive numbers, each MID once) as normalised ``MID:ListID`` texts."""
    pairs: dict[int, int] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        mid_text, _, list_text = item.partition(":")
        try:
            mid, list_id = _positive_int(mid_text), _positive_int(list_text)
        except ValueError:
            raise ValueError(f"{item!r} is not MID:ListID (two positive numbers)") from None
        if mid in pairs:
            raise ValueError(f"MID {mid} is given twice")
        pairs[mid] = list_id
    return tuple(f"{mid}:{list_id}" for mid, list_id in pairs.items()) or None


def _mid_list_choices(value: str) -> tuple[str, ...] | None:
    """``MID:ListID,MID:ListID`` where a MID may repeat (its lists, in the order given), as ``MID:ListID``."""
    chosen: list[str] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        mid_text, _, list_text = item.partition(":")
        try:
            pair = f"{_positive_int(mid_text)}:{_positive_int(list_text)}"
        except ValueError:
            raise ValueError(f"{item!r} is not MID:ListID (two positive numbers)") from None
        if pair not in chosen:
            chosen.append(pair)
    return tuple(chosen) or None


MASTER_UNSUBSCRIBE_BEHAVIORS = ("ENTIRE_ENTERPRISE", "BUSINESS_UNIT_ONLY")


def _mid_behaviors(value: str) -> tuple[str, ...] | None:
    """``MID:ENTIRE_ENTERPRISE,MID:BUSINESS_UNIT_ONLY`` (each MID once) as normalised texts."""
    behaviors: dict[int, str] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        mid_text, _, behavior = item.partition(":")
        behavior = behavior.strip().upper()
        try:
            mid = _positive_int(mid_text)
        except ValueError:
            mid = 0
        if not mid or behavior not in MASTER_UNSUBSCRIBE_BEHAVIORS:
            raise ValueError(f"{item!r} is not MID:ENTIRE_ENTERPRISE or MID:BUSINESS_UNIT_ONLY")
        if mid in behaviors:
            raise ValueError(f"MID {mid} is given twice")
        behaviors[mid] = behavior
    return tuple(f"{mid}:{behavior}" for mid, behavior in behaviors.items()) or None


def _signing_keys(value: str) -> tuple[str, ...]:
    keys = tuple(key.strip() for key in value.split(",") if key.strip())
    if not keys:
        raise ValueError("needs at least one key")
    short = [index for index, key in enumerate(keys, 1) if len(key.encode()) < 16]
    if short:
        raise ValueError(f"key number {short[0]} is shorter than 16 bytes")
    return keys


def _database_url(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ValueError("must start with sqlite:/// or postgresql://")
    return value


def _csv_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


def timezone_name(value: str) -> str:
    """An IANA time-zone name (``Europe/Berlin``) as the date formatting knows it, else ``ValueError``.

    Empty means UTC. Public so that other checks (a per-unit brand's ``timezone``) validate exactly as
    this setting does. Looked up with Babel, which uses the time-zone data Flask-Babel converts with (pytz).
    """
    from babel.dates import get_timezone

    name = value.strip()
    if not name:
        return "UTC"
    try:
        return str(get_timezone(name))
    except LookupError:
        raise ValueError(f"{name!r} is not an IANA time-zone name such as Europe/Berlin") from None


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


SETTINGS: tuple[Setting, ...] = (
    # Marketing Cloud
    Setting(
        "SFMC_AUTH_URL",
        _url,
        _REQUIRED,
        "Auth base URL of the installed package, e.g. https://mcXXXX.auth.marketingcloudapis.com",
    ),
    Setting("SFMC_CLIENT_ID", _text, _REQUIRED, "Client ID of the API integration package"),
    Setting(
        "SFMC_CLIENT_SECRET",
        _text,
        _REQUIRED,
        "Client secret of the API integration package",
        secret=True,
    ),
    Setting(
        "SFMC_ACCOUNT_ID",
        _optional_mid,
        None,
        "MID of the business unit tokens act in (account_id); empty = the package's default",
    ),
    Setting(
        "SFMC_SOAP_URL",
        _optional_url,
        None,
        "SOAP endpoint; empty = soap_instance_url from the token response + Service.asmx",
    ),
    Setting(
        "SFMC_TIMEOUT",
        _positive_float,
        5.0,
        "Seconds to wait for Marketing Cloud on each HTTP call (connect and read)",
    ),
    Setting(
        "SFMC_ALL_SUBSCRIBERS_LIST_ID",
        _optional_text,
        None,
        "ListID of All Subscribers of the unit tokens act in (entries without a MID or with "
        "SFMC_ACCOUNT_ID); with it an 'all email' unsubscribe is still tracked against the job, without "
        "it Marketing Cloud master-unsubscribes without an UnsubEvent",
    ),
    Setting(
        "SFMC_ALL_SUBSCRIBERS_LISTS",
        _mid_list_pairs,
        None,
        "All Subscribers ListID per business unit, MID:ListID comma-separated (e.g. "
        "510001000:1000,510001001:2000); a unit not listed gets no job context for 'all email'",
    ),
    Setting(
        "SFMC_MASTER_UNSUBSCRIBE_BEHAVIOR",
        _mid_behaviors,
        None,
        "What 'all email' covers per business unit when Marketing Cloud does not say (its BusinessUnit "
        "Retrieve failed), MID:ENTIRE_ENTERPRISE or MID:BUSINESS_UNIT_ONLY comma-separated",
    ),
    # Journal and delivery
    Setting(
        "DATABASE_URL",
        _database_url,
        None,
        "Journal database: empty = SQLite file instance/journal.sqlite3; "
        "sqlite:///PATH or postgresql://user@host/db",
    ),
    Setting(
        "INLINE_DELIVERY_BUDGET",
        _positive_float,
        1.0,
        "Seconds a POST may spend delivering inline before the worker takes over",
    ),
    Setting(
        "DELIVERY_BATCH_SIZE",
        _positive_int,
        50,
        "LogUnsubEvent requests per Execute call (Marketing Cloud's soft limit is 50)",
    ),
    Setting(
        "DELIVERY_MAX_ATTEMPTS",
        _positive_int,
        30,
        "Attempts before an entry that keeps failing becomes dead",
    ),
    Setting(
        "DELIVERY_MAX_AGE_HOURS",
        _positive_float,
        36.0,
        "Age after which an entry that keeps failing becomes dead (well inside Gmail's 48 hours)",
    ),
    Setting(
        "WORKER_POLL_SECONDS",
        _positive_float,
        2.0,
        "How often `journal deliver --forever` looks for due entries",
    ),
    Setting(
        "DELIVERY_LEASE_SECONDS",
        _positive_float,
        120.0,
        "How long a worker's claim on a batch lasts; claims of a killed worker become due again after it",
    ),
    Setting(
        "DELIVERY_BACKOFF_BASE_SECONDS",
        _positive_float,
        10.0,
        "First retry delay after a transient failure; doubles per attempt, with jitter",
    ),
    Setting(
        "DELIVERY_BACKOFF_MAX_SECONDS",
        _positive_float,
        3600.0,
        "Longest retry delay between two attempts of one entry",
    ),
    # Links
    Setting(
        "LINK_SIGNING_KEYS",
        _signing_keys,
        _REQUIRED,
        "Comma-separated HS256 secrets (>= 16 bytes each); the first signs, all verify (rotation)",
        secret=True,
    ),
    Setting(
        "PUBLIC_BASE_URL",
        _optional_url,
        None,
        "Base URL the links point at, e.g. https://prefs.example.com (mint-link)",
    ),
    # Pages
    Setting(
        "TEMPLATE_DIR",
        _optional_text,
        None,
        "Folder whose templates take precedence over the built-in ones",
    ),
    Setting(
        "BRAND_TIMEZONE",
        timezone_name,
        "UTC",
        "IANA time zone the pages' dates are written in (e.g. Europe/Berlin), so 'Recorded on' shows the "
        "brand's day",
    ),
    Setting("BRAND_NAME", _text, "Example Newsletters", "Sender name shown on every page"),
    Setting("BRAND_LOGO_URL", _optional_text, None, "Logo URL (served by you; no referrer sent)"),
    Setting("BRAND_PRIMARY_COLOR", _text, "#0b5cad", "Button and link colour (keep 4.5:1 on white)"),
    Setting(
        "BRAND_STYLESHEET_URL",
        _optional_https_url,
        None,
        "Your own stylesheet (https), loaded after ours; the CSP's style-src allows its origin",
    ),
    Setting(
        "BRAND_FAVICON_URL",
        _optional_https_url,
        None,
        "Your favicon (https); empty = the neutral one at /favicon.ico",
    ),
    Setting("BRAND_PRIVACY_URL", _optional_url, None, "Link to the privacy notice"),
    Setting("BRAND_CONTACT_URL", _optional_text, None, "Contact link (URL or mailto:)"),
    Setting(
        "UNSUB_REASONS",
        _csv_list,
        ("too_many", "not_relevant", "never_signed_up", "other"),
        "Reason codes offered on the form, in order (too_many, not_relevant, never_signed_up, "
        "no_longer_interested, other, or your own from TEMPLATE_DIR/content.toml)",
    ),
    Setting(
        "PREFERENCE_LISTS",
        _mid_list_choices,
        None,
        "Lists the manage-your-subscriptions page offers, MID:ListID comma-separated, a MID repeated for "
        "each of its lists, in page order; a unit not named offers all its public publication lists",
    ),
    Setting(
        "MANAGE_READ_TIMEOUT",
        _positive_float,
        1.5,
        "Seconds the manage page may wait for Marketing Cloud's answers before it shows the plain form",
    ),
    Setting(
        "MANAGE_READ_RATE",
        _positive_float,
        5.0,
        "Manage pages per second each process reads from Marketing Cloud (beyond: the plain form)",
    ),
    Setting(
        "MANAGE_READ_BURST",
        _positive_int,
        20,
        "Manage pages a process may read from Marketing Cloud at once before MANAGE_READ_RATE applies",
    ),
    Setting(
        "BUSINESS_UNIT_CACHE_SECONDS",
        _positive_float,
        3600.0,
        "How long each process keeps a business unit's MasterUnsubscribeBehavior (a failed read: 60 s)",
    ),
    Setting("DEFAULT_LOCALE", _text, "en", "Language when neither the link nor the browser says"),
    # List names (app/preferences/directory.py)
    Setting(
        "LIST_NAMES",
        _bool,
        True,
        "Name the email's list on the pages, read from Marketing Cloud (one List Retrieve per business unit, "
        "cached); false = never read, generic wording",
    ),
    Setting(
        "LIST_NAMES_TTL_SECONDS",
        _positive_float,
        900.0,
        "How long a unit's list names are trusted; a page refreshes them in the background before that, "
        "and while Marketing Cloud cannot be reached the old names stay",
    ),
    Setting(
        "LIST_NAMES_WAIT_SECONDS",
        _positive_float,
        0.3,
        "Longest a page waits for a unit's first List Retrieve; past it the page shows no name",
    ),
    Setting(
        "LIST_NAMES_RETRY_SECONDS",
        _positive_float,
        10.0,
        "Pause after a failed List Retrieve before the unit is read again; doubles per failure up to the TTL",
    ),
    Setting("LIST_NAMES_MAX_UNITS", _positive_int, 100, "Business units whose lists a process keeps"),
    # Operations
    Setting(
        "TRUSTED_PROXIES",
        _non_negative_int,
        0,
        "How many reverse proxies in front set X-Forwarded-* (0 = trust none)",
    ),
    Setting(
        "TRUSTED_HOSTS",
        _csv_list,
        None,
        "Host names answered besides PUBLIC_BASE_URL's host, localhost and 127.0.0.1 (comma-separated; "
        "a leading dot takes every subdomain); any other Host gets 400",
    ),
    Setting("METRICS_TOKEN", _optional_text, None, "Bearer token for /metrics", secret=True),
    Setting(
        "RATELIMIT_STORAGE_URI",
        _text,
        "memory://",
        "Flask-Limiter storage: memory:// per process, redis://host:6379 shared by machines",
    ),
    Setting("RATELIMIT_POST", _text, "20 per minute", "Per-IP limit on POSTs"),
    Setting(
        "READY_MAX_PENDING_AGE",
        _positive_float,
        900.0,
        "Seconds the oldest pending entry may wait before /readyz reports not ready",
    ),
    Setting("LOG_LEVEL", _log_level, "INFO", "DEBUG, INFO, WARNING or ERROR"),
    Setting(
        "MAX_BODY_BYTES",
        _positive_int,
        16384,
        "Largest request body accepted (413 above)",
    ),
    Setting(
        "SECURE_HSTS",
        _bool,
        True,
        "Send Strict-Transport-Security on HTTPS responses",
    ),
)


#: ``BRAND_<MID>_<FIELD>``: the brand of one business unit (``BRAND_<FIELD>`` is the global one).
UNIT_BRAND = re.compile(r"BRAND_(\d+)_([A-Z_]+)")
#: Where ``load_config`` puts the business units' brands: ``{MID: {"BRAND_NAME": …, …}}``.
UNIT_BRANDS_KEY = "BRAND_UNITS"


def unit_brand_settings(source: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The per-business-unit brands, ``BRAND_<MID>_<FIELD>``, parsed like the global ``BRAND_<FIELD>``.

    Each unit names only what differs from the global brand; the rest falls back to it
    (``app/unsubscribe/branding.py``). A field that is not a brand setting is a problem, not ignored:
    a typo would otherwise quietly show the global brand.
    """
    by_name = {setting.name: setting for setting in SETTINGS}
    fields = sorted(name.removeprefix("BRAND_") for name in by_name if name.startswith("BRAND_"))
    units: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name in sorted(source):
        match = UNIT_BRAND.fullmatch(name)
        if match is None:
            continue
        mid, field = str(int(match[1])), match[2]
        setting = by_name.get(f"BRAND_{field}")
        if setting is None or int(mid) < 1:
            problems.append(f"{name} is not a brand setting (BRAND_<MID>_ + one of {', '.join(fields)})")
            continue
        raw = source[name]
        try:
            value = setting.parse(raw) if isinstance(raw, str) else raw
        except ValueError as exc:
            problems.append(f"{name} is invalid: {exc}")
            continue
        if value is not None:
            units.setdefault(mid, {})[setting.name] = value
    return units, problems


def parse_settings(environ: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Every setting that parses, and one line per setting that does not (see ``load_config``)."""
    source = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        raw = source.get(setting.name)
        if raw is None or (isinstance(raw, str) and not raw.strip() and setting.required):
            if setting.required:
                problems.append(f"{setting.name} is not set ({setting.help})")
            else:
                values[setting.name] = setting.default
            continue
        if not isinstance(raw, str):
            values[setting.name] = raw
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            problems.append(f"{setting.name} is invalid: {exc}")
    values[UNIT_BRANDS_KEY], unit_problems = unit_brand_settings(source)
    return values, problems + unit_problems


def load_config(environ: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Parse every setting from ``environ`` (default: the process environment).

    Values that are not strings (tests pass Python values) are taken as they are. All problems are
    collected first so that a misconfigured deployment learns everything in one start.
    """
    values, problems = parse_settings(environ)
    if problems:
        raise ConfigError(problems)
    return values


def redacted(values: Mapping[str, Any]) -> dict[str, str]:
    """The effective configuration as text, each secret replaced so it can be printed or logged."""
    shown: dict[str, str] = {}
    for setting in SETTINGS:
        value = values.get(setting.name)
        if setting.secret and value:
            shown[setting.name] = "<redacted>"
        elif isinstance(value, tuple):
            shown[setting.name] = ",".join(value)
        else:
            shown[setting.name] = "" if value is None else str(value)
    for mid, brand in sorted((values.get(UNIT_BRANDS_KEY) or {}).items()):
        for name, value in brand.items():
            shown[f"BRAND_{mid}_{name.removeprefix('BRAND_')}"] = str(value)
    return shown
