"""What in a text seems to be a secret (passwords, PINs and codes, account numbers, keys)
or another private detail (health details, personal phone numbers).

Personalization holds such files back (an adapter can learn a line by heart and repeat
it to anyone at the computer) and memory does not store exchanges that hold one (the
user's files already have it, and a memory outlives the file).  A heuristic, not a
guarantee either way: it looks for labelled values ("Password: ...", "PIN 4821"), an
IBAN's shape and private-key headers.

Health details, personal phone numbers, where a spare key is and a car's registration
(:func:`personal_details`) are held back from personalization the same way, but memory
keeps exchanges about them: they are the user's own to ask about ("When is my dentist
appointment?").
"""

from __future__ import annotations

import bisect
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
        r"(?:door|gate|garage|safe|lock))\b[^\n\d]{0,30}?[:=]?\s*(?!(?:19|20)\d\d\b)\d{3,8}\b(?![ \t.-]?\d)#?",
        re.IGNORECASE)),  # a year is not a code: "The lock was changed in 2019"; nor a phone
    # number: "Garage: Fenwick Motors, 01632 960 221" (fourteenth new-user trial)
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


# -- health details and phone numbers ---------------------------------------------------
# Not secrets (memory keeps them: they are the user's own to ask about) but private: an
# adapter that learned "check the cracked molar" or "Mum - 07700 900412" would repeat it to
# anyone at the computer, so personalization holds such files back too (a new-user trial's
# dentist note and family birthdays list were ticked for training).
HEALTH = "health details"
PHONES = "phone numbers"

#: the user (or a relative) as the subject: "my", "I was", "me", "Mum's"
_ABOUT_SOMEONE = re.compile(
    r"\b(?-i:[Mm]y|MY|[Mm]e)\b"  # not "ME", the illness
    r"|\bI(?:'m|'ve| am| was| have| had| got| get| need| take| took| started| feel| felt| still)\b"
    r"|\b(?:mum|mom|mam|dad|gran(?:ny)?|nan|nana|grandma|grandpa|grandad)'s\b",  # not "the mother's weight"
    re.IGNORECASE)
#: conditions, diagnoses, treatments, tests, prescriptions: health information whenever the
#: sentence is about the user ("I was diagnosed with asthma", "my blood test results")
_HEALTH_STRONG = re.compile(
    r"\b(?:diagnos[a-z]*|symptoms?|prescri(?:ption|bed)s?|dosage|side[ -]effects?|"
    r"asthma|diabet(?:es|ic)|epilep(?:sy|tic)|(?<!great )depression(?!-era)|anxiety disorder|panic attacks?|"
    r"cancer|tumou?rs?|chemo(?:therapy)?|radiotherapy|HIV|hepatitis|hypertension|cholesterol|arthritis|"
    r"ADHD|autis(?:m|tic)|migraines?|IBS|crohn'?s|coeliac|celiac|thyroid|pregnan(?:t|cy)|miscarriage|"
    r"infections?|fractured?|sprained|concussion|heart attack|eczema|psoriasis|dementia|alzheimer'?s|"
    r"parkinson'?s|multiple sclerosis|allerg(?:y|ies|ic)|an(?:a)?emi[ac]|insomnia|bipolar|schizophreni[ac]|"
    r"PTSD|eating disorder|anorexia|bulimia|"
    r"antidepressants?|antibiotics?|inhaler|insulin|statins?|painkillers?|"
    r"blood (?:tests?|results?|pressure|sugar|work)|(?:test|scan|lab|biopsy) results|biopsy|MRI|CT scan|"
    r"ultrasound|mammogram|smear test|ECG|root canal|abscess|physiotherapy|"
    r"therapist|counsell?or|psychiatrist|psychologist)\b",
    re.IGNORECASE)
