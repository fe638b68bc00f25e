"""The graph loses nothing and leaks nothing (issue 8, items 3, 4 and 9).

* similarity links come from the relational store's embeddings, so they appear even when
  the vector store lags (``eventual``) or fails;
* ``sync verify`` sees missing ``similar_to`` links and dangling relations, ``sync repair``
  fixes them;
* a manual relation never blocks a later write of its pair;
* the graph of a query and ``kb.get`` never show inactive, filtered-out or other tenants'
  pairs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.errors import VectorStoreError
from medkb.models import Vector, VectorHit
from medkb.stores.relational.schema import relations
from medkb.sync.graph import repair_graph, verify_graph
from medkb.sync.repair import repair
from medkb.sync.verify import verify
from medkb.transfer.export import export_to
from medkb.transfer.importer import import_file
from tests.integration.test_kb import CARDIO, OTHER, pair, store_matches_relational

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def similar(kb: KnowledgeBase, qa_id: str) -> set[str]:
    with kb.engine.connect() as conn:
        rows = conn.execute(
            sa.select(relations.c.target_id).where(
                relations.c.source_id == qa_id, relations.c.relation_type == "similar_to"
            )
        )
        return {row.target_id for row in rows}


def insert_relation(kb: KnowledgeBase, source: str, target: str, **row: object) -> None:
    values = {
        "tenant_id": kb.tenant_id,
        "source_id": source,
        "target_id": target,
        "relation_type": "similar_to",
        "confidence_score": 0.99,
        "origin": "similarity",
        "created_at": NOW,
        "updated_at": NOW,
        **row,
    }
    with kb.engine.begin() as conn:
        conn.execute(relations.insert().values(**values))


@pytest.fixture
def eventual(settings: Settings) -> Iterator[KnowledgeBase]:
    settings.sync_strategy = "eventual"
    settings.graph.similar_threshold = 0.0
    with build(settings) as kb:
        yield kb


@pytest.fixture
def other_tenant(settings: Settings) -> Iterator[KnowledgeBase]:
    with build(settings.model_copy(update={"tenant": "clinic-b"})) as kb:
        yield kb


# --- item 3: links no longer go missing ------------------------------------------------


def test_eventual_strategy_second_batch_links_to_first_before_any_worker_runs(
    eventual: KnowledgeBase,
) -> None:
    eventual.add(CARDIO[:1])
    eventual.add(CARDIO[1:])  # no worker ran: the vector store is still empty
    assert eventual.store.count() == 0
    assert "htn-symptoms" in similar(eventual, "htn-treatment")
    assert "htn-treatment" in similar(eventual, "htn-symptoms")
    assert verify_graph(
        eventual.engine, tenant_id=eventual.tenant_id, graph=eventual.settings.graph
    ).clean


class SearchOutage:
    """Forwards to a real vector store whose search fails."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def search(self, vector: Vector, **_: object) -> list[VectorHit]:
        raise VectorStoreError("connection refused (injected outage)")

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_vector_store_failing_during_linking_no_longer_drops_links(kb: KnowledgeBase) -> None:
    kb.settings.graph.similar_threshold = 0.0
    kb.add(OTHER)
    kb.store = kb.writer.store = SearchOutage(kb.store)  # type: ignore[assignment]
    kb.add(CARDIO)
    assert {"flu-vaccine", "asthma-triggers"} & similar(kb, "htn-causes")
    assert verify_graph(kb.engine, tenant_id=kb.tenant_id, graph=kb.settings.graph).clean


def test_every_pair_keeps_links_to_its_nearest_after_adds_updates_and_deletes(
    kb: KnowledgeBase,
) -> None:
    kb.settings.graph.similar_k, kb.settings.graph.similar_threshold = 2, 0.2
    extra = [
        pair("bp-diet", "Which diet lowers blood pressure?", "Less salt, more vegetables."),
        pair("flu-signs", "What are flu symptoms?", "Fever, cough, aches and tiredness."),
    ]
    for one in [*OTHER, *CARDIO, *extra]:
        kb.add([one])
    kb.update("htn-causes", response="Obesity, salt and age raise blood pressure.")
    kb.update("flu-vaccine", question="Does the flu shot protect older adults?")
    kb.delete("htn-symptoms")
    report = verify_graph(kb.engine, tenant_id=kb.tenant_id, graph=kb.settings.graph)
    assert report.clean, report.missing
    assert report.pairs == 6


