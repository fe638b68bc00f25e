"""``medkb worker``: a long-running process that applies the outbox to the vector store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from medkb.cli.context import console, print_json, run
from medkb.errors import ConfigError, InputError, StoreError

if TYPE_CHECKING:
    from medkb.stream.consumer import StreamWorker
    from medkb.stream.health import HealthServer
    from medkb.sync.worker import Strategy, WorkerStats

OnceOpt = Annotated[bool, typer.Option("--once", help="Apply everything due now, then exit.")]
StrategyOpt = Annotated[
    str | None,
    typer.Option(
        help="eventual (poll and apply) or batch (apply in bulk on thresholds); default "
        "MEDKB_SYNC_STRATEGY, with realtime read as eventual."
    ),
]
IntervalOpt = Annotated[
    float | None, typer.Option(help="Seconds between polls (MEDKB_SYNC__INTERVAL_S).")
]
RowsOpt = Annotated[
    int | None, typer.Option(help="batch: apply at this many due rows (MEDKB_SYNC__BATCH_ROWS).")
]
AgeOpt = Annotated[
    float | None,
    typer.Option(
        help="batch: apply when the oldest due row is this old (MEDKB_SYNC__BATCH_SECONDS)."
    ),
]
LeaseOpt = Annotated[
    float | None,
    typer.Option(help="Seconds a worker holds the ids it applies (MEDKB_SYNC__LEASE_S)."),
]
MaxOpt = Annotated[
    float | None, typer.Option(help="Stop after this many seconds (default: run until stopped).")
]
NameOpt = Annotated[str | None, typer.Option(help="Name in the lease owner (default host:pid).")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON summary on exit instead of text.")
]
BusOpt = Annotated[
    str | None,
    typer.Option(
        "--bus",
        metavar="URL",
        help="Consume events from this bus instead of draining the outbox: db, "
        "sqlite:///FILE, postgresql://…, redis://HOST:PORT/DB or kafka://HOST:PORT.",
    ),
]
TopicOpt = Annotated[str, typer.Option("--topic", metavar="NAME", help="--bus: the topic.")]
GroupOpt = Annotated[
    str,
    typer.Option(
        "--group", metavar="NAME", help="--bus: the consumer group; its workers share the work."
    ),
]
HealthPortOpt = Annotated[
    int | None,
    typer.Option(
        "--health-port",
        min=0,
        max=65535,
        help="--bus: serve /health/live, /health/ready, /health/bus and /metrics on "
        "HOST:PORT (see --health-host).",
    ),
]
HealthHostOpt = Annotated[
    str,
    typer.Option(
        "--health-host",
        metavar="HOST",
        help="--bus: the address --health-port binds; 0.0.0.0 in a container, so probes and "
        "Prometheus reach it (the endpoints have no authentication).",
    ),
]
BatchOpt = Annotated[
    int | None,
    typer.Option("--batch-size", min=1, help="--bus: events per batch (MEDKB_STREAM__BATCH_SIZE)."),
]


def worker_command(
    ctx: typer.Context,
    once: OnceOpt = False,
    strategy: StrategyOpt = None,
    interval: IntervalOpt = None,
    batch_rows: RowsOpt = None,
    batch_seconds: AgeOpt = None,
    lease_seconds: LeaseOpt = None,
    max_seconds: MaxOpt = None,
    name: NameOpt = None,
    json_out: JsonOpt = False,
    bus: BusOpt = None,
    topic: TopicOpt = "medkb-events",
    group: GroupOpt = "medkb",
    batch_size: BatchOpt = None,
    health_port: HealthPortOpt = None,
    health_host: HealthHostOpt = "127.0.0.1",
) -> None:
    """Apply the outbox to the vector store until stopped (SIGTERM / Ctrl-C stop gracefully).

    Several workers may run at once against one database; each pair id is applied by one
    worker at a time. With --once it exits 69 if a store failed (the rows stay pending).

    With --bus it consumes events instead (qa.upserted, qa.deleted, document.uploaded,
    feedback.given, behaviour.event), acks them once the stores commit, and sends invalid
    ones to the topic's dead letters ('medkb dlq list'); with --once it stops when the
    topic has nothing left to deliver. For example
    `medkb worker --bus redis://127.0.0.1:6379/0 --topic kb --group ingest`.

    Run it under a supervisor, for instance with
    `medkb worker --strategy batch --batch-rows 1000 --batch-seconds 30`.

    Example: medkb worker --once --json
    """
    overrides = {
        "interval_s": interval,
        "batch_rows": batch_rows,
        "batch_seconds": batch_seconds,
        "lease_s": lease_seconds,
    }

    if bus is not None:
        stream_worker(
            ctx,
            bus=bus,
            topic=topic,
            group=group,
            options={"batch_size": batch_size},
            health_port=health_port,
            health_host=health_host,
            once=once,
            max_seconds=max_seconds,
            name=name,
            json_out=json_out,
        )
        return

    from medkb.sync.worker import Worker

    def work(kb: Any) -> WorkerStats:
        from medkb.app import collection_opener  # lazily, as every command opens the KB

        chosen = pick_strategy(strategy or kb.settings.sync_strategy)
        sync = kb.settings.sync.model_copy(
            update={key: value for key, value in overrides.items() if value is not None}
        )
        worker = Worker(
            engine=kb.engine,
            store=kb.store,
            settings=sync,
            strategy=chosen,
            name=name,
            opener=collection_opener(kb),
        )
        worker.handle_signals()
        if not json_out:
            until = "" if once else "; SIGTERM or Ctrl-C stops it."
            console.print(f"medkb worker ({chosen}): polling every {sync.interval_s:g} s{until}")
        return worker.run(once=once, max_seconds=max_seconds)

    stats: WorkerStats = run(ctx, work)
    print_json(stats.to_dict()) if json_out else print_summary(stats)
    if once and stats.errors:
        raise typer.Exit(StoreError.exit_code)  # a script running --once must see the failure


def print_summary(stats: WorkerStats) -> None:
    """One line: what the worker applied, over how long, with its errors."""
    last = f" Last: {stats.last_error}" if stats.last_error else ""
    console.print(
        f"Applied {stats.applied} id(s) in {stats.passes} pass(es) over "
        f"{stats.seconds:.1f} s; {stats.failed} rejected by the vector store (see 'medkb sync "
        f"status'); {stats.errors} error(s).{last}",
        highlight=False,
    )


def pick_strategy(value: str) -> Strategy:
    """The worker strategy for ``value``; ``realtime`` writes leave only leftovers: eventual."""
    if value in ("realtime", "eventual"):
        return "eventual"
    if value == "batch":
        return "batch"
    raise InputError(f"Unknown sync strategy {value!r}; use eventual or batch.")


def serve_health(worker: StreamWorker, host: str, port: int) -> HealthServer:
    """Start the worker's /health and /metrics server; a clear error if it cannot bind."""
    from medkb.stream.health import HealthServer

    try:
        return HealthServer(worker, host=host, port=port)
    except OSError as exc:
        raise ConfigError(
            f"Cannot serve /health and /metrics on {host}:{port} (--health-host, "
            f"--health-port): {exc.strerror or exc}."
        ) from exc


