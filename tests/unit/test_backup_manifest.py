"""The backup manifest's checks and the foreign-key table order, without any store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from medkb.backup.manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    Manifest,
    backup_name,
    check_files,
    describe_files,
    is_backup_name,
    read_manifest,
    write_manifest,
)
from medkb.backup.tables import tables_in_fk_order
from medkb.errors import InvalidBackup


def manifest(**changes: Any) -> dict[str, Any]:
    data = Manifest(
        created_at="2026-11-23T06:00:00+00:00",
        medkb_version="0.1.0",
        schema_revision="0001",
        embedding_model="m",
        embedding_dimension=4,
        relational={"dialect": "sqlite", "kind": "sqlite-file", "tables": {}},
        tenants=["default"],
        vectors={"records": 0},
        objects={"files": 0, "bytes": 0},
    ).to_dict()
    return {**data, **changes}


def test_backup_names_sort_by_time_and_are_recognised() -> None:
    start = datetime(2026, 11, 23, 6, 0, 0, 5000, tzinfo=UTC)
    names = [backup_name(start + timedelta(milliseconds=ms)) for ms in (0, 1, 999, 1000, 60_000)]
    assert names == sorted(names) and len(set(names)) == len(names)
    assert all(is_backup_name(name) for name in names)
    assert not is_backup_name("medkb-backup-latest") and not is_backup_name(f".{names[0]}.partial")


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/../../b", "", MANIFEST])
def test_file_names_that_leave_the_backup_folder_are_refused(name: str) -> None:
    with pytest.raises(InvalidBackup, match="not a plain relative path"):
        Manifest.from_dict(manifest(files={name: {"sha256": "0", "size": 0}}))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"format": "other"}, "not a medkb backup manifest"),
        ({"format_version": FORMAT_VERSION + 1}, "format version"),
        ({"tenants": None, "embedding_model": None, "schema_revision": None}, None),
    ],
)
def test_foreign_or_newer_manifests_are_refused(
    tmp_path: Path, changes: dict[str, Any], words: str | None
) -> None:
    data = manifest(**changes)
    if words is None:
        del data["schema_revision"]
        words = "incomplete"
    (tmp_path / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(InvalidBackup, match=words):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(InvalidBackup, match="cannot be read as JSON"):
        read_manifest(tmp_path)


def test_checksums_catch_a_changed_byte_and_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "vectors").mkdir()
    (tmp_path / "vectors" / "a.f32").write_bytes(b"\x00" * 64)
    (tmp_path / "b.jsonl").write_text("{}\n")
    written = Manifest.from_dict(manifest(files=describe_files(tmp_path)))
    write_manifest(tmp_path, written)
    assert read_manifest(tmp_path) == written and written.format == FORMAT
    check_files(tmp_path, written)
    (tmp_path / "vectors" / "a.f32").write_bytes(b"\x00" * 63 + b"\x01")
    (tmp_path / "b.jsonl").unlink()
    with pytest.raises(InvalidBackup, match=r"2 file\(s\).*b.jsonl is missing.*SHA-256"):
        check_files(tmp_path, written)


def test_tables_come_after_the_tables_their_foreign_keys_point_to() -> None:
    order = [table.name for table in tables_in_fk_order()]
    assert order.index("tenants") < order.index("medical_qa_metadata")
    for position, table in enumerate(tables_in_fk_order()):
        for key in table.foreign_keys:
            assert order.index(key.column.table.name) < position, (table.name, key)
