"""Charts that can only draw: a plotly figure rebuilt from an allowlist of trace types and attributes.

Every figure a page draws passes here first — the model's (a turn), the profile's (built from an uploaded table's
values), the airlock's (built from declared labels) — because plotly.js reads more than data: labels and titles are
a subset of HTML (`<a href>`, `<span style>`, entities), templates substitute values into text (`texttemplate`,
`hovertemplate`, `layout.meta`), `updatemenus` run relayouts on a click, images and map styles load URLs. A
blocklist misses the next one; this keeps only what is listed, with each value checked for its kind:

- text (titles, names, labels, category values): plain text — the characters that open markup (`<`, `>`, `&`) are
  replaced by look-alikes, so no tag, entity or link survives, whatever plotly.js version reads it, and `%{` is
  broken by a word joiner, so no template substitutes into it;
- colours: `#hex`, `rgb()`/`rgba()`/`hsl()`/`hsla()` with numbers only, or a plain colour name;
- enumerated values (modes, axis types, bar modes): short words only;
- numbers: finite; data arrays: numbers, plain text, null, or plotly's base64 typed arrays with a known dtype.

Anything else — a key not listed, a value of the wrong kind — is dropped, never passed through. The result is capped:
`MAX_POINTS` data values in all, `MAX_TRACES` traces.
"""

import base64
import binascii
import math
import re

MAX_POINTS = 250_000
MAX_TRACES = 100
MAX_TEXT = 2_000
MAX_ITEMS = 200  # annotations, shapes

_LOOKALIKES = str.maketrans({"<": "‹", ">": "›", "&": "＆"})
_ENUM = re.compile(r"[A-Za-z0-9 +_./%-]{0,64}\Z")
_COLOR = re.compile(r"(#[0-9a-fA-F]{3,8}|(rgb|rgba|hsl|hsla)\(\s*[0-9.%]+\s*(,\s*[0-9.%]+\s*){2,3}\)|[a-zA-Z]{1,30})\Z")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}\Z")
_DTYPES = {"i1": 1, "u1": 1, "u1c": 1, "i2": 2, "u2": 2, "i4": 4, "u4": 4, "f4": 4, "f8": 8}


class _Budget:
    def __init__(self):
        self.points = 0

    def take(self, count: int) -> bool:
        self.points += count
        return self.points <= MAX_POINTS


def plain(value) -> str:
    """Text plotly.js shows as text: no markup, no entity, no lone surrogate, no NUL, capped."""
    text = value if isinstance(value, str) else _number_text(value)
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return text[:MAX_TEXT].translate(_LOOKALIKES).replace("%{", "%\u2060{")  # no template substitution either


def _number_text(value) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return repr(value) if not isinstance(value, float) or math.isfinite(value) else ""
    return ""


# --- the kinds of value ----------------------------------------------------------------------------------------------


def _number(value, budget):
    if isinstance(value, bool):
        return _DROP
    if isinstance(value, int):
        return value if abs(value) < 2**53 else float(value) if abs(value) < 1e308 else _DROP
    if isinstance(value, float):
        return value if math.isfinite(value) else _DROP
    return _DROP


def _boolean(value, budget):
    return value if isinstance(value, bool) else _DROP


def _enum(value, budget):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and _ENUM.match(value):
        return value
    return _number(value, budget)


def _text(value, budget):
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return plain(value)
    return _DROP


def _color(value, budget):
    if isinstance(value, str) and _COLOR.match(value.strip()):
        return value.strip()
    return _number(value, budget)  # a number picks a colour from the colour scale


def _cell(value, budget=None):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = _number(value, None)
        return None if number is _DROP else number
    if isinstance(value, str):
        return plain(value)
    return _DROP


def _array(value, budget, *, depth: int = 0):
    """A data array: numbers, plain text, null (nested once more for a matrix), or a base64 typed array."""
    if isinstance(value, dict):
        return _typed_array(value, budget)
    if not isinstance(value, list) or depth > 2:
        return _DROP
    if not budget.take(len(value)):
        return _DROP
    out = []
    for item in value:
        if isinstance(item, list | dict):
            part = _array(item, budget, depth=depth + 1)
            out.append(None if part is _DROP else part)
        else:
            cell = _cell(item)
            out.append(None if cell is _DROP else cell)
    return out


