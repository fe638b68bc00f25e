"""``medkb sync status|verify|repair`` as a user runs them: exit codes and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

from medkb.app import build
from medkb.cli.sync import DRIFT_EXIT_CODE
from medkb.config import Settings
from tests.e2e.test_cli import medkb, write_faq


def test_status_verify_and_repair(tmp_path: Path, embed_cache: Path) -> None:
    home = tmp_path / "home"
    done = medkb(home, embed_cache, "ingest", str(write_faq(tmp_path / "asthma.md")), "--json")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)["created"]

    shown = medkb(home, embed_cache, "sync", "status", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {
        "tenant_id": "default",
        "pending": 0,
        "failed": 0,
        "synced": created,
        "outbox_rows": 0,
        "oldest_pending_age_s": None,
        "failed_ids": [],
    }
    clean = medkb(home, embed_cache, "sync", "verify")
    assert clean.returncode == 0 and "No drift" in clean.stdout, clean.stdout + clean.stderr

    with build(Settings(home=home, embedder="static", cache_dir=embed_cache)) as kb:
        lost = next(kb.store.ids())
        kb.store.delete([lost])
    drifted = medkb(home, embed_cache, "sync", "verify", "--json")
    assert drifted.returncode == DRIFT_EXIT_CODE, drifted.stderr
    report = json.loads(drifted.stdout)
    assert (report["missing"], report["extra"], report["stale"]) == ([lost], [], [])
    assert report["drift"] == 1 and report["clean"] is False
    text = medkb(home, embed_cache, "sync", "verify")
    assert text.returncode == DRIFT_EXIT_CODE and "medkb sync repair" in text.stdout

    repaired = medkb(home, embed_cache, "sync", "repair", "--json")
    assert repaired.returncode == 0, repaired.stderr
    result = json.loads(repaired.stdout)
    assert result["before"]["missing"] == [lost] and result["after"]["clean"] is True
    rebuilt = medkb(home, embed_cache, "sync", "repair", "--rebuild")
    assert rebuilt.returncode == 0 and "Rebuilt" in rebuilt.stdout, rebuilt.stderr
    assert medkb(home, embed_cache, "sync", "verify").returncode == 0
