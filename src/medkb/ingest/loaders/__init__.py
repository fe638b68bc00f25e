"""Loaders: files → Q&A pairs (the loader, Q&A parser and metadata steps of ingest).

    iter_files([Path("docs")])        → every supported file under docs/, sorted
    iter_documents([Path("docs")])    → the same with document ids ("docs/cardio/faq.md")
    load_file(Path("faq.pdf"))        → ParsedDocument(path, media_type, raw, pairs, …)
    load_bytes(data, name="faq.pdf")  → the same for an upload

Formats (by extension): structured Q&A rows in ``.jsonl``/``.ndjson``, ``.json`` (a list)
and ``.csv``/``.tsv`` (:mod:`.records`); MedQuAD ``.xml`` (:mod:`.medquad`); free documents
in ``.pdf``, ``.docx``, ``.html``/``.htm``, ``.md``/``.markdown`` and ``.txt``
(:mod:`.documents`, parsed by :mod:`medkb.ingest.parse`).
"""

from medkb.ingest.loaders.base import OVERLONG_MODES, Overlong, ParsedDocument
from medkb.ingest.loaders.registry import (
    FORMATS,
    SUPPORTED_EXTENSIONS,
    Format,
    FoundFile,
    format_for,
    iter_documents,
    iter_files,
    load_bytes,
    load_file,
)

__all__ = [
    "FORMATS",
    "OVERLONG_MODES",
    "SUPPORTED_EXTENSIONS",
    "Format",
    "FoundFile",
    "Overlong",
    "ParsedDocument",
    "format_for",
    "iter_documents",
    "iter_files",
    "load_bytes",
    "load_file",
]
