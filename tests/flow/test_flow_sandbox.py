"""A marketer's templates run in Jinja's sandbox: no settings, no secrets, no way into Python.

Every probe is written into a TEMPLATE_DIR ``base.html`` (which every page extends, error pages too) or
``index.html``, and the pages are fetched over real HTTP. A page may render without what the probe asked
for, or be the plain error page; it never shows a secret, the process id or a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from flow_helpers import NEWSLETTER, link, template_dir

from tests.conftest import EMULATOR_CLIENT_SECRET, TEST_SIGNING_KEY
from tests.live_http import live_server

METRICS_TOKEN = "metrics-token-0123456789"
OTHER_SIGNING_KEY = "second-signing-key-0123456789"

PROBES = [
    "{{ config.SFMC_CLIENT_SECRET }}",
    "{{ config }}",
    "{{ config.items() | list }}",
    "{{ cycler.__init__.__globals__.os.getpid() }}",
    "{{ lipsum.__globals__['os'].getpid() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__.os.getpid() }}",
    "{{ url_for.__globals__.current_app.config }}",
    "{{ _.__globals__['current_app'].config }}",
    "{{ gettext.__globals__ }}",
    "{{ request.environ }}",
    "{{ request.application.__globals__ }}",
    "{{ session }}",
    "{{ g }}",
    "{{ g.request_id.__class__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ brand.__class__.__base__.__subclasses__() }}",
    "{{ '{0.__class__.__mro__}'.format(brand) }}",
    "{{ _page_translations._catalog | length }}",
    "{{ range.__self__ }}",
    "{% for key, value in brand|dictsort %}{{ value.__class__ }}{% endfor %}",
    "{{ brand | attr('__class__') }}",
    "{% set x = [] %}{{ x.append(1) }}{{ x }}",
]


def _secrets() -> list[str]:
    return [EMULATOR_CLIENT_SECRET, TEST_SIGNING_KEY, OTHER_SIGNING_KEY, METRICS_TOKEN]


def _between_markers(body: str) -> list[str]:
    return re.findall(r"\[\[(.*?)\]\]", body, flags=re.S)


def _assert_safe(body: str, status: int) -> None:
    assert status in (200, 400, 404, 500), status
    for secret in _secrets():
        assert secret not in body
    assert "Traceback" not in body
    assert "SecurityError" not in body
    assert "UndefinedError" not in body
    for printed in _between_markers(body):
        assert str(os.getpid()) not in printed
        assert "SFMC" not in printed
        assert "class" not in printed
    if status == 500:
        assert "Something went wrong" in body


@pytest.mark.parametrize("probe", PROBES)
def test_a_marketers_template_reaches_no_secret_and_no_python(
    make_app: Any, tmp_path: Path, probe: str
) -> None:
    folder = template_dir(
        tmp_path,
        {
            "base.html": '{% extends "layout.html" %}{% block head_extra %}<meta name="probe" content="[['
            + probe
            + ']]">'
            "{% endblock %}",
            "index.html": "<p>[[" + probe + "]]</p>",
        },
    )
    app = make_app(
        TEMPLATE_DIR=str(folder),
        METRICS_TOKEN=METRICS_TOKEN,
        LINK_SIGNING_KEYS=f"{TEST_SIGNING_KEY},{OTHER_SIGNING_KEY}",
    )
    app.testing = False  # a template error is answered with the error page, as in production
    good = link(subscriber_key="demo-001", **NEWSLETTER)
    with live_server(app) as server:
        answers = [
            requests.get(server.base_url + "/", timeout=10),
            requests.get(server.base_url + good, timeout=10),
            requests.get(server.base_url + "/unsubscribe?t=broken", timeout=10),
            requests.get(server.base_url + "/no/such/page", timeout=10),
            requests.post(server.base_url + good, data={"scope": "bogus"}, timeout=10),
        ]
    for answer in answers:
        _assert_safe(answer.text, answer.status_code)


def test_the_plain_pages_still_render_in_the_sandbox(make_app: Any, emulator: Any) -> None:
    """The built-in templates need nothing the sandbox withholds: form, result, invalid and error pages."""
    app = make_app()
    good = link(subscriber_key="demo-001", **NEWSLETTER)
    with live_server(app) as server:
        form = requests.get(server.base_url + good + "&lang=de", timeout=10)
        again = requests.get(server.base_url + good + "&lang=de", timeout=10)
        done = requests.post(server.base_url + good, data={"scope": "list"}, timeout=10)
        missing = requests.get(server.base_url + "/no/such/page", timeout=10)
    assert form.status_code == again.status_code == 200
    assert form.text == again.text and "Abmelden" in form.text
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert missing.status_code == 404
    assert re.search(r"Reference: [0-9a-f]{32}", missing.text)  # the request id, without `g`


#: Exactly what docs/pages.md says every template can use (besides Jinja's own filters and tests).
DOCUMENTED_NAMES = {
    "brand",
    "page_locale",
    "request_id",
    "url_for",
    "hole",
    "page_text",
    "_",
    "gettext",
    "ngettext",
    "pgettext",
    "npgettext",
    "range",
    "dict",
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
}


def test_every_template_gets_exactly_the_documented_names(make_app: Any) -> None:
    app = make_app()
    with app.test_request_context("/"):
        context: dict[str, Any] = {}
        app.update_template_context(context)
        names = set(app.jinja_env.globals) | set(context)
    assert names == DOCUMENTED_NAMES
    docs = (Path(__file__).resolve().parents[2] / "docs" / "pages.md").read_text(encoding="utf-8")
    for name in DOCUMENTED_NAMES:
        assert f"`{name}`" in docs, name
