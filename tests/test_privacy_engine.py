"""The offline Presidio engine (issue 3's first piece): loads without the network and finds what tables hold."""

import pytest

from workbench.privacy import engine, written


@pytest.fixture(scope="module")
def found():
    def run(text: str) -> dict[str, list[str]]:
        spans: dict[str, list[str]] = {}
        for span in engine.analyze_text(text):
            spans.setdefault(span["type"], []).append(text[span["start"] : span["end"]])
        return spans

    return run


def test_it_loads_the_packaged_model_by_path_without_the_network():
    assert engine.model_path().is_dir()
    assert engine.analyzer() is engine.analyzer()  # built once per process


def test_it_finds_contact_details_and_names(found):
    spans = found("Write to Jane Doe at jane.doe@example.org or call 212-555-0199; she lives in Boston.")
    assert spans["EMAIL_ADDRESS"] == ["jane.doe@example.org"]  # tldextract answered from its bundled snapshot
    assert "Jane Doe" in spans["PERSON"]
    assert "212-555-0199" in spans["PHONE_NUMBER"]
    assert "Boston" in spans["LOCATION"]


def test_nhs_numbers_need_a_valid_check_digit(found):
    assert found("NHS number 943 476 5919")["UK_NHS"] == ["943 476 5919"]
    assert "UK_NHS" not in found("NHS number 943 476 5918")


def test_site_record_numbers_ages_over_89_and_dates_of_birth(found):
    spans = found("Patient MRN 12345678, DOB 1931-02-03, is 93 years old.")
    assert spans["MEDICAL_RECORD_NUMBER"] == ["MRN 12345678"]
    assert spans["AGE_OVER_89"] == ["93"]
    assert "1931-02-03" in spans["DATE_OF_BIRTH"]


def test_many_texts_go_through_spacys_pipe():
    results = engine.analyze_texts(["Seen by Dr Alan Turing."] * 50 + ["nothing here"])
    assert len(results) == 51
    assert any(span["type"] == "PERSON" for span in results[0])
    assert results[-1] == []


@pytest.mark.parametrize(
    "text,kind,value",
    [
        ("She lives at 22 Baker Street, Flat 3.", "ADDRESS", "22 Baker Street, Flat 3"),
        ("Post to Flat 27, 830 Sanchez Wall Suite 341 please", "ADDRESS", "Flat 27, 830 Sanchez Wall Suite 341"),
        ("Nuovo indirizzo: Via Roma, 12", "ADDRESS", "Via Roma, 12"),
        ("wohnt in der Goethestraße 14a", "ADDRESS", "Goethestraße 14a"),
        ("Write to PO Box 4410.", "ADDRESS", "PO Box 4410"),
        ("a 47-year-old man", "AGE", "47-year-old"),
        ("pt aged 61, seen today", "AGE", "aged 61"),
        ("GP: Northfield Medical Centre", "ORGANIZATION", "Northfield Medical Centre"),
        ("Invoice from Roussel S.A.S. attached", "ORGANIZATION", "Roussel S.A.S."),
        ("Seen by Mrs Okonkwo on the ward", "PERSON", "Mrs Okonkwo"),
        ("Tel. +61-7-6053-2293 after six", "PHONE_NUMBER", "+61-7-6053-2293"),
        ("call her on 03.1537.4787", "PHONE_NUMBER", "03.1537.4787"),
        ("admitted 13 Feb 82 with chest pain", "DATE_TIME", "13 Feb 82"),
        ("Montreal office, H2E 2B7, third floor", "POSTCODE", "H2E 2B7"),
        ("patient number K5414649 transferred", "ID", "K5414649"),
        ("Card ending 6912 was charged twice", "CREDIT_CARD", "6912"),
        ("paid with 4743 1756 1800 3920 492 yesterday", "CREDIT_CARD", "4743 1756 1800 3920 492"),
    ],
)
def test_what_notes_hold_is_found(found, text, kind, value):
    assert value in found(text).get(kind, []), found(text)


def test_a_note_in_capitals_is_read_like_any_other_and_its_spans_are_the_original_s(found):
    text = "CALL LOG - DAVID ROMERO RANG ABOUT HIS RESULTS. ASKED US TO POST THEM."
    assert engine.readable(text).startswith("Call Log - David Romero Rang") and len(engine.readable(text)) == len(text)
    spans = found(text)
    assert any("ROMERO" in name for name in spans.get("PERSON", [])) and "US" not in spans.get("LOCATION", [])


