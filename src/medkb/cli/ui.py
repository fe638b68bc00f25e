"""``medkb ui``: the web app, a client of the HTTP API (``medkb serve``)."""

from __future__ import annotations

from typing import Annotated

import typer

from medkb.cli.context import handled
from medkb.errors import InputError, missing_dependency


def ui_command(
    api_url: Annotated[
        str, typer.Option(help="Where `medkb serve` answers, as the browser reaches it.")
    ] = "http://127.0.0.1:8000",
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8501,
) -> None:
    """Serve the web app (Ask; Admin: documents, pairs, sync, analytics).

    The browser calls the API at --api-url with the key typed on the sign-in page; the API
    must allow this page's origin (MEDKB_API__CORS_ORIGINS, default http://127.0.0.1:8501).

    Example: medkb ui --api-url http://127.0.0.1:8000 --port 8501
    """
    with handled():
        if not api_url.startswith(("http://", "https://")):
            raise InputError(f"--api-url must start with http:// or https://, not {api_url!r}.")
        try:
            import uvicorn
        except ImportError as exc:
            raise missing_dependency("uvicorn", "api", "medkb ui") from exc
        from medkb.ui import create_ui_app

        typer.echo(f"medkb web app on http://{host}:{port} (API: {api_url})")
        uvicorn.run(create_ui_app(api_url), host=host, port=port, log_level="info")
