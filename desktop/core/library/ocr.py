"""OCR for scanned PDF pages and images, offline: RapidOCR on ONNX Runtime.

The engine is the PyPI package ``rapidocr-onnxruntime``, whose wheel carries its text
detection, direction and recognition models (PaddleOCR's PP-OCR models converted to ONNX,
about 15 MB): nothing is downloaded at run time.  It runs in the parser process
(:mod:`.parse_worker`), like every extractor, one page at a time under a per-page time
limit (:data:`PAGE_TIMEOUT_S`, POSIX ``setitimer``; the whole file is still bounded by
the parser's per-file limit, which each finished page renews -- see ``heartbeat``).  A
page that fails or runs out of time is left out with a warning and the rest kept.

PDF pages are rendered with pypdfium2 at :data:`RENDER_DPI`.  Lines are put in reading
order (top to bottom, then left to right within a line's height).

The recognizer that ships in the wheel (PP-OCRv4, trained mostly on Chinese) often drops
the spaces between Latin words ("DateofService:October28,2024"); the letters themselves
are read well.  :func:`respace` puts them back (see there); its per-character boxes had
been tried for that and split words as often as they joined them.
"""

from __future__ import annotations

import contextlib
import copy
import re
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from desktop.core.library.formats import Extracted, Unreadable, join_pages

PAGE_TIMEOUT_S = 60.0
RENDER_DPI = 200
MAX_PAGES = 500
MAX_PIXELS = 40_000_000
ENGINE = "RapidOCR"

#: called after each page (the parser process tells the app it is alive); set by the worker
heartbeat: Callable[[], None] | None = None
_engine: Any = None


class PageTimeout(Exception):
    """One page took longer than the per-page limit."""


def available() -> bool:
    """True if the OCR engine is installed."""
    import importlib.util

    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


def engine() -> Any:
    """The RapidOCR engine (created on first use; one thread, as the parser process has)."""
    global _engine
    if _engine is None:
        if not available():
            raise Unreadable("OCR is not installed (package rapidocr-onnxruntime); reinstall Hearth "
                             "or turn OCR off in Settings")
        import logging

        from rapidocr_onnxruntime import RapidOCR

        _engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
        for name in ("RapidOCR", "rapidocr_onnxruntime", "OrtInferSession"):
            logging.getLogger(name).setLevel(logging.ERROR)
    return _engine


@contextlib.contextmanager
def page_time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`PageTimeout` in this (main) thread after ``seconds`` (POSIX only;
    elsewhere, and off the main thread, the parser's per-file limit still applies)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise PageTimeout

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def recognize(image: Any) -> tuple[str, float]:
    """Text of one image (numpy array HxWx3 RGB or a file path) and its mean confidence.

    Returns ("", 0.0) when no text is found.
    """
    import numpy as np

    if not isinstance(image, (str, Path)):
        image = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])  # RGB -> BGR (OpenCV's order)
    result, _ = engine()(str(image) if isinstance(image, Path) else image)
    if not result:
        return "", 0.0
    boxes = []
    for item in result:
        box, text, score = item[0], str(item[1]), item[2]
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        boxes.append((min(ys), max(ys), min(xs), str(text), float(score)))
    boxes.sort(key=lambda b: (b[0], b[2]))
    lines: list[list[tuple[float, float, float, str, float]]] = []
    for b in boxes:  # same line when the vertical centre falls inside the line's first box
        centre = (b[0] + b[1]) / 2
        if lines and lines[-1][0][0] <= centre <= lines[-1][0][1]:
            lines[-1].append(b)
        else:
            lines.append([b])
    text = "\n".join(" ".join(t for *_, t, _s in sorted(line, key=lambda b: b[2])) for line in lines)
    return respace(text), sum(b[4] for b in boxes) / len(boxes)


