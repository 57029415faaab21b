"""Spreadsheets, slides and saved e-mail: .xlsx/.xlsm/.ods, .pptx/.odp, .eml/.mbox.

Run in the parser process like every extractor (:mod:`.formats`): a time limit per file,
a memory cap, and the XML parts of the zip-based formats checked with defusedxml first
(no entity declarations, no external references) before openpyxl, python-pptx or odfpy
read them.

What the citation shows comes from the headings emitted here (they become chunk
sections): ``Sheet1!A1:D25`` for a block of spreadsheet rows (every cell is also written
with its address, ``B7: 1299``), ``Slide 3: Title`` for a slide (speaker notes follow its
text under ``Speaker notes:``), ``Message: Subject`` for an e-mail.  An e-mail's
attachments of supported types are read by their own extractors into
:attr:`~.formats.Extracted.attachments`: the library indexes each as a document of its
own, linked to the message (:mod:`.indexer`).  Spreadsheet formulas
are read as their cached values (what the user last saw), never as formula text.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import mailbox
import os
import tempfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from desktop.core.library.formats import (
    SUPPORTED_EXTENSIONS,
    Attachment,
    Extracted,
    Unreadable,
    check_zip_xml,
    extract_html,
)

#: spreadsheet rows per heading block (each block's heading names its cell range)
ROWS_PER_BLOCK = 25
#: cells read per sheet at most (a sheet of a million filled cells is mostly numbers)
MAX_CELLS = 200_000
#: attachments read per message, and messages per mbox, at most
MAX_ATTACHMENTS = 20
MAX_MESSAGES = 5000

#: reads one file into text (:func:`desktop.core.library.extraction.extract`)
Extractor = Callable[[Path, bool], Extracted]


def extract_office(path: Path, ocr: bool = True, extract: Extractor | None = None) -> Extracted:
    """Dispatch on the extension (.xlsx/.xlsm, .ods, .pptx, .odp, .eml, .mbox).

    Args:
        extract: reads an e-mail's attachments (the app passes
            :func:`desktop.core.library.extraction.extract`); None skips them with a warning.

    Raises:
        Unreadable: damaged file, unsafe XML, no text.
    """
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        return extract_xlsx(path)
    if ext == ".ods":
        return extract_ods(path)
    if ext == ".pptx":
        return extract_pptx(path)
    if ext == ".odp":
        return extract_odp(path)
    if ext == ".eml":
        return extract_eml(path, ocr, extract)
    if ext == ".mbox":
        return extract_mbox(path, ocr, extract)
    raise Unreadable(f"not an office format ({ext})")


# -- spreadsheets ------------------------------------------------------------------------


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA (spreadsheet column names)."""
    out = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _sheet_blocks(name: str, rows: list[tuple[int, list[tuple[int, str]]]]) -> list[str]:
    """Markdown for one sheet: a heading per block of rows naming the cell range."""
    lines: list[str] = [f"# Sheet {name}"]
    for b in range(0, len(rows), ROWS_PER_BLOCK):
        block = rows[b:b + ROWS_PER_BLOCK]
        first_row, last_row = block[0][0], block[-1][0]
        first_col = min(c for _, cells in block for c, _ in cells)
        last_col = max(c for _, cells in block for c, _ in cells)
        lines.append(f"## {name}!{column_letter(first_col)}{first_row}:{column_letter(last_col)}{last_row}")
        for row, cells in block:
            lines.append(" | ".join(f"{column_letter(c)}{row}: {v}" for c, v in cells))
    return lines


def extract_xlsx(path: Path) -> Extracted:
    """openpyxl, ``data_only=True``: cached values of formulas; one block per 25 rows."""
    check_zip_xml(path)
    import openpyxl

    wb = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    try:
        lines: list[str] = []
        for ws in wb.worksheets:
            rows: list[tuple[int, list[tuple[int, str]]]] = []
            seen = 0
            for row in ws.iter_rows():
                cells = []
                row_no = 0
                for cell in row:
                    value = getattr(cell, "value", None)
                    text = _format_value(value)
                    if text:  # read-only mode's EmptyCell has no address; a filled cell has
                        cells.append((int(cell.column), text))
                        row_no = int(cell.row)
                if cells:
                    rows.append((row_no, cells))
                    seen += len(cells)
                    if seen > MAX_CELLS:
                        break
            if rows:
                lines += _sheet_blocks(ws.title, rows)
        title = wb.properties.title or "" if wb.properties else ""
    finally:
        wb.close()
    return Extracted("\n\n".join(lines), "markdown", title=title, extractor="openpyxl")


def _odf_text(node: Any) -> str:
    from odf import teletype

    return " ".join(teletype.extractText(node).split())


