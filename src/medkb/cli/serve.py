"""``medkb serve``: the HTTP API under Uvicorn."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Annotated

import typer

from medkb.cli.context import handled, state
from medkb.errors import ConfigError, missing_dependency

if TYPE_CHECKING:
    from medkb.config import Settings

#: Addresses ``--no-auth`` may bind to: this machine only.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default 8000).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes; more than 1 needs PostgreSQL.")
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Local mode without API keys (every request acts as MEDKB_TENANT with every "
            "scope); only on 127.0.0.1.",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API (/v1, /health, /metrics, /docs).

    Example: medkb serve --host 0.0.0.0 --port 8000
    """
    with handled():
        settings = state(ctx).settings()
        api = settings.api.model_copy(
            update={k: v for k, v in (("host", host), ("port", port), ("workers", workers)) if v}
        )
        check_bind(api.host, no_auth=no_auth)
        if api.workers > 1 and settings.resolved_database_url().startswith("sqlite"):
            raise ConfigError(
                "--workers above 1 needs PostgreSQL (MEDKB_DATABASE_URL=postgresql://...): "
                "SQLite has one writer. Use --workers 1, which serves many readers at once."
            )
        try:
            import uvicorn
        except ImportError as exc:
            raise missing_dependency("uvicorn", "api", "medkb serve") from exc
        settings = settings.model_copy(update={"api": api})
        from medkb.api import logconfig, tracing

        logconfig.configure(settings.log_format)
        tracing.configure(settings)
        if api.workers > 1:
            _serve_workers(settings, no_auth=no_auth)
            return
        from medkb.api import create_app

        uvicorn.run(
            create_app(settings, auth=not no_auth),
            host=api.host,
            port=api.port,
            log_config=None,  # logconfig.configure set it up
            access_log=False,  # the app logs each request with its id and tenant
        )


def check_bind(host: str, *, no_auth: bool) -> None:
    """Refuse ``--no-auth`` on any address but the loopback."""
    if no_auth and host not in LOOPBACK:
        raise ConfigError(
            f"--no-auth serves every request without a key, so it binds 127.0.0.1 only, not "
            f"{host!r}. Drop --host, or create keys (medkb keys create) and drop --no-auth."
        )


def _serve_workers(settings: Settings, *, no_auth: bool) -> None:
    """Several Uvicorn worker processes; each rebuilds the app from these settings."""
    import uvicorn

    from medkb.api.factory import export_settings

    export_settings(settings, auth=not no_auth)
    metrics_dir = settings.home / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # samples of a previous run are stale
    metrics_dir.mkdir(parents=True)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    uvicorn.run(
        "medkb.api.factory:app_from_environment",
        factory=True,
        host=settings.api.host,
        port=settings.api.port,
        workers=settings.api.workers,
        log_config=None,
        access_log=False,
    )
