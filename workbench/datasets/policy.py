"""A dataset's privacy policy: which tiers each role reads, the interpreter's tier, k, the DP budget, how many owners
review a release and the disclosure rules. Owners change it; every change is audited with what changed."""

from django.conf import settings
from django.db import transaction

from workbench.audit.actions import record_event
from workbench.datasets.models import Dataset, default_policy
from workbench.errors import Refused
from workbench.releases.disclosure import Rules, validate_rules

SAFE_TIERS = ("ANONYMIZED", "SYNTHETIC")


def effective(policy: dict) -> dict:
    """The policy with every default filled in, as the pages and the report show it."""
    merged = default_policy() | dict(policy)
    merged.setdefault("release_reviewers", 1)
    merged.setdefault("release_mode", "rules")
    merged.setdefault("release_epsilon", settings.RELEASE_EPSILON)
    merged.setdefault("dp_budget", {"epsilon": settings.DP_BUDGET_EPSILON, "delta": settings.DP_BUDGET_DELTA})
    merged["disclosure"] = Rules.from_policy(policy).as_json()
    return merged


def validate(policy: dict) -> list[str]:
    problems = []
    tiers = policy.get("readable_tiers", {})
    if not isinstance(tiers, dict) or set(tiers) - {"analyst", "viewer"}:
        problems.append("readable_tiers names the tiers of 'analyst' and 'viewer' only (owners read every tier).")
    else:
        for role, names in tiers.items():
            if not isinstance(names, list) or set(names) - set(SAFE_TIERS):
                problems.append(f"{role}s may be given ANONYMIZED and SYNTHETIC only; RAW is granted per member, by an owner.")
    if policy.get("interpreter_tier", "SYNTHETIC") not in SAFE_TIERS:
        problems.append("The interpreter works on ANONYMIZED or SYNTHETIC, never RAW.")
    k = policy.get("k", 5)
    if not isinstance(k, int) or isinstance(k, bool) or not 2 <= k <= 1000:
        problems.append("k must be a whole number from 2 to 1000.")
    budget = policy.get("dp_budget", {})
    epsilon, delta = budget.get("epsilon", 1.0), budget.get("delta", 0.0)
    if not isinstance(epsilon, int | float) or isinstance(epsilon, bool) or not 0 < epsilon <= 100:
        problems.append("The DP budget's ε must be a number above 0 and at most 100.")
    if not isinstance(delta, int | float) or isinstance(delta, bool) or not 0 <= delta <= 1e-3:
        problems.append("The DP budget's δ must be from 0 to 0.001.")
    if policy.get("release_reviewers", 1) not in (1, 2):
        problems.append("A release needs 1 or 2 owners' approval.")
    if policy.get("release_mode", "rules") not in ("rules", "dp"):
        problems.append("Releases are answered by the rules ('rules') or with differential privacy ('dp').")
    release_epsilon = policy.get("release_epsilon", settings.RELEASE_EPSILON)
    if not isinstance(release_epsilon, int | float) or isinstance(release_epsilon, bool) or not 0 < release_epsilon <= 10:
        problems.append("The ε of one release must be a number above 0 and at most 10.")
    disclosure = policy.get("disclosure", {})
    problems += validate_rules(disclosure) if isinstance(disclosure, dict) else ["disclosure must be an object of rules."]
    unknown = set(policy) - {
        "readable_tiers",
        "interpreter_tier",
        "k",
        "dp_budget",
        "release_reviewers",
        "release_mode",
        "release_epsilon",
        "disclosure",
    }
    if unknown:
        problems.append(f"Unknown policy setting(s): {', '.join(sorted(unknown))}.")
    return problems


def from_form(data) -> dict:
    """A policy from the owner console's form fields (a QueryDict); values that do not parse stay as text so that
    `validate` names them."""

    def number(name, kind):
        text = (data.get(name) or "").strip()
        try:
            return kind(text)
        except ValueError:
            return text

    disclosure = {name: number(name, int) for name in ("threshold", "rounding_base", "nk_n", "min_dof")}
    disclosure |= {name: number(name, float) for name in ("nk_k", "p_ratio")}
    disclosure |= {name: number(name, int) for name in ("digits",) if name in data}
    disclosure |= {name: number(name, float) for name in ("max_leverage", "max_share") if name in data}
    disclosure |= {"zeros_disclosive": data.get("zeros_disclosive") == "on", "allow_extremes": data.get("allow_extremes") == "on"}
    return {
        "readable_tiers": {role: [t for t in SAFE_TIERS if data.get(f"{role}_{t}") == "on"] for role in ("analyst", "viewer")},
        "interpreter_tier": data.get("interpreter_tier", "SYNTHETIC"),
        "k": number("k", int),
        "dp_budget": {"epsilon": number("epsilon", float), "delta": number("delta", float)},
        "release_reviewers": number("release_reviewers", int),
        "release_mode": data.get("release_mode", "rules"),
        "release_epsilon": number("release_epsilon", float) if "release_epsilon" in data else settings.RELEASE_EPSILON,
        "disclosure": disclosure,
    }


def set_policy(*, dataset: Dataset, user, policy: dict) -> Dataset:
    problems = validate(policy)
    if problems:
        raise Refused(" ".join(problems))
    before = effective(dataset.policy)
    after = effective(policy)
    changed = {name: {"from": before.get(name), "to": after.get(name)} for name in after if before.get(name) != after.get(name)}
    with transaction.atomic():
        Dataset.objects.filter(pk=dataset.pk).update(policy=policy)
        record_event(actor=user, action="policy.change", obj=dataset, workspace_id=dataset.workspace_id, details={"changed": changed})
    dataset.policy = policy
    return dataset