def extract_ods(path: Path) -> Extracted:
    """odfpy: each table's cells with their addresses; a formula cell's text is the value
    the application last computed (ODF stores it beside the formula)."""
    check_zip_xml(path)
    from odf.namespaces import TABLENS
    from odf.opendocument import load
    from odf.table import Table, TableRow

    doc = load(str(path))
    lines: list[str] = []
    for table in doc.spreadsheet.getElementsByType(Table):
        name = table.getAttribute("name") or "Sheet"
        rows: list[tuple[int, list[tuple[int, str]]]] = []
        row_no = 0
        seen = 0
        for row in table.getElementsByType(TableRow):
            repeat_rows = int(row.getAttribute("numberrowsrepeated") or 1)
            col = 0
            cells: list[tuple[int, str]] = []
            for cell in row.childNodes:
                if getattr(cell, "qname", None) not in ((TABLENS, "table-cell"), (TABLENS, "covered-table-cell")):
                    continue
                is_cell = cell.qname == (TABLENS, "table-cell")
                repeat = int(cell.getAttribute("numbercolumnsrepeated") or 1) if is_cell else 1
                text = _odf_text(cell)
                if not text:
                    value = cell.getAttribute("value") if is_cell else None
                    text = _format_value(value) if value else ""
                if text:
                    for k in range(min(repeat, 100)):
                        cells.append((col + k + 1, text))
                col += repeat
            if cells:
                for k in range(min(repeat_rows, 100)):
                    rows.append((row_no + k + 1, cells))
                seen += len(cells)
            row_no += repeat_rows
            if seen > MAX_CELLS:
                break
        if rows:
            lines += _sheet_blocks(name, rows)
    return Extracted("\n\n".join(lines), "markdown", extractor="odfpy")


# -- slides ------------------------------------------------------------------------------


def _join_slides(slides: list[tuple[str, list[str], str]], extractor: str) -> Extracted:
    """(title, texts, notes) per slide -> text with a heading and a page per slide."""
    parts: list[str] = []
    pages: list[tuple[int, int]] = []
    offset = 0
    for number, (title, texts, notes) in enumerate(slides, 1):
        body = [f"# Slide {number}" + (f": {title}" if title else "")]
        body += [t for t in texts if t and t != title]
        if notes:
            body.append("Speaker notes: " + notes)
        part = "\n\n".join(body)
        pages.append((offset, number))
        parts.append(part)
        offset += len(part) + 2
    return Extracted("\n\n".join(parts), "markdown", pages=pages, extractor=extractor)


def extract_pptx(path: Path) -> Extracted:
    """python-pptx: each slide's title, text frames, tables and grouped shapes, then its
    speaker notes; the slide number is the chunk's page."""
    check_zip_xml(path)
    from pptx import Presentation

    prs = Presentation(str(path))
    slides: list[tuple[str, list[str], str]] = []

    def shape_texts(shapes: Any) -> list[str]:
        out: list[str] = []
        for shape in shapes:
            if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                text = "\n".join(" ".join(p.text.split()) for p in shape.text_frame.paragraphs if p.text.strip())
                if text:
                    out.append(text)
            if getattr(shape, "has_table", False) and shape.has_table:
                for row in shape.table.rows:
                    out.append(" | ".join(" ".join(c.text.split()) for c in row.cells))
            if getattr(shape, "shape_type", None) == 6:  # MSO_SHAPE_TYPE.GROUP
                out += shape_texts(shape.shapes)
        return out

    for slide in prs.slides:
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text.split()) if title_shape is not None and title_shape.has_text_frame else ""
        notes = ""
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = " ".join(slide.notes_slide.notes_text_frame.text.split())
        slides.append((title, shape_texts(slide.shapes), notes))
    result = _join_slides(slides, "python-pptx")
    result.title = prs.core_properties.title or ""
    return result


def extract_odp(path: Path) -> Extracted:
    """odfpy: each draw:page's text (frames in order), its title (the presentation:class
    "title" frame) and its presentation:notes."""
    check_zip_xml(path)
    from odf.draw import Frame, Page
    from odf.namespaces import PRESENTATIONNS
    from odf.opendocument import load
    from odf.text import P

    doc = load(str(path))
    slides: list[tuple[str, list[str], str]] = []
    for page in doc.presentation.getElementsByType(Page):
        title = ""
        texts: list[str] = []
        notes: list[str] = []
        for child in page.childNodes:
            if getattr(child, "qname", None) == (PRESENTATIONNS, "notes"):
                notes += [t for t in (_odf_text(p) for p in child.getElementsByType(P)) if t]
        for frame in page.getElementsByType(Frame):
            parent = frame.parentNode
            in_notes = False
            while parent is not None:
                if getattr(parent, "qname", None) == (PRESENTATIONNS, "notes"):
                    in_notes = True
                    break
                parent = parent.parentNode
            if in_notes:
                continue
            text = "\n".join(t for t in (_odf_text(p) for p in frame.getElementsByType(P)) if t)
            if not text:
                continue
            if frame.getAttrNS(PRESENTATIONNS, "class") == "title" and not title:
                title = " ".join(text.split())
            else:
                texts.append(text)
        slides.append((title, texts, " ".join(notes)))
    return _join_slides(slides, "odfpy")


