"""Nothing garbled is indexed silently: signs of a failed extraction are caught, a second
extractor recovers where it can, else the file is skipped with a reason (issue 15)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from desktop.core.library.extraction import extract
from desktop.core.library.formats import Unreadable, omml_to_text
from desktop.core.library.quality import garbled_reason, tiny_chunks_reason

CZECH_MOJIBAKE = "3HQČåQtSURVWĜHGN\\QD~þWHFK"  # the line from a PDF with a broken font map


def test_mojibake_from_a_broken_font_map_is_flagged() -> None:
    text = "\n".join([CZECH_MOJIBAKE, "=DSODFHQp]iORK\\9\\XåLWtãHGQDFHQD", "3HQČåQtSURVWĜHGN\\QD"] * 4)
    assert "mojibake" in garbled_reason(text)


def test_nul_and_replacement_characters_are_flagged() -> None:
    assert "NUL" in garbled_reason("H\x00e\x00l\x00l\x00o\x00 \x00w\x00o\x00r\x00l\x00d\x00")
    assert "replacement" in garbled_reason("caf\ufffd \ufffd\ufffd na\ufffdve r\ufffdsum\ufffd " * 3)


def test_mixed_alphabets_inside_words_are_flagged() -> None:
    # Latin and Cyrillic letters alternating within words: a wrong character map
    text = " ".join(["Рrоgrаm", "sеrvеr", "dаtаbаsе", "nеtwоrk"] * 10)
    assert "alphabets" in garbled_reason(text)


@pytest.mark.parametrize("text", [
    "Termin płatności: 2021-05-03. Faktura VAT nr 12/2021, sprzedawca: Kowalski sp. z o.o.",
    "東京は日本の首都です。カタカナとひらがなと漢字が一つの文に混ざっています。" * 3,
    "The iPhone and JavaScript met McDonald's in 2024; see RFC 9110 and ISO-8601 dates. " * 3,
    "Москва — столица России, крупнейший по численности населения город страны. " * 3,
])
def test_real_text_is_not_flagged(text: str) -> None:
    assert garbled_reason(text) == ""


def test_real_documents_are_not_flagged(docs: Path) -> None:
    for name in ("code_python_markitdown.py", "csv_cp932-shift-jis_japanese.csv", "md_markitdown-README.md",
                 "txt_cp1252-latin1_french.txt", "html_wikipedia-article.html", "odt_electra.odt",
                 "pdf_font_identity-cmap_polish_issue-625.pdf", "pdf_text_simple_crazyones.pdf",
                 "docx_tables-images_markitdown-test.docx", "txt_utf-16le_with-bom.srt"):
        doc = extract(docs / name)
        assert garbled_reason(doc.text) == "", name
        assert doc.extractor, name


def test_tiny_chunks_are_flagged() -> None:
    assert tiny_chunks_reason(["a", "", " b ", "A real chunk of text that is long enough."]) != ""
    assert tiny_chunks_reason(["A real chunk.", "Another real chunk of text."]) == ""


def test_utf16_without_byte_order_mark_is_read_as_utf16(tmp_path: Path) -> None:
    text = "Subtitles without a byte-order mark.\nSecond line: naïve café, Grüße.\n" * 5
    for enc in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{enc}.txt"
        path.write_bytes(text.encode(enc))
        doc = extract(path)
        assert doc.text.startswith("Subtitles without a byte-order mark."), enc
        assert "\x00" not in doc.text
        assert "Grüße" in doc.text


def test_ascii_utf16_without_bom_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(("Plain ASCII notes saved as UTF-16 by an old editor.\n" * 10).encode("utf-16-le"))
    doc = extract(path)
    assert "\x00" not in doc.text and doc.text.startswith("Plain ASCII notes")


def test_garbled_text_file_is_skipped_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "mojibake.txt"
    path.write_text(("3HQČåQtSURVWĜHGN\\QD~þWHFK =DSODFHQp]iORK\\9\\XåLWtãHGQDFHQD " * 20), encoding="utf-8")
    with pytest.raises(Unreadable, match="garbled"):
        extract(path)


def _docx_with_equation(tmp_path: Path) -> Path:
    """A Word file written by python-docx, with an OMML equation put in its first paragraph
    the way Word stores one (python-docx has no API for equations)."""
    import docx

    path = tmp_path / "equation.docx"
    document = docx.Document()
    document.add_paragraph("The angle is ")
    document.save(str(path))
    math = ('<m:oMath xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math">'
            '<m:r><m:t>θ=</m:t></m:r><m:f><m:num><m:r><m:t>π</m:t></m:r></m:num>'
            '<m:den><m:r><m:t>2</m:t></m:r></m:den></m:f></m:oMath>')
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    xml = parts["word/document.xml"].decode("utf-8")
    xml = xml.replace("The angle is </w:t></w:r>", "The angle is </w:t></w:r>" + math, 1)
    parts["word/document.xml"] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    return path


def test_word_equations_are_kept_as_linear_text(tmp_path: Path) -> None:
    doc = extract(_docx_with_equation(tmp_path))
    assert "The angle is θ=(π)/(2)" in doc.text


def test_omml_structures() -> None:
    from lxml import etree

    m = "http://schemas.openxmlformats.org/officeDocument/2006/math"
    xml = (f'<m:oMath xmlns:m="{m}"><m:sSup><m:e><m:r><m:t>x</m:t></m:r></m:e><m:sup><m:r><m:t>2</m:t>'
           f'</m:r></m:sup></m:sSup><m:r><m:t>+</m:t></m:r><m:rad><m:radPr/><m:deg/><m:e><m:r><m:t>y</m:t>'
           f'</m:r></m:e></m:rad></m:oMath>')
    assert omml_to_text(etree.fromstring(xml)) == "x^(2)+√(y)"


def test_notes_full_of_codes_and_ids_are_not_mojibake() -> None:
    # product codes, ticket numbers, log ids: letters then digits is ordinary text
    text = "Order log. " + " ".join(f"word{n} item{n * 7} ref2024 KX16 A4" for n in range(300))
    assert garbled_reason(text) == ""
    assert garbled_reason("3HQČåQtSURVWĜHGN\\QD~þWHFK " * 50) != ""
