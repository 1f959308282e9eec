"""``flask check-config`` through the real command line: values that parse but would fail later are errors
(exit status 2), every problem is reported in one run, a missing contact link is only a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from ops_helpers import app_environment

from testkit.cli import flask_cli

CHILD = "510001001"


def _problems(output: str, kind: str = "error") -> list[str]:
    prefix = f"configuration {kind}: "
    return [line.removeprefix(prefix) for line in output.splitlines() if line.startswith(prefix)]


def _templates(tmp_path: Path, files: dict[str, str]) -> str:
    folder = tmp_path / "marketer-templates"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return str(folder)


GOOD_TEMPLATES = {
    "base.html": '{% extends "layout.html" %}{% block footer_links %}<p>{{ _("Contact us") }}</p>'
    "{% endblock %}",
    "unsubscribe/result.html": '{% extends "base.html" %}{% block content %}{{ recorded_at | long_date }}'
    '{{ hole("x") }}{% endblock %}',
}

BAD_VALUES = [
    (
        {"BRAND_PRIMARY_COLOR": "#ffff00"},
        "BRAND_PRIMARY_COLOR has 1.1:1 contrast with white; white button text",
    ),
    ({"BRAND_PRIMARY_COLOR": "green"}, "BRAND_PRIMARY_COLOR is not a #rgb or #rrggbb colour"),
    (
        {"BRAND_LOGO_URL": "http://cdn.acme.example/logo.png"},
        "BRAND_LOGO_URL must be an https:// URL or a path",
    ),
    (
        {"BRAND_CONTACT_URL": "javascript:alert(1)"},
        "BRAND_CONTACT_URL must be an http(s):// URL, mailto: or tel:",
    ),
    ({"DEFAULT_LOCALE": "it"}, "DEFAULT_LOCALE is 'it', not a language of the pages (en, de, fr, es)"),
    (
        {"UNSUB_REASONS": "too_many,prefer_sms"},
        "UNSUB_REASONS names reason codes the pages do not have: prefer_sms",
    ),
    (
        {"TEMPLATE_DIR": "/nonexistent/acme-templates"},
        "TEMPLATE_DIR '/nonexistent/acme-templates' is not a folder",
    ),
    ({"RATELIMIT_POST": "plenty"}, "RATELIMIT_POST is invalid:"),
    (
        {"BRAND_STYLESHEET_URL": "http://cdn.acme.example/a.css"},
        "BRAND_STYLESHEET_URL is invalid: must be an https://",
    ),
    (
        {"BRAND_FAVICON_URL": "data:image/png;base64,AAAA"},
        "BRAND_FAVICON_URL is invalid: must be an https://",
    ),
    (
        {f"BRAND_{CHILD}_PRIMARY_COLOR": "#ffff00"},
        f"BRAND_{CHILD}_PRIMARY_COLOR has 1.1:1 contrast with white",
    ),
    (
        {f"BRAND_{CHILD}_LOGO_URL": "http://child.example/l.png"},
        f"BRAND_{CHILD}_LOGO_URL must be an https:// URL",
    ),
    ({f"BRAND_{CHILD}_CONTACT_URL": "javascript:x"}, f"BRAND_{CHILD}_CONTACT_URL must be an http(s):// URL"),
    ({f"BRAND_{CHILD}_COLOUR": "#7a1f5c"}, f"BRAND_{CHILD}_COLOUR is not a brand setting"),
    ({"BRAND_TIMEZONE": "Europe/Atlantis"}, "BRAND_TIMEZONE is invalid: 'Europe/Atlantis' is not an IANA"),
    (
        {f"BRAND_{CHILD}_TIMEZONE": "Mars/Base"},
        f"BRAND_{CHILD}_TIMEZONE is invalid: 'Mars/Base' is not an IANA",
    ),
]


@pytest.mark.parametrize(("settings", "expected"), BAD_VALUES, ids=[next(iter(s)) for s, _ in BAD_VALUES])
def test_each_value_that_would_fail_later_is_an_error(emulator, tmp_path, settings, expected) -> None:
    done = flask_cli(app_environment(emulator, tmp_path, **settings), "check-config")
    assert done.returncode == 2, done.stderr
    problems = _problems(done.stderr)
    assert [problem for problem in problems if problem.startswith(expected)], problems
    assert len(problems) == 1, problems
    assert "configuration OK" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{% block content %}{{ _('Hi') }", "unsubscribe/form.html line 1 does not compile: unexpected '}'"),
        (
            "{{ recorded_at | long_dat }}",
            "unsubscribe/form.html line 1 does not compile: No filter named 'long_dat'",
        ),
        (
            "{% if x %}\n\n{% endfor %}",
            "unsubscribe/form.html line 3 does not compile: Encountered unknown tag",
        ),
    ],
)
def test_a_template_that_does_not_compile_is_an_error(emulator, tmp_path, template, expected) -> None:
    folder = _templates(tmp_path, {**GOOD_TEMPLATES, "unsubscribe/form.html": template})
    done = flask_cli(app_environment(emulator, tmp_path, TEMPLATE_DIR=folder), "check-config")
    assert done.returncode == 2
    problems = _problems(done.stderr)
    assert len(problems) == 1 and problems[0].startswith(f"TEMPLATE_DIR {expected}"), done.stderr


def test_templates_that_compile_with_the_apps_filters_and_helpers_pass(emulator, tmp_path) -> None:
    folder = _templates(tmp_path, GOOD_TEMPLATES)
    env = app_environment(
        emulator, tmp_path, TEMPLATE_DIR=folder, BRAND_CONTACT_URL="mailto:help@acme.example"
    )
    done = flask_cli(env, "check-config")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "configuration OK"


def test_every_problem_is_reported_in_one_run_even_when_a_setting_is_missing(emulator, tmp_path) -> None:
    settings = {name: value for bad, _ in BAD_VALUES for name, value in bad.items()}
    settings["BRAND_PRIMARY_COLOR"] = "green"  # one value per setting: the last of the list wins anyway
    env = app_environment(emulator, tmp_path, SFMC_TIMEOUT="soon", **settings)
    env.pop("SFMC_AUTH_URL")
    done = flask_cli(env, "check-config")
    assert done.returncode == 2
    problems = _problems(done.stderr)
    expected = [
        "SFMC_AUTH_URL is not set",
        "SFMC_TIMEOUT is invalid",
        *(text for bad, text in BAD_VALUES if "BRAND_PRIMARY_COLOR" not in bad),
        "BRAND_PRIMARY_COLOR is not a #rgb or #rrggbb colour",
    ]
    for text in expected:
        assert [problem for problem in problems if problem.startswith(text)], (text, problems)
    assert len(problems) == len(expected), problems


def test_no_contact_link_is_a_warning_not_an_error(emulator, tmp_path) -> None:
    done = flask_cli(app_environment(emulator, tmp_path), "check-config")
    assert done.returncode == 0, done.stderr
    assert _problems(done.stderr) == []
    assert _problems(done.stderr, "warning") == [
        "BRAND_CONTACT_URL is not set: the 'could not find that subscription' and error pages offer "
        "no contact"
    ]
    assert done.stderr.strip().splitlines()[-1] == "configuration OK"
    with_contact = flask_cli(
        app_environment(emulator, tmp_path, BRAND_CONTACT_URL="tel:+441234567"), "check-config"
    )
    assert with_contact.returncode == 0 and "configuration warning" not in with_contact.stderr


def test_the_brands_of_the_business_units_are_shown_with_the_configuration(emulator, tmp_path) -> None:
    env = app_environment(emulator, tmp_path, **{f"BRAND_{CHILD}_NAME": "Child Outdoor Co"})
    done = flask_cli(env, "check-config")
    assert done.returncode == 0, done.stderr
    shown = {
        name.strip(): value for name, value in (line.split(" = ", 1) for line in done.stdout.splitlines())
    }
    assert shown[f"BRAND_{CHILD}_NAME"] == "Child Outdoor Co"


OWN_REASON = (
    '[reasons.prefer_sms]\nreport = "Prefers SMS"\nen = "I prefer text messages"\nde = "Lieber SMS"\n'
)


def test_own_reason_codes_from_the_content_file_are_known(emulator, tmp_path) -> None:
    folder = _templates(tmp_path, {"content.toml": OWN_REASON})
    env = app_environment(
        emulator,
        tmp_path,
        TEMPLATE_DIR=folder,
        UNSUB_REASONS="too_many,prefer_sms",
        BRAND_CONTACT_URL="tel:+1",
    )
    done = flask_cli(env, "check-config")
    assert done.returncode == 0, done.stderr
    unknown = flask_cli({**env, "UNSUB_REASONS": "too_many,prefer_fax"}, "check-config")
    assert unknown.returncode == 2
    (problem,) = _problems(unknown.stderr)
    assert problem.startswith("UNSUB_REASONS names reason codes the pages do not have: prefer_fax (known: ")
    assert "prefer_sms" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[reasons.prefer_sms\nreport = 1", "not valid TOML"),
        ('[colours]\nprimary = "#ffff00"\n', "unknown section [colours]"),
        ('[reasons.prefer_sms]\nen = "I prefer text messages"\n', "prefer_sms"),
    ],
    ids=["syntax", "unknown-section", "own-reason-without-report"],
)
def test_every_problem_of_the_content_file_is_an_error(emulator, tmp_path, text, expected) -> None:
    folder = _templates(tmp_path, {"content.toml": text})
    done = flask_cli(app_environment(emulator, tmp_path, TEMPLATE_DIR=folder), "check-config")
    assert done.returncode == 2, done.stderr
    problems = [p for p in _problems(done.stderr) if p.startswith("TEMPLATE_DIR content.toml: ")]
    assert problems and expected in problems[0], done.stderr


def test_templates_are_compiled_even_when_the_app_cannot_start(emulator, tmp_path) -> None:
    """Without SFMC_AUTH_URL no app is built; the templates are still compiled by the pages' own set-up."""
    folder = _templates(tmp_path, {**GOOD_TEMPLATES, "unsubscribe/form.html": "{{ recorded_at | long_dat }}"})
    env = app_environment(emulator, tmp_path, TEMPLATE_DIR=folder)
    env.pop("SFMC_AUTH_URL")
    done = flask_cli(env, "check-config")
    assert done.returncode == 2
    assert [problem.split(" (")[0] for problem in _problems(done.stderr)] == [
        "SFMC_AUTH_URL is not set",
        "TEMPLATE_DIR unsubscribe/form.html line 1 does not compile: No filter named 'long_dat'.",
    ]
