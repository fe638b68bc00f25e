"""The web app of ``medkb ui``: static pages that call the HTTP API from the browser.

It is a client of ``medkb serve``, not a second back end: :mod:`medkb.ui.server` only
serves the files in ``static/`` and ``/config.json`` (where the API is).
"""

from medkb.ui.server import create_ui_app

__all__ = ["create_ui_app"]
