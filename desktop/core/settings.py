"""The user's settings: one typed object, saved as JSON in the config folder.

Each section is a dataclass whose fields carry a ``description`` in their metadata (shown
as tooltips in the settings dialog).  The file has a schema version; unknown keys are
ignored and missing keys take their defaults, so older and newer files both load.
Qt's own settings store holds window geometry only.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from desktop.core.paths import atomic_write_bytes, config_dir

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
T = TypeVar("T")


def _f(default: Any, description: str) -> Any:
    return field(default=default, metadata={"description": description})


def default_threads() -> int:
    """Threads for llama.cpp: the physical cores, leaving one free on bigger machines
    (the owner of the rule is :func:`desktop.core.threads.chat_threads`).

    llama.cpp's OpenMP threads spin, so more threads than cores collapses throughput
    (measured in ../shared/DESIGN.md).
    """
    from desktop.core.threads import chat_threads

    return chat_threads()


@dataclass
class ChatSettings:
    model_path: str = _f("", "GGUF file of the chat model; empty means the built-in default.")
    extra_models: list[str] = field(
        default_factory=list, metadata={"description": "GGUF files the user added."}
    )
    temperature: float = _f(0.7, "How adventurous answers are (sampling temperature): 0 always picks the likeliest "
                                "word; higher varies more and wanders more. Questions about your files are "
                                "answered at 0.")
    top_p: float = _f(0.95, "Only the likeliest words that together reach this probability are "
                          "considered (nucleus sampling); lower keeps answers more focused.")
    max_tokens: int = _f(512, "Longest answer, in tokens (a token is about three quarters of a word).")
    seed: int = _f(-1, "Fixes the randomness, so the same question gets the same answer; -1 picks "
                       "a new one each time.")
    # 1.1: the built-in model looped in 3 of 10 sampled answers at 1.0 and in none at 1.1
    # (distinct 4-grams 0.79 -> 0.995; five everyday prompts, two seeds, 256 tokens).
    repeat_penalty: float = _f(1.1, "Penalty for repeating recent words (1.0: none); stops "
                                    "small models from going round in circles.")
    n_ctx: int = _f(4096, "Context window in tokens (capped by the model's own).")
    n_threads: int = _f(0, "CPU threads for the model; 0 chooses from this machine.")
    n_gpu_layers: int = _f(0, "Layers to offload to the GPU in builds with one; 0 runs on the CPU.")
    system_prompt: str = _f(
        "You are Hearth, a helpful assistant. Answer clearly and concisely.",
        "Default system prompt for new conversations.",
    )

    def threads(self) -> int:
        return self.n_threads if self.n_threads > 0 else default_threads()


#: Passage (chunk) size limits, in the embedding model's word pieces.  The upper bound is
#: what all-MiniLM-L6-v2 reads with a section header: 256 - [CLS]/[SEP] - 32 header tokens
#: (desktop.core.library.chunking.MAX_CHUNK_TOKENS, kept equal by a test); below 64 a
#: passage is a sentence or two and too little context for an answer.
CHUNK_TOKENS_MIN = 64
CHUNK_TOKENS_MAX = 222
CHUNK_TOKENS_DEFAULT = 222
CHUNK_OVERLAP_DEFAULT = 32


def check_chunking(chunk_tokens: Any, overlap_tokens: Any) -> None:
    """Check a passage size and overlap (word pieces) before they are used or saved.

    Raises:
        ValueError: a value is not a whole number, the size is outside
            CHUNK_TOKENS_MIN..CHUNK_TOKENS_MAX, or the overlap outside 0..size // 2; the
            message names the setting, the value and the allowed range.
    """
    if isinstance(chunk_tokens, bool) or not isinstance(chunk_tokens, int) \
            or not CHUNK_TOKENS_MIN <= chunk_tokens <= CHUNK_TOKENS_MAX:
        raise ValueError(f"Passage size (library.chunk_tokens) {chunk_tokens!r} is not allowed: give a whole "
                         f"number of word pieces from {CHUNK_TOKENS_MIN} to {CHUNK_TOKENS_MAX} "
                         f"(the embedding model reads at most {CHUNK_TOKENS_MAX} with a section header).")
    if isinstance(overlap_tokens, bool) or not isinstance(overlap_tokens, int) \
            or not 0 <= overlap_tokens <= chunk_tokens // 2:
        raise ValueError(f"Passage overlap (library.chunk_overlap_tokens) {overlap_tokens!r} is not allowed: "
                         f"give a whole number of word pieces from 0 to {chunk_tokens // 2} (half the "
                         f"passage size, {chunk_tokens}).")


@dataclass
class LibrarySettings:
    top_k: int = _f(8, "How many passages are retrieved for each question (the answer quotes the sentences of them that match it best).")
    memory_enabled: bool = _f(True, "Recall relevant past conversations as sources.")
    watched_folders: list[str] = field(
        default_factory=list, metadata={"description": "Only read from older versions' files: watched folders now live "
                                                 "in the library (hearth library; the Library page)."}
    )
    embedding_model: str = _f("", "Folder of a sentence-transformers model for the library; empty means the built-in all-MiniLM-L6-v2. Changing it re-indexes.")
    embed_threads: int = _f(0, "CPU threads for embedding documents; 0 uses every core (indexing pauses while the chat answers).")
    parse_timeout_s: float = _f(60.0, "Longest time reading one file may take before it is skipped, in seconds.")
    max_file_mb: float = _f(200.0, "Files larger than this (in MB) are skipped.")
    ocr_enabled: bool = _f(True, "Read scanned PDF pages and images (.png, .jpg, .tiff) by OCR, on this computer.")
    embed_backend: str = _f("onnx", "How documents are embedded: onnx (the same model, int8 with ONNX Runtime, about twice as fast; made once from the PyTorch weights and checked against them) or torch (PyTorch; only where the model's PyTorch weights are installed, which the installers leave out). Both give the same vectors to within cosine 0.99, so changing it does not re-index.")
    bm25_weight: float = _f(1.0, "Weight of keyword (BM25) ranking against meaning (vector) ranking when fusing them.")
    min_similarity: float = _f(
        0.3, "Passages less similar than this (cosine, 0 to 1) to the question are not given to the chat."
    )
    chroma_host: str = _f("", "A Chroma server (chroma run) that keeps the library's vectors instead of this disk, e.g. gpu-box.local; empty keeps them on this computer. The list of files stays on this computer.")
    chroma_port: int = _f(8000, "TCP port of that Chroma server (chroma run's default is 8000).")
    chunk_tokens: int = _f(CHUNK_TOKENS_DEFAULT, f"Passage size: how long the passages your documents are cut into are, in word pieces ({CHUNK_TOKENS_MIN} to {CHUNK_TOKENS_MAX}; a word is about 1.3). Smaller passages cite more precisely but carry less context. Changing it re-indexes the library.")
    chunk_overlap_tokens: int = _f(CHUNK_OVERLAP_DEFAULT, "Passage overlap: word pieces neighbouring passages share (0 to half the passage size), so a sentence cut at a boundary is still found. Changing it re-indexes the library.")


@dataclass
class PersonalizationSettings:
    include_conversations: bool = _f(False, "Also learn from your conversations (off unless you opt in).")
    start_time: str = _f("01:00", "When 'Personalize overnight' starts.")
    finish_by: str = _f("07:00", "Training ends by this time.")
    adapter_scale: float = _f(1.0, "Strength of the active personal adapter (0 to 2).")
    adapter_enabled: bool = _f(True, "Use the active personal adapter in chat.")


@dataclass
class ModelSettings:
    hub_url: str = _f(
        "https://huggingface.co",
        "Where catalog models are downloaded from: the Hugging Face hub or an organisation's "
        "mirror with the same layout ({url}/{repo}/resolve/main/{file}).",
    )
    confirmed_hosts: list[str] = field(
        default_factory=list,
        metadata={"description": "Hosts you agreed Hearth may contact to download models."},
    )
    downloaded: list[str] = field(
        default_factory=list,
        metadata={"description": "Model files Hearth downloaded (removing one deletes the file)."},
    )


@dataclass
class UiSettings:
    theme: str = _f("system", "light, dark, or system (follow the OS).")
    welcome_done: bool = _f(False, "The welcome screen has been seen.")


@dataclass
class ServerSettings:
    enabled: bool = _f(False, "Run the OpenAI-compatible server while the window is open (off by default).")
    port: int = _f(8765, "TCP port of the OpenAI-compatible server.")
    allow_lan: bool = _f(False, "Listen on the local network too (all interfaces), not only on this computer; requires the access token.")
    token_sha256: str = _f("", "SHA-256 of the server's access token (the token itself is shown once and never stored); empty means no token.")


@dataclass
class RemoteSettings:
    chat_url: str = _f("", "An OpenAI-compatible server to chat with instead of Hearth's own engine (e.g. http://gpu-box:8080/v1); empty uses this computer.")
    chat_model: str = _f("", "Model id on that server; empty uses its first model.")
    chat_api_key: str = _f("", "API key for that server, if it needs one.")


@dataclass
class Settings:
    chat: ChatSettings = field(default_factory=ChatSettings)
    library: LibrarySettings = field(default_factory=LibrarySettings)
    personalization: PersonalizationSettings = field(default_factory=PersonalizationSettings)
    models: ModelSettings = field(default_factory=ModelSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    remote: RemoteSettings = field(default_factory=RemoteSettings)
    schema_version: int = SCHEMA_VERSION

    @staticmethod
    def path() -> Path:
        return config_dir() / "settings.json"

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings; a missing file gives defaults, a damaged one is kept aside as
        ``settings.json.bad`` and defaults are used (the error is logged)."""
        path = path or cls.path()
        if not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("top level is not an object")
        except (OSError, ValueError) as exc:
            log.error("Settings file %s is unreadable (%s); using defaults.", path, exc)
            try:
                os.replace(path, path.with_suffix(".json.bad"))
            except OSError:
                pass
            return cls()
        return _from_dict(cls, raw)

    def save(self, path: Path | None = None) -> None:
        """Write atomically (a crash leaves the old or the new file, never half of one)."""
        data = json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True).encode()
        atomic_write_bytes(path or self.path(), data)


def _from_dict(cls: type[T], raw: dict[str, Any]) -> T:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in raw:
            continue
        value = raw[f.name]
        default = cls.__dataclass_fields__[f.name]  # type: ignore[attr-defined]
        sub = default.type if isinstance(default.type, type) else None
        factory = default.default_factory
        if factory is not dataclasses.MISSING and dataclasses.is_dataclass(factory):
            if isinstance(value, dict):
                value = _from_dict(factory, value)  # type: ignore[arg-type]
            else:
                continue
        elif sub is not None and dataclasses.is_dataclass(sub) and isinstance(value, dict):
            value = _from_dict(sub, value)
        kwargs[f.name] = value
    return cls(**kwargs)
