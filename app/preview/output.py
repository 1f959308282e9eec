"""Writing the preview folder: each page as static HTML that opens from disk, PNGs, and an index.

The HTML is the app's answer as it is, with one change: the URLs of this app's own assets (``/static/…``,
``/brand.css``, ``/favicon.ico``, a logo served by the app) are fetched once into ``assets/`` and the pages
point there relatively, so the folder works from ``file://`` and can be zipped and mailed. Forms post to
``#`` (there is no app behind a file). Stylesheets and logos on other hosts stay as they are.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from .registry import PageState

#: Screenshot widths and the least height: a phone (375 × 812) and a desktop window (1280 × 900).
SIZES = ((375, 812), (1280, 900))
_ASSET = re.compile(r"""(<(?:link|img|script)\b[^>]*?\s(?:href|src)=)(["'])(/(?!/)[^"']*)\2""", re.IGNORECASE)
_ACTION = re.compile(r"""(<form\b[^>]*?\saction=)(["'])([^"']*)\2""", re.IGNORECASE)
#: A link to a page of the app itself (the manage page, from the form and the result pages): it cannot open
#: from disk, so it goes nowhere, as forms do.
_APP_LINK = re.compile(r"""(<a\b[^>]*?\shref=)(["'])(/(?!/)[^"']*)\2""", re.IGNORECASE)


@dataclass
class Written:
    """One state in one language as written: its HTML file, its PNGs, and what was wrong."""

    state: PageState
    lang: str
    html: Path
    status: int
    pngs: tuple[Path, ...] = ()

    @property
    def problem(self) -> str | None:
        """Why this page is not the state it should be, or None."""
        if self.status != self.state.status:
            return f"answered {self.status}, expected {self.state.status}"
        return None


class AssetCopier:
    """Fetches this app's assets through the test client into ``out/assets/``, each once; and puts local
    files in for URLs on other hosts that are not published yet (``local``: URL -> file)."""

    def __init__(self, client: FlaskClient, out: Path, local: dict[str, Path] | None = None) -> None:
        self.client = client
        self.folder = out / "assets"
        self.saved: dict[str, str] = {}
        self.local = {}
        for url, path in (local or {}).items():
            self.folder.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256(url.encode()).hexdigest()[:8]
            name = f"local-{digest}-{re.sub(r'[^A-Za-z0-9._-]', '_', path.name)}"
            shutil.copyfile(path, self.folder / name)
            self.local[html.escape(url)] = name

    def local_name(self, url: str) -> str:
        """The file name under assets/ for the app URL ``url``, fetched on first use."""
        if url not in self.saved:
            parts = urlsplit(url)
            flat = re.sub(r"[^A-Za-z0-9._-]", "_", parts.path.strip("/").replace("/", "_")) or "asset"
            stem, dot, suffix = flat.rpartition(".")
            if not dot:
                stem, suffix = flat, ""
            if parts.query:  # /brand.css?mid=… and /brand.css are two files
                stem += "-" + hashlib.sha256(parts.query.encode()).hexdigest()[:8]
            name = f"{stem}.{suffix}" if suffix else stem
            response = self.client.get(url)
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / name).write_bytes(response.data if response.status_code == 200 else b"")
            self.saved[url] = name
        return self.saved[url]

    def rewrite(self, page: str, depth: int) -> str:
        """``page`` with its app asset URLs pointing into assets/ (``depth`` folders up), forms and links to
        the app's own pages to #."""
        up = "../" * depth

        def asset(match: re.Match[str]) -> str:
            name = self.local_name(html.unescape(match[3]))
            return f"{match[1]}{match[2]}{up}assets/{name}{match[2]}"

        page = _ASSET.sub(asset, page)
        for url, name in self.local.items():
            page = re.sub(rf"""((?:href|src)=)(["']){re.escape(url)}\2""", rf"\1\2{up}assets/{name}\2", page)
        page = _APP_LINK.sub(lambda m: f"{m[1]}{m[2]}#{m[2]}", page)
        return _ACTION.sub(lambda m: f"{m[1]}{m[2]}#{m[2]}", page)


def chromium() -> str | None:
    """The Chromium (or Chrome) on the PATH, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshots(browser: str, pages: list[Written]) -> None:
    """A PNG per page and size next to its HTML (``NAME-375.png``, ``NAME-1280.png``): the whole page
    through one Chromium driven by Selenium when it and chromedriver are installed (the development
    requirements), else Chromium's own ``--screenshot`` of the first screenful."""
    driver = shutil.which("chromedriver")
    if driver and importlib.util.find_spec("selenium") is not None:
        _whole_pages(browser, driver, pages)
    else:
        _first_screens(browser, pages)


def _whole_pages(browser: str, driver_path: str, pages: list[Written]) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="preview-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in [*_chromium_flags(), f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            driver.set_page_load_timeout(30)
            for page in pages:
                for width, height in SIZES:
                    metrics = {
                        "width": width,
                        "height": height,
                        "deviceScaleFactor": 1,
                        "mobile": width < 600,
                    }
                    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                    driver.get(page.html.resolve().as_uri())
                    full = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
                    metrics["height"] = max(int(full), height)
                    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                    png = page.html.with_name(f"{page.html.stem}-{width}.png")
                    png.write_bytes(driver.get_screenshot_as_png())
                    page.pngs = (*page.pngs, png)
        finally:
            driver.quit()


def _first_screens(browser: str, pages: list[Written], workers: int = 2) -> None:
    jobs = [(page, width, height) for page in pages for width, height in SIZES]
    with tempfile.TemporaryDirectory(prefix="preview-chromium-") as profiles:

        def shoot(job: tuple[Written, int, int]) -> tuple[Written, Path]:
            page, width, height = job
            png = page.html.with_name(f"{page.html.stem}-{width}.png")
            png.unlink(missing_ok=True)
            profile = f"--user-data-dir={profiles}/{page.lang}-{png.stem}"
            size, target = f"--window-size={width},{height}", f"--screenshot={png}"
            subprocess.run(
                [browser, *_chromium_flags(), profile, size, target, page.html.resolve().as_uri()],
                capture_output=True,
                timeout=90,
                check=False,
            )
            return page, png

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for page, png in pool.map(shoot, jobs):
                if png.is_file():
                    page.pngs = (*page.pngs, png)


def _chromium_flags() -> list[str]:
    flags = ["--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-sync"]
    flags += ["--disable-background-networking", "--disable-component-update"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return flags


def write_index(out: Path, brand: str, langs: list[str], written: list[Written], css: str) -> Path:
    """``index.html``: every state by group, a link per language to its HTML and PNGs."""
    by_state: dict[str, dict[str, Written]] = {}
    for page in written:
        by_state.setdefault(page.state.name, {})[page.lang] = page
    rows: list[str] = []
    group = None
    for name, pages in by_state.items():
        state = next(iter(pages.values())).state
        if state.group != group:
            group = state.group
            rows.append(f'<tr><th colspan="{len(langs) + 1}" scope="colgroup">{html.escape(group)}</th></tr>')
        cells = []
        for lang in langs:
            page = pages.get(lang)
            if page is None:
                cells.append("<td></td>")
                continue
            links = [f'<a href="{lang}/{page.html.name}">HTML</a>']
            links += [f'<a href="{lang}/{png.name}">{png.stem.rsplit("-", 1)[1]} px</a>' for png in page.pngs]
            warning = f" <strong>({html.escape(page.problem)})</strong>" if page.problem else ""
            cells.append(f"<td>{' · '.join(links)}{warning}</td>")
        rows.append(f'<tr><th scope="row" id="{name}">{html.escape(state.title)}</th>{"".join(cells)}</tr>')
    head = "".join(f'<th scope="col">{lang}</th>' for lang in langs)
    index = out / "index.html"
    index.write_text(
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Preview – {html.escape(brand)}</title>\n"
        f'<link rel="stylesheet" href="assets/{css}">\n</head>\n<body>\n<main class="wrap" id="main">\n'
        f"<h1>Preview of every page – {html.escape(brand)}</h1>\n"
        f"<p>Each page as the app answers it, rendered through the real templates. Open a page, or its "
        f"whole-page screenshots at 375 px (a phone) and 1280 px (a desktop).</p>\n"
        f'<table class="preview-index">\n<thead><tr><th scope="col">page</th>{head}</tr></thead>\n'
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>\n</main>\n</body>\n</html>\n",
        encoding="utf-8",
    )
    return index
