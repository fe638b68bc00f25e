"""Every export format read back with its own reader; filters; bad inputs; import paths."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.errors import InputError
from medkb.models import QAMetadata, QAPair, Source
from medkb.stores.relational import pairs as pair_rows
from medkb.transfer.export import export_to
from medkb.transfer.importer import import_file

CATEGORIES = ["Respiratory", "Cardiology", None]


def sample_pairs(n: int = 12) -> list[QAPair]:
    return [
        QAPair(
            id=f"qa-{i:03d}",
            question=f"What helps asthma symptoms number {i}? «ü» 'quoted'",
            response=f'Inhalers help asthma; step {i} adds a spacer.\nSecond line, "quoted".',
            metadata=QAMetadata(
                category=CATEGORIES[i % 3],
                tags=["asthma", f"t{i}"] if i % 2 else [],
                extra={"focus": "Asthma", "rank": i} if i % 4 else {},
                published="2024-01-02" if i % 5 == 0 else None,
            ),
            sources=[Source(document="asthma.pdf", page=i, section="Care")] if i % 3 else [],
        )
        for i in range(n)
    ]


@pytest.fixture
def filled(kb: KnowledgeBase) -> KnowledgeBase:
    kb.add(sample_pairs())
    return kb


def export(kb: KnowledgeBase, fmt: str, output: Path | str, **options: Any) -> Any:
    return export_to(
        kb.engine,
        fmt,
        str(output),
        tenant_id=kb.tenant_id,
        dimension=kb.embedder.dimension,
        **options,
    )


def stored_vectors(kb: KnowledgeBase) -> dict[str, Any]:
    with kb.engine.connect() as conn:
        return pair_rows.get_embeddings(conn, [f"qa-{i:03d}" for i in range(12)])


def test_jsonl_and_json_read_back_with_json(filled: KnowledgeBase, tmp_path: Path) -> None:
    report = export(filled, "jsonl", tmp_path / "kb.jsonl", include_embeddings=True)
    lines = (tmp_path / "kb.jsonl").read_text(encoding="utf-8").split("\n")
    records = [json.loads(line) for line in lines if line]
    assert [r["id"] for r in records] == [f"qa-{i:03d}" for i in range(12)]
    assert report.pairs == 12 and report.bytes == (tmp_path / "kb.jsonl").stat().st_size
    assert report.relations == sum(len(r["relations"]) for r in records) > 0
    vectors = stored_vectors(filled)
    assert np.array_equal(
        np.float32(records[3]["embeddings"]["response"]), vectors["qa-003"].response
    )
    assert records[3]["embeddings"]["model_id"] == filled.embedder.model_id

    export(filled, "json", tmp_path / "kb.json", include_embeddings=True)
    assert json.loads((tmp_path / "kb.json").read_text(encoding="utf-8")) == records
    export(filled, "json", tmp_path / "plain.json")
    plain = json.loads((tmp_path / "plain.json").read_text(encoding="utf-8"))
    assert all("embeddings" not in r for r in plain) and plain[5]["metadata"]["extra"] == {
        "focus": "Asthma",
        "rank": 5,
    }


def test_csv_reads_back_with_the_csv_module(filled: KnowledgeBase, tmp_path: Path) -> None:
    export(filled, "csv", tmp_path / "kb.csv", include_embeddings=True)
    with (tmp_path / "kb.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    row = rows[1]
    assert row["question"].startswith("What helps asthma") and "\n" in row["response"]
    assert json.loads(row["tags"]) == ["asthma", "t1"] and row["is_active"] == "true"
    assert row["subcategory"] == "" and json.loads(row["sources"])[0]["page"] == 1
    vector = np.float32(json.loads(row["combined_embedding"]))
    assert np.array_equal(vector, stored_vectors(filled)["qa-001"].combined)


def test_parquet_reads_back_with_pyarrow(filled: KnowledgeBase, tmp_path: Path) -> None:
    export(filled, "parquet", tmp_path / "kb.parquet", include_embeddings=True)
    table = pq.read_table(tmp_path / "kb.parquet")
    assert table.num_rows == 12
    assert str(table.schema.field("question_embedding").type) == "list<element: float>"
    assert str(table.schema.field("tags").type) == "list<element: string>"
    rows = table.to_pylist()
    assert rows[1]["sources"][0] == {
        "document": "asthma.pdf",
        "object_key": rows[1]["sources"][0]["object_key"],
        "page": 1,
        "section": "Care",
        "excerpt": None,
        "url": None,
    }
    assert np.array_equal(
        np.float32(rows[2]["question_embedding"]), stored_vectors(filled)["qa-002"].question
    )


def test_sql_script_runs_in_sqlite_and_postgres(
    filled: KnowledgeBase, tmp_path: Path, pg_url: str
) -> None:
    script = tmp_path / "kb.sql"
    export(filled, "sql", script, include_embeddings=True, table="qa_export")
    with sqlite3.connect(tmp_path / "loaded.db") as db:
        db.executescript(script.read_text(encoding="utf-8"))
        db.executescript(script.read_text(encoding="utf-8"))  # a second load updates
        rows = db.execute("SELECT id, question, tags, combined_embedding FROM qa_export").fetchall()
    assert len(rows) == 12 and rows[0][1] == sample_pairs()[0].question
    assert json.loads(rows[1][2]) == ["asthma", "t1"] and len(json.loads(rows[1][3])) == 256

    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    for _ in range(2):
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(script)],
            check=True,
            capture_output=True,
        )
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        got = conn.execute(sa.text("SELECT count(*), max(response) FROM qa_export")).one()
        assert got[0] == 12 and got[1] == max(p.response for p in sample_pairs())
    engine.dispose()


def test_filters_select_pairs_and_unknown_keys_are_refused(
    filled: KnowledgeBase, tmp_path: Path
) -> None:
    report = export(filled, "jsonl", tmp_path / "resp.jsonl", filters={"category": ["Respiratory"]})
    records = [json.loads(line) for line in (tmp_path / "resp.jsonl").read_text().splitlines()]
    assert report.pairs == 4 and {r["metadata"]["category"] for r in records} == {"Respiratory"}
    both = export(
        filled, "csv", tmp_path / "two.csv", filters={"category": ["Respiratory", "Cardiology"]}
    )
    assert both.pairs == 8
    with pytest.raises(InputError, match="Cannot filter on tags"):
        export(filled, "jsonl", tmp_path / "tags.jsonl", filters={"tags": ["asthma"]})


def test_bad_export_inputs_give_clear_errors(filled: KnowledgeBase, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Unknown export format 'xml'"):
        export(filled, "xml", tmp_path / "kb.xml")
    with pytest.raises(InputError, match=r"Cannot write .*writable --output"):
        export(filled, "jsonl", tmp_path / "missing-dir" / "kb.jsonl")
    with pytest.raises(InputError, match="is a directory"):
        export(filled, "jsonl", tmp_path)
    with pytest.raises(InputError, match="--format sql only"):
        export(filled, "csv", "postgresql://postgres@127.0.0.1/x")
    with pytest.raises(InputError, match="plain SQL identifier"):
        export(filled, "sql", tmp_path / "kb.sql", table="qa; DROP TABLE x")
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".partial", ".xml", ".jsonl")]


def test_failed_export_leaves_no_file(filled: KnowledgeBase, tmp_path: Path) -> None:
    calls = []

    def stop(done: int, total: int) -> None:
        calls.append(done)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export(filled, "jsonl", tmp_path / "kb.jsonl", progress=stop)
    assert calls == [12] and not list(tmp_path.glob("kb.jsonl*"))


def _settings_like(kb: KnowledgeBase, home: Path) -> Settings:
    return kb.settings.model_copy(update={"home": home, "database_url": None})


def test_import_csv_and_parquet_round_trip(filled: KnowledgeBase, tmp_path: Path) -> None:
    export(filled, "jsonl", tmp_path / "orig.jsonl", include_embeddings=True)
    for fmt in ("csv", "parquet"):
        export(filled, fmt, tmp_path / f"kb.{fmt}", include_embeddings=True)
        with build(_settings_like(filled, tmp_path / f"home-{fmt}")) as target:
            report = import_file(target, tmp_path / f"kb.{fmt}")
            assert (report.created, report.reembedded) == (12, 0)
            export(target, "jsonl", tmp_path / f"back-{fmt}.jsonl", include_embeddings=True)
        assert (tmp_path / f"back-{fmt}.jsonl").read_text() == (tmp_path / "orig.jsonl").read_text()


def test_malformed_line_names_the_line_and_writes_nothing(
    filled: KnowledgeBase, tmp_path: Path
) -> None:
    export(filled, "jsonl", tmp_path / "kb.jsonl")
    lines = (tmp_path / "kb.jsonl").read_text(encoding="utf-8").split("\n")
    lines[7] = lines[7][:40]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines), encoding="utf-8")
    bad_type = tmp_path / "bad.jsonl"
    record = json.loads(lines[0]) | {"metadata": {"tags": "asthma"}}
    bad_type.write_text(lines[1] + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    with build(_settings_like(filled, tmp_path / "empty")) as target:
        with pytest.raises(InputError, match=r"broken.jsonl, line 8: not valid JSON"):
            import_file(target, broken)
        with pytest.raises(InputError, match=r"bad.jsonl, line 2: 'tags' must be a list"):
            import_file(target, bad_type)
        with pytest.raises(InputError, match="Cannot tell the format"):
            import_file(target, tmp_path / "kb.txt")
        assert target.stats()["relational_pairs"] == 0


def test_vectors_of_another_model_are_reembedded(filled: KnowledgeBase, tmp_path: Path) -> None:
    export(filled, "jsonl", tmp_path / "kb.jsonl", include_embeddings=True)
    records = [json.loads(line) for line in (tmp_path / "kb.jsonl").read_text().splitlines()]
    for record in records:
        record["embeddings"]["model_id"] = "someone-else/model"
        record["embeddings"]["question"] = [0.5, 0.5]  # another dimension, too
        record["embeddings"]["response"] = record["embeddings"]["combined"] = [0.5, 0.5]
    other = tmp_path / "other.jsonl"
    other.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with build(_settings_like(filled, tmp_path / "target")) as target:
        report = import_file(target, other)
        assert (report.created, report.reembedded) == (12, 12)
        mine = stored_vectors(target)
    original = stored_vectors(filled)
    assert np.allclose(mine["qa-004"].combined, original["qa-004"].combined, atol=1e-6)


def test_wrong_dimension_of_the_kb_model_is_refused(filled: KnowledgeBase, tmp_path: Path) -> None:
    export(filled, "jsonl", tmp_path / "kb.jsonl", include_embeddings=True)
    first, *rest = (tmp_path / "kb.jsonl").read_text().splitlines()
    record = json.loads(first)
    for name in ("question", "response", "combined"):
        record["embeddings"][name] = record["embeddings"][name][:100]
    short = tmp_path / "short.jsonl"
    short.write_text("\n".join([*rest, json.dumps(record)]) + "\n", encoding="utf-8")
    with build(_settings_like(filled, tmp_path / "target")) as target:
        with pytest.raises(InputError, match=r"short.jsonl, line 12: .* 100 dimensions.* 256"):
            import_file(target, short)
        assert target.stats()["relational_pairs"] == 0


def test_import_keeps_manual_relations_and_drops_dangling_ones(
    filled: KnowledgeBase, tmp_path: Path
) -> None:
    export(filled, "jsonl", tmp_path / "kb.jsonl")
    records = [json.loads(line) for line in (tmp_path / "kb.jsonl").read_text().splitlines()]
    records[0]["relations"] = [
        {"target_id": "qa-005", "type": "treatment_for", "confidence": 0.9, "origin": "manual"},
        {"target_id": "not-here", "type": "related_to", "confidence": 0.5, "origin": "manual"},
    ]
    path = tmp_path / "edited.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with build(_settings_like(filled, tmp_path / "target")) as target:
        report = import_file(target, path)
        got = target.get("qa-000")
        assert report.dropped_relations == 1
        assert got["relations"] == [
            {
                "source_id": "qa-000",
                "target_id": "qa-005",
                "type": "treatment_for",
                "confidence": 0.9,
                "origin": "manual",
            }
        ]
        assert got["created_at"] == records[0]["created_at"]
        again = import_file(target, path)
        assert (again.created, again.unchanged) == (0, 12)


def test_ids_of_another_tenant_are_refused_before_writing(
    filled: KnowledgeBase, tmp_path: Path
) -> None:
    export(filled, "jsonl", tmp_path / "kb.jsonl")
    other = filled.settings.model_copy(update={"tenant": "clinic-b"})
    with build(other) as target:
        with pytest.raises(InputError, match=r"kb.jsonl, line 1: pair id 'qa-000' belongs to"):
            import_file(target, tmp_path / "kb.jsonl")
        assert target.stats()["relational_pairs"] == 0
