"""Milvus vector store, through pymilvus: a Milvus Lite file (``*.db``) or a Milvus server.

One collection (``medical_knowledge_base`` by default) holds the SPEC §A fields: ``id``,
``tenant_id``, ``question``, ``response``, the three ``*_embedding`` vectors (cosine),
``metadata`` (JSON) and ``related_nodes`` (JSON array). Beside them it keeps the filterable
metadata keys as plain VARCHAR fields (``category``, ``source``, ``source_type``,
``language``; empty when absent), because filtering on them is fast where JSON-path
filters are slow, and ``embedding_model``, so fetched records say which model made them.

Field limits: ``question`` and ``response`` hold the SPEC's 5,000 / 10,000 characters and
``related_nodes`` at most 65,536 bytes of JSON; longer ones are cut in this store's copy
only, and the copy records it (:mod:`medkb.stores.vector.fit`). Ids, tenant ids and the
filterable values hold 1,024 UTF-8 bytes; the writer refuses longer ones before anything
is stored (:func:`medkb.ingest.writer.check_lengths`).

Milvus filters inside the search (pre-filtering), so a filtered search returns ``k`` hits
whenever ``k`` records match. Every call runs with a timeout and pymilvus errors become
:class:`~medkb.errors.VectorStoreError` saying what to check.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from medkb.errors import VectorStoreError, missing_dependency
from medkb.models import (
    FILTERABLE_KEYS,
    MAX_KEY_BYTES,
    MAX_QUESTION_CHARS,
    MAX_RESPONSE_CHARS,
    VECTOR_FIELDS,
    Embeddings,
    Vector,
    VectorField,
    VectorHit,
    VectorRecord,
)
from medkb.redact import mask_url, redact
from medkb.stores.vector.base import COLLECTION, Filters
from medkb.stores.vector.fit import CopyLimits, fit_record
from medkb.stores.vector.validation import (
    as_vector,
    check_record,
    checked_filters,
    last_per_id,
    ordered,
)

#: Milvus VARCHAR limits count bytes; UTF-8 needs at most 4 per character.
_MAX_VARCHAR = 65_535
_TEXT_BYTES = {
    "question": min(4 * MAX_QUESTION_CHARS, _MAX_VARCHAR),
    "response": min(4 * MAX_RESPONSE_CHARS, _MAX_VARCHAR),
}
_KEY_BYTES = MAX_KEY_BYTES  # ids, tenant ids, filterable metadata values, model ids
_MAX_JSON_BYTES = 65_536  # Milvus's limit on one JSON field value
_BATCH = 256  # rows per upsert/get call, well under gRPC's message size limit
_PAGE = 1_000  # ids per page when listing
_MAX_TOP_K = 16_384  # Milvus refuses larger limits
_SCALARS = ("id", "tenant_id", "question", "response", "metadata", "related_nodes")
_OUTPUT_FIELDS = [
    *_SCALARS,
    "embedding_model",
    *(f"{name}_embedding" for name in VECTOR_FIELDS),
]


def _pymilvus() -> ModuleType:
    try:
        return importlib.import_module("pymilvus")
    except ImportError as exc:
        raise missing_dependency("pymilvus", "milvus", "The milvus vector store") from exc


#: pymilvus pings every 10 s even on an idle channel. Servers with gRPC's default keepalive
#: policy (Milvus Lite's among them) answer that with GOAWAY "too many pings" and refuse the
#: client's next call; pinging only while a call is in flight keeps long-lived stores usable.
#: A private subchannel pool keeps one store's GOAWAY from reaching another store's channel.
_GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": False, "grpc.use_local_subchannel_pool": 1}


class MilvusVectorStore:
    """A :class:`~medkb.stores.vector.base.VectorStore` in a Milvus collection.

    Args:
        uri: a Milvus Lite path ending in ``.db`` (created if missing), or a server URL
            ``http(s)://host:port`` (``milvus://host:port`` is taken as ``http://``).
        dimension: length of every embedding.
        collection: collection name; one per knowledge base.
        timeout: seconds each call may take, retries included, before it fails.
    """

    #: Texts and adjacency lists over these are cut in this store's copy (see module doc).
    copy_limits = CopyLimits(
        question_chars=MAX_QUESTION_CHARS,
        response_chars=MAX_RESPONSE_CHARS,
        related_bytes=_MAX_JSON_BYTES - 1_024,  # a margin for the driver's encoding
    )

    def __init__(
        self,
        uri: str,
        *,
        dimension: int,
        collection: str = COLLECTION,
        timeout: float = 30.0,
    ) -> None:
        self.dimension = dimension
        self.collection = collection
        self.timeout = timeout
        self.uri, self._lite_path = _client_uri(uri)
        self._lock = threading.Lock()
        self._pymilvus = _pymilvus()
        self._errors = _driver_errors(self._pymilvus)
        self._client: Any = None
        self._client = self._connect()
        try:
            with self._translated("opening the collection"):
                self._ensure_collection()
        except BaseException:
            self.close()
            raise

    # ---- connecting ---------------------------------------------------------------------

    def _connect(self) -> Any:
        if self._lite_path is not None:
            _lite_servers.acquire(self._lite_path)
        try:
            with self._translated("connecting"):
                return self._pymilvus.MilvusClient(
                    uri=self.uri, timeout=self.timeout, grpc_options=_GRPC_OPTIONS
                )
        except BaseException:
            if self._lite_path is not None:
                _lite_servers.release(self._lite_path)
            raise

    @property
    def _hint(self) -> str:
        if self._lite_path is not None:
            return (
                f"Check that {self._lite_path} is a Milvus Lite data directory this process "
                "can write, or set MEDKB_VECTOR_URL to another path or to 'local'."
            )
        return (
            f"Check that a Milvus server is running and reachable at {mask_url(self.uri)} "
            "(MEDKB_VECTOR_URL), or set MEDKB_VECTOR_URL=local to use the embedded index."
        )

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Turn pymilvus and gRPC errors into :class:`VectorStoreError`."""
        try:
            yield
        except self._errors as exc:
            message = getattr(exc, "message", None) or str(exc)
            raise VectorStoreError(
                f"Milvus failed while {action} ({self.collection} at {mask_url(self.uri)}): "
                f"{redact(message)}. {self._hint}"
            ) from exc

    def _ensure_collection(self) -> None:
        if self._client.has_collection(self.collection, timeout=self.timeout):
            self._check_schema(self._client.describe_collection(self.collection))
        else:
            self._create_collection()
        self._client.load_collection(self.collection, timeout=self.timeout)

    def _check_schema(self, description: dict[str, Any]) -> None:
        fields = {field["name"]: field for field in description.get("fields", [])}
        required = (*_SCALARS, "embedding_model", *FILTERABLE_KEYS)
        missing = [name for name in required if name not in fields]
        if missing:
            raise VectorStoreError(
                f"The Milvus collection {self.collection!r} at {mask_url(self.uri)} exists but "
                f"was not made by medkb (no {', '.join(missing)} field). Drop it, or use another "
                "collection or MEDKB_VECTOR_URL."
            )
        stored = int(fields["question_embedding"].get("params", {}).get("dim", 0))
        if stored != self.dimension:
            raise VectorStoreError(
                f"The Milvus collection {self.collection!r} at {mask_url(self.uri)} holds "
                f"{stored}-dimensional vectors, but {self.dimension} were asked for (another "
                "embedding model?). Use the model it was built with, or drop the collection "
                "and rebuild it from the relational store."
            )

    def _create_collection(self) -> None:
        client = self._client
        client.create_collection(
            self.collection, schema=self._schema(), consistency_level="Strong",
            timeout=self.timeout,
        )  # fmt: skip
        index = client.prepare_index_params()
        for name in VECTOR_FIELDS:
            index.add_index(
                field_name=f"{name}_embedding", index_type="AUTOINDEX", metric_type="COSINE"
            )
        # sync=False: pymilvus would poll the build every 0.5 s; the collection is empty.
        client.create_index(self.collection, index, sync=False, timeout=self.timeout)

    def _schema(self) -> Any:
        data_type = self._pymilvus.DataType
        schema = self._pymilvus.MilvusClient.create_schema(
            auto_id=False, enable_dynamic_field=False
        )
        schema.add_field("id", data_type.VARCHAR, is_primary=True, max_length=_KEY_BYTES)
        schema.add_field("tenant_id", data_type.VARCHAR, max_length=_KEY_BYTES)
        for name, limit in _TEXT_BYTES.items():
            schema.add_field(name, data_type.VARCHAR, max_length=limit)
        for name in VECTOR_FIELDS:
            schema.add_field(f"{name}_embedding", data_type.FLOAT_VECTOR, dim=self.dimension)
        schema.add_field("metadata", data_type.JSON)
        schema.add_field("related_nodes", data_type.JSON)
        for key in (*FILTERABLE_KEYS, "embedding_model"):
            schema.add_field(key, data_type.VARCHAR, max_length=_KEY_BYTES)
        return schema

    def _call(self, action: str, method: str, /, **arguments: Any) -> Any:
        """Call a MilvusClient method on our collection, with timeout and translated errors.

        The lock only guards the client reference: MilvusClient is thread-safe, and
        searches from several threads should run in parallel.
        """
        with self._lock:
            client = self._client
        if client is None:
            raise VectorStoreError("This Milvus vector store is closed; open a new one.")
        with self._translated(action):
            try:
                return getattr(client, method)(self.collection, timeout=self.timeout, **arguments)
            except self._errors as exc:
                if not _not_loaded(exc):
                    raise
                # A restarted server keeps the collection but not its loaded state.
                client.load_collection(self.collection, timeout=self.timeout)
                return getattr(client, method)(self.collection, timeout=self.timeout, **arguments)

    # ---- the VectorStore contract -------------------------------------------------------

    def upsert(self, records: Sequence[VectorRecord]) -> None:
        """Insert or replace records by id, in batches (each batch is atomic in Milvus).

        Each record is first fitted to :attr:`copy_limits`.
        """
        unique = [fit_record(record, self.copy_limits) for record in last_per_id(records)]
        for record in unique:
            check_record(record, self.dimension)
        for start in range(0, len(unique), _BATCH):
            rows = [_row(record) for record in unique[start : start + _BATCH]]
            self._call("writing records", "upsert", data=rows)

    def delete(self, ids: Sequence[str]) -> None:
        """Remove records by id; unknown ids are ignored."""
        for start in range(0, len(ids), _BATCH):
            chunk = list(ids[start : start + _BATCH])
            self._call("deleting records", "delete", filter=f"id in {_literals(chunk)}")

    def search(
        self,
        vector: Vector,
        *,
        field: VectorField,
        k: int,
        tenant_id: str,
        filters: Filters | None = None,
    ) -> list[VectorHit]:
        """Return up to ``k`` hits of ``tenant_id`` by cosine similarity, best first."""
        query = as_vector(vector, dimension=self.dimension, what="The query vector")
        expression = filter_expression(tenant_id, checked_filters(filters))
        if field not in VECTOR_FIELDS:
            raise VectorStoreError(f"Unknown vector field {field!r}; use one of {VECTOR_FIELDS}.")
        if k <= 0:
            return []
        results = self._call(
            "searching",
            "search",
            data=[query.tolist()],
            anns_field=f"{field}_embedding",
            limit=min(k, _MAX_TOP_K),
            filter=expression,
            output_fields=["id"],
            search_params={"metric_type": "COSINE"},
        )
        return [
            VectorHit(id=str(hit["id"]), score=min(1.0, max(-1.0, float(hit["distance"]))))
            for hit in results[0]
        ]

    def fetch(self, ids: Sequence[str]) -> list[VectorRecord]:
        """Return the stored records for ``ids`` in that order (missing ids are skipped)."""
        found: dict[str, VectorRecord] = {}
        for start in range(0, len(ids), _BATCH):
            chunk = list(ids[start : start + _BATCH])
            rows = self._call(
                "reading records",
                "query",
                filter=f"id in {_literals(chunk)}",
                output_fields=_OUTPUT_FIELDS,
            )
            found.update((str(row["id"]), _record(row)) for row in rows)
        return ordered(found, ids)

    def ids(self, tenant_id: str | None = None) -> Iterator[str]:
        """Every stored id (of one tenant, or all), in id order.

        Pages by primary key (``id > last``) with Milvus's iterator mode, which returns
        each page in key order; pymilvus's own iterator does not escape string keys.
        """
        found: list[str] = []
        while True:
            clauses = [] if tenant_id is None else [f"tenant_id == {_literal(tenant_id)}"]
            clauses.append(f"id > {_literal(found[-1])}" if found else 'id != ""')
            page = self._call(
                "listing ids",
                "query",
                filter=" and ".join(clauses),
                output_fields=["id"],
                limit=_PAGE,
                iterator="True",
                reduce_stop_for_best="True",
            )
            found.extend(sorted(str(row["id"]) for row in page))
            if len(page) < _PAGE:
                return iter(found)

    def count(self, tenant_id: str | None = None) -> int:
        """Number of stored records (of one tenant, or all)."""
        expression = "" if tenant_id is None else f"tenant_id == {_literal(tenant_id)}"
        rows = self._call("counting", "query", filter=expression, output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def drop(self) -> None:
        """Drop the collection and close the client."""
        try:
            self._call("dropping the collection", "drop_collection")
        finally:
            self.close()

    def close(self) -> None:
        """Close the client and, for Milvus Lite, stop its in-process server when unused."""
        with self._lock:
            client, self._client = self._client, None
        if client is None:
            return
        try:
            client.close()
        except self._errors:
            pass  # closing a client to a dead server: nothing left to release
        finally:
            if self._lite_path is not None:
                _lite_servers.release(self._lite_path)


# ---- expressions and rows ------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


#: Milvus's error code for a collection that exists but is not loaded into memory.
_COLLECTION_NOT_LOADED = 101


def _not_loaded(exc: BaseException) -> bool:
    """Whether a driver error says the collection must be load()-ed first."""
    return getattr(exc, "code", None) == _COLLECTION_NOT_LOADED or "call load()" in str(exc)


def _literal(value: str) -> str:
    """A Milvus string literal: double-quoted, with C-style escapes."""
    return '"' + value.translate(_ESCAPES) + '"'


def _literals(values: Sequence[str]) -> str:
    return "[" + ", ".join(_literal(value) for value in values) + "]"


def filter_expression(tenant_id: str, filters: dict[str, list[str]]) -> str:
    """The Milvus boolean expression for a tenant and checked filters (keys AND, values OR).

    ``("t1", {"category": ["Cardiology", "Oncology"]})`` gives
    ``tenant_id == "t1" and category in ["Cardiology", "Oncology"]``.
    """
    clauses = [f"tenant_id == {_literal(tenant_id)}"]
    clauses += [f"{key} in {_literals(values)}" for key, values in filters.items()]
    return " and ".join(clauses)


def _row(record: VectorRecord) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": record.id,
        "tenant_id": record.tenant_id,
        "question": record.question,
        "response": record.response,
        "metadata": dict(record.metadata),
        "related_nodes": list(record.related_nodes),
        "embedding_model": record.embeddings.model_id,
    }
    for key in FILTERABLE_KEYS:
        row[key] = record.metadata.get(key) or ""
    for name in VECTOR_FIELDS:
        row[f"{name}_embedding"] = np.asarray(record.embeddings.get(name), np.float32).tolist()
    return row


