from __future__ import annotations

from pathlib import Path

from desktop.core.personalize.dataset import (
    QAPair,
    build_preview,
    build_training_data,
    dedup_qa,
    generate_qa,
    grounded_examples,
    pack_sequences,
    parse_qa,
    read_folder,
    split_by_document,
)


def tok(text: str) -> list[int]:
    return [len(w) for w in text.split()]


def test_split_is_by_document_deterministic_and_stable() -> None:
    paths = [f"doc{i}.txt" for i in range(20)]
    train, held = split_by_document(paths, 0.2, seed=1)
    assert set(train) | set(held) == set(paths) and not set(train) & set(held)
    assert len(held) == 4
    assert split_by_document(paths, 0.2, seed=1) == (train, held)
    # adding a document does not move the others
    train2, held2 = split_by_document([*paths, "new.txt"], 0.2, seed=1)
    assert set(held) - set(held2) == set() or len(held2) >= len(held)
    assert split_by_document(["only.txt"], 0.5) == (["only.txt"], [])
    assert split_by_document(["a", "b"], 0.0)[1] != []


def test_pack_fills_full_sequences_without_padding() -> None:
    seqs = pack_sequences([[1, 2, 3], [4, 5], [6, 7, 8, 9]], seq_len=4, eos_id=0)
    assert seqs == [[1, 2, 3, 0], [4, 5, 0, 6], [7, 8, 9, 0]]
    assert all(len(s) == 8 for s in pack_sequences([list(range(1, 50))], 8, 0))
    assert pack_sequences([[1]], 8, 0) == [[1, 0]]  # too little text: one short sequence


def test_heldout_documents_never_reach_training() -> None:
    docs = [(f"d{i}", f"Unique{i} went to the market in {1900 + i} with friends. " * 30) for i in range(10)]
    qa = [QAPair("What is unique one here?", "unique", p) for p, _ in docs]
    vocab: dict[str, int] = {}  # a collision-free word-level tokenizer (hash() is salted per run)

    def tokenize(text: str) -> list[int]:
        return [vocab.setdefault(w, len(vocab) + 1) for w in text.split()]

    data = build_training_data(docs, tokenize, 0, 64, qa, heldout_fraction=0.3, n_grounded=20,
                               n_heldout_answers=6)
    assert data.summary["grounded_examples"] > 0
    assert data.heldout_paths and set(data.heldout_paths).isdisjoint(data.train_paths)
    assert all(q["source"] not in data.heldout_paths for q in data.qa)
    held_tokens = {vocab[f"Unique{p[1:]}"] for p in data.heldout_paths} | {
        vocab[str(1900 + int(p[1:]))] for p in data.heldout_paths}
    train_tokens = {t for s in data.sequences for t in s}
    assert held_tokens.isdisjoint(train_tokens)
    assert len(data.loss_from) == len(data.sequences)
    text = [s for s, start in zip(data.sequences, data.loss_from, strict=True) if start == 0]
    chats = [(s, start) for s, start in zip(data.sequences, data.loss_from, strict=True) if start > 0]
    assert text and all(len(s) == 64 for s in text)  # documents: packed, every token learned
    assert len(chats) == len(data.qa) + data.summary["grounded_examples"] == data.summary["chat_examples"]
    # the answers that measure the adapter come from held-out documents alone
    assert data.heldout_answers and data.summary["heldout_answers"] == len(data.heldout_answers)
    for ex in data.heldout_answers:
        assert held_tokens & set(ex["ids"]) and 0 < ex["loss_from"] < len(ex["ids"])


def test_qa_filter_and_dedup() -> None:
    chunk = "The Hearth project trains personal adapters overnight on the user's documents."
    good = parse_qa("Question: What does the Hearth project train overnight?", "It trains personal adapters.", "f", chunk)
    assert good is not None and good.question.endswith("?")
    assert parse_qa("no question here", "whatever", "f", chunk) is None
    assert parse_qa("What is the answer to this question?", "adapters overnight", "f", chunk) is None
    assert parse_qa("What does the Hearth project train?", "Bananas grow in tropical climates.", "f", chunk) is None
    pairs = dedup_qa([good, QAPair("what does the HEARTH project train overnight", "x", "g"), good])
    assert len(pairs) == 1


