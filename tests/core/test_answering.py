"""Which sentences a small model reads, how it is asked, and what an answer rests on."""

from collections.abc import Sequence

import pytest

from desktop.core.answering import (
    NOT_FOUND,
    AnswerPlan,
    answer_type_match,
    balance_quotes,
    coverage,
    form_field,
    grounded,
    is_factual,
    is_not_found,
    is_question,
    preamble_length,
    quotes_settled,
    select_evidence,
    sentence_spans,
    supporting_sentence,
    unsupported_values,
)
from desktop.core.sources import Source

NOTE = ("Home network notes.\n\nThe router is in the hall cupboard. Wi-Fi name: Hearthside. "
        "Wi-Fi password: blue-otter-2417. The guest network has no password.\n\n"
        "Dentist: Next appointment: 14 March at 9:30. Bring the insurance card.")


def direct(question: str, source: Source) -> str:
    """The answer taken from ``source`` without the model ("" where the model answers)."""
    return AnswerPlan.make(question, [source], searched=True).direct


def test_questions_and_factual_questions() -> None:
    assert is_factual("When is the invoice due?")
    assert is_factual("what's my wifi password")
    assert is_factual("How many people attended?") and is_factual("Which team won Super Bowl 50?")
    assert not is_factual("Summarise my notes about the boiler")
    assert not is_factual("Why did the project stop?")
    assert is_factual("The church supports those who oppose what?")  # question word last
    assert not is_factual("The church supports those who oppose war.")
    assert is_question("Where is the router?") and is_question("router location?")
    assert not is_question("Write a poem about my cat")
    # advice asked for is written, not looked up ("I couldn't find this in your files",
    # eleventh trial); a value asked for so is still a fact
    for request in ("Give me three tips for sleeping better", "What are some ideas for dinner?",
                    "Any tips for a long flight?"):
        assert not is_factual(request)
        assert not AnswerPlan.make(request, [], searched=True).not_found
    assert is_factual("Give me the wifi password")


def test_sentences_keep_offsets() -> None:
    spans = sentence_spans(NOTE)
    texts = [NOTE[a:b] for a, b in spans]
    assert "Wi-Fi password: blue-otter-2417." in texts
    assert texts[0] == "Home network notes."
    assert all(t == t.strip() and t for t in texts)
    # an initial is not a sentence's end: the case name was cut at "U.S." and "v."
    case = "The key case is Wisconsin v. Yoder, 406 U.S. 205 (1972). J. R. R. Tolkien wrote it down."
    assert [case[a:b] for a, b in sentence_spans(case)] == [
        "The key case is Wisconsin v. Yoder, 406 U.S. 205 (1972).", "J. R. R. Tolkien wrote it down."]


def test_the_sentence_that_answers_is_chosen_not_the_first_passage() -> None:
    other = Source("document", "router-manual.txt", "The router supports WPA3. Reset it with a pin. "
                   "The default password is printed on the label.")
    note = Source("document", "home.txt", NOTE)
    (best, *rest) = select_evidence("What is my Wi-Fi password?", [other, note])
    assert best.source is note and "blue-otter-2417" in best.text
    assert "Dentist" not in best.text  # a window around the sentence, not the whole note


def test_possessives_and_contractions_are_not_words_a_passage_must_hold() -> None:
    from desktop.core.answering import terms

    assert terms("What was Gandhi's work called?") == ["gandhi", "work"]
    assert "don" not in terms("What if we don't change our practices?")
    # an acronym's plural is the acronym (the stemmer keeps "ppps" whole); a decade is not
    assert terms("PPPs, DVDs and MP3s in the 1990s") == ["ppp", "dvd", "mp3", "1990s"]
    ppp = Source("document", "construction.txt", "New forms include partnering such as Public-Private "
                 "Partnering (PPPs) aka private finance initiatives (PFIs) and alliances.")
    assert not AnswerPlan.make("What is a PPP also known as?", [ppp], searched=True).not_found


def test_plan_not_found_only_for_questions_on_a_library_with_documents() -> None:
    assert AnswerPlan.make("What is the capital of France?", [], searched=True).not_found
    assert not AnswerPlan.make("What is the capital of France?", [], searched=False).not_found
    assert not AnswerPlan.make("Tell a joke about cats", [], searched=True).not_found
    assert is_not_found(f"{NOT_FOUND} From general knowledge: Paris.")
    assert not is_not_found("Paris is the capital. I couldn't find a map.")


def test_hearth_s_own_earlier_answers_never_stand_beside_documents() -> None:
    memory = Source("memory", "your conversation of 2 December",
                    "You said: What is my Wi-Fi password?\nHearth said earlier: It is 11111.",
                    extra={"user_text": "You said: What is my Wi-Fi password?"})
    note = Source("document", "home.txt", NOTE)
    plan = AnswerPlan.make("What is my Wi-Fi password?", [note, memory], searched=True)
    prompt = plan.prompt([{"role": "user", "content": "What is my Wi-Fi password?"}])[-1]["content"]
    assert "blue-otter-2417" in prompt and "11111" not in prompt
    stated = Source("memory", "your conversation of 1 December",
                    "You said: The new Wi-Fi password is blue-otter-2417.\nHearth said earlier: Noted.",
                    extra={"user_text": "You said: The new Wi-Fi password is blue-otter-2417."})
    plan = AnswerPlan.make("What is my Wi-Fi password?", [note, memory, stated], searched=True)
    prompt = plan.prompt([{"role": "user", "content": "What is my Wi-Fi password?"}])[-1]["content"]
    assert "You said: The new Wi-Fi" in prompt and "You said: What is" not in prompt
    assert "Noted." not in prompt  # what the user stated is kept, a past question is not
    # without documents either: an earlier answer is not a source for a fact
    alone = AnswerPlan.make("What is my Wi-Fi password?", [memory], searched=True)
    assert alone.not_found and not alone.memories
    prompt = alone.prompt([{"role": "user", "content": "What is my Wi-Fi password?"}])[-1]["content"]
    assert "11111" not in prompt
    told = AnswerPlan.make("What is my Wi-Fi password?", [memory, stated], searched=True)
    assert not told.not_found and [m.text for m in told.memories] == [stated.extra["user_text"]]
    # what was talked about (not a fact) may still recall the whole exchange, labelled
    recap = AnswerPlan.make("Summarise what we discussed about the Wi-Fi", [memory], searched=True)
    prompt = recap.prompt([{"role": "user", "content": "Summarise what we discussed about the Wi-Fi"}])[-1]["content"]
    assert "Hearth said earlier: It is 11111." in prompt
    # any other message does not get Hearth's earlier answer as its source ("How do I get my
    # laptop onto the home internet?" asked again, twelfth trial)
    again = Source("memory", "your conversation of 2 December",
                   "You said: How do I connect my laptop?\nHearth said earlier: Press the router's WPS button.",
                   extra={"user_text": "You said: How do I connect my laptop?"})
    assert not AnswerPlan.make("How do I connect my laptop?", [again], searched=True).memories
    assert AnswerPlan.make("What did we talk about last time?", [again], searched=True).memories


def test_the_supporting_sentence_is_marked() -> None:
    note = Source("document", "home.txt", NOTE, start=1000)
    plan = AnswerPlan.make("When is my dentist appointment?", [note], searched=True)
    (shown,) = plan.mark_evidence("Your appointment is on 14 March at 9:30.", "When is my dentist appointment?")
    ev = shown.extra["evidence"]
    assert ev["text"] == "Dentist: Next appointment: 14 March at 9:30."
    assert shown.text[ev["start"]:ev["end"]] == ev["text"]
    assert NOTE[ev["doc_start"] - 1000:ev["doc_end"] - 1000] == ev["text"]
    assert supporting_sentence("Bananas.", "When?", plan.evidence) is None


def test_a_passage_on_the_topic_but_not_the_question_is_not_an_answer() -> None:
    near = Source("document", "home.txt", NOTE)  # about the home network, not the mortgage
    plan = AnswerPlan.make("Which bank holds the mortgage on the house?", [near], searched=True)
    assert plan.not_found and not plan.evidence
    assert not AnswerPlan.make("Where is the router kept?", [near], searched=True).not_found


def test_answer_types_ask_for_the_right_kind_of_number() -> None:
    q = "How long does the warranty last?"
    assert answer_type_match(q, "The warranty lasts two years from delivery.")
    assert answer_type_match(q, "Cover runs for 24 months.")
    assert not answer_type_match(q, "The warranty was bought in 2021.")  # a year is not a duration
    assert answer_type_match("In what year was the boiler fitted?", "It was fitted in 2019.")
    assert not answer_type_match("In what year was the boiler fitted?", "It was fitted on 3/4.")
    assert answer_type_match("How many rooms are there?", "There are five rooms.")
    assert not answer_type_match("How many rooms are there?", "The rooms are large.")


def test_words_that_ocr_ran_together_still_count() -> None:
    scan = Source("document", "invoice.pdf", "INVOICE no 2021/05. Paymentdue: 2021-05-03. Total 120 EUR.")
    question = "When is the payment due?"
    assert coverage(question, select_evidence(question, [scan])) == 1.0
    assert not AnswerPlan.make(question, [scan], searched=True).not_found
    assert coverage("When is the rent due?", select_evidence("When is the rent due?", [scan])) < 1.0


def test_one_source_label_for_every_view() -> None:
    from desktop.core.sources import Source, source_label

    doc = Source("document", "report.pdf", "text", path="/home/ada/report.pdf", page=3, section="Results")
    assert source_label(doc) == "report.pdf, page 3, “Results”"
    assert source_label(doc.to_dict(), full_path=True, section=False) == "/home/ada/report.pdf, page 3"
    memory = Source("memory", "your conversation of 12 March", "text")
    assert source_label(memory) == "from your conversation of 12 March"
    assert source_label({"kind": "document", "title": "", "path": "/x/notes.md"}) == "notes.md"


