"""The policy editor: a policy shown as one form row per column, and a submitted form read back into a policy.

Form fields are named by column position (`op-3`, `p-3-width`, `qi-3`, `sens-3`), so any column name works.
"""

from workbench.privacy import operators
from workbench.privacy.policy import ANY, DATES, NUMERIC, OPERATORS, TEXT

FAMILIES = {"int": NUMERIC, "float": NUMERIC, "date": DATES, "datetime": DATES}
CHOICES = {
    "kind": list(operators.SURROGATE_KINDS),
    "to": ["month", "year"],
    "style": ["surrogate", "tag"],
}
HELP = {
    "keep": "left as it is",
    "drop": "column removed",
    "redact": "every value replaced",
    "mask": "all but the last characters hidden",
    "hash": "keyed HMAC-SHA256, same value → same hash in this workspace",
    "pseudonym": "consistent realistic surrogate",
    "encrypt": "reversible pseudonym (enc:…): only the data owner can reveal the value",
    "date_shift": "each subject's dates moved by one secret offset",
    "generalize": "bins, bands, prefixes or month/year",
    "top_bottom_code": "extremes pulled in to a cap",
    "replace_entities": "names, numbers and dates in the text replaced",
}


def family_of(semantic_type: str) -> str:
    return FAMILIES.get(semantic_type, TEXT)


def operators_for(family: str) -> list[str]:
    return [name for name, (fits, _) in OPERATORS.items() if fits in (ANY, family)]


def _parameters(operator: str, family: str) -> list[str]:
    allowed = list(OPERATORS[operator][1])
    if operator == "generalize":  # the parameters that mean something for this column's family
        allowed = {NUMERIC: ["width", "top", "bottom", "keep"], DATES: ["to"], TEXT: ["keep"]}[family]
    return allowed


def rows(schema: list[dict], rules: dict, scan: dict | None) -> list[dict]:
    """One editor row per column: what the scan found, the operator, its parameter fields, the flags."""
    found = {c["name"]: c for c in (scan or {}).get("columns", [])}
    quasi, sensitive = set(rules.get("quasi_identifiers", [])), set(rules.get("sensitive", []))
    names = [c["name"] for c in schema]
    out = []
    for index, column in enumerate(schema):
        name, family = column["name"], family_of(column["type"])
        rule = rules.get("columns", {}).get(name, {"operator": "keep"})
        operator = rule.get("operator", "keep")
        fields = []
        for parameter in _parameters(operator, family) if operator in OPERATORS else []:
            kind = OPERATORS[operator][1][parameter]
            field = {"name": parameter, "field": f"p-{index}-{parameter}", "value": rule.get(parameter, "")}
            if parameter == "subject":
                field["choices"] = [n for n in names if n != name]
            elif parameter in CHOICES:
                field["choices"] = CHOICES[parameter]
            else:
                field["number"] = kind is not str
            fields.append(field)
        scanned = found.get(name, {})
        out.append(
            {
                "index": index,
                "name": name,
                "type": column["type"],
                "kind": scanned.get("kind", ""),
                "kind_label": scanned.get("kind", "").replace("_", " "),
                "entity": scanned.get("entity") or "",
                "operator": operator,
                "help": HELP.get(operator, ""),
                "operators": operators_for(family),
                "fields": fields,
                "quasi": name in quasi,
                "sensitive": name in sensitive,
            }
        )
    return out


def read_form(data, schema: list[dict]) -> tuple[dict, list[str]]:
    """The policy a submitted editor form describes, and the problems found reading it (bad numbers)."""
    rules = {"columns": {}, "quasi_identifiers": [], "sensitive": []}
    problems = []
    for index, column in enumerate(schema):
        name, family = column["name"], family_of(column["type"])
        operator = data.get(f"op-{index}", "keep")
        if operator not in OPERATORS:
            problems.append(f"Column '{name}': unknown operator '{operator}'.")
            continue
        if data.get(f"qi-{index}"):
            rules["quasi_identifiers"].append(name)
        if data.get(f"sens-{index}"):
            rules["sensitive"].append(name)
        if operator == "keep":
            continue
        rule = {"operator": operator}
        for parameter in _parameters(operator, family):
            raw = str(data.get(f"p-{index}-{parameter}", "")).strip()
            if not raw:
                continue
            kind = OPERATORS[operator][1][parameter]
            if kind is str:
                rule[parameter] = raw
                continue
            try:
                number = float(raw)
            except ValueError:
                problems.append(f"Column '{name}': {parameter} must be a number.")
                continue
            if kind is int and not number.is_integer():
                problems.append(f"Column '{name}': {parameter} must be a whole number.")
                continue
            rule[parameter] = int(number) if number.is_integer() else number
        rules["columns"][name] = rule
    try:
        rules["k"] = int(data.get("k", 5))
    except (TypeError, ValueError):
        problems.append("k must be a whole number of at least 1.")
        rules["k"] = 5
    rules["suppress"] = data.get("suppress", "rows")
    return rules, problems