def test_generate_qa_uses_the_model_and_filters() -> None:
    calls: list[str] = []

    def fake_model(prompt: str, max_tokens: int) -> str:
        calls.append(prompt)
        if "Reply with the question only" in prompt:
            return "What does the Hearth project train overnight?"
        return "Personal adapters, trained overnight."

    text = "The Hearth project trains personal adapters overnight on the user's documents. " * 5
    pairs = generate_qa([("a.txt", text)], fake_model, max_pairs=3)
    assert len(pairs) == 1  # the same question again is a duplicate
    assert any("Passage" in c for c in calls)


def test_preview_lists_files_tokens_and_exclusions(tmp_path: Path, shared_data: Path) -> None:
    (tmp_path / "a.md").write_text("alpha " * 100)
    (tmp_path / "b.txt").write_bytes((shared_data / "docs" / "txt_cp1252-latin1_french.txt").read_bytes())
    (tmp_path / "short.txt").write_text("tiny")
    (tmp_path / "copy.md").write_text("alpha " * 100)
    (tmp_path / "skip.pdf").write_bytes(b"%PDF")
    docs = list(read_folder(tmp_path))
    assert [Path(p).name for p, _ in docs] == ["a.md", "b.txt", "copy.md", "short.txt"]
    assert "MOLIÈRE" in dict(docs)[str(tmp_path / "b.txt")]  # cp1252 detected
    preview, kept = build_preview(docs, lambda t: len(t.split()), excluded=[str(tmp_path / "b.txt")])
    reasons = {Path(i.path).name: i.reason for i in preview.items}
    assert reasons["b.txt"] == "excluded by you"
    assert "too short" in reasons["short.txt"]
    assert "same text" in reasons["copy.md"]
    assert [Path(p).name for p, _ in kept] == ["a.md"]
    assert preview.total_tokens == 100


def test_grounded_examples_put_the_answer_beside_a_distractor_in_the_chat_s_prompt() -> None:
    docs = [
        ("notes/boiler.txt", "The boiler was serviced by Hearthwarm Heating on 12 March 2024. "
         "The next service is due in 2025. The engineer left the manual in the kitchen drawer."),
        ("notes/car.txt", "The car insurance renews every September. The policy number is 88-1204. "
         "Roadside assistance is included for 3 years."),
    ]
    qa = [QAPair("When was the boiler serviced?", "It was serviced on 12 March 2024. Done.", "notes/boiler.txt")]
    examples = grounded_examples(docs, qa, n_cloze=10, seed=3)
    user, answer = examples[0]
    assert answer == "It was serviced on 12 March 2024."  # the answer's first sentence
    assert "From boiler.txt:" in user and "From car.txt:" in user  # the answer and a distractor
    assert user.rstrip().endswith("using the quoted text.") and "Question: When was the boiler" in user
    clozes = examples[1:]
    assert clozes and all(a.endswith(".") for u, a in clozes)
    for u, a in clozes:  # the span asked for is in a quoted passage, so it can be copied
        passages, question = u.split("Question:")
        assert a.rstrip(".") in passages and a.rstrip(".") not in question
        assert any(w in question for w in ("what", "What", "how many", "How many"))


def test_cloze_questions_ask_in_the_sentence_s_own_words() -> None:
    """Lewis et al. 2019's identity mapping: the span becomes the words that ask for it."""
    from desktop.core.personalize.dataset import cloze_questions, wh_phrase

    assert [wh_phrase(s) for s in ("12 March 2024", "1927", "80%", "3 years", "42", "Davros")] == [
        "what date", "what year", "what percentage", "how many years", "how many", "what"]
    docs = [("a.txt", "In 1927 a zoological garden was established on the park grounds."),
            ("b.txt", "The network bought an 80% interest in the sports channel."),
            ("c.txt", "Oxygen levels in the mid-20th century rose near 3-metre vents again today.")]
    asked = {q.question: q.answer for q in cloze_questions(docs, 10, seed=0)}
    assert asked["In what year a zoological garden was established on the park grounds?"] == "1927"
    assert asked["The network bought what percentage interest in the sports channel?"] == "80%"
    assert not any(q.startswith("Oxygen") for q in asked)  # "20" of "mid-20th", "3" of "3-metre": no values


