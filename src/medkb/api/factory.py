"""The app of a worker process that ``medkb serve --workers N`` (or Gunicorn) starts.

The parent process puts its settings in the environment once (``export_settings``); each
worker reads them back here, at the edge, and builds its own app.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from medkb.api.app import create_app
from medkb.config import Settings

_SETTINGS = "MEDKB_SERVE_SETTINGS_JSON"
_AUTH = "MEDKB_SERVE_AUTH"


def export_settings(settings: Settings, *, auth: bool) -> None:
    """Hand ``settings`` to the worker processes about to be started."""
    os.environ[_SETTINGS] = settings.model_dump_json()
    os.environ[_AUTH] = "1" if auth else "0"


def app_from_environment() -> FastAPI:
    """The app for this worker: exported settings, or ``MEDKB_*`` variables (Gunicorn:
    ``gunicorn -k uvicorn.workers.UvicornWorker 'medkb.api.factory:app_from_environment()'``)."""
    raw = os.environ.get(_SETTINGS)
    settings = Settings.model_validate_json(raw) if raw else Settings()
    return create_app(settings, auth=os.environ.get(_AUTH, "1") != "0")
