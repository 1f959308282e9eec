"""What ``flask check-config`` checks beyond "every setting parses": the values that would fail later.

A setting can parse and still not work: a brand colour white text cannot be read on (the pages quietly
use ours), an ``http:`` logo the page's CSP blocks, a ``javascript:`` contact link, a ``TEMPLATE_DIR`` that
does not exist or holds a template that does not compile, a language or reason code the app does not have.
The app starts with those (each falls back to something that works, with a warning in the log: an
unsubscribe page must stay up), but ``check-config`` reports each as an error, all in one run, so a
deployment finds them before a subscriber does. A warning (not an error) says what is allowed but
probably not meant, e.g. no contact link at all.

``findings(values)`` works on whatever parsed, so a start-up that stops for a missing setting lists these
problems in the same run too (``app.create_app``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, TemplateSyntaxError

from config import SETTINGS, UNIT_BRANDS_KEY


@dataclass(frozen=True)
class Finding:
    """One problem (or, with ``warning``, one doubt) about one setting."""

    setting: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        return f"{self.setting} {self.message}"


def findings(values: Mapping[str, Any], environment: Environment | None = None) -> list[Finding]:
    """Every finding for the parsed settings ``values``; templates compile with ``environment`` (the
    app's own) or, without an app, with one set up by the same code (``page_environment``)."""
    found = [*_brand_findings(values, "BRAND_")]
    if not values.get("BRAND_CONTACT_URL"):
        found.append(
            Finding(
                "BRAND_CONTACT_URL",
                "is not set: the 'could not find that subscription' and error pages offer no contact",
                warning=True,
            )
        )
    for mid, unit in sorted((values.get(UNIT_BRANDS_KEY) or {}).items()):
        found += _brand_findings(unit, f"BRAND_{mid}_")
    found += _page_findings(values, environment)
    return found


def errors(values: Mapping[str, Any], environment: Environment | None = None) -> list[str]:
    """The findings that are errors, as ``SETTING message`` lines."""
    return [str(finding) for finding in findings(values, environment) if not finding.warning]


def _brand_findings(brand: Mapping[str, Any], prefix: str) -> Iterator[Finding]:
    """The global brand's (``prefix`` ``BRAND_``) or one unit's (``BRAND_<MID>_``) problems."""
    from app.unsubscribe.branding import LINK_SCHEMES, colour_problem

    colour = brand.get("BRAND_PRIMARY_COLOR")
    if isinstance(colour, str) and (problem := colour_problem(colour)):
        yield Finding(f"{prefix}PRIMARY_COLOR", f"{problem} (the pages would use #0b5cad instead)")
    logo = brand.get("BRAND_LOGO_URL")
    if isinstance(logo, str) and not _allowed_image(logo):
        yield Finding(
            f"{prefix}LOGO_URL",
            "must be an https:// URL or a path on this app (/…): the page's Content-Security-Policy "
            "blocks any other",
        )
    for field in ("CONTACT_URL", "PRIVACY_URL"):
        url = brand.get(f"BRAND_{field}")
        if isinstance(url, str) and urlsplit(url.strip()).scheme.lower() not in LINK_SCHEMES:
            yield Finding(
                f"{prefix}{field}",
                "must be an http(s):// URL, mailto: or tel: (other links are not shown on the pages)",
            )


def _allowed_image(url: str) -> bool:
    url = url.strip()
    if url.startswith("/") and not url.startswith("//"):
        return True
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.netloc)


def _page_findings(values: Mapping[str, Any], environment: Environment | None) -> Iterator[Finding]:
    from app.unsubscribe import content
    from app.unsubscribe.i18n import SUPPORTED_LOCALES, match_locale
    from app.unsubscribe.reasons import ReasonCatalog

    locale = values.get("DEFAULT_LOCALE")
    if isinstance(locale, str) and match_locale(locale) is None:
        yield Finding(
            "DEFAULT_LOCALE",
            f"is {locale!r}, not a language of the pages ({', '.join(SUPPORTED_LOCALES)}); "
            "English would be used",
        )
    folder = values.get("TEMPLATE_DIR")
    own = content.read(folder) if isinstance(folder, str) and Path(folder).is_dir() else content.Content()
    known = ReasonCatalog.with_content(own.reasons).reasons
    unknown = [code for code in values.get("UNSUB_REASONS") or () if code not in known]
    if unknown:
        yield Finding(
            "UNSUB_REASONS",
            f"names reason codes the pages do not have: {', '.join(unknown)} (known: {', '.join(known)}; "
            f"your own go in {content.CONTENT_FILE}); they would not be offered",
        )
    if isinstance(folder, str):
        yield from _template_findings(Path(folder), environment or page_environment(values))
        if Path(folder).is_dir():
            # The content file's own check (app/unsubscribe/content.py), every problem of it at once.
            for problem in content.problems(folder):
                yield Finding("TEMPLATE_DIR", f"{content.CONTENT_FILE}: {problem}")


def _template_findings(folder: Path, environment: Environment) -> Iterator[Finding]:
    if not folder.is_dir():
        yield Finding("TEMPLATE_DIR", f"{str(folder)!r} is not a folder (the built-in pages would be used)")
        return
    for path in sorted(folder.rglob("*.html")):
        name = path.relative_to(folder).as_posix()
        try:
            environment.compile(path.read_text(encoding="utf-8"), name, str(path))
        except UnicodeDecodeError:
            yield Finding("TEMPLATE_DIR", f"{name} is not UTF-8 text")
        except TemplateSyntaxError as error:
            yield Finding("TEMPLATE_DIR", f"{name} line {error.lineno} does not compile: {error.message}")


def page_environment(values: Mapping[str, Any]) -> Environment:
    """The pages' sandboxed template environment, set up by the pages' own ``init_app`` on a bare app
    (defaults for whatever did not parse): for checking templates when the real app cannot start."""
    from app import PROJECT_ROOT
    from app.templating import SandboxedFlask
    from app.unsubscribe import init_app

    bare = SandboxedFlask(
        "check-config", template_folder=str(PROJECT_ROOT / "templates"), root_path=str(PROJECT_ROOT)
    )
    defaults = {setting.name: setting.default for setting in SETTINGS if not setting.required}
    bare.config.update({**defaults, **values})
    init_app(bare)
    return bare.jinja_env
