"""WSGI entry point for gunicorn (`gunicorn wsgi:app`) and the flask CLI (`flask --app wsgi ...`).

A configuration problem ends the process with one line per problem and exit status 2, not a traceback.
"""

import gc
import sys

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    for problem in error.problems:
        print(f"configuration error: {problem}", file=sys.stderr)
    sys.exit(2)

# Everything loaded so far (modules, templates, the app) lives as long as the process: moved out of the
# garbage collector's generations, it is no longer walked by every collection that requests trigger.
gc.freeze()