def test_clinical_words_relative_dates_and_iso_dates_are_not_personal_data(found):
    spans = found("Hx of COPD, seen today; daughter informed. Sample 2021-03-04 taken.")
    assert "COPD" not in sum(spans.values(), []) and "today" not in spans.get("DATE_TIME", [])
    assert "2021-03-04" not in spans.get("PHONE_NUMBER", [])


@pytest.mark.parametrize(
    "text,kind,value",
    [
        # given names from Faker's lists with a second sign: a capitalised word, or a listed surname in lower case
        ("Reviewed with Wilhelmina Okafor-Lindqvist this morning", "PERSON", "Wilhelmina Okafor-Lindqvist"),
        ("spoke to margaret wilson about the dressing", "PERSON", "margaret wilson"),
        ("Letter copied to Pieter van der Merwe.", "PERSON", "Pieter van der Merwe"),
        # second lines before and after the street, plural and Australian street types, Italian floors
        ("moved to Unit 4, 17 Wattle Parade last week", "ADDRESS", "Unit 4, 17 Wattle Parade"),
        ("send to 902 Orchard Parks Apt. 12 by post", "ADDRESS", "902 Orchard Parks Apt. 12"),
        ("nuovo recapito Via Garibaldi, 8 Piano 2, scala B", "ADDRESS", "Via Garibaldi, 8 Piano 2"),
        ("elle habite 5, avenue des Tilleuls depuis mai", "ADDRESS", "5, avenue des Tilleuls"),
        # towns from the gazetteers, after words of living, after a postcode at a line's start; countries in French
        ("lives alone in Tarnowskie Gory since the spring", "LOCATION", "Tarnowskie Gory"),
        ("Returned mail:\n4 Hill Road\n38100 Trento\nno longer there", "LOCATION", "Trento"),
        ("originaire de Yougoslavie", "LOCATION", "Yougoslavie"),
        # firms named after partners; employers after "works at"
        ("GP practice: Hargreaves, Osei and Lund.", "ORGANIZATION", "Hargreaves, Osei and Lund"),
        ("she works at Brindle Quarrying; shifts vary", "ORGANIZATION", "Brindle Quarrying"),
        ("fattura di Ravasi, Conti e Moro e figli", "ORGANIZATION", "Ravasi, Conti e Moro e figli"),
        # phones written with a country or area code and no word around them; digits after "callback"
        ("+44 20 7946 0958 is the ward's", "PHONE_NUMBER", "+44 20 7946 0958"),
        ("(02) 9374 4000 rings through", "PHONE_NUMBER", "(02) 9374 4000"),
        ("callback 0291837465 after five", "PHONE_NUMBER", "0291837465"),
        # national groupings: German and Dutch area codes of four and five digits, Austria's slash, Finland's
        # bracketed country code, a trunk digit before brackets, a local number of seven digits after "call"
        ("Tel. (05341) 82716 ab acht", "PHONE_NUMBER", "(05341) 82716"),
        ("please ring 0612-345678 or (020)-1234567", "PHONE_NUMBER", "(020)-1234567"),
        ("please ring 0612-345678 or (020)-1234567", "PHONE_NUMBER", "0612-345678"),
        ("mobil 0664/12345678", "PHONE_NUMBER", "0664/12345678"),
        ("soita (+358) 401234567", "PHONE_NUMBER", "(+358) 401234567"),
        ("call 1 (416) 555-0199 today", "PHONE_NUMBER", "1 (416) 555-0199"),
        ("call back on 555 0199", "PHONE_NUMBER", "555 0199"),
        ("Call back on 2669683645 or write", "PHONE_NUMBER", "2669683645"),  # "call", "on": context words spaCy stops
        # names with particles straight after the given name, titles before particles or a Mac
        ("GP: Dr Kirsten de la Leavey, Geany", "PERSON", "Kirsten de la Leavey"),
        ("neighbour saar van salmen (age 75)", "PERSON", "saar van salmen"),
        ("Thank you for seeing Mrs. van der Klijn today", "PERSON", "Mrs. van der Klijn"),
        ("Referral: Mr. MacConachy, born 1950", "PERSON", "Mr. MacConachy"),
        # a flat or studio before a street without its own number; Dutch streets in -pad and -hof; Spain's C.
        ("lives at Flat 13, Studio 11I, Watkins Land.", "ADDRESS", "Flat 13, Studio 11I, Watkins Land"),
        ("post them to Kyanpad 65.", "ADDRESS", "Kyanpad 65"),
        ("post them to Flat 4, Selinahof 69.", "ADDRESS", "Flat 4, Selinahof 69"),
        ("lives at C. Luna Bonilla 386 Puerta 3", "ADDRESS", "C. Luna Bonilla 386 Puerta 3"),
        # postcodes at a line's start before the town: Ireland's Eircode, the Netherlands' form
        ("Mrs. Murrihy\n03 Smith Street\nF10 FC7X Carlow\n", "POSTCODE", "F10 FC7X"),
        ("Dana Hoeks\nLaurenboulevard 4\n4085EE Roemenië\n", "POSTCODE", "4085EE"),
        ("Suite 277\n86629 West Jerry\nno longer there", "LOCATION", "West Jerry"),  # a town's first word may be everyday
        # the last four digits of a card written straight after "card"
        ("refund to card 4417, ref attached", "CREDIT_CARD", "4417"),
    ],
)
def test_personal_data_as_letters_write_it_is_found(found, text, kind, value):
    spans = found(text)
    assert any(value in span for span in spans.get(kind, [])), spans


