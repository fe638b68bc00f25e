"""Reading export files back: layouts, cell decoding and the errors that name a line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medkb.errors import InputError
from medkb.transfer.decode import decode
from medkb.transfer.formats import CsvSink, JsonSink
from medkb.transfer.readers import _streamed_layout, detect_format, read_records

RECORD = {
    "id": "qa-1",
    "tenant_id": "default",
    "question": "What is asthma?\u2028",
    "response": "A disease of the airways.\x85",
    "metadata": {
        "category": None,
        "subcategory": "",
        "source": None,
        "source_type": None,
        "author": None,
        "published": None,
        "language": "en",
        "difficulty": None,
        "tags": [],
        "is_active": False,
        "extra": {"k": [1, 2]},
    },
    "sources": [],
    "relations": [
        {"target_id": "qa-2", "type": "similar_to", "confidence": 0.7, "origin": "similarity"}
    ],
    "created_at": "2026-11-23T06:00:00.123456",
    "updated_at": "2026-11-23T06:00:00.123456+00:00",
}


def test_the_streamed_json_layout_is_read_line_by_line(tmp_path: Path) -> None:
    sink = JsonSink(tmp_path / "kb.json")
    sink.write([RECORD, RECORD | {"id": "qa-2"}])
    sink.close()
    assert _streamed_layout(tmp_path / "kb.json")
    got = list(read_records(tmp_path / "kb.json", "json"))
    assert [where for where, _ in got] == ["kb.json, line 2", "kb.json, line 3"]
    assert got[0][1] == RECORD

    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps([RECORD], indent=2))
    assert not _streamed_layout(pretty)
    assert [r for _, r in read_records(pretty, "json")] == [RECORD]


def test_csv_cells_decode_back(tmp_path: Path) -> None:
    sink = CsvSink(tmp_path / "kb.csv", include_embeddings=False)
    sink.write([RECORD])
    sink.close()
    [(where, record)] = list(read_records(tmp_path / "kb.csv", "csv"))
    assert where == "kb.csv, line 2"
    # CSV cannot tell an empty string from a missing value: both come back as None.
    assert record["metadata"]["subcategory"] is None
    assert record["metadata"] | {"subcategory": ""} == RECORD["metadata"]
    assert record["relations"] == RECORD["relations"]


def test_decode_errors_name_the_place(tmp_path: Path) -> None:
    item = decode(RECORD, where="x")
    assert item.pair.metadata.is_active is False and item.relations[0].target_id == "qa-2"
    assert item.created_at is not None and item.created_at.tzinfo is not None
    cases = [
        ([], "must be a JSON object"),
        (RECORD | {"id": ""}, "'id' must be a non-empty string"),
        (RECORD | {"colour": 1}, "unknown key"),
        (RECORD | {"metadata": {"is_active": "yes"}}, "'is_active' must be true or false"),
        (RECORD | {"metadata": {"mood": "x"}}, "unknown metadata key"),
        (RECORD | {"sources": [{"page": 1}]}, "'document' string"),
        (RECORD | {"relations": [{"target_id": "b", "type": "t"}]}, "'confidence' must be"),
        (RECORD | {"created_at": "yesterday"}, "ISO 8601"),
        (RECORD | {"embeddings": {"model_id": "m", "question": [1.0]}}, "same length"),
        (RECORD | {"question": "q" * 200_001}, "the limit is 200,000"),
    ]
    for record, message in cases:
        with pytest.raises(InputError, match=message) as caught:
            decode(record, where="kb.jsonl, line 9")
        assert str(caught.value).startswith("kb.jsonl, line 9: "), caught.value


def test_formats_and_unreadable_files(tmp_path: Path) -> None:
    assert detect_format(Path("a.NDJSON"), None) == "jsonl"
    assert detect_format(Path("a.txt"), "csv") == "csv"
    with pytest.raises(InputError, match="Cannot tell the format"):
        detect_format(Path("a.txt"), None)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"id": "caf\xe9"}\n')
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_records(latin, "jsonl"))
    fake = tmp_path / "fake.parquet"
    fake.write_text("not parquet")
    with pytest.raises(InputError, match="not a readable parquet file"):
        list(read_records(fake, "parquet"))
    with pytest.raises(InputError, match="No file"):
        list(read_records(tmp_path / "missing.jsonl", "jsonl"))
