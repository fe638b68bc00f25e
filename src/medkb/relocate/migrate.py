"""``medkb migrate``: move a knowledge base to PostgreSQL, verified against one snapshot.

1. Open the source read-only (:mod:`medkb.relocate.source`): its schema must already be at
   this medkb's newest revision, since upgrading it would be a write. Check the target: a
   reachable PostgreSQL that is empty, holds an unfinished copy of this same source, or
   already holds exactly this knowledge base. Anything else is refused before a write.
2. Create the target schema with the same Alembic migrations every medkb database gets.
3. Copy every table of the schema in foreign-key order (:mod:`medkb.relocate.table_copy`),
   skipping tables whose row count and checksum already match.
4. The write fence (:mod:`medkb.relocate.fence`): checksum every table in ONE snapshot of
   the source, catch up the tables that differ from that snapshot, and repeat until a
   snapshot finds nothing to catch up; its checksums are the report's. Then move the
   serial-id sequences past the copied ids.
5. Keep the vector store when it does not live in the relational database (``local``,
   Milvus, a separate pgvector), or rebuild it from the stored embeddings (no re-embedding)
   into the new one, e.g. ``--vector-url pgvector``; verify it (``sync verify``) and report
   the settings to switch to. The source is never written to.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from medkb.config import Settings, normalise_postgres_url
from medkb.errors import DatabaseUnavailable, InputError, RelationalStoreError
from medkb.redact import mask_url
from medkb.relocate import table_copy
from medkb.relocate.checksums import TableDigest, table_digest
from medkb.relocate.fence import FenceResult, final_pass
from medkb.relocate.source import open_source
from medkb.relocate.vectors import VectorMove, move_vectors
from medkb.stores.relational import engine as relational
from medkb.stores.relational.errors import driver_detail
from medkb.stores.relational.schema import kb_info, metadata


@dataclass(frozen=True)
class TableReport:
    """One table after the migration: rows, seconds, and whether both sides agree."""

    table: str
    rows: int
    copied: int
    seconds: float
    source_checksum: str  # of the final snapshot of the source
    target_checksum: str
    skipped: bool  # already verified equal before this run
    caught_up: int = 0  # rows the final passes upserted or deleted

    @property
    def match(self) -> bool:
        """Whether the target table holds exactly the source table's rows."""
        return self.source_checksum == self.target_checksum


@dataclass
class MigrateReport:
    """What ``medkb migrate`` did, and the settings to use from now on."""

    source: str
    target: str  # password hidden
    database_url: str  # as given, for MEDKB_DATABASE_URL; printed with the password masked
    tables: list[TableReport] = field(default_factory=list)
    vectors: VectorMove | None = None
    passes: int = 0  # final passes until one snapshot found nothing to catch up
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every table matches and the vector store verifies clean."""
        return all(t.match for t in self.tables) and (self.vectors is None or self.vectors.clean)

    def settings(self) -> dict[str, str]:
        """The environment to point medkb at the migrated knowledge base, passwords as ``***``."""
        found = {"MEDKB_DATABASE_URL": mask_url(self.database_url)}
        if self.vectors is not None:
            found["MEDKB_VECTOR_URL"] = mask_url(self.vectors.url)
        return found

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "source": self.source,
            "target": self.target,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "passes": self.passes,
            "tables": [{**asdict(t), "match": t.match} for t in self.tables],
            "vectors": None if self.vectors is None else self.vectors.to_dict(),
            "settings": self.settings(),
        }


def migrate(
    settings: Settings,
    *,
    target_url: str,
    vector_url: str | None = None,
    batch_size: int = 1000,
    on_batch: table_copy.BatchHook | None = None,
) -> MigrateReport:
    """Copy the knowledge base ``settings`` describe into the PostgreSQL at ``target_url``.

    Args:
        settings: the current knowledge base (source).
        target_url: ``postgresql://user:password@host:port/dbname``; the database must exist.
        vector_url: the vector store to use afterwards; default: the current one when it is
            independent of the relational database.
        batch_size: rows per read and per target transaction.
        on_batch: called after each committed batch (progress display).

    Raises:
        InputError: the target URL is not PostgreSQL, is the source itself, or holds a
            different knowledge base; or the source's schema is not at the newest revision.
        NotFound: there is no knowledge base at the source.
        RelationalStoreError: the target is unreachable, or writers kept writing to the
            source through every final pass (stop them and run it again: it resumes).
    """
    started = time.perf_counter()
    target = _target_url(target_url, settings)
    if batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, not {batch_size}.")
    source_engine = open_source(settings)
    target_engine = relational.make_engine(target)
    try:
        report = _run(
            settings,
            source_engine,
            target_engine,
            vector_url=vector_url,
            batch_size=batch_size,
            on_batch=on_batch,
            database_url=target_url,
        )
    finally:
        source_engine.dispose()
        target_engine.dispose()
    report.seconds = time.perf_counter() - started
    return report


def _run(
    settings: Settings,
    source: sa.Engine,
    target: sa.Engine,
    *,
    vector_url: str | None,
    batch_size: int,
    on_batch: table_copy.BatchHook | None,
    database_url: str,
) -> MigrateReport:
    source_name = _display(source.url)
    _probe(target)
    tables = _tables(source)
    digests = _Digests(source, target)
    _check_target(digests, tables, source_name=source_name)
    relational.upgrade(target)
    table_copy.ensure_progress(target)
    report = MigrateReport(
        source=source_name, target=_display(target.url), database_url=database_url
    )
    copies = [
        _copy(digests, table, source_name=source_name, batch_size=batch_size, on_batch=on_batch)
        for table in tables
    ]
    fence = final_pass(source, target, tables, on_batch=on_batch)
    table_copy.reset_sequences(target, tables)
    report.tables = [_table_report(copy, fence) for copy in copies]
    report.passes = fence.passes
    report.vectors = move_vectors(settings, target=target, vector_url=vector_url)
    table_copy.drop_progress(target)
    return report


def _target_url(url: str, settings: Settings) -> str:
    normalised = normalise_postgres_url(url.strip())
    if not normalised.startswith("postgresql"):
        raise InputError(
            f"--to '{mask_url(url)}' is not a PostgreSQL URL: give postgresql://user:password@host:port/"
            "dbname (create the database first, e.g. 'createdb medkb')."
        )
    if normalised == settings.resolved_database_url():
        raise InputError(
            f"--to names the knowledge base's own database ({_display(sa.make_url(url))}); "
            "give another, empty PostgreSQL database."
        )
    return normalised


def _probe(target: sa.Engine) -> None:
    try:
        with target.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except (sa.exc.DBAPIError, DatabaseUnavailable) as exc:
        raise RelationalStoreError(
            f"Cannot connect to the target {_display(target.url)}: "
            f"{driver_detail(exc)}. Check the --to URL, that the server "
            "is running and that the database exists. Nothing was changed; the source is "
            "untouched."
        ) from exc


def _tables(source: sa.Engine) -> list[sa.Table]:
    """The schema's tables in foreign-key order, as far as the source has them."""
    present = set(sa.inspect(source).get_table_names())
    return [table for table in metadata.sorted_tables if table.name in present]


