"""``flask preview`` through the real command line: every registered state in every language as a page
that opens from disk, an index of them, PNGs where Chromium is installed, a business unit's brand."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from ops_helpers import app_environment

from app.preview.registry import page_state, registered_states
from app.unsubscribe.i18n import SUPPORTED_LOCALES
from testkit.cli import flask_cli

#: What marks each built-in state's page (markup, not texts: the texts are the marketer's and translators'),
#: so a preview that reached another state fails.
MARKERS = {
    "form": ['type="radio" value="list"', 'type="radio" value="all"', 'action="#"'],
    "form-all-only": ['type="radio" value="all"'],
    "form-errors": ['role="alert"', 'class="field-error"'],
    "unsubscribed-list": ['class="result result-unsubscribed"'],
    "unsubscribed-all": ['class="result result-unsubscribed"'],
    "already": ['class="result result-already"'],
    "processing": ['class="result result-processing"'],
    "stalled": ['class="result result-stalled"'],
    "not-found": ['class="result result-not_found"', 'name="without_job" value="1"'],
    "not-matched": ['class="result result-not_matched"'],
}
ENGLISH = {  # the texts of the states whose markup is the same as another's
    # "… from this list", or "… from the list “Newsletter”" once the list directory knows its name.
    "unsubscribed-list": "You will no longer receive emails from",
    "unsubscribed-all": "You will no longer receive marketing email",
    "invalid-link": "This link is not valid",
    "error-400": "Bad request",
    "error-404": "Page not found",
    "error-405": "Method not allowed",
    "error-413": "Request too large",
    "error-429": "Too many requests",
    "error-500": "Something went wrong",
    "error-503": "Please try again",
}
CHILD = "510001001"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_every_state_in_every_language_is_written_with_an_index(emulator, tmp_path) -> None:
    out = tmp_path / "preview"
    done = flask_cli(
        app_environment(emulator, tmp_path, BRAND_NAME="Acme Outdoor"),
        "preview",
        "--out",
        str(out),
        "--no-screenshots",
    )
    assert done.returncode == 0, done.stderr
    names = [state.name for state in registered_states()]
    assert set(MARKERS) | set(ENGLISH) <= set(names)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Acme Outdoor" in index
    for lang in SUPPORTED_LOCALES:
        for name in names:
            page = (out / lang / f"{name}.html").read_text(encoding="utf-8")
            assert f'href="{lang}/{name}.html"' in index
            assert f'<html lang="{lang}">' in page or name == "error-400", (lang, name)
            # Opens from disk: every asset of the app is in assets/, nothing points at the app's root.
            assert not re.search(r"""(?:href|src|action)=["']/""", page), (lang, name)
            for asset in re.findall(r'(?:href|src)="\.\./(assets/[^"]+)"', page):
                assert (out / asset).is_file(), asset
            for marker in MARKERS.get(name, ()):
                assert marker in page, (lang, name, marker)
        assert 'value="list"' not in (out / lang / "form-all-only.html").read_text(encoding="utf-8")
    for name, text in ENGLISH.items():
        assert text in (out / "en" / f"{name}.html").read_text(encoding="utf-8"), name
    assert "Acme Outdoor" in (out / "en" / "form.html").read_text(encoding="utf-8")
    assert (out / "assets" / "brand.css").read_text() == ":root { --brand: #0b5cad; }\n"