#: treatment and body words that are health details in an appointment ("cleaning + check
#: the cracked molar"), everyday words elsewhere ("brush teeth", "pie filling")
_HEALTH_WEAK = re.compile(
    r"\b(?:tooth|teeth|molars?|wisdom teeth|gums?|fillings?|crowns?|cleaning|scale and polish|"
    r"extraction|x-?rays?|scans?|injections?|jabs?|vaccin[a-z]*|stitches|bloods|check-?ups?|"
    r"meds|medication|medicines?|tablets|pills|dressing|physio|rash|lump|pain|sore|cough)\b",
    re.IGNORECASE)
_DOSE = r"\d+(?:[.,]\d+)?\s?(?:mg|mcg|µg|micrograms?|milligrams?|IU)\b"
#: a dose, as a medicine list or a prescription writes it ("Sertraline 50mg - one each morning")
_DOSE_LINE = re.compile(
    rf"^[-*•\t ]*(?i:repeat prescription:?\s*)?[A-Z][a-z]+(?:[ -][A-Z][A-Za-z]*)?\s+(?i:{_DOSE})[^\n]{{0,60}}$",
    re.MULTILINE)
_DOSE_ANY = re.compile(_DOSE, re.IGNORECASE)
#: a prescription of one's own, as a to-do list says it
_OWN_PRESCRIPTION = re.compile(
    r"\brepeat prescription\b"
    r"|\b(?:collect|pick up|order|renew)\s+(?:my\s+|the\s+|\w+'s\s+)?prescription\b", re.IGNORECASE)
_APPOINTMENT = re.compile(
    r"\b(?:appointments?|appt|booked|check-?ups?|dentist|doctor|GP|physio|optician|hygienist|orthodontist)\b"
    r"|\b(?-i:Dr\.?\s+[A-Z])", re.IGNORECASE)  # not "hospital", "clinic", "follow-up": a study's words
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_WHEN = re.compile(
    rf"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|"
    rf"next (?:week|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}|{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?![\d:])|"
    rf"\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|\d{{4}}-\d\d-\d\d|\d{{1,2}}:\d\d|\d{{1,2}}(?:[.:]\d\d)?\s?[ap]\.?m\b\.?)",
    re.IGNORECASE)
_WINDOW = 200  # characters either side of a health word in which an appointment counts
_SENTENCE_REACH = 300  # at most this many characters either side of a word make its sentence


def _about_someone(text: str, start: int, end: int) -> bool:
    """Whether the line or sentence of ``text`` around ``text[start:end]`` is about the user
    or a relative (:data:`_ABOUT_SOMEONE`); a sentence is cut at ``_SENTENCE_REACH``
    characters either side, so that a long text takes linear time."""
    lo, hi = max(0, start - _SENTENCE_REACH), min(len(text), end + _SENTENCE_REACH)
    left = max(lo - 1, text.rfind("\n", lo, start), *(text.rfind(p, lo, start) for p in (". ", "! ", "? ")))
    ends = [i for i in (text.find(c, end, hi) for c in ("\n", ". ", "! ", "? ")) if i >= 0]
    # searched in place, not in a slice: a cut word ("Geno|me-wide") is no "me"
    return bool(_ABOUT_SOMEONE.search(text, left + 1, min(ends, default=hi)))


class _Near:
    """Where ``pattern`` matches in a text (found on the first question), to ask whether
    one is within reach of a place."""

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self.pattern, self.text = pattern, text
        self.starts: list[int] | None = None

    def within(self, start: int, end: int, reach: int) -> bool:
        if self.starts is None:
            self.starts = [m.start() for m in self.pattern.finditer(self.text)]
        i = bisect.bisect_left(self.starts, start - reach)
        return i < len(self.starts) and self.starts[i] <= end + reach


def _appointment_near(appointments: _Near, dates: _Near, start: int, end: int) -> bool:
    """Whether an appointment (a practitioner or "appointment" with a date or time) is near."""
    return appointments.within(start, end, _WINDOW) and dates.within(start, end, _WINDOW)


