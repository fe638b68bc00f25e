"""A tiny BEIR-style data set (corpus.jsonl, queries.jsonl, qrels.tsv) written on demand."""

from __future__ import annotations

import json
from pathlib import Path

CONDITIONS = {
    "asthma": ("wheezing and shortness of breath", "inhaled corticosteroids"),
    "gout": ("a hot swollen big toe joint", "colchicine and allopurinol"),
    "migraine": ("throbbing headache with aura", "triptans and rest in a dark room"),
    "psoriasis": ("scaly silver plaques on the skin", "topical steroids and phototherapy"),
    "anemia": ("tiredness and pale skin", "iron supplements"),
    "glaucoma": ("gradual loss of side vision", "eye drops that lower eye pressure"),
    "shingles": ("a painful blistering rash on one side", "antiviral medicines"),
    "osteoporosis": ("bones that break easily", "bisphosphonates, calcium and vitamin D"),
    "tinnitus": ("ringing in the ears", "sound therapy and hearing aids"),
    "scabies": ("intense itching from burrowing mites", "permethrin cream"),
}

QUERIES = {
    "q-gout-treat": ("How do doctors treat gout?", {"gout-treatment": 2, "gout-what": 1}),
    "q-asthma-sym": ("what are the symptoms of asthma", {"asthma-symptoms": 2}),
    "q-glaucoma": ("What is glaucoma?", {"glaucoma-what": 2, "glaucoma-symptoms": 1}),
    "q-scabies": ("scabies treatment cream", {"scabies-treatment": 2}),
    "q-tinnitus": ("ringing in my ears, what could it be", {"tinnitus-symptoms": 2}),
    "q-unjudged": ("What is shingles?", {"shingles-what": 0}),
}


def corpus_rows() -> list[dict[str, str]]:
    """Thirty Q&A pairs: what is / symptoms / treatment of ten conditions."""
    rows = []
    for name, (symptom, treatment) in CONDITIONS.items():
        rows += [
            {
                "id": f"{name}-what",
                "question": f"What is {name}?",
                "answer": f"{name.capitalize()} is a common condition seen by doctors.",
            },
            {
                "id": f"{name}-symptoms",
                "question": f"What are the symptoms of {name}?",
                "answer": f"The usual symptoms of {name} are {symptom}.",
            },
            {
                "id": f"{name}-treatment",
                "question": f"How is {name} treated?",
                "answer": f"{name.capitalize()} is treated with {treatment}.",
            },
        ]
    return rows


def write_beir(folder: Path) -> tuple[Path, Path, Path]:
    """Write the data set into ``folder``; return (corpus, queries, qrels) paths."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus, queries, qrels = folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels.tsv"
    corpus.write_text("".join(json.dumps(row) + "\n" for row in corpus_rows()))
    queries.write_text(
        "".join(json.dumps({"id": qid, "query": text}) + "\n" for qid, (text, _) in QUERIES.items())
    )
    lines = ["query-id\tcorpus-id\tscore"] + [
        f"{qid}\t{doc}\t{grade}"
        for qid, (_, grades) in QUERIES.items()
        for doc, grade in grades.items()
    ]
    qrels.write_text("\n".join(lines) + "\n")
    return corpus, queries, qrels
