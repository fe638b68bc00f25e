"""``medkb reembed``: static → MiniLM on a tiny knowledge base (MiniLM embeds ~40 texts/s on
a CPU), built side by side while another thread keeps querying the old model, caught up
with writes made meanwhile, switched atomically, resumable after a SIGKILL."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from medkb.app import build
from medkb.config import Settings
from medkb.embed.static import MODEL_ID as STATIC_MODEL
from medkb.errors import ConfigError, EmbedderMismatch, InputError, SyncPending
from medkb.models import QAMetadata, QAPair
from medkb.relocate.reembed import reembed
from medkb.stores.relational.schema import embeddings, embeddings_next, kb_info
from medkb.sync.verify import verify

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
QUESTION = "What are the warning signs of a stroke?"
TOPICS = [
    ("stroke", "Sudden face drooping, arm weakness and slurred speech are stroke signs."),
    ("asthma", "Wheezing, cough and shortness of breath are typical asthma symptoms."),
    ("diabetes", "Thirst, frequent urination and fatigue can point to diabetes."),
    ("migraine", "A throbbing one-sided headache with nausea suggests migraine."),
    ("anemia", "Tiredness and pale skin are common signs of iron deficiency anemia."),
    ("gout", "A hot, swollen big toe joint at night is a classic gout attack."),
    ("influenza", "Fever, muscle aches and cough that start suddenly suggest influenza."),
    ("eczema", "Dry, itchy, inflamed skin patches are the hallmark of eczema."),
]


def pair(n: int, topic: str, response: str) -> QAPair:
    return QAPair(
        id=f"tiny-{n:02d}",
        question=f"What are the signs of {topic}?",
        response=response,
        metadata=QAMetadata(category=topic.title()),
    )


@pytest.fixture
def tiny(tmp_path: Path, embed_cache: Path) -> Settings:
    """Eight pairs on SQLite + the local index, built with the static embedder."""
    settings = Settings(home=tmp_path / "home", embedder="static", cache_dir=embed_cache)
    with build(settings) as kb:
        kb.add([pair(n, topic, text) for n, (topic, text) in enumerate(TOPICS)])
    return settings


def on(settings: Settings, embedder: str) -> Settings:
    return settings.model_copy(update={"embedder": embedder})


def dense(settings: Settings) -> list[str]:
    with build(settings) as kb:
        return [h.pair.id for h in kb.query(QUESTION, mode="dense", log=False).hits]


def kb_rows(settings: Settings) -> tuple[dict[str, str], set[str], int]:
    """kb_info, the model ids in qa_embeddings, and the staged row count."""
    engine = sa.create_engine(settings.resolved_database_url())
    try:
        with engine.connect() as conn:
            info = {r.key: r.value for r in conn.execute(sa.select(kb_info))}
            models = set(conn.execute(sa.select(embeddings.c.model_id).distinct()).scalars())
            staged = conn.execute(sa.select(sa.func.count()).select_from(embeddings_next))
            return info, models, int(staged.scalar_one())
    finally:
        engine.dispose()


def assert_clean(settings: Settings) -> None:
    with build(settings) as kb:
        assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean


def test_reembed_answers_from_the_old_model_until_an_atomic_switch(tiny: Settings) -> None:
    probes: list[tuple[str, list[str], list[str], bool]] = []
    with build(tiny) as old:

        def edit_once() -> None:
            old.add([pair(8, "shingles", "A painful blistering rash on one side of the body.")])
            old.update("tiny-01", response="Wheeze and night cough are asthma warning signs.")
            old.delete("tiny-02")

        def probe() -> None:  # another thread opens the KB as any process would
            try:
                build(on(tiny, "minilm")).close()
                refused = False
            except EmbedderMismatch:
                refused = True
            with build(tiny) as fresh:
                hits = fresh.query(QUESTION, mode="dense", log=False).hits
                probes.append((fresh.embedder.model_id, [h.pair.id for h in hits], [], refused))

        def on_batch(done: int, left: int) -> None:
            if not probes:
                edit_once()
            expected = [h.pair.id for h in old.query(QUESTION, mode="dense", log=False).hits]
            thread = threading.Thread(target=probe)
            thread.start()
            thread.join(timeout=120)
            probes[-1] = (probes[-1][0], probes[-1][1], expected, probes[-1][3])

        report = reembed(tiny, embedder="minilm", batch_size=3, on_batch=on_batch)
        # A process still on the old model writes after the switch (committed; its apply to
        # the dropped old collection may fail on new-model neighbours); a re-run sweeps it up.
        with contextlib.suppress(SyncPending):
            old.add([pair(9, "measles", "A blotchy red rash after fever and cough.")])
    assert kb_rows(tiny)[1] == {MINILM, STATIC_MODEL}
    swept = reembed(tiny, embedder="minilm")
    assert (swept.swept, swept.embedded, swept.clean) == (1, 0, True)

    assert len(probes) >= 3
    for model, got, expected, refused in probes:
        assert (model, refused) == (STATIC_MODEL, True)
        assert got == expected and got[0] == "tiny-00"
    assert report.new_model == MINILM and report.clean
    assert report.collection == "medical_knowledge_base_g2"
    assert report.old_collection == "medical_knowledge_base"
    info, models, staged = kb_rows(tiny)
    assert (info["embedding_model"], info["embedding_dimension"]) == (MINILM, "384")
    assert info["vector_collection"] == "medical_knowledge_base_g2"
    assert (models, staged) == ({MINILM}, 0)
    assert not (tiny.home / "vectors").exists()  # the old collection is dropped

    new = on(tiny, "minilm")
    assert_clean(new)
    with build(new) as kb:
        assert sorted(kb.store.ids()) == [f"tiny-{n:02d}" for n in range(10) if n != 2]
        (record,) = kb.store.fetch(["tiny-01"])
        assert record.response.startswith("Wheeze and night cough")
        expected = kb.embedder.embed([record.question])[0]
        assert np.allclose(record.embeddings.question, expected, atol=1e-5)
        assert kb.query(QUESTION, mode="dense", log=False).hits[0].pair.id == "tiny-00"
    with pytest.raises(EmbedderMismatch):
        build(tiny)


KILLER = """
import os, signal, sys
from pathlib import Path
from medkb.config import Settings
from medkb.relocate.reembed import reembed
home, cache = sys.argv[1], sys.argv[2]
def on_batch(done, left):
    os.kill(os.getpid(), signal.SIGKILL)