def test_the_lemon_cake_how_long_question_gets_the_baking_line() -> None:
    """The trial's failure: the ingredients line ("baking powder", "lemons") and the
    heading ("Lemon cake") shared more words with the question than the baking line."""
    recipe = Source("document", "lemon-cake.txt", (
        "Lemon cake\n\nIngredients: 200 g flour, 1 tsp baking powder, 2 lemons, 3 eggs, 150 g sugar.\n"
        "Mix the butter and sugar, then add the eggs one by one.\nFold in the flour and the zest.\n"
        "Bake at 180 degrees Celsius for 35 minutes.\nLet it cool on a rack before icing."))
    question = "How long do I bake the lemon cake?"
    plan = AnswerPlan.make(question, [recipe], searched=True)
    assert not plan.not_found  # "lemon cake" is in the file's name; "long" is what is asked
    best = plan.evidence[0]
    assert recipe.text[best.best[0]:best.best[1]] == "Bake at 180 degrees Celsius for 35 minutes."
    elsewhere = Source("document", "garden.txt", "Water the tomatoes every evening in July.")
    assert AnswerPlan.make(question, [elsewhere], searched=True).not_found


def test_what_the_new_user_trial_got_wrong() -> None:
    """The third trial: a heading beat the password line; a fact was answered from an
    earlier turn of the chat; a made-up phone number was offered as general knowledge."""
    wifi = Source("document", "wifi.txt", "Home Wi-Fi\nNetwork name: BlueHeron-5G\nPassword: maple-Otter-4471")
    question = "What is my Wi-Fi password?"
    plan = AnswerPlan.make(question, [wifi], searched=True)
    best = plan.evidence[0]
    assert wifi.text[best.best[0]:best.best[1]] == "Password: maple-Otter-4471"
    history = [{"role": "system", "content": "Be brief."},
               {"role": "user", "content": "What is my car policy number?"},
               {"role": "assistant", "content": "The answer is: NBM-2291-77C."},
               {"role": "user", "content": question}]
    prompt = plan.prompt(history)
    assert [m["role"] for m in prompt] == ["system", "user"] and "NBM" not in str(prompt)
    assert "maple-Otter-4471" in prompt[-1]["content"]
    open_plan = AnswerPlan.make("Summarise my notes about the router", [wifi], searched=True)
    assert len(open_plan.prompt(history)) == 4  # a conversation keeps its turns
    nothing = Source("document", "garden.txt", "Water the tomatoes every evening in July.")
    plumber = AnswerPlan.make("What is the plumber's phone number?", [nothing], searched=True)
    assert plumber.not_found and not plumber.general
    assert AnswerPlan.make("Who wrote Hamlet?", [], searched=True).general
    # a passage of the files is about it, but none answers: the user's own thing (ninth trial)
    # ("what oil does the car take" got "Lavender" oil from general knowledge)
    car = Source("document", "car.md", "Car: 2017 Ford Focus\nMOT due 14 August 2024\n")
    oil = AnswerPlan.make("What oil does the car take?", [car], searched=True)
    assert oil.not_found and not oil.general
    born = AnswerPlan.make("What is the date of birth of Jonathan Michael Harrison?", [nothing], searched=True)
    assert born.not_found and not born.general  # someone's details: never from general knowledge
    # misspelt ("whats the gust wifi pasword" with no Wi-Fi note, eighth trial): still personal
    assert not AnswerPlan.make("whats the gust wifi pasword", [nothing], searched=True).general
    assert not AnswerPlan.make("whats the plumbers mobil", [nothing], searched=True).general
    assert AnswerPlan.make("Who wrote Hamlett?", [], searched=True).general


def test_a_labelled_line_that_answers_the_question_is_the_answer() -> None:
    from desktop.core.answering import labelled_value

    car = Source("document", "car-insurance.txt", "Car insurance (Northbridge Mutual)\nPolicy number: NBM-2291-77C\n"
                 "Renewal date: 9 September 2026\nAnnual premium: 612 euros")
    plumber = Source("document", "plumber.txt", "Plumber: Tomasz Wojcik, phone 07700 900123, comes on Fridays.")

    assert direct("When does my car insurance renew?", car) == "Renewal date: 9 September 2026"
    assert direct("What is my car insurance policy number?", car) == "Policy number: NBM-2291-77C"
    assert direct("When was the policy number issued?", car) == ""  # the line holds no date
    assert direct("What is the plumber's phone number?", plumber) == "07700 900123."  # the phone number, not the line
    assert direct("Summarise my car insurance", car) == ""  # not a factual question
    long_line = Source("document", "a.txt", "In general: there are three sectors of construction, buildings, "
                       "infrastructure and industrial, and each has its own firms and rules.")
    (ev,) = select_evidence("What are the sectors of construction?", [long_line])
    assert labelled_value("What are the sectors of construction?", ev) == ""  # a sentence with a colon


def test_a_sentence_that_states_the_value_asked_for_is_the_answer() -> None:
    """The built-in model answered "The side gate padlock code is a CR2032." from the line
    below, with its second sentence marked as the one that answers (twenty-first trial)."""
    gate = Source("document", "gate.txt",
                  "Garage door remote battery is a CR2032. The side gate padlock code is 5521.")
    assert direct("What is the side gate padlock code?", gate) == "5521."
    assert direct("What is the garage door remote battery?", gate) == "A CR2032."
    # a sentence whose subject is not all that is asked, or whose value is a long clause, is
    # left to the model
    assert direct("What is the front gate padlock code?", gate) == ""
    story = Source("document", "trip.txt", "The ferry to the island was late because the harbour "
                   "master had gone home early for his daughter's wedding.")
    assert direct("Why was the ferry to the island late?", story) == ""


def test_the_one_value_of_the_kind_asked_for_is_the_answer() -> None:
    """The trial's last wrong answer: "350 degrees Celsius" was written under "Bake at 180
    degrees Celsius for 35 minutes."  A typed question answered by the one value of its
    kind in the best sentence gets that value, without the model."""
    recipe = Source("document", "lemon-cake.txt", (
        "Lemon cake\n\nIngredients: 200 g flour, 1 tsp baking powder, 2 lemons, 3 eggs.\n"
        "Bake at 180 degrees Celsius for 35 minutes.\nLet it cool on a rack before icing."))
    dentist = Source("document", "dentist.txt", "Dr Okafor moved my check-up to Tuesday 14 April 2026 at 3:30 pm.")
    history = Source("document", "ford.txt", "Ford was appointed vice president by Nixon in 1973, after "
                     "Agnew resigned. He had served in the House for 25 years.")

    assert direct("What temperature do I bake the lemon cake at?", recipe) == "180 degrees Celsius."
    assert direct("How long do I bake the lemon cake?", recipe) == "35 minutes."
    assert direct("When is my dentist check-up?", dentist) == "14 April 2026 at 3:30 pm."
    assert direct("What time is my dentist check-up?", dentist) == "3:30 pm."
    # what something costs, labelled as a rate (twelfth trial: "$12 per hour" from the model)
    sitter = Source("document", "babysitter.txt", "Babysitter: Hannah Okafor\n"
                    "Rate: 12 pounds per hour, 15 after midnight.\nPhone: 07700 900 315\n")
    assert direct("How much does the babysitter charge?", sitter) == "Rate: 12 pounds per hour, 15 after midnight"
    # a time apart from the date goes with it ("10 May 2027." had dropped the time, twelfth trial)
    flight = Source("document", "lisbon-trip.md", "# Lisbon trip\n\nFlight back: TP1358, Monday 10 May 2027, departs 19:40\n")
    assert direct("When does my flight back from Lisbon leave?", flight) == "10 May 2027 at 19:40."
    assert direct("What time does my flight home from Lisbon leave?", flight) == "19:40."
    meeting = Source("document", "work.md", "# Work\nThe team meeting is in room 4 at 14:00 this week.\n")
    assert direct("When is the team meeting?", meeting) == "14:00."
    gym = Source("document", "gym.md", "# Gym\nMembership costs 34.99 pounds per month.\n")
    assert direct("When do I pay for the gym?", gym) == ""  # a price is no time of day
    # two times: the one of the clause asked about (the start time had been taken for
    # pick-up, the line given as "School starts at 8: 45 and ...", and the model had
    # answered the follow-up "And when is pick-up?" with "on Wednesdays", twelfth trial)
    school = Source("document", "school.md", "# School\nOscar's teacher is Mrs. Delaney.\n"
                    "School starts at 8:45 and pick-up is at 15:15.\n")
    assert direct("What time does school start?", school) == "8:45."
    assert direct("When is pick-up?", school) == "15:15."
    assert direct("And when is pick-up? (What time does school start?)", school) == "15:15."
    assert direct("What time do I pick Oscar up from school?", school) == "15:15."  # "school" names the file
    assert direct("What time is school pick-up?", school) == "15:15."  # thirteenth trial: "on Wednesdays"
    # the part of a labelled value asked about (thirteenth trial: "The rear tyre pressure is 14.")
    car = Source("document", "car.md", "# My car\nTyre pressures: front 33 psi, rear 30 psi\nMOT due: 14 August 2027\n")
    assert direct("What is the rear tyre pressure?", car) == "Tyre pressures: rear 30 psi"
    assert direct("What tyre pressure should the front tyres be?", car) == "Tyre pressures: front 33 psi"
    assert direct("What is the tyre pressure?", car) == "Tyre pressures: front 33 psi, rear 30 psi"
    assert direct("In what year was Ford appointed vice president?", history) == "1973."
    assert direct("How many years did Ford serve in the House?", history) == "25 years."
    car = Source("document", "car.txt", "The car is a blue 2016 Skoda Octavia, bought for 9,500 euros.")
    assert direct("What year was my car made?", car) == "2016."  # "year" is what is asked, not a word to find
    assert direct("How much did I pay for the car?", car) == "9,500 euros."
    # the model answers where the sentence holds no value of the kind, or several
    assert direct("Who appointed Ford vice president?", history) == ""  # names are not taken out
    assert direct("How many eggs and lemons go in the lemon cake?", recipe) == ""  # 2 and 3
    assert direct("How much did Nixon pay Ford in 1973?", history) == ""  # a year is not an amount
    assert direct("How often does the dentist see me?", dentist) == ""  # "every six months" > a number


