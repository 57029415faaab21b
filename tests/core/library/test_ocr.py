"""OCR, offline (issue 15): scans whose text is known -- rendered, rotated, noised -- are
read back with a measured character accuracy, marked as OCR in chunks and citations,
bounded by a per-page time limit, and off when the setting says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.bench.ocr import char_accuracy, render_scan, word_recall
from desktop.core.library import ocr
from desktop.core.library.extraction import extract
from desktop.core.library.formats import Unreadable

pytestmark = pytest.mark.skipif(not ocr.available(), reason="rapidocr-onnxruntime not installed")

KNOWN = ("Invoice 4471 from Northwind Traders\n"
         "The boiler was serviced on 3 March and the next check is due in September.\n"
         "Total due: 1,299.00 EUR within 30 days.")


def test_the_spaces_the_recognizer_drops_are_put_back() -> None:
    # as RapidOCR read the real scanned report in ../shared/data/docs
    assert ocr.respace("SEATTLEGENERALHOSPITAL") == "SEATTLE GENERAL HOSPITAL"
    assert ocr.respace("DepartmentofInternalMedicine") == "Department of Internal Medicine"
    assert ocr.respace("DateofService:October28,2024") == "Date of Service: October 28,2024"
    assert ocr.respace("renewsonthe3rdofeachmonthfor24.99.") == "renews on the 3rd of each month for 24.99."
    assert ocr.respace("DearMs.Okafor,") == "Dear Ms. Okafor,"
    assert ocr.respace("dated3May2021") == "dated 3 May 2021"
    # words the list lacks are kept whole, not cut into words it has
    for kept in ("Continue Metformin 500mg", "Okafor", "HbA1c 6.8%", "Lisinopril", "McDonald and iPhone",
                 "1,200.00 at 10:30am on the 4th", "e.g. U.S.A.", "Zürich", "suboptimally"):
        assert ocr.respace(kept) == kept
    # only spaces are ever added
    text = "Pleasebring your insurancecard:Dr.Alvarez,ParksideDental4471."
    assert ocr.respace(text).replace(" ", "") == text.replace(" ", "")


def test_the_engine_ships_its_models() -> None:
    import importlib.util

    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    assert spec is not None and spec.origin is not None
    models = sorted(p.name for p in (Path(spec.origin).parent / "models").glob("*.onnx"))
    assert any("det" in m for m in models) and any("rec" in m for m in models)


def test_a_noisy_rotated_photo_of_text_is_read_and_marked(tmp_path: Path, model_dir: Path) -> None:
    from desktop.core.library.chunking import Chunker

    path = render_scan(KNOWN, tmp_path / "receipt.png", angle=1.5, noise=12.0)
    doc = extract(path)
    assert doc.extractor == "OCR (RapidOCR)"
    body = "\n".join(line for line in doc.text.splitlines() if not line.startswith("# "))
    # the letters are read well, and the spaces the recognizer drops are put back
    assert char_accuracy(KNOWN, body, spaces=False) >= 0.95, body
    assert char_accuracy(KNOWN, body) >= 0.9, body
    assert word_recall(KNOWN, body) >= 0.85, body
    assert "text recognised by OCR" in doc.text
    chunks = Chunker(model_dir).chunk(doc)
    assert chunks and all(c.ocr for c in chunks)
    assert all("OCR" in c.section for c in chunks)  # the citation shows the section


def test_a_scanned_pdf_page_is_read_and_its_page_kept(tmp_path: Path) -> None:
    from PIL import Image

    png = render_scan("Page one of a scanned letter about the garden fence.", tmp_path / "p.png")
    pdf = tmp_path / "letter.pdf"
    Image.open(png).save(pdf)  # an image-only PDF, like a scanner's
    doc = extract(pdf)
    assert doc.ocr_pages == [1] and doc.pages[0][1] == 1
    assert "garden fence" in doc.text.lower() or "gardenfence" in doc.text.lower()
    two = tmp_path / "two-pages.pdf"
    Image.open(png).save(two, save_all=True, append_images=[Image.open(png)])
    # each page's heading once: it had been there twice, in every citation's passage
    assert extract(two).text.count("text recognised by OCR") == 2
    with pytest.raises(Unreadable, match="turn on OCR"):
        extract(pdf, ocr=False)
    with pytest.raises(Unreadable, match="turn on OCR"):
        extract(png, ocr=False)


def test_a_page_over_the_time_limit_is_skipped_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    png = render_scan("A page that takes too long.", tmp_path / "slow.png")
    pdf = tmp_path / "slow.pdf"
    Image.open(png).save(pdf)
    ocr.engine()  # loaded outside the limit
    monkeypatch.setattr(ocr, "PAGE_TIMEOUT_S", 1e-4)
    with pytest.raises(Unreadable, match="OCR took longer"):
        extract(pdf)


def test_ocr_runs_in_the_parser_process_and_marks_chunks(tmp_path: Path, model_dir: Path) -> None:
    from desktop.core.library.parsing import ParserProcess

    png = render_scan("Minutes of the tenants' meeting: the roof repair starts in May.", tmp_path / "minutes.png")
    parser = ParserProcess(model_dir, timeout_s=120)
    try:
        result = parser.parse(png)
        assert result.ok, result.reason
        assert result.extractor == "OCR (RapidOCR)"
        assert result.chunks and all(c.ocr for c in result.chunks)
        off = ParserProcess(model_dir, timeout_s=60, ocr=False)
        try:
            skipped = off.parse(png)
        finally:
            off.close()
        assert not skipped.ok and "turn on OCR" in skipped.reason
    finally:
        parser.close()
