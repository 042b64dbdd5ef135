"""Plotly figures for profiles, as JSON for the vendored plotly.js (the one module that imports plotly). Every page
draws them through the chart allowlist (`workbench.analysis.charts`): no templates, text as plain text."""

import json

import plotly.graph_objects as go
import plotly.io as pio

_LAYOUT = dict(
    height=220,
    margin=dict(l=40, r=10, t=10, b=40),
    bargap=0.05,
    plot_bgcolor="#ffffff",
    paper_bgcolor="#ffffff",
    font=dict(size=11),
)


def _as_json(figure: go.Figure) -> dict:
    return json.loads(pio.to_json(figure, validate=False))


def histogram(*, edges: list, counts: list, x_title: str) -> dict:
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
    figure = go.Figure(go.Bar(x=centres, y=counts, width=widths, marker_color="#3b6ea5"))
    figure.update_layout(**_LAYOUT, xaxis_title=x_title, yaxis_title="rows")
    return _as_json(figure)


def date_histogram(*, edges: list[str], counts: list) -> dict:
    figure = go.Figure(go.Bar(x=edges[:-1], y=counts, marker_color="#3b6ea5"))
    figure.update_layout(**_LAYOUT, yaxis_title="rows")
    return _as_json(figure)


def bars(*, labels: list[str], counts: list, x_title: str = "") -> dict:
    figure = go.Figure(go.Bar(x=counts, y=labels, orientation="h", marker_color="#5a8f5a"))
    layout = dict(_LAYOUT, height=max(160, 22 * len(labels) + 60), margin=dict(l=140, r=10, t=10, b=40))
    figure.update_layout(**layout, xaxis_title=x_title or "rows", yaxis=dict(autorange="reversed"))
    return _as_json(figure)


def class_sizes(*, before: list[dict], after: list[dict]) -> dict:
    """Records by the size of their equivalence class, before and after anonymisation (grouped bars)."""
    figure = go.Figure()
    for name, histogram, colour in (("before", before, "#c0504d"), ("after", after, "#3b6ea5")):
        figure.add_trace(
            go.Bar(
                x=[f"k = {h['class_size']}" for h in histogram],
                y=[h["records"] for h in histogram],
                name=name,
                marker_color=colour,
            )
        )
    figure.update_layout(
        **dict(_LAYOUT, height=260, bargap=0.2), barmode="group", yaxis_title="records", xaxis_title="equivalence class size"
    )
    return _as_json(figure)


def column_scores(per_column: list[dict]) -> dict:
    """Fidelity per column (1 = the synthetic column has the real one's distribution); columns the generator did not
    model in another colour, with the reason on hover."""
    ordered = sorted(per_column, key=lambda c: c["score"])
    figure = go.Figure(
        go.Bar(
            x=[c["score"] for c in ordered],
            y=[c["column"] for c in ordered],
            orientation="h",
            marker_color=["#5a8f5a" if c.get("modelled", True) else "#b5651d" for c in ordered],
            hovertext=[
                f"{c['column']}: {c['score']:.3f} ({c['metric']}"
                + ("" if c.get("modelled", True) else "; not modelled: " + c.get("reason", ""))
                + ")"
                for c in ordered
            ],
            hoverinfo="text",
        )
    )
    layout = dict(_LAYOUT, height=max(180, 20 * len(ordered) + 60), margin=dict(l=140, r=10, t=10, b=40))
    figure.update_layout(**layout, xaxis=dict(range=[0, 1], title="fidelity (KS / TV complement)"))
    return _as_json(figure)