def test_what_the_fourth_new_user_trial_got_wrong() -> None:
    """A recipe's list and a contacts note: the model was given the ingredients for the oven
    temperature, the first number of a list ("3" ripe bananas) for the flour, and both
    phone lines for the plumber's number, and wrote the electrician's."""
    bread = Source("document", "banana-bread.md", (
        "# Grandma's banana bread\n\nIngredients:\n- 3 ripe bananas\n- 250 grams of flour\n- 2 eggs\n"
        "- 80 grams of melted butter\n\nMix the wet ingredients, fold in the flour, pour into a loaf tin.\n"
        "Bake at 175 degrees Celsius for 55 minutes. Let it cool for 15 minutes before slicing.\n"))
    contacts = Source("document", "contacts.txt", (
        "Useful contacts\n\nPlumber: Marek Novak, phone 0176 5523 8841 (call before 8 am).\n"
        "Electrician: Sunita Rao, phone 0151 2290 4417.\nThe vet closes at 6 pm on Saturdays.\n"))

    assert direct("What oven temperature for the banana bread?", bread) == "175 degrees Celsius."
    assert direct("How much flour goes in the banana bread?", bread) == "250 grams of flour."
    assert direct("How many eggs are in the banana bread?", bread) == "2 eggs."
    assert direct("How long do I bake the banana bread?", bread) == "55 minutes."
    assert direct("What is the plumber's phone number?", contacts) == "0176 5523 8841."
    assert direct("What is the electrician's phone number?", contacts) == "0151 2290 4417."
    # a date is not a phone number, and a line with two numbers is left to the model
    assert direct("What is the phone number?", Source("document", "a.txt", "The phone number changed on 2021-05-03 to 0176 5523 8841.")) \
        == "0176 5523 8841."
    assert direct("What is the phone number?", Source("document", "b.txt", "Phone 0176 5523 8841 or 0151 2290 4417.")) == ""


def test_a_follow_up_question_carries_the_question_before_it() -> None:
    from desktop.core.answering import contextual_question

    assert contextual_question([]) == ""
    assert contextual_question(["Who is my dentist?"]) == "Who is my dentist?"
    for follow_up in ("What is her phone number?", "And the address?", "When is it due?", "When?",
                      "What about Tuesday?"):
        assert contextual_question(["Who is my dentist?", follow_up]) == f"{follow_up} (Who is my dentist?)"
    # a question with its own subject stands alone
    assert contextual_question(["Who is my dentist?", "What is my Wi-Fi password?"]) == "What is my Wi-Fi password?"
    long = "What is the name of the street where the clinic is that my dentist works at now?"
    assert contextual_question(["Who is my dentist?", long]) == long
    assert is_factual(contextual_question(["Who is my dentist?", "And her address?"]))
    # typed without question marks, the follow-up is still a question (seventh trial: "and the
    # password for it" after "whats the guest wifi called" got the network's name again)
    follow_up = contextual_question(["whats the guest wifi called", "and the password for it"])
    assert follow_up == "and the password for it? (what is the guest wifi called?)" and is_factual(follow_up)
    wifi = Source("document", "wifi.txt", "Guest network: Birchwood-Guest\nGuest password: rainyporch77\n")
    assert AnswerPlan.make(follow_up, [wifi], searched=True).direct == "Guest password: rainyporch77"


def test_a_scanned_forms_run_together_line_answers_a_date_question() -> None:
    # the scanned medical report as RapidOCR reads it: the model had answered "2024." for
    # "When was the patient born?" (the year of the patient ID line)
    from desktop.core.answering import answer_type

    page = Source("document", "report.pdf", "PATIENTINFORMATION\n"
                  "Patient Name: JonathanMichaelHarrison\n"
                  "DateofBirth: March15,1978 PrimaryPhysician:Dr.ElizabethWarren,MD\n"
                  "PatientID: PAT-3847-2024 Insurance: BlueCrossBlueShield\n", section="Page 1")
    assert answer_type("What is the patient's date of birth?") == "date"
    assert answer_type("When is the due date of the invoice?") == "date"
    for question in ("When was the patient born?", "What is the patient's date of birth?"):
        plan = AnswerPlan.make(question, [page], searched=True)
        assert not plan.not_found and plan.direct == "March15,1978.", question


def test_a_question_about_my_mother_is_not_answered_from_the_dentists_note() -> None:
    # fifth new-user trial: "What is my mother's phone number?" -> the dentist's number
    dentist = Source("document", "dentist.md", "# Dentist\n\nDr. Anna Kowalczyk at Bright Smile Dental.\n"
                     "Her phone number is 555-0142.\nNext appointment: 18 March at 9:30.")
    family = Source("document", "family.md", "# Family\n\nMum's birthday: 3 February. Her phone: 555-0199.")
    plan = AnswerPlan.make("What is my mother's phone number?", [dentist], searched=True)
    assert plan.not_found and not plan.direct
    plan = AnswerPlan.make("What is my mother's phone number?", [dentist, family], searched=True)
    assert [e.source.title for e in plan.evidence] == ["family.md"] and plan.direct == "555-0199."
    plan = AnswerPlan.make("What is my dentist's phone number?", [dentist, family], searched=True)
    assert plan.direct == "555-0142."


def test_the_fifth_trials_notes_give_their_own_values() -> None:
    # the model had answered "Thursday, July 15" beside "by Friday", and "300°C" beside "175"
    todo = Source("document", "work_todo.md", "# Work to-do\n\n- Send the quarterly report to finance by "
                  "Friday.\n- Finish the Q3 slides for Helen.\n- Book the supplier meeting.")
    bread = Source("document", "banana_bread.md", "# Banana bread\n\n3 ripe bananas, 250 g flour, 2 eggs.\n"
                   "Bake at 175 degrees Celsius for 60 minutes.")
    assert AnswerPlan.make("What is the quarterly report deadline?", [todo], True).direct == "Friday."
    assert AnswerPlan.make("What is the oven temperature for the banana bread?", [bread],
                           True).direct == "175 degrees Celsius."


def test_the_password_asked_for_is_the_one_after_its_own_name() -> None:
    # fifth new-user trial: "What is my Netflix password?" got the Gmail password
    accounts = Source("document", "accounts.txt", "Accounts\n\nGmail password is Sunflower!88\n"
                      "Netflix: user anna, password Movie-Night-7\n")
    gym = Source("document", "gym.txt", "Gym locker code at FitLine: 5820\nLocker number 112.")
    assert AnswerPlan.make("What is my Netflix password?", [accounts], True).direct == "Movie-Night-7"
    assert AnswerPlan.make("What is my Gmail password?", [accounts], True).direct == "Sunflower!88"
    assert AnswerPlan.make("What is my gym locker code?", [gym], True).direct == "Gym locker code at FitLine: 5820"


def test_an_answer_rests_on_its_quotes_when_it_says_something_they_hold() -> None:
    src = Source("document", "warsaw.txt", "In 1807 Napoleon created the Duchy of Warsaw, a French "
                 "client state, and the city was for a time the capital of a state allied with France.")
    quoted = select_evidence("When was the Duchy of Warsaw created?", [src])
    assert grounded("1807.", "When was the Duchy of Warsaw created?", quoted)
    assert grounded("Napoleon's Duchy.", "Who created the Duchy of Warsaw?", quoted)
    assert not grounded("The capital of France is Paris.", "What is the capital of France?", quoted)
    assert grounded("Yes, France.", "Was the capital allied with France?", quoted)  # nothing of its own but yes
    assert grounded("Paris.", "What is the capital of France?", [])  # nothing was quoted


def test_where_a_facts_answer_begins() -> None:
    q = "Who was appointed second in command in 1756?"
    assert preamble_length("The answer to the", q) is None  # not known yet
    assert preamble_length("The answer to the question is: Major General Abercrombie", q) == 31
    assert preamble_length("Answers vary between sources.", q) == 0
    assert preamble_length("Who was appointed", q) is None
    assert preamble_length("Who was appointed second in command in 1756? Abercrombie.", q) == 45
    assert preamble_length("From notes", q) is None
    assert preamble_length("From 1910 to 1920.", q) == 0
    assert preamble_length("Major General Abercrombie.", q) == 0


def test_numbers_and_names_an_answer_adds_to_its_quotes() -> None:
    # sixth new-user trial: "TSI" came back as "Tesla", 190 degrees as "450°C"
    car = select_evidence("Which car do I drive?", [Source("document", "car.md",
                          "# Car\n\nCar: 2019 Skoda Octavia Estate 1.5 TSI\nNext service: 12 May 2026")])
    assert unsupported_values("2019 Skoda Octavia Estate 1.5 Tesla", "Which car do I drive?", car) == ["Tesla"]
    assert unsupported_values("It is a 2019 Skoda Octavia Estate.", "Which car do I drive?", car) == []
    oven = select_evidence("How hot should the oven be?", [Source("document", "lasagne.md",
                           "Bake at 190°C for 40 minutes.")])
    assert unsupported_values("450°C (932°F).", "How hot should the oven be?", oven) == ["450", "932"]
    assert unsupported_values("Bake it at 190 degrees Celsius.", "How hot should the oven be?", oven) == []
    scan = select_evidence("When was the patient born?", [Source("document", "scan.pdf",
                           "DateofBirth: March15,1978. The fire destroyed 2,000 buildings.")])
    assert unsupported_values("On March 15, 1978; 2000 buildings.", "When was the patient born?", scan) == []
    assert unsupported_values("Paris.", "What is the capital?", []) == []  # nothing was quoted
    city = select_evidence("Where does Ania live?", [Source("document", "ania.md", "Ania lives in Kraków.")])
    assert unsupported_values("Ania lives in Łódź.", "Where does Ania live?", city) == ["Łódź"]
    assert unsupported_values("Ania lives in Kraków.", "Where does Ania live?", city) == []
    # a weekday is a value (eighth trial: an invented day had no warning)
    gym = select_evidence("When is my spin class?", [Source("document", "gym.txt",
                          "Classes: spin Tuesday 18:30, yoga Saturday 9:00")])
    assert unsupported_values("The spin class is only available on Wednesday at 9:00 AM.",
                              "When is my spin class?", gym) == ["Wednesday"]
    assert unsupported_values("The spin class is on Tuesday at 18:30.", "When is my spin class?", gym) == []


def test_the_sixth_trials_notes() -> None:
    lasagne = Source("document", "lasagne.md", "# Nonna's lasagne\n\n- 12 lasagne sheets\n"
                     "Brown mince with onion, simmer 40 min.\nBake at 190 degrees Celsius for 45 minutes.")
    # "how hot" asks for a fact (it was taken for a request to explain, and the model rambled)
    assert is_factual("How hot should the oven be for the lasagne?")
    assert direct("How hot should the oven be for the lasagne?", lasagne) == "190 degrees Celsius."
    misc = Source("document", "misc.md", "# Random stuff\n\nBike lock code: 3917\n"
                  "Library card number 2290 1184 5521")
    # "number" names the kind of answer: a note holding some other number does not answer
    assert AnswerPlan.make("What is my passport number?", [misc], searched=True).not_found
    assert not AnswerPlan.make("What is my library card number?", [misc], searched=True).not_found


