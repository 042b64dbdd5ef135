"""Labelled free-text sets for the privacy scan (issue 13).

`letters(seed, count)` is the harder set: written before any recognizer work of issue 13 and never to be tuned on
in its held-out half. It differs from the first set (`privacy_eval.notes`) on purpose: other templates (referral
letters, nursing notes, call logs, discharge summaries, complaint emails), ten Faker locales (the US, the UK, Canada,
Ireland, Australia, Germany, France, the Netherlands, Italy, Spain) for names, street addresses, postcodes, towns,
phone numbers and companies, and the noise of real notes: line breaks inside sentences, sentences in capitals,
lower-case names, abbreviations (pt, hx, c/o, w/, f/u), titles and initials, doubled spaces.

Every labelled span is (start, end, type) with type one of PERSON, ADDRESS, POSTCODE, LOCATION, PHONE, EMAIL, DATE,
AGE, ID, ORGANIZATION, CREDIT_CARD. The split is by the text's position: even-numbered texts are the development
half, odd-numbered ones are held out. Faker draws some values from sets, so the texts are the same from one run to
the next only under the same PYTHONHASHSEED (`privacy_eval.py --text` sets 0).
"""

import datetime
import random

from faker import Faker

LOCALES = ["en_US", "en_GB", "en_CA", "en_IE", "en_AU", "de_DE", "fr_FR", "nl_NL", "it_IT", "es_ES"]

# Each template: literal text with {FIELD} slots; a field's type is the part before any digit ({PERSON2} is a PERSON).
TEMPLATES = [
    "Dear Dr {SURNAME},\nThank you for seeing {PERSON}, a {AGE} with a hx of COPD, who lives at {ADDRESS}.\nPlease contact the family on {PHONE}.",
    "Nursing note {DATE}: pt {PERSON} c/o dizziness. Son {PERSON2} visited; says she moved to {LOCATION} last year.",
    "CALL LOG - {DATE} - {PERSON} RANG FROM {PHONE} ABOUT HIS RESULTS. ASKED US TO POST THEM TO {ADDRESS}.",
    "Discharge summary for {PERSON} (ID {ID}), admitted {DATE}, discharged {DATE2}. GP: Dr {PERSON2}, {ORGANIZATION}.",
    "From: {EMAIL}\nSubject: complaint\nI am writing on behalf of my mother {PERSON}, {AGE}, of {LOCATION}. Card ending {CREDIT_CARD} was charged twice.",
    "f/u booked w/ {PERSON} for {DATE}. new address {ADDRESS}, postcode {POSTCODE}. works at {ORGANIZATION}.",
    "Referral: {PERSON}, born {DATE}, {AGE}. Next of kin {PERSON2}, tel {PHONE}, email {EMAIL}.",
    "pt seen in clinic today. lives alone in {LOCATION}  since her husband {PERSON} died. daughter ({PHONE}) to be told.",
    "Letter returned: {PERSON}\n{ADDRESS}\n{POSTCODE} {LOCATION}\nno longer at this address.",
    "{PERSON} was transferred from {ORGANIZATION} on {DATE}; patient number {ID}. Please send notes to {EMAIL}.",
    "Safeguarding: neighbour {PERSON} ({AGE}) reported concerns about the family at {ADDRESS} on {DATE}.",
    "Tel. message {DATE} from {PERSON} re: payment, card {CREDIT_CARD}, callback {PHONE}.",
]

TITLES = ["Mr", "Mrs", "Ms", "Miss", "Dr", "Prof.", "Mr.", "Mrs."]


def _person(fake: Faker, rng: random.Random) -> str:
    first, last = fake.first_name(), fake.last_name()
    form = rng.random()
    if form < 0.15:
        return f"{rng.choice(TITLES)} {last}"
    if form < 0.3:
        return f"{first[0]}. {last}"
    if form < 0.4:
        return f"{first} {last}-{fake.last_name()}"
    if form < 0.45:
        particle = rng.choice(["van der ", "de ", "van ", "von ", "di ", "de la ", "O'"])
        return f"{first} {particle}{last}"
    if form < 0.55:
        return f"{first.lower()} {last.lower()}"
    return f"{first} {last}"


