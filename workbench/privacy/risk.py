"""Re-identification risk of a table on its quasi-identifiers.

Records that share all quasi-identifier values form an equivalence class; a record in a class of
size k can be singled out with probability 1/k by someone who knows those values (prosecutor risk).
ℓ-diversity counts the distinct values of a sensitive attribute inside each class.
"""

import numpy as np
import pandas as pd
import pyarrow as pa


def class_sizes(frame: pd.DataFrame, quasi_identifiers: list[str]) -> pd.Series:
    """The size of each record's equivalence class (missing values form a value of their own)."""
    missing = [column for column in quasi_identifiers if column not in frame.columns]
    if missing:
        raise ValueError(f"Quasi-identifiers not in the table: {', '.join(missing)}")
    if not quasi_identifiers:
        return pd.Series(len(frame), index=frame.index, dtype="int64")
    keys = frame[quasi_identifiers].astype("string").fillna("\x00missing")
    return keys.groupby(quasi_identifiers, sort=False, dropna=False)[quasi_identifiers[0]].transform("size").astype("int64")


def risk_report(frame: pd.DataFrame | pa.Table, *, quasi_identifiers: list[str], sensitive: list[str] = (), k: int = 5) -> dict:
    """k-anonymity, uniqueness, prosecutor risk and ℓ-diversity in one JSON-ready report."""
    if isinstance(frame, pa.Table):
        frame = frame.to_pandas()
    rows = len(frame)
    sizes = class_sizes(frame, list(quasi_identifiers))
    classes = (
        int(frame[list(quasi_identifiers)].astype("string").drop_duplicates().shape[0]) if quasi_identifiers and rows else min(rows, 1)
    )
    report = {
        "rows": rows,
        "quasi_identifiers": list(quasi_identifiers),
        "k_threshold": k,
        "equivalence_classes": classes,
        "min_k": int(sizes.min()) if rows else None,
        "unique_records": int((sizes == 1).sum()),
        "unique_share": round(float((sizes == 1).mean()), 4) if rows else 0.0,
        "records_below_k": int((sizes < k).sum()),
        "records_below_k_share": round(float((sizes < k).mean()), 4) if rows else 0.0,
        "prosecutor_risk_max": round(float((1 / sizes).max()), 4) if rows else 0.0,
        "prosecutor_risk_mean": round(float((1 / sizes).mean()), 4) if rows else 0.0,
        "class_size_histogram": _histogram(sizes),
        "l_diversity": {},
    }
    for attribute in sensitive:
        report["l_diversity"][attribute] = _l_diversity(frame, list(quasi_identifiers), attribute)
    return report


def _histogram(sizes: pd.Series) -> list[dict]:
    """How many records sit in classes of size 1, 2, 3–4, 5–9, 10–19, 20+."""
    bins = [(1, 1), (2, 2), (3, 4), (5, 9), (10, 19), (20, None)]
    values = sizes.to_numpy()
    out = []
    for low, high in bins:
        chosen = (values >= low) & (values <= high if high else np.ones_like(values, dtype=bool))
        out.append(
            {"class_size": f"{low}" if low == high else (f"{low}+" if high is None else f"{low}–{high}"), "records": int(chosen.sum())}
        )
    return out


def _l_diversity(frame: pd.DataFrame, quasi_identifiers: list[str], attribute: str) -> dict:
    if attribute not in frame.columns:
        raise ValueError(f"Sensitive attribute not in the table: {attribute}")
    if not quasi_identifiers:
        distinct = int(frame[attribute].nunique(dropna=False))
        return {"min_l": distinct, "classes_with_l_1": int(distinct == 1)}
    keys = frame[quasi_identifiers].astype("string").fillna("\x00missing")
    per_class = frame[attribute].astype("string").fillna("\x00missing").groupby([keys[c] for c in quasi_identifiers], sort=False).nunique()
    return {"min_l": int(per_class.min()), "classes_with_l_1": int((per_class == 1).sum())}


def uncounted_risk(frame: pd.DataFrame, *, rules: dict, k: int) -> dict:
    """What a policy's risk leaves out: the columns kept but not counted as quasi-identifiers, and the risk if an
    attacker knew every one of them (every kept column but the sensitive ones and cleaned free text), so that a
    report on a few quasi-identifiers cannot reassure on its own."""
    counted = set(rules.get("quasi_identifiers", []))
    sensitive = set(rules.get("sensitive", []))
    text = {name for name, rule in rules.get("columns", {}).items() if rule.get("operator") == "replace_entities"}
    kept = [c for c in frame.columns if frame[c].notna().any() and c not in text]
    worst = risk_report(frame, quasi_identifiers=[c for c in kept if c not in sensitive], k=k)
    worst.pop("class_size_histogram", None)
    return {"risk_not_counted": [c for c in kept if c not in counted and c not in sensitive], "risk_worst_case": worst}
