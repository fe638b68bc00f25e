"""HTML loader (BeautifulSoup with Python's own parser).

``<h1>``–``<h6>`` are headings; ``<p>``, ``<li>`` (prefixed ``- ``), ``<pre>``, ``<dt>``,
``<dd>``, ``<blockquote>``, ``<figcaption>`` and table rows are paragraphs, as is loose
text inside containers. Scripts, styles, navigation, headers, footers, asides and forms
are dropped. ``<title>``, ``<html lang>``, ``<link rel=canonical>`` and the ``author``,
``keywords``, ``og:site_name`` / ``source`` and publication-date ``<meta>`` tags become
document metadata.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, Tag

from medkb.ingest.loaders.base import Loaded, SourceFile
from medkb.ingest.loaders.documents import Extracted, document_pairs
from medkb.ingest.metadata import DocInfo
from medkb.ingest.parse import Block
from medkb.ingest.text import one_line

DROPPED = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form")
LEAVES = ("p", "li", "pre", "dt", "dd", "blockquote", "figcaption", "caption", "tr", "address")
_HEADING = re.compile(r"^h([1-6])$")
_DATE_META = ("article:published_time", "citation_publication_date", "dc.date", "date")


def load_html(source: SourceFile) -> Loaded:
    """Load an HTML page."""
    return document_pairs(source, extract_html(source.raw))


def extract_html(raw: bytes) -> Extracted:
    """The blocks and metadata of an HTML page."""
    with warnings.catch_warnings():
        # Both only say the input may not be what the caller meant; we parse it anyway.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(raw, "html.parser")
    info = _info(soup)
    for element in soup.find_all(list(DROPPED)):
        element.decompose()
    root = soup.body or soup
    return Extracted(list(_blocks(root)), info)


def _blocks(element: Tag) -> Iterator[Block]:
    for child in element.children:
        if isinstance(child, NavigableString):
            text = one_line(str(child)) if type(child) is NavigableString else ""
            if text:
                yield Block("paragraph", text)
        elif isinstance(child, Tag):
            yield from _tag_blocks(child)


def _tag_blocks(tag: Tag) -> Iterator[Block]:
    heading = _HEADING.match(tag.name)
    if heading:
        text = one_line(tag.get_text(" "))
        if text:
            yield Block("heading", text, int(heading.group(1)))
    elif tag.name in LEAVES:
        text = _leaf_text(tag)
        if text:
            yield Block("paragraph", ("- " if tag.name == "li" else "") + text)
    elif tag.name not in ("title", "head"):
        yield from _blocks(tag)


def _leaf_text(tag: Tag) -> str:
    if tag.name == "pre":
        return tag.get_text().strip()
    if tag.name == "tr":
        cells = [one_line(cell.get_text(" ")) for cell in tag.find_all(["td", "th"])]
        return " | ".join(cell for cell in cells if cell)
    return one_line(tag.get_text(" "))


def _info(soup: BeautifulSoup) -> DocInfo:
    html = soup.find("html")
    canonical = soup.find("link", rel="canonical")
    keywords = _meta(soup, "keywords") or ""
    return DocInfo(
        title=one_line(soup.title.get_text()) if soup.title else None,
        author=_meta(soup, "author"),
        source=_meta(soup, "og:site_name") or _meta(soup, "source"),
        published=next((date for key in _DATE_META if (date := _meta(soup, key))), None),
        language=_attr(html, "lang"),
        url=_attr(canonical, "href"),
        tags=[word.strip() for word in keywords.split(",") if word.strip()],
    )


def _meta(soup: BeautifulSoup, key: str) -> str | None:
    tag = soup.find("meta", attrs={"name": key}) or soup.find("meta", attrs={"property": key})
    return _attr(tag, "content")


def _attr(tag: object, name: str) -> str | None:
    value = tag.get(name) if isinstance(tag, Tag) else None
    text = one_line(" ".join(value) if isinstance(value, list) else value or "")
    return text or None