@pytest.mark.parametrize(
    "text,kind",
    [
        ("Take 2 Tablets At Night for 3 weeks, follow up in clinic", "ADDRESS"),  # no street after the number
        ("will review in two weeks; may need a scan", "PERSON"),  # given names that are English words
        ("Sent via email to the team", "ADDRESS"),  # "via" the preposition, not the Italian street
        ("SSN 078-05-1120 on file", "PHONE_NUMBER"),  # an SSN's grouping is not a phone's
        ("Batch 123 4567 dispatched", "PHONE_NUMBER"),  # seven digits without a word for a phone
        ("bought an iPad 2 for the ward", "ADDRESS"),  # an English word ending like a Dutch street
        ("Flat 3 was cleaned", "ADDRESS"),  # a unit beside no street
        ("Seen 12/03/2021 and 04.05.2022", "PHONE_NUMBER"),  # dates in digits
        ("Seen at 10 Downing Lane Medical Practice", "LOCATION"),
    ],
)
def test_words_that_only_look_like_personal_data_are_left(found, text, kind):
    assert kind not in found(text), found(text)


def test_each_span_says_which_rule_found_it():
    results = engine.analyzer().analyze(
        text="spoke to margaret wilson at 17 Wattle Parade", language="en", score_threshold=0.35, return_decision_process=True
    )
    rules = {(r.entity_type, r.analysis_explanation.pattern_name) for r in results if r.analysis_explanation}
    assert ("ADDRESS", "number_name_type") in rules
    # where spaCy finds the same name with a higher score, Presidio keeps its result; the list's rule is still named
    assert written.names_in("spoke to margaret wilson") == [(9, 24, "given name and surname in lower case")]
    assert written.places_in("moved to Port Elsworth in May")[-1][2] == "a place after words of living or moving"


def test_a_scan_over_several_processes_finds_what_one_process_finds():
    texts = [
        f"Patient {name} lives at {n} Wattle Parade, call +44 20 7946 {1000 + n}." for n, name in enumerate(["Ann Lee", "bob hart"] * 150)
    ]
    serial = engine.analyze_texts(texts, processes=1)
    assert engine.analyze_texts(texts, processes=2) == serial
    assert all(any(span["type"] == "ADDRESS" for span in row) for row in serial)


