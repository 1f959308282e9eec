"""Brand settings for the templates, and the small generated stylesheet that carries the brand colour.

The colour goes into ``/brand.css`` as a CSS custom property rather than an inline style, so a strict
``style-src 'self'`` Content-Security-Policy keeps working. Only ``#rgb``/``#rrggbb`` values pass (nothing
else can reach the stylesheet), and one that would put white button text under 4.5:1 is replaced.
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_PRIMARY = "#0b5cad"
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def _channel(value: int) -> float:
    scaled = value / 255
    return scaled / 12.92 if scaled <= 0.03928 else ((scaled + 0.055) / 1.055) ** 2.4


def contrast_with_white(colour: str) -> float:
    """WCAG 2.1 contrast ratio of ``colour`` against white."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    luminance = 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)
    return 1.05 / (luminance + 0.05)


def primary_colour(configured: str | None) -> str:
    """The configured brand colour if it is a hex colour with at least 4.5:1 against white, else ours."""
    if configured and _HEX.fullmatch(configured.strip()):
        colour = configured.strip().lower()
        if contrast_with_white(colour) >= 4.5:
            return colour
        logger.warning(
            "BRAND_PRIMARY_COLOR has less than 4.5:1 contrast with white; using %s", DEFAULT_PRIMARY
        )
    elif configured:
        logger.warning("BRAND_PRIMARY_COLOR is not a #rgb or #rrggbb colour; using %s", DEFAULT_PRIMARY)
    return DEFAULT_PRIMARY


def brand_stylesheet(config: dict[str, Any]) -> str:
    """The CSS served at /brand.css."""
    return f":root {{ --brand: {primary_colour(config.get('BRAND_PRIMARY_COLOR'))}; }}\n"


def brand_context(config: dict[str, Any]) -> dict[str, Any]:
    """What every template gets as ``brand``."""
    return {
        "name": config.get("BRAND_NAME") or "",
        "logo_url": config.get("BRAND_LOGO_URL"),
        "privacy_url": config.get("BRAND_PRIVACY_URL"),
        "contact_url": config.get("BRAND_CONTACT_URL"),
    }
