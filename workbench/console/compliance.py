"""The compliance report a data protection officer asks for, per dataset: what was uploaded, what the scan found,
the policy, re-identification risk before and after anonymisation, the synthetic copies' evaluation, ε spent, and
every release with who asked and who approved. Column names, counts and scores only: never a cell value (the scan's
masked examples stay out too)."""

from django.utils import timezone

from workbench.audit.models import AuditEvent
from workbench.datasets.models import Tier
from workbench.datasets.policy import effective
from workbench.privacy.actions import read_scan
from workbench.releases.actions import read_checked
from workbench.synthesis import ledger


def build(dataset) -> dict:
    versions = list(dataset.versions.select_related("created_by", "parent").order_by("number"))
    return {
        "generated_at": timezone.now(),
        "dataset": {
            "id": dataset.pk,
            "name": dataset.name,
            "workspace": dataset.workspace.name,
            "created_at": dataset.created_at,
            "created_by": _who(dataset.created_by),
        },
        "members": [
            {"user": m.user.username, "role": m.role, "reads_raw": m.role == "owner" or m.can_read_raw}
            for m in dataset.workspace.memberships.select_related("user")
        ],
        "uploads": [_upload(v) for v in versions if v.tier == Tier.RAW],
        "scans": [s for s in (_scan(v) for v in versions) if s],
        "policy": effective(dataset.policy),
        "anonymized": [_anonymized(v) for v in versions if v.tier == Tier.ANONYMIZED],
        "synthetic": [_synthetic(v) for v in versions if v.tier == Tier.SYNTHETIC],
        "privacy_budget": ledger.summary(dataset),
        "releases": [_release(r) for r in dataset.release_requests.select_related("requested_by", "decided_by").order_by("created_at")],
        "events": AuditEvent.objects.filter(workspace_id=dataset.workspace_id).count(),
    }


def _who(user) -> str:
    return user.username if user else "—"


def _upload(version) -> dict:
    made = version.made_by
    return {
        "version": version.number,
        "file": made.get("filename", ""),
        "format": made.get("format", ""),
        "rows": version.row_count,
        "columns": version.column_count,
        "by": _who(version.created_by),
        "at": version.created_at,
    }


def _scan(version) -> dict | None:
    scan = read_scan(version)
    if not scan:
        return None
    found = [
        {"column": c["name"], "kind": c["kind"], "entity": c.get("entity") or "", "confidence": c.get("confidence")}
        for c in scan.get("columns", [])
        if c.get("kind") != "other"
    ]
    return {
        "version": version.number,
        "tier": version.tier,
        "at": version.scanned_at,
        "found": found,
        "direct": scan.get("direct_identifiers", []),
        "quasi": scan.get("quasi_identifiers", []),
        "free_text": scan.get("free_text", []),
    }


def _risk(report: dict | None) -> dict:
    keys = ("rows", "min_k", "unique_share", "records_below_k_share", "prosecutor_risk_max", "k_threshold")
    return {k: (report or {}).get(k) for k in keys}


def _anonymized(version) -> dict:
    made = version.made_by
    return {
        "version": version.number,
        "from": version.parent.number if version.parent else None,
        "by": _who(version.created_by),
        "at": version.created_at,
        "before": _risk(made.get("risk_before")),
        "after": _risk(made.get("risk_after")),
    }


def _synthetic(version) -> dict:
    made = version.made_by
    privacy = made.get("privacy") or {}
    return {
        "version": version.number,
        "method": made.get("method", ""),
        "epsilon": made.get("epsilon"),
        "fidelity": made.get("fidelity_score"),
        "utility_ratio": (made.get("utility") or {}).get("ratio"),
        "dcr_share": privacy.get("dcr_closer_to_train_share"),
        "mia_auc": privacy.get("membership_inference_auc"),
        "exact_copies": privacy.get("exact_copies"),
        "by": _who(version.created_by),
        "at": version.created_at,
    }


def _release(request) -> dict:
    checked = read_checked(request) if request.sealed_output else None
    cells = (checked or {}).get("summary", {}).get("cells", {})
    return {
        "id": request.pk,
        "state": request.state,
        "asked_by": _who(request.requested_by),
        "approved_by": ", ".join(a["user"] for a in request.approvals) or "—",
        "decided_by": _who(request.decided_by),
        "asks_for": request.description or "code (filed before declared queries)",
        "mode": request.mode,
        "asked_at": request.created_at,
        "decided_at": request.decided_at,
        "cells": cells,
    }


# --- PDF ------------------------------------------------------------------------------------------------------------


