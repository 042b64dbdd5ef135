"""Anonymisation policies: which operator each column gets, checked before anything runs, and applied.

A policy is JSON:
    {"columns": {"patient_name": {"operator": "pseudonym", "kind": "name"}, "age": {"operator": "generalize", "width": 10, "top": 90}, …},
     "quasi_identifiers": ["age", "sex", "zip"], "sensitive": ["diagnosis"], "k": 5, "suppress": "rows"}
Columns the policy does not name are kept. Sensitive attributes are kept too; the risk report gives their
ℓ-diversity inside each equivalence class of the quasi-identifiers.
"""

import re

import pandas as pd

from workbench.privacy import operators
from workbench.privacy.classify import DIRECT, FREE_TEXT, QUASI, SENSITIVE

NUMERIC, DATES, TEXT, ANY = "numeric", "dates", "text", "any"
# operator -> (types it fits, allowed parameters with their types)
OPERATORS = {
    "keep": (ANY, {}),
    "drop": (ANY, {}),
    "redact": (ANY, {"replacement": str}),
    "mask": (ANY, {"keep_last": int, "char": str}),
    "hash": (ANY, {"length": int}),
    "pseudonym": (ANY, {"kind": str}),
    "encrypt": (ANY, {}),  # a reversible pseudonym: only the data owner can turn it back (`reveal`)
    "date_shift": (DATES, {"subject": str, "max_days": int}),
    "generalize": (ANY, {"width": (int, float), "top": (int, float), "bottom": (int, float), "keep": int, "to": str}),
    "top_bottom_code": (NUMERIC, {"top": (int, float), "bottom": (int, float)}),
    "replace_entities": (TEXT, {"style": str}),
}


class PolicyError(ValueError):
    """A policy that cannot be applied to this table, with every reason."""


def column_family(series: pd.Series, semantic_type: str | None = None) -> str:
    if semantic_type in ("date", "datetime") or pd.api.types.is_datetime64_any_dtype(series):
        return DATES
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return NUMERIC
    return TEXT


def validate(policy: dict, frame: pd.DataFrame, types: dict[str, str] | None = None) -> list[str]:
    """Every problem with `policy` for `frame`, as sentences; empty when it can be applied."""
    types = types or {}
    problems = []
    if not isinstance(policy, dict) or not isinstance(policy.get("columns", {}), dict):
        return ["The policy must be an object with a 'columns' object."]
    for name, rule in policy.get("columns", {}).items():
        if name not in frame.columns:
            problems.append(f"Column '{name}' is not in the table.")
            continue
        if not isinstance(rule, dict) or rule.get("operator") not in OPERATORS:
            problems.append(f"Column '{name}': operator must be one of {', '.join(OPERATORS)}.")
            continue
        fits, allowed = OPERATORS[rule["operator"]]
        family = column_family(frame[name], types.get(name))
        if fits != ANY and fits != family:
            problems.append(f"Column '{name}': {rule['operator']} needs a {fits} column, and this one holds {family}.")
        typed = []
        for key, value in rule.items():
            if key == "operator":
                continue
            if key not in allowed:
                typed.append(f"Column '{name}': {rule['operator']} takes no parameter '{key}'.")
            elif not isinstance(value, allowed[key]) or isinstance(value, bool):
                typed.append(f"Column '{name}': parameter '{key}' has the wrong type.")
        problems.extend(typed or _parameter_problems(name, rule, frame, family))
    for field, label in (("quasi_identifiers", "Quasi-identifier"), ("sensitive", "Sensitive attribute")):
        names = policy.get(field, [])
        if not isinstance(names, list):
            problems.append(f"{field} must be a list of column names.")
            continue
        for name in names:
            if name not in frame.columns:
                problems.append(f"{label} '{name}' is not in the table.")
            elif field == "sensitive" and policy.get("columns", {}).get(name, {}).get("operator") == "drop":
                problems.append(f"Sensitive attribute '{name}' is dropped by the policy; keep it or leave it out of 'sensitive'.")
    k = policy.get("k", 1)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        problems.append("k must be a whole number of at least 1.")
    if policy.get("suppress", "rows") not in ("rows", "cells"):
        problems.append("suppress must be 'rows' or 'cells'.")
    return problems


