"""Text extraction: one function per document format, all returning :class:`Extracted`.

These run inside the parser process (:mod:`desktop.core.library.parse_worker`), where a
crash, a hang or a memory blow-up cannot take the app down.  A file that cannot be read
raises :class:`Unreadable` with a sentence for the user.  Which extractor reads a file,
and the second try when the first one's text is garbled, is decided in
:mod:`desktop.core.library.extraction`.

Safety: XML-based formats (docx, odt, epub) are checked with defusedxml before any other
library sees them, so a document that declares entities (the XXE and "billion laughs"
attacks) is refused and can never make the app read another local file.  HTML is parsed
by lxml's HTML parser with entity resolution and network access off.

Structure: extractors emit Markdown-style headings (``# Title``) so the chunker can follow
heading boundaries and every chunk knows its section; PDFs also return the character
offset where each page starts.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Plain-text formats read as text (encoding detected).
TEXT_EXTENSIONS = {".txt", ".text", ".log", ".srt", ".vtt", ".tex", ".org", ".adoc", ".csv", ".tsv"}
MARKDOWN_EXTENSIONS = {".md", ".markdown", ".mdown", ".rst"}
CODE_EXTENSIONS = {
    ".py", ".pyi", ".js", ".jsx", ".ts", ".tsx", ".java", ".kt", ".c", ".h", ".cc", ".cpp",
    ".hpp", ".cs", ".go", ".rs", ".rb", ".php", ".swift", ".m", ".scala", ".sh", ".bash",
    ".ps1", ".sql", ".r", ".lua", ".pl", ".hs", ".ml", ".ex", ".exs", ".erl", ".clj",
    ".dart", ".jl", ".toml", ".yaml", ".yml", ".ini", ".cfg", ".json", ".xml", ".css",
    ".scss", ".vue", ".svelte", ".cmake", ".gradle", ".bat",
}
DOCUMENT_EXTENSIONS = {".pdf", ".docx", ".odt", ".epub", ".html", ".htm", ".xhtml", ".rtf"}
#: Spreadsheets, slides and saved e-mail (see :mod:`desktop.core.library.office`).
OFFICE_EXTENSIONS = {".xlsx", ".xlsm", ".ods", ".pptx", ".odp", ".eml", ".mbox"}
#: Images, read by OCR when it is on (see :mod:`desktop.core.library.ocr`).
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
SUPPORTED_EXTENSIONS = (TEXT_EXTENSIONS | MARKDOWN_EXTENSIONS | CODE_EXTENSIONS | DOCUMENT_EXTENSIONS
                        | OFFICE_EXTENSIONS | IMAGE_EXTENSIONS)
#: Names without an extension that are text by convention.
TEXT_NAMES = {"readme", "license", "copying", "makefile", "dockerfile", "changelog", "authors"}

_SNIFF_BYTES = 8192


class Unreadable(Exception):
    """The file cannot be indexed; ``str(exc)`` is the reason shown to the user."""


class DamagedPdf(Unreadable):
    """pypdf cannot parse the PDF's structure; ``str(exc)`` is pypdf's own words (another
    reader may still open it)."""


@dataclass
class Extracted:
    """A document's text and where its parts are.

    Attributes:
        text: the whole extracted text (Markdown-style headings for structured formats).
        kind: "markdown" (split at headings and paragraphs), "text" or "code".
        pages: (character offset, 1-based page number) where each PDF page starts.
        title: the document's own title, if it has one.
        extractor: which library read it ("pypdf", "pypdfium2", "ocr (RapidOCR)", ...),
            shown in the file list.
        warnings: sentences for the file list (a page OCR could not read, a fallback used).
        ocr_pages: pages (1-based) whose text came from OCR; their chunks are marked.
        attachments: an e-mail's attachments, each read as a document of its own.
    """

    text: str
    kind: str = "text"
    pages: list[tuple[int, int]] = field(default_factory=list)
    title: str = ""
    extractor: str = ""
    warnings: list[str] = field(default_factory=list)
    ocr_pages: list[int] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class Attachment:
    """A file attached to an e-mail, read as a document of its own, linked to the message.

    Attributes:
        name: its file name, unique within the message file ("minutes (2).docx" for a
            second "minutes.docx" of an mbox); the library records it at the path
            ``<message file>/<name>``.
        message: the subject of the message it came with.
        size: bytes.
        sha256: hex digest of its bytes.
        doc: its text, read by the extractor of its type.
    """

    name: str
    message: str
    size: int
    sha256: str
    doc: Extracted


#: Why a locked PDF is skipped, and what to do about it.
PASSWORD_PDF_REASON = ("password-protected PDF: open it with its password, save or print an "
                       "unlocked copy as PDF, and add that copy")


def is_supported(path: Path) -> bool:
    """True if Hearth reads this file type (by extension, or a conventional text name)."""
    return path.suffix.lower() in SUPPORTED_EXTENSIONS or path.name.lower() in TEXT_NAMES


def ocr_heading(page: int) -> str:
    """The heading put above a page read by OCR: it becomes the chunks' section, so the
    citation says the text was recognised, not read."""
    return f"# Page {page} (scanned; text recognised by OCR)"


def join_pages(pages: list[tuple[int, str]], ocr_pages: list[int], extractor: str,
                warnings: list[str], title: str = "") -> Extracted:
    """One document from per-page texts; OCR pages get :func:`ocr_heading`."""
    parts: list[str] = []
    offsets: list[tuple[int, int]] = []
    offset = 0
    any_ocr = bool(ocr_pages)
    for number, text in pages:
        text = text.strip()
        if number in ocr_pages:
            text = ocr_heading(number) + "\n\n" + text
        elif any_ocr:
            text = f"# Page {number}\n\n" + text
        offsets.append((offset, number))
        parts.append(text)
        offset += len(text) + 2
    return Extracted("\n\n".join(parts), "markdown" if any_ocr else "text", pages=offsets,
                     title=title, extractor=extractor, warnings=list(warnings),
                     ocr_pages=list(ocr_pages))


# -- plain text -------------------------------------------------------------------------


def decode_utf16_guess(data: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: little- or big-endian, whichever puts the
    NUL bytes where ASCII-range text has them (the high byte).  None if neither fits."""
    if len(data) < 4:
        return None
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    half = len(data) / 2
    if odd > 0.3 * half and odd > even:
        enc = "utf-16-le"
    elif even > 0.3 * half and even > odd:
        enc = "utf-16-be"
    else:
        return None
    try:
        return data.decode(enc).replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        return None


