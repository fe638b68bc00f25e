"""``/v1/documents``: upload files for background ingestion, follow the job, list."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from medkb.api.deps import Caller, idempotent, need, retrying
from medkb.api.errors import ApiError
from medkb.api.schemas import DocumentDeleted, DocumentList, Job, JobList
from medkb.errors import NotFound
from medkb.ingest.loaders import FORMATS

router = APIRouter(prefix="/v1/documents", tags=["documents"])

Reader = Annotated[Caller, Depends(need("query"))]
Writer = Annotated[Caller, Depends(need("write"))]
_CHUNK = 1 << 20


@router.post("", status_code=202, response_model=Job, summary="Upload documents")
def upload(
    request: Request,
    caller: Writer,
    files: Annotated[
        list[UploadFile],
        File(description="PDF, DOCX, HTML, Markdown, text, JSONL, CSV, MedQuAD XML."),
    ],
) -> JSONResponse:
    """Store the files and ingest them in the background; follow the returned job."""
    names = [_checked_name(f.filename) for f in files]
    if len(set(names)) != len(names):
        raise ApiError(422, "Two uploaded files share a name; rename one.", kind="validation_error")
    limit = caller.service.settings.api.max_upload_mb << 20
    job_id, folder = caller.service.jobs.new_job_dir()
    try:
        digests = [_save(f, folder / name, limit) for f, name in zip(files, names, strict=True)]
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

    def work() -> tuple[int, Any]:
        job = caller.service.jobs.submit(job_id, tenant_id=caller.tenant_id, files=names)
        caller.audit("documents.upload", job_id, files=names)
        return 202, job

    payload = [{"name": n, "sha256": d} for n, d in zip(names, digests, strict=True)]
    try:
        response = idempotent(request, caller, payload, work)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if response.headers.get("Idempotent-Replayed"):
        shutil.rmtree(folder, ignore_errors=True)
    return response


def _checked_name(filename: str | None) -> str:
    name = Path(filename or "").name
    if (
        not name
        or name != (filename or "").replace("\\", "/").split("/")[-1]
        or name.startswith(".")
    ):
        raise ApiError(
            422,
            f"Invalid file name {filename!r}; give each file a plain name.",
            kind="validation_error",
        )
    if Path(name).suffix.lower() not in FORMATS:
        raise ApiError(
            415,
            f"Cannot ingest {name!r}: medkb reads {', '.join(sorted(FORMATS))} files.",
        )
    return name


def _save(upload: UploadFile, target: Path, limit: int) -> str:
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ApiError(
                    413,
                    f"{target.name} is over {limit >> 20} MB; split it or raise "
                    "MEDKB_API__MAX_UPLOAD_MB.",
                )
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise ApiError(422, f"{target.name} is empty.", kind="validation_error")
    return digest.hexdigest()


@router.get("", response_model=DocumentList, summary="List documents")
def list_documents(
    caller: Reader, limit: Annotated[int, Query(ge=1, le=5000)] = 1000
) -> dict[str, Any]:
    """The documents this tenant's pairs were parsed from, with their pair counts."""
    return {"items": caller.kb.documents(limit=limit)}


@router.delete("", response_model=DocumentDeleted, summary="Delete a document")
def delete_document(
    caller: Writer,
    document: Annotated[str, Query(min_length=1, max_length=2000, examples=["guides/faq.md"])],
) -> dict[str, Any]:
    """Delete a document's pairs (every pair whose source it is) and their relations."""
    result = retrying(lambda: caller.kb.delete_document(document))
    caller.audit("document.delete", document, pairs=len(result.deleted))
    return {"document": document, "deleted_pairs": sorted(result.deleted)}


@router.get("/jobs", response_model=JobList, summary="List ingestion jobs")
def list_jobs(caller: Reader, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """This tenant's recent upload jobs, newest first."""
    return {"items": caller.service.jobs.list(tenant_id=caller.tenant_id, limit=limit)}


@router.get("/jobs/{job_id}", response_model=Job, summary="Get an ingestion job")
def get_job(job_id: str, caller: Reader) -> dict[str, Any]:
    """State, progress (files done of total, current file) and, when done, the report."""
    job = caller.service.jobs.get(job_id, tenant_id=caller.tenant_id)
    if job is None:
        raise NotFound(f"No ingestion job {job_id!r}; GET /v1/documents/jobs lists them.")
    return job