@pytest.mark.parametrize(
    "hostile",
    [
        "lives in " + "Abc-" * 6000,  # a word the street and place expressions could backtrack over from every hyphen
        "Abc-" * 6000 + "weg 1",
        "12 " + "Abcd " * 4000,
        "Abc, " * 4000 + "and",
        "Flat 1, " * 3000,
        "+1 " + "12 " * 3000,
    ],
)
def test_an_uploaded_text_cannot_make_the_expressions_backtrack_without_end(found, hostile):
    """A guard against a hang (catastrophic backtracking), not a speed test: these take about a second; before the
    expressions' words were bounded, the first took minutes."""
    import signal

    def hung(signum, frame):
        raise TimeoutError("the analyzer backtracked for over 30 s on a text of at most 24 kB")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        found(hostile)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def sentences_read(monkeypatch):
    """The sentences spaCy's entity recognizer was given, per text, as the scan ran (the real gate, observed)."""
    read: list[list[str]] = []
    gate = engine.sentences_to_read

    def observed(text, artifacts, threshold, case_blind=False):
        ranges = gate(text, artifacts, threshold, case_blind)
        starts, ends = artifacts.tokens_indices, artifacts.token_ends
        read.append([text[starts[a] : ends[b - 1]].strip() for a, b in ranges])
        return ranges

    monkeypatch.setattr(engine, "sentences_to_read", observed)
    return read


def test_the_entity_model_reads_only_the_sentences_the_rules_leave_something_in(sentences_read):
    text = "Seen today, pain settled, review in two weeks. Funding came from the Wellcome Trust last year."
    [spans] = engine.analyze_texts([text], processes=1)
    assert sentences_read == [["Funding came from the Wellcome Trust last year."]]
    assert ("ORGANIZATION", "the Wellcome Trust") in {(s["type"], text[s["start"] : s["end"]]) for s in spans}


@pytest.mark.parametrize(
    "text, read",
    [
        ("Spoke to margaret wilson at 17 Wattle Parade, 0412 345 678.", []),  # every word the rules read or an everyday one
        ("Thank you for referring this patient.", []),  # a sentence's first word that is English
        ("Results were sent to Okonkwo.", ["Results were sent to Okonkwo."]),  # a capital inside the sentence, in no list
        ("Okonkwo rang back.", ["Okonkwo rang back."]),  # a first word that is no English word
        ("Smith rang back.", ["Smith rang back."]),  # a first word that is English and a surname
        ("Spoke with Grace about her pain.", ["Spoke with Grace about her pain."]),  # a capital inside: an everyday name
        ("Thomas rang back.", ["Thomas rang back."]),  # a first word that is English (WordNet lists it) and a given name
        ("First seen in 2019.", ["First seen in 2019."]),  # a year alone: a date the rules leave
        ("PLEASE CALL BACK ABOUT THE RESULTS", []),  # typed in capitals: a capital says nothing
        ("PLEASE CALL OKONKWO ABOUT THE RESULTS", ["Please Call Okonkwo About The Results"]),
    ],
)
def test_what_sends_a_sentence_to_the_entity_model(sentences_read, text, read):
    engine.analyze_texts([text], processes=1)
    assert sentences_read == [read]


def test_english_words_include_their_inflected_forms():
    assert all(engine.english_word(word) for word in ["results", "safeguarding", "told", "lives", "referring", "happier"])
    assert not any(engine.english_word(word) for word in ["okonkwo", "xqzv", "brianmouth"])


def test_a_scan_process_that_fails_is_reported_without_the_text(monkeypatch):
    import os

    parent = os.getpid()
    batch = engine._analyze_batch

    def failing_in_a_child(texts, *args):
        if os.getpid() != parent:
            raise ValueError(f"could not read {texts[0]}")
        return batch(texts, *args)

    monkeypatch.setattr(engine, "_analyze_batch", failing_in_a_child)
    texts = [f"Patient Ann Lee lives at {n} Wattle Parade." for n in range(400)]
    with pytest.raises(RuntimeError) as failure:
        engine.analyze_texts(texts, processes=2)
    assert "(ValueError)" in str(failure.value) and "Wattle" not in str(failure.value)
    assert engine.analyze_texts(texts[:3], processes=1)[0]  # the engine still works afterwards


def test_a_model_without_lemmatizer_tables_falls_back_to_the_packaged_ones(monkeypatch, tmp_path):
    engine._english.cache_clear()
    engine.english_word.cache_clear()
    try:
        monkeypatch.setattr(engine, "model_path", lambda: tmp_path)  # a configured model folder without the tables
        assert engine.english_word("results")
        engine._english.cache_clear()
        engine.english_word.cache_clear()
        monkeypatch.setattr(engine, "_packaged_model_path", lambda: None)
        assert not engine.english_word("results")  # no word is English: the model reads every sentence with a capital
    finally:
        engine._english.cache_clear()
        engine.english_word.cache_clear()