def stream_worker(
    ctx: typer.Context,
    *,
    bus: str,
    topic: str,
    group: str,
    options: dict[str, Any],
    once: bool,
    max_seconds: float | None,
    name: str | None,
    json_out: bool,
    health_port: int | None = None,
    health_host: str = "127.0.0.1",
) -> None:
    """``medkb worker --bus``: consume ``topic`` as a member of ``group``."""
    from medkb.app import guard_dependencies
    from medkb.stream.bus.registry import open_bus
    from medkb.stream.consumer import StreamWorker

    def work(kb: Any) -> Any:
        settings = kb.settings.stream.model_copy(
            update={key: value for key, value in options.items() if value is not None}
        )
        opened = open_bus(
            bus,
            database_url=kb.settings.resolved_database_url(),
            visibility_s=settings.visibility_s,
        )
        guarded_kb, breakers = guard_dependencies(kb)
        try:
            worker = StreamWorker(
                kb=guarded_kb,
                bus=opened,
                topic=topic,
                group=group,
                settings=settings,
                breakers=breakers,
                name=name,
            )
            worker.handle_signals()
            health = None if health_port is None else serve_health(worker, health_host, health_port)
            if not json_out:
                serving = (
                    f" /health and /metrics on http://{health_host}:{health.port};"
                    if health
                    else ""
                )
                console.print(
                    f"medkb worker: consuming {topic} on {opened.url} as {worker.name} in "
                    f"group {group};{serving} SIGTERM or Ctrl-C stops it.",
                    highlight=False,
                )
            try:
                return worker.run(max_seconds=max_seconds, until_idle=once)
            finally:
                if health is not None:
                    health.close()
        finally:
            guarded_kb.close()
            opened.close()

    stats = run(ctx, work)
    if json_out:
        print_json(stats.to_dict())
    else:
        console.print(
            f"Consumed {stats.consumed} event(s) in {stats.batches} batch(es) over "
            f"{stats.seconds:.1f} s: {stats.applied} applied, {stats.skipped} already applied, "
            f"{stats.dead_lettered} dead-lettered, {stats.errors} failed batch(es).",
            highlight=False,
        )
    if once and stats.errors:
        raise typer.Exit(StoreError.exit_code)
