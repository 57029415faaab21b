"""``hearth-bench ocr``: character accuracy and speed of the offline OCR (RapidOCR).

Known text is rendered to a page image (Pillow's built-in font, 200 dpi-like scale),
then degraded the way a scan is: a slight rotation (``--angle`` degrees), Gaussian noise
(``--noise``, standard deviation in grey levels) and a blur; the OCR output is compared
with the text.  Character accuracy = 1 - (Levenshtein edit distance / reference length),
whitespace collapsed on both sides (the measure of the ISRI OCR evaluations, Rice et al.
1996); words found = the share of the text's words that the output holds as words (what a
search can find).  The real scan ``docs/pdf_scanned_image-only_medical-report.pdf`` (no text layer)
is read too and its first lines printed; with ``--reference FILE`` (a transcription) its
accuracy is scored the same way.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("ocr", help="OCR character accuracy on rendered+degraded text and a real scan")
    p.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    p.add_argument("--pages", type=int, default=3, help="synthetic pages (texts from SciFact abstracts)")
    p.add_argument("--angle", type=float, default=1.5, help="rotation of the synthetic scans, degrees")
    p.add_argument("--noise", type=float, default=12.0, help="Gaussian noise, grey levels (0-255)")
    p.add_argument("--reference", type=Path, default=None, help="transcription of the real scan")
    p.set_defaults(func=run)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), O(len(a)*len(b))."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(reference: str, hypothesis: str, spaces: bool = True) -> float:
    """1 - edit distance / reference length, whitespace collapsed (may go below 0); with
    ``spaces`` False, all whitespace is removed first (the engine drops some spaces
    between Latin words, see desktop.core.library.ocr)."""
    sep = " " if spaces else ""
    ref, hyp = sep.join(reference.split()), sep.join(hypothesis.split())
    return 1.0 - edit_distance(ref, hyp) / max(1, len(ref))


def word_recall(reference: str, hypothesis: str) -> float:
    """Share of ``reference``'s words (lower-cased runs of letters and digits) that
    ``hypothesis`` holds as words: what a search for them can find (a word run into its
    neighbour, "dateof", is not found)."""
    import re

    found = set(re.findall(r"[a-z0-9]+", hypothesis.lower()))
    words = re.findall(r"[a-z0-9]+", reference.lower())
    return sum(w in found for w in words) / max(1, len(words))


def render_scan(text: str, path: Path, angle: float = 1.5, noise: float = 12.0, seed: int = 0) -> Path:
    """Write ``text`` as a degraded page image (PNG or, by suffix, a PDF without text layer)."""
    import textwrap

    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    font = ImageFont.load_default(size=30)
    lines = [w for para in text.split("\n") for w in (textwrap.wrap(para, 60) or [""])]
    page = Image.new("L", (1400, 120 + 44 * len(lines)), 255)
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((70, 60 + 44 * i), line, fill=0, font=font)
    page = page.rotate(angle, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    rng = np.random.default_rng(seed)
    arr = np.asarray(page, dtype=np.float32) + rng.normal(0, noise, (page.height, page.width))
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB").save(path)
    return path


def run(args: argparse.Namespace) -> int:
    import tempfile

    from desktop.bench import print_json_line, print_table
    from desktop.core.library.extraction import extract

    corpus = args.data / "ir" / "scifact" / "corpus.jsonl"
    texts: list[str] = []
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            texts.append(f"{doc['title']}\n{doc['text'][:600]}")
            if len(texts) >= args.pages:
                break
    rows: list[list[Any]] = []
    accs: list[float] = []
    letters: list[float] = []
    found: list[float] = []
    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="hearth-bench-ocr-") as tmp:
        extract(render_scan("warm up", Path(tmp) / "warm.png"))
        for i, text in enumerate(texts):
            path = render_scan(text, Path(tmp) / f"page{i}.png", args.angle, args.noise, seed=i)
            t0 = time.perf_counter()
            got = extract(path)
            seconds.append(time.perf_counter() - t0)
            body = "\n".join(line for line in got.text.splitlines() if not line.startswith("# "))
            accs.append(char_accuracy(text, body))
            letters.append(char_accuracy(text, body, spaces=False))
            found.append(word_recall(text, body))
            rows.append([f"synthetic page {i + 1}", len(text), accs[-1], letters[-1], found[-1], seconds[-1]])
    scan = args.data / "docs" / "pdf_scanned_image-only_medical-report.pdf"
    real: dict[str, Any] = {}
    if scan.is_file():
        t0 = time.perf_counter()
        doc = extract(scan)
        real_s = time.perf_counter() - t0
        body = "\n".join(line for line in doc.text.splitlines() if not line.startswith("# "))
        real = {"real_scan_chars": len(body), "real_scan_seconds": round(real_s, 2),
                "real_scan_pages_ocr": len(doc.ocr_pages)}
        if args.reference is not None:
            ref = args.reference.read_text(encoding="utf-8")
            real["real_scan_accuracy"] = round(char_accuracy(ref, body), 4)
            real["real_scan_accuracy_no_spaces"] = round(char_accuracy(ref, body, spaces=False), 4)
            real["real_scan_word_recall"] = round(word_recall(ref, body), 4)
        rows.append([scan.name, len(body), real.get("real_scan_accuracy", "-"),
                     real.get("real_scan_accuracy_no_spaces", "-"), real.get("real_scan_word_recall", "-"), real_s])
        print("first lines of the real scan:", " / ".join(body.splitlines()[:6]))
    print_table(["page", "characters", "char accuracy", "without spaces", "words found", "seconds"], rows)
    mean = sum(accs) / max(1, len(accs))
    mean_letters = sum(letters) / max(1, len(letters))
    mean_found = sum(found) / max(1, len(found))
    print(f"synthetic scans (rotation {args.angle:g} deg, noise {args.noise:g}): mean character accuracy "
          f"{mean:.4f} ({mean_letters:.4f} ignoring spaces), words found {mean_found:.4f}, {sum(seconds) / max(1, len(seconds)):.1f} s per page")
    print_json_line({"bench": "ocr", "pages": len(accs), "char_accuracy": round(mean, 4),
                     "char_accuracy_no_spaces": round(mean_letters, 4), "word_recall": round(mean_found, 4),
                     "min_char_accuracy": round(min(accs), 4) if accs else None,
                     "seconds_per_page": round(sum(seconds) / max(1, len(seconds)), 2),
                     "angle": args.angle, "noise": args.noise, **real})
    return 0
