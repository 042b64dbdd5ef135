"""The OpenAPI 3.1 description of /api/v1/, served at /api/v1/openapi.json."""

from django.http import JsonResponse

from workbench.http import api

_ERROR = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_JSON = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}


def _op(summary: str, *, params: list[str] = (), query: dict | None = None, body: dict | None = None, ok: str = "200") -> dict:
    operation = {
        "summary": summary,
        "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "integer"}} for p in params]
        + [{"name": n, "in": "query", "schema": s} for n, s in (query or {}).items()],
        "responses": {ok: _JSON, "400": _ERROR, "401": _ERROR, "403": _ERROR, "404": _ERROR},
    }
    if body:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


def _json_body(properties: dict, required: list[str]) -> dict:
    return {"application/json": {"schema": {"type": "object", "properties": properties, "required": required}}}


# A declared query (workbench/releases/query.py): a table of groups × measures with filters, or a regression.
QUERY = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["table", "regression"]},
        "groups": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "column": {"type": "string"},
                    "values": {"type": "array", "maxItems": 200},
                    "bins": {"type": "array", "maxItems": 60, "description": "cut points; the outermost bands are open"},
                    "closed": {"enum": ["left", "right"]},
                    "other": {"type": "boolean"},
                    "missing": {"type": "boolean"},
                },
                "required": ["column"],
            },
        },
        "measures": {
            "type": "array",
            "maxItems": 12,
            "items": {
                "type": "object",
                "properties": {
                    "statistic": {"enum": ["count", "sum", "mean", "median", "std", "var", "min", "max", "distinct"]},
                    "column": {"type": "string"},
                },
                "required": ["statistic"],
            },
        },
        "filters": {
            "type": "array",
            "maxItems": 12,
            "items": {
                "type": "object",
                "properties": {
                    "column": {"type": "string"},
                    "op": {"enum": ["==", "!=", "in", "not in", "<", "<=", ">", ">=", "between", "missing", "present"]},
                    "value": {},
                },
                "required": ["column", "op"],
            },
        },
        "margins": {"type": "boolean"},
        "target": {"type": "string"},
        "predictors": {"type": "array", "maxItems": 12},
        "epsilon": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
        "bounds": {"type": "object", "description": "differential privacy: each value of a column clamped into [low, high]"},
    },
}

