"""Real ``medkb serve`` processes sharing a Redis: idempotency across processes, and a
readiness probe that turns red when Redis dies and green when it is back, no restart."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.api.server import Server, make_keys, server_env, start_gunicorn, start_server
from tests.fixtures_servers import free_port
from tests.services import unavailable


def _start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed")
    command = [
        str(binary),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        str(folder),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    import redis

    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port).ping():
                return process
        except redis.RedisError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def two_servers(tmp_path: Path, embed_cache: Path) -> Iterator[tuple[list[Server], int, Path]]:
    pytest.importorskip("redis")
    redis_port = free_port()
    redis = _start_redis(redis_port, tmp_path)
    database_url = f"sqlite:///{tmp_path / 'kb.db'}"
    keys = make_keys(database_url, ["t"])
    env = server_env(
        tmp_path / "home",
        database_url,
        embed_cache,
        MEDKB_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
    )
    servers = [start_server(env, tmp_path / f"server{i}.log") for i in range(2)]
    for server in servers:
        server.keys = keys
    try:
        yield servers, redis_port, tmp_path
    finally:
        for server in servers:
            server.stop()
        redis.kill()
        redis.wait()


def test_an_idempotency_key_holds_across_server_processes(
    two_servers: tuple[list[Server], int, Path],
) -> None:
    servers, _port, _tmp = two_servers
    body = {"question": "Can children take aspirin?", "response": "Not without a doctor."}
    answers = []
    for server in servers:
        with server.client("t", **{"Idempotency-Key": "cross-process-1"}) as client:
            answers.append(client.post("/v1/pairs", json=body))
    with servers[0].client("t") as client:
        listed = client.get("/v1/pairs").json()["items"]
    assert answers[0].status_code == answers[1].status_code == 201
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    assert len(listed) == 1


def _ready(server: Server) -> int:
    return httpx.get(f"{server.url}/health/ready", timeout=10).status_code


def _until(server: Server, status: int, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if _ready(server) == status:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"/health/ready never answered {status} within {seconds} s")


def test_without_redis_readiness_turns_red_queries_still_answer_and_green_returns(
    two_servers: tuple[list[Server], int, Path],
) -> None:
    servers, port, tmp = two_servers
    server = servers[0]
    assert _ready(server) == 200
    import redis as redis_driver

    redis_driver.Redis(port=port).shutdown(nosave=True)
    assert _until(server, 503, 10) < 10
    red = httpx.get(f"{server.url}/health/redis").json()
    assert red["status"] == "fail" and red["checks"]["redis"]["ok"] is False
    # Rate limits and the answer cache live in Redis: while it is down, this process
    # counts requests itself and questions are still answered (they were refused with 503).
    with server.client("t") as client:
        asked = client.post("/v1/query", json={"query": "Can children take aspirin?"})
    assert asked.status_code == 200, asked.text
    restarted = _start_redis(port, tmp)
    try:
        assert _until(server, 200, 10) < 10
    finally:
        restarted.kill()
        restarted.wait()


@pytest.mark.postgres
@pytest.mark.parametrize("runner", ["medkb serve", "gunicorn"])
def test_two_worker_processes_on_postgresql_lose_no_write(
    tmp_path: Path, embed_cache: Path, pg_url: str, runner: str
) -> None:
    keys = make_keys(pg_url, ["t"])
    home = tmp_path / "home"
    env = server_env(home, pg_url, embed_cache)
    if runner == "gunicorn":
        pytest.importorskip("gunicorn")
        (home / "metrics").mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(home / "metrics")
        server = start_gunicorn(env, tmp_path / "s.log", workers=2)
    else:
        server = start_server(env, tmp_path / "s.log", "--workers", "2")
    server.keys = keys
    codes: list[int] = []
    try:

        def create(i: int) -> int:
            with server.client("t") as client:  # a new connection each time
                body = {"question": f"Question number {i}?", "response": f"Answer {i}."}
                return client.post("/v1/pairs", json=body).status_code

        # The kernel spreads connections over the workers; write until both have written.
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(codes) < 200 and (len(codes) < 40 or len(_writers(home)) < 2):
                codes += pool.map(create, range(len(codes), len(codes) + 20))
        with server.client("t") as client:
            stored = _all_pairs(client)
            metrics = client.get("/metrics").text
    finally:
        server.stop()
    assert codes == [201] * len(codes)
    assert len(stored) == len(codes)
    merged = (
        f'medkb_http_requests_total{{method="POST",route="/v1/pairs",status="201"}} {len(codes)}.0'
    )
    assert merged in metrics  # /metrics adds up every worker's samples
    assert len(_writers(home)) == 2


def _all_pairs(client: httpx.Client) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    params: dict[str, object] = {"limit": 200}
    while True:
        page = client.get("/v1/pairs", params=params).json()
        found += page["items"]
        if page["next_cursor"] is None:
            return found
        params["cursor"] = page["next_cursor"]


def _writers(home: Path) -> set[str]:
    """Pids of the worker processes that counted a request (multiprocess metric files)."""
    return {p.name.rsplit("_", 1)[-1] for p in (home / "metrics").glob("counter_*.db")}


def test_a_stopped_server_finishes_its_upload_jobs_before_exiting(
    tmp_path: Path, embed_cache: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'kb.db'}"
    keys = make_keys(database_url, ["t"])
    server = start_server(
        server_env(tmp_path / "home", database_url, embed_cache), tmp_path / "s.log"
    )
    server.keys = keys
    files = [
        (
            "files",
            (
                f"doc{i}.md",
                "".join(
                    f"## What is condition {i}-{j}?\n\nCondition {i}-{j} is a made-up illness.\n\n"
                    for j in range(20)
                ).encode(),
            ),
        )
        for i in range(15)
    ]
    with server.client("t") as client:
        job = client.post("/v1/documents", files=files).json()
    server.stop()  # SIGTERM right away: the job is queued or running
    assert server.process.returncode in (0, -15)  # uvicorn re-raises SIGTERM once done
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        state = conn.execute(
            sa.text("SELECT state FROM ingest_jobs WHERE id = :j"), {"j": job["id"]}
        )
        pairs = conn.execute(sa.text("SELECT count(*) FROM medical_qa_metadata")).scalar_one()
        final = state.scalar_one()
    engine.dispose()
    assert final == "done"
    assert pairs == 15 * 20
