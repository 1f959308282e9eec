"""``/favicon.ico``: browsers ask for it on their own, so it is answered instead of counted as a 404.

The global brand's ``BRAND_FAVICON_URL`` (https) when set, by a redirect; otherwise the small neutral icon
in ``static/favicon.ico`` (an envelope, no brand). Pages also name their brand's icon in
``<link rel="icon">``, so a business unit's icon shows on that unit's pages.
"""

from __future__ import annotations

from flask import Response, current_app, redirect

from .branding import BRANDS_KEY
from .views import bp

#: A day: the icon seldom changes, and every page view would otherwise ask again.
FAVICON_MAX_AGE = 86400


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The brand's favicon (redirect) or the neutral one shipped in static/."""
    configured = current_app.extensions[BRANDS_KEY].global_brand["favicon_url"]
    if configured:
        response = redirect(configured, code=302)
    else:
        response = current_app.send_static_file("favicon.ico")
        response.mimetype = "image/x-icon"
    response.cache_control.public = True
    response.cache_control.max_age = FAVICON_MAX_AGE
    return response
