"""The compose stack: valid against the Compose specification, and every medkb service runs a
command medkb has, with settings medkb reads; dashboards and alerts use metrics it exports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.checks import (
    DEPLOY,
    command_problems,
    known_variables,
    tool,
    unknown_metrics,
    unknown_variables,
)
from tests.services import unavailable

COMPOSE = DEPLOY / "compose"
COMPOSE_FILE = COMPOSE / "compose.yaml"


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    """Validate ``paths`` against a schema vendored in check-jsonschema (no network)."""
    binary = tool("check-jsonschema")
    if binary is None:
        pytest.fail("check-jsonschema is missing: it is in the dev extra")
    return subprocess.run(
        [binary, "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_matches_the_compose_spec() -> None:
    done = check_jsonschema("vendor.compose-spec", COMPOSE_FILE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_catches_a_broken_compose_file(tmp_path: Path, stack: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(stack))
    broken["services"]["api"]["healthcheck"]["retries"] = "often"
    broken["services"]["api"]["restart_policy"] = "always"
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    done = check_jsonschema("vendor.compose-spec", path)
    assert done.returncode != 0
    assert "restart_policy" in done.stdout or "often" in done.stdout


def medkb_services(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services running the medkb image with its ``medkb`` entrypoint."""
    image = stack["x-medkb-image"]["image"]
    return {
        name: service
        for name, service in stack["services"].items()
        if service.get("image") == image and "entrypoint" not in service
    }


def test_every_medkb_command_exists(stack: dict[str, Any]) -> None:
    services = medkb_services(stack)
    assert {"migrate", "outbox-worker", "stream-worker", "ui", "backup"} <= set(services)
    problems = [
        f"{name}: {problem}"
        for name, service in services.items()
        for problem in command_problems(service["command"])
    ]
    assert problems == []


def test_api_runs_gunicorn_with_the_environment_factory(stack: dict[str, Any]) -> None:
    api = stack["services"]["api"]
    assert api["entrypoint"] == ["gunicorn"]
    assert "--worker-class=uvicorn.workers.UvicornWorker" in api["command"]
    assert api["command"][-1] == "medkb.api.factory:app_from_environment()"
    assert "PROMETHEUS_MULTIPROC_DIR" in api["environment"]


def test_every_medkb_variable_is_a_setting() -> None:
    texts = [COMPOSE_FILE.read_text(), (COMPOSE / ".env.example").read_text()]
    assert unknown_variables(texts) == set()


def test_variable_check_catches_a_misspelt_setting() -> None:
    assert "MEDKB_DATABASE__URL" not in known_variables()
    assert unknown_variables(["MEDKB_SYNC__INTERVAL_S: 1\nMEDKB_DATABSE_URL: x"]) == {
        "MEDKB_DATABSE_URL"
    }


def test_command_check_catches_unknown_commands_and_options() -> None:
    assert command_problems(["backup", "--output", "s3://b/p", "--keep", "30"]) == []
    assert command_problems(["backup", "--retain", "30"]) == ["medkb backup has no option --retain"]
    assert command_problems(["servee"]) == ["medkb has no command 'servee'"]
    assert command_problems(["worker", "--bus", "db", "--health-port", "9100"]) == []
    assert command_problems(["worker", "--bus", "db", "--partitions", "6"]) == [
        "medkb worker has no option --partitions"
    ]


def test_networks_keep_stores_off_the_frontend(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for store in ("postgres", "milvus", "redis", "minio", "etcd"):
        assert "frontend" not in services[store]["networks"], store
    assert stack["networks"]["backend"]["internal"] is True
    assert services["ui"]["networks"] == ["frontend"]
    for name in ("api", "outbox-worker", "stream-worker"):
        assert "backend" in services[name]["networks"]


def test_dependencies_wait_for_health(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            target = services[dependency]
            wanted = condition["condition"]
            if wanted == "service_healthy":
                assert "test" in target.get("healthcheck", {}), f"{name} → {dependency}"
            else:
                assert wanted in ("service_completed_successfully", "service_started")


def test_named_volumes_only(stack: dict[str, Any]) -> None:
    for name, service in stack["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith(("./", "/")):
                assert volume.endswith(":ro"), f"{name}: a bind mount must be read-only"
            else:
                assert source in stack["volumes"], f"{name}: {source} is not a named volume"


def test_secrets_come_from_the_env_file(stack: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text()
    example = (COMPOSE / ".env.example").read_text()
    for secret in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "MINIO_ROOT_PASSWORD"):
        assert f"${{{secret}:?" in text and f"{secret}=" in example
    gitignore = (DEPLOY.parent / ".gitignore").read_text().splitlines()
    assert "deploy/compose/.env" in gitignore


def test_prometheus_scrapes_every_medkb_process_with_metrics() -> None:
    config = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["medkb-api"]["dns_sd_configs"][0]["names"] == ["api"]
    assert jobs["medkb-stream-worker"]["dns_sd_configs"][0]["port"] == 9100


def dashboard() -> dict[str, Any]:
    path = COMPOSE / "grafana" / "dashboards" / "medkb-overview.json"
    return json.loads(path.read_text())


def test_dashboard_has_the_panels_operators_need() -> None:
    titles = {panel["title"] for panel in dashboard()["panels"]}
    wanted = {
        "Request rate",
        "p95 latency",
        "Ingest rate",
        "Stream failures",
        "Outbox depth",
        "Dead-letter queue",
        "Circuit breakers",
    }
    assert wanted <= titles


def test_dashboards_and_alerts_use_exported_metrics() -> None:
    exprs = [t["expr"] for panel in dashboard()["panels"] for t in panel["targets"]]
    alerts = yaml.safe_load((COMPOSE / "prometheus" / "alerts.yml").read_text())
    exprs += [rule["expr"] for group in alerts["groups"] for rule in group["rules"]]
    assert unknown_metrics(exprs) == set()
    assert unknown_metrics(["rate(medkb_queries_totl[5m])"]) == {"medkb_queries_totl"}
    stream = ["medkb_stream_applied_total", "medkb_circuit_state", "medkb_dead_letters"]
    assert unknown_metrics([*stream, "medkb_stream_events_total"]) == {"medkb_stream_events_total"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run Prometheus's own checker (Debian package ``prometheus``)."""
    binary = tool("promtool")
    if binary is None:
        unavailable("promtool is missing: apt-get install -y --no-install-recommends prometheus")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def test_prometheus_config_and_alerts_pass_promtool(tmp_path: Path) -> None:
    config = (COMPOSE / "prometheus" / "prometheus.yml").read_text()
    rules = COMPOSE / "prometheus" / "alerts.yml"
    # The config names the rules where the compose file mounts them.
    local = tmp_path / "prometheus.yml"
    local.write_text(config.replace("/etc/prometheus/alerts.yml", str(rules)))
    for args in (("check", "config", str(local)), ("check", "rules", str(rules))):
        done = promtool(*args)
        assert done.returncode == 0, done.stdout + done.stderr


def test_alerts_fire_when_they_should(tmp_path: Path) -> None:
    """alerts_test.yml: backlog, API down, 5xx, dead-letter, open-circuit and stream-worker-down
    alerts fire after their `for`, not before."""
    done = promtool("test", "rules", str(COMPOSE / "prometheus" / "alerts_test.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "alerts.yml"
    broken.write_text((COMPOSE / "prometheus" / "alerts.yml").read_text().replace("5000", "7000"))
    test = tmp_path / "alerts_test.yml"
    test.write_text((COMPOSE / "prometheus" / "alerts_test.yml").read_text())
    assert promtool("test", "rules", str(test)).returncode != 0