def test_each_exchange_is_one_whole_sequence_whose_reply_alone_is_learned() -> None:
    """A grounded example longer than seq_len is not cut: its passage, question and answer
    stay in one sequence (cut, most had lost their passage), and ``loss_from`` is the
    answer's first token."""
    passage = "The side gate padlock code is 5521 and the garage remote takes a CR2032 battery."
    docs = [("notes/gate.txt", passage + " Filler about the garden shed and its many tools. " * 6),
            ("notes/car.txt", "The car insurance renews every September with policy 88-1204. " * 6)]
    vocab: dict[str, int] = {}

    def tokenize(text: str) -> list[int]:
        return [vocab.setdefault(w, len(vocab) + 1) for w in text.split()]

    qa = [QAPair("What is the side gate padlock code?", "The code is 5521.", "notes/gate.txt")]
    data = build_training_data(docs, tokenize, 0, 16, qa, heldout_fraction=0.0, n_recall=0, n_grounded=0)
    chats = [(s, start) for s, start in zip(data.sequences, data.loss_from, strict=True) if start > 0]
    assert len(chats) == 1
    data = build_training_data(docs, tokenize, 0, 32, qa, heldout_fraction=0.0, n_recall=0, n_grounded=4)
    words = {v: k for k, v in vocab.items()}
    grounded = [(s, start) for s, start in zip(data.sequences, data.loss_from, strict=True)
                if start > 0 and vocab["Question:"] in s]
    assert grounded and all(len(s) > 32 for s, _ in grounded)  # longer than seq_len, and whole
    for s, start in grounded:
        prompt, reply = " ".join(words[t] for t in s[:start]), " ".join(words[t] for t in s[start:])
        assert prompt.startswith("<|im_start|>user") and "Question:" in prompt and "From " in prompt
        assert reply.endswith("<|im_end|>") and len(reply.split()) <= 6  # the short answer alone


def test_questions_that_measure_answers_are_kept_out_of_training() -> None:
    facts = ["The boiler was serviced by Hearthwarm Heating on 12 March 2024 in the morning.",
             "The car insurance renews every September with policy number 88-1204 at Acme.",
             "The dentist appointment is on 14 March at the clinic on Mill Street near home."]
    docs = [(f"notes/n{i}.txt", (fact + " ") * 3 + f"Filler words number {i} go here. " * 40)
            for i, fact in enumerate(facts)]
    qa = [QAPair(f"What does note {i} say?", fact, p) for i, ((p, _), fact) in enumerate(zip(docs, facts, strict=True))]
    vocab: dict[str, int] = {}
    trained: list[str] = []

    def tokenize(text: str) -> list[int]:
        trained.append(text)
        return [vocab.setdefault(w, len(vocab) + 1) for w in text.split()]

    data = build_training_data(docs, tokenize, 0, 64, qa, heldout_fraction=0.0, n_recall=1,
                               n_grounded=20, n_check=4)
    assert len(data.recall) == 5 and data.summary["check_questions"] == 5
    for q in data.recall:
        assert q["passage"] and q["passage"] in dict(docs)[q["source"]]  # what the chat would quote
        assert not any(q["question"] in t for t in trained)  # never practised
    assert {q["question"] for q in data.qa}.isdisjoint(q["question"] for q in data.recall)