reembed(Settings(home=Path(home), embedder="static", cache_dir=Path(cache)),
        embedder="minilm", batch_size=3, on_batch=on_batch)
"""


def test_an_interrupted_reembed_leaves_the_old_model_working_and_resumes(tiny: Settings) -> None:
    before = dense(tiny)
    args = [str(tiny.home), str(tiny.cache_dir)]
    killed = subprocess.run([sys.executable, "-c", KILLER, *args], capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    info, models, staged = kb_rows(tiny)
    assert info["embedding_model"] == STATIC_MODEL and info["reembed_model"] == MINILM
    assert (models, staged) == ({STATIC_MODEL}, 3 * 3)  # one batch of three pairs staged
    assert dense(tiny) == before
    assert_clean(tiny)

    report = reembed(tiny, embedder="minilm", batch_size=3)
    assert report.embedded == len(TOPICS) - 3  # resumed: the staged batch is not redone
    assert report.clean and kb_rows(tiny)[0]["embedding_model"] == MINILM
    assert_clean(on(tiny, "minilm"))
    with pytest.raises(InputError, match="already uses"):
        reembed(tiny, embedder="minilm")


def test_bad_requests_are_refused(tiny: Settings, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="already uses"):
        reembed(tiny, embedder="static")
    with pytest.raises(ConfigError, match="Unknown embedder"):
        reembed(tiny, embedder="word2vec")
    with pytest.raises(InputError, match="batch-size"):
        reembed(tiny, embedder="minilm", batch_size=0)
    assert kb_rows(tiny)[0]["embedding_model"] == STATIC_MODEL


@pytest.mark.postgres
def test_reembed_on_postgresql_and_pgvector(
    tmp_path: Path, embed_cache: Path, pgvector_db: str
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        embedder="static",
        cache_dir=embed_cache,
        database_url=pgvector_db,
        vector_url="pgvector",
    )
    with build(settings) as kb:
        kb.add([pair(n, topic, text) for n, (topic, text) in enumerate(TOPICS[:4])])
    report = reembed(settings, embedder="minilm", batch_size=2)
    assert report.clean and report.collection == "medical_knowledge_base_g2"
    assert_clean(on(settings, "minilm"))
    engine = sa.create_engine(pgvector_db)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "medical_knowledge_base_g2" in tables and "medical_knowledge_base" not in tables


def test_the_cli_refuses_a_reembed_to_the_same_model(tiny: Settings) -> None:
    from tests.e2e.test_cli import medkb

    same = medkb(tiny.home, tiny.cache_dir, "reembed", "--embedder", "static", "--json")
    assert same.returncode == InputError.exit_code and "already uses" in same.stderr
    unknown = medkb(tiny.home, tiny.cache_dir, "reembed", "--embedder", "word2vec")
    assert unknown.returncode == ConfigError.exit_code and "Unknown embedder" in unknown.stderr
