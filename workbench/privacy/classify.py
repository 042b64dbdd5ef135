"""Column classification for structured tables: name hints, recognizers on sampled values, NER for text.

Each column gets a kind (direct identifier, quasi-identifier, sensitive attribute, free text, other),
an entity type, a confidence and masked examples of the evidence. First version: the evaluation set
and its benchmark (issue 3) will tune the hints and thresholds.
"""

import re
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

from workbench.privacy import engine

DIRECT, QUASI, SENSITIVE, FREE_TEXT, OTHER = "direct_identifier", "quasi_identifier", "sensitive", "free_text", "other"
DIRECT_ENTITIES = {
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "US_SSN",
    "UK_NHS",
    "MEDICAL_RECORD_NUMBER",
    "IBAN_CODE",
    "CREDIT_CARD",
    "IP_ADDRESS",
    "URL",
    "DATE_OF_BIRTH",
    "ADDRESS",
    "RECORD_ID",
}
QUASI_ENTITIES = {"AGE", "SEX", "POSTCODE", "LOCATION", "DATE_TIME", "ETHNICITY", "AGE_OVER_89"}
# (pattern on the normalised column name, entity, kind); the first match wins.
NAME_HINTS = [
    (r"(^|_)(dob|date_of_birth|birth_?date|born)($|_)", "DATE_OF_BIRTH", DIRECT),
    (r"(^|_)(mrn|medical_record(_number)?|hospital_(number|no)|chart_(number|no)|patient_?id)($|_)", "MEDICAL_RECORD_NUMBER", DIRECT),
    (r"(^|_)(ssn|social_security(_number)?)($|_)", "US_SSN", DIRECT),
    (r"(^|_)nhs(_?(number|no))?($|_)", "UK_NHS", DIRECT),
    (r"(^|_)(e_?mail|email_address)($|_)", "EMAIL_ADDRESS", DIRECT),
    (r"(^|_)(phone|tel|telephone|mobile|cell|fax)(_?(number|no))?($|_)", "PHONE_NUMBER", DIRECT),
    (r"^(rownames|row_?names|index|unnamed_?\d*|row_?(id|number|no|num))$", "ROW_INDEX", OTHER),
    (
        r"^((fake|patient|subject|client|customer|member|employee|person|contact|doctor|physician|nurse|mother|father)_)?"
        r"(name|names|full_?name|first_?name|last_?name|fname|lname|surname|given_?name|family_?name|forename|middle_?name)$",
        "PERSON",
        DIRECT,
    ),
    (r"(^|_)(address|street|addr|address_line_?\d?)($|_)", "ADDRESS", DIRECT),
    (r"(^|_)(iban|account_(number|no))($|_)", "IBAN_CODE", DIRECT),
    (r"(^|_)(card_?(number|no)|credit_?card|cc_?(number|no))($|_)", "CREDIT_CARD", DIRECT),
    (r"(^|_)(ip|ip_?address)($|_)", "IP_ADDRESS", DIRECT),
    (r"(^|_)(url|website|homepage)($|_)", "URL", DIRECT),
    (r"(^|_)(zip|zip_?code|post_?code|postal_?code)($|_)", "POSTCODE", QUASI),
    (r"(^|_)(age|age_?years|age_at_\w+)($|_)", "AGE", QUASI),
    (r"(^|_)(sex|gender)($|_)", "SEX", QUASI),
    (r"(^|_)(race|ethnicity|ethnic_group)($|_)", "ETHNICITY", QUASI),
    (r"(^|_)(city|town|county|state|country|region|district)($|_)", "LOCATION", QUASI),
    (r"(^|_)(date|admission|admitted|discharge|discharged|visit|dod|death_date)($|_)", "DATE_TIME", QUASI),
    (
        r"(^|_)(diagnosis|dx|icd\d*|condition|disease|hiv|medication|drug|treatment|procedure|salary|income|balance)($|_)",
        "SENSITIVE",
        SENSITIVE,
    ),
]
# Generic findings that never override a column name that says more (a date column named dob is a date of birth).
GENERIC_ENTITIES = {"DATE_TIME", "LOCATION", "ORGANIZATION", "NRP", "URL"}
SAMPLE_VALUES = 100
SAMPLE_TEXTS = 50


