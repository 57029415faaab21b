"""Training data for the personal adapter.

From the user's documents (``Iterable[tuple[str, str]]`` of path and full text, the
shape of ``Library.documents()``) this module builds:

- **continued-pretraining text**: the training documents tokenized, joined with the
  end-of-text token and packed into full sequences of ``seq_len`` tokens (no padding;
  the standard packing of GPT-style pretraining, Brown et al. 2020, sec. 2.2);
- **question-answer pairs** generated from chunks of the training documents by the
  local model itself (llama.cpp, :class:`desktop.core.engine.llama.LlamaBackend`),
  parsed, filtered and deduplicated, then rendered with the chat template;
- **replay data**: answers of the base model to general prompts, mixed in so the
  assistant keeps its general behaviour (experience replay against catastrophic
  forgetting, as in continual-learning practice; Scialom et al. 2022 use 1% replay);
- **grounded answering examples** (RAFT): a question, the passage that answers it and a
  distractor in the chat's own prompt, the short answer as the reply;
- a **held-out set** split *by document* (never by chunk), for perplexity before/after,
  and grounded examples drawn from it, whose answers early stopping and the promotion
  measure.

Each chat exchange (practice question, replay answer, grounded example) is a training
sequence of its own, whole, and only its reply is learned (the prompt's tokens are
context, not targets: completion-only loss, as in instruction tuning, Ouyang et al.
2022): cut into ``seq_len`` pieces like document text, most grounded examples (about
370 tokens with the default model) had lost their passage or question.

A :class:`Preview` lists what will be learned from (files, tokens) and what is excluded.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from desktop.core.jobs import CancelToken
from desktop.core.sensitive import personal_details, sensitive_content

log = logging.getLogger(__name__)

Document = tuple[str, str]
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text", ".rst"}
# Shorter than this is an empty or placeholder file.  Short personal notes ("Dentist:
# Dr. Okafor, 12 May 14:30", about 30 characters) are exactly what a user wants the
# assistant to know, so the bar is a few words, not a paragraph (it was 200; issue 12).
MIN_DOC_CHARS = 20
# Documents shorter than this are never held out for measuring (see build_training_data).
HOLDOUT_MIN_CHARS = 200

# General prompts for replay data (short, everyday and encyclopedic requests).
REPLAY_PROMPTS = [
    "Explain in a few sentences why the sky is blue.",
    "Give three tips for writing a clear email.",
    "What is photosynthesis?",
    "Write a short friendly note inviting a neighbour to dinner.",
    "Summarize the water cycle for a ten-year-old.",
    "What are the main differences between a virus and a bacterium?",
    "How do I boil an egg?",
    "Name three famous painters and one work by each.",
    "What does a computer's memory do?",
    "Give a short definition of democracy.",
    "How can I sleep better?",
    "What is the capital of France, and what is it known for?",
    "Explain what a budget is and why it helps.",
    "Describe the four seasons in one sentence each.",
    "What is the difference between weather and climate?",
    "List some healthy breakfast ideas.",
]

QUESTION_PROMPT = (
    "Read the passage and write one question that it answers. Reply with the question "
    "only.\n\nPassage:\n{chunk}"
)
ANSWER_PROMPT = (
    "Passage:\n{chunk}\n\nUsing the passage, answer in one or two sentences.\n"
    "Question: {question}"
)


class TextTokenizer(Protocol):
    """What dataset building needs from a tokenizer: text -> token ids (no special tokens)."""

    def __call__(self, text: str) -> list[int]: ...


class Generator(Protocol):
    """A chat model that answers one user prompt (greedy), e.g. a wrapped LlamaBackend."""

    def __call__(self, prompt: str, max_tokens: int) -> str: ...


def read_text_file(path: Path) -> str:
    """Read a text file in whatever encoding it uses (charset-normalizer's detection).

    Raises:
        ValueError: the file is not text (no encoding fits).
    """
    from charset_normalizer import from_bytes

    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw).best()
    if best is None:
        raise ValueError(f"{path} is not a text file Hearth can read.")
    return str(best)


def read_folder(folder: Path) -> Iterator[Document]:
    """(path, text) of the plain-text files (.txt, .md, ...) under ``folder``, sorted.

    Files that cannot be read are logged and skipped.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"The folder {folder} does not exist. Check the --docs path.")
    files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        if path.suffix.lower() not in TEXT_SUFFIXES:
            continue
        try:
            yield str(path), read_text_file(path)
        except (OSError, ValueError) as exc:
            log.warning("skipping %s: %s", path, exc)


