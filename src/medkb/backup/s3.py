"""A prefix in an S3-compatible bucket (AWS S3, MinIO, OBS), through boto3.

The endpoint comes from ``MEDKB_S3_ENDPOINT_URL`` (unset: AWS); credentials and region
from the usual AWS places (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` /
``AWS_DEFAULT_REGION``, ``~/.aws/credentials``, an instance role). Files go up and down
with boto3's managed transfers: multipart above 8 MiB, streamed from and to disk, so a
large database file is never held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from medkb.errors import ObjectStoreError, missing_dependency

T = TypeVar("T")
_MULTIPART = 8 * 1024 * 1024


def _client(endpoint_url: str | None) -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise missing_dependency("boto3", "s3", "An s3:// backup target") from exc
    return boto3.client("s3", endpoint_url=endpoint_url)


def _call(action: str, url: str, work: Callable[[], T]) -> T:
    """Run one S3 call; turn boto3's errors into :class:`ObjectStoreError`."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return work()
    except (BotoCoreError, ClientError) as exc:
        raise ObjectStoreError(
            f"S3 {action} at {url} failed: {exc}. Check the bucket name, "
            "MEDKB_S3_ENDPOINT_URL and the AWS credentials (AWS_ACCESS_KEY_ID / "
            "AWS_SECRET_ACCESS_KEY or ~/.aws/credentials)."
        ) from exc


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/prefix``, with the client that reaches it."""

    bucket: str
    prefix: str
    client: Any
    endpoint_url: str | None = None

    @classmethod
    def parse(cls, url: str, *, endpoint_url: str | None) -> S3Location:
        """Read ``s3://bucket[/prefix]``."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ObjectStoreError(f"{url!r} names no bucket; write s3://bucket/prefix.")
        return cls(bucket, prefix.strip("/"), _client(endpoint_url), endpoint_url)

    def url(self) -> str:
        """The ``s3://`` URL of this prefix."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def child(self, name: str) -> S3Location:
        """The prefix ``<prefix>/<name>``."""
        return S3Location(self.bucket, self._key(name), self.client, self.endpoint_url)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def upload(self, path: Path, name: str) -> None:
        """Upload a local file as ``<prefix>/<name>`` (multipart when large)."""
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(multipart_threshold=_MULTIPART, multipart_chunksize=_MULTIPART)
        key = self._key(name)
        _call(
            "upload",
            self.url(),
            lambda: self.client.upload_file(str(path), self.bucket, key, Config=config),
        )

    def download(self, name: str, path: Path) -> bool:
        """Download ``<prefix>/<name>`` to ``path``; False when there is no such object."""
        from botocore.exceptions import ClientError

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(self.bucket, self._key(name), str(path))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise ObjectStoreError(f"S3 download of {self._key(name)} failed: {exc}.") from exc
        return True

    def children(self) -> list[str]:
        """Names of the immediate sub-prefixes."""
        base = f"{self.prefix}/" if self.prefix else ""
        pages = self._pages(Prefix=base, Delimiter="/")
        return [
            entry["Prefix"][len(base) :].rstrip("/")
            for page in pages
            for entry in page.get("CommonPrefixes", [])
        ]

    def keys(self) -> Iterator[str]:
        """Names (relative to the prefix) of every object under it."""
        base = f"{self.prefix}/" if self.prefix else ""
        for page in self._pages(Prefix=base):
            for entry in page.get("Contents", []):
                yield entry["Key"][len(base) :]

    def _pages(self, **args: str) -> list[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        return _call(
            "listing", self.url(), lambda: list(paginator.paginate(Bucket=self.bucket, **args))
        )

    def delete(self, names: list[str]) -> None:
        """Delete ``<prefix>/<name>`` for each name, 1,000 per request."""
        for start in range(0, len(names), 1000):
            objects = [{"Key": self._key(name)} for name in names[start : start + 1000]]
            _call(
                "delete",
                self.url(),
                lambda objects=objects: self.client.delete_objects(  # type: ignore[misc]
                    Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
                ),
            )