def health_details(text: str) -> bool:
    """Whether ``text`` seems to hold health details about the user or someone close.

    A heuristic that looks for health words about a person, not health words alone (an
    article on medicine has plenty): a condition, diagnosis, test, treatment or medicine
    ("diagnosed", "asthma", "blood test", "antibiotics") in a sentence that says "my", "I
    was", "me" or "Mum's", or next to an appointment (a doctor, dentist or "appointment"
    with a date or time); treatment words that are everyday words elsewhere ("teeth",
    "cleaning", "meds") only next to an appointment ("Appointment 14 March 9:40 - cleaning +
    check the cracked molar"); a dose in a medicine list or in a sentence about the user
    ("Sertraline 50mg each morning", "I take 20 mg"); and a prescription to collect ("Repeat
    prescription due 1 April").  "Dentist: 14 March at 9:30" alone is not a health detail,
    nor is "meds: antihistamines" on a packing list.
    """
    appointments, dates = _Near(_APPOINTMENT, text), _Near(_WHEN, text)
    for m in _HEALTH_STRONG.finditer(text):
        if _about_someone(text, m.start(), m.end()) or _appointment_near(appointments, dates, m.start(), m.end()):
            return True
    for m in _HEALTH_WEAK.finditer(text):
        if _appointment_near(appointments, dates, m.start(), m.end()):
            return True
    if _DOSE_LINE.search(text) or _OWN_PRESCRIPTION.search(text):
        return True
    return any(_about_someone(text, m.start(), m.end()) for m in _DOSE_ANY.finditer(text))


#: a phone number: a "+" or "0" prefix (or a North American "(555) 123-4567"), then groups
#: of digits with single spaces, dots or dashes; 9 to 15 digits (checked in the code)
_PHONE = re.compile(
    r"(?<![\w+/.,=&?#%-])(?<!\d )(?:\+\d{1,3}[ .-]?(?:\(0\)[ .-]?)?|\(0\d{1,4}\)[ .-]?|0)\d{1,4}(?:[ .-]?\d{2,5}){1,4}"
    r"(?![\w/-]|[.,]\d)"
    r"|(?<![\w+/.,=&?#%-])(?:\(\d{3}\)\s?|\d{3}[-.])\d{3}[-.]\d{4}(?![\w/-]|[.,]\d)")
#: a business's number: UK freephone, shared-cost and non-geographic (08, 03, 09, 0500),
#: North American toll-free (1-800 ...)
_BUSINESS_NUMBER = re.compile(r"^(?:0(?:8|3|9|500)|(?:\+?1)?8(?:00|33|44|55|66|77|88))")
#: a number named as a person's: "mobile", "cell", "home phone", a relative, "Helen's phone"
_PERSONAL_LABEL = re.compile(
    r"\b(?:mobile|mob|cell ?phone|cell(?= ?(?:no\b|number|#|:))|handy|whatsapp|home (?:phone|number|tel)|"
    r"(?:private|personal) (?:phone|number)|"
    r"mum|mom|mother|dad|father|parents|gran(?:ny)?|nan|nana|grandma|grandpa|grandad|grandmother|grandfather|"
    r"wife|husband|partner|boyfriend|girlfriend|son|daughter|sister|brother|cousin|niece|nephew|"
    r"aunt(?:ie)?|uncle|friend|neighbou?r|babysitter|nanny|childminder|landlord|landlady|tutor)\b"
    r"|\b(?-i:[A-Z][a-z]+)'s (?:phone|number|mobile|cell|tel)\b"
    # "His number is 07700 900 561" (a window cleaner's, ticked beside a babysitter's
    # "Her mobile" held back, eleventh new-user trial)
    r"|\b(?:his|her|their) (?:phone|number|mobile|cell|tel)\b", re.IGNORECASE)

#: a number named as a business's: "Claims line", "Office", "Fax", "Customer service"
_BUSINESS_LABEL = re.compile(
    r"\b(?:line|helpline|hotline|office|fax|reception|switchboard|customer|service|support|sales|"
    r"enquiries|inquiries|bookings|claims|emergencies)\b[^\d\n]{0,12}$", re.IGNORECASE)
