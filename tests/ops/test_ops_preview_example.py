"""The example brand of docs/pages.md ("A rebrand from zero to a preview"), docs/examples/acme/: its own
reasons and texts in English and German, its own stylesheet and a child unit's brand, through the real
``check-config`` and ``preview`` commands exactly as the walkthrough runs them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from ops_helpers import ROOT, app_environment

from testkit.cli import flask_cli

EXAMPLE = ROOT / "docs" / "examples" / "acme"
CDN = "https://cdn.acme.example/profile-center"
CHILD = "510001001"


def _example_settings() -> dict[str, str]:
    """acme.env as a POSIX shell reads it (NAME='value' lines, # comments)."""
    settings = {}
    for line in (EXAMPLE / "acme.env").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            (settings[name],) = shlex.split(value)
    return settings


@pytest.fixture
def env(emulator, tmp_path) -> dict[str, str]:
    return app_environment(emulator, tmp_path, **_example_settings())


def _page(out: Path, lang: str, state: str) -> str:
    return (out / lang / f"{state}.html").read_text(encoding="utf-8")


def test_the_example_brand_passes_check_config(env) -> None:
    done = flask_cli(env, "check-config")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "configuration OK"


def test_the_example_brand_shows_its_own_reasons_texts_and_stylesheet(env, tmp_path) -> None:
    out = tmp_path / "acme"
    states = [arg for state in ("form", "unsubscribed-list", "error-404") for arg in ("--state", state)]
    langs = ["--lang", "en", "--lang", "de", "--lang", "fr"]
    done = flask_cli(env, "preview", "--out", str(out), *langs, *states, "--no-screenshots")
    assert done.returncode == 0, done.stderr
    english, german, french = (_page(out, lang, "form") for lang in ("en", "de", "fr"))
    for text in (
        "Unsubscribe from our emails",
        "I would rather get text messages",
        "You write to me too often",
    ):
        assert text in english
    for text in ("Von unseren E-Mails abmelden", "Ich bekomme lieber SMS", "Sie schreiben mir zu oft"):
        assert text in german
    # French is not written in content.toml: the built-in translations, never ACME's English.
    assert "Unsubscribe from our emails" not in french and "You write to me too often" not in french
    assert "I would rather get text messages" in french  # an own reason without French: its English label
    assert "Erledigt: Sie sind abgemeldet" in _page(out, "de", "unsubscribed-list")
    for lang, state in (("en", "form"), ("de", "unsubscribed-list"), ("fr", "error-404")):
        page = _page(out, lang, state)
        assert f'<link rel="stylesheet" href="{CDN}/acme.css">' in page
        assert "ACME News" in page and "ACME Outdoor" not in page


def test_the_child_unit_of_the_example_has_its_own_brand(env, tmp_path) -> None:
    out = tmp_path / "outdoor"
    states = [arg for state in ("form", "not-found", "error-404") for arg in ("--state", state)]
    done = flask_cli(
        env, "preview", "--out", str(out), "--mid", CHILD, "--lang", "de", *states, "--no-screenshots"
    )
    assert done.returncode == 0, done.stderr
    form = _page(out, "de", "form")
    assert f'src="{CDN}/acme-outdoor.svg" alt="ACME Outdoor"' in form
    assert f'<link rel="stylesheet" href="{CDN}/outdoor.css">' in form and "acme.css" not in form
    assert "Ich bekomme lieber SMS" in form  # the content file is shared by every unit
    (colours,) = re.findall(r'href="\.\./assets/(brand-[0-9a-f]+\.css)"', form)
    assert (out / "assets" / colours).read_text() == ":root { --brand: #1d5e3a; }\n"
    assert "https://outdoor.acme.example/help" in _page(out, "de", "not-found")
    assert "ACME News" in _page(out, "de", "error-404") and "ACME Outdoor" not in _page(
        out, "de", "error-404"
    )
