"""Export → import into an empty knowledge base → export gives identical data (Hypothesis).

Run on each relational backend (a SQLite file, the machine's PostgreSQL): every example
builds a fresh source KB from generated pairs (unicode texts, empty and full optional
metadata, tags, extra keys, sources), exports it with embeddings, imports the file into
another fresh KB and exports again. Ids, texts, metadata, sources, relations, timestamps
and embeddings must all be equal; nothing is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.models import QAMetadata, QAPair, Source
from medkb.sync.verify import verify
from medkb.transfer.export import export_to
from medkb.transfer.importer import import_file
from tests.services import fresh_postgres_database

# PostgreSQL text and JSONB refuse NUL; lone surrogates are not valid UTF-8.
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_TEXT = st.text(_CHARS, min_size=1, max_size=60).filter(lambda s: s.strip() != "")
_OPTIONAL = st.none() | st.text(_CHARS, max_size=20)
_EXTRA_VALUE = (
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(_CHARS, max_size=15)
)

_METADATA = st.builds(
    QAMetadata,
    category=_OPTIONAL,
    subcategory=_OPTIONAL,
    source=_OPTIONAL,
    source_type=_OPTIONAL,
    author=_OPTIONAL,
    published=st.none() | st.dates().map(str),
    language=st.sampled_from(["en", "fr", "de"]),
    difficulty=_OPTIONAL,
    tags=st.lists(st.text(_CHARS, max_size=12), max_size=4),
    is_active=st.booleans(),
    extra=st.dictionaries(st.text(_CHARS, min_size=1, max_size=10), _EXTRA_VALUE, max_size=3),
)
_SOURCE = st.builds(
    Source,
    document=st.text(_CHARS, min_size=1, max_size=30),
    object_key=_OPTIONAL,
    page=st.none() | st.integers(0, 5000),
    section=_OPTIONAL,
    excerpt=_OPTIONAL,
    url=_OPTIONAL,
)


@st.composite
def kb_pairs(draw: st.DrawFn) -> list[QAPair]:
    """Up to 12 pairs with distinct ids; some share words so similarity links form."""
    ids = draw(
        st.lists(
            st.text("abcdefghijklmnopqrstuvwxyz0123456789-_é", min_size=1, max_size=24),
            min_size=1,
            max_size=12,
            unique=True,
        )
    )
    return [
        QAPair(
            id=qa_id,
            question=draw(st.sampled_from(["What is asthma? ", "How is flu treated? ", ""]))
            + draw(_TEXT),
            response=draw(_TEXT) + draw(st.sampled_from(["", " Inhalers help asthma."])),
            metadata=draw(_METADATA),
            sources=draw(st.lists(_SOURCE, max_size=3)),
        )
        for qa_id in ids
    ]


@contextmanager
def fresh_kb(base: Settings, backend: str) -> Iterator[KnowledgeBase]:
    """An empty knowledge base in a new home, on a new database of ``backend``."""
    with TemporaryDirectory(prefix="medkb-rt-") as home:
        if backend == "sqlite":
            with build(base.model_copy(update={"home": Path(home), "database_url": None})) as kb:
                yield kb
            return
        databases = fresh_postgres_database()
        url = next(databases)
        try:
            with build(base.model_copy(update={"home": Path(home), "database_url": url})) as kb:
                yield kb
        finally:
            databases.close()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    # Not splitlines(): it also splits at U+0085 and U+2028, which JSON leaves unescaped.
    lines = path.read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in lines if line]


def _check(pairs: list[QAPair], records: list[dict[str, Any]]) -> None:
    """The first export holds what was written."""
    by_id = {record["id"]: record for record in records}
    assert sorted(by_id) == sorted(pair.id for pair in pairs)
    for pair in pairs:
        record = by_id[pair.id]
        assert (record["question"], record["response"]) == (pair.question, pair.response)
        assert record["metadata"] == json.loads(json.dumps(pair.to_dict()["metadata"]))
        assert record["sources"] == json.loads(json.dumps(pair.to_dict()["sources"]))
        assert len(record["embeddings"]["combined"]) == 256


@pytest.mark.slow
def test_export_import_export_is_identical(settings: Settings, tmp_path: Path) -> None:
    backend = "postgres" if settings.resolved_database_url().startswith("postgresql") else "sqlite"

    @settings_for(backend)
    @given(pairs=kb_pairs(), fmt=st.sampled_from(["jsonl", "json", "parquet"]))
    def round_trip(pairs: list[QAPair], fmt: str) -> None:
        first, second = tmp_path / f"first.{fmt}", tmp_path / "second.jsonl"
        again = tmp_path / "first.jsonl"
        with fresh_kb(settings, backend) as source:
            source.add(pairs)
            export_to(source.engine, fmt, str(first), tenant_id="default", include_embeddings=True)
            export_to(
                source.engine, "jsonl", str(again), tenant_id="default", include_embeddings=True
            )
        with fresh_kb(settings, backend) as target:
            report = import_file(target, first)
            assert report.reembedded == 0 and report.created == len(pairs)
            export_to(
                target.engine, "jsonl", str(second), tenant_id="default", include_embeddings=True
            )
            assert verify(target.engine, target.store, tenant_id="default").clean
        _check(pairs, read_jsonl(again))
        assert read_jsonl(second) == read_jsonl(again)

    round_trip()


def settings_for(backend: str) -> Any:
    """Fewer examples on PostgreSQL, where each one creates two databases."""
    return hypothesis_settings(
        max_examples=8 if backend == "postgres" else 25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=True,
    )
