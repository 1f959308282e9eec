"""The landing page comes from a cache of rendered pages (app/unsubscribe/page_cache.py): every person must
still see exactly the page a full render gives them, with their own address and link, not anybody else's."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest
from flow_helpers import NEWSLETTER, link

from app.unsubscribe.page_cache import CONFIRMATIONS, PAGE_CACHE_KEY

#: People and links of every shape the form has: address or not, list or job only, no job context,
#: addresses whose masked form needs HTML escaping, languages from the link and from ``?lang=``.
LINKS = [
    link(subscriber_key="demo-001", email="anna@example.com", **NEWSLETTER),
    link(subscriber_key="demo-003", email="o'brien&co@example.com", **NEWSLETTER),
    link(subscriber_key="<b>x</b>@example.org", list_id="17914", job_id="18099"),
    link(subscriber_key="demo-005", job_id="18099"),
    link(subscriber_key="demo-007", email="lena@example.de", locale="de", **NEWSLETTER),
    link(subscriber_key="demo-009", email="zoe@example.fr"),
    link(subscriber_key="demo-011", email="max@example.com", list_id="999"),
]
VARIANTS = ["", "&lang=fr", "&lang=es&x=<y>", "&lang=de%20%26%22"]


def _pages(client: Any, rounds: int) -> list[tuple[str, str]]:
    return [
        (url + variant, client.get(url + variant).get_data(as_text=True))
        for _ in range(rounds)
        for url in LINKS
        for variant in VARIANTS
    ]


def test_cached_pages_are_byte_for_byte_the_full_render(make_app: Any) -> None:
    app = make_app()
    cached = app.test_client()
    full = make_app(TEMPLATES_AUTO_RELOAD=True).test_client()  # auto-reload: always rendered in full

    rounds = CONFIRMATIONS + 3
    for url, page in _pages(cached, rounds):
        assert page == full.get(url).get_data(as_text=True), url
    # The later rounds really came from skeletons, not from full renders.
    assert (
        app.extensions[PAGE_CACHE_KEY].trusted_shapes() >= len({(u, v) for u in LINKS for v in VARIANTS}) // 4
    )


def test_each_person_sees_their_own_address_and_link(make_app: Any) -> None:
    """Every person's masked address is different (first letter and domain), so a page that shows anybody
    else's address, or carries anybody else's signed link, is caught, also once skeletons are trusted."""
    app = make_app()
    client = app.test_client()
    people = [
        (
            f"demo-{n:03d}",
            f"{chr(ord('a') + i)}{n}@site{n}.example.com",
            f"{chr(ord('a') + i)}•••@site{n}.example.com",
        )
        for i, n in enumerate(range(1, 40, 2))
    ]
    urls = {key: link(subscriber_key=key, email=email, **NEWSLETTER) for key, email, _ in people}
    for _ in range(CONFIRMATIONS + 2):
        for key, _, masked in people:
            page = client.get(urls[key]).get_data(as_text=True)
            assert re.findall(r'class="masked-email">([^<]*)<', page) == [masked]
            (action,) = re.findall(r'<form method="post" action="([^"]+)"', page)
            assert action.replace("&amp;", "&") == urls[key]
            others = [(urls[other], other_masked) for other, _, other_masked in people if other != key]
            assert not any(url.split("t=")[1] in page or other_masked in page for url, other_masked in others)
    assert app.extensions[PAGE_CACHE_KEY].trusted_shapes() >= 1  # the later rounds came from a skeleton


@pytest.mark.parametrize(
    "block",
    [
        # Changes with every request: only the confirmations against full renders can notice it.
        '{% block head_extra %}<meta name="request" content="{{ request_id }}">{% endblock %}',
        # The person's value transformed on its way to the page: the skeleton cannot hold a hole for it.
        '{% block brand %}<p class="who-upper">{{ masked_email | upper }}</p>{% endblock %}',
    ],
)
def test_a_template_that_prints_other_per_request_values_is_rendered_in_full(
    make_app: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, block: str
) -> None:
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "base.html").write_text('{% extends "layout.html" %}\n' + block + "\n", encoding="utf-8")
    client = make_app(TEMPLATE_DIR=str(custom)).test_client()
    caplog.set_level(logging.WARNING, logger="app.unsubscribe.page_cache")
    requests = CONFIRMATIONS + 4
    seen_ids = set()
    for n in range(requests):
        response = client.get(link(subscriber_key=f"demo-{n:03d}", email=f"x{n}@example.com", **NEWSLETTER))
        page = response.get_data(as_text=True)
        request_id = response.headers["X-Request-ID"]
        if "request_id" in block:
            assert f'<meta name="request" content="{request_id}">' in page
        else:
            assert '<p class="who-upper">X•••@EXAMPLE.COM</p>' in page
        seen_ids.add(request_id)
        assert f"x{n}@example.com" not in page
    assert len(seen_ids) == requests
    warnings = [record for record in caplog.records if "rendered in full every time" in record.getMessage()]
    assert len(warnings) == 1


def test_pages_under_different_mount_prefixes_keep_their_own_urls(make_app: Any) -> None:
    """Behind a proxy that mounts the app under a sub-path, the cached page's stylesheet and form URLs
    carry the prefix of the request that asked, not the prefix of whoever filled the cache first."""
    client = make_app(TRUSTED_PROXIES="1").test_client()
    url = link(subscriber_key="demo-001", email="anna@example.com", **NEWSLETTER)
    for _ in range(CONFIRMATIONS + 2):
        for prefix in ("/prefs", "/other/mount", ""):
            page = client.get(url, headers={"X-Forwarded-Prefix": prefix}).get_data(as_text=True)
            assert f'href="{prefix}/static/css/site.css' in page
            assert f'action="{prefix}{url.replace("&", "&amp;")}"' in page


def test_nothing_is_cached_while_templates_auto_reload(make_app: Any, tmp_path: Path) -> None:
    """A marketer editing a template under FLASK_DEBUG sees the change on the next page."""
    custom = tmp_path / "templates"
    custom.mkdir()
    base = custom / "base.html"
    base.write_text(
        '{% extends "layout.html" %}{% block brand %}<p>first</p>{% endblock %}\n', encoding="utf-8"
    )
    app = make_app(TEMPLATE_DIR=str(custom), TEMPLATES_AUTO_RELOAD=True)
    client = app.test_client()
    url = link(subscriber_key="demo-001", **NEWSLETTER)
    for _ in range(CONFIRMATIONS + 2):
        assert "<p>first</p>" in client.get(url).get_data(as_text=True)
    base.write_text(
        '{% extends "layout.html" %}{% block brand %}<p>second</p>{% endblock %}\n', encoding="utf-8"
    )
    later = base.stat().st_mtime + 2  # an edit within the same clock tick would look unchanged to Jinja
    os.utime(base, (later, later))
    assert "<p>second</p>" in client.get(url).get_data(as_text=True)
    assert app.extensions[PAGE_CACHE_KEY].trusted_shapes() == 0
