"""The README's Operations section stays true: every setting with its default, every
gunicorn variable gunicorn.conf.py reads, every metric /metrics serves."""

from __future__ import annotations

import re

from ops_helpers import ROOT

from config import SETTINGS

README = (ROOT / "README.md").read_text()
DOC = README[README.index("\n## Operations\n") :]


def _table_rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOC.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:
            for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
                rows[name] = cells
    return rows


def _documented_default(setting) -> str:
    if setting.required:
        return "**required**"
    if setting.default is None:
        return "empty"
    if isinstance(setting.default, bool):
        return f"`{str(setting.default).lower()}`"
    if isinstance(setting.default, tuple):
        return f"`{','.join(setting.default)}`"
    return f"`{setting.default}`"


def test_every_setting_is_documented_with_its_default() -> None:
    rows = _table_rows()
    for setting in SETTINGS:
        assert setting.name in rows, f"{setting.name} is missing from the README's Operations section"
        default = rows[setting.name][1]
        assert default.startswith(_documented_default(setting)), (setting.name, default)
        assert ("secret" in default) is setting.secret, setting.name


def test_every_gunicorn_variable_is_documented() -> None:
    conf = (ROOT / "gunicorn.conf.py").read_text()
    read = set(re.findall(r"""(?:_env_int|os\.environ\.get)\(\s*"([A-Z_]+)\"""", conf))
    read.discard("LOG_LEVEL")
    rows = _table_rows()
    assert read <= set(rows), read - set(rows)


def test_every_documented_metric_is_served(client) -> None:
    documented = set(re.findall(r"`(profile_center_[a-z_]+)", DOC))
    assert len(documented) >= 9
    served = client.get("/metrics").get_data(as_text=True)
    for name in documented:
        base = name.removesuffix("_total")
        assert re.search(rf"^# TYPE ({base}|{base}_total) ", served, re.MULTILINE), name
