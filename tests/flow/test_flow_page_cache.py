"""The landing page comes from a cache of rendered pages (app/unsubscribe/page_cache.py): every person must
still see exactly the page a full render gives them, with their own address and link, not anybody else's."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest
from flow_helpers import NEWSLETTER, link, template_dir

from app.unsubscribe.page_cache import PAGE_CACHE_KEY

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
#: Requests of each shape: the first makes the skeleton, the later ones are filled in from it.
ROUNDS = 4


def _pages(client: Any, rounds: int) -> list[tuple[str, str]]:
    return [
        (url + variant, client.get(url + variant).get_data(as_text=True))
        for _ in range(rounds)
        for url in LINKS
        for variant in VARIANTS
    ]


def test_cached_pages_are_byte_for_byte_the_full_render(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    cached = app.test_client()
    full = make_app(TEMPLATES_AUTO_RELOAD=True).test_client()  # auto-reload: always rendered in full

    caplog.set_level(logging.WARNING, logger="app.unsubscribe.page_cache")
    for url, page in _pages(cached, ROUNDS):
        assert page == full.get(url).get_data(as_text=True), url
    # The pages really came from skeletons, not from full renders: the built-in templates give one for
    # every shape.
    assert (
        app.extensions[PAGE_CACHE_KEY].cached_shapes() >= len({(u, v) for u in LINKS for v in VARIANTS}) // 4
    )
    assert [record.getMessage() for record in caplog.records] == []


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
    for _ in range(ROUNDS):
        for key, _, masked in people:
            page = client.get(urls[key]).get_data(as_text=True)
            assert re.findall(r'class="masked-email">([^<]*)<', page) == [masked]
            (action,) = re.findall(r'<form method="post" action="([^"]+)"', page)
            assert action.replace("&amp;", "&") == urls[key]
            others = [(urls[other], other_masked) for other, _, other_masked in people if other != key]
            assert not any(url.split("t=")[1] in page or other_masked in page for url, other_masked in others)
    assert app.extensions[PAGE_CACHE_KEY].cached_shapes() >= 1  # the pages came from a skeleton


@pytest.mark.parametrize(
    "block",
    [
        # Changes with every request, printed without hole(): the sentinel refuses to be printed.
        '{% block head_extra %}<meta name="request" content="{{ request_id }}">{% endblock %}',
        # The person's value transformed on its way to the page: the skeleton cannot hold a hole for it.
        '{% block brand %}<p class="who-upper">{{ masked_email | upper }}</p>{% endblock %}',
    ],
)
def test_a_template_that_prints_other_per_request_values_is_rendered_in_full(
    make_app: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, block: str
) -> None:
    custom = template_dir(tmp_path, {"base.html": '{% extends "layout.html" %}\n' + block + "\n"})
    client = make_app(TEMPLATE_DIR=str(custom)).test_client()
    caplog.set_level(logging.WARNING, logger="app.unsubscribe.page_cache")
    requests = ROUNDS + 2
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
    for _ in range(ROUNDS):
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
    for _ in range(ROUNDS):
        assert "<p>first</p>" in client.get(url).get_data(as_text=True)
    base.write_text(
        '{% extends "layout.html" %}{% block brand %}<p>second</p>{% endblock %}\n', encoding="utf-8"
    )
    later = base.stat().st_mtime + 2  # an edit within the same clock tick would look unchanged to Jinja
    os.utime(base, (later, later))
    assert "<p>second</p>" in client.get(url).get_data(as_text=True)
    assert app.extensions[PAGE_CACHE_KEY].cached_shapes() == 0


def test_from_the_second_page_of_a_shape_on_no_template_is_rendered(make_app: Any) -> None:
    """The template marks the person's values (``hole()``), so the skeleton is exact at once: the first
    page of a shape makes it, every later page of that shape is filled in without rendering anything."""
    from flask import template_rendered

    app = make_app()
    client = app.test_client()
    rendered: list[str] = []

    def count(sender: Any, template: Any, context: Any, **extra: Any) -> None:
        rendered.append(template.name)

    template_rendered.connect(count, app)
    try:
        first = client.get(link(subscriber_key="demo-001", email="anna@example.com", **NEWSLETTER))
        made = len(rendered)
        later = [
            client.get(link(subscriber_key=f"demo-{n:03d}", email=f"p{n}@site{n}.example", **NEWSLETTER))
            for n in range(3, 13, 2)
        ]
    finally:
        template_rendered.disconnect(count, app)
    assert made >= 1 and first.status_code == 200
    assert rendered[made:] == []  # nothing rendered for the later people
    for n, page in zip(range(3, 13, 2), later, strict=True):
        assert f'class="masked-email">p•••@site{n}.example<' in page.get_data(as_text=True)


def test_a_template_that_branches_on_a_value_shows_each_person_their_own_branch(
    make_app: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A marketer's template may test the person's values however it likes: the cache never guesses which
    branch a person would get (it renders such a page in full, and says so once)."""
    custom = template_dir(
        tmp_path,
        {
            "base.html": '{% extends "layout.html" %}{% block brand %}'
            '{% if list_id == "999" %}<p class="vip">VIP list</p>{% else %}<p class="std">ours</p>{% endif %}'
            "{% endblock %}\n"
        },
    )
    client = make_app(TEMPLATE_DIR=str(custom)).test_client()
    caplog.set_level(logging.WARNING, logger="app.unsubscribe.page_cache")
    for n in range(6):
        page = client.get(link(subscriber_key=f"demo-{n:03d}", email=f"v{n}@example.com", list_id="17914"))
        assert '<p class="std">ours</p>' in page.get_data(as_text=True)
    vip = client.get(link(subscriber_key="demo-100", email="vip@example.com", list_id="999"))
    assert '<p class="vip">VIP list</p>' in vip.get_data(as_text=True)
    warnings = [record for record in caplog.records if "rendered in full every time" in record.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize(
    "printed",
    [
        "{{ masked_email }}",  # a template of your own written before hole() existed
        "{{ masked_email | upper }}",
        "{{ masked_email[:3] }}",
        "{{ masked_email ~ '!' }}",
        "{{ '%s' % masked_email }}",
        "{{ masked_email | length }}",
        "{{ (hole('masked_email') | e)[:12] }}",
        "{{ hole('masked_email') | upper }}",
        "{{ masked_email is string }}",
    ],
)
def test_a_template_that_uses_a_value_outside_hole_never_shows_it_to_another_person(
    make_app: Any, tmp_path: Path, printed: str
) -> None:
    custom = template_dir(
        tmp_path,
        {
            "base.html": '{% extends "layout.html" %}{% block brand %}<p class="mine">'
            + printed
            + "</p>{% endblock %}\n"
        },
    )
    cached = make_app(TEMPLATE_DIR=str(custom)).test_client()
    full = make_app(TEMPLATE_DIR=str(custom), TEMPLATES_AUTO_RELOAD=True).test_client()
    addresses = [f"{letter}{n}@host{n}.example" for n, letter in enumerate("abcdefg")]
    for address in addresses:
        url = link(subscriber_key=address, email=address, **NEWSLETTER)
        page = cached.get(url).get_data(as_text=True)
        assert page == full.get(url).get_data(as_text=True)
        mine = re.findall(r'<p class="mine">([^<]*)</p>', page)
        for other in addresses:
            if other != address:
                assert other.split("@")[1] not in page, (printed, address, other)
        assert len(mine) == 1
