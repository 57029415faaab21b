"""Content words of a text, as the answering logic and the retrieval filter compare them:
lower-cased, stop words dropped, Snowball-stemmed (PyStemmer, the stemmer BM25 uses); and
a text's sentences (:func:`sentence_spans`).

The stop words are English function words plus the words every question about a file
has and no answer needs ("tell", "name", "note", "file", "document", ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours
ourselves over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom whose why will with would you your yours yourself
yourselves tell know please name named called kind type many much one ones also
say says said told note notes file files document documents mention mentions mentioned
write wrote written need needs needed
don doesn didn isn aren wasn weren won shouldn couldn wouldn hasn haven hadn ll ve re
""".split())


@lru_cache(maxsize=1)
def _stem() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english").stemWord
    except ImportError:  # PyStemmer missing: exact words still match
        return lambda word: word


_ACRONYM_PLURAL = re.compile(r"(?=.*[b-df-hj-np-tv-xz].)[b-df-hj-np-tv-xz\d]{2,}s")


def terms(text: str) -> list[str]:
    """Content words of ``text``: lower-cased, stop words dropped, Snowball-stemmed; an
    acronym's plural ("PPPs", "DVDs") as the acronym, which the stemmer keeps whole without
    a vowel ("What is a PPP also known as?" / "Public-Private Partnering (PPPs) aka ...")."""
    stem = _stem()
    return [stem(w[:-1] if _ACRONYM_PLURAL.fullmatch(w) else w)
            for w in (m.group(0).lower() for m in _WORD.finditer(text))
            if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())]  # not the "s" of "Gandhi's"


#: "how ..." asking for an amount or a measure ("How hot should the oven be?")
HOW_MEASURE = "many|much|long|far|old|big|often|tall|hot|cold|warm|high|wide|deep|heavy|large|early|late|fast|soon"
#: words that name the kind of answer wanted, not something the passage must hold: the
#: "long" of "how long", the "year" of "what year", the "make" of "what make", the "number"
#: of "phone number", the "address" of "home address"
KIND_WORDS = re.compile(r"\bhow\s+(?:" + HOW_MEASURE + r")\b"
                        r"|\b(?<=what |hich )(?:year|date|day|month|time|temperature|percent(?:age)?|"
                        r"make|model|brand|colou?r|size)\b"
                        r"|(?<=\w )number\b"
                        # "electrician phone", "his phone number": the kind, not the topic ("phone bill")
                        r"|(?<=\w )(?:tele)?phone(?=(?: number)?\W*$)"
                        # what a request is for, not its topic: "Summarise my car notes", "What
                        # do my notes say about the car?" (car.md holds neither word)
                        r"|\bsummar(?:y|ies|i[sz]e[sd]?)\b"
                        r"|(?:(?<=my )|(?<=our ))(?:notes?|files?|documents?)(?: says?)?\b"
                        r"|(?<=\w )notes?(?=\W*$)"
                        # "What is the hotel's address?": a note gives it, seldom says "address"
                        # (not the Gettysburg Address)
                        r"|\b(?-i:address)(?!\s+(?:book|bar)\b)",
                        re.IGNORECASE)


#: What joins a file name's words ("medical-report", "lemon_cake.v2"): read as spaces.
FILE_NAME_SEPARATORS = re.compile(r"[_\-.]+")


def named_for(question: str, file_name: str) -> bool:
    """Whether the file ``file_name`` is named for everything ``question`` asks about
    (:func:`asked_terms`, at least one word): "car.md" for "Summarise my car notes"."""
    wanted = set(asked_terms(question))
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    return bool(wanted) and wanted <= set(terms(FILE_NAME_SEPARATORS.sub(" ", stem)))


def asked_terms(question: str) -> list[str]:
    """The content words (:func:`terms`) of ``question`` that a passage answering it should
    hold: without the words that name the kind of answer (:data:`KIND_WORDS`): "oscar",
    "turn" of "How old is Oscar turning?"."""
    return terms(KIND_WORDS.sub("", _WHERE_LOCATED.sub(r"\1", question)))


#: "Where is the Congress Hall located?": the passage says where it is, seldom "located"
_WHERE_LOCATED = re.compile(r"^(\W*where\b.*?)\s+(?:located|situated)(?=\W*$)", re.IGNORECASE)


def long_words(text: str, min_length: int = 8) -> list[str]:
    """``text``'s words of at least ``min_length`` characters, lower-cased: where OCR or a
    compound may hold a shorter word ("paymentdue", "carpark")."""
    return [w.lower() for w in _WORD.findall(text) if len(w) >= min_length]


def holds_term(term: str, words: set[str] | frozenset[str], longer: list[str]) -> bool:
    """Whether ``term`` (a stem, :func:`terms`) is one of a text's ``words`` (its
    :func:`terms`) or, at 3 letters or more, inside one of its ``longer`` words
    (:func:`long_words`: "paymentdue" holds "due")."""
    return term in words or (len(term) >= 3 and any(term in w for w in longer))


