"""``medkb eval``: retrieval quality of a knowledge base on a BEIR-style data set."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medkb.cli.context import console, handled, print_json, progress_bar, state

if TYPE_CHECKING:
    from medkb.config import Settings
    from medkb.evaluation.harness import EvalReport


def evaluate_command(
    ctx: typer.Context,
    corpus: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, help="corpus.jsonl: id, question, answer per line."
        ),
    ],
    queries: Annotated[
        Path,
        typer.Option(exists=True, dir_okay=False, help="queries.jsonl: id and query per line."),
    ],
    qrels: Annotated[
        Path,
        typer.Option(exists=True, dir_okay=False, help="qrels.tsv: query-id, corpus-id, score."),
    ],
    home: Annotated[
        Path | None,
        typer.Option(
            help="Knowledge base to build or reuse (same corpus file → no re-ingest); "
            "default a temporary one."
        ),
    ] = None,
    mode: Annotated[str, typer.Option(help="hybrid, dense or keyword.")] = "hybrid",
    k: Annotated[int, typer.Option("--k", help="Cut-off of MRR and nDCG.")] = 10,
    depth: Annotated[
        int | None, typer.Option(help="Graph expansion depth, 0 to 2; default the query default.")
    ] = None,
    min_relevance: Annotated[
        int,
        typer.Option(help="Lowest qrel grade counted relevant (recall, MRR); MEDIQA uses 2."),
    ] = 1,
    embedder: Annotated[
        str | None, typer.Option(help="Embedding model: minilm or static (env MEDKB_EMBEDDER).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure retrieval: recall@1/5/10/100, MRR@k, nDCG@k and latency on judged queries.

    Ingests the corpus into a fresh knowledge base (or reuses --home when it was built
    from the same corpus file) and runs every judged query through the real query path.

    Example: medkb eval --corpus corpus.jsonl --queries queries.jsonl --qrels qrels.tsv --json
    """
    overrides: dict[str, Any] = dict(state(ctx).overrides)
    if embedder is not None:
        overrides["embedder"] = embedder
    home = home or overrides.pop("home", None)
    with handled(), _home(home) as where:
        report = _run(
            {**overrides, "home": where},
            files=(corpus, queries, qrels),
            options={"mode": mode, "k": k, "depth": depth, "min_relevance": min_relevance},
            quiet=json_out,
        )
    report.build["home"] = str(home) if home else None
    print_json(report.to_dict()) if json_out else _render(report)


def _run(
    overrides: dict[str, Any],
    *,
    files: tuple[Path, Path, Path],
    options: dict[str, Any],
    quiet: bool,
) -> EvalReport:
    from medkb.app import build
    from medkb.config import load_settings
    from medkb.evaluation.corpus import ensure_corpus
    from medkb.evaluation.datasets import load_qrels, load_queries
    from medkb.evaluation.harness import evaluate

    corpus, queries_file, qrels_file = files
    queries, qrels = load_queries(queries_file), load_qrels(qrels_file)
    with build(retrieval_only(load_settings(**overrides))) as kb, progress_bar(quiet) as bar:
        task = bar.add_task("ingest", total=None)
        built = ensure_corpus(
            kb,
            corpus,
            progress=lambda done, total, name: bar.update(task, completed=done, total=total),
        )
        bar.update(task, description="queries", completed=0, total=None)
        report = evaluate(
            kb,
            queries,
            qrels,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            **options,
        )
        report.build = {**built.to_dict(), "embedder": kb.embedder.model_id}
    return report


@contextmanager
def _home(home: Path | None) -> Iterator[Path]:
    if home is not None:
        yield home
        return
    with tempfile.TemporaryDirectory(prefix="medkb-eval-") as temporary:
        yield Path(temporary)


def _render(report: EvalReport) -> None:
    build = report.build
    how = "reused" if build.get("reused") else f"ingested in {build.get('ingest_s', 0):.1f} s"
    console.print(
        f"[bold]{build.get('corpus')}[/]: {build.get('pairs', 0):,} pairs ({how}), "
        f"embedder {build.get('embedder')}"
    )
    console.print(
        f"mode {report.mode}, depth {report.depth}, "
        f"{report.queries} queries evaluated ({report.skipped} without relevant documents)"
    )
    for name, value in report.metrics.items():
        console.print(f"  {name:<10} {value:.3f}")
    lat = report.latency_ms
    console.print(f"latency p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms")


def retrieval_only(settings: Settings) -> Settings:
    """``settings`` without the LLM answer mode: an evaluation measures retrieval, and must
    not send every judged query to a chat endpoint (``MEDKB_LLM_URL``)."""
    llm = settings.answer.llm.model_copy(update={"url": None})
    return settings.model_copy(update={"answer": settings.answer.model_copy(update={"llm": llm})})
