"""Text extraction: what must happen to every file in shared/data/docs (its README's last
column), encodings, binary files, and XML documents that try to read local files (XXE)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from desktop.core.library.extraction import extract
from desktop.core.library.formats import Unreadable, extract_html


def test_python_source_is_code_and_kept_whole(docs: Path) -> None:
    doc = extract(docs / "code_python_markitdown.py")
    assert doc.kind == "code"
    assert "class MarkItDown" in doc.text
    assert len(doc.text) > 25_000


def test_cp932_csv_decodes_with_the_cp932_only_character(docs: Path) -> None:
    doc = extract(docs / "csv_cp932-shift-jis_japanese.csv")
    assert "髙橋淳" in doc.text  # 髙 exists only in cp932, not strict shift_jis
    assert "名前,年齢,住所" in doc.text


def test_docx_headings_and_table(docs: Path) -> None:
    doc = extract(docs / "docx_tables-images_markitdown-test.docx")
    assert doc.text.startswith("# AutoGen: Enabling Next-Gen LLM Applications")
    assert " | " in doc.text  # table rows, one line each
    assert doc.kind == "markdown"


def test_epub_chapters_in_order(docs: Path) -> None:
    doc = extract(docs / "epub_minimal_markitdown-test.epub")
    assert doc.title == "Test EPUB Document"
    assert doc.text.index("# Chapter 1") < doc.text.index("# Chapter 2")
    assert "This is a test paragraph" in doc.text


def test_wikipedia_page_main_content_without_navigation(docs: Path) -> None:
    doc = extract(docs / "html_wikipedia-article.html")
    assert "Microsoft" in doc.text
    assert "Bill Gates" in doc.text
    for boilerplate in ("Jump to content", "Create account", "Privacy policy", "[edit]", "function("):
        assert boilerplate not in doc.text
    assert "# Microsoft" in doc.text


def test_markdown_readme_kept_as_markdown(docs: Path) -> None:
    doc = extract(docs / "md_markitdown-README.md")
    assert doc.kind == "markdown"
    assert doc.text.startswith("# MarkItDown")


def test_odt_book_with_bom_is_read_whole(docs: Path) -> None:
    doc = extract(docs / "odt_electra.odt")
    assert "Electra" in doc.text
    assert "\ufeff" not in doc.text
    assert len(doc.text) > 50_000


def test_pdf_with_empty_user_password_opens_transparently(docs: Path) -> None:
    doc = extract(docs / "pdf_encrypted_aes256-r6_empty-user-password.pdf")
    assert "pdf encryption test" in doc.text
    assert doc.pages == [(0, 1)]


def test_pdf_needing_a_password_is_refused_clearly(docs: Path) -> None:
    with pytest.raises(Unreadable, match="password-protected"):
        extract(docs / "pdf_encrypted_r4_user-password-required.pdf")


def test_pdf_identity_cmap_polish_text(docs: Path) -> None:
    doc = extract(docs / "pdf_font_identity-cmap_polish_issue-625.pdf")
    assert "Termin płatności: 2021-05-03" in doc.text
    assert [p for _, p in doc.pages] == [1, 2]


def test_a_pdf_pypdf_cannot_parse_is_read_by_pdfium(docs: Path) -> None:
    # pypdf: "startxref not found"; the hang guard is the parser process's time limit,
    # tested in test_library_parsing.py
    doc = extract(docs / "pdf_hang-risk_circular-xobjects_issue-1113.pdf")
    assert doc.text.startswith("Hello world") and doc.extractor == "pypdfium2"
    assert doc.warnings == ["the PDF is damaged; Hearth read its text another way (PDFium). "
                            "Check answers from it against the file (startxref not found)"]


def test_a_pdf_no_reader_opens_is_skipped_with_what_to_do(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage\n")
    with pytest.raises(Unreadable, match=r"^damaged PDF: Hearth could not read it\. Open it in a PDF viewer"):
        extract(bad)


def test_pdf_with_broken_xref_is_read_leniently(docs: Path) -> None:
    assert "test example" in extract(docs / "pdf_malformed_broken-xref_issue-297.pdf").text


def test_scanned_pdf_reports_needs_ocr_when_ocr_is_off(docs: Path) -> None:
    with pytest.raises(Unreadable, match="needs OCR"):
        extract(docs / "pdf_scanned_image-only_medical-report.pdf", ocr=False)


def test_simple_pdf_first_words_and_page(docs: Path) -> None:
    doc = extract(docs / "pdf_text_simple_crazyones.pdf")
    assert doc.text.startswith("The Crazy Ones")
    assert doc.pages == [(0, 1)]


def test_rtf_text_without_control_words(docs: Path) -> None:
    doc = extract(docs / "rtf_markitdown-sample.rtf")
    assert "This is a Sample RTF File" in doc.text
    assert "\\" not in doc.text and "{" not in doc.text


def test_cp1252_french_is_detected_not_assumed(docs: Path) -> None:
    doc = extract(docs / "txt_cp1252-latin1_french.txt")
    assert "MOLIÈRE" in doc.text
    assert "\ufffd" not in doc.text


def test_utf16_subtitles_with_bom(docs: Path) -> None:
    doc = extract(docs / "txt_utf-16le_with-bom.srt")
    assert "About 2 months ago I found myself on" in doc.text
    assert "\x00" not in doc.text


def test_every_shared_document_has_a_test_here(docs: Path) -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    missing = [p.name for p in docs.iterdir() if p.name not in source]
    assert not missing


def test_binary_file_is_refused(tmp_path: Path) -> None:
    blob = tmp_path / "data.txt"
    blob.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(Unreadable, match="binary"):
        extract(blob)


def test_truncated_docx_is_reported_damaged(tmp_path: Path, docs: Path) -> None:
    data = (docs / "docx_tables-images_markitdown-test.docx").read_bytes()
    bad = tmp_path / "cut.docx"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(Unreadable, match="damaged"):
        extract(bad)


# -- XXE: no document can make Hearth read another local file --------------------------

SECRET = "HEARTH-SECRET-7f3a"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    p = tmp_path / "secret.txt"
    p.write_text(SECRET, encoding="utf-8")
    return p


def _rewrite_zip(src: Path, dst: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, data if item.filename == member else zin.read(item))


def _xxe_doctype(root: str, secret: Path) -> str:
    return f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'


def test_docx_with_external_entity_is_refused(tmp_path: Path, docs: Path, secret_file: Path) -> None:
    src = docs / "docx_tables-images_markitdown-test.docx"
    with zipfile.ZipFile(src) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    head, rest = xml.split("?>", 1)
    xml = head + "?>" + _xxe_doctype("w:document", secret_file) + rest
    xml = xml.replace("<w:t>", "<w:t>&xxe;", 1)
    evil = tmp_path / "evil.docx"
    _rewrite_zip(src, evil, "word/document.xml", xml.encode("utf-8"))
    with pytest.raises(Unreadable, match="unsafe XML") as info:
        extract(evil)
    assert SECRET not in str(info.value)


def test_odt_with_external_entity_is_refused(tmp_path: Path, docs: Path, secret_file: Path) -> None:
    src = docs / "odt_electra.odt"
    with zipfile.ZipFile(src) as z:
        xml = z.read("content.xml").decode("utf-8")
    head, rest = xml.split("?>", 1)
    xml = head + "?>" + _xxe_doctype("office:document-content", secret_file) + rest
    xml = xml.replace("Electra", "Electra &xxe;", 1)
    evil = tmp_path / "evil.odt"
    _rewrite_zip(src, evil, "content.xml", xml.encode("utf-8"))
    with pytest.raises(Unreadable, match="unsafe XML"):
        extract(evil)


def test_epub_with_external_entity_is_refused(tmp_path: Path, docs: Path, secret_file: Path) -> None:
    src = docs / "epub_minimal_markitdown-test.epub"
    with zipfile.ZipFile(src) as z:
        name = next(n for n in z.namelist() if n.endswith((".xhtml", ".html")))
        xml = z.read(name).decode("utf-8")
    if "?>" in xml:
        head, rest = xml.split("?>", 1)
        head += "?>"
    else:
        head, rest = "", xml
    rest = rest.replace("<!DOCTYPE html>", "")
    xml = head + _xxe_doctype("html", secret_file) + rest.replace("<body>", "<body><p>&xxe;</p>", 1)
    evil = tmp_path / "evil.epub"
    _rewrite_zip(src, evil, name, xml.encode("utf-8"))
    with pytest.raises(Unreadable, match="unsafe XML"):
        extract(evil)


def test_html_with_external_entity_does_not_read_the_file(tmp_path: Path, secret_file: Path) -> None:
    page = tmp_path / "evil.html"
    page.write_text(_xxe_doctype("html", secret_file)
                    + "<html><body><p>Hello &xxe; world</p></body></html>", encoding="utf-8")
    doc = extract(page)
    assert "Hello" in doc.text
    assert SECRET not in doc.text
    assert SECRET not in extract_html(page.read_text(encoding="utf-8")).text


def test_ordinary_epub_doctype_is_still_accepted(tmp_path: Path, docs: Path) -> None:
    copy = tmp_path / "book.epub"
    shutil.copy(docs / "epub_minimal_markitdown-test.epub", copy)
    assert "Chapter 1" in extract(copy).text