def test_files_that_seem_to_hold_secrets_are_flagged() -> None:
    from desktop.core.personalize.dataset import sensitive_content

    assert sensitive_content("Wi-Fi password: blue-otter-2417") == "a password"
    assert sensitive_content("The Wi-Fi password is blue-otter-2417.") == "a password"  # as written in a sentence
    assert sensitive_content("My card PIN is 4821.") == "a PIN"
    # the fifth new-user trial's notes, which started ticked
    assert sensitive_content("Gmail password is Sunflower!88") == "a password"
    assert sensitive_content("Netflix: user anna, password Movie-Night-7") == "a password"
    assert sensitive_content("My email login is anna.k@example.com with pw Sunflower!88") == "a password"
    assert sensitive_content("PIN for the bank card is 8812") == "a PIN"
    assert sensitive_content("Visa 4111 1111 1111 1111, expires 04/27") == "a card number"  # Luhn-valid
    assert sensitive_content("Order 4111 1111 1111 1112 shipped") == ""  # fails the Luhn check
    assert sensitive_content("CVV 123") == "a card's security code"
    assert sensitive_content("SSN 078-05-1120") == "a social security number"
    assert sensitive_content("wifi key: abcd-efgh") == "a key or token"
    assert sensitive_content("Alarm: 5521") == sensitive_content("Garage door: 4402#") == "a code"
    assert sensitive_content("The meeting is in room 4402 on floor 3.") == ""
    assert sensitive_content("The lock was changed in 2019 by the landlord.") == ""  # a year
    # a garage's phone number is no code (fourteenth trial: car.md held back "for a code")
    assert sensitive_content("Garage: Fenwick Motors, 01632 960 221") == ""
    assert sensitive_content("Gym locker code at FitLine: 5820") == "a code"  # the third trial's notes
    assert sensitive_content("Policy number: NBM-2291-77C") == "a policy or account number"
    assert sensitive_content("Zip code: 10115") == "" and sensitive_content("Locker number 112") == ""
    assert sensitive_content("Card PIN 4821, keep it safe") == "a PIN"
    assert sensitive_content("Rent to IBAN DE89 3704 0044 0532 0130 00 monthly") == "a bank account number"
    assert sensitive_content("-----BEGIN OPENSSH PRIVATE KEY-----") == "a key or token"
    assert sensitive_content("The password reset page was confusing, said Ada.") == ""
    assert sensitive_content("Dentist: next appointment 14 March at 9:30.") == ""


def test_files_that_seem_to_hold_secrets_are_left_out_unless_the_user_includes_them() -> None:
    wifi = ("notes/home.txt", "Home network. Wi-Fi password: blue-otter-2417. Router in the hall. " * 3)
    cake = ("notes/cake.txt", "Lemon cake: bake at 180 degrees for 35 minutes with two lemons. " * 3)
    preview, kept = build_preview([wifi, cake], lambda t: len(t.split()))
    home = next(i for i in preview.items if i.path == "notes/home.txt")
    assert home.excluded and home.held_back and "seems to hold a password" in home.reason
    assert [p for p, _ in kept] == ["notes/cake.txt"]  # the default every run follows
    preview, kept = build_preview([wifi, cake], lambda t: len(t.split()), included=["notes/home.txt"])
    assert [p for p, _ in kept] == ["notes/home.txt", "notes/cake.txt"]
    assert not any(i.excluded for i in preview.items)
    assert preview.items[0].sensitive == "a password"  # still flagged, for the preview's note
    # the user's own exclusion wins over an inclusion
    _, kept = build_preview([wifi], lambda t: len(t.split()), excluded=["notes/home.txt"],
                            included=["notes/home.txt"])
    assert kept == []


