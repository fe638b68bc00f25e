"""The records medkb stores and returns.

Plain dataclasses: they carry data between stores, services and edges, and know how to
turn themselves into JSON-ready dicts. Embeddings are float32 numpy vectors, L2-normalised.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
VectorField = Literal["question", "response", "combined"]
VECTOR_FIELDS: tuple[VectorField, ...] = ("question", "response", "combined")
DEFAULT_TENANT = "default"

#: Metadata keys the vector store keeps beside the vectors and can filter on.
FILTERABLE_KEYS: tuple[str, ...] = ("category", "source", "source_type", "language")

#: SPEC §A field limits: the question / response VARCHAR sizes of the Milvus collection.
#: They bound a vector backend's copy only (``stores.vector.fit``): the relational store,
#: the system of record, keeps longer texts whole.
MAX_QUESTION_CHARS = 5_000
MAX_RESPONSE_CHARS = 10_000
#: The longest question or response medkb accepts at all, to protect the service: over
#: three times the longest real answer we hold (MEDIQA 2019's corpus: 55,130 characters),
#: and far inside PostgreSQL's 1 MB tsvector limit even for text of all-distinct words.
MAX_TEXT_CHARS = 200_000
#: Longest pair id and tenant id (the relational key columns); longest language code.
MAX_ID_CHARS = 128
MAX_TENANT_CHARS = 64
MAX_LANGUAGE_CHARS = 16
#: Longest value of a filterable metadata key (FILTERABLE_KEYS), in UTF-8 bytes: the size
#: of Milvus's VARCHAR fields for them.
MAX_KEY_BYTES = 1_024


@dataclass
class QAMetadata:
    """Descriptive metadata of a Q&A pair (SPEC §A ``medical_qa_metadata``)."""

    category: str | None = None
    subcategory: str | None = None
    source: str | None = None
    source_type: str | None = None
    author: str | None = None
    published: str | None = None  # ISO date
    language: str = "en"
    difficulty: str | None = None
    tags: list[str] = field(default_factory=list)
    is_active: bool = True
    #: Anything else a loader knows (MedQuAD focus, UMLS CUIs, semantic types, qtype, url).
    extra: dict[str, Any] = field(default_factory=dict)

    def basic(self) -> dict[str, str]:
        """The filterable subset the vector store keeps."""
        values = {key: getattr(self, key) for key in FILTERABLE_KEYS}
        return {key: value for key, value in values.items() if value is not None}


@dataclass
class Source:
    """Where a pair came from (SPEC §A ``document_sources``)."""

    document: str
    object_key: str | None = None
    page: int | None = None
    section: str | None = None
    excerpt: str | None = None
    url: str | None = None


@dataclass
class QAPair:
    """One question and its answer, as ingested or stored."""

    id: str
    question: str
    response: str
    metadata: QAMetadata = field(default_factory=QAMetadata)
    sources: list[Source] = field(default_factory=list)
    tenant_id: str = DEFAULT_TENANT
    created_at: str | None = None
    updated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Relation:
    """A typed edge between two pairs (SPEC §A ``medical_qa_relations``)."""

    source_id: str
    target_id: str
    type: str
    confidence: float
    origin: Literal["similarity", "metadata", "manual"] = "similarity"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Embeddings:
    """The three vectors of one pair, and the model that made them."""

    question: Vector
    response: Vector
    combined: Vector
    model_id: str

    def get(self, name: VectorField) -> Vector:
        vector: Vector = getattr(self, name)
        return vector


@dataclass
class VectorRecord:
    """What the vector store holds for one pair (SPEC §A collection fields)."""

    id: str
    tenant_id: str
    question: str
    response: str
    embeddings: Embeddings
    metadata: dict[str, str] = field(default_factory=dict)  # QAMetadata.basic() + created_at
    related_nodes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VectorHit:
    """One result of a vector search: cosine similarity in [-1, 1], higher is closer."""

    id: str
    score: float