def test_a_follow_up_asks_for_its_own_kind_of_value_from_its_own_line() -> None:
    from desktop.core.answering import contextual_question

    family = Source("document", "birthdays.txt", "Family birthdays & numbers\n\n"
                    "Sister Chloe - 9 November - 07700 900233\n"
                    "Grandma Rose - 14 June - landline 01632 960718\nnephew Oscar turns 6 on 30 April\n")
    phone = contextual_question(["When is Chloe's birthday?", "And her phone number?"])
    assert AnswerPlan.make(phone, [family], searched=True).direct == "07700 900233."  # was "9 November."
    birthday = contextual_question(["What is Grandma Rose's phone number?", "And when is her birthday?"])
    assert AnswerPlan.make(birthday, [family], searched=True).direct == "14 June."  # the model said 30 April


def test_an_amount_is_taken_from_a_line_of_several_by_what_it_counts() -> None:
    recipe = Source("document", "lasagne.md", "# Nonna's lasagne\n\n- 500 g beef mince, 1 onion, 2 garlic cloves\n"
                    "- béchamel: 50 g butter, 50 g flour, 600 ml milk, nutmeg\n- 150 g parmesan, 1 mozzarella\n")

    def direct(question: str) -> str:
        return AnswerPlan.make(question, [recipe], searched=True).direct

    assert direct("How much parmesan for the lasagne?") == "150 g parmesan."  # seventh trial: "150."
    assert direct("How much milk goes in the béchamel?") == "600 ml milk."  # the model said 150 ml
    assert direct("How many garlic cloves?") == "2 garlic cloves."


def test_a_notes_lines_are_its_sentences_and_its_abbreviations_answer() -> None:
    from desktop.core.words import sentence_spans

    packing = ("packing list - Lisbon trip 24-29 April\n\npassports!!\nlight rain jacket\n"
               "meds: antihistamines\nprinted hotel booking (Hotel Alfama Rosa)\n")
    lines = [packing[a:b] for a, b in sentence_spans(packing)]
    assert "meds: antihistamines" in lines and "light rain jacket" in lines  # was one "sentence"
    wrapped = ("The committee met on Tuesday and agreed that the new rules would apply from\n"
               "the first of May, after a vote.")
    assert len(sentence_spans(wrapped)) == 1  # a wrapped line goes on
    trip = Source("document", "packing-lisbon.txt", packing)
    car = Source("document", "car.md", "# Car\n\n2019 Skoda Octavia Estate 1.5 TSI, dark grey\n"
                 "Reg: KM19 XYT\nBought used in 2022 from Arnold Clark.\n")
    assert AnswerPlan.make("When is the Lisbon trip?", [trip], searched=True).direct == "24-29 April."
    assert AnswerPlan.make("What is my car's registration?", [car], searched=True).direct == "Reg: KM19 XYT"
    family = Source("document", "birthdays.txt", "Sister Chloe - 9 November - 07700 900233\n"
                    "Grandma Rose - 14 June - landline 01632 960718\n")
    assert AnswerPlan.make("What is Grandma Rose's landline?", [family], searched=True).direct == "01632 960718."
    # "make" names the kind of answer, as "year" does: the line labelled "Boiler" answers
    boiler = Source("document", "boiler.txt", "Boiler: Worcester Bosch Greenstar 30i, installed 2021.\n"
                    "Annual boiler service booked for 8 October 2026 with HeatRight (0161 555 0172).\n")
    assert AnswerPlan.make("What make is my boiler?", [boiler], searched=True).direct == (
        "Boiler: Worcester Bosch Greenstar 30i, installed 2021")
    # the model reads a note's line and the one after it, not the fact above it
    wifi = Source("document", "wifi.txt", "Guest network: Birchwood-Guest\nGuest password: rainyporch77\n\n"
                  "router admin is at 192.168.0.1, admin login on the sticker under the router\n")
    (window,) = AnswerPlan.make("what is the router admin address", [wifi], searched=True).evidence
    assert window.text.startswith("router admin is at 192.168.0.1") and "rainyporch77" not in window.text


def test_a_short_line_of_a_note_is_a_fact_not_a_heading() -> None:
    # "What am I allergic to?" was given the Lisinopril line (eighth trial): the allergy's
    # short line had counted as a heading, which only wins where no other line matches
    from desktop.core.answering import is_heading

    meds = ("My medications (updated March)\nLisinopril 10 mg - one in the morning, for blood pressure\n"
            "Vitamin D 1000 IU daily in winter\nAllergic to penicillin (rash)\nPharmacy: Boots on the High Street\n")
    src = Source("document", "medications.txt", meds)
    (window, *_) = AnswerPlan.make("What am I allergic to?", [src], searched=True).evidence
    assert window.text.startswith("Allergic to penicillin (rash)")
    lines = {meds[a:b]: is_heading(meds, a, b) for a, b in sentence_spans(meds)}
    assert lines["My medications (updated March)"] and not lines["Allergic to penicillin (rash)"]
    notes = "Intro line.\n\nHome Wi-Fi\nPassword: maple\n\n## Guest network\nName: Birch\n"
    spans = {notes[a:b].strip(): is_heading(notes, a, b) for a, b in sentence_spans(notes)}
    assert spans["Home Wi-Fi"] and spans["## Guest network"] and not spans["Password: maple"]


def test_an_item_of_a_list_is_quoted_without_the_next_item() -> None:
    # "Who wrote Piranesi?" got March's author from the next line (eighth trial)
    books = Source("document", "book-club.md", "# Book club\n\n- February: Piranesi - Susanna Clarke\n"
                   "- March: Lessons in Chemistry - Bonnie Garmus\n")
    (window,) = AnswerPlan.make("Who wrote Piranesi?", [books], searched=True).evidence
    assert window.text == "- February: Piranesi - Susanna Clarke"


def test_the_words_that_name_the_kind_of_answer_are_not_words_to_find() -> None:
    from desktop.core.words import asked_terms

    assert asked_terms("how old is oscar turning") == ["oscar", "turn"]
    assert asked_terms("What make is my boiler?") == ["boiler"]
    # eighth trial: "electrician phone" found nothing in "Electrician: Sparks & Sons, 0161 555 0128"
    assert asked_terms("electrician phone") == asked_terms("What is the electrician's phone number?") == ["electrician"]
    assert asked_terms("How much is the phone bill?") == ["phone", "bill"]  # there the phone is the topic


def test_check_out_is_not_check_in() -> None:
    # eighth trial: three ways of asking for check-out all got the check-in line ("out" was a
    # stop word, so both lines held only "check")
    villa = Source("document", "villa-booking.txt", "Booking confirmation - Villa Limonaia, Sorrento\n"
                   "Check-in: Saturday 14 August 2027 from 16:00\nCheck-out: Saturday 21 August 2027, by 10:00\n")
    for question in ("What time can we check out of the villa?", "When is check-out?"):
        assert AnswerPlan.make(question, [villa], searched=True).direct == "Check-out: Saturday 21 August 2027, by 10:00"


def test_an_answer_that_only_restates_the_question_says_nothing() -> None:
    from desktop.core.answering import empty_answer

    question = "what tyre pressure for the front tyres"
    assert empty_answer("What is the tyre pressure for the front tyres?", question)  # seventh trial
    assert empty_answer("", question) and empty_answer("From car.md:", question)
    assert not empty_answer("36 psi.", question)
    assert not empty_answer("Yes.", "Is the MOT due in September?")
    assert not empty_answer("No.", "Is the MOT due in September?")
    assert not empty_answer("No, it isn't.", "Is the MOT due in September?")
    # what is left of "The requested answer is: The" repeated (twelfth trial)
    assert empty_answer("The", "Which football team do I support?")
    assert not empty_answer("The front tyres take 36 psi.", question)


def test_a_question_naming_what_no_passage_names_is_not_found() -> None:
    # policy numbers of an insurance note under "What is my National Insurance number?"
    # got "1234567890" from the model (tenth new-user trial)
    insurance = Source("document", "insurance.md", "# Insurance policies\n\n- Car insurance: Admiral, "
                       "policy number ADM7743102\n- Home insurance: Aviva, policy number HM-55821-077\n")
    plan = AnswerPlan.make("What is my National Insurance number?", [insurance], searched=True)
    assert plan.not_found and not plan.evidence
    assert AnswerPlan.make("What is the Admiral policy number?", [insurance], searched=True).evidence
    assert AnswerPlan.make("What is the car insurance policy number?", [insurance], searched=True).evidence


def test_a_window_about_another_of_the_users_things_of_that_kind_does_not_answer() -> None:
    # "When is my hairdresser appointment?" with no note about a hairdresser got the
    # dentist's date (twelfth new-user trial)
    dentist = Source("document", "dentist.txt", "Dentist appointment\nMy dentist is Dr Helen Marsh.\n"
                     "Next check-up: Thursday 18 February 2027 at 10:15.\nPhone: 01632 960 447\n")
    for question in ("When is my hairdresser appointment?", "When is our next vet appointment?"):
        plan = AnswerPlan.make(question, [dentist], searched=True)
        assert plan.not_found and not plan.evidence and not plan.direct, question
    for question in ("When is my dentist appointment?", "When is my dental appointment?",
                     "When is my appointment?"):
        assert AnswerPlan.make(question, [dentist], searched=True).evidence, question
    # the other kind is named in the file's name only
    checkup = Source("document", "dentist-appointment.txt", "Next one: Thursday 18 February 2027 at 10:15.\n")
    assert AnswerPlan.make("When is my hairdresser appointment?", [checkup], searched=True).not_found
    assert AnswerPlan.make("When is my dentist appointment?", [checkup], searched=True).evidence


def test_a_phone_number_on_a_labelled_line_under_a_name_is_that_names() -> None:
    # "plumbers number" got the model's echo of the question (tenth new-user trial)
    plumber = Source("document", "plumber.txt", "Plumber: Dave Horrocks, DH Plumbing\nPhone: 07700 900 456\n"
                     "Charged £65 call-out last time.")
    todo = Source("document", "todo.md", "# To-do\n\n- [ ] Call plumber about dripping kitchen tap\n")
    assert AnswerPlan.make("plumbers number", [todo, plumber], searched=True).direct == "07700 900 456."
    # a line naming someone else ends what belongs to the name
    contacts = Source("document", "c.txt", "Plumber: Dave Horrocks\nElectrician: Sparks 07700 900 111\n")
    assert AnswerPlan.make("plumbers number", [contacts], searched=True).direct == ""