def _latin(text) -> str:
    """The PDF's core fonts hold Latin-1 only; Greek letters are spelled out, anything else becomes '?'."""
    text = "" if text is None else str(text)
    return (
        text.replace("ε", "epsilon")
        .replace("δ", "delta")
        .replace("—", "-")
        .replace("–", "-")
        .replace("≥", ">=")
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def pdf(report: dict) -> bytes:
    from fpdf import FPDF  # imported here only: the one module that makes PDFs

    doc = FPDF(orientation="L", format="A4")
    doc.set_auto_page_break(auto=True, margin=12)
    doc.add_page()
    doc.set_font("Helvetica", "B", 15)
    d = report["dataset"]
    doc.cell(0, 9, _latin(f"Compliance report: {d['name']} (workspace {d['workspace']})"), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", "", 9)
    doc.cell(
        0,
        5,
        _latin(
            f"Generated {_when(report['generated_at'])} UTC. Dataset created {_when(d['created_at'])} by {d['created_by']}. {report['events']} audit events in the workspace."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )

    def section(title: str, header: list[str], rows: list[list]) -> None:
        doc.ln(3)
        doc.set_font("Helvetica", "B", 11)
        doc.cell(0, 7, _latin(title), new_x="LMARGIN", new_y="NEXT")
        doc.set_font("Helvetica", "", 8)
        if not rows:
            doc.cell(0, 5, "None.", new_x="LMARGIN", new_y="NEXT")
            return
        with doc.table(text_align="LEFT", line_height=4.5) as table:
            table.row([_latin(h) for h in header])
            for row in rows:
                table.row([_latin(v) for v in row])

    section(
        "Members", ["user", "role", "reads RAW"], [[m["user"], m["role"], "yes" if m["reads_raw"] else "no"] for m in report["members"]]
    )
    section(
        "Uploads (RAW)",
        ["version", "file", "format", "rows", "columns", "by", "at"],
        [[u["version"], u["file"], u["format"], u["rows"], u["columns"], u["by"], _when(u["at"])] for u in report["uploads"]],
    )
    section(
        "What the scans found",
        ["version", "column", "kind", "entity", "confidence"],
        [[s["version"], f["column"], f["kind"], f["entity"], f["confidence"]] for s in report["scans"] for f in s["found"]],
    )
    p = report["policy"]
    rules = p["disclosure"]
    section(
        "Policy",
        ["setting", "value"],
        [
            ["analysts read", ", ".join(p["readable_tiers"].get("analyst", [])) or "nothing"],
            ["viewers read", ", ".join(p["readable_tiers"].get("viewer", [])) or "nothing"],
            ["interpreter tier", p["interpreter_tier"]],
            ["k", p["k"]],
            ["DP budget", f"epsilon {p['dp_budget'].get('epsilon')}, delta {p['dp_budget'].get('delta')}"],
            ["owners approving a release", p["release_reviewers"]],
            ["disclosure rules", ", ".join(f"{k} {v}" for k, v in rules.items())],
        ],
    )
    section(
        "Re-identification risk (anonymised versions)",
        ["version", "from", "min k before", "min k after", "unique before", "unique after", "below k after", "by"],
        [
            [
                a["version"],
                a["from"],
                a["before"]["min_k"],
                a["after"]["min_k"],
                a["before"]["unique_share"],
                a["after"]["unique_share"],
                a["after"]["records_below_k_share"],
                a["by"],
            ]
            for a in report["anonymized"]
        ],
    )
    section(
        "Synthetic versions",
        ["version", "method", "epsilon", "fidelity", "utility ratio", "DCR share", "MIA AUC", "exact copies", "by"],
        [
            [
                s["version"],
                s["method"],
                s["epsilon"],
                s["fidelity"],
                s["utility_ratio"],
                s["dcr_share"],
                s["mia_auc"],
                s["exact_copies"],
                s["by"],
            ]
            for s in report["synthetic"]
        ],
    )
    b = report["privacy_budget"]
    section(
        "Privacy budget",
        ["", "epsilon", "delta"],
        [["budget", b["budget"]["epsilon"], b["budget"]["delta"]], ["spent", b["spent"]["epsilon"], b["spent"]["delta"]]],
    )
    section(
        "Releases of results computed on RAW",
        ["#", "state", "asked by", "approved by", "decided by", "asked", "decided", "released / suppressed / withheld cells"],
        [
            [
                r["id"],
                r["state"],
                r["asked_by"],
                r["approved_by"],
                r["decided_by"],
                _when(r["asked_at"]),
                _when(r["decided_at"]),
                " / ".join(str(r["cells"].get(k, "-")) for k in ("released", "suppressed", "withheld")),
            ]
            for r in report["releases"]
        ],
    )
    return bytes(doc.output())