#: A run of letters is split into words only when their mean cost per letter under
#: wordninja's unigram model (cost of a word = log((rank + 1) * log N), its ranks from
#: English Wikipedia) is at most this.  Chosen on OCR output of rendered, rotated and
#: noised pages: 0.8897 -> 0.9448 character accuracy (spaces counted) and 0.58 -> 0.93 of
#: the reference's words found as words, 11 pages; 0.9356 -> 0.9699 and 0.70 -> 0.92 on 8
#: other pages (2.0 and 2.5 did no better; ``hearth-bench ocr`` measures it).  Real words the list lacks cost far more when
#: split ("Metformin" as "met form in": 2.32, "auscultation": 3.1) than joined words do
#: ("Dateof": 2.06, "Departmentof": 0.89).
RESPACE_MAX_COST = 2.25
#: Shortest run of letters that may be split.
RESPACE_MIN_LETTERS = 6
#: the two-letter words a split may make (not "ly" of "suboptimal ly")
_TWO_LETTER_WORDS = frozenset(
    "of to in on at by is it as be we no an or us my me he so do up if go am".split())
#: words whose cost is lowered by :data:`FUNCTION_WORD_BONUS` when a run is split
_FUNCTION_WORDS = _TWO_LETTER_WORDS | {"a", "the", "and", "for", "from", "with", "was", "are", "per"}
FUNCTION_WORD_BONUS = 1.0
_RUN = re.compile(r"[A-Za-z0-9]+")
# boundaries that are never inside a word: "fromNorthwind", "October28", "May2021"; not
# "McDonald", "iPhone", "HbA1c", "3rd"
_CAMEL = re.compile(r"(?<=[a-z]{3})(?=[A-Z][a-z])")
_DIGITS = re.compile(r"(?<=[A-Za-z][a-z]{2})(?=\d)|(?<=\d)(?=[A-Za-z]{3})(?!(?:st|nd|rd|th)\b)")
_ORDINAL = re.compile(r"(?<=\d)(st|nd|rd|th)(?=[a-z]{2})")


def respace(text: str) -> str:
    """``text`` (OCR output) with the spaces its recognizer dropped between Latin words put
    back: at a lower-to-upper case change after a word ("fromNorthwind"), between letters
    and digits ("October28", "3rdofeach"), after ``, : ;`` and a sentence's full stop when a
    letter follows at once, and inside a run of letters that is no word of wordninja's
    English word list but splits into words of it cheaply (:data:`RESPACE_MAX_COST`; the
    most probable split under Zipf's law, Anderson's wordninja, after the answer he gave on
    Stack Overflow in 2012).  Words it does not know ("Okafor", "Lisinopril") are kept
    whole; letters, digits and punctuation are never changed, only spaces added."""
    text = _RUN.sub(lambda m: _respace_run(m.group(0)), text)
    text = re.sub(r"(?<=[A-Za-z])([,:;])(?=[A-Za-z0-9])", r"\1 ", text)
    text = re.sub(r"(?<=\d)([,;])(?=[A-Za-z])", r"\1 ", text)
    return re.sub(r"(?<=[A-Za-z]{2})\.(?=[A-Z])", ". ", text)


def _respace_run(run: str) -> str:
    pieces = [p for p in _ORDINAL.sub(r"\1 ", run).split(" ") if p]
    for boundary in (_DIGITS, _CAMEL):
        pieces = [q for p in pieces for q in boundary.split(p) if q]
    return " ".join(word for p in pieces for word in _split_letters(p))


_splitter: Any = None


def _word_splitter() -> Any:
    """wordninja's model with the short function words made a little cheaper
    (:data:`FUNCTION_WORD_BONUS`): "servicedon" is "serviced on", not "service don"."""
    global _splitter
    if _splitter is None:
        import wordninja

        base = wordninja.DEFAULT_LANGUAGE_MODEL
        splitter = copy.copy(base)
        splitter._wordcost = {w: c - FUNCTION_WORD_BONUS if w in _FUNCTION_WORDS else c
                              for w, c in base._wordcost.items()}  # no public accessor
        _splitter = splitter
    return _splitter


