"""Signs that an extraction is not the document's text (garbled, empty, wrong encoding).

:func:`garbled_reason` looks at extracted text and answers with a sentence when it looks
broken, else "".  The checks, each a ratio over the text's characters or words:

- NUL characters (a UTF-16 file without byte-order mark read as 8-bit text comes out as
  every other character NUL);
- U+FFFD replacement characters (bytes that did not decode);
- private-use and control characters (fonts whose glyphs map to no Unicode text);
- an implausible mix of scripts inside words (Latin, Cyrillic, Greek, CJK, ... letters
  alternating within one word; real words keep to one script);
- implausible words: case flipping inside a word ("HQČåQtSURVWĜHGN"), letters and digits
  interleaved ("3HQ"), which in real prose (URLs, codes, CamelCase names aside) stay a few
  percent of words.  Measured on the real documents in ``../shared/data/docs``: at most
  4% there, 60% or more for the mojibake line of the issue (see tests).

:func:`tiny_chunks_reason` flags documents whose chunks are mostly empty or a few
characters.  The thresholds are deliberately loose: a false alarm only adds a warning or
tries a second extractor; the file is skipped only when every extractor fails.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

#: minimum letters before the word-level checks mean anything
MIN_LETTERS = 40
NUL_RATIO = 0.01
REPLACEMENT_RATIO = 0.02
CONTROL_RATIO = 0.05
ODD_WORD_RATIO = 0.25
MIXED_SCRIPT_RATIO = 0.10
TINY_CHUNK_CHARS = 8
TINY_CHUNK_RATIO = 0.5

_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
_DIGITS_INSIDE = re.compile(r"[^\W\d_]\d+[^\W\d_]", re.UNICODE)
#: the ASCII characters str.isspace() counts as space, and the ASCII control characters
_ASCII_SPACE = re.compile(r"[\t\n\x0b\x0c\r\x1c-\x1f ]")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARABIC", "HEBREW", "CJK", "HIRAGANA", "KATAKANA",
            "HANGUL", "THAI", "DEVANAGARI", "ARMENIAN", "GEORGIAN")


def _script(ch: str) -> str:
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return ""
    for s in _SCRIPTS:
        if name.startswith(s):
            return s
    return ""


def _odd_word(word: str) -> bool:
    """Case flipping after the first two letters, or digits between letters ("a3b"; not
    identifiers that end or start with a number, such as "word123456" or "2016model")."""
    if word.isalpha() and (word[1:].islower() or word.isupper()):
        return False  # the common case ("Word", "word", "WORD"), without the loop below
    letters = [c for c in word if c.isalpha()]
    if len(letters) < 3:
        return False
    if _DIGITS_INSIDE.search(word):
        return True
    flips = 0
    for a, b in zip(letters[1:], letters[2:], strict=False):
        if a.islower() != b.islower() and (a.isupper() or a.islower()) and (b.isupper() or b.islower()):
            flips += 1
    # "McDonald", "iPhone", "JavaScript": one flip; mojibake flips again and again
    return flips >= 2


def garbled_reason(text: str) -> str:
    """A sentence saying why ``text`` looks like a failed extraction, or "" if it looks fine.

    Args:
        text: the extracted text of a whole document.
    """
    n = len(text)
    if n == 0:
        return ""
    nul = text.count("\x00")
    if nul / n > NUL_RATIO:
        return f"the text has {nul} NUL characters (probably UTF-16 read as 8-bit text)"
    bad = text.count("\ufffd")
    if bad / n > REPLACEMENT_RATIO:
        return f"{bad} characters could not be decoded (U+FFFD replacement characters)"
    if text.isascii():  # the same counts, without a Python loop over every character
        visible_n = n - len(_ASCII_SPACE.findall(text))
        odd = len(_ASCII_CONTROL.findall(text))
    else:
        visible = [c for c in text if not c.isspace()]
        visible_n = len(visible)
        odd = sum(1 for c in visible if unicodedata.category(c) in ("Co", "Cc", "Cs", "Cn"))
    if not visible_n:
        return ""
    if odd / visible_n > CONTROL_RATIO:
        return f"{odd} characters are control or private-use codes (a font without a Unicode map)"
    words = _WORD.findall(text)
    letters = sum(len(w) for w in words)
    if letters < MIN_LETTERS:
        return ""
    mixed = 0
    odd_words = 0
    for w in words:
        if w.isascii():  # Latin letters and digits only: one script at most
            odd_words += _odd_word(w)
            continue
        scripts = {s for s in (_script(c) for c in w if c.isalpha()) if s}
        if scripts & {"CJK", "HIRAGANA", "KATAKANA"}:  # Japanese mixes these in one word
            scripts -= {"HIRAGANA", "KATAKANA"}
            scripts.add("CJK")
        if len(scripts) > 1:
            mixed += 1
        elif _odd_word(w):
            odd_words += 1
    if mixed / len(words) > MIXED_SCRIPT_RATIO:
        return f"{mixed} of {len(words)} words mix alphabets (a font's character map is wrong)"
    if odd_words / len(words) > ODD_WORD_RATIO:
        return (f"{odd_words} of {len(words)} words look like mojibake (case and digits jumbled; "
                "a font's character map is wrong)")
    return ""


def tiny_chunks_reason(chunks: Sequence[str]) -> str:
    """A sentence when most chunks are empty or only a few characters, else ""."""
    if not chunks:
        return ""
    tiny = sum(1 for c in chunks if len(c.strip()) < TINY_CHUNK_CHARS)
    if tiny / len(chunks) >= TINY_CHUNK_RATIO:
        return f"{tiny} of {len(chunks)} chunks are empty or a few characters"
    return ""


__all__ = ["garbled_reason", "tiny_chunks_reason"]