def test_a_lookup_typed_as_into_a_search_box_is_answered_as_a_question_when_the_files_hold_it() -> None:
    from desktop.core.answering import contextual_question, is_lookup

    misc = Source("document", "misc.md", "# Random stuff\n\nBike lock code: 3917\n"
                  "Cat (Pepper) vet is Greenfields Vets, booster jab due October.\n")
    landlord = Source("document", "landlord.txt", "Landlord: Mr. Dennis Okafor\nemail dennis.okafor@example.com\n"
                      "mobile 07700 900861\nRent £1,150 due on the 1st of each month, standing order.\n")
    plan = AnswerPlan.make("bike lock code", [misc], searched=True)
    assert plan.factual and plan.direct == "Bike lock code: 3917"  # the model had invented an e-mail address
    # the landlord's number is not the dentist's: not found, rather than the landlord's note
    # quoted to the model
    dentist = AnswerPlan.make("dentist phone number pls", [landlord], searched=True)
    assert dentist.not_found and not dentist.evidence
    # not held by the files: a message like any other, not "not found"
    chat = AnswerPlan.make("good book ideas", [misc], searched=True)
    assert not chat.factual and not chat.not_found and chat.evidence
    assert not AnswerPlan.make("good book ideas", [], searched=True).not_found
    # naming a value of the user's, found nowhere: "not found", and no general guess at it
    # (ninth trial: "gym cost" got an invented price)
    for sources in ([], [misc]):
        gym = AnswerPlan.make("gym cost", sources, searched=True)
        assert gym.factual and gym.not_found and not gym.general and not gym.evidence
    assert not AnswerPlan.make("gym cost", [], searched=False).not_found  # an empty library
    # what something costs is an amount: the price line, not the note's first line
    # (tenth trial: "Gym membership at PureFit Kingsway." was quoted to the model)
    gym_note = Source("document", "gym.txt", "Gym membership at PureFit Kingsway.\n"
                      "Monthly cost: £34.99, taken on the 5th of each month.\nMembership number: PF-308812\n")
    for question in ("gym cost", "What does the gym cost?"):
        assert "£34.99" in AnswerPlan.make(question, [gym_note], searched=True).direct
    for message in ("hello there", "thanks!", "Write a poem about cats", "Summarise my notes",
                    "I went to the shops today and bought some bread."):
        assert not is_lookup(message)
    # an e-mail address is a kind of value, without a full stop to copy with it
    email = contextual_question(["Who is my landlord?", "What is his email?"])
    assert AnswerPlan.make(email, [landlord], searched=True).direct == "dennis.okafor@example.com"
    assert AnswerPlan.make("landlord email", [landlord], searched=True).direct == "dennis.okafor@example.com"


def test_a_long_message_is_searched_with_its_questions_and_short_forms_are_read_whole() -> None:
    from desktop.core.answering import asked, contextual_question, read_as_note, respelled

    preamble = "I'm planning the next few weeks before the Lisbon trip and keep forgetting things. " * 6
    message = preamble + "Anyway. When is my dentist appointment? And what is their phone number? Thanks!"
    assert asked(message) == "When is my dentist appointment? And what is their phone number?"
    assert asked(preamble) == preamble.strip()  # no question: the whole message
    rambling = preamble + ("Okay so here is the actual question, sorry for all the rambling: the boiler is "
                           "knocking again and I think it counts as a repair, so what is the landlord's mobile "
                           "number so I can text him?")
    assert asked(rambling) == "what is the landlord's mobile number so I can text him?"
    assert asked("whats the guest wifi password") == "what is the guest wifi password"
    # an opening that is no part of the question (eleventh trial: "not found", as no note
    # holds "anyway")
    assert asked(preamble + "Anyway, what is the registration number of my car?") == (
        "what is the registration number of my car?")
    assert asked("By the way, whats the door code") == "what is the door code"
    assert asked("And her phone number?") == "And her phone number?"  # a follow-up stays one
    assert asked("wats the wifi pasword") == "what is the wifi pasword"  # not "pat" (tenth trial)
    assert asked("wat time is the dentist") == "what time is the dentist"
    assert asked("I wat to know") == "I wat to know"  # only a first "wat" asks
    assert asked("Whens the MOT due? Whose car is it?") == "When is the MOT due? Whose car is it?"
    assert is_factual(contextual_question(["whos my dentist"]))
    assert respelled("whats the gust wifi pasword", "whats the guest wifi password") == [
        ("gust", "guest"), ("pasword", "password")]
    assert respelled("What is the guest password?", "What is the guest password?") == []
    assert read_as_note([("gust", "guest")]) == "Searched your files reading “gust” as “guest”."


@pytest.mark.parametrize(("answer", "opened", "shown"), [
    ('The password is X."', "", "The password is X."),  # a closing quote that opened nothing
    ('"The password is X.', "", "The password is X."),  # an opening quote never closed
    ("“The door code is 4242.", "", "The door code is 4242."),
    ("The door code is 4242”.", "", "The door code is 4242."),
    ('"The password is X."', "", '"The password is X."'),  # a pair stays
    ("“The password is X.”", "", "“The password is X.”"),
    ('It is "X".', "", 'It is "X".'),
    ('Bob wrote "hi and left.', "", 'Bob wrote "hi and left.'),  # inside the text: not at an end
    ('4242".', '"', "4242."),  # after 'The answer is: "' (left out), its pair goes too
    ("4242” for the door.", "“", "4242 for the door."),
    ("4242'.", "'", "4242."),
    ("Bob's car.", "", "Bob's car."),  # apostrophes are not quotes
    ("", "", ""),
])
def test_a_quotation_mark_without_its_pair_at_an_end_is_left_out(answer: str, opened: str, shown: str) -> None:
    assert balance_quotes(answer, opened) == shown


def test_a_streamed_answer_shows_a_quotation_mark_once_its_pair_is_known() -> None:
    assert quotes_settled("The code is 42") == len("The code is 42")
    assert quotes_settled('The code is "') == len("The code is ")  # may yet end the answer
    assert quotes_settled('The code is "42') == len('The code is "42')  # inside: it stays either way
    assert quotes_settled('The code is "42" now') == len('The code is "42" now')
    assert quotes_settled('"The code') == 0  # it is left out unless something closes it
    assert quotes_settled('"The code" is') == len('"The code" is')
    assert quotes_settled('4242".', '"') == 4


def test_only_what_the_user_stated_is_offered_as_said_earlier() -> None:
    # a follow-up had shown the question before it as "You said: ..." (eighth trial)
    from desktop.core.answering import said_earlier

    asked = ["whats the wifi password", "wifi password", "Who is my landlord"]
    assert said_earlier("What is the wifi password for guests?", asked) == []
    assert said_earlier("What is his email?", asked) == []
    (stated,) = said_earlier("Who is my landlord?", ["landlord phone", "my landlord is Dennis Okafor"])
    assert stated.text == "You said: my landlord is Dennis Okafor"


def test_someones_number_is_their_phone_number() -> None:
    from desktop.core.answering import answer_type

    # "plumbers number" got the plumber's whole line, job notes and all (eighth trial)
    contacts = Source("document", "repair-contacts.txt",
                      "Home repair contacts\n\nPlumber: Dave Rennick - 07700 900 314 - fixed the boiler leak\n"
                      "Roofer: Hollis Roofing - 01632 960 119 - did the gutter in 2025, charged £340\n")
    for question in ("plumbers number", "What is the plumber's number?", "plumber number pls"):
        assert AnswerPlan.make(question, [contacts], searched=True).direct == "07700 900 314.", question
    assert AnswerPlan.make("whats the roofers number", [contacts], searched=True).direct == "01632 960 119."
    for question in ("policy number", "What is my house number?", "What was Manning's jersey number?"):
        assert answer_type(question) != "phone", question


def test_the_best_window_is_quoted_last_nearest_the_question() -> None:
    from desktop.core.answering import Evidence, grounded_messages

    best = Source("document", "best.txt", "The plague killed half of Paris's population.")
    other = Source("document", "other.txt", "The plague reached Italy in 1348.")
    windows = [Evidence(best, 0, len(best.text), (0, len(best.text)), 9.0),
               Evidence(other, 0, len(other.text), (0, len(other.text)), 8.0)]
    (message,) = grounded_messages([{"role": "user", "content": "How much of Paris died?"}], windows)
    content = message["content"]
    assert content.index("reached Italy") < content.index("half of Paris") < content.index("Question:")


def test_a_phone_number_on_the_line_indented_under_its_name_is_the_answer() -> None:
    # "What is my dentist's phone number?" got "123456789" (ninth trial): the number is on
    # the line under the dentist's, and the appointment's window was quoted first
    contacts = Source("document", "contacts.txt", "CONTACTS\n\nDr. Priya Raman - dentist, Lakeside Dental\n"
                      "  ph 0161 496 0732\n  email priya.raman@lakesidedental.co.uk\n\n"
                      "Plumber - Gary Holt  07700 900417\n")
    appointments = Source("document", "appointments.txt",
                          "upcoming appts\n\n- dentist checkup Tues 9 April 2024 at 10:15am (Dr Raman)\n")
    for question in ("What is my dentist's phone number?", "dentist phone"):
        plan = AnswerPlan.make(question, [appointments, contacts], searched=True)
        assert plan.direct == "0161 496 0732.", question
    assert AnswerPlan.make("dentist email", [contacts], searched=True).direct == "priya.raman@lakesidedental.co.uk"


def test_the_quoted_line_of_a_list_leaves_out_its_bullet() -> None:
    trip = Source("document", "lisbon_trip.md", "# Lisbon trip itinerary\n\n"
                  "- Flight out: TP1363 from Heathrow, Friday 7 May 2027, departs 07:15\n"
                  "- Hotel: Casa do Rio, Alfama, booking reference HX4471Q\n"
                  "- Flight back: TP1358, Monday 10 May 2027, departs 19:40\n")
    plan = AnswerPlan.make("Which flight brings me back?", [trip], searched=True)
    assert plan.quoted_sentence() == "Flight back: TP1358, Monday 10 May 2027, departs 19:40"


