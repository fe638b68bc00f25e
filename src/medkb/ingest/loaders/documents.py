"""Free documents (PDF, DOCX, HTML, Markdown, text) → pairs, once their text is extracted.

Each free-document loader extracts :class:`Extracted` (blocks and what the document says
about itself); :func:`document_pairs` names the document, parses the blocks into drafts
(:func:`medkb.ingest.parse.parse_blocks`) and gives every draft an id, metadata and a
source.

- **Title**: the one the document declares (PDF/DOCX properties, HTML ``<title>``,
  Markdown front matter) unless it looks like a placeholder; else its first heading, when
  it opens the document; else the file name stem, humanised (``heart-health`` → "Heart
  health").
- **Ids**: ``make_id(document id, question)``, so re-ingesting an edited document updates
  its pairs in place. The document id is the file's path relative to the folder ingested
  (``docs/cardio/faq.md``; a file given by itself: its name), so same-named files in
  different folders never share ids. A question asked twice in one document gets
  ``make_id(document id, question, "2")`` for its second occurrence, and so on.
- **Metadata**: :func:`medkb.ingest.metadata.document_metadata`; the source is the file
  name stem unless the document names one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from medkb.ingest.ids import make_id
from medkb.ingest.loaders.base import Loaded, SourceFile, empty
from medkb.ingest.metadata import DocInfo, document_metadata
from medkb.ingest.parse import Block, Draft, parse_blocks
from medkb.ingest.text import excerpt, one_line
from medkb.models import QAPair, Source

_PLACEHOLDER_TITLE = re.compile(
    r"^(?:untitled|document\s*\d*|microsoft word\b.*|.*\.(?:docx?|pdf|html?|txt|md))$", re.I
)


@dataclass
class Extracted:
    """A free document reduced to structure: blocks in reading order, and its own metadata."""

    blocks: list[Block]
    info: DocInfo = field(default_factory=DocInfo)
    warnings: list[str] = field(default_factory=list)


def document_pairs(source: SourceFile, extracted: Extracted) -> Loaded:
    """Parse extracted blocks into QAPairs with ids, metadata and sources."""
    if not any(block.text.strip() for block in extracted.blocks):
        raise empty(source, "has no extractable text", _empty_hint(source))
    title = document_title(extracted, source.path.stem)
    drafts = parse_blocks(extracted.blocks, title=title)
    if not drafts:
        raise empty(source, "has headings but no body text", "Add text under the headings.")
    seen: Counter[str] = Counter()
    pairs = []
    for draft in drafts:
        seen[draft.question] += 1
        pairs.append(_pair(source, extracted.info, draft, title, seen[draft.question]))
    return Loaded(pairs=pairs, warnings=list(extracted.warnings), title=title)


def document_title(extracted: Extracted, stem: str) -> str:
    """The document's title (see the module docstring)."""
    declared = one_line(extracted.info.title or "")
    if declared and not _PLACEHOLDER_TITLE.match(declared):
        return declared
    first = extracted.blocks[0] if extracted.blocks else None
    if first is not None and first.kind == "heading" and one_line(first.text):
        return one_line(first.text)
    words = re.sub(r"[_\-.]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else stem


def _pair(source: SourceFile, info: DocInfo, draft: Draft, title: str, occurrence: int) -> QAPair:
    parts = (source.document, draft.question) + ((str(occurrence),) if occurrence > 1 else ())
    metadata = document_metadata(
        info,
        text=f"{draft.question}\n{draft.response}",
        title=title,
        source_type=source.source_type,
        default_source=source.path.stem,
    )
    citation = Source(
        document=source.document,
        page=draft.page,
        section=draft.section,
        excerpt=excerpt(draft.response),
        url=info.url,
    )
    pair_id = make_id(*parts, namespace=source.namespace)
    return QAPair(pair_id, draft.question, draft.response, metadata, [citation])


def _empty_hint(source: SourceFile) -> str:
    if source.source_type == "pdf":
        return "It may be a scanned image: run OCR on it (e.g. ocrmypdf) and ingest the result."
    return "Check the file has text in it."
