"""``medkb backup`` and ``medkb restore`` as a user runs them: output, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from medkb.errors import InputError
from tests.e2e.test_cli import medkb, write_faq


def test_backup_wipe_restore_verify(tmp_path: Path, embed_cache: Path) -> None:
    home, backups = tmp_path / "home", tmp_path / "backups"
    done = medkb(home, embed_cache, "ingest", str(write_faq(tmp_path / "asthma.md")), "--json")
    assert done.returncode == 0, done.stderr
    pairs = json.loads(done.stdout)["created"]

    made = medkb(home, embed_cache, "backup", "--output", str(backups), "--json")
    assert made.returncode == 0, made.stderr
    report = json.loads(made.stdout)
    assert report["manifest"]["relational"]["tables"]["medical_qa_metadata"] == pairs
    text = medkb(home, embed_cache, "backup", "-o", str(backups), "--keep", "1")
    assert text.returncode == 0 and f"Backed up {pairs} pair(s)" in text.stdout, text.stderr
    assert f"Removed the older backup {report['name']}" in text.stdout
    [kept] = [p for p in backups.iterdir()]

    refused = medkb(home, embed_cache, "restore", str(kept))
    assert refused.returncode == InputError.exit_code and "--force" in refused.stderr

    restored_home = tmp_path / "restored"
    restored = medkb(restored_home, embed_cache, "restore", str(kept), "--json")
    assert restored.returncode == 0, restored.stderr
    result = json.loads(restored.stdout)
    assert result["clean"] is True and result["vector_method"] == "load"
    assert result["vectors_loaded"] == pairs
    verified = medkb(restored_home, embed_cache, "sync", "verify")
    assert verified.returncode == 0 and "No drift" in verified.stdout

    (kept / "manifest.json").unlink()
    partial = medkb(tmp_path / "third", embed_cache, "restore", str(kept))
    assert partial.returncode == InputError.exit_code
    assert "partial" in partial.stderr and not (tmp_path / "third").exists()