def _parameter_problems(name: str, rule: dict, frame: pd.DataFrame, family: str) -> list[str]:
    problems = []
    operator = rule["operator"]
    if operator == "pseudonym" and rule.get("kind", "name") not in operators.SURROGATE_KINDS:
        problems.append(f"Column '{name}': pseudonym kind must be one of {', '.join(operators.SURROGATE_KINDS)}.")
    if operator == "date_shift":
        subject = rule.get("subject")
        if not subject or subject not in frame.columns:
            problems.append(f"Column '{name}': date_shift needs 'subject', a column of the table that identifies the person.")
        if rule.get("max_days", 180) < 1:
            problems.append(f"Column '{name}': max_days must be at least 1.")
    if operator == "generalize":
        if family == NUMERIC and "keep" in rule and "width" not in rule:
            if not rule["keep"] > 0:
                problems.append(f"Column '{name}': 'keep' (leading digits of a numeric code) must be positive.")
        elif family == NUMERIC and not rule.get("width", 0) > 0:
            problems.append(f"Column '{name}': generalize on numbers needs a positive 'width' (bins) or 'keep' (leading digits of a code).")
        if family == DATES and rule.get("to", "month") not in ("month", "year"):
            problems.append(f"Column '{name}': dates generalise 'to' month or year.")
        if family == TEXT and not rule.get("keep", 3) > 0:
            problems.append(f"Column '{name}': generalize on text keeps a prefix: 'keep' must be positive.")
    if operator == "mask" and rule.get("keep_last", 4) < 0:
        problems.append(f"Column '{name}': keep_last cannot be negative.")
    if operator == "replace_entities" and rule.get("style", "tag") not in ("tag", "surrogate"):
        problems.append(f"Column '{name}': style must be 'tag' or 'surrogate'.")
    return problems


def propose(scan: dict, *, k: int = 5) -> dict:
    """A starting policy from a scan: identifiers pseudonymised or dropped, quasi-identifiers generalised, text cleaned."""
    columns, quasi, sensitive = {}, [], []
    for column in scan["columns"]:
        name, entity, kind = column["name"], column["entity"], column["kind"]
        if kind == DIRECT:
            columns[name] = _direct_rule(entity)
        elif kind == QUASI:
            quasi.append(name)
            columns[name] = _quasi_rule(entity, column.get("semantic_type"))
        elif kind == FREE_TEXT:
            columns[name] = {"operator": "replace_entities", "style": "surrogate"}
        elif kind == SENSITIVE:
            sensitive.append(name)
    # A column kept in a coarser form (a date of birth as its year, an age in bands) still narrows who a row is: it
    # counts towards k like any quasi-identifier, or the risk report would reassure wrongly.
    quasi += [name for name, rule in columns.items() if rule["operator"] in ("generalize", "top_bottom_code") and name not in quasi]
    return {"columns": columns, "quasi_identifiers": quasi, "sensitive": sensitive, "k": k, "suppress": "rows"}


def _direct_rule(entity: str | None) -> dict:
    kinds = {"PERSON": "name", "PHONE_NUMBER": "phone", "EMAIL_ADDRESS": "email", "ADDRESS": "address"}
    if entity in kinds:
        return {"operator": "pseudonym", "kind": kinds[entity]}
    if entity in ("MEDICAL_RECORD_NUMBER", "RECORD_ID", "UK_NHS", "US_SSN", "IBAN_CODE"):
        return {"operator": "hash"}
    if entity == "CREDIT_CARD":
        return {"operator": "mask", "keep_last": 4}
    if entity == "DATE_OF_BIRTH":
        return {"operator": "generalize", "to": "year"}
    return {"operator": "drop"}


def _quasi_rule(entity: str | None, semantic_type: str | None) -> dict:
    if entity == "AGE":
        return {"operator": "generalize", "width": 10, "top": 90}
    if entity == "POSTCODE":
        return {"operator": "generalize", "keep": 3}
    if semantic_type in ("date", "datetime") or entity == "DATE_TIME":
        return {"operator": "generalize", "to": "month"}
    return {"operator": "keep"}


def reversible_key(material: bytes) -> bytes:
    """The AES key of reversible pseudonyms, derived from a dataset's data key (or, on the command line, the secret)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"workbench reversible pseudonyms v1").derive(bytes(material))


def apply(
    policy: dict, frame: pd.DataFrame, *, secret: bytes, types: dict[str, str] | None = None, reversible: bytes | None = None
) -> tuple[pd.DataFrame, dict]:
    """The anonymised table and what was done; raises PolicyError (changing nothing) when the policy does not fit.

    In one process; the anonymize job runs the same three steps with the free text split over workers."""
    out, texts = apply_structured(policy, frame, secret=secret, types=types, reversible=reversible)
    for name, rule in texts["rules"].items():
        out[name] = replace_entities(frame[name], secret=secret, style=rule.get("style", "tag"), known=texts["known"], avoid=texts["avoid"])
    return finish(policy, out)


def apply_structured(
    policy: dict, frame: pd.DataFrame, *, secret: bytes, types: dict[str, str] | None = None, reversible: bytes | None = None
) -> tuple[pd.DataFrame, dict]:
    """Step 1: every rule but free-text replacement. Returns the table and what the text step needs:
    its rules, each row's own identifiers with their replacements, and the real values no surrogate may be."""
    problems = validate(policy, frame, types)
    if problems:
        raise PolicyError("; ".join(problems))
    out = frame.copy()
    rules = policy.get("columns", {})
    text_rules = {name: rule for name, rule in rules.items() if rule["operator"] == "replace_entities"}
    avoid = _real_values(frame, rules)
    for name, rule in rules.items():
        if name not in text_rules:
            out = _apply_rule(out, frame, name, rule, secret, (types or {}).get(name), avoid, reversible)
    known = _known_identifiers(frame, out, rules) if text_rules else None
    return out, {"rules": text_rules, "known": known, "avoid": avoid}


