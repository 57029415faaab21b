"""What in a text seems to be a secret: passwords, PINs and codes, account numbers, keys.

Personalization holds such files back (an adapter can learn a line by heart and repeat
it to anyone at the computer) and memory does not store exchanges that hold one (the
user's files already have it, and a memory outlives the file).  A heuristic, not a
guarantee either way: it looks for labelled values ("Password: ...", "PIN 4821"), an
IBAN's shape and private-key headers.
"""

from __future__ import annotations

import re

_PASSWORD_WORD = r"(?:pass(?:word|wd|code|phrase)|kennwort|mot de passe|contraseña|pw)"
_SENSITIVE = [
    # "Password: ...", as people write it in a sentence ("The Wi-Fi password is ..."), and a
    # password word right before a value with a digit or symbol ("password Movie-Night-7")
    ("a password", re.compile(
        rf"\b{_PASSWORD_WORD}\b\s*(?:[:=]|is\b|ist\b|est\b|es\b)"
        rf"|\b{_PASSWORD_WORD}\s+(?=\S*[\d!@#$%^&*])[^\s,;]{{4,}}", re.IGNORECASE)),
    ("a PIN", re.compile(r"\bPIN\b[^\n\d]{0,30}?\d{4,8}\b")),
    ("a card's security code", re.compile(r"\b(?:CVV2?|CVC2?|CID)\b\s*[:=]?\s*\d{3,4}\b", re.IGNORECASE)),
    ("a code", re.compile(
        r"(?<!zip )(?<!post )(?<!postal )(?<!area )\b(?:code|combination|alarm|keypad|opener|"
        r"(?:door|gate|garage|safe|lock))\b[^\n\d]{0,30}?[:=]?\s*(?!(?:19|20)\d\d\b)\d{3,8}\b#?",
        re.IGNORECASE)),  # a year is not a code: "The lock was changed in 2019"
    ("a policy or account number", re.compile(
        r"\b(?:policy|account|membership|customer|card|passport|licen[cs]e)\s+(?:no\.?|number|#)\s*[:=]?\s*"
        r"[A-Z0-9][A-Z0-9-]{4,}", re.IGNORECASE)),
    ("a bank account number", re.compile(r"\b(?:IBAN\b\s*:?\s*)?[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}\b")),
    ("a social security number", re.compile(r"\b(?:SSN|social security(?: number)?)\b\D{0,12}\d{3}-?\d{2}-?\d{4}\b",
                                            re.IGNORECASE)),
    ("a key or token", re.compile(r"\b(?:api[_ -]?key|secret[_ -]?key|access[_ -]?token|private key|"
                                  r"(?:wi-?fi|wpa2?|network|wireless) key)\b"
                                  r"|-----BEGIN [A-Z ]*PRIVATE KEY-----", re.IGNORECASE)),
]
#: a payment card number: 13 to 19 digits, in groups or not, that pass the Luhn check
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")


def _luhn(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes (ISO/IEC 7812-1)."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def sensitive_content(text: str) -> str:
    """What ``text`` seems to hold that a user may not want a model to memorise ("a
    password", "a PIN", "a card number", "a bank account number", "a key or token"...),
    or ""."""
    found = next((what for what, pattern in _SENSITIVE if pattern.search(text)), "")
    if not found and any(_luhn(re.sub(r"\D", "", m.group(0))) for m in _CARD.finditer(text)):
        found = "a card number"
    return found


#: words that name a secret, in a question or an answer ("What is my Wi-Fi password?",
#: "The door code is 5820"): an exchange about one is not kept in memory
_SECRET_WORDS = re.compile(
    r"\b(?:pass(?:word|wd|code|phrase)s?|pw|kennwort|pins?|iban|cvv|cvc|ssn|combination|"
    r"(?:api|secret|private|recovery|wi-?fi|wpa2?|network|wireless)\s+keys?|access\s+tokens?|"
    r"(?:credit|debit|bank|payment)\s+card\s+(?:number|details)|card\s+number|"
    r"(?:garage|door|gate)\s+opener|"
    r"(?:security|access|door|gate|garage|alarm|locker|safe|lock|entry|wi-?fi|network|unlock)\s+(?:codes?|numbers?))\b",
    re.IGNORECASE)


def mentions_secret(text: str) -> bool:
    """Whether ``text`` holds a secret (:func:`sensitive_content`) or names one ("my Wi-Fi
    password", "the door code"), even without its value."""
    return bool(sensitive_content(text) or _SECRET_WORDS.search(text))