def test_verify_detects_deleted_similar_to_row_and_dangling_relation_and_repair_fixes_them(
    kb: KnowledgeBase, other_tenant: KnowledgeBase
) -> None:
    kb.settings.graph.similar_threshold = 0.0
    kb.add(CARDIO + OTHER)
    other_tenant.add([pair("b-only", "Private question?", "Another tenant's answer.")])
    graph = kb.settings.graph
    assert verify_graph(kb.engine, tenant_id=kb.tenant_id, graph=graph).clean
    with kb.engine.begin() as conn:
        conn.execute(
            relations.delete().where(
                relations.c.source_id == "htn-causes", relations.c.target_id == "htn-treatment"
            )
        )
    insert_relation(kb, "htn-symptoms", "b-only")  # a row pointing into another tenant

    report = verify_graph(kb.engine, tenant_id=kb.tenant_id, graph=graph)
    assert [(m.source, m.target) for m in report.missing] == [("htn-causes", "htn-treatment")]
    assert [(d["source_id"], d["target_id"]) for d in report.dangling] == [
        ("htn-symptoms", "b-only")
    ]
    assert verify_graph(other_tenant.engine, tenant_id="clinic-b", graph=graph).dangling

    fixed = repair_graph(kb.engine, tenant_id=kb.tenant_id, graph=graph)
    assert (fixed.added, fixed.removed, fixed.after.clean) == (1, 1, True)
    assert "htn-treatment" in similar(kb, "htn-causes")
    assert "b-only" not in similar(kb, "htn-symptoms")
    assert repair(kb.engine, kb.store, tenant_id=kb.tenant_id).after.clean
    store_matches_relational(kb)
    assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean


def test_verify_finds_relation_to_a_pair_that_no_longer_exists(kb: KnowledgeBase) -> None:
    kb.add(OTHER)
    row = ("default", "flu-vaccine", "gone", "related_to", 0.5, "manual", NOW, NOW)
    insert = (
        "INSERT INTO medical_qa_relations (tenant_id, source_id, target_id, relation_type, "
        "confidence_score, origin, created_at, updated_at) VALUES "
    )
    if kb.engine.dialect.name == "sqlite":  # a plain sqlite3 connection: no foreign keys
        raw = sqlite3.connect(str(kb.engine.url.database))
        with raw:
            raw.execute(insert + "(?, ?, ?, ?, ?, ?, ?, ?)", [str(v) for v in row])
        raw.close()
    else:
        with kb.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql(insert + "(%s, %s, %s, %s, %s, %s, %s, %s)", row)
    graph = kb.settings.graph
    report = verify_graph(kb.engine, tenant_id=kb.tenant_id, graph=graph)
    assert [d["target_id"] for d in report.dangling] == ["gone"]
    assert repair_graph(kb.engine, tenant_id=kb.tenant_id, graph=graph).after.clean


# --- item 4: a manual relation never blocks a write -------------------------------------


