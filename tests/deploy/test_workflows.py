"""The GitHub workflows for users: valid against the workflow schema, and doing what they say."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.checks import ROOT, tool

WORKFLOWS = ROOT / ".github" / "workflows"


def check_workflows(*paths: Path) -> subprocess.CompletedProcess[str]:
    binary = tool("check-jsonschema")
    if binary is None:
        pytest.fail("check-jsonschema is missing: it is in the dev extra")
    return subprocess.run(
        [binary, "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def load(name: str) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True; the workflow schema wants the string.
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True)
    return data


def test_every_workflow_matches_the_schema() -> None:
    paths = sorted(WORKFLOWS.glob("*.yml"))
    assert {p.name for p in paths} == {"tests.yml", "image.yml"}
    done = check_workflows(*paths)
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    step: []\n")
    assert check_workflows(broken).returncode != 0


def test_tests_workflow_runs_the_projects_ci() -> None:
    steps = load("tests.yml")["jobs"]["test"]["steps"]
    assert any(step.get("run") == ".ci/run" for step in steps)


def test_image_is_scanned_before_it_is_published_on_a_tag() -> None:
    workflow = load("image.yml")
    assert workflow["on"]["push"]["tags"] == ["v*"]
    steps = workflow["jobs"]["build"]["steps"]
    names = [step.get("name", "") for step in steps]
    scan = names.index("Scan with Trivy (fail on fixable HIGH/CRITICAL)")
    publish = names.index("Publish")
    assert scan < publish
    assert steps[scan]["uses"].startswith("aquasecurity/trivy-action@")
    assert steps[scan]["with"]["exit-code"] == "1"
    assert steps[publish]["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert steps[publish]["with"]["file"] == "deploy/image/Containerfile"
    assert workflow["jobs"]["build"]["strategy"]["matrix"]["variant"] == ["cpu", "cuda"]