def finish(policy: dict, out: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Step 3: k-anonymity on the quasi-identifiers, and the summary of what was done."""
    rules = policy.get("columns", {})
    summary = {
        "columns_changed": sorted(n for n, r in rules.items() if r["operator"] != "keep"),
        "suppressed_rows": 0,
        "suppressed_cells": 0,
    }
    quasi = [q for q in policy.get("quasi_identifiers", []) if q in out.columns]
    k = policy.get("k", 1)
    if quasi and k > 1:
        out, suppressed = enforce_k(out, quasi, k, how=policy.get("suppress", "rows"))
        summary[f"suppressed_{policy.get('suppress', 'rows')}"] = suppressed
    return out, summary


def _real_values(frame: pd.DataFrame, rules: dict) -> frozenset[str]:
    """Real values a surrogate must never be: every value of the columns this policy changes (only surrogates need it)."""
    if not any(r["operator"] in ("pseudonym", "replace_entities") for r in rules.values()):
        return frozenset()
    changed = [n for n, r in rules.items() if r["operator"] not in ("keep", "replace_entities")]
    values = set()
    for name in changed:
        values.update(pd.Series(pd.unique(frame[name].dropna())).astype(str).str.strip().tolist())
    return frozenset(values)


def _apply_rule(
    out: pd.DataFrame,
    original: pd.DataFrame,
    name: str,
    rule: dict,
    secret: bytes,
    semantic_type: str | None,
    avoid: frozenset[str] = frozenset(),
    reversible: bytes | None = None,
) -> pd.DataFrame:
    operator, values = rule["operator"], original[name]
    params = {key: value for key, value in rule.items() if key != "operator"}
    if operator == "keep":
        return out
    if operator == "drop":
        return out.drop(columns=[name])
    if operator == "redact":
        out[name] = operators.redact(values, **params)
    elif operator == "mask":
        out[name] = operators.mask(values, **params)
    elif operator == "hash":
        out[name] = operators.keyed_hash(values, secret=secret, **params)
    elif operator == "pseudonym":
        out[name] = operators.pseudonym(values, secret=secret, avoid=avoid, **params)
    elif operator == "encrypt":
        out[name] = operators.encrypt(values, key=reversible if reversible is not None else reversible_key(secret))
    elif operator == "date_shift":
        out[name] = operators.date_shift(
            values, original[params["subject"]].astype("string"), secret=secret, max_days=params.get("max_days", 180)
        )
    elif operator == "generalize":
        family = column_family(values, semantic_type)
        if family == NUMERIC and "keep" in params and "width" not in params:  # a numeric code such as a ZIP: keep leading digits
            digits = pd.to_numeric(values, errors="raise").round().astype("Int64").astype("string")
            out[name] = operators.generalize_postcode(digits, keep=params["keep"])
        elif family == NUMERIC:
            out[name] = operators.generalize_number(values, **{k: v for k, v in params.items() if k in ("width", "top", "bottom")})
        elif family == DATES:
            out[name] = operators.generalize_date(values, to=params.get("to", "month"))
        else:
            out[name] = operators.generalize_postcode(values, keep=params.get("keep", 3))
    elif operator == "top_bottom_code":
        out[name] = operators.top_bottom_code(values, **params)
    return out


SURROGATE_KINDS = {
    "PERSON": "name",
    "PHONE_NUMBER": "phone",
    "EMAIL_ADDRESS": "email",
    "LOCATION": "city",
    "ORGANIZATION": "company",
    "ADDRESS": "address",
    "ID": "id",
}


def _known_identifiers(original: pd.DataFrame, anonymised: pd.DataFrame, rules: dict) -> list[list[tuple[str, str]]]:
    """Per row, the identifying values this table itself holds (and what replaced them), to find them in its free text.

    NER misses names and numbers in clinical notes; the row's own name, phone, record number and date of
    birth are the likeliest to appear there, so they are searched for literally as well."""
    columns = [n for n, r in rules.items() if r["operator"] not in ("keep", "replace_entities")]
    rows = [[] for _ in range(len(original))]
    for name in columns:
        before = original[name].astype("string").tolist()
        after = anonymised[name].astype("string").tolist() if name in anonymised.columns else [None] * len(before)
        for position, (value, replacement) in enumerate(zip(before, after)):
            if value is None or value is pd.NA or len(value.strip()) < 3:
                continue
            tag = replacement if isinstance(replacement, str) and replacement else f"<{name.upper()}>"
            rows[position].append((value.strip(), tag))
            parts = value.split()
            if len(parts) > 1 and rules[name].get("kind", "") in ("name", "") and rules[name]["operator"] == "pseudonym":
                surrogate_parts = tag.split()
                for index, part in enumerate(parts):
                    if len(part) >= 3:
                        rows[position].append((part, surrogate_parts[min(index, len(surrogate_parts) - 1)]))
    return rows


def find_entities(texts: list) -> list[list[dict]]:
    """Entity spans for each text (none for a missing or blank one), through spaCy's pipe in batches."""
    from workbench.privacy import engine

    present = [i for i, text in enumerate(texts) if isinstance(text, str) and text.strip()]
    spans: list[list[dict]] = [[] for _ in texts]
    for i, found in zip(present, engine.analyze_texts([texts[i] for i in present])):
        spans[i] = found
    return spans


def replace_entities(
    values: pd.Series,
    *,
    secret: bytes,
    style: str = "tag",
    known: list[list[tuple[str, str]]] | None = None,
    avoid: frozenset[str] = frozenset(),
    spans: list[list[dict]] | None = None,
) -> pd.Series:
    """Free text with every detected entity replaced by <TYPE> or a consistent surrogate; the row's own
    identifiers (`known`) are replaced by what replaced them in their columns. `spans` are the entities
    a scan already found in these texts (found here when not given)."""
    texts = values.astype("string").astype(object).where(values.notna(), None).tolist()
    spans = spans if spans is not None else find_entities(texts)
    out = values.astype(object).copy()
    for i, text in enumerate(texts):
        if isinstance(text, str):
            literal = _literal_spans(text, known[i] if known else [])
            out.iloc[i] = _replace(text, literal + [dict(s, replacement=None) for s in spans[i]], secret, style, avoid)
    return out


def _literal_spans(text: str, pairs: list[tuple[str, str]]) -> list[dict]:
    spans = []
    for value, replacement in sorted(pairs, key=lambda pair: -len(pair[0])):
        for match in re.finditer(r"(?<!\w)" + re.escape(value) + r"(?!\w)", text, flags=re.IGNORECASE):
            spans.append({"type": "KNOWN", "start": match.start(), "end": match.end(), "score": 2.0, "replacement": replacement})
    return spans


def _replace(text: str, spans: list[dict], secret: bytes, style: str, avoid: frozenset[str] = frozenset()) -> str:
    # Overlapping spans are replaced as one, over all of their characters (a street found as an address and its
    # name found as a person leaves neither the number nor the name behind); the longest one (then the surest, a
    # known identifier first) says what replaces it.
    chosen: list[dict] = []
    for span in sorted(spans, key=lambda s: (s["start"], -s["end"])):
        if chosen and span["start"] < chosen[-1]["end"]:
            group = chosen[-1]
            members = group["members"] + [span]
            lead = max(members, key=lambda s: (s["end"] - s["start"], s["score"]))
            chosen[-1] = dict(lead, start=group["start"], end=max(group["end"], span["end"]), members=members)
        else:
            chosen.append(dict(span, members=[span]))
    pieces, position = [], 0
    for span in chosen:
        original = text[span["start"] : span["end"]]
        pieces.append(text[position : span["start"]])
        kind = SURROGATE_KINDS.get(span["type"])
        if span.get("replacement"):
            pieces.append(span["replacement"])
        elif style == "surrogate" and kind:
            pieces.append(operators.pseudonym(pd.Series([original]), secret=secret, kind=kind, avoid=avoid)[0])
        else:
            pieces.append(f"<{span['type']}>")
        position = span["end"]
    pieces.append(text[position:])
    return "".join(pieces)


def enforce_k(frame: pd.DataFrame, quasi_identifiers: list[str], k: int, *, how: str = "rows") -> tuple[pd.DataFrame, int]:
    """Suppress the records (or their quasi-identifier cells) in equivalence classes smaller than k."""
    from workbench.privacy.risk import class_sizes

    sizes = class_sizes(frame, quasi_identifiers)
    small = sizes < k
    if how == "rows":
        return frame.loc[~small].reset_index(drop=True), int(small.sum())
    out = frame.astype({q: object for q in quasi_identifiers})
    out.loc[small, quasi_identifiers] = "*"
    # Suppressed cells form one class '*'; if it is still smaller than k, those rows go too.
    sizes = class_sizes(out, quasi_identifiers)
    still = sizes < k
    return out.loc[~still].reset_index(drop=True), int(small.sum()) * len(quasi_identifiers) + int(still.sum())
