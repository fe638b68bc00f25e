"""``medkb sync status|verify|repair`` as a user runs them: exit codes and JSON output."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from medkb.app import build
from medkb.cli.sync import DRIFT_EXIT_CODE
from medkb.config import Settings
from medkb.models import QAPair
from medkb.stores.relational.schema import relations
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
    assert "match their embeddings" in clean.stdout

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


def test_verify_exits_3_on_graph_drift_and_repair_fixes_it(
    tmp_path: Path, embed_cache: Path
) -> None:
    home = tmp_path / "home"
    done = medkb(home, embed_cache, "ingest", str(write_faq(tmp_path / "asthma.md")), "--json")
    assert done.returncode == 0, done.stderr
    settings = Settings(home=home, embedder="static", cache_dir=embed_cache)
    with build(settings.model_copy(update={"tenant": "clinic-b"})) as other:
        other.add([QAPair(id="b-only", question="Private?", response="Clinic B's answer.")])
    with build(settings) as kb:
        source = next(kb.store.ids())
        with kb.engine.begin() as conn:
            conn.execute(
                relations.insert().values(
                    tenant_id="default",
                    source_id=source,
                    target_id="b-only",
                    relation_type="related_to",
                    confidence_score=0.5,
                    origin="manual",
                    created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
            )
    drifted = medkb(home, embed_cache, "sync", "verify", "--json")
    assert drifted.returncode == DRIFT_EXIT_CODE, drifted.stderr
    report = json.loads(drifted.stdout)
    assert report["clean"] is True and report["graph"]["clean"] is False
    assert [row["target_id"] for row in report["graph"]["dangling"]] == ["b-only"]
    assert medkb(home, embed_cache, "sync", "verify", "--no-graph").returncode == 0
    text = medkb(home, embed_cache, "sync", "verify")
    assert text.returncode == DRIFT_EXIT_CODE and "dangling relation" in text.stdout

    repaired = medkb(home, embed_cache, "sync", "repair", "--json")
    assert repaired.returncode == 0, repaired.stderr
    graph = json.loads(repaired.stdout)["graph"]
    assert (graph["removed"], graph["after"]["clean"]) == (1, True)
    assert medkb(home, embed_cache, "sync", "verify").returncode == 0
