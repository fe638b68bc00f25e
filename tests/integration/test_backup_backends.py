"""Backup and restore on the production vector backends: Milvus Lite and pgvector.

The collection is exported and loaded through the ``VectorStore`` Protocol only, so each
backend round-trips the same way. The restore replaces the knowledge base in place
(``force``): the new knowledge base is built beside the old one (its vectors in the collection
the old one does not use, ``medical_knowledge_base_r``), switched in, and the old collection
dropped.
"""

from __future__ import annotations

from pathlib import Path

from medkb.app import KnowledgeBase, build
from medkb.backup.restore import restore
from medkb.backup.restore_staging import RESTORED_COLLECTION, open_collection
from medkb.backup.snapshot import backup
from medkb.stores.vector.base import COLLECTION
from medkb.sync.verify import vector_checksums
from tests.integration.test_backup import table_rows
from tests.integration.test_kb import CARDIO, OTHER
from tests.integration.test_kb_backends import backend_kb, pgvector_database

__all__ = ["backend_kb", "pgvector_database"]


def test_backup_then_restore_in_place_on_each_backend(
    backend_kb: KnowledgeBase, tmp_path: Path
) -> None:
    kb, settings = backend_kb, backend_kb.settings
    kb.add(CARDIO + OTHER)
    report = backup(settings, str(tmp_path / "backups"), store=kb.store)
    assert report.manifest.vectors["records"] == len(CARDIO + OTHER)
    rows, vectors = table_rows(kb.engine), vector_checksums(kb.store, tenant_id="default")
    kb.delete("htn-causes")
    kb.close()

    done = restore(settings, report.location, force=True)
    assert done.clean and done.vectors_loaded == len(CARDIO + OTHER)
    assert "vector store" in done.replaced.describe()
    with build(settings) as restored:
        after = table_rows(restored.engine)
        assert ("vector_collection", RESTORED_COLLECTION) in after["kb_info"]
        after["kb_info"].remove(("vector_collection", RESTORED_COLLECTION))
        assert after == rows
        assert vector_checksums(restored.store, tenant_id="default") == vectors
    old = open_collection(settings, COLLECTION, 256)  # the replaced collection was dropped
    try:
        assert old.count() == 0
    finally:
        old.close()