def _typed_array(value, budget):
    dtype, data, shape = value.get("dtype"), value.get("bdata"), value.get("shape")
    if (
        not isinstance(dtype, str)
        or dtype not in _DTYPES
        or not isinstance(data, str)
        or not _BASE64.match(data)
        or set(value) - {"dtype", "bdata", "shape"}
    ):
        return _DROP
    try:
        size = len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return _DROP
    if size % _DTYPES[dtype] or not budget.take(size // _DTYPES[dtype]):
        return _DROP
    out = {"dtype": dtype, "bdata": data}
    if shape is not None:
        if not isinstance(shape, str) or not re.fullmatch(r"\d{1,7}(, ?\d{1,7})?", shape):
            return _DROP
        out["shape"] = shape
    return out


def _array_or(kind):
    def check(value, budget):
        if isinstance(value, list | dict):
            return _array(value, budget)
        return kind(value, budget)

    return check


def _colors(value, budget):
    if isinstance(value, list):
        if not budget.take(len(value)):
            return _DROP
        out = [_color(v, budget) for v in value]
        return [None if v is _DROP else v for v in out]
    if isinstance(value, dict):
        return _typed_array(value, budget)
    return _color(value, budget)


def _colorscale(value, budget):
    if isinstance(value, str):
        return _enum(value, budget)
    if not isinstance(value, list) or len(value) > 256:
        return _DROP
    out = []
    for stop in value:
        if not (isinstance(stop, list) and len(stop) == 2):
            return _DROP
        position, colour = _number(stop[0], budget), _color(stop[1], budget)
        if position is _DROP or not isinstance(colour, str):
            return _DROP
        out.append([position, colour])
    return out


def _range(value, budget):
    if not isinstance(value, list) or len(value) != 2:
        return _DROP
    return [_cell(v) if _cell(v) is not _DROP else None for v in value]


def _title(value, budget):
    if isinstance(value, dict):
        return _apply(TITLE, value, budget)
    return _text(value, budget)


def _items(spec):
    def check(value, budget):
        if not isinstance(value, list):
            return _DROP
        return [_apply(spec, item, budget) for item in value[:MAX_ITEMS] if isinstance(item, dict)]

    return check


_DROP = object()


def _apply(spec: dict, value, budget) -> dict:
    if not isinstance(value, dict):
        return {}
    out = {}
    for key, item in value.items():
        rule = spec.get(key)
        if rule is None:
            continue
        cleaned = _apply(rule, item, budget) if isinstance(rule, dict) else rule(item, budget)
        if cleaned is not _DROP and cleaned != {}:
            out[key] = cleaned
    return out


# --- what is kept ----------------------------------------------------------------------------------------------------

NUM, BOOL, ENUM, TEXT, COLOR = _number, _boolean, _enum, _text, _color
FONT = {"size": NUM, "color": COLOR}
TITLE = {"text": TEXT, "x": NUM, "y": NUM, "xanchor": ENUM, "yanchor": ENUM, "font": FONT, "standoff": NUM}
LINE = {"color": COLOR, "width": NUM, "dash": ENUM, "shape": ENUM, "smoothing": NUM}
COLORBAR = {"title": _title, "thickness": NUM, "len": NUM, "x": NUM, "y": NUM, "tickformat": TEXT}
MARKER = {
    "color": _colors,
    "size": _array_or(NUM),
    "opacity": _array_or(NUM),
    "symbol": _array_or(ENUM),
    "line": {"color": _colors, "width": _array_or(NUM)},
    "colorscale": _colorscale,
    "showscale": BOOL,
    "reversescale": BOOL,
    "cmin": NUM,
    "cmax": NUM,
    "cmid": NUM,
    "colorbar": COLORBAR,
    "coloraxis": ENUM,
    "colors": _colors,  # pie
    "sizemode": ENUM,
    "sizeref": NUM,
}
ERROR_BAR = {
    "type": ENUM, "array": _array, "arrayminus": _array, "value": NUM, "valueminus": NUM, "visible": BOOL,
    "symmetric": BOOL, "color": COLOR, "thickness": NUM, "width": NUM,
}  # fmt: skip
BINS = {"start": _array_or(NUM), "end": _array_or(NUM), "size": _array_or(NUM)}

TRACE = {
    "type": ENUM, "name": TEXT, "x": _array, "y": _array, "z": _array, "values": _array, "labels": _array,
    "base": _array_or(NUM), "width": _array_or(NUM), "offset": _array_or(NUM), "text": _array_or(TEXT),
    "hovertext": _array_or(TEXT), "measure": _array, "mode": ENUM, "orientation": ENUM, "xaxis": ENUM, "yaxis": ENUM,
    "showlegend": BOOL, "legendgroup": TEXT, "opacity": NUM, "visible": ENUM, "offsetgroup": TEXT,
    "alignmentgroup": TEXT, "histfunc": ENUM, "histnorm": ENUM, "nbinsx": NUM, "nbinsy": NUM, "bingroup": TEXT,
    "autobinx": BOOL, "autobiny": BOOL, "xbins": BINS, "ybins": BINS,
    "cumulative": {"enabled": BOOL, "direction": ENUM, "currentbin": ENUM},
    "boxpoints": ENUM, "boxmean": ENUM, "notched": BOOL, "jitter": NUM, "pointpos": NUM, "points": ENUM, "side": ENUM,
    "meanline": {"visible": BOOL, "color": COLOR, "width": NUM}, "box": {"visible": BOOL, "width": NUM, "fillcolor": COLOR},
    "spanmode": ENUM, "bandwidth": NUM, "scalegroup": TEXT, "scalemode": ENUM, "quartilemethod": ENUM,
    "textposition": _array_or(ENUM), "textinfo": ENUM, "hoverinfo": ENUM, "hole": NUM, "sort": BOOL, "direction": ENUM,
    "rotation": NUM, "pull": _array_or(NUM), "fill": ENUM, "fillcolor": COLOR, "connectgaps": BOOL, "line": LINE,
    "marker": MARKER, "error_x": ERROR_BAR, "error_y": ERROR_BAR, "colorscale": _colorscale, "coloraxis": ENUM,
    "zmin": NUM, "zmax": NUM, "zmid": NUM, "zauto": BOOL, "showscale": BOOL, "reversescale": BOOL, "colorbar": COLORBAR,
    "x0": _cell, "dx": NUM, "y0": _cell, "dy": NUM, "xgap": NUM, "ygap": NUM, "zsmooth": ENUM, "ncontours": NUM,
    "contours": {"coloring": ENUM, "showlabels": BOOL, "start": NUM, "end": NUM, "size": NUM},
    "textfont": FONT, "insidetextfont": FONT, "outsidetextfont": FONT, "insidetextanchor": ENUM,
    "domain": {"x": _range, "y": _range, "row": NUM, "column": NUM},
    "cliponaxis": BOOL, "constraintext": ENUM, "texttemplate": None, "hovertemplate": None,
    "increasing": {"marker": {"color": COLOR}}, "decreasing": {"marker": {"color": COLOR}},
    "totals": {"marker": {"color": COLOR}}, "connector": {"line": LINE, "visible": BOOL},
    "xcalendar": None, "ycalendar": None, "xperiod": None, "stackgroup": TEXT, "groupnorm": ENUM,
}  # fmt: skip
TRACE = {key: rule for key, rule in TRACE.items() if rule is not None}
TRACE_TYPES = {
    "bar", "scatter", "scattergl", "histogram", "box", "violin", "heatmap", "pie", "histogram2d", "histogram2dcontour",
    "contour", "waterfall", "funnel",
}  # fmt: skip

AXIS = {
    "title": _title, "type": ENUM, "range": _range, "autorange": ENUM, "tickformat": TEXT, "tickangle": NUM,
    "showgrid": BOOL, "zeroline": BOOL, "showticklabels": BOOL, "ticks": ENUM, "tickvals": _array, "ticktext": _array,
    "categoryorder": ENUM, "categoryarray": _array, "dtick": _cell, "tick0": _cell, "nticks": NUM, "domain": _range,
    "anchor": ENUM, "overlaying": ENUM, "side": ENUM, "matches": ENUM, "showline": BOOL, "linecolor": COLOR,
    "gridcolor": COLOR, "zerolinecolor": COLOR, "automargin": BOOL, "fixedrange": BOOL, "rangemode": ENUM,
    "tickprefix": TEXT, "ticksuffix": TEXT, "exponentformat": ENUM, "separatethousands": BOOL, "visible": BOOL,
    "scaleanchor": ENUM, "scaleratio": NUM, "mirror": ENUM, "tickfont": FONT, "hoverformat": TEXT,
}  # fmt: skip
LAYOUT = {
    "title": _title, "barmode": ENUM, "barnorm": ENUM, "bargap": NUM, "bargroupgap": NUM, "boxmode": ENUM,
    "boxgap": NUM, "violinmode": ENUM, "violingap": NUM, "height": NUM, "width": NUM, "autosize": BOOL,
    "margin": {"l": NUM, "r": NUM, "t": NUM, "b": NUM, "pad": NUM, "autoexpand": BOOL}, "showlegend": BOOL,
    "legend": {
        "orientation": ENUM, "x": NUM, "y": NUM, "xanchor": ENUM, "yanchor": ENUM, "title": _title, "traceorder": ENUM,
        "bgcolor": COLOR, "bordercolor": COLOR, "borderwidth": NUM, "font": FONT, "tracegroupgap": NUM,
    },
    "hovermode": ENUM, "colorway": _colors, "paper_bgcolor": COLOR, "plot_bgcolor": COLOR, "font": FONT,
    "coloraxis": {"colorscale": _colorscale, "cmin": NUM, "cmax": NUM, "cmid": NUM, "colorbar": COLORBAR, "showscale": BOOL},
    "annotations": _items({
        "text": TEXT, "x": _cell, "y": _cell, "xref": ENUM, "yref": ENUM, "showarrow": BOOL, "ax": NUM, "ay": NUM,
        "font": FONT, "xanchor": ENUM, "yanchor": ENUM, "align": ENUM, "arrowhead": NUM, "bgcolor": COLOR,
        "textangle": NUM,
    }),
    "shapes": _items({
        "type": ENUM, "x0": _cell, "x1": _cell, "y0": _cell, "y1": _cell, "xref": ENUM, "yref": ENUM, "line": LINE,
        "fillcolor": COLOR, "opacity": NUM, "layer": ENUM,
    }),
    "uniformtext": {"mode": ENUM, "minsize": NUM}, "dragmode": ENUM, "barcornerradius": NUM,
    "extendpiecolors": BOOL, "hiddenlabels": _array, "piecolorway": _colors,
}  # fmt: skip
_AXIS_KEY = re.compile(r"[xy]axis([2-9]|[1-9][0-9])?\Z")


class NotAFigure(ValueError):
    """The value is not a plotly figure (no list of traces)."""


def clean_figure(figure) -> dict:
    """The figure with only what draws: listed traces and attributes, each value of its kind (see the module)."""
    if not isinstance(figure, dict) or not isinstance(figure.get("data", []), list) or not isinstance(figure.get("layout", {}), dict):
        raise NotAFigure("not a plotly figure")
    budget = _Budget()
    traces = []
    for trace in figure.get("data", [])[:MAX_TRACES]:
        if not isinstance(trace, dict):
            continue
        kind = trace.get("type", "scatter")
        if not isinstance(kind, str) or kind not in TRACE_TYPES:
            continue
        cleaned = _apply(TRACE, trace, budget)
        cleaned["type"] = kind
        traces.append(cleaned)
    source = figure.get("layout", {})
    layout = _apply(LAYOUT, source, budget)
    for key, axis in source.items():
        if isinstance(key, str) and _AXIS_KEY.match(key):
            cleaned = _apply(AXIS, axis, budget)
            if cleaned:
                layout[key] = cleaned
    if budget.points > MAX_POINTS:
        raise NotAFigure(f"the figure has more than {MAX_POINTS:,} values")
    return {"data": traces, "layout": layout}