#: a line that only labels the number after it ("Phone:", "tel -"): whose it is, is said above
_CONTACT_LABEL = re.compile(r"\s*(?:phone|tel(?:ephone)?|number|no\.?|contact|call)?\s*[:=-]?\s*", re.IGNORECASE)
#: a person named with a title ("Mr. Gareth Pryce", "Mrs Okafor")
_TITLED_NAME = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx)\.?\s+[A-Z][a-z]+")
_LABEL_REACH = 60  # characters before a number in which its label counts ("Mum (Helen) - 3 February - ")


def phone_numbers(text: str) -> bool:
    """Whether ``text`` seems to hold personal phone numbers.

    A heuristic that looks for numbers written as phone numbers ("07700 900412", "+44 161
    496 0734", "(555) 123-4567"): two or more that are not a business's (freephone and
    shared-cost numbers such as 0800 or 1-800, and numbers labelled "Office", "Fax",
    "Customer service" and the like are left aside), or one that the words just
    before it name as a person's ("Mum (Helen) - 07700 900412", "mobile:", "Helen's
    phone").  One service number ("Claims line: 0800 555 0147", a garage's) is not a
    personal detail, nor is an ISBN.
    """
    personal: set[str] = set()
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if not 9 <= len(digits) <= 15 or "isbn" in text[max(0, m.start() - 12):m.start()].lower():
            continue
        national = re.sub(r"^\+?44\s*(?:\(0\))?\s*", "0", m.group(0))
        if _BUSINESS_NUMBER.match(re.sub(r"[^\d+]", "", national)):
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        line = text[max(line_start, m.start() - _LABEL_REACH):m.start()]
        if _PERSONAL_LABEL.search(line):
            return True
        if _BUSINESS_LABEL.search(line):
            continue
        # "Phone: 01632 960 229" under "Landlord: Mr. Gareth Pryce" (twelfth new-user trial:
        # the landlord's and the babysitter's notes were ticked for training)
        above = text[max(0, line_start - _LABEL_REACH * 2):line_start]
        if _CONTACT_LABEL.fullmatch(line) and (_PERSONAL_LABEL.search(above) or _TITLED_NAME.search(above)):
            return True
        personal.add(digits[-9:])  # the same number written with and without "+44" is one
    return len(personal) >= 2


#: where a spare key is kept ("Spare key is with neighbour Mrs. Abebe at number 14", "key
#: under the blue flowerpot"): an adapter that learned it tells anyone how to get in
HOME_ACCESS = "where a spare key is"
_SPARE_KEY = re.compile(
    r"\bspare\s+(?:house\s+|door\s+|front\s+door\s+)?keys?\b"
    r"|\bkeys?\s+(?:is\s+|are\s+)?(?:hidden|kept)\b|\bkey\s?safe\b", re.IGNORECASE)
#: a vehicle's registration mark, labelled ("Reg: KM19 XYT", "number plate AB12 CDE"): it
#: names the user's car, and with the address the home (eighth new-user trial: a car note
#: was ticked for training)
VEHICLE = "a car registration"
_REGISTRATION = re.compile(
    r"\b(?i:reg(?:istration)?(?:\s+(?:no\.?|number|mark|plate))?|(?:number|licen[cs]e)\s+plate|VRN)"
    r"\s*[:=]?\s*(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{2,4}[ -]?[A-Z0-9]{2,4}\b")
#: what :func:`personal_details` names, beside the secrets of :func:`sensitive_content`
PRIVATE_DETAILS = (HEALTH, PHONES, HOME_ACCESS, VEHICLE)


def personal_details(text: str) -> str:
    """What private detail ``text`` seems to hold that is not a secret: :data:`HEALTH`
    (:func:`health_details`), :data:`PHONES` (:func:`phone_numbers`), :data:`HOME_ACCESS`
    (where a spare key is kept), :data:`VEHICLE` (a labelled registration mark), or ""."""
    if health_details(text):
        return HEALTH
    if phone_numbers(text):
        return PHONES
    if _SPARE_KEY.search(text):
        return HOME_ACCESS
    if _REGISTRATION.search(text):
        return VEHICLE
    return ""