#: Word stems that name the same thing and that Snowball leaves apart (derivations, not
#: inflections): a question asks "When was she born?" of a form that says "Date of
#: birth".  Kept short on purpose: the events of personal records (birth, death,
#: marriage, payment), family words, and what notes abbreviate.
_RELATED: dict[str, tuple[str, ...]] = {
    "born": ("birth",), "birth": ("born",),
    "die": ("death",), "death": ("die",),
    "marri": ("marriag", "wed"), "marriag": ("marri", "wed"), "wed": ("marri", "marriag"),
    "paid": ("pay", "payment"), "pay": ("payment", "paid"), "payment": ("pay", "paid"),
    # family words people write either way ("Mum's birthday", "my mother's phone number")
    "mother": ("mum", "mom", "mama"), "mum": ("mother", "mom"), "mom": ("mother", "mum"),
    "father": ("dad", "papa"), "dad": ("father", "papa"),
    "grandmoth": ("grandma", "granni", "nan"), "grandma": ("grandmoth", "granni", "nan"),
    "grandfath": ("grandpa",), "grandpa": ("grandfath",),
    # what notes abbreviate ("Reg: KM19 XYT", "meds: antihistamines", "Tel 0161 ...")
    "registr": ("reg",), "reg": ("registr",),
    "medicin": ("med", "medic"), "medic": ("med", "medicin"), "med": ("medicin", "medic"),
    "appoint": ("appt",), "appt": ("appoint",),
    "telephon": ("tel", "phone"), "phone": ("tel", "telephon"), "tel": ("telephon", "phone"),
    # what something costs, as notes label it ("Rate: 12 pounds per hour" for "How much does
    # the babysitter charge?", twelfth new-user trial)
    "charg": ("rate", "cost", "fee", "price"), "cost": ("price", "fee", "rate", "charg"),
    "price": ("cost", "fee", "rate"), "fee": ("cost", "price", "rate", "charg"),
    "rate": ("charg", "cost", "fee", "price"),
}

#: The words of an invoice, bill or receipt in the languages of Europe, for the English
#: word a question asks with: "When is the invoice due?" of a Polish invoice ("Faktura nr
#: FV 1/2021 ... Termin płatności: 2021-05-03", ../shared/data/docs) found nothing, since
#: neither the embedding model (English) nor BM25 links the two (the README's own example;
#: issue 11).  Hand-made, for paperwork only (German, French, Spanish, Italian, Dutch,
#: Portuguese, Polish, Czech, Swedish): no translation model ships offline in a package.
PAPERWORK_WORDS: dict[str, str] = {
    "invoice": "faktura faktury rechnung facture factura fattura factuur fatura",
    "due": "płatności splatnosti fällig fälligkeit zahlungsziel échéance vencimiento scadenza "
           "vervaldatum vencimento förfallodatum",
    "total": "razem zapłaty celkem gesamtbetrag summe totale totaal totalt",
    "seller": "sprzedawca dodavatel verkäufer lieferant vendeur fournisseur vendedor proveedor "
              "venditore fornitore verkoper leverancier",
    "buyer": "nabywca odběratel käufer kunde acheteur comprador acquirente koper klant",
    "payment": "płatności platba zahlung paiement pago pagamento betaling betalning",
    "vat": "mwst ust tva iva dph",  # not the Dutch "btw" nor the Swedish "moms" (English words)
    "price": "cena preis prix precio prezzo prijs preço pris",
    "amount": "kwota betrag montant importo bedrag",  # not the Spanish "importe" (stem "import")
}
PAPERWORK_WORDS["supplier"] = PAPERWORK_WORDS["seller"]
PAPERWORK_WORDS["customer"] = PAPERWORK_WORDS["buyer"]


#: Words (stems) that name who something belongs to by the user's relation to them: a
#: question with one is about that person, and a passage without it is about someone else
#: ("What is my mother's phone number?" is not answered by the dentist's "Her phone
#: number is 555-0142", fifth new-user trial).
RELATION_WORDS = frozenset({
    "mother", "mum", "mom", "mama", "father", "dad", "papa", "parent", "wife", "husband",
    "partner", "spous", "son", "daughter", "child", "children", "kid", "brother", "sister",
    "sibl", "grandmoth", "grandma", "granni", "nan", "grandfath", "grandpa", "aunt", "uncl",
    "cousin", "niec", "nephew", "friend", "boss", "manag", "colleagu", "neighbour", "neighbor",
    "landlord", "landladi", "girlfriend", "boyfriend", "fianc", "fiancé", "fiance"})


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


#: A word of wordninja's English list (ranked by frequency in English Wikipedia; a word's
#: cost is log((rank + 1) * log N)) costing at most this is taken as spelt right: about the
#: 45,000 most frequent.  Its tail holds common misspellings, all costing more ("recieve"
#: 13.04, "adress" 13.12, "seperate" 13.2, "occured" 13.75); the words a note names
#: cost less ("plumber" 12.55, "babysitter" 12.78, "electrician" 12.85, "hairdresser" 12.95).
COMMON_WORD_MAX_COST = 13.0


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Frequent English words (lower-case) that spelling correction leaves alone, beside
    the embedding model's own vocabulary: "plumber" is none of its whole words, and a
    scan's OCR text held "lumber", so "What is the plumber's phone number?" was read as
    "lumber's" and got the window cleaner's number (eleventh new-user trial).  From
    wordninja's unigram list (:data:`COMMON_WORD_MAX_COST`)."""
    import wordninja

    cost = wordninja.DEFAULT_LANGUAGE_MODEL._wordcost  # word -> cost; no public accessor
    return frozenset(w for w, c in cost.items() if c <= COMMON_WORD_MAX_COST)