def decode_bytes(data: bytes, name: str = "") -> str:
    """Decode text whose encoding is unknown, with charset-normalizer.

    BOMs (UTF-8/16/32) are honoured first.  Raises Unreadable for binary data (NUL bytes
    without a UTF-16/32 BOM, or no plausible encoding).
    """
    import codecs

    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(enc, errors="replace")
    if not data:
        return ""
    if b"\x00" in data[:_SNIFF_BYTES]:
        guessed = decode_utf16_guess(data)
        if guessed is not None:
            return guessed
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise Unreadable("a binary file, not text")
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise Unreadable("a binary file, or text in an encoding that cannot be recognised")
    return str(best)


def read_text(path: Path) -> str:
    """Read a text file, detecting its encoding (see :func:`decode_bytes`)."""
    with open(path, "rb") as fh:
        data = fh.read()
    return decode_bytes(data, path.name).replace("\r\n", "\n").replace("\r", "\n")


# -- PDF ---------------------------------------------------------------------------------


def extract_pdf(path: Path) -> Extracted:
    """pypdf in lenient mode; encrypted files open with the empty user password or are
    refused as password-protected."""
    import logging

    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except (FileNotDecryptedError, NotImplementedError) as exc:
                raise Unreadable(f"{PASSWORD_PDF_REASON} ({exc})") from exc
            if not ok:
                raise Unreadable(PASSWORD_PDF_REASON)
        parts: list[str] = []
        pages: list[tuple[int, int]] = []
        offset = 0
        for number, page in enumerate(reader.pages, 1):
            text = (page.extract_text() or "").strip()
            pages.append((offset, number))
            parts.append(text)
            offset += len(text) + 2
        title = ""
        try:
            meta: Any = reader.metadata or {}
            title = str(meta.get("/Title") or "")
        except Exception:
            pass
    except FileNotDecryptedError as exc:
        raise Unreadable(PASSWORD_PDF_REASON) from exc
    except PdfReadError as exc:
        raise DamagedPdf(str(exc)) from exc
    return Extracted("\n\n".join(parts), "text", pages=pages, title=title)