def test_manual_relation_from_export_import_round_trip_no_longer_blocks_updates(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    kb.settings.graph.similar_threshold = 0.0
    kb.add(CARDIO + OTHER)
    exported = tmp_path / "kb.jsonl"
    export_to(kb.engine, "jsonl", str(exported), tenant_id=kb.tenant_id)
    records = [json.loads(line) for line in exported.read_text().splitlines()]
    for record in records:  # a file from another tool: relations without an origin
        for relation in record["relations"]:
            relation.pop("origin")
    exported.write_text("".join(json.dumps(record) + "\n" for record in records))
    import_file(kb, exported)
    manual = similar(kb, "htn-causes")
    assert manual and kb.get("htn-causes")["relations"][0]["origin"] == "manual"

    result = kb.update("htn-causes", response="Age, salt and obesity raise blood pressure.")
    assert result.updated == ["htn-causes"]
    kb.add([pair("htn-causes", "What causes high blood pressure?", "Salt and age.")])
    assert manual <= similar(kb, "htn-causes")
    store_matches_relational(kb)
    assert verify_graph(kb.engine, tenant_id=kb.tenant_id, graph=kb.settings.graph).clean


# --- item 9: the graph never leaks ------------------------------------------------------


def graph_nodes(kb: KnowledgeBase, **options: object) -> set[str]:
    result = kb.query("What raises blood pressure and how is it treated?", depth=2, **options)  # type: ignore[arg-type]
    return {node for step in result.graph for node in step.nodes} | {
        rel.target_id for hit in result.hits for rel in hit.relations
    }


def get_targets(kb: KnowledgeBase, qa_id: str) -> set[str]:
    return {rel["target_id"] for rel in kb.get(qa_id)["relations"]}


def test_inactive_neighbour_never_appears_in_graph_or_get(kb: KnowledgeBase) -> None:
    kb.settings.graph.similar_threshold = 0.0
    hidden = pair("htn-hidden", "What raises blood pressure?", "Withdrawn.", is_active=False)
    kb.add([*CARDIO, hidden])
    assert "htn-hidden" in similar(kb, "htn-treatment")  # linked in the store...
    assert "htn-hidden" not in graph_nodes(kb)  # ...but never shown
    assert all("htn-hidden" not in get_targets(kb, p.id) for p in CARDIO)


def test_neighbour_outside_category_filter_never_appears_in_graph(kb: KnowledgeBase) -> None:
    kb.settings.graph.similar_threshold = 0.0
    kb.add(CARDIO + OTHER)
    assert {"flu-vaccine", "asthma-triggers"} & similar(kb, "htn-treatment")
    nodes = graph_nodes(kb, filters={"category": ["Cardiology"]})
    assert nodes and nodes <= {p.id for p in CARDIO}
    assert {"flu-vaccine", "asthma-triggers"} & graph_nodes(kb)  # unfiltered: they show


def test_relation_to_another_tenants_pair_never_appears_in_graph_or_get(
    kb: KnowledgeBase, other_tenant: KnowledgeBase
) -> None:
    kb.add(CARDIO)
    other_tenant.add([pair("b-only", "What raises blood pressure?", "Clinic B's private answer.")])
    for source in [p.id for p in CARDIO]:
        insert_relation(kb, source, "b-only")
    insert_relation(
        kb, "htn-causes", "htn-treatment", tenant_id="clinic-b", relation_type="cause_of"
    )
    assert "b-only" not in graph_nodes(kb)
    assert all("b-only" not in get_targets(kb, p.id) for p in CARDIO)
    assert all(rel["type"] != "cause_of" for rel in kb.get("htn-causes")["relations"])


def test_relation_to_another_tenants_pair_never_makes_the_writer_link_that_pair(
    kb: KnowledgeBase, other_tenant: KnowledgeBase
) -> None:
    kb.settings.graph.similar_threshold = 0.0
    kb.add(CARDIO)
    other_tenant.add([pair("b-only", "What raises blood pressure?", "Clinic B's private answer.")])
    insert_relation(kb, "htn-symptoms", "b-only", origin="manual")
    kb.update("htn-symptoms", response="Usually none; sometimes headaches or nosebleeds.")
    kb.delete("htn-treatment")
    with kb.engine.connect() as conn:
        rows = conn.execute(
            sa.select(relations.c.source_id, relations.c.target_id).where(
                sa.or_(relations.c.source_id == "b-only", relations.c.target_id == "b-only")
            )
        ).all()
    assert [tuple(row) for row in rows] == [("htn-symptoms", "b-only")]  # only the forged row
