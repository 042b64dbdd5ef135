"""Attacker driver: runs declared queries through the airlock's checker with a per-sequence ledger."""

import os, sys, json, base64, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
os.environ.setdefault("WORKBENCH_SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("WORKBENCH_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
os.environ.setdefault("WORKBENCH_DATA_DIR", os.path.abspath("data"))
os.environ.setdefault("WORKBENCH_DATABASE_URL", "sqlite:///" + os.path.abspath("db.sqlite3"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
import django

django.setup()
import pyarrow.parquet as pq
import pandas as pd
from workbench.datasets.commandline import ingested
from workbench.releases.checker import Entry, check
from workbench.releases.disclosure import Rules, released_view
from workbench.releases.query import QueryError, column_kinds, parse

_frames = {}


def frame(path=os.environ.get("ATTACKER_TABLE", os.path.abspath("patients.csv"))):
    if path not in _frames:
        with ingested(path) as (parquet, _):
            _frames[path] = pq.read_table(parquet).to_pandas(date_as_object=False)
    return _frames[path]


RULES = Rules.from_policy({"disclosure": {}})


class Seq:
    """One attack sequence = one ledger."""

    def __init__(self, path=os.environ.get("ATTACKER_TABLE", os.path.abspath("patients.csv")), name=None):
        self.path = path
        self.entries = []
        self.log = []
        self.name = name

    def ask(self, query, owner=False):
        fr = frame(self.path)
        t = time.time()
        try:
            declared = parse(query, column_kinds(fr))
        except QueryError as e:
            self.log.append((query, {"error": str(e)}))
            return {"error": str(e)}
        checked = check(declared, fr, RULES, list(self.entries))
        self.entries += [Entry.from_json(e) if isinstance(e, dict) else e for e in checked["entries"]]
        view = released_view(checked)
        view["_seconds"] = round(time.time() - t, 2)
        self.log.append((query, view))
        if owner:
            return view, checked
        return view


def val(view, labels, header):
    """released value or None"""
    if "error" in view:
        return None
    k = view["index_columns"]
    if header not in view["columns"]:
        return None
    j = view["columns"].index(header)
    for row in view["rows"]:
        if [str(x) for x in row[:k]] == [str(x) for x in labels]:
            return row[j]
    raise KeyError((labels, header, [r[:k] for r in view["rows"]]))


def show(view):
    if "error" in view:
        return "ERROR: " + view["error"]
    out = [" | ".join(view["columns"])]
    for r in view["rows"]:
        out.append(" | ".join(str(x) for x in r))
    return "\n".join(out)


def T(measures, groups=(), filters=(), margins=False):
    return {"kind": "table", "groups": list(groups), "measures": list(measures), "filters": list(filters), "margins": margins}


C = {"statistic": "count"}


def S(stat, col):
    return {"statistic": stat, "column": col}


def F(col, op, v=None):
    return {"column": col, "op": op, "value": v} if v is not None else {"column": col, "op": op}


def R(target, preds, filters=()):
    return {"kind": "regression", "target": target, "predictors": list(preds), "filters": list(filters)}
