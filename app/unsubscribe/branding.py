"""The brand a page shows: the global ``BRAND_*`` settings, or a business unit's ``BRAND_<MID>_*`` ones.

A child business unit is usually another brand, so the link's MID (``g.link_mid``, set where the link is
verified) picks the brand; every field a unit does not set falls back to the global brand. Pages without a
verified link and the error pages show the global brand.

The colour goes into ``/brand.css`` (``?mid=`` for a unit) as a CSS custom property rather than an inline
style, so a strict ``style-src`` Content-Security-Policy keeps working. Only ``#rgb``/``#rrggbb`` values pass
(nothing else can reach the stylesheet), and one that would put white button text under 4.5:1 is replaced
(``flask check-config`` reports both as errors before that happens).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, has_request_context

from config import UNIT_BRANDS_KEY

logger = logging.getLogger(__name__)

DEFAULT_PRIMARY = "#0b5cad"
MIN_CONTRAST = 4.5
HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
#: Schemes a footer link may use; anything else (``javascript:``, ``data:``) is never put on a page.
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
#: Where the app keeps its ``Brands`` (``app.extensions``).
BRANDS_KEY = "unsubscribe_brands"


def _channel(value: int) -> float:
    scaled = value / 255
    return scaled / 12.92 if scaled <= 0.03928 else ((scaled + 0.055) / 1.055) ** 2.4


def contrast_with_white(colour: str) -> float:
    """WCAG 2.1 contrast ratio of a ``#rgb``/``#rrggbb`` colour against white."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    luminance = 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)
    return 1.05 / (luminance + 0.05)


def colour_problem(configured: str | None) -> str | None:
    """Why ``configured`` cannot be the button colour, or None when it can (or is not set)."""
    if not configured:
        return None
    if not HEX_COLOUR.fullmatch(configured.strip()):
        return "is not a #rgb or #rrggbb colour"
    ratio = contrast_with_white(configured.strip())
    if ratio < MIN_CONTRAST:
        return f"has {ratio:.1f}:1 contrast with white; white button text needs at least {MIN_CONTRAST}:1"
    return None


def primary_colour(configured: str | None, setting: str = "BRAND_PRIMARY_COLOR") -> str:
    """The configured brand colour if it is a hex colour with at least 4.5:1 against white, else ours
    (``setting`` names where it came from in the warning)."""
    problem = colour_problem(configured)
    if configured and problem is None:
        return configured.strip().lower()
    if problem:
        logger.warning("%s %s; using %s", setting, problem, DEFAULT_PRIMARY)
    return DEFAULT_PRIMARY


def safe_link(url: str | None) -> str | None:
    """``url`` when its scheme is one a footer link may have (``LINK_SCHEMES``), else None."""
    if not url:
        return None
    if urlsplit(url.strip()).scheme.lower() not in LINK_SCHEMES:
        logger.warning("a brand link with a scheme other than http(s), mailto or tel is not shown")
        return None
    return url.strip()


def brand_context(config: Mapping[str, Any], mid: str | None = None) -> dict[str, Any]:
    """What a template gets as ``brand``: ``config``'s ``BRAND_*`` values (a unit's, merged over the
    global ones, when ``mid`` is given)."""
    return {
        "name": config.get("BRAND_NAME") or "",
        "logo_url": config.get("BRAND_LOGO_URL"),
        "privacy_url": safe_link(config.get("BRAND_PRIVACY_URL")),
        "contact_url": safe_link(config.get("BRAND_CONTACT_URL")),
        "stylesheet_url": config.get("BRAND_STYLESHEET_URL"),
        "favicon_url": config.get("BRAND_FAVICON_URL"),
        "timezone": config.get("BRAND_TIMEZONE"),
        "mid": mid,
    }


@dataclass(frozen=True)
class Brands:
    """The global brand and each business unit's, built once from the settings."""

    global_brand: dict[str, Any]
    global_colour: str
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    colours: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Brands:
        """Every brand of ``config``: the global one, and one per ``BRAND_<MID>_*`` unit."""
        units: dict[str, dict[str, Any]] = {}
        colours: dict[str, str] = {}
        global_colour = primary_colour(config.get("BRAND_PRIMARY_COLOR"))
        for mid, overrides in (config.get(UNIT_BRANDS_KEY) or {}).items():
            merged = {**config, **overrides}
            units[mid] = brand_context(merged, mid)
            own = overrides.get("BRAND_PRIMARY_COLOR")
            colours[mid] = primary_colour(own, f"BRAND_{mid}_PRIMARY_COLOR") if own else global_colour
        return cls(brand_context(config), global_colour, units, colours)

    def for_mid(self, mid: object) -> dict[str, Any]:
        """The brand of business unit ``mid``; the global brand for None or a unit without its own."""
        return self.units.get(_mid_key(mid), self.global_brand)

    def stylesheet(self, mid: object) -> str:
        """The CSS served at /brand.css (``?mid=`` picks a unit's colour)."""
        colour = self.colours.get(_mid_key(mid), self.global_colour)
        return f":root {{ --brand: {colour}; }}\n"


def _mid_key(mid: object) -> str | None:
    text = str(mid).strip() if mid is not None else ""
    # ASCII digits only, at most a bigint's 18: "²".isdigit() is True but int("²") fails, and a 5000-digit
    # ?mid= (anyone can send one) would exceed int()'s digit limit; either was a 500.
    return str(int(text)) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def current_brand() -> dict[str, Any]:
    """The brand of the page being answered: the verified link's unit, else the global brand."""
    brands: Brands = current_app.extensions[BRANDS_KEY]
    if not has_request_context():
        return brands.global_brand
    chosen = g.get("page_brand")
    if chosen is None:
        chosen = brands.for_mid(g.get("link_mid"))
    return chosen


def use_global_brand() -> None:
    """From now on this request's page shows the global brand (the error pages do)."""
    g.page_brand = current_app.extensions[BRANDS_KEY].global_brand


def init_app(app: Any) -> Brands:
    """Build the brands once and keep them on ``app``."""
    brands = Brands.from_config(app.config)
    app.extensions[BRANDS_KEY] = brands
    return brands
