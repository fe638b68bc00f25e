"""Several processes on one local vector store: each applies the others' commits
incrementally (from the sidecar's change log), never returns a deleted id or a stale
vector, and rebuilds its indexes only on open or when it fell behind the change log.

Below and above the HNSW threshold (a small ``exact_threshold`` keeps the HNSW case fast).
Two store instances on the same directory are two SQLite connections, which is what two
processes are to SQLite; one test runs the writer in a real subprocess.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from medkb.models import VECTOR_FIELDS, Embeddings, VectorRecord
from medkb.stores.vector.local import SIDECAR, LocalVectorStore

DIM = 16
#: Above this many records the indexes are HNSW; the seeds below hold 60 records.
SMALL_THRESHOLD = 20


def vectors_of(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((3, DIM)).astype(np.float32)
    return list(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def make(record_id: str, seed: int) -> VectorRecord:
    question, response, combined = vectors_of(seed)
    return VectorRecord(
        id=record_id,
        tenant_id="default",
        question=f"What is {record_id}?",
        response=f"{record_id} is a test record.",
        embeddings=Embeddings(
            question=question, response=response, combined=combined, model_id="test"
        ),
        metadata={"category": "General"},
        related_nodes=[],
    )


class Model:
    """What the sidecar should hold: id → seed of its current vectors."""

    def __init__(self) -> None:
        self.seeds: dict[str, int] = {}

    def expected(self, query: np.ndarray, field_index: int) -> dict[str, float]:
        return {
            rid: float(vectors_of(seed)[field_index] @ query) for rid, seed in self.seeds.items()
        }


def assert_reader_sees(
    reader: LocalVectorStore, model: Model, *, probes: list[np.ndarray] | None = None
) -> None:
    """Every live id with its current vectors' score; no deleted id; no stale vector; and
    ``k`` hits for a small ``k`` (a removed vid left in the index would take a slot)."""
    probes = (probes or []) + [vectors_of(seed)[0] for seed in list(model.seeds.values())[:3]]
    for field_index, field in enumerate(VECTOR_FIELDS):
        for query in probes:
            hits = reader.search(query, field=field, k=1000, tenant_id="default")
            expected = model.expected(query, field_index)
            assert sorted(h.id for h in hits) == sorted(expected)
            for hit in hits:
                assert hit.score == pytest.approx(expected[hit.id], abs=1e-4), hit.id
            top = reader.search(query, field=field, k=5, tenant_id="default")
            best = sorted(expected.values(), reverse=True)[:5]
            assert [h.score for h in top] == pytest.approx(best, abs=1e-4)


def open_store(directory: Path, threshold: int, **options: int) -> LocalVectorStore:
    return LocalVectorStore(directory, dimension=DIM, exact_threshold=threshold, **options)


@pytest.fixture(params=["flat", "hnsw"])
def threshold(request: pytest.FixtureRequest) -> int:
    return 20_000 if request.param == "flat" else SMALL_THRESHOLD


@pytest.fixture
def pair(tmp_path: Path, threshold: int) -> Iterator[tuple[LocalVectorStore, LocalVectorStore]]:
    writer = open_store(tmp_path / "vectors", threshold)
    writer.upsert([make(f"r{i:03d}", i) for i in range(60)])
    reader = open_store(tmp_path / "vectors", threshold)
    yield writer, reader
    reader.close()
    writer.close()


def test_counting_and_fetching_build_no_index_until_the_first_search(
    pair: tuple[LocalVectorStore, LocalVectorStore],
) -> None:
    """``medkb stats`` opened the store and built three FAISS indexes to print a count."""
    writer, reader = pair
    writer.upsert([make("new", 500)])
    assert reader.count() == 61 and [r.id for r in reader.fetch(["new"])] == ["new"]
    assert "new" in set(reader.ids())
    assert reader._indexes == {}  # nothing built yet
    hits = reader.search(vectors_of(500)[0], field="question", k=1, tenant_id="default")
    assert [hit.id for hit in hits] == ["new"]
    assert reader.stats()["full_rebuilds"] == 1


def test_a_commit_by_another_process_does_not_rebuild_the_readers_indexes(
    pair: tuple[LocalVectorStore, LocalVectorStore], threshold: int
) -> None:
    writer, reader = pair
    model = Model()
    model.seeds = {f"r{i:03d}": i for i in range(60)}
    reader.search(vectors_of(0)[0], field="question", k=5, tenant_id="default")
    opened = reader.stats()
    assert opened["full_rebuilds"] == 1

    writer.upsert([make("new", 500)])  # one new pair
    model.seeds["new"] = 500
    assert_reader_sees(reader, model)
    writer.upsert([make("r001", 501)])  # one replaced pair: its old vectors must go
    model.seeds["r001"] = 501
    assert_reader_sees(reader, model)
    writer.delete(["r002", "r003"])
    del model.seeds["r002"], model.seeds["r003"]
    assert_reader_sees(reader, model, probes=[vectors_of(2)[0], vectors_of(1)[1]])

    after = reader.stats()
    assert after["full_rebuilds"] == opened["full_rebuilds"]
    assert after["incremental_refreshes"] == opened["incremental_refreshes"] + 3
    assert after["records"] == len(model.seeds)
    # The replaced and deleted vids wait as tombstones until a compaction.
    assert after["tombstones"] == 3
    assert after["compactions"] == opened["compactions"]


def test_many_interleaved_writes_by_another_process_stay_exact(
    pair: tuple[LocalVectorStore, LocalVectorStore],
) -> None:
    writer, reader = pair
    model = Model()
    model.seeds = {f"r{i:03d}": i for i in range(60)}
    rng = np.random.default_rng(7)
    for step in range(40):
        ids = sorted(model.seeds)
        if step % 3 == 2 and len(ids) > 10:
            gone = [str(i) for i in rng.choice(ids, size=int(rng.integers(1, 6)), replace=False)]
            writer.delete(gone)
            for rid in gone:
                del model.seeds[rid]
        else:
            batch = {f"x{int(rng.integers(0, 30)):02d}": 1000 + step * 10 + n for n in range(3)}
            writer.upsert([make(rid, seed) for rid, seed in batch.items()])
            model.seeds.update(batch)
        if step % 4 == 0:
            assert_reader_sees(reader, model)
    assert_reader_sees(reader, model)
    assert reader.stats()["full_rebuilds"] == 1


def test_a_reader_further_behind_than_the_change_log_rebuilds_and_is_exact(
    tmp_path: Path, threshold: int
) -> None:
    writer = open_store(tmp_path / "vectors", threshold, change_log_keep=2)
    writer.upsert([make(f"r{i:03d}", i) for i in range(30)])
    reader = open_store(tmp_path / "vectors", threshold)
    try:
        reader.search(vectors_of(0)[0], field="question", k=1, tenant_id="default")  # built
        writer.delete(["r000", "r001", "r002", "r003"])  # 4 removals; the log keeps 2
        model = Model()
        model.seeds = {f"r{i:03d}": i for i in range(4, 30)}
        assert_reader_sees(reader, model)
        assert reader.stats()["full_rebuilds"] == 2
    finally:
        reader.close()
        writer.close()


def test_a_write_by_an_older_medkb_without_the_change_log_makes_readers_rebuild(
    pair: tuple[LocalVectorStore, LocalVectorStore],
) -> None:
    writer, reader = pair
    reader.search(vectors_of(0)[0], field="question", k=1, tenant_id="default")
    # What a medkb before the change log did: delete and bump the generation, nothing more.
    with closing(sqlite3.connect(writer.directory / SIDECAR)) as db, db:
        db.execute("DELETE FROM records WHERE id = 'r005'")
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    writer.upsert([make("r006", 606)])  # and then a write that keeps the log
    model = Model()
    model.seeds = {f"r{i:03d}": i for i in range(60) if i != 5}
    model.seeds["r006"] = 606
    assert_reader_sees(reader, model, probes=[vectors_of(5)[i] for i in range(3)])
    assert reader.stats()["full_rebuilds"] == 2


WRITER = """
import json, sys
from pathlib import Path
import numpy as np
from medkb.models import Embeddings, VectorRecord
from medkb.stores.vector.local import SIDECAR, LocalVectorStore