SCHEMA = {
    "openapi": "3.1.0",
    "info": {"title": "Private Analysis Workbench API", "version": "1"},
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}},
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/auth/token": {
            "post": dict(
                _op(
                    "Exchange a username and password for a bearer token",
                    body=_json_body({"username": {"type": "string"}, "password": {"type": "string"}}, ["username", "password"]),
                    ok="201",
                ),
                security=[],
            )
        },
        "/api/v1/workspaces": {
            "get": _op("Workspaces you are a member of, with your role"),
            "post": _op(
                "Create a workspace (needs the data-owner permission)",
                body=_json_body({"name": {"type": "string"}, "description": {"type": "string"}}, ["name"]),
                ok="201",
            ),
        },
        "/api/v1/workspaces/{workspace_id}": {"get": _op("One workspace", params=["workspace_id"])},
        "/api/v1/workspaces/{workspace_id}/members": {
            "get": _op("Members and roles", params=["workspace_id"]),
            "post": _op(
                "Add a member or change their role (owners only)",
                params=["workspace_id"],
                body=_json_body(
                    {"username": {"type": "string"}, "role": {"enum": ["owner", "analyst", "viewer"]}, "can_read_raw": {"type": "boolean"}},
                    ["username", "role"],
                ),
                ok="201",
            ),
            "delete": _op("Remove a member (owners only)", params=["workspace_id"], query={"username": {"type": "string"}}),
        },
        "/api/v1/workspaces/{workspace_id}/datasets": {
            "get": _op("Datasets of a workspace with their versions", params=["workspace_id"]),
            "post": _op(
                "Upload a file (CSV/TSV, XLSX, Parquet, JSON Lines) as a new dataset; answers with the ingest job",
                params=["workspace_id"],
                body={
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}, "name": {"type": "string"}},
                            "required": ["file"],
                        }
                    }
                },
                ok="202",
            ),
        },
        "/api/v1/datasets/{dataset_id}": {
            "get": _op("A dataset, its policy and versions", params=["dataset_id"]),
            "delete": _op("Owners: delete the dataset, every version and its files", params=["dataset_id"]),
        },
        "/api/v1/versions/{version_id}": {"get": _op("A version: tier, lineage, schema and profile", params=["version_id"])},
        "/api/v1/versions/{version_id}/preview": {
            "get": _op(
                "A page of rows",
                params=["version_id"],
                query={"page": {"type": "integer", "minimum": 1}, "page_size": {"type": "integer", "maximum": 500}},
            )
        },
        "/api/v1/versions/{version_id}/download": {
            "get": _op(
                "Download as CSV, XLSX or Parquet (formulas neutralised in CSV/XLSX)",
                params=["version_id"],
                query={"format": {"enum": ["csv", "xlsx", "parquet"]}},
            )
        },
        "/api/v1/versions/{version_id}/scan": {
            "get": _op("The version's personal-data scan and the policy it proposes", params=["version_id"]),
            "post": _op("Scan the version for personal data (a job)", params=["version_id"], ok="202"),
        },
        "/api/v1/versions/{version_id}/anonymize": {
            "post": _op(
                "Anonymise the version into a new ANONYMIZED version (a job)",
                params=["version_id"],
                body=_json_body(
                    {"rules": {"type": ["object", "string"]}, "policy": {"type": "integer"}, "save_as": {"type": "string"}}, []
                ),
                ok="202",
            )
        },
        "/api/v1/versions/{version_id}/synthesize": {
            "post": _op(
                "Fit a generator on the version and write a SYNTHETIC version with its evaluation report (a job)",
                params=["version_id"],
                body=_json_body(
                    {
                        "method": {"enum": ["auto", "copula", "marginals", "dp", "deep"], "default": "auto"},
                        "rows": {"type": "integer", "minimum": 1},
                        "epsilon": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                        "delta": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                        "target": {"type": "string"},
                        "seed": {"type": "integer"},
                        "columns": {"type": "object", "additionalProperties": {"enum": ["model", "leave out", "write text"]}},
                        "text_epsilon": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                    },
                    [],
                ),
                ok="202",
            )
        },
        "/api/v1/versions/{version_id}/synthesis-plan": {
            "get": _op(
                "What a synthetic copy would do with each column before the run (modelled, or filled and why); change it with "
                "`columns` on synthesize",
                params=["version_id"],
            ),
        },
        "/api/v1/versions/{version_id}/conversations": {
            "post": _op(
                "Start a conversation with the LLM code interpreter on a safe-tier version (its first question is a job on the gpu queue)",
                params=["version_id"],
                body=_json_body({"question": {"type": "string", "maxLength": 2000}}, ["question"]),
                ok="202",
            )
        },
        "/api/v1/conversations/{conversation_id}": {
            "get": _op(
                "A conversation's turns: question, status, the reply so far, answer (in the form the question asked for, when it "
                "named one), code, output, result, figures, how many candidate programs agreed",
                params=["conversation_id"],
            ),
        },
        "/api/v1/conversations/{conversation_id}/turns": {
            "post": _op(
                "Ask a follow-up question (the earlier turns' code is in the prompt)",
                params=["conversation_id"],
                body=_json_body({"question": {"type": "string", "maxLength": 2000}}, ["question"]),
                ok="202",
            )
        },
        "/api/v1/turns/{turn_id}/cancel": {
            "post": _op("Cancel a question that is still being answered (the turn ends failed: cancelled)", params=["turn_id"]),
        },
        "/api/v1/turns/{turn_id}/retry": {
            "post": _op("Ask a failed question again, on a new job", params=["turn_id"], ok="202"),
        },
        "/api/v1/datasets/{dataset_id}/privacy-budget": {
            "get": _op("The dataset's differential-privacy budget, what was spent and by which runs", params=["dataset_id"]),
        },
        "/api/v1/versions/{version_id}/evaluation": {
            "get": _op(
                "The evaluation report of a SYNTHETIC version: fidelity over every column (the unmodelled ones with their reason), "
                "utility, privacy, the bias check",
                params=["version_id"],
            ),
        },
        "/api/v1/workspaces/{workspace_id}/policies": {
            "get": _op("Saved anonymisation policies", params=["workspace_id"]),
            "post": _op(
                "Save a policy by name",
                params=["workspace_id"],
                body=_json_body({"name": {"type": "string"}, "rules": {"type": "object"}}, ["name", "rules"]),
                ok="201",
            ),
        },
        "/api/v1/datasets/{dataset_id}/policy": {
            "get": _op("The dataset's policy with its defaults (owners only)", params=["dataset_id"]),
            "post": _op(
                "Replace the dataset's policy: readable_tiers, interpreter_tier, k, dp_budget, release_reviewers, release_mode "
                "('rules' or 'dp'), release_epsilon, disclosure (owners only; audited)",
                params=["dataset_id"],
                body=_json_body({"readable_tiers": {"type": "object"}, "disclosure": {"type": "object"}}, []),
            ),
        },
        "/api/v1/datasets/{dataset_id}/reveal": {
            "post": _op(
                "Owners: the value a reversible pseudonym (enc:…, the encrypt operator) of this dataset stands for (audited)",
                params=["dataset_id"],
                body=_json_body({"value": {"type": "string", "maxLength": 10000}}, ["value"]),
            ),
        },
        "/api/v1/workspaces/{workspace_id}/audit": {
            "get": _op(
                "The workspace's audit events, newest first (owners only)",
                params=["workspace_id"],
                query={n: {"type": "string"} for n in ("action", "actor", "object_type", "object_id", "since", "until")},
            )
        },
        "/api/v1/workspaces/{workspace_id}/releases": {"get": _op("Release requests of the workspace's datasets", params=["workspace_id"])},
        "/api/v1/turns/{turn_id}/release": {
            "get": _op("The declared query drafted from an answered turn on the safe tier ({query} or {error})", params=["turn_id"]),
            "post": _op(
                "Ask for an answered turn's table on the real data: its drafted query, or the declared 'query' given (see "
                "/api/v1/versions/{version_id}/releases); an owner approves, the checker computes it on RAW",
                params=["turn_id"],
                body=_json_body({"reason": {"type": "string"}, "query": QUERY}, ["reason"]),
                ok="201",
            ),
        },
        "/api/v1/versions/{version_id}/releases": {
            "post": _op(
                "Ask for a declared query on the real data behind this safe version (an owner approves; the checker computes "
                "it on RAW, suppresses what could single someone out alone or beside earlier releases, or answers with "
                "differential privacy when the dataset's policy says so)",
                params=["version_id"],
                body=_json_body({"reason": {"type": "string", "maxLength": 2000}, "query": QUERY}, ["reason", "query"]),
                ok="201",
            )
        },
        "/api/v1/versions/{version_id}/precheck": {
            "post": _op(
                "The declared query computed on this safe version with the release rules and the released ledger: every cell "
                "with its status and reason, before anyone is asked",
                params=["version_id"],
                body=_json_body({"query": QUERY}, ["query"]),
            )
        },
        "/api/v1/releases/{release_id}": {
            "get": _op(
                "A release request. Its requester and the workspace's analysts and viewers read it as asked, its state "
                "(submitted, in review, released, not released) and, once released, the released cells; owners also "
                "read the history and the checked output",
                params=["release_id"],
            )
        },
        "/api/v1/releases/{release_id}/approve": {
            "post": _op(
                "Approve the computation on RAW (an owner who is not the requester); with differential privacy its ε is spent now",
                params=["release_id"],
            )
        },
        "/api/v1/releases/{release_id}/reject": {
            "post": _op("Reject the request", params=["release_id"], body=_json_body({"note": {"type": "string"}}, []))
        },
        "/api/v1/releases/{release_id}/release": {
            "post": _op("Release the checked output to the analyst and record its cells in the dataset's ledger", params=["release_id"])
        },
        "/api/v1/jobs/{job_id}": {"get": _op("Status and progress of a background job", params=["job_id"])},
        "/api/v1/jobs/{job_id}/cancel": {"post": _op("Cancel a queued or running job", params=["job_id"])},
        "/api/v1/jobs/{job_id}/retry": {"post": _op("Retry a failed or cancelled job", params=["job_id"], ok="202")},
        "/api/v1/openapi.json": {"get": dict(_op("This document"), security=[])},
    },
}


@api("GET", auth=False)
def schema(request):
    return JsonResponse(SCHEMA)