def _check_target(digests: _Digests, tables: list[sa.Table], *, source_name: str) -> None:
    """Refuse a target that holds something other than (part of) this knowledge base."""
    source, target = digests.source, digests.target
    earlier = table_copy.progress_sources(target)
    if earlier == {source_name}:
        return  # an interrupted run of this same migration: resume it
    if earlier:
        raise InputError(
            f"The target {_display(target.url)} holds an unfinished migration from "
            f"{', '.join(sorted(earlier))}, not from {source_name}. Finish that one, or "
            "migrate into another, empty database."
        )
    present = set(sa.inspect(target).get_table_names())
    used = [t for t in tables if t.name in present and _has_rows(target, t)]
    if not used:
        return
    if _kb_info(source) != _kb_info(target) or not all(digests.equal(t) for t in used):
        raise InputError(
            f"The target {_display(target.url)} already holds a different knowledge base "
            f"(or different data in {', '.join(t.name for t in used[:3])}). medkb will not "
            "overwrite it: migrate into an empty database (createdb a new one), or drop "
            "this one if it is disposable."
        )


def _has_rows(engine: sa.Engine, table: sa.Table) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None
        )


def _kb_info(engine: sa.Engine) -> dict[str, str]:
    if not sa.inspect(engine).has_table(kb_info.name):
        return {}
    with engine.connect() as conn:
        return {row.key: row.value for row in conn.execute(sa.select(kb_info))}


class _Digests:
    """Table digests of both sides, each computed once unless asked ``fresh``."""

    def __init__(self, source: sa.Engine, target: sa.Engine) -> None:
        self.source, self.target = source, target
        self._known: dict[tuple[bool, str], TableDigest] = {}

    def of(self, table: sa.Table, *, on_target: bool, fresh: bool = False) -> TableDigest:
        key = (on_target, table.name)
        if fresh or key not in self._known:
            with (self.target if on_target else self.source).connect() as conn:
                self._known[key] = table_digest(conn, table)
        return self._known[key]

    def equal(self, table: sa.Table) -> bool:
        return self.of(table, on_target=False) == self.of(table, on_target=True)


@dataclass(frozen=True)
class _Copied:
    table: str
    copied: int
    seconds: float
    skipped: bool


def _copy(
    digests: _Digests,
    table: sa.Table,
    *,
    source_name: str,
    batch_size: int,
    on_batch: table_copy.BatchHook | None,
) -> _Copied:
    """Copy one table unless it already matches; the final pass checks it."""
    started = time.perf_counter()
    equal = digests.equal(table)
    copied = 0
    if not equal:
        copied = table_copy.copy_table(
            digests.source,
            digests.target,
            table,
            source_name=source_name,
            batch_size=batch_size,
            on_batch=on_batch,
        )
    return _Copied(table.name, copied, time.perf_counter() - started, equal)


def _table_report(copy: _Copied, fence: FenceResult) -> TableReport:
    final = fence.tables[copy.table]
    return TableReport(
        table=copy.table,
        rows=final.source.rows,
        copied=copy.copied,
        seconds=round(copy.seconds, 3),
        source_checksum=final.source.checksum,
        target_checksum=final.target.checksum,
        skipped=copy.skipped and not final.caught_up,
        caught_up=final.caught_up,
    )


def _display(url: sa.URL) -> str:
    """A URL safe to print: the password hidden."""
    return url.render_as_string(hide_password=True)
