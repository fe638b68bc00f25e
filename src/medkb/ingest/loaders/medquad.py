"""MedQuAD XML loader: one pair per ``<QAPair>`` of a ``<Document>`` (or ``<DiseaseFile>``).

Kept from each file: ``Document@source`` (e.g. NIDDK) as ``metadata.source``,
``Document@url`` as the source URL, and in ``metadata.extra`` the question type
(``qtype``), the ``focus``, its UMLS ``cuis``, ``semantic_types`` and ``semantic_group``,
and the MedQuAD ``qid``. The category is guessed from the question and answer with the
focus as title (:func:`medkb.ingest.metadata.guess_category`).

Pair ids are ``medquad-<source>-<document id>-<pid>`` (e.g. ``medquad-niddk-0000001-1``):
document ids repeat across MedQuAD collections (CDC and NIDDK both have ``0000003``), so
the collection is part of the id (a document without an id attribute: its document id,
e.g. ``5_NIDDK_QA/0000056``). Pairs whose answer is empty (MedQuAD removed the MedlinePlus
answers for copyright) are skipped and counted in ``ParsedDocument.skipped``. A file with
nothing to load — an empty ``<QAPairs>``, or every answer removed — is skipped as a whole
(``ParsedDocument.skip_file``) with a warning, not refused: the stock data set has such
files.

The XML is untrusted, so it is parsed by ``defusedxml``: a file declaring entities (the
"billion laughs" expansion bomb) or referring to external ones (``file:///etc/passwd``)
is refused before anything is expanded or read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from medkb.ingest.loaders.base import Loaded, SourceFile, unreadable
from medkb.ingest.loaders.records import RowReader
from medkb.ingest.metadata import guess_category
from medkb.ingest.text import one_line, tidy

ROOT_TAGS = ("Document", "DiseaseFile")
_TRAILING_MARKS = re.compile(r"\s*\?(?:\s*\?)*$")
#: MedQuAD flattens bullet lists to "item  - item  - item"; the items go back on lines.
_LIST_ITEM = re.compile(r"[ \t]{2,}- ")


def load_medquad(source: SourceFile) -> Loaded:
    """Load one MedQuAD XML file."""
    root = _parse(source)
    document = _document_fields(root, source)
    elements = list(root.iter("QAPair"))
    if not elements:
        return _nothing(source, "has an empty <QAPairs> (no <QAPair> elements)")
    reader = RowReader(source)
    for number, element in enumerate(elements, start=1):
        pid = element.get("pid") or str(number)
        reader.add(_row(element, document, pid), f"QAPair {pid}")
    if not reader.result.pairs:
        return _nothing(source, "has no answered <QAPair> (MedQuAD removed its answers)")
    return reader.result


def _nothing(source: SourceFile, problem: str) -> Loaded:
    reason = f"{problem}; nothing to load"
    return Loaded(pairs=[], warnings=[f"{source.name} {reason}; skipped"], skip_file=reason)


def _parse(source: SourceFile) -> ET.Element:
    try:
        root: ET.Element = safe_fromstring(source.raw)
    except DefusedXmlException as exc:
        raise unreadable(
            source,
            f"it declares XML entities or external references ({exc})",
            "medkb refuses them because they can expand a small file into gigabytes or read "
            "other files; MedQuAD files have none. Remove the <!DOCTYPE> and the entities.",
        ) from exc
    except ET.ParseError as exc:
        raise unreadable(
            source, f"invalid XML ({exc})", "Check the file is complete, well-formed XML."
        ) from exc
    if root.tag not in ROOT_TAGS:
        raise unreadable(
            source,
            f"the root element is <{root.tag}>, not a MedQuAD <Document>",
            "medkb reads XML only in the MedQuAD format (a <Document> of <QAPair> elements).",
        )
    return root


def _document_fields(root: ET.Element, source: SourceFile) -> dict[str, Any]:
    """What every pair of the document shares: ids, source, focus and UMLS annotations."""
    collection = root.get("source") or "medquad"
    document_id = root.get("id") or root.get("fid") or source.document.rsplit(".", 1)[0]
    return {
        "id_prefix": f"medquad-{collection.lower()}-{document_id}",
        "source": collection,
        "url": root.get("url"),
        "focus": _text(root.find("Focus")),
        "cuis": _texts(root, "CUI"),
        "semantic_types": _texts(root, "SemanticType"),
        "semantic_group": _text(root.find(".//SemanticGroup")) or None,
    }


def _row(element: ET.Element, document: dict[str, Any], pid: str) -> dict[str, Any]:
    question_element = element.find("Question")
    question = _TRAILING_MARKS.sub("?", _text(question_element))
    answer = tidy(_LIST_ITEM.sub("\n- ", _text(element.find("Answer"), keep_lines=True)))
    shared = {key: value for key, value in document.items() if key != "id_prefix"}
    return {
        **shared,
        "id": f"{document['id_prefix']}-{pid}",
        "question": question,
        "answer": answer,
        "category": guess_category(f"{question}\n{answer}", title=document["focus"]),
        "qtype": question_element.get("qtype") if question_element is not None else None,
        "qid": question_element.get("qid") if question_element is not None else None,
    }


def _text(element: ET.Element | None, *, keep_lines: bool = False) -> str:
    text = "".join(element.itertext()) if element is not None else ""
    return text if keep_lines else one_line(text)


def _texts(root: ET.Element, tag: str) -> list[str]:
    return [text for text in (_text(element) for element in root.iter(tag)) if text]
