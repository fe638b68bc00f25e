"""Linking from the in-memory index (``graph.index``) gives the links the table scan gives.

The same script of writes — several batches, a reopened knowledge base, a second writer
(another process's view) adding, updating and deleting pairs, one with an older clock,
and a second tenant — runs once with the writers' index and once with
``link_index=False`` (each batch scans the stored vectors, the reference); both
databases must end with exactly the same relations, every pair must be linked to its
``k`` nearest pairs by brute force, and no relation may cross tenants.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.models import QAMetadata, QAPair
from medkb.stores.relational.schema import embeddings, kb_info, qa, relations
from medkb.stores.vector.registry import COLLECTION_KEY
from tests.conftest import TEST_DATA
from tests.services import fresh_postgres_database

K, THRESHOLD = 3, 0.3


def corpus(tenant: str) -> list[QAPair]:
    lines = (TEST_DATA / "bioasq" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    return [
        QAPair(
            id=f"{tenant}-{i:02d}",
            tenant_id=tenant,
            question=row["question"] or row["answer"][:80],
            response=row["answer"],
            metadata=QAMetadata(category="bioasq"),
        )
        for i, row in enumerate(rows)
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of one backend: one for the index run, one for the reference."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.db'}", f"sqlite:///{tmp_path / 'scan.db'}"
        return
    first = fresh_postgres_database()
    second = fresh_postgres_database()
    yield next(first), next(second)
    for gen in (first, second):
        gen.close()


def run_script(settings: Settings, *, use_index: bool) -> None:
    """The writes, in order; ``use_index=False`` makes every writer scan the table."""
    ours, theirs = corpus("clinic-a"), corpus("clinic-b")
    settings.graph.similar_k, settings.graph.similar_threshold = K, THRESHOLD
    other_tenant = settings.model_copy(update={"tenant": "clinic-b"})

    def opened(config: Settings) -> KnowledgeBase:
        kb = build(config)
        if not use_index:
            kb.writer.index = None
        return kb

    with opened(settings) as kb, opened(other_tenant) as b:
        kb.add(ours[0:10])
        b.add(theirs[0:25])  # the same texts in another tenant: never a link target
        kb.add(ours[10:20])
    with opened(settings) as kb, opened(settings) as other, opened(other_tenant) as b:
        kb.add(ours[20:30])  # reopened: links to pairs written by the first run
        other.add(ours[30:38])  # another writer, unseen by kb's index so far
        other.update("clinic-a-03", response=ours[31].response)
        other.delete("clinic-a-05")
        kb.add(ours[38:44])
        past = datetime.now(UTC) - timedelta(hours=1)
        other.writer.clock = lambda: past  # stamped long before kb's newest write
        other.add(ours[44:47])
        b.add(theirs[25:50])
        kb.add(ours[47:50])
        kb.update("clinic-a-12", question=ours[40].question)
        kb.delete("clinic-a-20")
        kb.add([ours[5]])  # re-created after another writer deleted it


def link_rows(url: str) -> set[tuple[str, str, str, str, float]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                relations.c.tenant_id,
                relations.c.source_id,
                relations.c.target_id,
                relations.c.relation_type,
                relations.c.confidence_score,
            )
        ).all()
    engine.dispose()
    return {tuple(row) for row in rows}  # type: ignore[misc]


def nearest_by_brute_force(url: str, tenant: str) -> dict[str, set[str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(embeddings.c.qa_id, embeddings.c.vector)
            .join(qa, qa.c.id == embeddings.c.qa_id)
            .where(qa.c.tenant_id == tenant, embeddings.c.field == "combined")
            .order_by(embeddings.c.qa_id)
        ).all()
    engine.dispose()
    ids = [row.qa_id for row in rows]
    matrix = np.stack([np.frombuffer(row.vector, dtype=np.float32) for row in rows])
    scores = matrix @ matrix.T
    np.fill_diagonal(scores, -np.inf)
    nearest = {}
    for row, qa_id in enumerate(ids):
        best = np.argsort(-scores[row])[:K]
        nearest[qa_id] = {ids[col] for col in best if scores[row, col] >= THRESHOLD}
    return nearest


def test_index_links_equal_the_table_scan_across_batches_reopens_writers_and_tenants(
    two_urls: tuple[str, str], settings: Settings, tmp_path: Path
) -> None:
    with_index, scan = two_urls
    make: Callable[[str, str], Settings] = lambda url, name: settings.model_copy(  # noqa: E731
        update={"database_url": url, "home": tmp_path / name, "tenant": "clinic-a"}, deep=True
    )
    run_script(make(with_index, "index"), use_index=True)
    run_script(make(scan, "scan"), use_index=False)

    found, expected = link_rows(with_index), link_rows(scan)
    assert {r for r in expected if r[3] == "similar_to"}, "the script made no similarity links"
    assert found == expected, (sorted(found - expected)[:5], sorted(expected - found)[:5])

    similar = [r for r in found if r[3] == "similar_to"]
    for tenant, source, target, _, _ in similar:
        assert source.startswith(tenant) and target.startswith(tenant), (source, target)
    for tenant in ("clinic-a", "clinic-b"):
        linked: dict[str, set[str]] = {}
        for row_tenant, source, target, _, _ in similar:
            if row_tenant == tenant:
                linked.setdefault(source, set()).add(target)
        for qa_id, nearest in nearest_by_brute_force(with_index, tenant).items():
            assert nearest <= linked.get(qa_id, set()), (qa_id, nearest - linked.get(qa_id, set()))


def test_index_reads_again_a_pair_another_writer_updated(settings: Settings) -> None:
    """Same count, same id, new vector: its content hash tells the index to read it again."""
    settings.tenant = "clinic-a"
    settings.graph.similar_k, settings.graph.similar_threshold = K, THRESHOLD
    ours = corpus("clinic-a")
    with build(settings) as kb, build(settings) as other:
        kb.add(ours[0:20])
        assert kb.writer.index is not None and len(kb.writer.index) == 20
        other.update("clinic-a-07", question=ours[30].question, response=ours[30].response)
        kb.add(ours[20:21])
        held = dict(
            (qa_id, vec.copy())
            for ids, matrix in kb.writer.index.chunks()
            for qa_id, vec in zip(ids, matrix, strict=True)
        )
        with kb.engine.connect() as conn:
            stored = conn.execute(
                sa.select(embeddings.c.vector).where(
                    embeddings.c.qa_id == "clinic-a-07", embeddings.c.field == "combined"
                )
            ).scalar_one()
        assert np.array_equal(held["clinic-a-07"], np.frombuffer(stored, dtype=np.float32))
        assert len(held) == 21


def test_index_loads_again_after_a_reembed_switch_replaced_the_vectors(settings: Settings) -> None:
    """A switch rewrites every vector and hash but no stamp: the collection name tells."""
    settings.tenant = "clinic-a"
    ours = corpus("clinic-a")
    with build(settings) as kb:
        kb.add(ours[0:10])
        swapped = np.frombuffer(held_vector(kb, "clinic-a-09"), dtype=np.float32)
        with kb.engine.begin() as conn:  # what the switch does to one pair, stamps untouched
            conn.execute(
                embeddings.update()
                .where(embeddings.c.qa_id == "clinic-a-00", embeddings.c.field == "combined")
                .values(vector=swapped.tobytes())
            )
            conn.execute(kb_info.insert().values(key=COLLECTION_KEY, value="medical_kb_v2"))
        kb.add(ours[10:11])
        assert kb.writer.index is not None
        held = {i: v for ids, m in kb.writer.index.chunks() for i, v in zip(ids, m, strict=True)}
        assert np.array_equal(held["clinic-a-00"], swapped)


def held_vector(kb: KnowledgeBase, qa_id: str) -> bytes:
    with kb.engine.connect() as conn:
        return conn.execute(
            sa.select(embeddings.c.vector).where(
                embeddings.c.qa_id == qa_id, embeddings.c.field == "combined"
            )
        ).scalar_one()
