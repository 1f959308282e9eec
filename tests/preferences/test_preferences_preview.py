"""``flask preview`` shows the manage page's states in every language, each the state it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.unsubscribe.i18n import SUPPORTED_LOCALES
from testkit.cli import flask_cli
from tests.conftest import base_test_config

#: Markup that marks each state's page, so a preview that reached another state fails.
MARKERS = {
    "manage": ['type="checkbox"', 'name="all" value="1"'],
    "manage-unsubscribed-from-all": ['class="result notice-all"'],
    "manage-plain-form": ['type="radio" value="list"'],
    "manage-saved": ['class="result result-saved"', 'name="resubscribe"'],
    "manage-resubscribed": ['class="result result-saved"', "change-done"],
    "manage-nothing-changed": ['class="result result-nothing_changed"'],
    "manage-all": ['class="result result-saved"'],
    "manage-stale": ['class="result result-stale"'],
}


def test_every_manage_page_state_is_previewed_in_every_language(emulator: Any, tmp_path: Path) -> None:
    env = {key: str(value) for key, value in base_test_config(emulator, tmp_path).items() if key != "TESTING"}
    out = tmp_path / "preview"
    states = [argument for name in MARKERS for argument in ("--state", name)]
    done = flask_cli(env, "preview", "--out", str(out), *states, "--no-screenshots", timeout=240)
    assert done.returncode == 0, done.stderr
    for lang in SUPPORTED_LOCALES:
        for name, markers in MARKERS.items():
            page = (out / lang / f"{name}.html").read_text(encoding="utf-8")
            assert f'<html lang="{lang}">' in page, (lang, name)
            for marker in markers:
                assert marker in page, (lang, name, marker)
        assert 'type="checkbox"' not in (out / lang / "manage-unsubscribed-from-all.html").read_text("utf-8")
