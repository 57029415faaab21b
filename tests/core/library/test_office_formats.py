"""Spreadsheets, slides and e-mail (issue 15), each read from a file that the format's own
library wrote: openpyxl (.xlsx), odfpy (.ods, .odp), python-pptx (.pptx), the standard
library's email and mailbox (.eml, .mbox)."""

from __future__ import annotations

import hashlib
import mailbox
import zipfile
from pathlib import Path

import pytest

from desktop.core.library.extraction import extract
from desktop.core.library.formats import Unreadable, is_supported
from tests.mail import message


def _xlsx(tmp_path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Budget"
    ws.append(["Item", "Cost"])
    ws.append(["Rent", 1200])
    ws.append(["Food", 450.5])
    ws["B4"] = "=SUM(B2:B3)"
    wb.create_sheet("Notes")["C7"] = "Ask the landlord about the heating"
    path = tmp_path / "budget.xlsx"
    wb.save(str(path))
    # openpyxl does not compute formulas; give B4 the cached value a spreadsheet program
    # stores beside the formula when it saves
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    assert "<f>SUM(B2:B3)</f><v></v>" in sheet or "<f>SUM(B2:B3)</f><v />" in sheet
    sheet = sheet.replace("<f>SUM(B2:B3)</f><v></v>", "<f>SUM(B2:B3)</f><v>1650.5</v>")
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("<f>SUM(B2:B3)</f><v />", "<f>SUM(B2:B3)</f><v>1650.5</v>").encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    return path


def test_xlsx_cells_with_addresses_and_cached_formula_values(tmp_path: Path) -> None:
    doc = extract(_xlsx(tmp_path))
    assert doc.extractor == "openpyxl"
    assert "A2: Rent | B2: 1200" in doc.text
    assert "B4: 1650.5" in doc.text  # the cached value, not the formula
    assert "SUM(" not in doc.text
    assert "## Budget!A1:B4" in doc.text  # the block's heading: the chunk's section, cited
    assert "## Notes!C7:C7" in doc.text and "C7: Ask the landlord" in doc.text


def test_xlsx_chunks_cite_sheet_and_cells(tmp_path: Path, model_dir: Path) -> None:
    from desktop.core.library.chunking import Chunker

    doc = extract(_xlsx(tmp_path))
    sections = {c.section for c in Chunker(model_dir).chunk(doc)}
    assert any(s.startswith("Budget!A1") for s in sections) or "Sheet Budget" in sections


def _ods(tmp_path: Path) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Stock")
    for cells in (["Fruit", "Count"], ["Apples", 12], ["Pears", 30]):
        row = TableRow()
        for value in cells:
            if isinstance(value, int):
                cell = TableCell(valuetype="float", value=value)
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text=str(value)))
            row.addElement(cell)
        table.addElement(row)
    row = TableRow()
    row.addElement(TableCell(numbercolumnsrepeated=1))
    total = TableCell(valuetype="float", value=42, formula="of:=SUM([.B2:.B3])")
    total.addElement(P(text="42"))  # the cached result, as LibreOffice saves it
    row.addElement(total)
    table.addElement(row)
    table.addElement(TableRow(numberrowsrepeated=1048570))  # an empty sheet's tail
    doc.spreadsheet.addElement(table)
    path = tmp_path / "stock.ods"
    doc.save(str(path))
    return path


def test_ods_cells_with_addresses_and_cached_values(tmp_path: Path) -> None:
    doc = extract(_ods(tmp_path))
    assert "A2: Apples | B2: 12" in doc.text
    assert "B4: 42" in doc.text and "SUM" not in doc.text
    assert "## Stock!A1:B4" in doc.text


def test_pptx_slides_numbered_with_speaker_notes(tmp_path: Path) -> None:
    from pptx import Presentation

    prs = Presentation()
    for title, body, notes in [
        ("Quarterly results", "Revenue grew 12 percent", "Mention the new Lyon office"),
        ("Next steps", "Hire two engineers", ""),
    ]:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    path = tmp_path / "deck.pptx"
    prs.save(str(path))
    doc = extract(path)
    assert doc.extractor == "python-pptx"
    assert "# Slide 1: Quarterly results" in doc.text and "# Slide 2: Next steps" in doc.text
    assert "Speaker notes: Mention the new Lyon office" in doc.text
    assert "Revenue grew 12 percent" in doc.text
    assert [p for _, p in doc.pages] == [1, 2]
    assert doc.text.index("Lyon") < doc.text.index("# Slide 2")


