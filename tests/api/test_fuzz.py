"""Schemathesis over the OpenAPI schema against a real ``medkb serve``: valid and invalid
requests to every operation, a bounded number each, find no 5xx and no response that
breaks the schema (the documented body or the one error shape)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.server import Server, make_keys, server_env, start_server

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

#: Examples per operation and generation mode: the whole run stays well under a minute.
EXAMPLES = 8
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embed_cache: Path) -> Iterator[Server]:
    """A server with one tenant, a few pairs and no rate limit in the way."""
    home = tmp_path_factory.mktemp("fuzz")
    database_url = f"sqlite:///{home / 'kb.db'}"
    keys = make_keys(database_url, ["fuzz"])
    env = server_env(
        home,
        database_url,
        embed_cache,
        MEDKB_API__RATE_PER_S="100000",
        MEDKB_API__RATE_BURST="100000",
    )
    started = start_server(env, home / "server.log")
    started.keys = keys
    with started.client("fuzz") as client:
        for topic in ("asthma", "gout", "measles"):
            body = {"question": f"What is {topic}?", "response": f"{topic} is an illness."}
            assert client.post("/v1/pairs", json=body).status_code == 201
    yield started
    started.stop()


def _run(operation: Any, mode: GenerationMode, url: str, headers: dict[str, str]) -> str | None:
    """Fuzz one operation; the first failure found, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same cases on every run: CI never flickers
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, do not minimise
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=30)

    try:
        fuzz()
    except Unsatisfiable:  # nothing to get wrong: no parameters, so no invalid request
        return None
    except (Exception, BaseExceptionGroup) as exc:  # failures are reported together
        return f"{operation.label} ({mode}): {exc}"
    return None


def test_no_operation_answers_5xx_or_breaks_its_schema(server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {server.keys['fuzz']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures = [
        found
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (found := _run(operation, mode, server.url, headers)) is not None
    ]
    assert failures == [], "\n\n".join(failures)
