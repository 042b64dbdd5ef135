"""A realistic table of 2,000 hospital patients with planted targets, for the airlock's hostile-request suite.

Built with numpy from a fixed seed (no Faker: the rules under test are not word lists). The targets are the people an
attacker goes after: the oldest patient, the only patient with a rare diagnosis, a cost outlier, a patient whose study
number leaked, and the only patient of a postcode district."""

import numpy as np
import pandas as pd

N = 2000
DIAGNOSES = [
    "Pneumonia", "Heart failure", "Hip fracture", "COPD", "Stroke", "Sepsis", "Diabetes", "Asthma", "Appendicitis",
    "Cellulitis", "Kidney stones", "Angina", "Atrial fibrillation", "Gastroenteritis", "Migraine",
]  # fmt: skip
RARE = "Creutzfeldt-Jakob disease"
DISTRICTS = [f"{area}{number}" for area in ("AB", "CD", "EF", "GH") for number in range(1, 6)]
LONE_DISTRICT = "ZZ9"
LEAKED_STUDY = "S-01234"


def patients(seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(62, 17, N).round(), 18, 96).astype(int)
    frame = pd.DataFrame(
        {
            "study_number": [f"S-{i:05d}" for i in rng.permutation(np.arange(10_000, 10_000 + N))],
            "sex": rng.choice(["F", "M"], N),
            "age": age,
            "district": rng.choice(DISTRICTS, N),
            "diagnosis": rng.choice(DIAGNOSES, N),
            "ward": rng.choice(list("ABCDEFGH"), N),
            "admitted": pd.to_datetime("2019-01-01") + pd.to_timedelta(rng.integers(0, 6 * 365, N), unit="D"),
            "length_of_stay": np.clip(rng.gamma(2.0, 3.5, N).round(), 1, 60).astype(int),
            "cost": (rng.lognormal(8.3, 0.6, N)).round(2),
            "smoker": rng.random(N) < 0.22,
            "hiv": rng.random(N) < 0.04,
            "died": rng.random(N) < 0.12,
            "stage": rng.integers(1, 5, N),
            "bmi": np.where(rng.random(N) < 0.08, np.nan, rng.normal(27, 5, N).round(1)),
        }
    )
    # the targets, each a different person
    people = rng.choice(np.arange(N), 5, replace=False)
    frame.loc[people[0], ["age", "cost", "hiv", "diagnosis"]] = [104, 18437.25, True, "Pneumonia"]  # the oldest
    frame.loc[people[1], ["diagnosis", "age", "cost", "hiv"]] = [RARE, 47, 23911.80, False]  # the only rare diagnosis
    frame.loc[people[2], ["cost", "age"]] = [251_340.55, 71]  # a cost outlier
    frame.loc[people[3], ["study_number", "hiv", "cost"]] = [LEAKED_STUDY, True, 9120.40]  # a leaked study number
    frame.loc[people[4], ["district", "diagnosis", "cost", "died"]] = [LONE_DISTRICT, "Sepsis", 31055.10, True]  # a lone district
    return frame


def targets(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Each target's row, found as the attacker would describe them."""
    return {
        "oldest": frame.loc[frame["age"].idxmax()],
        "rare": frame.loc[(frame["diagnosis"] == RARE).idxmax()],
        "outlier": frame.loc[frame["cost"].idxmax()],
        "leaked": frame.loc[(frame["study_number"] == LEAKED_STUDY).idxmax()],
        "lone": frame.loc[(frame["district"] == LONE_DISTRICT).idxmax()],
    }
