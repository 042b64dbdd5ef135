"""Hostile request sequences against the airlock, written as an attacker whose only entry is release requests.

Each attack is a sequence of declared queries, all approved and released by the owner (the worst case: every request
looks ordinary), and a recipe that computes the target's secret from the released views the way the attacker would.
A recipe raises `Held` when a cell it needs was not released. An attack *reveals* when every cell it needs was
released and its estimate lands on the secret (exactly for counts and flags, within 1 % for money, 0.5 for ages);
it *narrows* when the estimate lands within 10 % (the p-ratio rule's protection), or two years of an age. Anything else
is held.

Classes (the issue's, and more):
  difference   — two or more ordinary requests subtracted (band edges, filters, complements, trackers, totals)
  mixing       — a measure that is also a group key or a share of a flag, combined with counts
  margins      — a table that carries its own totals, "other" buckets and crosstabs with margins
  zeros        — definitions that differ only by a region with nobody in it
  magnitude    — outliers behind sums, spreads and nested differences (dominance)
  regression   — coefficients that pass through one person (flags, few-valued predictors, differencing fits)
  oracle       — what held-back cells, refusals and marks tell over many requests
  direct       — simply asking for the group of one
"""

from collections.abc import Callable
from dataclasses import dataclass

from tests.airlock.patients import DIAGNOSES, DISTRICTS, LEAKED_STUDY, LONE_DISTRICT, RARE


class Held(Exception):
    """A cell the recipe needs was not released."""


@dataclass(frozen=True)
class Attack:
    name: str
    kind: str  # the class
    target: str  # oldest | rare | outlier | leaked | lone
    secret: str  # the target's column the attack is after
    queries: tuple
    recipe: Callable  # (views, known) -> estimate; `known`: the target's other columns, as an attacker may know them


def value(view: dict, labels: list, header: str):
    """A released value from an analyst's view; Held if it was not released (or the view is missing)."""
    if view is None:
        raise Held
    k = view["index_columns"]
    if header not in view["columns"]:
        raise Held
    j = view["columns"].index(header)
    for row in view["rows"]:
        if [str(x) for x in row[:k]] == [str(x) for x in labels]:
            if row[j] is None:
                raise Held
            return row[j]
    raise Held


def q(measures, *, groups=(), filters=(), margins=False):
    return {"kind": "table", "groups": list(groups), "measures": list(measures), "filters": list(filters), "margins": margins}


COUNT = {"statistic": "count"}


def stat(statistic, column):
    return {"statistic": statistic, "column": column}


def f(column, op, val=None):
    return {"column": column, "op": op, "value": val} if val is not None else {"column": column, "op": op}


# how each target is singled out, and its complement
SELECT = {
    "oldest": (f("age", ">=", 100), f("age", "<", 100)),
    "rare": (f("diagnosis", "==", RARE), f("diagnosis", "!=", RARE)),
    "outlier": (f("cost", ">=", 100_000), f("cost", "<", 100_000)),
    "leaked": (f("study_number", "==", LEAKED_STUDY), f("study_number", "!=", LEAKED_STUDY)),
    "lone": (f("district", "==", LONE_DISTRICT), f("district", "!=", LONE_DISTRICT)),
}
SECRETS = {"oldest": ("cost", "hiv"), "rare": ("cost", "age"), "outlier": ("cost",), "leaked": ("hiv", "cost"), "lone": ("died", "cost")}
FLAGS = ("hiv", "died", "smoker")


COST_STEPS = (20_000, 40_000, 80_000, 160_000, 240_000, 250_000, 251_000, 251_340, 251_341)
AGE_STEPS = (90, 95, 98, 100, 102, 103, 104)


def _boundary(views, steps):
    """The attacker's guess of a maximum: the first threshold above which the count was held back (the last one if
    none was)."""
    for view, step in zip(views, steps, strict=True):
        try:
            value(view, [], "count")
        except Held:
            return step
    return steps[-1]


