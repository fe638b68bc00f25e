"""Backups to an S3-compatible server: moto's S3 server on 127.0.0.1, started by the test.

boto3 talks real HTTP to it (``MEDKB_S3_ENDPOINT_URL``), with credentials from the usual
AWS environment variables, exactly as against MinIO or AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medkb.app import KnowledgeBase, build
from medkb.backup.restore import restore
from medkb.backup.snapshot import backup
from medkb.config import Settings
from medkb.errors import InvalidBackup
from tests.fixtures_servers import free_port
from tests.integration.test_backup import fill, table_rows

boto3 = pytest.importorskip("boto3", reason="the s3 extra (boto3) is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] (dev extra) is missing")

BUCKET = "medkb-backups"


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto S3 server on a free 127.0.0.1 port, with one empty bucket."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint)


def backup_names(endpoint: str, prefix: str) -> list[str]:
    listing = client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/", Delimiter="/")
    return sorted(p["Prefix"].split("/")[-2] for p in listing.get("CommonPrefixes", []))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_s3_round_trip_retention_and_refusals(
    kb: KnowledgeBase, settings: Settings, tmp_path: Path, s3_endpoint: str
) -> None:
    fill(kb)
    settings = settings.model_copy(update={"s3_endpoint_url": s3_endpoint})
    reports = [backup(settings, f"s3://{BUCKET}/nightly", keep=2) for _ in range(3)]
    assert reports[-1].location == f"s3://{BUCKET}/nightly/{reports[-1].name}"
    assert reports[-1].removed == [reports[0].name]
    assert backup_names(s3_endpoint, "nightly") == [r.name for r in reports[1:]]

    target = settings.model_copy(update={"home": tmp_path / "restored", "database_url": None})
    done = restore(target, reports[-1].location)
    assert done.clean
    with build(target) as restored:
        assert table_rows(restored.engine) == table_rows(kb.engine)

    s3 = client(s3_endpoint)
    key = f"nightly/{reports[1].name}/vectors/question.f32"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"\x00" * 16)  # corrupt one file
    other = settings.model_copy(update={"home": tmp_path / "other", "database_url": None})
    with pytest.raises(InvalidBackup, match=r"vectors/question\.f32"):
        restore(other, reports[1].location)
    s3.delete_object(Bucket=BUCKET, Key=f"nightly/{reports[-1].name}/manifest.json")  # partial
    with pytest.raises(InvalidBackup, match="not a complete medkb backup"):
        restore(other, reports[-1].location)
    with pytest.raises(InvalidBackup, match=reports[1].name):  # a parent prefix: names them
        restore(other, f"s3://{BUCKET}/nightly")
    assert not other.home.exists()
