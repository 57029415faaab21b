"""The extraction dispatcher: the extractor of a file's type (:mod:`.formats`,
:mod:`.office`, :mod:`.ocr`), then a check for signs of a failed extraction
(:mod:`.quality`) with a second extractor when it has them.

It runs inside the parser process (:mod:`desktop.core.library.parse_worker`).  It sits
above the per-format modules so that none of them imports another's dispatcher (an
e-mail's attachments are extracted through the function passed to
:func:`~desktop.core.library.office.extract_office`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from desktop.core.library.formats import (
    CODE_EXTENSIONS,
    IMAGE_EXTENSIONS,
    MARKDOWN_EXTENSIONS,
    OFFICE_EXTENSIONS,
    TEXT_EXTENSIONS,
    DamagedPdf,
    Extracted,
    Unreadable,
    decode_utf16_guess,
    extract_docx,
    extract_epub,
    extract_html,
    extract_odt,
    extract_pdf,
    extract_pdf_pdfium,
    extract_rtf,
    join_pages,
    ocr_heading,
    read_text,
)


def extract(path: Path, ocr: bool = True) -> Extracted:
    """Extract the text of ``path`` according to its extension, check it for signs of a
    failed extraction (:mod:`.quality`) and recover with a second extractor when it has
    them (PDF: pypdfium2, then OCR; text: UTF-16 without byte-order mark).

    Args:
        ocr: read scanned pages and images by OCR (the library's ``ocr_enabled`` setting).

    Raises:
        Unreadable: password-protected, no text layer, damaged, binary, unsafe XML,
            garbled text that no extractor could read, ...
    """
    result = _extract_once(path, ocr)
    return _checked(path, result, ocr)


def _extract_once(path: Path, ocr: bool) -> Extracted:
    ext = path.suffix.lower()
    try:
        if ext == ".pdf":
            result = _pdf(path)
            if not result.text.strip() or _empty_pages(result):
                result = _pdf_ocr(path, result, ocr)
        elif ext in IMAGE_EXTENSIONS:
            if not ocr:
                raise Unreadable("an image; turn on OCR in Settings to read the text in it")
            from desktop.core.library.ocr import ocr_image

            result = ocr_image(path)
        elif ext in OFFICE_EXTENSIONS:
            from desktop.core.library.office import extract_office

            result = extract_office(path, ocr, extract)
        elif ext == ".docx":
            result = extract_docx(path)
        elif ext == ".odt":
            result = extract_odt(path)
        elif ext == ".epub":
            result = extract_epub(path)
        elif ext in (".html", ".htm", ".xhtml"):
            result = extract_html(read_text(path))
        elif ext == ".rtf":
            result = extract_rtf(path)
        elif ext in MARKDOWN_EXTENSIONS:
            result = Extracted(read_text(path), "markdown")
        elif ext in CODE_EXTENSIONS:
            result = Extracted(read_text(path), "code")
        else:
            result = Extracted(read_text(path), "text")
    except Unreadable:
        raise
    except (zipfile.BadZipFile, EOFError) as exc:
        raise Unreadable(f"the file is damaged or truncated ({exc})") from exc
    except RecursionError as exc:
        raise Unreadable("the file's structure loops on itself (damaged or malicious)") from exc
    except MemoryError as exc:
        raise Unreadable("reading it needs more memory than allowed (too large or malicious)") from exc
    except PermissionError as exc:
        raise Unreadable("permission denied") from exc
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror or exc})") from exc
    except Exception as exc:
        raise Unreadable(f"the file is damaged or not a valid {ext or 'text'} file ({type(exc).__name__}: {exc})") from exc
    if not result.text.strip():
        if ext == ".pdf":
            if not ocr:
                raise Unreadable("no text layer (a scanned or image-only PDF; it needs OCR): turn "
                                 "on OCR in Settings to read it")
            raise Unreadable("no text layer, and OCR found no text on its pages"
                             + (f" ({'; '.join(result.warnings)})" if result.warnings else ""))
        raise Unreadable("contains no text")
    if not result.extractor:
        result.extractor = _DEFAULT_EXTRACTOR.get(ext, "text")
    return result


#: what a user can do with a PDF that no reader here can open
DAMAGED_PDF_HINT = ("damaged PDF: Hearth could not read it. Open it in a PDF viewer and save it "
                    "again (or print it to a new PDF), then add that copy")


def _pdf(path: Path) -> Extracted:
    """pypdf's text; where pypdf cannot parse the file's structure, PDFium's (it repairs
    more: ``pdf_hang-risk_circular-xobjects_issue-1113.pdf`` in ``../shared/data/docs``,
    "startxref not found" for pypdf, opens there), with a warning naming pypdf's error.

    Raises:
        Unreadable: password-protected, or neither reader can open it
            (:data:`DAMAGED_PDF_HINT`, pypdf's words in brackets).
    """
    try:
        return extract_pdf(path)
    except DamagedPdf as exc:
        try:
            result = extract_pdf_pdfium(path)
        except Unreadable:
            raise Unreadable(f"{DAMAGED_PDF_HINT} ({exc})") from exc
        result.extractor = "pypdfium2"
        result.warnings.append("the PDF is damaged; Hearth read its text another way (PDFium). "
                               f"Check answers from it against the file ({exc})")
        return result


_DEFAULT_EXTRACTOR = {".pdf": "pypdf", ".docx": "python-docx", ".odt": "odfpy", ".epub": "ebooklib",
                      ".html": "html (lxml)", ".htm": "html (lxml)", ".xhtml": "html (lxml)",
                      ".rtf": "striprtf"}


def _checked(path: Path, result: Extracted, ocr: bool) -> Extracted:
    """``result`` if it looks like text; else a second extractor's, or Unreadable."""
    from desktop.core.library.quality import garbled_reason

    reason = garbled_reason(result.text)
    if not reason:
        return result
    if result.ocr_pages and "mojibake" in reason:
        # OCR's own output: words run together (see desktop.core.library.ocr), not a font map
        result.warnings.append("OCR text: some words may run together")
        return result
    ext = path.suffix.lower()
    second: Extracted | None = None
    if ext == ".pdf":
        try:
            second = extract_pdf_pdfium(path)
        except Unreadable:
            second = None
        if second is not None and not garbled_reason(second.text) and second.text.strip():
            second.warnings.append(f"pypdf's text was garbled ({reason}); read with pypdfium2")
            return second
        if ocr:
            try:
                from desktop.core.library.ocr import ocr_pdf

                third = ocr_pdf(path, pages=None)
            except Unreadable:
                third = None
            if third is not None and third.text.strip() and not garbled_reason(third.text):
                third.warnings.append(f"the PDF's text layer was garbled ({reason}); read by OCR")
                return third
    elif "\x00" in result.text and (ext in TEXT_EXTENSIONS or ext in MARKDOWN_EXTENSIONS
                                    or ext in CODE_EXTENSIONS or not ext):
        text = decode_utf16_guess(path.read_bytes())
        if text is not None and not garbled_reason(text):
            second = Extracted(text, result.kind, extractor="text (UTF-16 without byte-order mark)")
            second.warnings.append("UTF-16 text without a byte-order mark")
            return second
    hint = ""
    if ext == ".pdf":
        hint = " Try printing it to a new PDF" + ("" if ocr else ", or turn on OCR in Settings") + "."
    raise Unreadable(f"the extracted text is garbled: {reason}.{hint}")


def _empty_pages(result: Extracted) -> bool:
    """True if some page has no text layer (a scanned page in a PDF with text)."""
    offsets = [o for o, _ in result.pages] + [len(result.text) + 2]
    return any(offsets[i + 1] - offsets[i] <= 2 for i in range(len(result.pages)))


def _pdf_ocr(path: Path, result: Extracted, ocr: bool) -> Extracted:
    """OCR for the pages of ``result`` that have no text layer (all of them for a scan)."""
    if not ocr:
        return result
    from desktop.core.library.ocr import ocr_pdf

    offsets = [o for o, _ in result.pages] + [len(result.text) + 2]
    empty = [n for i, (_, n) in enumerate(result.pages) if offsets[i + 1] - offsets[i] <= 2]
    if not result.pages:
        return ocr_pdf(path, pages=None)
    ocred = ocr_pdf(path, pages=empty)
    # without the heading ocr_pdf put above each page: join_pages puts it back (it had
    # been there twice, in every citation's passage)
    by_page = {n: text.removeprefix(ocr_heading(n)).lstrip("\n") for n, text in _page_texts(ocred)}
    texts = dict(_page_texts(result))
    return join_pages(
        [(n, by_page.get(n, "") if n in empty else texts.get(n, "")) for _, n in result.pages],
        ocr_pages=ocred.ocr_pages, extractor="pypdf + OCR (RapidOCR)" if len(empty) < len(result.pages)
        else ocred.extractor, warnings=ocred.warnings, title=result.title)


def _page_texts(doc: Extracted) -> list[tuple[int, str]]:
    offsets = [o for o, _ in doc.pages] + [len(doc.text) + 2]
    return [(n, doc.text[offsets[i]:offsets[i + 1] - 2]) for i, (_, n) in enumerate(doc.pages)]
