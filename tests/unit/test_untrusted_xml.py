"""Untrusted XML and Office packages: entity bombs, external entities and zip bombs are
refused with UnreadableDocument before anything is expanded, read or ingested."""

from __future__ import annotations

import resource
import zipfile
from pathlib import Path

import pytest

import medkb.demo
from medkb.errors import UnreadableDocument
from medkb.ingest.loaders import load_bytes, load_file, ooxml
from medkb.ingest.loaders.registry import DEFAULT_MAX_BYTES

DEMO_DOCX = Path(medkb.demo.__file__).with_name("diabetes-care.docx")


def laughs(levels: int = 9) -> str:
    """The "billion laughs" DTD: ``&lol9;`` expands to 10**9 'lol's."""
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels + 1)]
    return "".join(entities)


def medquad(dtd: str, answer: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE Document [{dtd}]>'
        '<Document id="0000001" source="NIDDK"><Focus>Gout</Focus><QAPairs>'
        '<QAPair pid="1"><Question qid="1" qtype="information">What is gout?</Question>'
        f"<Answer>{answer}</Answer></QAPair></QAPairs></Document>"
    ).encode()


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_medquad_billion_laughs_is_refused_as_declaring_entities() -> None:
    before = peak_rss_kib()
    with pytest.raises(UnreadableDocument, match="declares XML entities") as refused:
        load_bytes(medquad(laughs(), "&lol9;"), name="bomb.xml")
    assert "bomb.xml" in str(refused.value)
    assert peak_rss_kib() - before < 100_000  # KiB: nothing was expanded


def test_medquad_entity_expansion_under_expats_own_limit_is_refused_too() -> None:
    # 40 x 100 KB = 4 MB of expansion stays under expat's amplification guard, so the
    # standard library parser would expand it into the knowledge base.
    dtd = f'<!ENTITY big "{"gout " * 20_000}"><!ENTITY all "{"&big;" * 40}">'
    with pytest.raises(UnreadableDocument, match="declares XML entities"):
        load_bytes(medquad(dtd, "&all;"), name="quadratic.xml")


def test_medquad_external_entity_is_refused_and_never_read() -> None:
    dtd = '<!ENTITY xxe SYSTEM "file:///etc/passwd">'
    with pytest.raises(UnreadableDocument, match="declares XML entities") as refused:
        load_bytes(medquad(dtd, "&xxe;"), name="xxe.xml")
    assert "root:" not in str(refused.value)


def docx_with(path: Path, part: str, data: bytes) -> Path:
    """The demo .docx with ``part`` replaced (or added) with ``data``."""
    with (
        zipfile.ZipFile(DEMO_DOCX) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for item in source.infolist():
            if item.filename != part:
                out.writestr(item, source.read(item.filename))
        out.writestr(part, data)
    return path


def document_xml() -> bytes:
    with zipfile.ZipFile(DEMO_DOCX) as source:
        return source.read("word/document.xml")


def test_docx_zip_bomb_is_refused_from_its_compression_ratio(tmp_path: Path) -> None:
    head, body, tail = document_xml().partition(b"<w:body>")
    padded = head + body + b"<w:p/>" * (8 * 2**20 // 6) + tail  # 8 MiB of empty paragraphs
    bomb = docx_with(tmp_path / "bomb.docx", "word/document.xml", padded)
    assert bomb.stat().st_size < 200_000
    with pytest.raises(UnreadableDocument, match="zip bomb") as refused:
        load_file(bomb)
    assert "bomb.docx" in str(refused.value) and "word/document.xml" in str(refused.value)


def test_docx_part_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ooxml, "MAX_XML_PART_BYTES", 2**16)
    big = docx_with(tmp_path / "big.docx", "word/document.xml", document_xml() + b" " * 2**16)
    with pytest.raises(UnreadableDocument, match="unpacks to"):
        load_file(big)


def test_docx_with_an_entity_bomb_in_document_xml_is_refused(tmp_path: Path) -> None:
    xml = document_xml()
    declaration, _, rest = xml.partition(b"?>")
    dtd = f"<!DOCTYPE w:document [{laughs()}]>".encode()
    bombed = (
        declaration
        + b"?>"
        + dtd
        + rest.replace(b"</w:body>", b"<w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body>")
    )
    with pytest.raises(UnreadableDocument, match="DOCTYPE"):
        load_file(docx_with(tmp_path / "laughs.docx", "word/document.xml", bombed))


def test_docx_with_an_external_entity_is_refused(tmp_path: Path) -> None:
    xml = document_xml()
    declaration, _, rest = xml.partition(b"?>")
    dtd = b'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    hostile = (
        declaration
        + b"?>"
        + dtd
        + rest.replace(b"</w:body>", b"<w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body>")
    )
    with pytest.raises(UnreadableDocument, match="DOCTYPE") as refused:
        load_file(docx_with(tmp_path / "xxe.docx", "word/document.xml", hostile))
    assert "root:" not in str(refused.value)


def test_the_demo_docx_passes_the_package_checks() -> None:
    assert load_file(DEMO_DOCX).pairs


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.jsonl"
    with huge.open("wb") as out:
        out.truncate(DEFAULT_MAX_BYTES + 1)  # sparse
    with pytest.raises(UnreadableDocument, match="MEDKB_INGEST__MAX_FILE_MB") as refused:
        load_file(huge)
    assert "huge.jsonl" in str(refused.value)
    small = tmp_path / "small.jsonl"
    small.write_text('{"question": "What is gout?", "answer": "A kind of arthritis."}\n')
    with pytest.raises(UnreadableDocument, match="limit for one file"):
        load_file(small, max_bytes=10)


def test_a_device_named_like_a_text_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    endless = tmp_path / "zero.txt"
    endless.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(UnreadableDocument, match="not a regular file"):
        load_file(endless)


def test_html_entity_declarations_are_never_expanded() -> None:
    # html.parser does not read DTDs: the entities stay unexpanded text, nothing explodes.
    page = (
        f"<!DOCTYPE html [{laughs()}<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>"
        "<html><body><h1>What is gout?</h1><p>Gout is arthritis. &lol9; &xxe;</p></body></html>"
    ).encode()
    before = peak_rss_kib()
    loaded = load_bytes(page, name="page.html")
    text = " ".join(pair.response for pair in loaded.pairs)
    assert "lollol" not in text and "root:" not in text
    assert peak_rss_kib() - before < 100_000
