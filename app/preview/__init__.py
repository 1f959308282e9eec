"""The preview: every page state in every language, through the real templates and views, into a folder a
marketer opens (``flask preview``; docs/pages.md, "Preview").

``registry.py`` is the list of states (other pages add theirs there), ``session.py`` where the pages come
from (the app as configured, on the emulator, with a scratch journal), ``output.py`` the folder (HTML that
opens from disk, PNGs, the index), ``cli.py`` the command.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register ``flask preview``."""
    from .cli import preview_command

    app.cli.add_command(preview_command)
