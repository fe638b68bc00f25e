"""``kill -9`` of an ingesting process at random points, many times over.

A child process adds batches of pairs to a SQLite knowledge base with the local index
and prints the ids of each batch once ``add`` has returned. The parent kills it with
SIGKILL after a random number of batches plus a random delay, so the kill lands anywhere:
inside the relational transaction, between commit and the vector upsert, mid-upsert.
Afterwards ``repair`` must bring ``verify`` to zero drift, with every reported pair in
both stores.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medkb.app import build
from medkb.config import Settings
from medkb.sync.repair import repair
from tests.integration.test_kb import store_matches_relational

CHILD = """
import sys
from medkb.app import build
from medkb.config import Settings
from medkb.models import QAMetadata, QAPair

settings = Settings(home=sys.argv[1], embedder="static", cache_dir=sys.argv[2])
run = sys.argv[3]
with build(settings) as kb:
    for batch in range(1000):
        pairs = [
            QAPair(
                id=f"{run}-{batch:03d}-{n}",
                question=f"Question {n} of batch {batch} in run {run} about asthma?",
                response=f"Answer {n} of batch {batch}: asthma is treated with inhalers.",
                metadata=QAMetadata(category="Respiratory"),
            )
            for n in range(5)
        ]
        kb.add(pairs)
        print("stored", " ".join(p.id for p in pairs), flush=True)
"""


def ingest_until_killed(home: Path, cache: Path, run: str, rng: random.Random) -> set[str]:
    """Run the child, SIGKILL it at a random point; return the ids it reported stored."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(cache), run],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    stored: set[str] = set()
    assert child.stdout is not None
    try:
        for _ in range(rng.randint(1, 4)):
            line = child.stdout.readline()
            assert line.startswith("stored "), f"the child stopped early: {line!r}"
            stored.update(line.split()[1:])
        time.sleep(rng.uniform(0, 0.05))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        remaining, _ = child.communicate(timeout=30)
    stored.update(i for line in remaining.splitlines() for i in line.split()[1:])
    return stored


@pytest.mark.slow
def test_repair_recovers_from_kill_9_at_random_points(tmp_path: Path, embed_cache: Path) -> None:
    home, rng = tmp_path / "home", random.Random(int(os.environ.get("MEDKB_KILL_SEED", "3")))
    settings = Settings(home=home, embedder="static", cache_dir=embed_cache)
    reported: set[str] = set()
    for run in range(int(os.environ.get("MEDKB_KILL_RUNS", "5"))):
        reported |= ingest_until_killed(home, embed_cache, f"r{run}", rng)
        with build(settings) as kb:
            report = repair(kb.engine, kb.store, tenant_id=kb.tenant_id)
            assert report.after.clean, report.after
            assert reported <= set(kb.store.ids(kb.tenant_id))
            store_matches_relational(kb)
