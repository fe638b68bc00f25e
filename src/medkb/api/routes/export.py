"""``GET /v1/export``: download the caller's tenant's pairs as a file (``medkb export``)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from medkb.api.deps import Caller, need
from medkb.app import check_filters
from medkb.transfer.export import export_to

router = APIRouter(prefix="/v1", tags=["admin"])

Admin = Annotated[Caller, Depends(need("admin"))]
Many = Annotated[list[str] | None, Query(max_length=50)]
Format = Literal["jsonl", "json", "csv", "parquet", "sql"]
MEDIA_TYPES = {
    "jsonl": "application/x-ndjson",
    "json": "application/json",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "sql": "application/sql",
}


@router.get(
    "/export",
    summary="Export pairs",
    response_class=FileResponse,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
)
def export(
    caller: Admin,
    format: Format = "jsonl",
    include_embeddings: bool = False,
    category: Many = None,
    source: Many = None,
    source_type: Many = None,
    language: Many = None,
) -> FileResponse:
    """This tenant's pairs (filtered by metadata) as a JSONL, JSON, CSV, Parquet or SQL file;
    ``medkb import`` reads it back."""
    named = (("category", category), ("source", source), ("source_type", source_type))
    filters = {k: v for k, v in (*named, ("language", language)) if v}
    check_filters(filters)
    folder = caller.service.settings.home / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(8)}.{format}"
    report = export_to(
        caller.kb.engine,
        format,
        str(path),
        tenant_id=caller.tenant_id,
        filters=filters,
        include_embeddings=include_embeddings,
        dimension=caller.kb.embedder.dimension,
    )
    caller.audit("export", None, format=format, pairs=report.pairs, filters=filters)
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[format],
        filename=f"medkb-{caller.tenant_id}.{format}",
        background=BackgroundTask(Path.unlink, path, missing_ok=True),
    )
