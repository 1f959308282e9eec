"""``flask preview``: every page state in every language, as the configured brand shows them, into a folder.

    .venv/bin/flask preview --out build/preview [--mid MID] [--lang de --lang fr] [--state form …]
                            [--local-copy https://cdn.example.com/brand.css=brand.css]
                            [--screenshots/--no-screenshots]

It uses the deployment's own settings (brand, ``TEMPLATE_DIR``, reasons, languages) and replaces only
Marketing Cloud and the journal (``session.py``): running it changes nothing anywhere.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

import click
from flask import current_app

from app.unsubscribe.i18n import SUPPORTED_LOCALES
from config import UNIT_BRANDS_KEY

from .output import AssetCopier, Written, chromium, screenshots, write_index
from .registry import PageState, registered_states
from .session import PreviewPage, people_of, preview_app, running_emulator


@click.command("preview")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/preview"),
    show_default=True,
    help="Folder to write (pages of an earlier preview are overwritten).",
)
@click.option(
    "--mid",
    default=None,
    help="Show the brand of this business unit (BRAND_<MID>_*); default: the global brand.",
)
@click.option(
    "--lang",
    "langs",
    multiple=True,
    type=click.Choice(SUPPORTED_LOCALES),
    help="Only these languages (repeatable); default: all.",
)
@click.option("--state", "names", multiple=True, help="Only these states (repeatable); default: all.")
@click.option(
    "--local-copy",
    "local_copies",
    multiple=True,
    metavar="URL=FILE",
    help="Show FILE where the pages load URL (repeatable): a stylesheet or logo not published yet.",
)
@click.option(
    "--screenshots/--no-screenshots",
    "want_pngs",
    default=True,
    help="PNGs at 375 and 1280 px where Chromium is installed (default: yes).",
)
def preview_command(
    out: Path,
    mid: str | None,
    langs: tuple[str, ...],
    names: tuple[str, ...],
    local_copies: tuple[str, ...],
    want_pngs: bool,
) -> None:
    """Write every page state in every language as static HTML (and PNGs), with an index.html."""
    states = registered_states()
    unknown = sorted(set(names) - {state.name for state in states})
    if unknown:
        raise click.UsageError(
            f"unknown state(s) {', '.join(unknown)}; known: {', '.join(s.name for s in states)}"
        )
    if mid is not None and not (mid.isascii() and mid.isdigit() and len(mid) <= 18):  # "²".isdigit()
        raise click.UsageError("--mid must be a business unit's MID (digits)")
    local = _local_copies(local_copies)
    if mid is not None and str(int(mid)) not in (current_app.config.get(UNIT_BRANDS_KEY) or {}):
        click.echo(f"no BRAND_{int(mid)}_* settings: the pages show the global brand", err=True)
    states = [state for state in states if not names or state.name in names]
    languages = list(langs or SUPPORTED_LOCALES)
    written: list[Written] = []
    out.mkdir(parents=True, exist_ok=True)
    logging.disable(logging.ERROR)  # the states provoke failures on purpose; the pages are what counts
    try:
        brand, css = _write_pages(out, mid, languages, states, written, local)
    finally:
        logging.disable(logging.NOTSET)
    browser = chromium() if want_pngs else None
    if browser:
        screenshots(browser, written)
    index = write_index(out, brand, languages, written, css)
    click.echo(f"wrote {len(written)} pages{' and their screenshots' if browser else ''}: {index}")
    if want_pngs and not browser:
        click.echo("no Chromium on the PATH: no screenshots (install chromium for them)", err=True)
    problems = [f"{page.lang}/{page.state.name}: {page.problem}" for page in written if page.problem]
    for problem in problems:
        click.echo(f"preview problem: {problem}", err=True)
    if problems:
        sys.exit(1)


def _local_copies(pairs: tuple[str, ...]) -> dict[str, Path]:
    local: dict[str, Path] = {}
    for pair in pairs:
        url, sign, file = pair.rpartition("=")  # a URL may hold "=", a file name seldom does
        if not sign or not url.startswith("https://") or not Path(file).is_file():
            raise click.UsageError(f"--local-copy {pair!r}: give https://…=FILE with a file that exists")
        local[url] = Path(file)
    return local


def _write_pages(
    out: Path,
    mid: str | None,
    languages: list[str],
    states: list[PageState],
    written: list[Written],
    local: dict[str, Path],
) -> tuple[str, str]:
    """Reach every state in every language and write its page; the brand's name and the stylesheet's
    file (for the index)."""
    people = people_of(mid)
    with (
        running_emulator(mid) as (emulator, url),
        tempfile.TemporaryDirectory(prefix="preview-journal-") as scratch,
    ):
        for lang in languages:
            # One app and journal per language: each language's states start from nobody unsubscribed.
            with preview_app(emulator, url, mid, Path(scratch) / f"{lang}.sqlite3") as app:
                client = app.test_client()
                copier = AssetCopier(client, out, local)
                key = app.config["LINK_SIGNING_KEYS"][0]
                page = PreviewPage(client, lang, people, emulator, signing_key=key)
                (out / lang).mkdir(exist_ok=True)
                for state in states:
                    emulator.reset()  # the demo data as it was, no faults
                    response = state.reach(page)
                    path = out / lang / f"{state.name}.html"
                    path.write_text(
                        copier.rewrite(response.get_data(as_text=True), depth=1), encoding="utf-8"
                    )
                    written.append(Written(state, lang, path, response.status_code))
                brand = app.extensions["unsubscribe_brands"].for_mid(mid)["name"]
                css = copier.local_name("/static/css/site.css")
    return brand, css
