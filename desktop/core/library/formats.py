"""Text extraction: one function per document format, all returning :class:`Extracted`.

These run inside the parser process (:mod:`desktop.core.library.parse_worker`), where a
crash, a hang or a memory blow-up cannot take the app down.  A file that cannot be read
raises :class:`Unreadable` with a sentence for the user.

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
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | MARKDOWN_EXTENSIONS | CODE_EXTENSIONS | DOCUMENT_EXTENSIONS
#: Names without an extension that are text by convention.
TEXT_NAMES = {"readme", "license", "copying", "makefile", "dockerfile", "changelog", "authors"}

_SNIFF_BYTES = 8192


class Unreadable(Exception):
    """The file cannot be indexed; ``str(exc)`` is the reason shown to the user."""


@dataclass
class Extracted:
    """A document's text and where its parts are.

    Attributes:
        text: the whole extracted text (Markdown-style headings for structured formats).
        kind: "markdown" (split at headings and paragraphs), "text" or "code".
        pages: (character offset, 1-based page number) where each PDF page starts.
        title: the document's own title, if it has one.
    """

    text: str
    kind: str = "text"
    pages: list[tuple[int, int]] = field(default_factory=list)
    title: str = ""


def is_supported(path: Path) -> bool:
    """True if Hearth reads this file type (by extension, or a conventional text name)."""
    return path.suffix.lower() in SUPPORTED_EXTENSIONS or path.name.lower() in TEXT_NAMES


def extract(path: Path) -> Extracted:
    """Extract the text of ``path`` according to its extension.

    Raises:
        Unreadable: password-protected, no text layer, damaged, binary, unsafe XML, ...
    """
    ext = path.suffix.lower()
    try:
        if ext == ".pdf":
            result = extract_pdf(path)
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
            raise Unreadable("no text layer (a scanned or image-only PDF; it needs OCR)")
        raise Unreadable("contains no text")
    return result


# -- plain text -------------------------------------------------------------------------


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
                raise Unreadable(f"password-protected PDF (cannot decrypt: {exc})") from exc
            if not ok:
                raise Unreadable("password-protected PDF (it needs a password to open)")
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
        raise Unreadable("password-protected PDF (it needs a password to open)") from exc
    except PdfReadError as exc:
        raise Unreadable(f"damaged PDF ({exc})") from exc
    return Extracted("\n\n".join(parts), "text", pages=pages, title=title)


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
            text = para.text.strip()
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


__all__ = ["Extracted", "Unreadable", "extract", "is_supported", "decode_bytes"]