def test_odp_slides_numbered_with_speaker_notes(tmp_path: Path) -> None:
    from odf.draw import Frame, Page, TextBox
    from odf.namespaces import PRESENTATIONNS
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes
    from odf.style import MasterPage, PageLayout
    from odf.text import P

    doc = OpenDocumentPresentation()
    layout = PageLayout(name="PL")
    doc.automaticstyles.addElement(layout)
    master = MasterPage(name="Default", pagelayoutname=layout)
    doc.masterstyles.addElement(master)
    for title, body, notes in (("Roadmap", "Ship OCR in March", "Say why OCR matters"), ("Risks", "Fonts", "")):
        page = Page(masterpagename=master)
        frame = Frame(width="20cm", height="3cm", x="1cm", y="1cm")
        frame.setAttrNS(PRESENTATIONNS, "class", "title")
        box = TextBox()
        box.addElement(P(text=title))
        frame.addElement(box)
        page.addElement(frame)
        frame = Frame(width="20cm", height="10cm", x="1cm", y="5cm")
        box = TextBox()
        box.addElement(P(text=body))
        frame.addElement(box)
        page.addElement(frame)
        if notes:
            n = Notes()
            nf = Frame(width="20cm", height="10cm", x="1cm", y="5cm")
            nb = TextBox()
            nb.addElement(P(text=notes))
            nf.addElement(nb)
            n.addElement(nf)
            page.addElement(n)
        doc.presentation.addElement(page)
    path = tmp_path / "plan.odp"
    doc.save(str(path))
    out = extract(path)
    assert "# Slide 1: Roadmap" in out.text and "# Slide 2: Risks" in out.text
    assert "Ship OCR in March" in out.text
    assert "Speaker notes: Say why OCR matters" in out.text
    assert out.text.count("Say why OCR matters") == 1


def test_eml_headers_body_and_attachments(tmp_path: Path) -> None:
    import docx

    att = tmp_path / "minutes.docx"
    d = docx.Document()
    d.add_heading("Minutes", level=1)
    d.add_paragraph("The board approved the boiler replacement.")
    d.save(str(att))
    msg = message("Boiler quote", "Please find the minutes attached.")
    msg.add_attachment(att.read_bytes(), maintype="application",
                       subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                       filename="minutes.docx")
    msg.add_attachment(b"\x00\x01binary", maintype="application", subtype="octet-stream", filename="blob.bin")
    path = tmp_path / "quote.eml"
    path.write_bytes(bytes(msg))
    doc = extract(path)
    assert doc.text.startswith("# Message: Boiler quote")
    for line in ("From: Ana Lima <ana@example.org>", "To: Ben Okafor <ben@example.org>",
                 "Date: Tue, 01 Dec 2026 09:30:00 +0000", "Please find the minutes attached."):
        assert line in doc.text
    assert "Attachments: minutes.docx, blob.bin" in doc.text
    # the attachment is a document of its own, linked to the message, not part of its text
    assert "The board approved the boiler replacement." not in doc.text
    [minutes] = doc.attachments
    assert (minutes.name, minutes.message, minutes.size) == ("minutes.docx", "Boiler quote", att.stat().st_size)
    assert minutes.sha256 == hashlib.sha256(att.read_bytes()).hexdigest()
    assert minutes.doc.text.startswith('# Attachment minutes.docx (of the message "Boiler quote")')
    assert "## Minutes" in minutes.doc.text  # its own headings one level down
    assert "The board approved the boiler replacement." in minutes.doc.text
    assert any("blob.bin" in w for w in doc.warnings)


def test_mbox_attachments_of_the_same_name_get_their_own_names(tmp_path: Path) -> None:
    path = tmp_path / "saved.mbox"
    box = mailbox.mbox(str(path))
    for subject, body in (("March meeting", "Alpha budget"), ("April meeting", "Beta budget")):
        msg = message(subject, "Notes attached.")
        msg.add_attachment(body.encode(), maintype="text", subtype="plain", filename="notes.txt")
        box.add(msg)
    box.close()
    doc = extract(path)
    assert [(a.name, a.message) for a in doc.attachments] == [
        ("notes.txt", "March meeting"), ("notes (2).txt", "April meeting")]
    assert "Beta budget" in doc.attachments[1].doc.text and "Beta budget" not in doc.text


def test_mbox_everymessage(tmp_path: Path) -> None:
    path = tmp_path / "saved.mbox"
    box = mailbox.mbox(str(path))
    box.add(message("First", "Alpha body"))
    box.add(message("Second", "Beta body"))
    box.close()
    doc = extract(path)
    assert "# Message: First" in doc.text and "# Message: Second" in doc.text
    assert "Alpha body" in doc.text and "Beta body" in doc.text


def test_new_formats_are_supported_and_unsafe_xml_refused(tmp_path: Path) -> None:
    for name in ("a.xlsx", "a.ods", "a.pptx", "a.odp", "a.eml", "a.mbox", "scan.png", "scan.tiff"):
        assert is_supported(Path(name)), name
    path = _xlsx(tmp_path)
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    body = parts["xl/workbook.xml"]
    body = body.split(b"?>", 1)[1] if body.startswith(b"<?xml") else body
    parts["xl/workbook.xml"] = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + body
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(evil, "w") as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    with pytest.raises(Unreadable, match="unsafe XML"):
        extract(evil)