def test_a_list_kept_under_a_heading_that_names_what_is_asked_is_the_answer() -> None:
    # the model ignored the list and invented "toiletries, snacks, map" (eleventh trial)
    packing = Source("document", "packing_list.md", "# Packing list for Lisbon\n\n- passports\n"
                     "- phone chargers and a travel adaptor\n- sunscreen\n- walking shoes\n")
    trip = Source("document", "trip_lisbon.md", "# Lisbon trip, May 2027\n\n## Flights\n"
                  "- Out: TP1363, Friday 7 May 2027, departs 07:05\n")
    plan = AnswerPlan.make("What do I need to pack for Lisbon?", [trip, packing], searched=True)
    assert plan.direct == ("Packing list for Lisbon:\n- passports\n- phone chargers and a travel adaptor\n"
                           "- sunscreen\n- walking shoes")
    assert [ev.source.title for ev in plan.evidence] == ["packing_list.md"]
    # a typed question, or a heading that does not name what is asked: not the list
    assert "passports" not in AnswerPlan.make("When do I fly to Lisbon?", [trip, packing], searched=True).direct
    assert AnswerPlan.make("What do I need for the beach?", [packing], searched=True).direct == ""
    # a long marked heading is a heading too (twelfth trial: only the heading was answered)
    camping = Source("document", "packing-list-camping.md", "# Packing list for camping in the Lake District\n\n"
                     "- Tent and pegs\n- Sleeping bags (x2)\n")
    assert AnswerPlan.make("What do I need to pack for camping?", [camping], searched=True).direct == (
        "Packing list for camping in the Lake District:\n- Tent and pegs\n- Sleeping bags (x2)")


def test_an_age_a_title_and_a_who_answer_that_names_no_one() -> None:
    """Eleventh trial: "how old will alfie be" got "9 years old" (his birthday is the 9th),
    "What time does my flight to Lisbon leave?" got the title's "May 2027", and "Who keeps
    a spare house key?" got "The recycling bin keeps a spare house key."."""
    from desktop.core.answering import names_someone, select_evidence

    birthdays = Source("document", "family_birthdays.txt",
                       "Family birthdays\n\nNephew Alfie - 9 November (turns 7 this year)\nGrandma Edith - 30 January\n")
    assert direct("how old will alfie be", birthdays) == "7."
    trip = Source("document", "trip_lisbon.md", "# Lisbon trip, May 2027\n\n## Hotel\nHotel Alfama Azul.\n")
    assert direct("What time does my flight to Lisbon leave?", trip) == ""
    bins = Source("document", "bins_and_neighbours.txt",
                  "Recycling (blue bin) every other week.\nNeighbour at number 14 is Margaret, she keeps a spare house key.")
    question = "Who keeps a spare house key?"
    evidence = select_evidence(question, [bins])
    assert not names_someone("The recycling bin keeps a spare house key.", question, evidence)
    assert names_someone("Margaret keeps a spare house key.", question, evidence)
    assert names_someone("Your neighbour Margaret does.", question, evidence)


def test_a_phone_number_email_or_id_that_no_quote_holds_is_not_found() -> None:
    # twelfth trial: "2" for a passport number, "27 June" for a phone number, a phone number
    # for an e-mail address
    todo = Source("document", "todo.txt", "To do this week\n1. Renew passport (form on the table)\n"
                  "2. Call the council about the bins\n")
    birthdays = Source("document", "birthdays.txt", "Family birthdays\n\nSister Nadia - 27 June\n")
    vet = Source("document", "vet.txt", "Pets\nOur cat is called Biscuit.\nVet: Greenway Vets, 01632 960 882.\n")
    assert AnswerPlan.make("What is my passport number?", [todo], searched=True).not_found
    assert AnswerPlan.make("What is my sister Nadia's phone number?", [birthdays], searched=True).not_found
    assert AnswerPlan.make("What is the vet's email address?", [vet], searched=True).not_found
    assert not AnswerPlan.make("What is the vet's phone number?", [vet], searched=True).not_found
    gym = Source("document", "gym.txt", "Gym membership\nMy membership number is PF-20931.\n")
    assert not AnswerPlan.make("What is my gym membership number?", [gym], searched=True).not_found


def test_a_question_naming_its_own_subject_is_no_follow_up_and_advice_is_not_read_from_files() -> None:
    from desktop.core.answering import contextual_question

    # "8812." (the Wi-Fi password's end) for "Who cleans our windows and how much does he
    # charge?", searched with the Wi-Fi question before it (twelfth trial)
    assert contextual_question(["What is the wifi password?", "Who cleans our windows and how much does he charge?"]) \
        == "Who cleans our windows and how much does he charge?"
    assert contextual_question(["Who is our babysitter?", "How much does she charge after midnight?"]) \
        == "How much does she charge after midnight? (Who is our babysitter?)"
    # "Sleeping better in the Lake District" from a camping list's "Sleeping bags"
    camping = Source("document", "packing-list-camping.md", "# Packing list for camping\n\n- Sleeping bags (x2)\n- Tent\n")
    assert AnswerPlan.make("Give me three tips for sleeping better", [camping], searched=True).evidence == []
    assert AnswerPlan.make("Give me some ideas for what I should pack for camping", [camping], searched=True).evidence


def test_what_the_user_said_about_someone_else_does_not_answer() -> None:
    # "What is my cat's name?" got "Your daughter's name is Ava." (thirteenth trial)
    said = "You said: My daughter's name is Ava."
    memory = Source("memory", "your conversation of 5 December", said + "\nHearth said earlier: Noted.",
                    extra={"user_text": said})
    assert AnswerPlan.make("What is my cat's name?", [memory], searched=True).not_found
    assert AnswerPlan.make("What's my daughter's name?", [memory], searched=True).memories


def test_a_request_is_not_a_statement_to_remember() -> None:
    from desktop.core.answering import is_statement
    from desktop.core.words import asked_terms

    for request in ("Summarise my car notes", "Please summarize the Lisbon trip", "Tell me about my car",
                    "Can you list my passwords", "Give me the plumber's number"):
        assert not is_statement(request), request
    for said in ("My favourite football team is Leeds United", "Ava's swimming lesson is on Wednesdays at 5pm"):
        assert is_statement(said), said
    # what a request is for is not its topic
    assert asked_terms("Summarise my car notes") == asked_terms("What do my notes say about the car?") == ["car"]
    # "where ... located": the passage says where it is (squad-a: the Congress Hall's passage
    # was dropped for lacking "located")
    assert asked_terms("Where is the Congress Hall located?") == ["congress", "hall"]
    assert "locat" in asked_terms("How far from the Yard is the Quad located?")


def test_a_fact_the_user_tells_is_acknowledged_as_told() -> None:
    from desktop.core.answering import acknowledgement, is_statement

    # the built-in model answered it with "Incorrect usage of 'w' in apostrophe..." (twelfth trial)
    told = "By the way, my favourite football team is Bristol Rovers."
    assert acknowledgement(told) == "Noted: your favourite football team is Bristol Rovers."
    plan = AnswerPlan.make(told, [], searched=True)
    assert plan.opening() == ("Noted: your favourite football team is Bristol Rovers.", False)
    assert plan.opening(fresh=False)[1]  # Regenerate asks the model
    # without a full stop it still tells (it is remembered as something the user said)
    assert is_statement("My daughter's name is Ava")
    assert acknowledgement("My daughter's name is Ava") == "Noted: your daughter's name is Ava."
    for other in ("What is my favourite football team?", "my dentist phone number", "My boss was rude to me today.",
                  "our wifi password is tiger-55", "Summarise my car notes", "My car is making a noise, why?"):
        assert acknowledgement(other) == "", other


def test_what_a_request_adds_to_its_passages_is_named_for_checking() -> None:
    # "Summarise my car notes" got "a classic British sports car" with no warning, and the
    # warning under another named a list's numerals "1", "2" (twelfth trial)
    car = Source("document", "car.md", "# My car\nMake and model: Skoda Octavia Estate, 2019, dark grey.\n"
                 "Registration: LK19 XPD\nMOT due: 12 April 2027.\nOil type: 5W-30 fully synthetic.\n")
    plan = AnswerPlan.make("Summarise my car notes", [car], searched=True)
    invented = ("The car notes are: 1. A Skoda Octavia Estate, 2019, a classic British sports car with "
                "advanced technology. 2. The MOT is due on 12 April 2027.")
    assert plan.unsupported(invented, "Summarise my car notes") == ["British", "classic", "sports", "advanced",
                                                                    "technology"]
    faithful = ("Your car is a dark grey 2019 Skoda Octavia Estate, registration LK19 XPD; its MOT is due "
                "on 12 April 2027 and it takes fully synthetic 5W-30 oil.")
    assert plan.unsupported(faithful, "Summarise my car notes") == []
    vague = "My car notes hold vehicle details, maintenance records (MTR) and service reports."
    assert "MTR" in plan.unsupported(vague, "Summarise my car notes")  # an acronym at any length


# Thirteenth new-user trial: a reference, an address, two questions in one, a reading.
TRIP = Source("document", "edinburgh-trip.md", "# Edinburgh trip, April 2027\n\n## Hotel\n"
              "Hotel: The Thistle Court, 8 Royal Terrace. Booking reference HTC-44719. Check-in from 15:00.")
LANDLORD = Source("document", "landlord.txt", "Landlord\n\nLandlord: Mr Peter Vance\nPhone: 0161 496 0733\n"
                  "Rent: 1,150 pounds per month, paid on the 1st of each month by standing order.\n"
                  "Deposit held with the DPS, reference DPS-302948.")
SITTER = Source("document", "babysitter.txt", "Babysitter\n\nOur babysitter is Megan Ford.\n"
                "Her rate is 12 pounds per hour.\nMegan's mobile: 07700 900 312")


def test_an_identifier_asked_for_is_the_one_named_so() -> None:
    # the hotel's sentence matched best; its address had been given as the reference
    assert direct("What is the hotel booking reference for Edinburgh?", TRIP) == "HTC-44719"
    assert direct("What is the deposit reference number?", LANDLORD) == "DPS-302948"
    assert direct("What is my passport number?", TRIP) == ""  # no passport in it: not the booking's


