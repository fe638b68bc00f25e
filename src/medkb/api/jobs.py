"""Background ingestion of uploaded documents, one job per upload.

A job's files wait in ``<home>/uploads/<job id>/`` until it finishes; its state, progress
and per-file report live in the ``ingest_jobs`` table, so any server process can report on
it. A server that starts finds the jobs a stopped process left unfinished and runs them
again (ingestion is idempotent: content-derived ids, unchanged pairs left alone).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from medkb.app import KnowledgeBase
from medkb.stores.relational import jobs
from medkb.sync.apply import utcnow

log = logging.getLogger("medkb.api")

#: Seconds between progress writes while a job runs (the last file always writes).
_PROGRESS_EVERY_S = 0.5


class JobRunner:
    """Runs ingestion jobs on one background thread (writes to SQLite have one writer)."""

    def __init__(
        self,
        *,
        engine: sa.Engine,
        upload_dir: Path,
        view: Callable[[str], KnowledgeBase],
        on_done: Callable[[dict[str, Any]], None] = lambda _report: None,
    ) -> None:
        self.engine, self.upload_dir, self.view, self.on_done = engine, upload_dir, view, on_done
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medkb-ingest")

    def new_job_dir(self) -> tuple[str, Path]:
        """A fresh job id and the folder its uploaded files go to."""
        job_id = "job_" + secrets.token_hex(8)
        folder = self.upload_dir / job_id
        folder.mkdir(parents=True)
        return job_id, folder

    def submit(self, job_id: str, *, tenant_id: str, files: list[str]) -> dict[str, Any]:
        """Record the job and queue it; return its state."""
        with self.engine.begin() as conn:
            jobs.insert_job(conn, job_id, tenant_id=tenant_id, files=files, now=utcnow())
        self._pool.submit(self._run, job_id, tenant_id)
        return self.get(job_id, tenant_id=tenant_id) or {}

    def get(self, job_id: str, *, tenant_id: str) -> dict[str, Any] | None:
        """A job of ``tenant_id``, or None."""
        with self.engine.connect() as conn:
            return jobs.get_job(conn, job_id, tenant_id=tenant_id)

    def list(self, *, tenant_id: str, limit: int) -> list[dict[str, Any]]:
        """``tenant_id``'s recent jobs, newest first."""
        with self.engine.connect() as conn:
            return jobs.list_jobs(conn, tenant_id=tenant_id, limit=limit)

    def resume(self) -> int:
        """Queue again the unfinished jobs whose files are still here; return how many."""
        with self.engine.connect() as conn:
            left = jobs.unfinished(conn)
        resumed = 0
        for job in left:
            if (self.upload_dir / job["id"]).is_dir():
                self._pool.submit(self._run, job["id"], job["tenant_id"])
                resumed += 1
            else:
                self._set(
                    job["id"], state="failed", error="Its uploaded files are gone; upload again."
                )
        return resumed

    def close(self) -> None:
        """Finish the jobs already queued, then stop (graceful shutdown)."""
        self._pool.shutdown(wait=True)

    def _run(self, job_id: str, tenant_id: str) -> None:
        folder = self.upload_dir / job_id
        files = sorted(p for p in folder.iterdir() if p.is_file())
        self._set(job_id, state="running", total=len(files))
        last = [0.0]

        def progress(done: int, total: int, name: str) -> None:
            if time.monotonic() - last[0] >= _PROGRESS_EVERY_S or done == total:
                last[0] = time.monotonic()
                self._set(job_id, done=done, total=total, current=name)

        try:
            report = self.view(tenant_id).ingest(files, progress=progress).to_dict()
        except Exception as exc:
            log.exception("ingest job %s failed", job_id)
            self._set(job_id, state="failed", error=str(exc))
            return
        # Progress counted pairs while running; a finished job reads "all files of all".
        n = len(files)
        self._set(job_id, state="done", done=n, total=n, current=None, report=report)
        shutil.rmtree(folder, ignore_errors=True)
        self.on_done(report)

    def _set(self, job_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            jobs.update_job(conn, job_id, now=utcnow(), **values)
