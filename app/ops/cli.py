"""``flask --app wsgi check-config``: print the effective configuration, secrets redacted.

Reaching this command at all means every setting parsed (``wsgi.py`` stops with one line per problem and
exit status 2 otherwise), so ops can run it as the first step of a deployment.
"""

from __future__ import annotations

import json

import click
from flask import Flask, current_app

from config import SETTINGS, redacted


@click.command("check-config")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of NAME=value lines.")
def check_config(as_json: bool) -> None:
    """Validate the settings and print the effective configuration (secrets shown as <redacted>)."""
    shown = redacted(current_app.config)
    if as_json:
        click.echo(json.dumps(shown, indent=2, sort_keys=False))
        return
    width = max(len(setting.name) for setting in SETTINGS)
    for setting in SETTINGS:
        click.echo(f"{setting.name.ljust(width)} = {shown[setting.name]}")
    click.echo("configuration OK", err=True)


def init_app(app: Flask) -> None:
    """Register the command."""
    app.cli.add_command(check_config)