def edits1(word: str) -> set[str]:
    """Every string one edit from ``word`` (lower-case a-z letters): a letter left out,
    two neighbours swapped, one replaced or one added (Damerau's four kinds of typing
    error, which he found behind about 80 % of misspellings; the candidate generator of
    Norvig's "How to Write a Spelling Corrector", 2007).  About 54n + 25 strings for n
    letters; looked up in a set, they are cheaper than a fuzzy search over a vocabulary."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
            | {a + c + b for a, b in splits for c in _LETTERS}) - {word}


@lru_cache(maxsize=1)
def _paperwork_stems() -> dict[str, tuple[str, ...]]:
    """:data:`PAPERWORK_WORDS` as stems, both ways: English stem -> the others' stems, and
    each of those -> the English stem."""
    out: dict[str, set[str]] = {}
    for english, others in PAPERWORK_WORDS.items():
        (head,) = terms(english)
        foreign = {t for t in terms(others) if t != head}
        out.setdefault(head, set()).update(foreign)
        for t in foreign:
            out.setdefault(t, set()).add(head)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def paperwork_translations(text: str) -> list[str]:
    """The other languages' words (as written) for the paperwork words of ``text``
    (:data:`PAPERWORK_WORDS`): ["faktura", "rechnung", ...] for "When is the invoice
    due?"; [] for most texts."""
    asked = set(terms(text))
    # not a word of the same stem as one asked ("totale" for "total": BM25 would count it twice)
    return list(dict.fromkeys(w for english, others in PAPERWORK_WORDS.items()
                              if terms(english)[0] in asked for w in others.split() if not set(terms(w)) <= asked))


def related(term: str) -> tuple[str, ...]:
    """Stems that name what ``term`` (a stem, :func:`terms`) names: ("birth",) for
    "born", the other languages' words of an invoice (:data:`PAPERWORK_WORDS`) for
    "invoice"; () for most words."""
    return _RELATED.get(term, ()) + _paperwork_stems().get(term, ())


def with_related(stems: Iterable[str]) -> set[str]:
    """``stems`` (:func:`terms`) and the stems :func:`related` to each."""
    return {v for t in stems for v in (t, *related(t))}


def holds_related(term: str, words: set[str] | frozenset[str], longer: list[str]) -> bool:
    """:func:`holds_term` for ``term`` or a stem :func:`related` to it ("Reg" holds
    "registration")."""
    return any(holds_term(v, words, longer) for v in (term, *related(term)))


_SENTENCE_END = re.compile(
    r"(?<=[.!?…])[\"'”’)\]]*[ \t]+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])"  # . ! ? before a capital
    r"|[ \t]*\n\s*"  # a line break (unless a wrapped line goes on: see sentence_spans)
)
#: A line at least this long (characters) that the next line goes on from in lower case
#: was wrapped: its sentence goes on.  A shorter one is an item of a list or note
#: ("meds: antihistamines" under "light rain jacket" was one sentence with the whole
#: packing list, seventh new-user trial).
WRAPPED_LINE = 60
_LAST_WORD = re.compile(r"(\w+)\.?[\"'”’)\]]*$")
_ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st mt no vs etc e.g eg i.e ie fig jr sr inc ltd co corp dept approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec u.s us".split())
#: one letter before a full stop is an initial ("U.S. 205", "J. R. R. Tolkien", "Wisconsin
#: v. Yoder"), not a sentence's end (Punkt's initial rule, Kiss & Strunk 2006)
_INITIAL = re.compile(r"[^\W\d_]")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of ``text``'s sentences, in order, without surrounding white space.

    Sentences end at . ! ? … before a capital or digit (not after a common abbreviation
    such as "Dr." or "e.g.", nor after an initial such as the "S." of "U.S."), at blank
    lines, and at line breaks unless the next line goes on in lower case from a line of
    :data:`WRAPPED_LINE` characters or more (a wrapped line): notes are often one fact per
    line.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if "\n" in m.group(0):
            line = m.start() - (text.rfind("\n", 0, m.start()) + 1)
            if m.group(0).count("\n") == 1 and text[m.end():m.end() + 1].islower() and line >= WRAPPED_LINE:
                continue  # a wrapped line: the sentence goes on
        else:  # an end at punctuation, not at a line break
            word = _LAST_WORD.search(text, max(0, m.start() - 12), m.start())
            if word and (word.group(1).lower() in _ABBREVIATIONS or _INITIAL.fullmatch(word.group(1))):
                continue
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        piece = text[a:b]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece.rstrip())
        if trail > lead:
            out.append((a + lead, a + trail))
    return out