def test_a_postal_address_is_a_kind_of_value() -> None:
    from desktop.core.answering import answer_type
    from desktop.core.words import asked_terms

    assert answer_type("What is the babysitter's home address?") == "address"
    assert answer_type("What is my email address?") == "email"
    assert answer_type("What is the router admin address?") is None
    assert answer_type("Where did Lincoln give the Gettysburg Address?") is None  # a speech
    assert asked_terms("What is the hotel's address?") == ["hotel"]  # notes seldom say "address"
    # a note that names the babysitter but no address: not found, not her name as the address
    plan = AnswerPlan.make("What is the babysitter's home address?", [SITTER], searched=True)
    assert plan.not_found and not plan.evidence
    assert direct("What is the hotel's address?", TRIP) == "Hotel: The Thistle Court, 8 Royal Terrace"
    clinic = Source("document", "Dentist.md", "# Dentist\n\nDr. Alvarez, Elm Street clinic. Next check-up on 14 March.")
    assert direct("What is the dentist's address?", clinic) == "Elm Street."  # a street, named so
    # (the model had answered "The dentist's address is 14 March at 9:30")
    home = Source("document", "contacts.txt", "Megan Ford, babysitter. Address: Flat 2, Kings House, Leeds.")
    assert not AnswerPlan.make("What is Megan's address?", [home], searched=True).not_found  # as labelled


def test_two_questions_in_one_get_the_whole_line() -> None:
    from desktop.core.answering import answer_type, asks_two_things

    question = "How much is the rent and when do I pay it?"
    assert asks_two_things(question) and answer_type(question) is None
    # a clause before the question is no question of its own (squad-a)
    assert not asks_two_things("Prior to Super Bowl 50, when were the Carolina Panthers last there?")
    # "1,150 pounds." had dropped the day it is paid
    assert direct(question, LANDLORD) == ("Rent: 1,150 pounds per month, paid on the 1st of each month "
                                          "by standing order")
    assert direct("How much is the rent?", LANDLORD) == "1,150 pounds per month."  # one question: its value


def test_a_reading_is_taken_with_its_unit_from_the_line_that_names_it() -> None:
    report = Source("document", "medical-report.pdf", "Blood pressure slightly elevated today.\n\n"
                    "VITAL SIGNS\nBlood Pressure 142/88 mmHg 120/80 mmHg ELEVATED\nHeart Rate 78 bpm 60-100 bpm NORMAL")
    # the model had answered "elevated", from the summary's sentence
    assert direct("What was the patient's blood pressure in the medical report?", report) == "142/88 mmHg."
    assert direct("What is my heart rate?", report) == "78 bpm."


# Fourteenth new-user trial.
def test_whose_address_is_asked_counts() -> None:
    dentist = Source("document", "dentist.txt", "Dentist: Dr. Priya Raman\nAddress: 22 Mill Lane, Hexford HX4 7QP\n"
                     "Phone: 01632 960 418")
    sitter = Source("document", "babysitter.txt", "Babysitter\nOur babysitter is Chloe Marsh. She charges 12 pounds an hour.")
    # the dentist's address had been given as the babysitter's
    plan = AnswerPlan.make("What is the babysitter's address?", [dentist, sitter], searched=True)
    assert plan.not_found and not plan.evidence
    assert direct("What is the dentist's address?", dentist) == "Address: 22 Mill Lane, Hexford HX4 7QP"


def test_a_markdown_heading_with_a_year_is_a_heading() -> None:
    from desktop.core.answering import is_heading

    trip = ("# Porto trip, April 2027\n\n## Flights\n- Outbound: EZY6291, Friday 16 April 2027, departs Bristol 07:05\n"
            "- Return: EZY6292, Tuesday 20 April 2027, departs Porto 11:50\n")
    assert is_heading(trip, 0, len("# Porto trip, April 2027"))
    (ev,) = select_evidence("What flight do I take home from Porto?", [Source("document", "porto-trip.md", trip)])
    # the trip's title had been the answer
    assert trip[ev.best[0]:ev.best[1]] == "- Return: EZY6292, Tuesday 20 April 2027, departs Porto 11:50"


def test_what_something_costs_is_the_amount_of_money() -> None:
    piano = Source("document", "piano-lessons.txt", "Maya's piano teacher is Mrs. Ingrid Solberg.\n"
                   "Lessons are on Wednesdays at 4:30pm and cost 28 pounds each.")
    assert direct("How much do Maya's piano lessons cost?", piano) == "28 pounds each."  # not "4"


def test_a_name_asked_for_ranks_the_line_that_names_someone() -> None:
    todo = Source("document", "todo.md", "# To do\n- Pay the window cleaner (18 pounds)\n- Book the MOT")
    cleaner = Source("document", "window-cleaner.txt", "Window cleaner\nOur window cleaner is Dave Holt. "
                     "He comes every fourth Wednesday.")
    best = select_evidence("What is the window cleaner's name?", [todo, cleaner])[0]
    assert best.source.title == "window-cleaner.txt"  # the to-do line had been the answer


def test_two_questions_answered_from_two_lines_get_both() -> None:
    from desktop.core.answering import question_parts

    assert question_parts("What's my gym membership number and when is Oscar's birthday?") == \
        ["What's my gym membership number?", "When is Oscar's birthday?"]
    assert question_parts("Who is my dentist and what is her phone number?") == \
        ["Who is my dentist?", "What is her phone number? (Who is my dentist?)"]  # as a follow-up
    gym = Source("document", "gym.txt", "I go to PulseFit on Station Road.\nMembership number: PF-0098123")
    todo = Source("document", "todo.md", "# To do\n- Buy birthday present for Oscar\n- Book the MOT")
    birthdays = Source("document", "birthdays.md", "# Birthdays\n- Nephew Oscar: 9 November\n- Mum: 2 March")
    # the birthday alone had been the answer (fourteenth trial); a to-do line named Oscar first
    assert direct("When is Oscar's birthday?", todo) == ""
    plan = AnswerPlan.make("What's my gym membership number and when is Oscar's birthday?",
                           [gym, todo, birthdays], searched=True)
    assert plan.direct == "Membership number: PF-0098123\n\nNephew Oscar: 9 November"
    assert [ev.source.title for ev in plan.evidence] == ["gym.txt", "birthdays.md"]
    marked = [s.extra["evidence"]["text"] for s in plan.mark_evidence(plan.direct, "q")]  # each in bold
    assert marked == ["Membership number: PF-0098123", "- Nephew Oscar: 9 November"]
    codes = Source("document", "wifi-and-codes.txt", "Wi-Fi password: plum-Kestrel-8823\nFront door keypad code: 4716")
    assert direct("What is the wifi password and what is the front door code?", codes) == \
        "Wi-Fi password: plum-Kestrel-8823\n\nFront door keypad code: 4716"  # the code alone before
    # one line that answers both stays whole
    assert direct("How much is the rent and when do I pay it?", LANDLORD).startswith("Rent: 1,150 pounds per month, paid")


# Fifteenth new-user trial.
def test_whose_phone_number_or_reference_is_asked_counts() -> None:
    dentist = Source("document", "dentist.txt", "Dentist: Dr. Amara Okafor\nPhone: 01632 960 418\n"
                     "Address: 22 Mill Lane, Hexford HX4 7QP")
    sitter = Source("document", "babysitter.txt", "Babysitter\nOur babysitter is Chloe Marsh. She charges 12 "
                    "pounds an hour, 15 after midnight.\nHer mobile: 07700 900 384")
    plumber = Source("document", "plumber.txt", "Plumber: Dave Horrocks\nAddress: 7 Kingfisher Close, Hexford HX2 3LD")
    # the dentist's "Phone:" line matched best and had been given as the babysitter's
    assert AnswerPlan.make("What is the babysitter's phone number?", [dentist, sitter], searched=True).direct == \
        "07700 900 384."
    assert AnswerPlan.make("What is the plumber's address?", [dentist, plumber], searched=True).direct == \
        "Address: 7 Kingfisher Close, Hexford HX2 3LD"  # not one made of both
    porto = Source("document", "porto-trip.md", "## Hotel\n- Hotel Ribeira Azul - booking reference RBZ-77310")
    cornwall = Source("document", "cornwall-holiday.md", "# Cornwall holiday\n- Booking reference: CWL-55812")
    assert AnswerPlan.make("What is the Cornwall cottage booking reference?", [porto, cornwall],
                           searched=True).direct == "CWL-55812"
    packing = Source("document", "packing-porto.md", "# What to pack for Porto\n\n- Passport\n"
                     "- Euro cash (about 150 EUR)\n- Travel adapter (type F)")
    # the packing list had been the answer
    assert AnswerPlan.make("What is my passport number?", [packing], searched=True).not_found


def test_a_part_of_two_questions_without_a_value_gets_its_sentence() -> None:
    dentist = Source("document", "dentist.txt", "My dentist is Dr. Amara Okafor at Riverside Dental Practice.\n"
                     "Phone: 01632 960 418")
    # the dentist's name had been left out
    assert direct("Who is my dentist and what is her phone number?", dentist) == \
        "My dentist is Dr. Amara Okafor at Riverside Dental Practice.\n\n01632 960 418."


# Sixteenth session: the fifteenth trial's two-part questions.
def test_a_second_thing_asked_without_a_question_word_is_a_question_of_its_own() -> None:
    from desktop.core.answering import question_parts

    assert question_parts("What is the wifi password and the door code?") == \
        ["What is the wifi password?", "What is the door code?"]
    assert question_parts("What is her phone number and her address? (Who is my dentist?)") == \
        ["What is her phone number? (Who is my dentist?)", "What is her address? (Who is my dentist?)"]
    for one in ("What is the difference between the wifi password and the door code?",
                "What is the name and the address of the plumber?",
                "What is the relationship between Tesla and the Edison company?"):
        assert question_parts(one) == [one]
    codes = Source("document", "wifi-and-codes.txt", "Wi-Fi password: plum-Kestrel-8823\nAlarm PIN: 2291\n"
                   "Front door keypad code: 4716")
    # only the code had been given (fourteenth trial)
    assert direct("What is the wifi password and the door code?", codes) == \
        "Wi-Fi password: plum-Kestrel-8823\n\nFront door keypad code: 4716"


def test_two_answers_from_one_window_show_it_once_with_both_lines_marked() -> None:
    vet = Source("document", "vet.txt", "Biscuit's vet is Oakfield Veterinary Clinic.\n"
                 "Booster vaccination due in October.\nBiscuit eats 2 scoops of food twice a day.")
    question = "What's the vet's name and when is Biscuit's booster due?"
    plan = AnswerPlan.make(question, [vet], searched=True)
    # the model had answered "October" for both (fifteenth trial): a month alone is a date
    assert plan.direct == "Oakfield Veterinary Clinic.\n\nOctober."  # each part's value
    (shown,) = plan.mark_evidence(plan.direct, question)
    assert shown.extra["evidence"]["text"] == ("Biscuit's vet is Oakfield Veterinary Clinic.\n"
                                               "Booster vaccination due in October.")