def _record(row: dict[str, Any]) -> VectorRecord:
    def vector(name: str) -> Vector:
        return np.asarray(row[f"{name}_embedding"], dtype=np.float32)

    return VectorRecord(
        id=str(row["id"]),
        tenant_id=str(row["tenant_id"]),
        question=str(row["question"]),
        response=str(row["response"]),
        metadata={str(k): str(v) for k, v in (row["metadata"] or {}).items()},
        related_nodes=[str(node) for node in (row["related_nodes"] or [])],
        embeddings=Embeddings(
            question=vector("question"),
            response=vector("response"),
            combined=vector("combined"),
            model_id=str(row["embedding_model"]),
        ),
    )


# ---- connection details ---------------------------------------------------------------------


def _client_uri(uri: str) -> tuple[str, Path | None]:
    """The URI to give pymilvus, and the Milvus Lite path when it is one."""
    if uri.startswith("milvus://"):
        return "http://" + uri.removeprefix("milvus://"), None
    if uri.startswith(("http://", "https://", "tcp://", "unix:")):
        return uri, None
    path = Path(uri.removeprefix("file://")).expanduser().resolve()
    if path.suffix != ".db":
        raise VectorStoreError(
            f"'{mask_url(uri)}' is not a Milvus URI: use a Milvus Lite path ending in '.db' or "
            "http://host:port for a Milvus server."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VectorStoreError(f"Cannot create {path.parent} for Milvus Lite: {exc}.") from exc
    return str(path), path


def _driver_errors(pymilvus: ModuleType) -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [pymilvus.MilvusException]
    try:
        import grpc

        errors.append(grpc.RpcError)
    except ImportError:  # pragma: no cover - grpc comes with pymilvus
        pass
    return tuple(errors)


class _LiteServers:
    """Reference counts of the in-process Milvus Lite servers pymilvus starts per ``.db``.

    pymilvus starts one server per path and never stops it; stopping it when the last
    store on that path closes flushes the files and frees them for other processes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[Path, int] = {}

    def acquire(self, path: Path) -> None:
        if not _has_milvus_lite():
            raise missing_dependency("milvus-lite", "milvus", "A Milvus Lite '.db' file")
        with self._lock:
            self._users[path] = self._users.get(path, 0) + 1

    def release(self, path: Path) -> None:
        with self._lock:
            users = self._users.get(path, 0) - 1
            if users > 0:
                self._users[path] = users
                return
            self._users.pop(path, None)
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(str(path))


def _has_milvus_lite() -> bool:
    try:
        import milvus_lite.server_manager  # noqa: F401
    except ImportError:
        return False
    return True


_lite_servers = _LiteServers()