def extract_pdf_pdfium(path: Path) -> Extracted:
    """pypdfium2 (PDFium, Chrome's PDF engine): the second PDF extractor, used when pypdf's
    text looks garbled (it maps some non-Unicode and CID fonts where pypdf does not)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path), password="")
    except pdfium.PdfiumError as exc:
        raise Unreadable(f"damaged or password-protected PDF ({exc})") from exc
    try:
        parts: list[str] = []
        pages: list[tuple[int, int]] = []
        offset = 0
        for number in range(1, len(pdf) + 1):
            page = pdf[number - 1]
            textpage = page.get_textpage()
            text = (textpage.get_text_range() or "").replace("\r\n", "\n").replace("\r", "\n").strip()
            textpage.close()
            page.close()
            pages.append((offset, number))
            parts.append(text)
            offset += len(text) + 2
    finally:
        pdf.close()
    return Extracted("\n\n".join(parts), "text", pages=pages, extractor="pypdfium2")


# -- XML-based formats -------------------------------------------------------------------


def check_zip_xml(path: Path, max_member_mb: int = 200) -> None:
    """Refuse a docx/odt/epub whose XML parts declare entities or reference external ones.

    Each ``.xml``/``.xhtml``/``.opf``/``.ncx``/``.rels`` member is parsed with defusedxml
    (entities forbidden, external references forbidden; a plain ``<!DOCTYPE html>`` is
    allowed because EPUB XHTML carries one).

    Raises:
        Unreadable: not a zip, a member too large when unpacked, or unsafe XML.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename.lower()
            if not name.endswith((".xml", ".xhtml", ".html", ".htm", ".opf", ".ncx", ".rels")):
                continue
            if info.file_size > max_member_mb * 1024 * 1024:
                raise Unreadable(f"a part of the file is too large when unpacked ({info.filename})")
            data = zf.read(info)
            try:
                fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
            except DefusedXmlException as exc:
                raise Unreadable(
                    f"unsafe XML in {info.filename}: it declares entities or external references "
                    "(refused so that no document can make Hearth read other files)"
                ) from exc
            except Exception:
                # Not well-formed XML: let the format's own parser decide (it may cope).
                continue


def extract_docx(path: Path) -> Extracted:
    """python-docx: paragraphs in order (Heading styles become ``#`` headings) and tables
    (one line per row, cells separated by `` | ``)."""
    check_zip_xml(path)
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(str(path))
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(child, document)
            text = (_paragraph_with_math(child) if _has_math(child) else para.text).strip()
            if not text:
                continue
            style = (para.style.name if para.style is not None else "") or ""
            level = _heading_level(style)
            lines.append(("#" * level + " " + text) if level else text)
        elif tag == "tbl":
            table = Table(child, document)
            for row in table.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                lines.append(" | ".join(cells))
    title = document.core_properties.title or ""
    return Extracted("\n\n".join(lines), "markdown", title=title)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"


def _has_math(element: Any) -> bool:
    return next(element.iter(_M + "oMath"), None) is not None


def _paragraph_with_math(element: Any) -> str:
    """A Word paragraph's text with its equations (OMML) written as linear text, which
    python-docx's ``Paragraph.text`` leaves out ("The angle is ." for "The angle is θ=π/2.")."""
    out: list[str] = []
    for node in element:
        tag = node.tag
        if tag in (_M + "oMath", _M + "oMathPara"):
            out.append(omml_to_text(node))
        elif tag == _W + "r":
            for part in node.iter(_W + "t", _W + "tab", _W + "br"):
                if part.tag == _W + "t":
                    out.append(part.text or "")
                else:
                    out.append("\t" if part.tag == _W + "tab" else "\n")
        else:
            out.append(_paragraph_with_math(node))
    return "".join(out)