dim, threshold = int(sys.argv[2]), int(sys.argv[3])
store = LocalVectorStore(Path(sys.argv[1]), dimension=dim, exact_threshold=threshold)
for line in sys.stdin:
    command = json.loads(line)
    if command["op"] == "delete":
        store.delete(command["ids"])
    else:
        records = []
        for rid, seed in command["records"].items():
            rows = np.random.default_rng(seed).standard_normal((3, dim)).astype(np.float32)
            q, r, c = rows / np.linalg.norm(rows, axis=1, keepdims=True)
            records.append(VectorRecord(
                id=rid, tenant_id="default", question="q", response="r",
                embeddings=Embeddings(question=q, response=r, combined=c, model_id="test"),
                metadata={"category": "General"}, related_nodes=[],
            ))
        store.upsert(records)
    print("done", flush=True)
store.close()
"""


def test_a_writer_subprocess_commits_reach_the_reader_without_a_rebuild(
    tmp_path: Path, threshold: int
) -> None:
    directory = tmp_path / "vectors"
    reader = open_store(directory, threshold)
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), str(DIM), str(threshold)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    model = Model()

    def send(command: dict[str, object]) -> None:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps(command) + "\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done"

    try:
        assert reader.search(vectors_of(0)[0], field="question", k=1, tenant_id="default") == []
        send({"op": "upsert", "records": {f"r{i:03d}": i for i in range(60)}})
        model.seeds = {f"r{i:03d}": i for i in range(60)}
        assert_reader_sees(reader, model)
        send({"op": "upsert", "records": {"r010": 610, "new": 611}})
        model.seeds.update({"r010": 610, "new": 611})
        assert_reader_sees(reader, model)
        send({"op": "delete", "ids": ["r011", "new"]})
        del model.seeds["r011"], model.seeds["new"]
        assert_reader_sees(reader, model)
        stats = reader.stats()
    finally:
        child.communicate(timeout=60)  # closes its stdin: the writer closes and exits
        reader.close()
    assert child.returncode == 0
    # The reader built its (empty) indexes once, on its first search, and applied every
    # commit since.
    assert stats["full_rebuilds"] == 1
    assert stats["incremental_refreshes"] == 3
    assert stats["records"] == 59
