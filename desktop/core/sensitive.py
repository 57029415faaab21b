"""What in a text seems to be a secret: passwords, PINs and codes, account numbers, keys.

Personalization holds such files back (an adapter can learn a line by heart and repeat
it to anyone at the computer) and memory does not store exchanges that hold one (the
user's files already have it, and a memory outlives the file).  A heuristic, not a
guarantee either way: it looks for labelled values ("Password: ...", "PIN 4821"), an
IBAN's shape and private-key headers.
"""

from __future__ import annotations

import re

_SENSITIVE = [
    # "Password: ...", and as people write it in a sentence: "The Wi-Fi password is ..."
    ("a password", re.compile(r"\b(?:pass(?:word|wd|code|phrase)|kennwort|mot de passe|contraseña)\b"
                              r"\s*(?:[:=]|is\b|ist\b|est\b|es\b)", re.IGNORECASE)),
    ("a PIN", re.compile(r"\bPIN\b\s*(?:code)?\s*(?:[:=]|is\b)?\s*\d{4,8}\b")),
    ("a code", re.compile(r"(?<!zip )(?<!post )(?<!postal )(?<!area )\b(?:code|combination)\b[^\n\d]{0,30}?[:=]?\s*\d{3,8}\b", re.IGNORECASE)),
    ("a policy or account number", re.compile(
        r"\b(?:policy|account|membership|customer|card|passport|licen[cs]e)\s+(?:no\.?|number|#)\s*[:=]?\s*"
        r"[A-Z0-9][A-Z0-9-]{4,}", re.IGNORECASE)),
    ("a bank account number", re.compile(r"\b(?:IBAN\b\s*:?\s*)?[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}\b")),
    ("a key or token", re.compile(r"\b(?:api[_ -]?key|secret[_ -]?key|access[_ -]?token|private key)\b"
                                  r"|-----BEGIN [A-Z ]*PRIVATE KEY-----", re.IGNORECASE)),
]


def sensitive_content(text: str) -> str:
    """What ``text`` seems to hold that a user may not want a model to memorise ("a
    password", "a PIN", "a bank account number", "a key or token"), or ""."""
    return next((what for what, pattern in _SENSITIVE if pattern.search(text)), "")


#: words that name a secret, in a question or an answer ("What is my Wi-Fi password?",
#: "The door code is 5820"): an exchange about one is not kept in memory
_SECRET_WORDS = re.compile(
    r"\b(?:pass(?:word|wd|code|phrase)s?|kennwort|pins?|iban|cvv|cvc|combination|"
    r"(?:api|secret|private|recovery)\s+keys?|access\s+tokens?|"
    r"(?:security|access|door|gate|alarm|locker|safe|lock|entry|wi-?fi|network|unlock)\s+codes?)\b",
    re.IGNORECASE)


def mentions_secret(text: str) -> bool:
    """Whether ``text`` holds a secret (:func:`sensitive_content`) or names one ("my Wi-Fi
    password", "the door code"), even without its value."""
    return bool(sensitive_content(text) or _SECRET_WORDS.search(text))
