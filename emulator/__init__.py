"""A local emulator of Marketing Cloud's OAuth and SOAP API (Execute LogUnsubEvent, Retrieve, Update).

Run it with ``python -m emulator --port 9100``; see docs/emulator.md. It shares no code with ``app/``: a bug
copied into both would hide itself.
"""

from .server import Emulator, create_app
from .state import Account, DataError

__all__ = ["Account", "DataError", "Emulator", "create_app"]
