"""Retrieval sanity check of the embedders on MEDIQA 2019 (exact cosine search, recall@10).

Each corpus entry is embedded as ``question + " " + answer``; each query's top 10 by cosine
are scored against its ``relevant_ids``. Reported: recall@10 (share of a query's relevant
entries in its top 10, averaged), MRR@10, and both for the ``test`` split alone, so knobs
tuned on the other splits can be checked on held-out queries.

    python bench/embedder_quality.py                  # the shipped static embedder
    python bench/embedder_quality.py --minilm         # ... and all-MiniLM-L6-v2 (~2 min CPU)
    python bench/embedder_quality.py --sweep          # PCA dims x token weighting grid

``--sweep`` runs MiniLM over the vocabulary once (saved under --cache-dir as
``bench-token-embeddings.npz``) and rebuilds the static matrix for each setting.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from medkb.embed import static
from medkb.embed.minilm import MiniLMEmbedder
from medkb.embed.static import StaticEmbedder

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mediqa2019"
Vectors = npt.NDArray[np.float32]
EmbedFn = Callable[[Sequence[str]], Vectors]


@dataclass(frozen=True)
class Dataset:
    ids: list[str]
    documents: list[str]
    queries: list[str]
    relevant: list[set[str]]
    test: npt.NDArray[np.bool_]


def load(data: Path) -> Dataset:
    corpus = [json.loads(line) for line in (data / "corpus.jsonl").open(encoding="utf-8")]
    queries = [json.loads(line) for line in (data / "queries.jsonl").open(encoding="utf-8")]
    queries = [q for q in queries if q["relevant_ids"]]
    return Dataset(
        ids=[c["id"] for c in corpus],
        documents=[f"{c['question']} {c['answer']}" for c in corpus],
        queries=[q["query"] for q in queries],
        relevant=[set(q["relevant_ids"]) for q in queries],
        test=np.array([q.get("split") == "test" for q in queries]),
    )


def score(data: Dataset, docs: Vectors, queries: Vectors, k: int = 10) -> dict[str, float]:
    """Recall@k and MRR@k over all queries and over the test split."""
    top = np.argsort(-(queries @ docs.T), axis=1, kind="stable")[:, :k]
    recall, mrr = np.zeros(len(top)), np.zeros(len(top))
    for row, (hits, relevant) in enumerate(zip(top, data.relevant, strict=True)):
        found = [data.ids[h] in relevant for h in hits]
        recall[row] = sum(found) / len(relevant)
        mrr[row] = 1 / (found.index(True) + 1) if any(found) else 0.0
    return {
        "recall@10": float(recall.mean()),
        "mrr@10": float(mrr.mean()),
        "test_recall@10": float(recall[data.test].mean()),
        "test_mrr@10": float(mrr[data.test].mean()),
    }


def evaluate(name: str, embed: EmbedFn, data: Dataset) -> dict[str, float]:
    started = time.perf_counter()
    docs = embed(data.documents)
    seconds = time.perf_counter() - started
    result = score(data, docs, embed(data.queries))
    result["corpus_texts_per_s"] = len(data.documents) / seconds
    print(f"{name:<40} " + "  ".join(f"{k}={v:.4f}" for k, v in result.items()), flush=True)
    return result


def sweep(data: Dataset, cache_dir: Path) -> None:
    """Static-model quality for PCA dims x token weighting, from one MiniLM vocabulary pass."""
    tokenizer = static.open_tokenizer()
    saved = cache_dir / "bench-token-embeddings.npz"
    if saved.exists():
        arrays = np.load(saved)
        ids, raw, empty = arrays["ids"], arrays["raw"], arrays["empty"]
    else:
        started = time.perf_counter()
        ids, raw, empty = static.token_embeddings(tokenizer)
        print(f"MiniLM vocabulary pass: {time.perf_counter() - started:.1f} s", flush=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.savez(saved, ids=ids, raw=raw, empty=empty)
    first = static.first_word_id(tokenizer)
    vocab = tokenizer.get_vocab_size()
    doc_tokens = [e.ids for e in tokenizer.encode_batch(data.documents, add_special_tokens=False)]
    query_tokens = [e.ids for e in tokenizer.encode_batch(data.queries, add_special_tokens=False)]

    def embed_with(matrix: Vectors) -> Callable[[list[list[int]]], Vectors]:
        def run(token_lists: list[list[int]]) -> Vectors:
            lengths = np.array([len(t) for t in token_lists], dtype=np.int64)
            flat = np.array([i for t in token_lists for i in t], dtype=np.int64)
            return static.pool(matrix[:-1], flat, lengths, fallback=matrix[-1])

        return run

    weightings: dict[str, npt.NDArray[np.float32]] = {
        "none": np.ones(len(ids), dtype=np.float32),
        "model2vec log(1+token id)": np.log1p(ids).astype(np.float32),
    }
    for knee in (1, 10, 30, 100, 300, 1000):
        weightings[f"log1p(rank/{knee})"] = static.zipf_weights(ids, first_word_id=first, knee=knee)
    for dims in (384, 256, 128):
        for label, weights in weightings.items():
            matrix = static.build_matrix(
                ids,
                raw,
                empty,
                vocab_size=vocab,
                first_word_id=first,
                dimension=dims,
                weights=weights,
            )
            matrix = matrix.astype(np.float16).astype(np.float32)  # as stored
            run = embed_with(matrix)
            result = score(data, run(doc_tokens), run(query_tokens))
            print(
                f"d={dims:<4} {label:<28} " + "  ".join(f"{k}={v:.4f}" for k, v in result.items()),
                flush=True,
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="MEDIQA 2019 directory.")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "medkb-bench-cache",
        help="Static model cache (distilled on first use).",
    )
    parser.add_argument("--minilm", action="store_true", help="Also score all-MiniLM-L6-v2.")
    parser.add_argument("--sweep", action="store_true", help="Grid of static-model settings.")
    args = parser.parse_args(argv)
    data = load(args.data)
    print(
        f"{len(data.documents)} documents, {len(data.queries)} queries "
        f"({int(data.test.sum())} test)",
        flush=True,
    )
    if args.sweep:
        sweep(data, args.cache_dir)
        return 0
    embedder = StaticEmbedder(args.cache_dir)
    started = time.perf_counter()
    embedder.load()
    how = f"distilled in {embedder.distill_seconds:.1f} s" if embedder.distilled else "cached"
    print(f"static model ready in {time.perf_counter() - started:.1f} s ({how})", flush=True)
    evaluate(embedder.model_id, embedder.embed, data)
    if args.minilm:
        minilm = MiniLMEmbedder()
        minilm.load()
        evaluate(minilm.model_id, minilm.embed, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