# -- e-mail ------------------------------------------------------------------------------


def _message_text(msg: EmailMessage, ocr: bool, level: int, warnings: list[str],
                  extract: Extractor | None, attachments: list[Attachment]) -> list[str]:
    """Heading with From/To/Date/Subject, the body (plain text, else HTML) and the names
    of its attachments; each attachment of a supported type is read into
    ``attachments``, a document of its own linked to the message."""
    subject = " ".join(str(msg.get("subject", "") or "(no subject)").split())
    lines = [("#" * level) + f" Message: {subject}"]
    for header in ("From", "To", "Cc", "Date", "Subject"):
        value = msg.get(header)
        if value:
            lines.append(f"{header}: {' '.join(str(value).split())}")
    names = [n for n in (os.path.basename(p.get_filename() or "") for p in msg.iter_attachments()) if n]
    if names:
        lines.append("Attachments: " + ", ".join(names))
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is not None:
        try:
            content = body.get_content()
        except (LookupError, UnicodeError, AssertionError):
            payload = body.get_payload(decode=True)
            content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        if body.get_content_type() == "text/html":
            content = extract_html(str(content), main_only=False).text
        lines.append(str(content).strip())
    count = 0
    for part in msg.iter_attachments():
        name = os.path.basename(part.get_filename() or "")
        if not name:
            continue
        if Path(name).suffix.lower() not in SUPPORTED_EXTENSIONS or Path(name).suffix.lower() in (".eml", ".mbox"):
            warnings.append(f"attachment {name} of \"{subject}\" is not a format Hearth reads")
            continue
        count += 1
        if count > MAX_ATTACHMENTS:
            warnings.append(f"only the first {MAX_ATTACHMENTS} attachments of \"{subject}\" were read")
            break
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data:
            continue
        doc = _read_attachment(name, data, ocr, warnings, extract)
        if doc is not None:
            heading = f"# Attachment {name} (of the message \"{subject}\")"
            doc.text = heading + "\n\n" + doc.text
            doc.kind = "markdown"
            doc.pages = [(offset + len(heading) + 2, page) for offset, page in doc.pages]
            attachments.append(Attachment(_unique_name(name, attachments), subject, len(data),
                                          hashlib.sha256(data).hexdigest(), doc))
    return lines


def _unique_name(name: str, taken: list[Attachment]) -> str:
    """``name``, or "minutes (2).docx" when an earlier attachment of the file has it."""
    names = {a.name for a in taken}
    stem, suffix, n = Path(name).stem, Path(name).suffix, 1
    while name in names:
        n += 1
        name = f"{stem} ({n}){suffix}"
    return name


def _read_attachment(name: str, data: bytes, ocr: bool, warnings: list[str],
                     extract: Extractor | None) -> Extracted | None:
    """Extract an attachment with the extractor of its type (in a private temporary folder,
    deleted afterwards); its own headings are pushed one level down, below the heading
    that names the message.  None (with a warning) when it cannot be read."""
    if extract is None:
        warnings.append(f"attachment {name} not read")
        return None
    with tempfile.TemporaryDirectory(prefix="hearth-attachment-") as tmp:
        p = Path(tmp) / name
        p.write_bytes(data)
        try:
            doc = extract(p, ocr)
        except Unreadable as exc:
            warnings.append(f"attachment {name} skipped: {exc}")
            return None
    if doc.kind == "markdown":
        doc.text = "\n".join(("#" + line) if line.startswith("#") else line for line in doc.text.splitlines())
    return doc


def extract_eml(path: Path, ocr: bool = True, extract: Extractor | None = None) -> Extracted:
    """The stdlib ``email`` parser (policy ``default``: decoded headers and bodies)."""
    with open(path, "rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    if not isinstance(msg, EmailMessage) or not msg.keys():
        raise Unreadable("not an e-mail message (no headers)")
    warnings: list[str] = []
    attachments: list[Attachment] = []
    lines = _message_text(msg, ocr, 1, warnings, extract, attachments)
    return Extracted("\n\n".join(lines), "markdown", title=str(msg.get("subject", "") or ""),
                     extractor="email (Python)", warnings=warnings, attachments=attachments)


def extract_mbox(path: Path, ocr: bool = True, extract: Extractor | None = None) -> Extracted:
    """The stdlib ``mailbox.mbox``: each message as in :func:`extract_eml`."""
    box = mailbox.mbox(str(path), create=False)
    warnings: list[str] = []
    lines: list[str] = []
    attachments: list[Attachment] = []
    try:
        for n, key in enumerate(box.iterkeys()):
            msg = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
            if n >= MAX_MESSAGES:
                warnings.append(f"only the first {MAX_MESSAGES} messages were read")
                break
            if isinstance(msg, EmailMessage):
                lines += _message_text(msg, ocr, 1, warnings, extract, attachments)
    finally:
        box.close()
    return Extracted("\n\n".join(lines), "markdown", extractor="mailbox (Python)", warnings=warnings,
                     attachments=attachments)