def test_a_business_units_brand_is_previewed_with_its_own_colour_and_stylesheet(emulator, tmp_path) -> None:
    env = app_environment(
        emulator,
        tmp_path,
        **{
            f"BRAND_{CHILD}_NAME": "Child Outdoor Co",
            f"BRAND_{CHILD}_PRIMARY_COLOR": "#7a1f5c",
            f"BRAND_{CHILD}_STYLESHEET_URL": "https://styles.child.example/child.css",
        },
    )
    out = tmp_path / "child"
    states = [
        "--state",
        "form",
        "--state",
        "unsubscribed-list",
        "--state",
        "not-found",
        "--state",
        "error-404",
    ]
    done = flask_cli(
        env, "preview", "--out", str(out), "--mid", CHILD, "--lang", "de", *states, "--no-screenshots"
    )
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in (out / "de").iterdir()) == [
        "error-404.html",
        "form.html",
        "not-found.html",
        "unsubscribed-list.html",
    ]
    form = (out / "de" / "form.html").read_text(encoding="utf-8")
    assert "Child Outdoor Co" in form and "https://styles.child.example/child.css" in form
    (brand_css,) = re.findall(r'href="\.\./assets/(brand-[0-9a-f]+\.css)"', form)
    assert (out / "assets" / brand_css).read_text() == ":root { --brand: #7a1f5c; }\n"
    assert MARKERS["unsubscribed-list"][0] in (out / "de" / "unsubscribed-list.html").read_text("utf-8")
    assert MARKERS["not-found"][0] in (out / "de" / "not-found.html").read_text("utf-8")
    assert "Child Outdoor Co" not in (out / "de" / "error-404.html").read_text(encoding="utf-8")
    assert "no BRAND_" not in done.stderr
    unbranded = flask_cli(
        env, "preview", "--out", str(out), "--mid", "7000123", "--state", "index", "--no-screenshots"
    )
    assert unbranded.returncode == 0
    assert "no BRAND_7000123_* settings: the pages show the global brand" in unbranded.stderr


def test_screenshots_of_each_page_at_375_and_1280_px_where_chromium_is_installed(
    emulator, tmp_path, chromium_installed
) -> None:
    out = tmp_path / "shots"
    done = flask_cli(
        app_environment(emulator, tmp_path),
        *("preview", "--out", str(out), "--lang", "fr", "--state", "form", "--state", "already"),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    for name in ("form", "already"):
        for width in (375, 1280):
            shot = out / "fr" / f"{name}-{width}.png"
            assert _png_size(shot)[0] == width
            assert f'href="fr/{shot.name}"' in (out / "index.html").read_text(encoding="utf-8")
    assert _png_size(out / "fr" / "form-375.png")[1] > 812  # the whole form, not the first screenful


def test_a_stylesheet_not_published_yet_is_shown_from_a_local_file(emulator, tmp_path) -> None:
    url = "https://cdn.acme.example/brand/acme.css?v=2&x=1"
    local = tmp_path / "acme.css"
    local.write_text("body { background: #fef6e4; }", encoding="utf-8")
    env = app_environment(emulator, tmp_path, BRAND_STYLESHEET_URL=url)
    out = tmp_path / "local"
    done = flask_cli(
        env,
        "preview",
        "--out",
        str(out),
        "--lang",
        "en",
        "--state",
        "form",
        "--local-copy",
        f"{url}={local}",
        "--no-screenshots",
    )
    assert done.returncode == 0, done.stderr
    form = (out / "en" / "form.html").read_text(encoding="utf-8")
    assert "cdn.acme.example" not in form
    (copy,) = re.findall(r'href="\.\./assets/(local-[^"]+)"', form)
    assert (out / "assets" / copy).read_text(encoding="utf-8") == local.read_text(encoding="utf-8")


def test_an_unknown_state_or_a_mid_that_is_not_one_is_refused(emulator, tmp_path) -> None:
    env = app_environment(emulator, tmp_path)
    unknown = flask_cli(env, "preview", "--out", str(tmp_path / "x"), "--state", "nope")
    assert unknown.returncode == 2 and "unknown state(s) nope; known: form, " in unknown.stderr
    for mid in ("child", "²", "9" * 5000):  # "²".isdigit() is True; int() refuses both of the last two
        bad_mid = flask_cli(env, "preview", "--out", str(tmp_path / "x"), "--mid", mid)
        assert bad_mid.returncode == 2 and "--mid must be a business unit's MID" in bad_mid.stderr, mid
    assert not (tmp_path / "x").exists()


def test_a_state_name_is_registered_once() -> None:
    name = registered_states()[0].name
    with pytest.raises(ValueError, match="registered twice"):
        page_state(name, "again", group="x")(lambda page: None)


@pytest.fixture
def chromium_installed() -> None:
    import shutil

    from app.preview.output import chromium

    if chromium() is None or shutil.which("chromedriver") is None:
        if __import__("os").environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("Chromium and chromedriver are needed on CI; .ci/run installs them")
        pytest.skip("Chromium/chromedriver are not installed")
