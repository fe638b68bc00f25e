"""Kubernetes manifests: each overlay renders, validates against the Kubernetes schemas,
passes checkov, and holds the pod security, probes and network rules the issue asks for."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.checks import (
    DEPLOY,
    ROOT,
    command_problems,
    tool,
    unknown_variables,
    walk,
)
from tests.deploy.kustomize import KustomizeError, Manifest, key, pod_spec, render
from tests.services import unavailable

K8S = DEPLOY / "k8s"
#: Every kustomization a user applies: the two overlays and the hand-run ops Jobs.
TARGETS = {"dev": K8S / "overlays" / "dev", "prod": K8S / "overlays" / "prod", "ops": K8S / "ops"}
#: The oldest Kubernetes the manifests must suit (CronJob timeZone is GA from 1.27).
KUBERNETES_VERSION = "1.29.0"
CHECKOV_ENV = "MEDKB_CHECKOV"
CARELESS_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: careless, namespace: medkb}
spec:
  containers:
    - {name: app, image: "example/app:1.0"}
"""


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    return {name: render(path) for name, path in TARGETS.items()}


def workloads(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if pod_spec(m) is not None]


def by_key(manifests: list[Manifest]) -> dict[tuple[str, str], Manifest]:
    return {key(m): m for m in manifests}


def test_every_manifest_matches_the_kubernetes_schema(rendered: dict[str, list[Manifest]]) -> None:
    problems = []
    for name, manifests in rendered.items():
        for manifest in manifests:
            try:
                kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                problems.append(f"{name} {key(manifest)}: {exc.message}")
    assert problems == []