def _split_letters(piece: str) -> list[str]:
    import wordninja

    cost = wordninja.DEFAULT_LANGUAGE_MODEL._wordcost  # word -> cost; no public accessor
    low = piece.lower()
    if len(piece) < RESPACE_MIN_LETTERS or not piece.isalpha() or not piece.isascii() or low in cost:
        return [piece]
    parts = _word_splitter().split(low)
    if ("".join(parts) != low or len(parts) < 2
            or any(len(w) == 1 and w not in "ai" or len(w) == 2 and w not in _TWO_LETTER_WORDS for w in parts)
            or sum(cost.get(w, float("inf")) for w in parts) / len(piece) > RESPACE_MAX_COST):
        return [piece]
    out, at = [], 0
    for w in parts:  # the letters as read, upper case kept
        out.append(piece[at:at + len(w)])
        at += len(w)
    return out


def _ocr_pages(images: Iterator[tuple[int, Any]], total: int) -> Extracted:
    pages: list[tuple[int, str]] = []
    ocred: list[int] = []
    warnings: list[str] = []
    for number, image in images:
        try:
            with page_time_limit(PAGE_TIMEOUT_S):
                img = image() if callable(image) else image
                text, _ = recognize(img)
        except PageTimeout:
            warnings.append(f"page {number}: OCR took longer than {PAGE_TIMEOUT_S:g} s and was skipped")
            text = ""
        except MemoryError:
            warnings.append(f"page {number}: too large to OCR")
            text = ""
        except Unreadable:
            raise
        except Exception as exc:  # one page's failure never loses the others
            warnings.append(f"page {number}: OCR failed ({type(exc).__name__})")
            text = ""
        pages.append((number, text))
        if text.strip():
            ocred.append(number)
        if heartbeat is not None:
            heartbeat()
    if total > MAX_PAGES:
        warnings.append(f"only the first {MAX_PAGES} of {total} pages were read by OCR")
    return join_pages(pages, ocr_pages=ocred, extractor=f"OCR ({ENGINE})", warnings=warnings)


def ocr_pdf(path: Path, pages: list[int] | None) -> Extracted:
    """OCR of ``pages`` (1-based; None: all) of a PDF, rendered by pypdfium2.

    Raises:
        Unreadable: the PDF cannot be opened, or OCR is not installed.
    """
    import pypdfium2 as pdfium

    engine()
    try:
        pdf = pdfium.PdfDocument(str(path), password="")
    except pdfium.PdfiumError as exc:
        raise Unreadable(f"damaged or password-protected PDF ({exc})") from exc
    try:
        total = len(pdf)
        wanted = [n for n in (pages if pages is not None else range(1, total + 1)) if 1 <= n <= total]

        def render(n: int) -> Callable[[], Any]:
            def go() -> Any:
                page = pdf[n - 1]
                try:
                    w, h = page.get_size()
                    scale = RENDER_DPI / 72
                    if w * h * scale * scale > MAX_PIXELS:
                        scale = (MAX_PIXELS / (w * h)) ** 0.5
                    return page.render(scale=scale).to_numpy()[:, :, :3]
                finally:
                    page.close()
            return go

        return _ocr_pages(((n, render(n)) for n in wanted[:MAX_PAGES]), len(wanted))
    finally:
        pdf.close()


def ocr_image(path: Path) -> Extracted:
    """OCR of an image file (.png, .jpg, .tiff: every frame of a multi-page TIFF), read
    with Pillow (size-capped against decompression bombs)."""
    import numpy as np
    from PIL import Image, ImageSequence

    engine()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        img = Image.open(path)
    except Exception as exc:
        raise Unreadable(f"not a readable image ({type(exc).__name__}: {exc})") from exc
    with img:
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(img)][:MAX_PAGES]
    result = _ocr_pages(((i + 1, f) for i, f in enumerate(frames)), len(frames))
    if len(frames) == 1:  # a single image: no page numbers in its citation
        result.pages = []
    return result
