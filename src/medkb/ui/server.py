"""A tiny Starlette app: the static web app and ``/config.json`` with the API's URL.

No data passes through it: the browser calls the API directly with the key the user
typed (the API allows this origin by CORS, ``MEDKB_API__CORS_ORIGINS``).
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

#: Pages load nothing from elsewhere but the API; no inline scripts, no framing.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' {api}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def create_ui_app(api_url: str) -> Starlette:
    """The web app, pointed at the API at ``api_url`` (e.g. ``http://127.0.0.1:8000``)."""
    api_url = api_url.rstrip("/")
    headers = {
        "Content-Security-Policy": _CSP.format(api=api_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }

    async def index(_request: Request) -> Response:
        """The single page; the hash (#/ask, #/admin/...) picks the view."""
        return FileResponse(STATIC / "index.html", headers=headers)

    async def config(_request: Request) -> Response:
        """Where the API is, read by the page at start (the CSP of the page allows it)."""
        return JSONResponse({"api_url": api_url}, headers=headers)

    async def live(_request: Request) -> Response:
        """Liveness of the UI server itself."""
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/config.json", config),
            Route("/health/live", live),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