def omml_to_text(node: Any) -> str:
    """Office Math (OMML) as linear text in the style of Word's own linear format:
    fractions ``(a)/(b)``, ``x^(2)``, ``x_(i)``, ``√(x)``, n-ary operators with limits,
    delimiters kept; unknown elements contribute their children's text."""
    tag = node.tag.replace(_M, "") if isinstance(node.tag, str) else ""

    def kids(*names: str) -> list[str]:
        return ["".join(omml_to_text(c) for c in child) for name in names
                for child in node.findall(_M + name)]

    if tag == "t":
        return str(node.text or "")
    if tag == "f":
        num, den = (kids("num") + [""])[0], (kids("den") + [""])[0]
        return f"({num})/({den})"
    if tag == "sSup":
        return f"{kids('e')[0] if kids('e') else ''}^({''.join(kids('sup'))})"
    if tag == "sSub":
        return f"{kids('e')[0] if kids('e') else ''}_({''.join(kids('sub'))})"
    if tag == "sSubSup":
        return f"{''.join(kids('e'))}_({''.join(kids('sub'))})^({''.join(kids('sup'))})"
    if tag == "rad":
        deg = "".join(kids("deg"))
        return (f"√[{deg}]" if deg else "√") + f"({''.join(kids('e'))})"
    if tag == "nary":
        chr_el = node.find(f"{_M}naryPr/{_M}chr")
        op = chr_el.get(_M + "val") if chr_el is not None else "∫"
        sub, sup = "".join(kids("sub")), "".join(kids("sup"))
        return op + (f"_({sub})" if sub else "") + (f"^({sup})" if sup else "") + "".join(kids("e"))
    if tag == "d":
        pr = node.find(_M + "dPr")
        beg = end = None
        if pr is not None:
            b, e = pr.find(_M + "begChr"), pr.find(_M + "endChr")
            beg = b.get(_M + "val") if b is not None else None
            end = e.get(_M + "val") if e is not None else None
        return (beg if beg is not None else "(") + ",".join(kids("e")) + (end if end is not None else ")")
    if tag.endswith("Pr"):
        return ""
    return "".join(omml_to_text(c) for c in node)


def _heading_level(style: str) -> int:
    m = re.match(r"(?i)heading\s*(\d)", style)
    if m:
        return min(6, int(m.group(1)))
    return 1 if style.lower() == "title" else 0


def extract_odt(path: Path) -> Extracted:
    """odfpy: headings (text:h with their outline level) and paragraphs in order."""
    check_zip_xml(path)
    from odf import teletype
    from odf.namespaces import TEXTNS
    from odf.opendocument import load

    doc = load(str(path))
    lines: list[str] = []

    def walk(node: Any) -> None:
        for child in node.childNodes:
            qname = getattr(child, "qname", None)
            if qname == (TEXTNS, "h"):
                text = teletype.extractText(child).strip().lstrip("\ufeff")
                if text:
                    level = int(child.getAttribute("outlinelevel") or 1)
                    lines.append("#" * max(1, min(6, level)) + " " + text)
            elif qname == (TEXTNS, "p"):
                text = teletype.extractText(child).strip().lstrip("\ufeff")
                if text:
                    lines.append(text)
            elif getattr(child, "childNodes", None):
                walk(child)

    walk(doc.text)
    return Extracted("\n\n".join(lines), "markdown")


def extract_epub(path: Path) -> Extracted:
    """ebooklib: the spine's documents in reading order, each through the HTML extractor."""
    check_zip_xml(path)
    import warnings

    import ebooklib
    from ebooklib import epub

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = epub.read_epub(str(path), options={"ignore_ncx": True})
    parts: list[str] = []
    items = {item.get_id(): item for item in book.get_items()}
    order = [items[i] for i, _ in book.spine if i in items]
    seen = {id(x) for x in order}
    order += [i for i in book.get_items_of_type(ebooklib.ITEM_DOCUMENT) if id(i) not in seen]
    for item in order:
        if item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        html = item.get_content().decode("utf-8", errors="replace")
        text = extract_html(html, main_only=False).text.strip()
        if text:
            parts.append(text)
    titles = book.get_metadata("DC", "title")
    title = str(titles[0][0]) if titles else ""
    return Extracted("\n\n".join(parts), "markdown", title=title)


