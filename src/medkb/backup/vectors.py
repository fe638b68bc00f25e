"""Export and load of the vector collection, through the :class:`VectorStore` Protocol only.

So it works the same for every backend (``local``, ``milvus``, ``pgvector``). The export is
``records.jsonl`` (id, tenant, texts, metadata, related nodes, model id; one line per record)
and one ``<field>.f32`` per vector field: little-endian float32 rows in the same order, read
back with ``numpy.memmap``. Records are read and written in batches, so memory stays
bounded by one batch whatever the size of the collection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from medkb.errors import InvalidBackup
from medkb.models import VECTOR_FIELDS, Embeddings, VectorField, VectorRecord
from medkb.stores.vector.base import VectorStore
from medkb.sync.verify import batches

RECORDS = "records.jsonl"
DTYPE = "<f4"
BATCH_SIZE = 500


def field_file(name: VectorField) -> str:
    """The file holding one vector field's rows."""
    return f"{name}.f32"


def export(store: VectorStore, directory: Path, *, batch_size: int = BATCH_SIZE) -> int:
    """Write every record of ``store`` (all tenants) into ``directory``; return how many.

    Records deleted while the export runs are skipped; the restore reconciles the
    collection with the relational snapshot anyway.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    with ExitStack() as stack:
        lines = stack.enter_context((directory / RECORDS).open("w", encoding="utf-8"))
        fields = {
            name: stack.enter_context((directory / field_file(name)).open("wb"))
            for name in VECTOR_FIELDS
        }
        for chunk in batches(list(store.ids()), batch_size):
            for record in store.fetch(chunk):
                _write(record, lines, fields)
                written += 1
    return written


def _write(record: VectorRecord, lines: Any, fields: Mapping[VectorField, BinaryIO]) -> None:
    data = {
        "id": record.id,
        "tenant_id": record.tenant_id,
        "question": record.question,
        "response": record.response,
        "metadata": record.metadata,
        "related_nodes": record.related_nodes,
        "model_id": record.embeddings.model_id,
    }
    lines.write(json.dumps(data, ensure_ascii=False) + "\n")
    for name, out in fields.items():
        out.write(np.asarray(record.embeddings.get(name), dtype=DTYPE).tobytes())


def read_records(directory: Path, *, dimension: int, count: int) -> Iterator[VectorRecord]:
    """The records of an export, in order (vectors memory-mapped, not loaded whole)."""
    if count == 0:
        return
    matrices = {
        name: _matrix(directory / field_file(name), dimension, count) for name in VECTOR_FIELDS
    }
    with (directory / RECORDS).open(encoding="utf-8") as lines:
        for row, line in enumerate(lines):
            data = json.loads(line)
            vectors = {
                name: np.array(matrices[name][row], dtype=np.float32) for name in VECTOR_FIELDS
            }
            yield VectorRecord(
                id=data["id"],
                tenant_id=data["tenant_id"],
                question=data["question"],
                response=data["response"],
                embeddings=Embeddings(**vectors, model_id=data["model_id"]),
                metadata=data["metadata"],
                related_nodes=data["related_nodes"],
            )


def _matrix(path: Path, dimension: int, count: int) -> npt.NDArray[np.float32]:
    matrix = np.memmap(path, dtype=DTYPE, mode="r")
    if matrix.size != dimension * count:
        raise InvalidBackup(
            f"{path.name} holds {matrix.size} floats, not {count} records × {dimension} dims; "
            "the backup is inconsistent. Restore another backup."
        )
    return matrix.reshape(count, dimension)


def load(
    store: VectorStore, directory: Path, *, dimension: int, count: int, batch_size: int = BATCH_SIZE
) -> int:
    """Upsert every exported record into ``store``; return how many."""
    loaded = 0
    batch: list[VectorRecord] = []
    for record in read_records(directory, dimension=dimension, count=count):
        batch.append(record)
        if len(batch) >= batch_size:
            store.upsert(batch)
            loaded, batch = loaded + len(batch), []
    if batch:
        store.upsert(batch)
        loaded += len(batch)
    return loaded
