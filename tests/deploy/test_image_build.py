"""Build the image for real, start it, wait for /health/ready and ask a question.

Too slow for the suite on the project's 2-core machine (see SKIP_REASON: measured), so it
runs only when asked: ``MEDKB_IMAGE_BUILD=1 pytest -m image tests/deploy/test_image_build.py``
(as root, with podman, buildah and debootstrap installed). deploy/image/build.sh does the
work; the same script builds the image outside the tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.deploy.checks import DEPLOY, ROOT

BUILD = DEPLOY / "image" / "build.sh"
SKIP_REASON = (
    "builds a 2.0 GB image: on the shared 2-core project machine (load average 10, "
    "2026-12-05) the debootstrap base took 295 s, its import 21 s, the image build 1083 s, "
    "start to /health/ready 17 s, and tenant + key + 50-pair MiniLM ingest + the question "
    "157 s, far over the 5-minute budget of a test; set MEDKB_IMAGE_BUILD=1 to run it"
)

pytestmark = pytest.mark.image


def test_image_builds_starts_and_answers() -> None:
    if os.environ.get("MEDKB_IMAGE_BUILD") != "1":
        pytest.skip(SKIP_REASON)
    missing = [name for name in ("podman", "debootstrap") if shutil.which(name) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: apt-get install -y podman buildah debootstrap")
    env = {
        **os.environ,
        "SMOKE": "1",
        "RUNTIME": os.environ.get("RUNTIME", "runc" if shutil.which("runc") else ""),
        "PIP_CERT_FILE": os.environ.get("PIP_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
    }
    if os.path.isdir("/opt/wheels"):
        env.setdefault("WHEELS", "/opt/wheels")
    done = subprocess.run(
        [str(BUILD)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["hits"], answer
