"""``flask --app wsgi check-config``: every problem of the configuration in one run, then the effective
configuration with secrets redacted.

Reaching this command at all means every setting parsed (``wsgi.py`` stops with one line per problem and
exit status 2 otherwise, this command's checks included). Here the values that parse but would fail later
are checked (``config_checks.py``): each is printed as ``configuration error: …`` and the exit status is 2;
``configuration warning: …`` lines do not change it. Ops run it as the first step of a deployment.
"""

from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app

from config import redacted

from .config_checks import findings


@click.command("check-config")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of NAME=value lines.")
def check_config(as_json: bool) -> None:
    """Check the settings and print the effective configuration (secrets shown as <redacted>)."""
    shown = redacted(current_app.config)
    if as_json:
        click.echo(json.dumps(shown, indent=2, sort_keys=False))
    else:
        width = max(len(name) for name in shown)
        for name, value in shown.items():
            click.echo(f"{name.ljust(width)} = {value}")
    found = findings(current_app.config, current_app.jinja_env)
    for finding in found:
        click.echo(f"configuration {'warning' if finding.warning else 'error'}: {finding}", err=True)
    if any(not finding.warning for finding in found):
        sys.exit(2)
    click.echo("configuration OK", err=True)


def init_app(app: Flask) -> None:
    """Register the command."""
    app.cli.add_command(check_config)