def test_schema_validation_catches_a_wrong_field(rendered: dict[str, list[Manifest]]) -> None:
    api = json.loads(json.dumps(by_key(rendered["prod"])[("Deployment", "medkb-api")]))
    api["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, KUBERNETES_VERSION, strict=True)


def test_renderer_matches_kubectl_kustomize(rendered: dict[str, list[Manifest]]) -> None:
    kubectl = tool("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (not in PyPI or Debian); the renderer runs alone")
    for name, path in TARGETS.items():
        done = subprocess.run(
            [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        theirs = by_key([m for m in yaml.safe_load_all(done.stdout) if m])
        assert by_key(rendered[name]) == theirs, name


def test_renderer_refuses_what_it_does_not_support(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nconfigMapGenerator: []\n")
    with pytest.raises(KustomizeError, match="configMapGenerator"):
        render(tmp_path)


def test_pods_run_non_root_read_only_without_privileges(
    rendered: dict[str, list[Manifest]],
) -> None:
    for name, manifests in rendered.items():
        for manifest in workloads(manifests):
            spec = pod_spec(manifest)
            assert spec is not None
            where = f"{name} {key(manifest)}"
            assert spec["securityContext"]["runAsNonRoot"] is True, where
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
            assert spec["automountServiceAccountToken"] is False, where
            for container in spec["containers"]:
                security = container["securityContext"]
                assert security["readOnlyRootFilesystem"] is True, where
                assert security["allowPrivilegeEscalation"] is False, where
                assert security["capabilities"]["drop"] == ["ALL"], where
                assert set(container["resources"]) == {"requests", "limits"}, where


def test_services_have_probes_on_the_health_endpoints(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = by_key(rendered["prod"])
    for component in ("api", "stream-worker", "ui"):
        container = manifests[("Deployment", f"medkb-{component}")]["spec"]["template"]["spec"][
            "containers"
        ][0]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probe in container, f"{component} {probe}"
    api = manifests[("Deployment", "medkb-api")]["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"


def test_autoscalers_and_disruption_budgets_cover_every_deployment(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = by_key(rendered["prod"])
    deployments = [n for k, n in manifests if k == "Deployment"]
    for name in deployments:
        assert ("HorizontalPodAutoscaler", name) in manifests, name
        assert ("PodDisruptionBudget", name) in manifests, name
    api_hpa = manifests[("HorizontalPodAutoscaler", "medkb-api")]["spec"]
    assert {m["resource"]["name"] for m in api_hpa["metrics"]} == {"cpu", "memory"}
    assert api_hpa["minReplicas"] == 3


def policy(manifests: list[Manifest], name: str) -> dict[str, Any]:
    return by_key(manifests)[("NetworkPolicy", name)]["spec"]


def test_network_policies_deny_by_default_and_admit_the_ingress_controller(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["prod"]
    deny = policy(manifests, "default-deny")
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    for name in ("api-ingress", "ui-ingress"):
        sources = policy(manifests, name)["ingress"][0]["from"]
        assert sources[0]["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": "ingress-nginx"
        }
    # The UI may reach the API (and DNS) only: never a database.
    ui_egress = policy(manifests, "ui-egress")["egress"]
    assert ui_egress == [
        {
            "to": [
                {
                    "podSelector": {
                        "matchLabels": {
                            "app.kubernetes.io/name": "medkb",
                            "app.kubernetes.io/component": "api",
                        }
                    }
                }
            ],
            "ports": [{"protocol": "TCP", "port": 8000}],
        }
    ]


def test_only_api_and_workers_reach_the_stores(rendered: dict[str, list[Manifest]]) -> None:
    manifests = rendered["dev"]
    clients = {
        m["metadata"]["name"]
        for m in workloads(manifests)
        if (pod_spec(m) or {}).get("containers")
        and _template_labels(m).get("medkb.io/store-client") == "true"
    }
    assert clients == {
        "medkb-api",
        "medkb-worker",
        "medkb-stream-worker",
        "medkb-backup",
    }
    stores = {m["metadata"]["name"] for m in workloads(manifests) if _is_store(m)}
    assert stores == {"medkb-postgres", "medkb-redis"}
    admitted = policy(manifests, "stores-ingress")["ingress"]
    assert admitted == [
        {"from": [{"podSelector": {"matchLabels": {"medkb.io/store-client": "true"}}}]}
    ]
    ui = by_key(manifests)[("Deployment", "medkb-ui")]["spec"]["template"]["spec"]
    assert all(e.get("secretRef") is None for e in ui["containers"][0]["envFrom"])


def _template_labels(manifest: Manifest) -> dict[str, str]:
    template = (
        manifest["spec"].get("template") or manifest["spec"]["jobTemplate"]["spec"]["template"]
    )
    labels: dict[str, str] = template["metadata"]["labels"]
    return labels


def _is_store(manifest: Manifest) -> bool:
    return _template_labels(manifest).get("medkb.io/role") == "store"


def test_ingress_terminates_tls_with_cert_manager(rendered: dict[str, list[Manifest]]) -> None:
    for name in ("dev", "prod"):
        ingress = by_key(rendered[name])[("Ingress", "medkb")]
        assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
        hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
        assert hosts == set(ingress["spec"]["tls"][0]["hosts"])
        paths = [p["path"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
        assert "/metrics" not in paths and "/health" not in paths


def test_nightly_backup_keeps_thirty(rendered: dict[str, list[Manifest]]) -> None:
    cron = by_key(rendered["prod"])[("CronJob", "medkb-backup")]["spec"]
    assert cron["schedule"].split()[2:] == ["*", "*", "*"]
    assert cron["concurrencyPolicy"] == "Forbid"
    args = pod_spec(by_key(rendered["prod"])[("CronJob", "medkb-backup")])["containers"][0]["args"]
    assert args[:2] == ["backup", "--output"] and args[args.index("--keep") + 1] == "30"
    restore = by_key(rendered["ops"])[("Job", "medkb-restore")]
    restore_args = pod_spec(restore)["containers"][0]["args"]
    assert restore_args[0] == "restore" and "--force" not in restore_args


def medkb_argv(manifests: list[Manifest]) -> list[tuple[str, list[str]]]:
    """The ``medkb`` command lines of every container and exec probe."""
    found = []
    for manifest in workloads(manifests):
        for container in pod_spec(manifest)["containers"]:  # type: ignore[index]
            if not container["image"].rsplit("/", 1)[-1].startswith("medkb:"):
                continue
            if "command" not in container:
                found.append((manifest["metadata"]["name"], container["args"]))
            for node in walk(container):
                if isinstance(node, dict) and node.get("command", [None])[0] == "medkb":
                    found.append((manifest["metadata"]["name"], node["command"][1:]))
    return found


def test_every_medkb_command_and_setting_exists(rendered: dict[str, list[Manifest]]) -> None:
    problems = [
        f"{name}: {problem}"
        for manifests in rendered.values()
        for name, argv in medkb_argv(manifests)
        for problem in command_problems(argv)
    ]
    assert problems == []
    texts = [p.read_text() for p in K8S.rglob("*.yaml")]
    assert unknown_variables(texts) == set()


def test_checkov_passes_every_rendered_manifest(
    rendered: dict[str, list[Manifest]], tmp_path: Path
) -> None:
    """One checkov run over all rendered output; skips are justified in the manifests."""
    checkov = os.environ.get(CHECKOV_ENV) or tool("checkov")
    local = ROOT / ".venv-checkov" / "bin" / "checkov"
    checkov = checkov or (str(local) if local.exists() else None)
    if checkov is None:
        unavailable(
            f"checkov is missing: .ci/run installs it in .venv-checkov (or set {CHECKOV_ENV})"
        )
    for name, manifests in rendered.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump_all(manifests, sort_keys=False))
    # A pod with none of the settings above, in the same run, to show checkov really checks.
    (tmp_path / "careless.yaml").write_text(CARELESS_POD)
    done = subprocess.run(
        [
            checkov,
            "-d",
            str(tmp_path),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    report = json.loads(done.stdout)
    results = report["results"]
    failed = [
        f"{c['check_id']} {c['resource']}"
        for c in results["failed_checks"]
        if not c["file_path"].endswith("careless.yaml")
    ]
    assert failed == [], done.stderr[-2000:]
    careless = {c["check_id"] for c in results["failed_checks"]} - {f.split()[0] for f in failed}
    assert {"CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_28"} <= careless
    assert report["summary"]["passed"] > 500
    for skipped in results["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert len(reason) > 20, f"{skipped['check_id']} is skipped without a reason"
