"""WSGI entry point for gunicorn (`gunicorn wsgi:app`) and the flask CLI (`flask --app wsgi ...`).

A configuration problem ends the process with one line per problem and exit status 2, not a traceback.
"""

import sys

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    for problem in error.problems:
        print(f"configuration error: {problem}", file=sys.stderr)
    sys.exit(2)
