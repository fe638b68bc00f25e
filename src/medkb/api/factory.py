"""The app of a worker process that ``medkb serve --workers N`` (or Gunicorn) starts.

Workers read their settings from the ``MEDKB_*`` environment, like any medkb process;
``medkb serve`` first puts its command-line choices (``--home``, ``--embedder``, ``--no-auth``)
there, once, so every worker sees them.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from medkb.api import logconfig, tracing
from medkb.api.app import create_app
from medkb.config import Settings

_AUTH = "MEDKB_SERVE_AUTH"


def export_settings(settings: Settings, *, auth: bool) -> None:
    """Hand the command line's choices to the worker processes about to be started."""
    os.environ["MEDKB_HOME"] = str(settings.home)
    os.environ["MEDKB_EMBEDDER"] = settings.embedder
    os.environ[_AUTH] = "1" if auth else "0"


def app_from_environment() -> FastAPI:
    """The app for this worker (Gunicorn: ``gunicorn -k uvicorn.workers.UvicornWorker
    'medkb.api.factory:app_from_environment()'``)."""
    settings = Settings()
    logconfig.configure(settings.log_format)
    tracing.configure(settings)
    return create_app(settings, auth=os.environ.get(_AUTH, "1") != "0")