# A new-user trial's notes: both were ticked for training (an adapter that learned them
# would tell anyone at the computer about the molar, or Mum's mobile number).
DENTIST_NOTE = """Dentist - Parkside Dental
Appointment Thursday 14 March, 9:40am with Dr. Shah
cleaning + check the cracked molar (lower left)
Phone: 0161 555 0193
"""
BIRTHDAYS = """Family birthdays
Mum (Helen) - 3 February - 07700 900412
Dad (Graham) - 21 June - 07700 900587
Katie - 9 September - 07700 900236
Grandad - 30 November - 0161 496 0771
"""
DENTISTRY_ARTICLE = """Dentistry

Dentistry is the branch of medicine that focuses on the teeth, gums and mouth. It covers
the study, diagnosis, prevention and treatment of diseases of the oral cavity, most
commonly tooth decay and gum disease. Dentists recommend a check-up and a cleaning by a
hygienist every six to twelve months; a cavity is treated with a filling, a badly
damaged tooth with a crown or a root canal, and an abscess with antibiotics. Pierre
Fauchard, a French surgeon of the 18th century, is called the father of modern dentistry.
"""
MEDICINE_ARTICLE = """Medicine

Medicine is the science and practice of caring for patients: the diagnosis, prognosis,
prevention and treatment of disease. Doctors take a history, examine the patient and may
order blood tests, X-rays or an MRI scan. Common chronic conditions include diabetes,
asthma, hypertension and depression; cancer is treated with surgery, chemotherapy or
radiotherapy. For adults a typical dose of paracetamol is 500 mg to 1 g every four to six
hours, and a doctor may prescribe antibiotics for a bacterial infection. In 1928 Alexander
Fleming discovered penicillin at St Mary's Hospital in London.
"""
RECIPE = """Lemon drizzle cake
Bake at 180C for 40 minutes. 225g butter, 225g caster sugar, 4 eggs, 225g self-raising
flour, 2 lemons. Mix, pour into the tin, and drizzle the lemon syrup over while warm.
"""
CAR_NOTE = """Car: blue Ford Focus
Next service due 12 May 2026. Tyres 2.4 bar front and back.
MOT due 3 June, at Halls Motors on Mill Lane.
"""
INSURANCE_NOTE = """Home insurance with Northway, renewal 1 September.
Excess £250. Claims line: 0800 555 0147
"""
PACKING_LIST = """Packing list for Spain
passport
sunscreen
phone charger
meds: antihistamines
swimsuit
"""


def test_files_that_seem_to_hold_health_details_or_phone_numbers_are_flagged() -> None:
    from desktop.core.sensitive import HEALTH, PHONES, personal_details

    assert personal_details(DENTIST_NOTE) == HEALTH == "health details"
    assert personal_details("Appointment 14 March 9:40 - cleaning + check the cracked molar (lower left)") == HEALTH
    assert personal_details(BIRTHDAYS) == PHONES == "phone numbers"
    assert personal_details("I was diagnosed with asthma in 2019; the inhaler is in the blue bag.") == HEALTH
    assert personal_details("Sertraline 50mg - one every morning") == HEALTH  # a medicine list
    assert personal_details("My blood test results came back fine.") == HEALTH
    assert personal_details("GP Tuesday 10:30 - review meds") == HEALTH
    assert personal_details("Repeat prescription due 1 April") == HEALTH
    assert personal_details("Mum's mobile: 07700 900412") == PHONES  # one number, named as someone's
    assert personal_details("Helen's phone: 0161 496 0734") == PHONES
    # a window cleaner's "His number" was ticked beside a babysitter's "Her mobile" (eleventh trial)
    assert personal_details("The window cleaner is Barry Dunn.\nHis number is 07700 900 561.") == PHONES
    # "Phone:" on the line under the person it belongs to (twelfth trial: both were ticked)
    assert personal_details("Landlord: Mr. Gareth Pryce\nEmail: g.pryce@example.co.uk\nPhone: 01632 960 229") == PHONES
    assert personal_details("Babysitter: Hannah Okafor\nRate: 12 pounds per hour.\nPhone: 07700 900 315") == PHONES
    assert personal_details("Service garage: Hillcrest Motors\nPhone: 01632 960 812") == ""  # a business's
    # not held back: a note with no health detail, general articles, a recipe, a car note,
    # a single business number, an item on a packing list
    assert personal_details("Dentist: next appointment 14 March at 9:30.") == ""
    assert personal_details("Dentist: Dr. Okafor, 12 May 14:30") == ""
    for text in (DENTISTRY_ARTICLE, MEDICINE_ARTICLE, RECIPE, CAR_NOTE, INSURANCE_NOTE, PACKING_LIST):
        assert personal_details(text) == "", text
    assert personal_details("Remember to brush teeth and take the bins out.") == ""
    assert personal_details("Garage: Halls Motors, 0161 496 0022") == ""  # one number, a business's
    assert personal_details("Office: 0161 496 0000\nFax: 0161 496 0001") == ""  # labelled as a business's
    assert personal_details("My thesis is on the Great Depression and the Depression-era banks.") == ""
    assert personal_details("Order 4111 1111 1111 1112 shipped; ISBN 0-306-40615-2") == ""
    assert personal_details("Call 0161 496 0734, or from abroad +44 161 496 0734.") == ""  # one number, twice
    # where a spare key is, a car's registration (eighth trial: both notes were ticked)
    from desktop.core.sensitive import HOME_ACCESS, VEHICLE

    assert personal_details("Spare key is with neighbour Mrs. Abebe at number 14.") == HOME_ACCESS
    assert personal_details("The back door key is hidden under the blue flowerpot.") == HOME_ACCESS
    assert personal_details("# Car\n\n2019 Skoda Octavia Estate\nReg: KM19 XYT\n") == VEHICLE
    for text in ("Key findings are kept in the appendix.", "Registration opens 12 May 2026.",
                 "Registration: 1999", "Regulation (EU) 2016/679"):
        assert personal_details(text) == "", text
    # the secret checks and memory's are unchanged: these are the user's own to ask about
    from desktop.core.sensitive import mentions_secret, sensitive_content

    assert sensitive_content(DENTIST_NOTE) == sensitive_content(BIRTHDAYS) == ""
    assert not mentions_secret("When is my dentist appointment? What is Mum's mobile number?")


