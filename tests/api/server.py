"""A real ``medkb serve`` process for tests, on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from medkb.access import keys
from medkb.stores.relational import engine as relational
from tests.fixtures_servers import free_port

SRC = Path(__file__).resolve().parents[2] / "src"


def server_env(
    home: Path, database_url: str | None, cache_dir: Path, **extra: str
) -> dict[str, str]:
    """The environment of a test server: static embedder, this home and database (``None``:
    the home's own SQLite file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDKB_")}
    env.update(
        MEDKB_HOME=str(home),
        MEDKB_EMBEDDER="static",
        MEDKB_CACHE_DIR=str(cache_dir),
        PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")])),
        **extra,
    )
    if database_url is not None:
        env["MEDKB_DATABASE_URL"] = database_url
    return env


@dataclass
class Server:
    """A running server and the keys made for it, by tenant."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    keys: dict[str, str] = field(default_factory=dict)

    def client(self, tenant: str | None = None, **headers: str) -> httpx.Client:
        """An HTTP client, authenticated as ``tenant``'s all-scope key when given."""
        if tenant is not None:
            headers["Authorization"] = f"Bearer {self.keys[tenant]}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then kill if it hangs."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def make_keys(database_url: str, tenants: list[str]) -> dict[str, str]:
    """Create ``tenants`` with one all-scope key each (the schema is migrated first)."""
    engine = relational.make_engine(database_url)
    try:
        relational.upgrade(engine)
        made = {}
        for tenant in tenants:
            with engine.connect() as conn:
                exists = conn.execute(sa.text("SELECT 1 FROM tenants WHERE id = :t"), {"t": tenant})
                known = exists.first() is not None
            if not known:
                keys.create_tenant(engine, tenant)
            made[tenant] = keys.create_key(
                engine, tenant_id=tenant, scopes=keys.SCOPES, name="test"
            ).secret
        return made
    finally:
        engine.dispose()


def start_server(env: dict[str, str], log: Path, *args: str) -> Server:
    """``medkb serve`` on a free port; returns once /health/live answers."""
    port = free_port()
    command = [sys.executable, "-m", "medkb.cli", "serve", "--port", str(port), *args]
    return start_command(command, port, env, log)


def start_gunicorn(env: dict[str, str], log: Path, workers: int) -> Server:
    """Gunicorn with Uvicorn workers on the app factory, as docs/api.md says to run it."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "-k", "uvicorn.workers.UvicornWorker",
        "-w", str(workers), "-b", f"127.0.0.1:{port}", "--graceful-timeout", "30",
        "medkb.api.factory:app_from_environment()",
    ]  # fmt: skip
    return start_command(command, port, env, log)


def start_command(command: list[str], port: int, env: dict[str, str], log: Path) -> Server:
    """Run a server ``command`` listening on ``port``; return once /health/live answers."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"medkb serve exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                return Server(url, process, log)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"medkb serve did not start: {log.read_text()}")