def _date(fake: Faker, rng: random.Random) -> str:
    # fixed bounds: relative ones ("-80y", "today") made the set change with the day it was generated
    day = fake.date_between(datetime.date(1946, 12, 1), datetime.date(2026, 12, 1))
    forms = ["%d/%m/%Y", "%m/%d/%y", "%d.%m.%Y", "%-d %B %Y", "%B %-d, %Y", "%d-%b-%Y", "%Y-%m-%d", "%-d %b %y"]
    text = day.strftime(rng.choice(forms))
    if rng.random() < 0.1:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(day.day if day.day < 20 else day.day % 10, "th")
        text = f"{day.day}{suffix} of {day.strftime('%B %Y')}"
    return text


def _age(rng: random.Random) -> str:
    years = rng.randint(1, 99)
    return rng.choice([f"{years}-year-old", f"aged {years}", f"{years} yo", f"{years}yrs", f"age {years}", f"{years} years old"])


def _id(rng: random.Random, fake: Faker) -> str:
    kind = rng.random()
    if kind < 0.3:
        return f"{rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"  # NHS-like spacing
    if kind < 0.6:
        return f"{rng.choice(['H', 'RX', 'PT', 'K'])}{rng.randint(100000, 9999999)}"
    if kind < 0.8:
        try:
            return fake.ssn()
        except AttributeError:
            return f"{rng.randint(100, 899)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    return f"{rng.randint(10**7, 10**9)}"


def _card(fake: Faker, rng: random.Random) -> str:
    number = fake.credit_card_number()
    if rng.random() < 0.3:
        return number[-4:]
    if rng.random() < 0.5:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


def _address(fake: Faker, rng: random.Random) -> str:
    street = fake.street_address()
    if rng.random() < 0.2:
        street = f"Flat {rng.randint(1, 30)}, {street}"
    return street.replace("\n", ", ")


def _location(fake: Faker, rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.7:
        return fake.city()
    if pick < 0.85 and hasattr(fake, "county"):
        return fake.county()
    return fake.country()


def letters(seed: int = 13, count: int = 800) -> list[tuple[str, list[tuple[int, int, str]]]]:
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale in LOCALES}
    for index, fake in enumerate(fakers.values()):
        fake.seed_instance(seed * 100 + index)
    out = []
    for number in range(count):
        fake = fakers[LOCALES[number % len(LOCALES)]]
        template = TEMPLATES[(number // len(LOCALES) + number) % len(TEMPLATES)]
        makers = {
            "PERSON": lambda fake=fake: _person(fake, rng),
            "SURNAME": fake.last_name,
            "ADDRESS": lambda fake=fake: _address(fake, rng),
            "POSTCODE": fake.postcode,
            "LOCATION": lambda fake=fake: _location(fake, rng),
            "PHONE": fake.phone_number,
            "EMAIL": fake.email,
            "DATE": lambda fake=fake: _date(fake, rng),
            "AGE": lambda: _age(rng),
            "ID": lambda fake=fake: _id(rng, fake),
            "ORGANIZATION": fake.company,
            "CREDIT_CARD": lambda fake=fake: _card(fake, rng),
        }
        text, spans = "", []
        parts = template.replace("}", "{").split("{")
        for position, part in enumerate(parts):
            if position % 2 == 0:
                text += part
                continue
            field = part.rstrip("0123456789")
            value = makers[field]()
            kind = "PERSON" if field == "SURNAME" else field
            spans.append((len(text), len(text) + len(value), kind))
            text += value
        if template.isupper() or rng.random() < 0.08:  # some notes are typed in capitals
            text = text.upper()
        if rng.random() < 0.15:  # a line break where the writer's line ran out
            cut = rng.randint(10, max(11, len(text) - 10))
            if not any(start < cut < end for start, end, _ in spans):
                text = text[:cut] + "\n" + text[cut:]
                spans = [(s + (s >= cut), e + (s >= cut), k) for s, e, k in spans]
        out.append((text, spans))
    return out


def halves(corpus: list) -> dict[str, list]:
    return {"dev": corpus[0::2], "held-out": corpus[1::2]}