def test_health_details_and_phone_numbers_are_held_back_unless_the_user_includes_them() -> None:
    docs = [("notes/dentist.txt", DENTIST_NOTE), ("notes/birthdays.txt", BIRTHDAYS),
            ("wiki/dentistry.txt", DENTISTRY_ARTICLE), ("wiki/medicine.txt", MEDICINE_ARTICLE),
            ("notes/cake.txt", RECIPE), ("notes/car.txt", CAR_NOTE), ("notes/insurance.txt", INSURANCE_NOTE),
            ("notes/packing.txt", PACKING_LIST)]
    preview, kept = build_preview(docs, lambda t: len(t.split()))
    items = {i.path: i for i in preview.items}
    assert items["notes/dentist.txt"].held_back and items["notes/dentist.txt"].reason == "seems to hold health details"
    assert items["notes/birthdays.txt"].held_back
    assert items["notes/birthdays.txt"].reason == "seems to hold phone numbers"
    assert [p for p, _ in kept] == [p for p, _ in docs[2:]]
    assert not any(items[p].sensitive for p, _ in docs[2:])
    # ticked by the user, they are learned from, as a ticked password note is
    _, kept = build_preview(docs, lambda t: len(t.split()), included=["notes/dentist.txt", "notes/birthdays.txt"])
    assert [p for p, _ in kept] == [p for p, _ in docs]


def test_a_log_or_generated_data_is_held_back_unless_the_user_includes_it() -> None:
    # a 3.9 MB log of the same few words made up nearly all the words to learn, ticked
    # without a word (eleventh trial); articles and notes are not touched
    log = "plan review meeting office of update report the team sales budget.\n" * 600
    docs = [("notes/huge_log.txt", log), ("notes/cake.txt", RECIPE), ("wiki/medicine.txt", MEDICINE_ARTICLE)]
    preview, kept = build_preview(docs, lambda t: len(t.split()))
    item = preview.items[0]
    assert item.held_back and "the same few words over and over (11 different words in 6,600)" in item.reason
    assert [p for p, _ in kept] == ["notes/cake.txt", "wiki/medicine.txt"]
    # a log's numbers change on every line; its words do not (twelfth trial)
    daemon = "".join(f"2026-11-{n % 28 + 1:02d} 12:00:{n % 60:02d} INFO sync heartbeat ok id={n} queue=0\n"
                     for n in range(1200))
    assert "different words" in build_preview([("sync.log.txt", daemon)], len)[0].items[0].reason
    _, kept = build_preview(docs, lambda t: len(t.split()), included=["notes/huge_log.txt"])
    assert [p for p, _ in kept][0] == "notes/huge_log.txt"