# -- HTML --------------------------------------------------------------------------------

_BOILERPLATE_TAGS = ["script", "style", "noscript", "template", "nav", "header", "footer",
                     "aside", "form", "button", "svg", "iframe", "object", "head"]
_BOILERPLATE_SELECTORS = [
    "[role=navigation]", "[role=banner]", "[role=contentinfo]", "[aria-hidden=true]",
    ".mw-editsection", ".navbox", ".vertical-navbox", ".mw-jump-link", ".catlinks",
    ".printfooter", ".mw-indicators", "#toc", ".toc", ".sidebar", ".hatnote",
    ".noprint", "sup.reference", ".mw-cite-backlink",
]


def extract_html(html: str, main_only: bool = True) -> Extracted:
    """Readable text of an HTML page: the main content (``<main>``, ``<article>``,
    ``[role=main]`` or ``#content``) without navigation, scripts and edit links;
    ``h1``..``h6`` become ``#`` headings, table rows one line each.

    Parsed by lxml's HTML parser (via BeautifulSoup), which never resolves external
    entities or loads DTDs.
    """
    import warnings

    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_BOILERPLATE_TAGS):
        tag.decompose()
    for selector in _BOILERPLATE_SELECTORS:
        for tag in soup.select(selector):
            tag.decompose()
    root: Any = soup.body or soup
    if main_only:
        for selector in ("main", "article", "[role=main]", "#mw-content-text", "#content"):
            found = soup.select_one(selector)
            if found is not None and len(found.get_text(strip=True)) > 200:
                root = found
                break
    lines: list[str] = []
    block_tags = {"p", "li", "dd", "dt", "pre", "blockquote", "figcaption", "caption", "td", "th"}
    for el in root.find_all(True):
        name = el.name
        if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = " ".join(el.get_text(" ", strip=True).split())
            if text:
                lines.append("#" * int(name[1]) + " " + text)
        elif name == "tr":
            cells = [" ".join(c.get_text(" ", strip=True).split()) for c in el.find_all(["td", "th"])]
            if any(cells):
                lines.append(" | ".join(cells))
        elif name in block_tags:
            if el.find_parent("tr") is not None:
                continue
            if el.find(list(block_tags | {"h1", "h2", "h3", "h4", "h5", "h6", "table"})) is not None:
                continue  # its children are emitted on their own
            text = el.get_text("\n" if name == "pre" else " ", strip=True)
            text = text if name == "pre" else " ".join(text.split())
            if text:
                lines.append(("- " if name == "li" else "") + text)
    if not lines:
        text = root.get_text("\n", strip=True)
        lines = [line for line in text.splitlines() if line.strip()]
    if title and main_only and not any(line.startswith("# ") for line in lines):
        lines.insert(0, "# " + title.split(" - Wikipedia")[0].strip())
    return Extracted("\n\n".join(lines), "markdown", title=title)


# -- RTF ---------------------------------------------------------------------------------


def extract_rtf(path: Path) -> Extracted:
    """striprtf; the bytes are ASCII with escapes, the code page comes from ``\\ansicpg``."""
    from striprtf.striprtf import rtf_to_text

    data = path.read_bytes()
    if not data.lstrip().startswith(b"{\\rtf"):
        raise Unreadable("not an RTF file (it lacks the {\\rtf header)")
    m = re.search(rb"\\ansicpg(\d+)", data[:4096])
    encoding = f"cp{m.group(1).decode()}" if m else "cp1252"
    try:
        "".encode(encoding)
    except LookupError:
        encoding = "cp1252"
    text = rtf_to_text(data.decode("latin-1"), encoding=encoding, errors="replace")
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return Extracted(text.strip(), "text")


def sniff_binary(path: Path) -> bool:
    """True if the first bytes look binary (NUL bytes without a UTF-16/32 BOM)."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    return b"\x00" in head


def file_size(path: Path) -> int:
    return os.stat(path).st_size


__all__ = ["Extracted", "Unreadable", "is_supported", "decode_bytes"]