def _outlier_from_ward(views, known):
    """The outlier's cost as its ward's cell less the others at the hospital's mean (the attacker knows its ward)."""
    ward_sum, ward_n = value(views[0], [known["ward"]], "sum of cost"), value(views[0], [known["ward"]], "count")
    mean = value(views[1], [], "sum of cost") / value(views[1], [], "count")
    return ward_sum - (ward_n - 1) * mean


def _from_spread(mean, variance, n):
    """One value far above the rest dominates a spread: x ≈ mean + sqrt(variance·(n−1))."""
    return mean + (variance * (n - 1)) ** 0.5


def attacks(frame=None) -> list[Attack]:
    """The suite; given the table, trackers use each target's own sex (as an attacker who knows it would)."""
    from tests.airlock.patients import patients, targets

    people = targets(frame if frame is not None else patients())
    out: list[Attack] = []
    add = out.append
    # --- direct ------------------------------------------------------------------------------------------------
    for target, (chosen, _) in SELECT.items():
        for secret in SECRETS[target]:
            statistic = "mean" if secret in ("cost", "age") else "sum"
            header = f"{statistic} of {secret}"
            add(
                Attack(
                    f"direct {statistic} of {secret} for the {target}",
                    "direct",
                    target,
                    secret,
                    (q([stat(statistic, secret)], filters=[chosen]),),
                    lambda v, k=None, h=header: value(v[0], [], h),
                )
            )
    # --- difference: total minus complement ----------------------------------------------------------------------
    for target, (_, complement) in SELECT.items():
        for secret in SECRETS[target]:
            header = f"sum of {secret}"
            add(
                Attack(
                    f"total minus complement: sum of {secret} for the {target}",
                    "difference",
                    target,
                    secret,
                    (q([stat("sum", secret)]), q([stat("sum", secret)], filters=[complement])),
                    lambda v, k=None, h=header: value(v[0], [], h) - value(v[1], [], h),
                )
            )
    # --- difference: means and counts (mean × n) -----------------------------------------------------------------
    for target, (_, complement) in SELECT.items():
        secret = SECRETS[target][0]
        header = f"mean of {secret}"
        add(
            Attack(
                f"means times counts: {secret} of the {target}",
                "difference",
                target,
                secret,
                (q([stat("mean", secret), COUNT]), q([stat("mean", secret), COUNT], filters=[complement])),
                lambda v, k=None, h=header: value(v[0], [], h) * value(v[0], [], "count") - value(v[1], [], h) * value(v[1], [], "count"),
            )
        )
    # --- difference: band edges (the example and its kin) ----------------------------------------------
    add(
        Attack(
            "age bands ending at 100, then at 110: cost of the oldest",
            "difference",
            "oldest",
            "cost",
            (
                q([stat("sum", "cost")], groups=[{"column": "age", "bins": [40, 60, 80, 100]}]),
                q([stat("sum", "cost")], groups=[{"column": "age", "bins": [40, 60, 80, 110]}]),
            ),
            lambda v, k=None: value(v[1], ["80 to < 110"], "sum of cost") - value(v[0], ["80 to < 100"], "sum of cost"),
        )
    )
    add(
        Attack(
            "age bands ending at 100, then at 110: HIV of the oldest",
            "difference",
            "oldest",
            "hiv",
            (
                q([stat("sum", "hiv")], groups=[{"column": "age", "bins": [50, 75, 100]}]),
                q([stat("sum", "hiv")], groups=[{"column": "age", "bins": [50, 75, 110]}]),
            ),
            lambda v, k=None: value(v[1], ["75 to < 110"], "sum of hiv") - value(v[0], ["75 to < 100"], "sum of hiv"),
        )
    )
    add(
        Attack(
            "right-closed bands at 100 and 104: cost of the oldest",
            "difference",
            "oldest",
            "cost",
            (
                q([stat("sum", "cost")], groups=[{"column": "age", "bins": [60, 100], "closed": "right"}]),
                q([stat("sum", "cost")], groups=[{"column": "age", "bins": [60, 104], "closed": "right"}]),
            ),
            lambda v, k=None: value(v[1], ["> 60 to 104"], "sum of cost") - value(v[0], ["> 60 to 100"], "sum of cost"),
        )
    )
    add(
        Attack(
            "two between filters one year apart: cost of the oldest",
            "difference",
            "oldest",
            "cost",
            (
                q([stat("sum", "cost")], filters=[f("age", "between", [80, 104])]),
                q([stat("sum", "cost")], filters=[f("age", "between", [80, 103])]),
            ),
            lambda v, k=None: value(v[0], [], "sum of cost") - value(v[1], [], "sum of cost"),
        )
    )
    add(
        Attack(
            "cost bands below and above the outlier: its cost",
            "difference",
            "outlier",
            "cost",
            (
                q([stat("sum", "cost")], groups=[{"column": "cost", "bins": [5000, 50000]}]),
                q([stat("sum", "cost")], groups=[{"column": "cost", "bins": [5000, 300000]}]),
            ),
            lambda v, k=None: value(v[0], ["≥ 50000"], "sum of cost"),
        )
    )
    # --- difference: trackers (a big group with and without the target) --------------------------------------
    for target, (_, complement) in SELECT.items():
        for secret in SECRETS[target]:
            sex = people[target]["sex"]
            header = f"sum of {secret}"
            add(
                Attack(
                    f"tracker on sex {sex}: {secret} of the {target}",
                    "difference",
                    target,
                    secret,
                    (
                        q([stat("sum", secret)], filters=[f("sex", "==", sex)]),
                        q([stat("sum", secret)], filters=[f("sex", "==", sex), complement]),
                    ),
                    lambda v, k=None, h=header: value(v[0], [], h) - value(v[1], [], h),
                )
            )
    # --- difference: requests split over time (one ward at a time, then the total) ------------------------------
    add(
        Attack(
            "ward by ward in eight requests, then the hospital: cost of the lone district's patient",
            "difference",
            "lone",
            "cost",
            tuple(q([stat("sum", "cost")], filters=[f("ward", "==", w), SELECT["lone"][1]]) for w in "ABCDEFGH")
            + (q([stat("sum", "cost")]),),
            lambda v, k=None: value(v[8], [], "sum of cost") - sum(value(v[i], [], "sum of cost") for i in range(8)),
        )
    )
    add(
        Attack(
            "district by district, then the total: died of the lone district's patient",
            "difference",
            "lone",
            "died",
            (q([stat("sum", "died")], groups=[{"column": "district", "values": DISTRICTS}]), q([stat("sum", "died")])),
            lambda v, k=None: value(v[1], [], "sum of died") - sum(value(v[0], [d], "sum of died") for d in DISTRICTS),
        )
    )
    add(
        Attack(
            "two crossing tables with the complement in one: HIV of the leaked study number",
            "difference",
            "leaked",
            "hiv",
            (
                q([stat("sum", "hiv")], groups=[{"column": "sex", "values": ["F", "M"]}]),
                q([stat("sum", "hiv")], groups=[{"column": "sex", "values": ["F", "M"]}], filters=[SELECT["leaked"][1]]),
            ),
            lambda v, k=None: sum(value(v[0], [s], "sum of hiv") - value(v[1], [s], "sum of hiv") for s in ("F", "M")),
        )
    )
    # --- mixing -----------------------------------------------------------------------------------------------
    for target in ("oldest", "leaked", "lone"):
        flag = "hiv" if target != "lone" else "died"
        chosen, complement = SELECT[target]
        add(
            Attack(
                f"count by {flag} with the target, sum of {flag} without: {flag} of the {target}",
                "mixing",
                target,
                flag,
                (q([COUNT], groups=[{"column": flag, "values": [True, False]}]), q([stat("sum", flag)], filters=[complement])),
                lambda v, k=None, fl=flag: value(v[0], ["true"], "count") - value(v[1], [], f"sum of {fl}"),
            )
        )
        add(
            Attack(
                f"share of {flag} with and without: {flag} of the {target}",
                "mixing",
                target,
                flag,
                (q([stat("mean", flag), COUNT]), q([stat("mean", flag), COUNT], filters=[complement])),
                lambda v, k=None, fl=flag: (
                    value(v[0], [], f"mean of {fl}") * value(v[0], [], "count")
                    - value(v[1], [], f"mean of {fl}") * value(v[1], [], "count")
                ),
            )
        )
    add(
        Attack(
            "count by stage, then the sum of stage without the oldest: the oldest's stage",
            "mixing",
            "oldest",
            "stage",
            (q([COUNT], groups=[{"column": "stage", "values": [1, 2, 3, 4]}]), q([stat("sum", "stage")], filters=[SELECT["oldest"][1]])),
            lambda v, k=None: sum(s * value(v[0], [s], "count") for s in (1, 2, 3, 4)) - value(v[1], [], "sum of stage"),
        )
    )
    add(
        Attack(
            "age as a key and as a measure: the oldest's age",
            "mixing",
            "oldest",
            "age",
            (
                q([stat("sum", "age")], groups=[{"column": "age", "bins": [90]}]),
                q([stat("sum", "age")], groups=[{"column": "age", "bins": [90, 100]}]),
            ),
            lambda v, k=None: value(v[0], ["≥ 90"], "sum of age") - value(v[1], ["90 to < 100"], "sum of age"),
        )
    )
    # --- margins and "other" buckets ------------------------------------------------------------------------
    add(
        Attack(
            "diagnosis with an 'other' bucket: the rare diagnosis' cost",
            "margins",
            "rare",
            "cost",
            (q([stat("mean", "cost")], groups=[{"column": "diagnosis", "values": DIAGNOSES, "other": True}]),),
            lambda v, k=None: value(v[0], ["(other values)"], "mean of cost"),
        )
    )
    add(
        Attack(
            "diagnosis without the rare one, then the total: its cost",
            "margins",
            "rare",
            "cost",
            (q([stat("sum", "cost")], groups=[{"column": "diagnosis", "values": DIAGNOSES}]), q([stat("sum", "cost")])),
            lambda v, k=None: value(v[1], [], "sum of cost") - sum(value(v[0], [d], "sum of cost") for d in DIAGNOSES),
        )
    )
    add(
        Attack(
            "sex by diagnosis with margins: the rare diagnosis' HIV",
            "margins",
            "rare",
            "hiv",
            (
                q(
                    [stat("sum", "hiv")],
                    groups=[{"column": "sex", "values": ["F", "M"]}, {"column": "diagnosis", "values": [RARE, *DIAGNOSES]}],
                    margins=True,
                ),
            ),
            lambda v, k=None: value(v[0], ["(all)", RARE], "sum of hiv"),
        )
    )
    add(
        Attack(
            "district by died with margins: whether the lone district's patient died",
            "margins",
            "lone",
            "died",
            (
                q(
                    [COUNT],
                    groups=[{"column": "district", "values": [*DISTRICTS, LONE_DISTRICT]}, {"column": "died", "values": [True, False]}],
                    margins=True,
                ),
            ),
            lambda v, k=None: value(v[0], [LONE_DISTRICT, "true"], "count"),
        )
    )
    add(
        Attack(
            "district margins minus the declared districts: the lone district's cost",
            "margins",
            "lone",
            "cost",
            (
                q(
                    [stat("sum", "cost")],
                    groups=[{"column": "district", "values": DISTRICTS}, {"column": "sex", "values": ["F", "M"]}],
                    margins=True,
                ),
                q([stat("sum", "cost")]),
            ),
            lambda v, k=None: value(v[1], [], "sum of cost") - sum(value(v[0], [d, "(all)"], "sum of cost") for d in DISTRICTS),
        )
    )
    add(
        Attack(
            "a table and its complement table: the leaked study number's cost",
            "margins",
            "leaked",
            "cost",
            (
                q([stat("sum", "cost")], groups=[{"column": "ward", "values": list("ABCDEFGH")}]),
                q([stat("sum", "cost")], groups=[{"column": "ward", "values": list("ABCDEFGH")}], filters=[SELECT["leaked"][1]]),
            ),
            lambda v, k=None: sum(value(v[0], [w], "sum of cost") - value(v[1], [w], "sum of cost") for w in "ABCDEFGH"),
        )
    )
    # --- zeros --------------------------------------------------------------------------------------------------
    for target, flag in (("oldest", "hiv"), ("leaked", "hiv"), ("rare", "hiv"), ("lone", "died")):
        _, complement = SELECT[target]
        for truth in (True, False):
            add(
                Attack(
                    f"count of {flag}={truth} with and without the {target} (a zero if the other way)",
                    "zeros",
                    target,
                    flag,
                    (
                        q([COUNT], groups=[{"column": flag, "values": [truth]}]),
                        q([COUNT], groups=[{"column": flag, "values": [truth]}], filters=[complement]),
                    ),
                    lambda v, k=None, t=truth: (value(v[0], [str(t).lower()], "count") - value(v[1], [str(t).lower()], "count") == 0) != t,
                )
            )
    # --- magnitude ----------------------------------------------------------------------------------------------
    add(
        Attack(
            "sum of cost by ward in the outlier's age years: its cell, less the others at the mean",
            "magnitude",
            "outlier",
            "cost",
            (
                q(
                    [stat("sum", "cost"), COUNT],
                    groups=[{"column": "ward", "values": list("ABCDEFGH")}],
                    filters=[f("age", "between", [70, 72])],
                ),
                q([stat("sum", "cost"), COUNT]),
            ),
            lambda v, k: _outlier_from_ward(v, k),
        )
    )
    add(
        Attack(
            "spread of cost by ward: the outlier shows in its ward's standard deviation",
            "magnitude",
            "outlier",
            "cost",
            (q([stat("std", "cost"), stat("mean", "cost"), COUNT], groups=[{"column": "ward", "values": list("ABCDEFGH")}]),),
            lambda v, k: _from_spread(
                value(v[0], [k["ward"]], "mean of cost"), value(v[0], [k["ward"]], "std of cost") ** 2, value(v[0], [k["ward"]], "count")
            ),
        )
    )
    add(
        Attack(
            "variance of cost in the outlier's age year",
            "magnitude",
            "outlier",
            "cost",
            (q([stat("var", "cost"), stat("mean", "cost"), COUNT], filters=[f("age", "between", [70, 72])]),),
            lambda v, k=None: _from_spread(value(v[0], [], "mean of cost"), value(v[0], [], "var of cost"), value(v[0], [], "count")),
        )
    )
    add(
        Attack(
            "nested age ranges around the outlier: a dominated difference",
            "magnitude",
            "outlier",
            "cost",
            (
                q([stat("sum", "cost")], filters=[f("age", "between", [65, 77]), f("ward", "==", people["outlier"]["ward"])]),
                q([stat("sum", "cost")], filters=[f("age", "between", [65, 70]), f("ward", "==", people["outlier"]["ward"])]),
                q([stat("sum", "cost")], filters=[f("age", "between", [72, 77]), f("ward", "==", people["outlier"]["ward"])]),
            ),
            lambda v, k=None: value(v[0], [], "sum of cost") - value(v[1], [], "sum of cost") - value(v[2], [], "sum of cost"),
        )
    )
    add(
        Attack(
            "median cost with and without the outlier",
            "magnitude",
            "outlier",
            "cost",
            (
                q([stat("median", "cost"), stat("mean", "cost"), COUNT]),
                q([stat("median", "cost"), stat("mean", "cost"), COUNT], filters=[SELECT["outlier"][1]]),
            ),
            lambda v, k=None: (
                value(v[0], [], "mean of cost") * value(v[0], [], "count") - value(v[1], [], "mean of cost") * value(v[1], [], "count")
            ),
        )
    )
    add(
        Attack(
            "distinct diagnoses in the lone district",
            "magnitude",
            "lone",
            "diagnosis",
            (q([stat("distinct", "diagnosis"), COUNT], filters=[SELECT["lone"][0]]),),
            lambda v, k=None: value(v[0], [], "distinct of diagnosis"),
        )
    )
    # --- regression --------------------------------------------------------------------------------------------
    add(
        Attack(
            "regression with the lone district as a categorical level",
            "regression",
            "lone",
            "cost",
            ({"kind": "regression", "target": "cost", "predictors": ["age", {"column": "district", "values": ["AB1", LONE_DISTRICT]}]},),
            lambda v, k=None: value(v[0], ["(intercept)"], "coefficient") + value(v[0], [f"district = {LONE_DISTRICT}"], "coefficient"),
        )
    )
    add(
        Attack(
            "two regressions on HIV, with and without the oldest, and the HIV count: the oldest's cost",
            "regression",
            "oldest",
            "cost",
            (
                {"kind": "regression", "target": "cost", "predictors": ["hiv"]},
                {"kind": "regression", "target": "cost", "predictors": ["hiv"], "filters": [SELECT["oldest"][1]]},
                q([COUNT], groups=[{"column": "hiv", "values": [True]}]),
            ),
            lambda v, k=None: (
                value(v[2], ["true"], "count") * (value(v[0], ["(intercept)"], "coefficient") + value(v[0], ["hiv"], "coefficient"))
                - (value(v[2], ["true"], "count") - 1) * (value(v[1], ["(intercept)"], "coefficient") + value(v[1], ["hiv"], "coefficient"))
            ),
        )
    )
    add(
        Attack(
            "regression on stage and every district, the lone one a level held by one: its cost",
            "regression",
            "lone",
            "cost",
            (
                {
                    "kind": "regression",
                    "target": "cost",
                    "predictors": ["stage", {"column": "district", "values": [*DISTRICTS, LONE_DISTRICT]}],
                },
            ),
            lambda v, k: (
                value(v[0], ["(intercept)"], "coefficient")
                + k["stage"] * value(v[0], ["stage"], "coefficient")
                + value(v[0], [f"district = {LONE_DISTRICT}"], "coefficient")
            ),
        )
    )
    add(
        Attack(
            "regression among the oldest patients: high leverage",
            "regression",
            "oldest",
            "cost",
            ({"kind": "regression", "target": "cost", "predictors": ["age"], "filters": [f("age", ">=", 96)]},),
            lambda v, k=None: value(v[0], ["(intercept)"], "coefficient") + 104 * value(v[0], ["age"], "coefficient"),
        )
    )
    add(
        Attack(
            "regression with a diagnosis level held by one",
            "regression",
            "rare",
            "cost",
            ({"kind": "regression", "target": "cost", "predictors": [{"column": "diagnosis", "values": ["Pneumonia", RARE]}]},),
            lambda v, k=None: value(v[0], ["(intercept)"], "coefficient") + value(v[0], [f"diagnosis = {RARE}"], "coefficient"),
        )
    )
    # --- oracle ------------------------------------------------------------------------------------------------------
    add(
        Attack(
            "binary search for the highest cost over released and held-back counts",
            "oracle",
            "outlier",
            "cost",
            tuple(q([COUNT], filters=[f("cost", ">", x)]) for x in COST_STEPS),
            lambda v, k=None: _boundary(v, COST_STEPS),
        )
    )
    add(
        Attack(
            "binary search for the oldest age over released and held-back counts",
            "oracle",
            "oldest",
            "age",
            tuple(q([COUNT], filters=[f("age", ">", x)]) for x in AGE_STEPS),
            lambda v, k=None: _boundary(v, AGE_STEPS),
        )
    )
    return out


def judge(attack: Attack, views: list, target) -> str:
    """'revealed', 'narrowed' or 'held' (see the module's docstring); `target` is the target's row."""
    known = {name: target[name] for name in target.index if name != attack.secret}
    try:
        estimate = attack.recipe(views, known)
    except Held:
        return "held"
    truth = target[attack.secret]
    if isinstance(estimate, bool) or attack.secret in ("diagnosis",):
        return "revealed"
    if isinstance(truth, bool) or attack.secret in FLAGS or attack.secret in ("stage",):
        return "revealed" if round(float(estimate)) == int(truth) else "held"
    error = abs(float(estimate) - float(truth))
    if error <= (0.5 if attack.secret == "age" else 0.01 * abs(float(truth))):
        return "revealed"
    if error <= (2.0 if attack.secret == "age" else 0.10 * abs(float(truth))):
        return "narrowed"
    return "held"