def normalize_text(text: str) -> str:
    """Collapse runs of blank lines and trailing spaces; keep paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def split_by_document(
    paths: Sequence[str], heldout_fraction: float = 0.15, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Split document paths into (train, held-out), by document, deterministically.

    Each path's place is decided by a hash of (seed, path), so adding a document does
    not move the others.  At least one document is held out when there are two or more,
    and at least one is kept for training.
    """
    if not paths:
        return [], []
    ranked = sorted(paths, key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
    n_held = round(len(ranked) * heldout_fraction)
    if len(ranked) >= 2:
        n_held = min(max(1, n_held), len(ranked) - 1)
    else:
        n_held = 0
    held = set(ranked[:n_held])
    return [p for p in paths if p not in held], [p for p in paths if p in held]


def pack_sequences(token_lists: Iterable[Sequence[int]], seq_len: int, eos_id: int) -> list[list[int]]:
    """Concatenate token lists (each followed by ``eos_id``) and cut into full sequences.

    Returns sequences of exactly ``seq_len`` tokens; the remainder shorter than
    ``seq_len`` is dropped unless it is the only sequence.  No padding anywhere.
    """
    if seq_len < 2:
        raise ValueError("seq_len must be at least 2")
    stream: list[int] = []
    for toks in token_lists:
        if toks:
            stream.extend(toks)
            stream.append(eos_id)
    out = [stream[i : i + seq_len] for i in range(0, len(stream) - seq_len + 1, seq_len)]
    if not out and len(stream) >= 2:
        out = [stream]
    return out


def chunk_text(text: str, max_chars: int = 1200) -> list[str]:
    """Split text into passages of about ``max_chars`` on paragraph/sentence boundaries
    (semantic-text-splitter)."""
    from semantic_text_splitter import TextSplitter

    splitter = TextSplitter((max_chars // 2, max_chars))
    return [c for c in splitter.chunks(text) if c.strip()]


@dataclass
class QAPair:
    question: str
    answer: str
    source: str


_WORD = re.compile(r"\w+", re.U)
_QUESTION_RE = re.compile(r"(?:Question:\s*)?([^\n?]{8,300}\?)", re.I)


def parse_qa(question_reply: str, answer_reply: str, source: str, chunk: str) -> QAPair | None:
    """Parse and filter one generated question (first "...?" sentence of the reply) and
    its generated answer.

    Kept only if: the question has 4 to 40 words; the answer has 1 to 80 words (cut at
    the first blank line); and at least half of the answer's content words (>3 letters)
    occur in the passage (a cheap groundedness filter against made-up answers); and at
    least two of the question's longer words (>4 letters) occur in the passage.
    """
    m = _QUESTION_RE.search(question_reply)
    if not m:
        return None
    q = m.group(1).strip()
    a = re.sub(r"^\s*Answer:\s*", "", answer_reply.strip(), flags=re.I).split("\n\n")[0].strip()
    q_words, a_words = _WORD.findall(q), _WORD.findall(a)
    if not (4 <= len(q_words) <= 40):
        return None
    if not (1 <= len(a_words) <= 80):
        return None
    content = [w.lower() for w in a_words if len(w) > 3]
    chunk_words = {w.lower() for w in _WORD.findall(chunk)}
    if sum(w.lower() in chunk_words for w in q_words if len(w) > 4) < 2:
        return None  # the question is not about the passage
    if not content or sum(w in chunk_words for w in content) < 0.5 * len(content):
        return None
    return QAPair(q, a, source)


def dedup_qa(pairs: Iterable[QAPair]) -> list[QAPair]:
    """Drop pairs whose normalized question (lower case, words only) was seen before."""
    seen: set[str] = set()
    out: list[QAPair] = []
    for p in pairs:
        key = " ".join(w.lower() for w in _WORD.findall(p.question))
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
    return out


def generate_qa(
    documents: Sequence[Document],
    generate: Generator,
    max_pairs: int,
    cancel: CancelToken | None = None,
    on_pair: Callable[[int, int], None] | None = None,
    seed: int = 0,
    deadline: float | None = None,
) -> list[QAPair]:
    """Ask the local model for a question about a chunk, then for its answer given the
    chunk (two prompts: the default 135M model does not reliably follow a combined
    "Question:/Answer:" format).

    Chunks are sampled evenly across documents; at most ``2 * max_pairs`` attempts, and
    none after ``deadline`` (time.time() seconds; it bounds this phase in a time budget).
    Returns up to ``max_pairs`` filtered (:func:`parse_qa`), deduplicated pairs.
    """
    if max_pairs <= 0:
        return []
    rng = random.Random(seed)
    chunks = [(path, c) for path, text in documents for c in chunk_text(text)]
    rng.shuffle(chunks)
    pairs: list[QAPair] = []
    for attempt, (path, chunk) in enumerate(chunks[: 2 * max_pairs]):
        if (cancel is not None and cancel.cancelled) or (deadline is not None and time.time() > deadline):
            break
        question = generate(QUESTION_PROMPT.format(chunk=chunk), 48)
        m = _QUESTION_RE.search(question)
        pair = None
        if m:
            answer = generate(ANSWER_PROMPT.format(chunk=chunk, question=m.group(1).strip()), 80)
            pair = parse_qa(question, answer, path, chunk)
        if pair is not None:
            pairs = dedup_qa([*pairs, pair])
        if on_pair is not None:
            on_pair(attempt + 1, len(pairs))
        if len(pairs) >= max_pairs:
            break
    return pairs


def generate_replay(
    generate: Generator, n: int, max_tokens: int = 160, cancel: CancelToken | None = None,
    deadline: float | None = None,
) -> list[tuple[str, str]]:
    """(prompt, answer) pairs: the base model's own answers to ``n`` general prompts
    (none started after ``deadline``, time.time() seconds)."""
    out: list[tuple[str, str]] = []
    for prompt in REPLAY_PROMPTS[:n]:
        if (cancel is not None and cancel.cancelled) or (deadline is not None and time.time() > deadline):
            break
        answer = generate(prompt, max_tokens).strip()
        if answer:
            out.append((prompt, answer))
    return out


def chat_prompt(user: str) -> str:
    """A user turn in ChatML (the default model's chat template), up to where the
    assistant's reply begins."""
    return f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def chat_text(user: str, assistant: str) -> str:
    """A user/assistant exchange in ChatML, the default model's chat template."""
    return f"{chat_prompt(user)}{assistant}<|im_end|>\n"


#: A chat exchange longer than this many times ``seq_len`` tokens is not trained on.
CHAT_MAX_SEQ_LENS = 4


def chat_example(tokenize: TextTokenizer, user: str, assistant: str) -> tuple[list[int], int]:
    """One exchange as (token ids, index of the reply's first token): the prompt and the
    reply are tokenized apart, as llama.cpp sees them when it answers (the prompt ends
    at "assistant\n", the reply is generated after it)."""
    prompt = tokenize(chat_prompt(user))
    return prompt + tokenize(f"{assistant}<|im_end|>\n"), len(prompt)


@dataclass
class PreviewItem:
    """One file in the preview: its path, size in tokens, and whether/why it is left out.

    ``held_back``: left out only because it seems to hold :attr:`sensitive` content; the
    user may include it (``build_preview``'s ``included``).
    """

    path: str
    chars: int
    tokens: int
    excluded: bool = False
    reason: str = ""
    sensitive: str = ""  # what it seems to hold that the adapter would memorise ("a password", "health details")
    held_back: bool = False


@dataclass
class Preview:
    """What personalization will learn from.

    Attributes:
        items: every document seen, included or not.
        conversations: number of conversations included (0 unless the user opted in).
    """

    items: list[PreviewItem] = field(default_factory=list)
    conversations: int = 0

    @property
    def included(self) -> list[PreviewItem]:
        return [i for i in self.items if not i.excluded]

    @property
    def total_tokens(self) -> int:
        return sum(i.tokens for i in self.included)

    def to_dict(self) -> dict[str, Any]:
        return {"items": [asdict(i) for i in self.items], "conversations": self.conversations,
                "total_tokens": self.total_tokens}


#: A text of at least this many words whose distinct words are fewer than
#: :data:`REPETITIVE_MAX_DISTINCT_SHARE` of them reads as a log or generated data.
REPETITIVE_MIN_WORDS = 5_000
#: Prose keeps far more: a novel of a million words still has some 3 % distinct words
#: (Heaps' law); the 3.9 MB log of the eleventh new-user trial had 15 in 549,426, and made
#: up nearly all of "12 files, about 550,426 words", ticked without a word.
REPETITIVE_MAX_DISTINCT_SHARE = 0.01


def repetitive(text: str) -> str:
    """Why ``text`` seems to be a log or generated data rather than writing ("the same few
    words over and over (22 different words in 600,009)"; words of letters, numbers
    aside), or "" (see
    :data:`REPETITIVE_MAX_DISTINCT_SHARE`)."""
    # words of letters: a log's ids and timestamps are new numbers on every line (the
    # twelfth trial's daemon log had 60,021 distinct tokens in 1.2 million, 11 words)
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < REPETITIVE_MIN_WORDS:
        return ""
    distinct = len(set(words))
    if distinct >= REPETITIVE_MAX_DISTINCT_SHARE * len(words):
        return ""
    return f"the same few words over and over ({distinct:,} different words in {len(words):,}): a log or generated data?"


def build_preview(
    documents: Iterable[Document],
    count_tokens: Callable[[str], int],
    excluded: Iterable[str] = (),
    included: Iterable[str] = (),
) -> tuple[Preview, list[Document]]:
    """Preview the documents and return those that will be used.

    A document is left out if the user excluded it, if it is shorter than
    ``MIN_DOC_CHARS`` characters, if it repeats another document's text exactly, or if it
    seems to hold a password, code, account number or key (:func:`sensitive_content`),
    health details or personal phone numbers (:func:`personal_details`) and the user did
    not name it in ``included``: an adapter can learn such a line by heart and repeat it
    to anyone using the computer, so it is learned only when the user chose it (a new
    user's Wi-Fi note stayed ticked when this was only a warning; a later trial's dentist
    note and family birthdays list with mobile numbers were ticked too).  A log or
    generated data (:func:`repetitive`) is held back the same way.  The
    window, the CLI and a scheduled run all come here, so they share that default.

    Returns:
        (preview, included documents with normalized text).
    """
    excluded_set = {str(p) for p in excluded}
    included_set = {str(p) for p in included}
    seen: set[str] = set()
    preview = Preview()
    kept: list[Document] = []
    for path, text in documents:
        norm = normalize_text(text)
        digest = hashlib.sha256(norm.encode()).hexdigest()
        item = PreviewItem(path=str(path), chars=len(norm), tokens=count_tokens(norm) if norm else 0,
                           sensitive=sensitive_content(norm) or personal_details(norm))
        if str(path) in excluded_set:
            item.excluded, item.reason = True, "excluded by you"
        elif len(norm) < MIN_DOC_CHARS:
            item.excluded, item.reason = True, f"too short (under {MIN_DOC_CHARS} characters)"
        elif digest in seen:
            item.excluded, item.reason = True, "same text as another file"
        elif item.sensitive and str(path) not in included_set:
            item.excluded = item.held_back = True
            item.reason = f"seems to hold {item.sensitive}"
        elif (repeats := repetitive(norm)) and str(path) not in included_set:
            item.excluded = item.held_back = True
            item.reason = repeats
        else:
            seen.add(digest)
            kept.append((str(path), norm))
        preview.items.append(item)
    return preview, kept


def conversation_documents(history: Any) -> list[Document]:
    """The user's conversations as documents ("conversation:ID", ChatML text).

    ``history`` is a :class:`desktop.core.history.History`.  Only call this when the user
    opted in (settings.personalization.include_conversations).
    """
    docs: list[Document] = []
    for conv in history.list_conversations():
        parts = []
        for msg in history.messages(conv.id):
            role = str(getattr(msg, "role", ""))
            if role in ("user", "assistant") and str(getattr(msg, "content", "")):
                parts.append(f"<|im_start|>{role}\n{msg.content}<|im_end|>\n")
        if parts:
            docs.append((f"conversation:{conv.id}", "".join(parts)))
    return docs


@dataclass
class TrainingData:
    """Everything the trainer and evaluation need, as token ids (JSON-serializable).

    Attributes:
        sequences: training sequences: document text packed into exactly seq_len tokens,
            and each chat exchange whole (at most ``CHAT_MAX_SEQ_LENS * seq_len``).
        loss_from: per sequence, the index of its first token that is learned (0 for
            document text; the reply's first token for a chat exchange).  Empty in data
            made before it existed: every token is learned.
        heldout: held-out documents' token ids (one list per document).
        heldout_answers: grounded examples from held-out documents, as {"ids",
            "loss_from"}: their replies' loss measures answers (early stopping, promotion).
        heldout_paths / train_paths: which documents went where.
        qa: generated pairs (question, answer, source) used for training.
        recall: pairs from training documents kept to ask before/after.
        summary: counts for the report and the adapter's metadata.
    """

    seq_len: int
    sequences: list[list[int]]
    heldout: list[list[int]]
    train_paths: list[str]
    heldout_paths: list[str]
    qa: list[dict[str, str]] = field(default_factory=list)
    recall: list[dict[str, str]] = field(default_factory=list)
    replay: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    loss_from: list[int] = field(default_factory=list)
    heldout_answers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def train_tokens(self) -> int:
        return sum(len(s) for s in self.sequences)


def build_training_data(
    documents: Sequence[Document],
    tokenize: TextTokenizer,
    eos_id: int,
    seq_len: int,
    qa_pairs: Sequence[QAPair] = (),
    replay: Sequence[tuple[str, str]] = (),
    heldout_fraction: float = 0.15,
    seed: int = 0,
    n_recall: int = 4,
    n_grounded: int = 0,
    n_check: int = 0,
    n_heldout_answers: int = 0,
) -> TrainingData:
    """Tokenize, split by document, pack.  QA pairs about held-out documents are dropped
    (they would leak the held-out text into training).  Documents under
    ``HOLDOUT_MIN_CHARS`` characters (short personal notes) are always trained on.  With
    ``n_grounded`` > 0, the QA pairs and ``n_grounded`` cloze questions also become
    grounded answering examples (:func:`grounded_examples`) built from the training
    documents only.

    ``recall`` holds questions kept out of training to measure answers before and after:
    ``n_recall`` of the QA pairs and ``n_check`` cloze questions
    (:func:`cloze_questions`), each with the passage of its training document that the
    chat would quote (``passage``).  The documents themselves are trained on: the check
    is whether the adapter answers new questions about them better.

    ``heldout_answers`` holds up to ``n_heldout_answers`` grounded examples built from the
    held-out documents alone (their cloze questions, passages and distractors): how likely
    the adapter finds their short answers is what early stopping and the promotion
    measure."""
    paths = [p for p, _ in documents]
    # Short notes always go to training: they are what the user most wants learned, and
    # a few words held out would measure nothing.
    long_paths = [p for p, text in documents if len(text) >= HOLDOUT_MIN_CHARS]
    _, held_paths = split_by_document(long_paths, heldout_fraction, seed)
    train_paths = [p for p in paths if p not in set(held_paths)]
    held_set = set(held_paths)
    texts = dict(documents)
    qa = [p for p in qa_pairs if p.source not in held_set]
    rng = random.Random(seed)
    recall = rng.sample(qa, min(n_recall, len(qa)))
    qa = [p for p in qa if p not in recall]
    train_docs = [(p, texts[p]) for p in train_paths]
    cloze = cloze_questions(train_docs, n_grounded + n_check, seed) if n_grounded + n_check else []
    recall += cloze[:n_check]
    cloze = cloze[n_check:]
    text_pieces = [tokenize(texts[p]) for p in train_paths]
    exchanges = [(p.question, p.answer) for p in qa] + list(replay)
    grounded = grounded_examples(train_docs, qa, n_grounded, seed, cloze=cloze) if n_grounded > 0 else []
    exchanges += grounded
    chat_max = CHAT_MAX_SEQ_LENS * seq_len

    def whole(pairs: Sequence[tuple[str, str]]) -> list[tuple[list[int], int]]:
        return [ex for u, a in pairs if len((ex := chat_example(tokenize, u, a))[0]) <= chat_max]

    chats = whole(exchanges)
    rng.shuffle(text_pieces)
    sequences = pack_sequences(text_pieces, seq_len, eos_id)
    loss_from = [0] * len(sequences)
    sequences += [ids for ids, _ in chats]
    loss_from += [start for _, start in chats]
    held_docs = [(p, texts[p]) for p in held_paths]
    held_answers = grounded_examples(held_docs, [], n_heldout_answers, seed) if n_heldout_answers else []
    heldout_answers = [{"ids": ids, "loss_from": start} for ids, start in whole(held_answers)]
    heldout = [tokenize(texts[p]) for p in held_paths]
    summary = {
        "documents": len(paths),
        "train_documents": len(train_paths),
        "heldout_documents": len(held_paths),
        "qa_pairs": len(qa),
        "replay_answers": len(replay),
        "grounded_examples": len(grounded),
        "chat_examples": len(chats),
        "heldout_answers": len(heldout_answers),
        "check_questions": len(recall),
        "train_tokens": sum(len(s) for s in sequences),
        "heldout_tokens": sum(len(h) for h in heldout),
        "sequences": len(sequences),
        "seq_len": seq_len,
    }
    return TrainingData(
        seq_len=seq_len,
        sequences=sequences,
        heldout=heldout,
        train_paths=train_paths,
        heldout_paths=held_paths,
        qa=[asdict(p) for p in qa],
        recall=[{**asdict(p), "passage": answer_passage(p.question, (p.source, texts[p.source]))}
                for p in recall],
        replay=len(replay),
        summary=summary,
        loss_from=loss_from,
        heldout_answers=heldout_answers,
    )


# -- grounded answering examples (RAFT) ---------------------------------------------------

_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|"
           "December")
#: Spans a cloze example asks for: dates, numbers with their unit, and capitalised names
#: that do not open the sentence.
_SPAN = re.compile(
    rf"\b(?:\d{{1,2}} )?(?:{_MONTHS})(?: \d{{1,2}})?,? \d{{4}}\b"
    r"|\b\d[\d,.]*(?: ?%| percent| million| billion| thousand| km| miles| kg| years?)?"
    r"|(?<=[a-z,;] )(?:[A-Z][\w'’-]+(?: (?:of|the|and|de|von|van) | )?){1,4}(?<! )"
)
RAFT_DISTRACTORS = 1


_UNIT = re.compile(r" (km|miles|kg|years?)$")
#: a span glued to a word ("mid-20th", "O2", "3-yard") is part of it, not a value
_GLUED = re.compile(r"[\w-]")
_ARTICLE = re.compile(r"(?:^|\s)(?:a|an|the)\s$", re.I)


def wh_phrase(span: str) -> str:
    """The words that ask for ``span``, one of :data:`_SPAN`'s kinds: "what date" for a
    date, "what year" for a year, "what percentage", "how many <unit>" or "how many" for
    a number, "what" for a name (the wh-word heuristic of Lewis et al. 2019,
    "Unsupervised Question Answering by Cloze Translation", ACL, sec. 3.2)."""
    if re.search(_MONTHS, span):
        return "what date"
    if not span[:1].isdigit():
        return "what"
    if re.fullmatch(r"1\d{3}|20\d{2}", span):
        return "what year"
    if "%" in span or span.endswith("percent"):
        return "what percentage"
    if unit := _UNIT.search(span):
        return "how many " + unit.group(1).rstrip("s") + "s"
    return "how many"


def cloze_questions(documents: Sequence[Document], n: int, seed: int = 0) -> list[QAPair]:
    """Up to ``n`` questions drawn at random from sentences of ``documents`` (6 to 40
    words, one line): a date, a number with its unit or a name (:data:`_SPAN`) is
    replaced by the words that ask for it (:func:`wh_phrase`: "In 1927 a zoo opened." ->
    "In what year a zoo opened?"), and the answer is that span.  A question in the
    sentence's own words, as users ask (Lewis et al. 2019's identity mapping); a sentence
    the documents repeat gives one question.  Deterministic for a seed."""
    from desktop.core.answering import sentence_spans

    rng = random.Random(seed)
    candidates: list[QAPair] = []
    for path, text in documents:
        for a, b in sentence_spans(text):
            sentence = text[a:b]
            if not (6 <= len(sentence.split()) <= 40) or "\n" in sentence:
                continue
            spans = [m for m in _SPAN.finditer(sentence) if m.group(0).strip(" ,.")
                     and not _GLUED.match(sentence[m.start() + len(m.group(0).rstrip(" ,.")):])
                     and not _GLUED.match(sentence[max(0, m.start() - 1):m.start()])]
            if spans:
                m = rng.choice(spans)
                answer = m.group(0).strip(" ,.")
                end = m.start() + len(m.group(0).rstrip(" ,."))
                before = _ARTICLE.sub(" ", sentence[:m.start()])  # "an 80% interest": "what percentage"
                asked = (before + wh_phrase(answer) + sentence[end:]).strip()
                question = asked[:1].upper() + asked[1:].rstrip(" .!;:") + "?"
                candidates.append(QAPair(question, answer, path))
    unique = list({q.question: q for q in candidates}.values())
    rng.shuffle(unique)
    return unique[:n]


def answer_passage(question: str, document: Document) -> str:
    """The window of ``document`` the chat would quote for ``question`` (empty if none)."""
    from desktop.core.answering import select_evidence
    from desktop.core.sources import Source

    path, text = document
    found = select_evidence(question, [Source("document", Path(path).name, text, path=path)], max_passages=1)
    return found[0].text if found else ""


def grounded_examples(
    documents: Sequence[Document], qa_pairs: Sequence[QAPair], n_cloze: int, seed: int = 0,
    cloze: Sequence[QAPair] | None = None,
) -> list[tuple[str, str]]:
    """(user, assistant) pairs in the chat's own grounded prompt, so the adapter learns to
    answer from quoted passages of the user's files the way the chat asks it to.

    Retrieval-augmented fine-tuning (RAFT, Zhang et al. 2024, arXiv:2403.10131): each
    question is shown with the passage that answers it and :data:`RAFT_DISTRACTORS`
    passages from other documents, in random order, and the target is the short answer
    drawn from the right passage.  Questions are the generated ``qa_pairs`` (target: the
    answer's first sentence) and ``n_cloze`` fill-in-the-blank questions drawn from
    sentences of the documents (a date, number or name blanked; target: that span).
    Passages are chosen as the chat chooses them (:func:`desktop.core.answering.select_evidence`).
    ``cloze``, when given, replaces the ``n_cloze`` drawn questions (the caller holds
    some back to measure answers with).
    """
    from desktop.core.answering import grounded_messages, select_evidence
    from desktop.core.sources import Source

    rng = random.Random(seed)
    sources = {path: Source("document", Path(path).name, text, path=path) for path, text in documents}
    paths = list(sources)
    if not paths:
        return []

    def prompt(question: str, path: str) -> str | None:
        right = select_evidence(question, [sources[path]], max_passages=1)
        if not right:
            return None
        others = [p for p in paths if p != path]
        distract = [e for p in rng.sample(others, min(RAFT_DISTRACTORS, len(others)))
                    for e in select_evidence(question, [sources[p]], max_passages=1)]
        shown = right + distract
        rng.shuffle(shown)
        return grounded_messages([{"role": "user", "content": question}], shown)[-1]["content"]

    out: list[tuple[str, str]] = []
    for pair in qa_pairs:
        first = re.split(r"(?<=[.!?])\s", pair.answer.strip(), maxsplit=1)[0]
        if pair.source in sources and first and (user := prompt(pair.question, pair.source)):
            out.append((user, first))
    for pair in cloze if cloze is not None else cloze_questions(documents, n_cloze, seed):
        question, path, answer = pair.question, pair.source, pair.answer
        if user := prompt(question, path):
            out.append((user, f"{answer}."))
    return out