def normalise_name(name: str) -> str:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def name_hint(name: str) -> tuple[str, str] | None:
    normalised = normalise_name(name)
    for pattern, entity, kind in NAME_HINTS:
        if re.search(pattern, normalised):
            return entity, kind
    return None


def mask(value: str) -> str:
    """Keep the shape and the first character of each word: 'John Smith' -> 'J••• S••••'."""
    return re.sub(r"[A-Za-z0-9]+", lambda m: m.group(0)[0] + "•" * (len(m.group(0)) - 1), value)


def _kind_of(entity: str) -> str:
    if entity in DIRECT_ENTITIES:
        return DIRECT
    if entity in QUASI_ENTITIES:
        return QUASI
    return OTHER


def _value_evidence(values: list[str]) -> tuple[str | None, float]:
    """The entity that covers most of most sampled values, and the share of values it covers."""
    covering = Counter()
    for value, spans in zip(values, engine.analyze_texts(values)):
        best = {span["type"] for span in spans if (span["end"] - span["start"]) >= 0.8 * len(value.strip())}
        covering.update(best)
    if not covering:
        return None, 0.0
    entity, count = max(covering.items(), key=lambda item: (item[1], item[0] in DIRECT_ENTITIES))
    return entity, count / len(values)


def classify_column(name: str, semantic_type: str, column: pa.ChunkedArray) -> dict:
    hint = name_hint(name)
    values = [str(v) for v in pc.unique(pc.drop_null(column)).to_pylist()[:SAMPLE_VALUES] if str(v).strip()]
    result = {
        "name": name,
        "semantic_type": semantic_type,
        "kind": OTHER,
        "entity": None,
        "confidence": 0.0,
        "evidence": [],
        "examples": [],
    }
    wordy = bool(values) and sum(len(v.split()) for v in values) / len(values) >= 5
    if semantic_type == "text" and wordy and not (hint and hint[1] in (DIRECT, QUASI)):
        found = Counter(span["type"] for spans in engine.analyze_texts(values[:SAMPLE_TEXTS]) for span in spans)
        result.update(kind=FREE_TEXT, entity="FREE_TEXT", confidence=1.0, evidence=[f"entities in text: {dict(found.most_common(8))}"])
        result["entities_in_text"] = dict(found)
        return result
    entity, share = (None, 0.0)
    if values and (pa.types.is_string(column.type) or semantic_type in ("date", "datetime")):
        entity, share = _value_evidence(values)
    if hint:
        hinted, hinted_kind = hint
        follows_hint = entity in (None, hinted) or entity in GENERIC_ENTITIES or share < 0.5
        if follows_hint:
            agreeing_share = share if entity in (hinted, *GENERIC_ENTITIES) else 0.0
            result.update(kind=hinted_kind, entity=hinted, confidence=round(min(0.99, 0.6 + 0.4 * agreeing_share), 2))
        else:
            result.update(kind=_kind_of(entity), entity=entity, confidence=round(share, 2))
        result["evidence"].append(f"column name suggests {hinted}")
    elif entity and share >= 0.5 and entity not in GENERIC_ENTITIES - {"URL"}:
        result.update(kind=_kind_of(entity), entity=entity, confidence=round(share, 2))
    elif semantic_type == "id" and pa.types.is_string(column.type):
        result.update(kind=DIRECT, entity="RECORD_ID", confidence=0.6)
        result["evidence"].append("unique, identifier-like codes")
    elif semantic_type == "id" and not _is_row_number(column):
        result["evidence"].append("unique numbers: a key of this table; check that it does not link to other records")
    elif entity and share >= 0.5:
        result.update(kind=QUASI, entity=entity, confidence=round(share * 0.8, 2))
    if entity and share:
        result["evidence"].append(f"{share:.0%} of sampled values look like {entity}")
    if result["kind"] in (DIRECT, QUASI) and values:
        result["examples"] = [mask(v) for v in values[:3]]
    return result


def _is_row_number(column: pa.ChunkedArray) -> bool:
    """1, 2, 3, … (or from 0): an index written out by a tool, not a person's identifier."""
    if not pa.types.is_integer(column.type):
        return False
    values = pc.drop_null(column)
    if len(values) == 0:
        return False
    low, high = pc.min(values).as_py(), pc.max(values).as_py()
    return low in (0, 1) and high - low + 1 == len(values) and pc.count_distinct(values).as_py() == len(values)
