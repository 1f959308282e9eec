"""Placeholder: filled in by the issue that owns this package."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package with the app."""