def test_a_scanned_forms_field_answers_what_its_label_names() -> None:
    # the OCR'd medical report of ../shared/data/docs: several fields on a line, noise after
    report = Source("document", "pdf_scanned_image-only_medical-report.pdf",
                    "SEATTLE GENERAL HOSPITAL\nDepartment of Internal Medicine\nCOMPREHENSIVE MEDICAL REPORT\n"
                    "Report ID: MEDRPT-2024-PAT-3847 Date of Service: October 28,2024\nPATIENT INFORMATION\n"
                    "Patient Name: Jonathan Michael Harrison B目期sici细er: A P检zeB0含ie MEolicy #BCB-44\n"
                    "Date of Birth: March 15,1978 Primary Physician: Dr. Elizabeth Warren, MD\n"
                    "PatientID: PAT-3847-2024 Insurance: Blue Cross Blue Shield")
    # "Department of Internal Medicine" had matched "Who is the patient in the medical report?" best
    assert direct("Who is the patient in the medical report?", report) == "Patient Name: Jonathan Michael Harrison"
    assert direct("Who is the primary physician?", report) == "Primary Physician: Dr. Elizabeth Warren, MD"
    assert direct("What is the patient's insurance?", report) == "Insurance: Blue Cross Blue Shield"
    assert direct("What is the report ID?", report) == "Report ID: MEDRPT-2024-PAT-3847"  # not the next field
    plan = AnswerPlan.make("Who is the patient?", [report], searched=True)
    (shown,) = plan.mark_evidence(plan.direct, "Who is the patient?")
    assert shown.extra["evidence"]["text"] == "Patient Name: Jonathan Michael Harrison"  # not the noise after
    # a field whose label is not what is asked answers nothing
    assert form_field("What is the patient's blood type?", [report]) is None
    # the letterhead names the hospital ("Department of Internal Medicine" had been quoted;
    # the file's name says "report", so "Report ID" is no answer)
    assert direct("Which hospital wrote the medical report?", report) == "SEATTLE GENERAL HOSPITAL"


def test_an_invoices_number_and_due_date_in_another_language() -> None:
    invoice = Source("document", "faktura.pdf", "Faktura nr FV 1/2021\nData wystawienia: 2021-04-26 "
                     "Data sprzedaży: 2021-04-26\nTermin płatności: 2021-05-03 Metoda płatności: przelew")
    assert direct("What is the invoice number?", invoice) == "FV 1/2021"
    # "FV 1/2021" holds no year of its own: it had been the answer "2021."
    assert direct("When is the invoice due?", invoice) == "2021-05-03."
    # beside a note that is due too: the passage that names the invoice, two lines above its
    # due date, answers (the note's "October." had been the answer, twenty-first trial)
    boiler = Source("document", "boiler.txt", "The boiler service is due in October. Last service was done "
                    "by Gasworks Ltd.")
    plan = AnswerPlan.make("When is the invoice due?", [boiler, invoice], searched=True)
    assert plan.direct == "2021-05-03." and plan.evidence[0].source is invoice


def test_the_twenty_second_trials_notes() -> None:
    # the file's name and heading say what the passwords are of: both lines, the main first
    # (the guest network's alone had been the answer: its sentence is nearer in meaning)
    wifi = Source("document", "wifi.txt", "Home Wi-Fi\nNetwork: HollyLane-5G\nPassword: copper-Finch-2290\n"
                  "Guest network password: sunnyday77")
    assert direct("What is the Wi-Fi password?", wifi) == ("Password: copper-Finch-2290\n\n"
                                                           "Guest network password: sunnyday77")
    # a day of the month is no amount ("4." had been the answer)
    body = Source("document", "roof-quote.eml", "Thanks for having us round on Monday. The roofer, Dave, can "
                  "start on 4 January if you accept the quote.")
    assert not answer_type_match("How much is the roof quote?", body.text)
    assert direct("How much is the roof quote?", body) == ""
    # the passage that names the invoice answers, though a note's English line is nearer in
    # meaning to the question ("11 April 2027." had been the answer)
    car = Source("document", "car.md", "# Car\n\nRegistration: KP18 XZT\nMOT due: 11 April 2027")
    invoice = Source("document", "faktura.pdf", "Faktura nr FV 1/2021\nData wystawienia: 2021-04-26 "
                     "Data sprzedaży: 2021-04-26\nTermin płatności: 2021-05-03 Metoda płatności: przelew")

    def nearer_in_english(question: str, texts: Sequence[str]) -> list[float]:
        return [0.45 if "MOT" in t else 0.15 for t in texts]

    plan = AnswerPlan.make("When is the invoice due?", [car, invoice], searched=True, similarity=nearer_in_english)
    assert plan.direct == "2021-05-03." and plan.evidence[0].source is invoice
    # another thing's code is no answer ("5521" of the side gate's padlock had been given)
    codes = Source("document", "house-codes.md", "# House codes\n\n- Front door keypad: 4816\n\n"
                   "Garage door remote battery is a CR2032. The side gate padlock code is 5521.")
    bike = AnswerPlan.make("What is the bike lock code?", [codes], searched=True)
    assert bike.not_found and not bike.direct
    assert direct("What is the side gate padlock code?", codes) == "5521."
    # the rate once, where the question says "per hour" too ("11 pounds an hour an hour.")
    sitter = Source("document", "babysitter.txt", "Babysitter: Chloe Price\nRate: 11 pounds an hour, 14 after "
                    "midnight.\nChloe's phone number: 07700 900 312")
    assert direct("How much do I pay the babysitter per hour?", sitter) == "11 pounds an hour."
    # a to-do list's line answers neither a number nor a price ("[ ] Renew passport (expires 3
    # February 2027)" and "[x] Pay council tax" had been the answers)
    todo = Source("document", "todo.md", "# To do\n\n- [ ] Renew passport (expires 3 February 2027)\n"
                  "- [ ] Book boiler service\n- [x] Pay council tax\n")
    assert AnswerPlan.make("What is my passport number?", [todo], searched=True).not_found
    assert AnswerPlan.make("How much is the council tax?", [todo], searched=True).not_found
    plan = AnswerPlan.make("When is the MOT due?", [car, invoice], searched=True, similarity=nearer_in_english)
    assert plan.direct == "MOT due: 11 April 2027"  # the note's own line


def test_a_quotes_reference_is_the_identifier_after_reference() -> None:
    quote = Source("document", "roof_quote.pdf", "Roof repair quote total: 2,340 pounds including VAT. "
                   "Quote reference RQ-7781.")
    assert direct("What is the roof quote reference?", quote) == "RQ-7781"  # twenty-first trial


def test_the_flight_asked_for_goes_the_way_asked() -> None:
    trip = Source("document", "porto-trip.md", "# Porto trip, April 2027\n\n## Flights\n"
                  "- Outbound: EZY6291, Friday 16 April 2027, departs Bristol 07:05\n"
                  "- Return: EZY6292, Tuesday 20 April 2027, departs Porto 11:50\n\n## Hotel\n"
                  "- Hotel Ribeira Azul, Rua da Alfandega 41, Porto - booking reference RBZ-77310")
    # the return line, the one that names Porto, had been the answer (fifteenth trial)
    assert direct("When does my flight to Porto leave?", trip) == "16 April 2027 at 07:05."
    best = select_evidence("What flight do I take to Porto?", [trip])[0]
    assert "Outbound" in trip.text[best.best[0]:best.best[1]]  # under "## Flights"
    assert direct("When does my flight home from Porto leave?", trip) == "20 April 2027 at 11:50."


def test_a_regenerated_answer_to_two_questions_is_flagged_only_when_it_leaves_a_value_out() -> None:
    codes = Source("document", "wifi-and-codes.txt", "Wi-Fi password: plum-Kestrel-8823\nFront door keypad code: 4716")
    plan = AnswerPlan.make("What is the wifi password and the front door code?", [codes], searched=True)
    assert plan.direct == "Wi-Fi password: plum-Kestrel-8823\n\nFront door keypad code: 4716"
    # every Regenerate of a two-part answer had carried the warning
    assert not plan.departs_from_direct("The password is plum-Kestrel-8823 and the code is 4716.")
    assert plan.departs_from_direct("The password is plum-Kestrel-8823 and the code is 2580.")


def test_an_amount_of_money_keeps_what_it_is_paid_per() -> None:
    sitter = Source("document", "babysitter.txt", "Babysitter\nOur babysitter is Chloe Marsh. She charges 12 pounds "
                    "an hour, 15 after midnight.\nHer mobile: 07700 900 384")
    assert direct("How much does the babysitter charge?", sitter) == "12 pounds an hour."  # "12 pounds." before


def test_two_codes_that_both_answer_are_both_given() -> None:
    codes = Source("document", "wifi-and-codes.txt", "Home codes\n\nWi-Fi password: plum-Kestrel-8823\n"
                   "Front door keypad code: 4716\nGarage door code: 9035\nSpare key: under the blue flowerpot")
    # the garage's code alone had been the answer to "the door code" (fifteenth trial)
    question = "What is the door code?"
    plan = AnswerPlan.make(question, [codes], searched=True)
    assert plan.direct == "Front door keypad code: 4716\n\nGarage door code: 9035"
    (shown,) = plan.mark_evidence(plan.direct, question)
    assert shown.extra["evidence"]["text"] == "Front door keypad code: 4716\nGarage door code: 9035"
    assert direct("What is the front door code?", codes) == "Front door keypad code: 4716"
    assert direct("What is the garage code?", codes) == "Garage door code: 9035"


def test_a_labelled_line_is_marked_whole_with_its_full_stop() -> None:
    wifi = Source("document", "wifi.txt", "Home network\n\nWi-Fi password: blue-otter-2417. The guest "
                  "network is Hearthside-guest, no password.\n")
    plan = AnswerPlan.make("What is my Wi-Fi password?", [wifi], searched=True)
    assert plan.direct == "Wi-Fi password: blue-otter-2417"
    (shown,) = plan.mark_evidence(plan.direct, "What is my Wi-Fi password?")
    assert shown.extra["evidence"]["text"] == "Wi-Fi password: blue-otter-2417."  # the sentence, as before
