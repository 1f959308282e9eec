"""Form bodies that are not valid UTF-8 are read, not dropped.

Werkzeug decodes an ``application/x-www-form-urlencoded`` body as strict UTF-8 and, when that fails, silently
answers with an empty form: a person whose mail app posted Latin-1 bytes in the free text ("café" as
``caf\\xe9``) would be refused with "please choose an option" although their choice is in the body. An
unsubscribe is never refused for its encoding, so undecodable bytes become U+FFFD here (the same rule
werkzeug already applies to ``multipart/form-data`` parts); percent-escapes keep werkzeug's own handling.
"""

from __future__ import annotations

from typing import IO, Any
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.formparser import FormDataParser

URLENCODED = "application/x-www-form-urlencoded"


class LenientFormDataParser(FormDataParser):
    """Werkzeug's form parser, decoding url-encoded bodies with ``errors="replace"``."""

    def parse(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> Any:
        if mimetype != URLENCODED:
            return super().parse(stream, mimetype, content_length, options)
        # The stream is already limited to the body cap (body_size.py, chunked bodies too).
        text = stream.read().decode("utf-8", "replace")
        items = parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
        return stream, self.cls(items), self.cls()


def init_app(app: Flask) -> None:
    """Give the app's request class the lenient form parser (keeping whatever class it already has)."""
    base = app.request_class

    class LenientRequest(base):  # type: ignore[valid-type, misc]
        form_data_parser_class = LenientFormDataParser

    app.request_class = LenientRequest
