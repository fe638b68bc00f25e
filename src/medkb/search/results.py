"""What a query returns: the answer, the ranked hits, the graph walked and the timings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from medkb.answer.compose import AnswerInfo
from medkb.models import QAPair, Relation


@dataclass
class Hit:
    """One retrieved pair with its scores, sources and relations."""

    pair: QAPair
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    via_graph: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.pair.id,
            "question": self.pair.question,
            "response": self.pair.response,
            "score": round(self.score, 6),
            "scores": {name: round(value, 6) for name, value in self.scores.items()},
            "via_graph": self.via_graph,
            "metadata": dataclasses.asdict(self.pair.metadata),
            "sources": [dataclasses.asdict(source) for source in self.pair.sources],
            "relations": [rel.to_dict() for rel in self.relations],
        }


@dataclass
class GraphStep:
    """One traversed path from a retrieved pair into the graph."""

    nodes: list[str]
    relations: list[str]
    depth: int
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class QueryResult:
    """The full answer to one query."""

    query: str
    answer: str
    citations: list[dict[str, Any]]
    hits: list[Hit]
    graph: list[GraphStep]
    query_log_id: int | None
    timings_ms: dict[str, float]
    #: Safety flag, abstention, disclaimer, warnings and the answer mode.
    info: AnswerInfo = field(default_factory=AnswerInfo)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "answer": self.answer,
            "citations": self.citations,
            **self.info.to_dict(),
            "hits": [hit.to_dict() for hit in self.hits],
            "graph": [step.to_dict() for step in self.graph],
            "query_log_id": self.query_log_id,
            "timings_ms": {stage: round(ms, 2) for stage, ms in self.timings_ms.items()},
        }
