"""The VectorStore contract, run on every backend (see conftest.py for the list).

Small random unit vectors with fixed seeds keep it fast; expected results come from numpy.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medkb.errors import InputError, VectorStoreError
from medkb.models import VECTOR_FIELDS, Embeddings, VectorField, VectorRecord
from medkb.stores.vector.base import VectorStore
from tests.contract.vector_backends import Backend
from tests.fixtures_servers import free_port, running_milvus_server, running_postgres


def unit(rng: np.random.Generator, count: int, dimension: int) -> np.ndarray:
    vectors = rng.standard_normal((count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def record(
    record_id: str,
    vectors: Sequence[np.ndarray],
    *,
    tenant_id: str = "default",
    metadata: dict[str, str] | None = None,
    question: str | None = None,
    related_nodes: list[str] | None = None,
) -> VectorRecord:
    return VectorRecord(
        id=record_id,
        tenant_id=tenant_id,
        question=question or f"What is {record_id}?",
        response=f"{record_id} is a test record.",
        embeddings=Embeddings(
            question=vectors[0], response=vectors[1], combined=vectors[2], model_id="test-model"
        ),
        metadata=metadata if metadata is not None else {"category": "General", "language": "en"},
        related_nodes=related_nodes or [],
    )


def random_records(
    count: int, dimension: int, *, seed: int = 0, prefix: str = "r", **options: object
) -> list[VectorRecord]:
    rng = np.random.default_rng(seed)
    fields = [unit(rng, count, dimension) for _ in VECTOR_FIELDS]
    return [
        record(f"{prefix}{i:03d}", [f[i] for f in fields], **options)  # type: ignore[arg-type]
        for i in range(count)
    ]


def brute_force(
    records: Sequence[VectorRecord], query: np.ndarray, field: VectorField, k: int
) -> list[tuple[str, float]]:
    matrix = np.stack([r.embeddings.get(field) for r in records])
    matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    scores = matrix @ (query / np.linalg.norm(query))
    order = np.argsort(-scores)[:k]
    return [(records[i].id, float(scores[i])) for i in order]


# ---- writes and reads --------------------------------------------------------------------


def test_upsert_then_fetch_round_trips_every_field(store: VectorStore) -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 3, store.dimension)
    original = record(
        "qa-1",
        vectors,
        tenant_id="clinic-a",
        metadata={
            "category": "Cardiology",
            "source": "CDC",
            "source_type": "guideline",
            "language": "en",
            "created_at": "2024-05-01T10:00:00+00:00",
        },
        question="Qu'est-ce que l'hypertension ? « tension » — 高血压",
        related_nodes=["qa-2", "qa-3"],
    )
    store.upsert([original])

    [fetched] = store.fetch(["qa-1"])

    assert fetched.id == original.id
    assert fetched.tenant_id == "clinic-a"
    assert fetched.question == original.question
    assert fetched.response == original.response
    assert fetched.metadata == original.metadata
    assert fetched.related_nodes == ["qa-2", "qa-3"]
    assert fetched.embeddings.model_id == "test-model"
    for name in VECTOR_FIELDS:
        np.testing.assert_allclose(
            fetched.embeddings.get(name), original.embeddings.get(name), atol=1e-6
        )


def test_fields_at_the_spec_limits_round_trip(store: VectorStore) -> None:
    # Multi-byte characters: Milvus counts VARCHAR limits in bytes, not characters.
    question, response = "心" * 5_000, "é" * 10_000
    rng = np.random.default_rng(2)
    store.upsert([record("long", unit(rng, 3, store.dimension), question=question)])
    long_response = store.fetch(["long"])[0]
    long_response.response = response
    store.upsert([long_response])

    [fetched] = store.fetch(["long"])

    assert (fetched.question, fetched.response) == (question, response)


def test_fetch_skips_missing_ids_and_keeps_the_asked_order(store: VectorStore) -> None:
    store.upsert(random_records(5, store.dimension))

    fetched = store.fetch(["r003", "missing", "r001", "r003"])

    assert [r.id for r in fetched] == ["r003", "r001"]
    assert store.fetch([]) == []


def test_upsert_of_an_existing_id_replaces_it(store: VectorStore) -> None:
    records = random_records(5, store.dimension)
    store.upsert(records)
    replacement = random_records(1, store.dimension, seed=99)[0]
    replacement.id, replacement.question = "r002", "Replaced?"

    store.upsert([replacement])

    assert store.count() == 5
    assert sorted(store.ids()) == [r.id for r in records]
    assert store.fetch(["r002"])[0].question == "Replaced?"
    hits = store.search(replacement.embeddings.question, field="question", k=5, tenant_id="default")
    assert [h.id for h in hits].count("r002") == 1
    assert hits[0].id == "r002"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_a_batch_repeating_an_id_keeps_the_last(store: VectorStore) -> None:
    first, second = random_records(2, store.dimension)
    second.id, second.question = first.id, "The later one"

    store.upsert([first, second])

    assert store.count() == 1
    assert store.fetch([first.id])[0].question == "The later one"


def test_delete_removes_records_and_ignores_unknown_ids(store: VectorStore) -> None:
    records = random_records(6, store.dimension)
    store.upsert(records)

    store.delete(["r001", "r004", "never-stored"])
    store.delete([])

    assert sorted(store.ids()) == ["r000", "r002", "r003", "r005"]
    assert store.count() == 4
    assert store.fetch(["r001"]) == []
    hits = store.search(records[1].embeddings.combined, field="combined", k=6, tenant_id="default")
    assert {h.id for h in hits} == {"r000", "r002", "r003", "r005"}


def test_ids_and_count_per_tenant(store: VectorStore) -> None:
    store.upsert(random_records(3, store.dimension, prefix="a", tenant_id="alpha"))
    store.upsert(random_records(2, store.dimension, prefix="b", tenant_id="beta", seed=5))

    assert store.count() == 5
    assert store.count("alpha") == 3
    assert store.count("nobody") == 0
    assert sorted(store.ids("beta")) == ["b000", "b001"]
    assert sorted(store.ids()) == ["a000", "a001", "a002", "b000", "b001"]


# ---- search ------------------------------------------------------------------------------


@pytest.mark.parametrize("field", VECTOR_FIELDS)
def test_search_returns_the_exact_nearest_with_cosine_scores(
    store: VectorStore, field: VectorField
) -> None:
    records = random_records(60, store.dimension, seed=3)
    store.upsert(records)
    rng = np.random.default_rng(4)
    for query in unit(rng, 3, store.dimension):
        expected = brute_force(records, query, field, 5)

        hits = store.search(query, field=field, k=5, tenant_id="default")

        assert [h.id for h in hits] == [record_id for record_id, _ in expected]
        assert [h.score for h in hits] == pytest.approx([s for _, s in expected], abs=1e-4)


def test_search_scores_do_not_depend_on_the_query_length(store: VectorStore) -> None:
    records = random_records(10, store.dimension)
    store.upsert(records)
    query = records[4].embeddings.response

    hits = store.search(query * 7.5, field="response", k=1, tenant_id="default")

    assert hits[0].id == "r004"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_search_on_an_empty_store_or_with_k_zero_returns_nothing(store: VectorStore) -> None:
    query = np.ones(store.dimension, dtype=np.float32)
    assert store.search(query, field="question", k=5, tenant_id="default") == []
    store.upsert(random_records(3, store.dimension))
    assert store.search(query, field="question", k=0, tenant_id="default") == []


def test_k_larger_than_the_store_returns_every_record(store: VectorStore) -> None:
    store.upsert(random_records(4, store.dimension))

    hits = store.search(
        np.ones(store.dimension, np.float32), field="question", k=50, tenant_id="default"
    )

    assert sorted(h.id for h in hits) == ["r000", "r001", "r002", "r003"]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_tenants_never_see_each_other(store: VectorStore) -> None:
    alpha = random_records(20, store.dimension, prefix="a", tenant_id="alpha")
    beta = random_records(20, store.dimension, prefix="b", tenant_id="beta", seed=7)
    store.upsert(alpha + beta)

    for query in (alpha[0].embeddings.question, beta[0].embeddings.question):
        hits = store.search(query, field="question", k=40, tenant_id="alpha")
        assert {h.id for h in hits} == {r.id for r in alpha}
    assert (
        store.search(alpha[0].embeddings.question, field="question", k=5, tenant_id="gamma") == []
    )


def test_a_filter_returns_k_hits_even_when_they_are_the_farthest(store: VectorStore) -> None:
    rng = np.random.default_rng(11)
    query = unit(rng, 1, store.dimension)[0]
    near = [
        record(
            f"near{i:03d}",
            unit(rng, 3, store.dimension) * 0.2 + query,
            metadata={"category": "Common"},
        )
        for i in range(190)
    ]
    far = [
        record(
            f"far{i:03d}",
            unit(rng, 3, store.dimension) * 0.2 - query,
            metadata={"category": "Rare"},
        )
        for i in range(10)
    ]
    store.upsert(near + far)

    hits = store.search(
        query, field="question", k=10, tenant_id="default", filters={"category": ["Rare"]}
    )

    assert sorted(h.id for h in hits) == sorted(r.id for r in far)
    assert [h.id for h in hits] == [i for i, _ in brute_force(far, query, "question", 10)]


def test_filter_values_are_ored_and_keys_anded(store: VectorStore) -> None:
    rng = np.random.default_rng(12)
    combos = [
        ("Cardiology", "CDC"),
        ("Cardiology", "NIH"),
        ("Oncology", "CDC"),
        ("Oncology", "WHO"),
        ("Neurology", "CDC"),
    ]
    records = [
        record(
            f"{category}-{source}",
            unit(rng, 3, store.dimension),
            metadata={"category": category, "source": source, "language": "en"},
        )
        for category, source in combos
    ]
    store.upsert(records)
    query = unit(rng, 1, store.dimension)[0]

    def found(filters: dict[str, list[str]]) -> set[str]:
        hits = store.search(query, field="combined", k=10, tenant_id="default", filters=filters)
        return {h.id for h in hits}

    assert found({"category": ["Cardiology", "Oncology"]}) == {
        "Cardiology-CDC",
        "Cardiology-NIH",
        "Oncology-CDC",
        "Oncology-WHO",
    }
    assert found({"category": ["Cardiology", "Oncology"], "source": ["CDC"]}) == {
        "Cardiology-CDC",
        "Oncology-CDC",
    }
    assert found({"source": ["CDC"], "language": ["en"]}) == {
        "Cardiology-CDC",
        "Oncology-CDC",
        "Neurology-CDC",
    }
    assert found({"language": ["fr"]}) == set()
    assert found({"source": []}) == {r.id for r in records}  # no values: no constraint


def test_filter_values_with_quotes_and_backslashes(store: VectorStore) -> None:
    awkward = 'Women\'s "health" \\ care'
    records = random_records(3, store.dimension, metadata={"category": awkward})
    store.upsert(records + random_records(3, store.dimension, prefix="o", seed=8))

    hits = store.search(
        records[0].embeddings.question,
        field="question",
        k=10,
        tenant_id="default",
        filters={"category": [awkward]},
    )

    assert sorted(h.id for h in hits) == ["r000", "r001", "r002"]


def test_an_unknown_filter_key_is_an_input_error(store: VectorStore) -> None:
    store.upsert(random_records(2, store.dimension))
    with pytest.raises(InputError, match="category"):
        store.search(
            np.ones(store.dimension, np.float32),
            field="question",
            k=2,
            tenant_id="default",
            filters={"author": ["Osler"]},
        )


def test_search_after_deletes_and_rewrites_never_returns_stale_vectors(
    store: VectorStore,
) -> None:
    records = random_records(40, store.dimension, seed=21)
    store.upsert(records)
    store.delete([r.id for r in records[:30]])  # most of the index: HNSW must compact
    store.delete([records[30].id])  # one more: a tombstone the next search must skip
    survivors = records[31:]
    rewritten = random_records(1, store.dimension, seed=22)[0]
    rewritten.id = survivors[0].id
    store.upsert([rewritten])
    old_vectors = survivors[0]
    survivors[0] = rewritten

    for field in VECTOR_FIELDS:
        for stale in [*records[:3], records[30], old_vectors]:
            query = stale.embeddings.get(field)
            expected = brute_force(survivors, query, field, 5)
            hits = store.search(query, field=field, k=5, tenant_id="default")
            assert [h.id for h in hits] == [i for i, _ in expected]
            assert [h.score for h in hits] == pytest.approx([s for _, s in expected], abs=1e-4)


def test_concurrent_searches_from_threads(store: VectorStore) -> None:
    records = random_records(30, store.dimension)
    store.upsert(records)
    failures: list[BaseException] = []

    def search_many(offset: int) -> None:
        try:
            for r in records[offset::4]:
                hits = store.search(
                    r.embeddings.question, field="question", k=1, tenant_id="default"
                )
                assert hits[0].id == r.id
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=search_many, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# ---- dimensions and persistence ----------------------------------------------------------


def test_a_vector_of_the_wrong_dimension_is_refused(store: VectorStore) -> None:
    wrong = random_records(1, store.dimension + 8)
    with pytest.raises(VectorStoreError, match="dimension"):
        store.upsert(wrong)
    with pytest.raises(VectorStoreError, match="dimension"):
        store.search(
            np.ones(store.dimension + 8, np.float32), field="question", k=1, tenant_id="default"
        )
    assert store.count() == 0


def test_reopening_keeps_every_record(backend: Backend) -> None:
    first = backend.open()
    records = random_records(25, first.dimension, seed=31)
    first.upsert(records)
    first.delete(["r007"])
    first.close()

    again = backend.open()

    assert again.count() == 24
    assert again.fetch(["r003"])[0].question == records[3].question
    hits = again.search(records[5].embeddings.response, field="response", k=1, tenant_id="default")
    assert hits[0].id == "r005"


def test_reopening_with_another_dimension_is_refused(backend: Backend) -> None:
    first = backend.open()
    first.upsert(random_records(2, first.dimension))
    first.close()

    with pytest.raises(VectorStoreError, match=r"16.*32|32.*16"):
        backend.open(dimension=32)


def test_ids_with_quotes_and_backslashes(store: VectorStore) -> None:
    awkward = ["it's", 'say "hi"', "back\\slash", "new\nline"]
    rng = np.random.default_rng(41)
    store.upsert([record(i, unit(rng, 3, store.dimension)) for i in awkward])

    assert sorted(store.ids()) == sorted(awkward)
    assert [r.id for r in store.fetch(awkward)] == awkward
    store.delete(awkward[:2])
    assert sorted(store.ids()) == sorted(awkward[2:])


# ---- backend specifics: HNSW in PostgreSQL, missing extension, unreachable servers ------------


@pytest.mark.pgvector
@pytest.mark.parametrize(
    "options",
    ["-c enable_sort=off", "-c enable_sort=off -c hnsw.max_scan_tuples=50"],
    ids=["iterative-scan", "exact-fallback"],
)
def test_pgvector_filters_through_the_hnsw_index_still_return_k(
    pgvector_url: str, options: str
) -> None:
    # enable_sort=off makes PostgreSQL walk the HNSW index even for a tiny table; a plain
    # walk returns no "Rare" row at all. max_scan_tuples=50 also cuts the iterative scan
    # short, so only the exact fallback can find them.
    from medkb.stores.vector.pgvector import PgVectorStore

    url = f"{pgvector_url}?options={quote(options)}"
    store = PgVectorStore(url, dimension=16, table=f"kb_forced_{abs(hash(options)) % 10**6}")
    try:
        rng = np.random.default_rng(51)
        query = unit(rng, 1, 16)[0]
        common = [
            record(f"c{i:04d}", unit(rng, 3, 16) * 0.2 + query, metadata={"category": "Common"})
            for i in range(400)
        ]
        rare = [
            record(f"r{i:02d}", unit(rng, 3, 16) * 0.2 - query, metadata={"category": "Rare"})
            for i in range(10)
        ]
        store.upsert(common + rare)

        hits = store.search(
            query, field="question", k=10, tenant_id="default", filters={"category": ["Rare"]}
        )

        assert [h.id for h in hits] == [i for i, _ in brute_force(rare, query, "question", 10)]
    finally:
        store.close()


@pytest.mark.postgres
def test_a_postgresql_without_pgvector_says_what_to_do() -> None:
    from medkb.stores.vector.pgvector import PgVectorStore

    url = os.environ.get("MEDKB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3) as conn:
            available = "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
            if conn.execute(available).fetchone():
                pytest.skip("this PostgreSQL has pgvector, so the error cannot be shown")
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL service at {url}: {exc}")

    with pytest.raises(VectorStoreError, match=r"no pgvector.*MEDKB_VECTOR_URL=local"):
        PgVectorStore(url, dimension=16)


@pytest.mark.pgvector
def test_an_unreachable_postgresql_is_a_vector_store_error() -> None:
    from medkb.stores.vector.pgvector import PgVectorStore

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(VectorStoreError, match=r"not reachable.*running") as caught:
        PgVectorStore(url, dimension=16, connect_timeout=2)
    assert "127.0.0.1" in str(caught.value)


@pytest.mark.pgvector
def test_a_postgresql_that_stops_is_a_vector_store_error(tmp_path: Path) -> None:
    from medkb.stores.vector.pgvector import PgVectorStore

    with running_postgres() as url:
        store = PgVectorStore(url, dimension=16)
        store.upsert(random_records(2, 16))
    try:
        with pytest.raises(VectorStoreError, match="not reachable"):
            store.count()
    finally:
        store.close()


@pytest.mark.milvus
def test_an_unreachable_milvus_server_is_a_vector_store_error() -> None:
    from medkb.stores.vector.milvus import MilvusVectorStore

    uri = f"milvus://127.0.0.1:{free_port()}"
    with pytest.raises(VectorStoreError, match="Milvus server is running") as caught:
        MilvusVectorStore(uri, dimension=16, timeout=3)
    assert "http://127.0.0.1:" in str(caught.value)


@pytest.mark.milvus
def test_a_milvus_server_that_stops_is_a_vector_store_error(tmp_path: Path) -> None:
    from medkb.stores.vector.milvus import MilvusVectorStore

    with running_milvus_server(tmp_path / "milvus") as uri:
        store = MilvusVectorStore(uri, dimension=16, timeout=2)
        store.upsert(random_records(2, 16))
        assert store.count() == 2
    try:
        with pytest.raises(VectorStoreError, match="Milvus server is running"):
            store.search(np.ones(16, np.float32), field="question", k=1, tenant_id="default")
    finally:
        store.close()


# ---- properties, on the local backend (fast enough for many examples) -----------------------

_values = st.sampled_from(["Cardiology", "Oncology", 'it\'s "x"', "ß-Ärzte", ""])
_metadata = st.fixed_dictionaries(
    {}, optional={"category": _values, "source": _values, "language": st.sampled_from(["en", "fr"])}
)
_filters = st.dictionaries(
    st.sampled_from(["category", "source", "language"]),
    st.lists(st.sampled_from(["Cardiology", "Oncology", 'it\'s "x"', "ß-Ärzte", "en", "fr"])),
    max_size=3,
)


@settings(max_examples=25, deadline=None)
@given(
    metadata=st.lists(_metadata, min_size=1, max_size=25),
    filters=_filters,
    threshold=st.sampled_from([0, 20_000]),
)
def test_filtered_search_matches_keys_and_values_or(
    metadata: list[dict[str, str]], filters: dict[str, list[str]], threshold: int
) -> None:
    from medkb.stores.vector.local import LocalVectorStore

    rng = np.random.default_rng(len(metadata))
    records = [
        record(f"p{i:02d}", unit(rng, 3, 8), metadata=meta) for i, meta in enumerate(metadata)
    ]
    expected = {
        r.id
        for r in records
        if all(not values or r.metadata.get(key) in values for key, values in filters.items())
    }
    with tempfile.TemporaryDirectory() as directory:
        store = LocalVectorStore(Path(directory), dimension=8, exact_threshold=threshold)
        try:
            store.upsert(records)
            hits = store.search(
                unit(rng, 1, 8)[0],
                field="combined",
                k=len(records),
                tenant_id="default",
                filters=filters,
            )
        finally:
            store.close()

    assert {h.id for h in hits} == expected


@settings(max_examples=25, deadline=None)
@given(
    question=st.text(max_size=200),
    metadata=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4),
    related=st.lists(st.text(min_size=1, max_size=12), max_size=5),
)
def test_any_record_round_trips_through_the_local_store(
    question: str, metadata: dict[str, str], related: list[str]
) -> None:
    from medkb.stores.vector.local import LocalVectorStore

    original = record(
        "any",
        unit(np.random.default_rng(0), 3, 8),
        question=question or "?",
        metadata=metadata,
        related_nodes=related,
    )
    with tempfile.TemporaryDirectory() as directory:
        store = LocalVectorStore(Path(directory), dimension=8)
        try:
            store.upsert([original])
            [fetched] = store.fetch(["any"])
        finally:
            store.close()

    assert (fetched.question, fetched.metadata, fetched.related_nodes) == (
        original.question,
        metadata,
        related,
    )
