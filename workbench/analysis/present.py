"""What the conversation page and the notebook export make of a turn's record."""

import functools
import html
import json
import re

import nbformat
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from workbench.analysis.actions import read_turn
from workbench.analysis.models import Conversation, TurnStatus
from workbench.analysis.sandbox import clean_figure, clean_json

_FORMATTER = HtmlFormatter(cssclass="code", nowrap=False)


def turn_view(turn, *, can_run: bool = False) -> dict:
    """What the page shows of a turn. The record holds what the model and the code wrote: it is cleaned again here
    (a figure that does not parse, a lone surrogate, a URL-loading chart key), so no stored record can break the
    page, and the template escapes every field of it."""
    try:
        record = clean_json(read_turn(turn), max_depth=100)
    except ValueError:
        record = {"failed": "This turn's record could not be read."}
    outcome = record.get("outcome") or {}
    figures, notes = {}, []
    for index, figure in enumerate(outcome.get("figures") or []):
        try:
            figures[f"turn-{turn.pk}-{index}"] = clean_figure(json.loads(figure["json"]))
        except (KeyError, TypeError, ValueError, RecursionError):
            notes.append(f"Figure {index + 1} could not be shown: {str(figure.get('error') or 'it is not a valid chart')[:200]}")
    result = outcome.get("result") if isinstance(outcome.get("result"), dict) else {}
    exchanges = record.get("exchanges") or []
    finished = turn.is_finished
    failed = turn.status == TurnStatus.FAILED or not outcome.get("ok", True)
    error = (outcome.get("error") or {}).get("message", "") if isinstance(outcome.get("error"), dict) else ""
    return {
        "turn": turn,
        "status": turn.status,
        "finished": finished,
        "record": record,
        "answer": record.get("answer") or "",
        "code_html": highlight(record["code"], PythonLexer(), _FORMATTER) if isinstance(record.get("code"), str) and record["code"] else "",
        "stdout": outcome.get("stdout", "") if isinstance(outcome.get("stdout"), str) else "",
        "error": (error or record.get("failed") or "") if failed else "",
        "table": result if result.get("kind") == "table" else None,
        "value": result.get("value") if result.get("kind") in ("value", "text") else None,
        # each figure's JSON in an attribute (escaped by the template), not a <script>: htmx drops script elements
        # from what it swaps in, and an attribute cannot be closed from inside
        "charts": [{"name": name, "json": json.dumps(figure, ensure_ascii=False, allow_nan=False)} for name, figure in figures.items()],
        "figure_notes": notes,
        "layers": describe_layers(outcome.get("layers")),
        "can_cancel": can_run and not finished,
        "can_retry": can_run and turn.status == TurnStatus.FAILED,
        "can_request_release": can_run and turn.status == TurnStatus.ANSWERED and result.get("kind") in ("table", "value"),
        "release_requests": list(turn.release_requests.all()[:5]) if turn.pk else [],
        "timings": {
            "seconds": record.get("seconds"),
            "model_seconds": record.get("model_seconds"),
            "sandbox_seconds": outcome.get("seconds"),
            "attempts": record.get("attempts"),
            "candidates": len(record["candidates"]) if isinstance(record.get("candidates"), list) else 0,
            "agreement": record.get("agreement") if isinstance(record.get("agreement"), int) else 0,
            "tokens_per_second": exchanges[0].get("decode_tokens_per_second") if exchanges and isinstance(exchanges[0], dict) else None,
            "model": record.get("model"),
        },
    }


def describe_layers(layers) -> str:
    """Which sandbox layers held for the turn's last run, in words (every turn shows it)."""
    if not isinstance(layers, dict) or not layers:
        return ""
    held = []
    if layers.get("namespaces"):
        held.append("bubblewrap namespaces (" + ", ".join(str(n) for n in layers["namespaces"]) + ")")
    if layers.get("landlock_abi"):
        held.append(f"Landlock ABI {layers['landlock_abi']}")
    if layers.get("seccomp"):
        held.append("seccomp")
    if layers.get("rlimits"):
        held.append("resource limits")
    if layers.get("cgroup"):
        held.append("a cgroup of its own")
    text = ", ".join(held) + " held" if held else "no layer held"
    if layers.get("missing_allowed"):
        text += "; running without " + ", ".join(str(n) for n in layers["missing_allowed"]) + " (allowed by this site)"
    if layers.get("missing"):
        text += "; missing " + ", ".join(str(n) for n in layers["missing"]) + ", so the code was not run"
    return text


def _as_text(text: str) -> str:
    """Markdown that shows `text` as it is: HTML escaped, Markdown's own markup characters backslash-escaped."""
    escaped = html.escape(str(text), quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~])", r"\\\1", escaped)


# what the sandbox gives the code besides Python's builtins (the `safe_builtins` of `_child`): a name outside these and
# outside what the code defines itself would be the analyst's Jupyter's (get_ipython, display, open's full reach)
_SANDBOX_NAMES = {"df", "pd", "np", "px", "go", "result", "__name__"}
_CELL_HEADER = (
    "# Written by the workbench's model for turn {number}; it ran in the workbench's sandbox, not on this machine.\n"
    "# Here it runs unconfined, with your rights: read it before you run it.\n"
)


# Attribute names a cell to rerun may use: those of the objects analysis code works with (frames, series, group-bys,
# arrays, figures, text), of the libraries' functions, and a few namespaces (np.random, np.linalg) — never a module
# reached by a chain (`pd.io.common.os`, `np.lib.format.os`) and never a reader or a writer of files or addresses.
_SAFE_NAMESPACES = {"random", "linalg", "fft", "api", "types", "colors", "express", "graph_objects", "stats", "str", "dt", "cat"}
_IO = re.compile(
    r"(?i)(^read_|store|sql|url|http|^to_(?!frame$|numpy$|list$|dict$|records$|period$|timestamp$|datetime$|numeric$|timedelta$|series$|flat_index$|pydatetime$|julian_date$|offset$)|load|save|file|write|dump|memmap|DataSource|genfromtxt|fromregex|recfrom|^eval$|^query$|^show$|clipboard|^system$|^open)"
)


@functools.cache
def _safe_attributes() -> frozenset[str]:
    import collections
    import datetime
    import types

    import numpy as np
    import pandas as pd
    import plotly.express as px
    import plotly.graph_objects as go
    from pandas.core.groupby import DataFrameGroupBy, SeriesGroupBy
    from pandas.core.indexes.accessors import CombinedDatetimelikeProperties
    from pandas.core.strings.accessor import StringMethods

    objects = [
        pd.DataFrame, pd.Series, pd.Index, pd.MultiIndex, pd.DatetimeIndex, pd.Categorical, pd.CategoricalIndex,
        pd.Timestamp, pd.Timedelta, pd.Interval, pd.IntervalIndex, pd.Period, DataFrameGroupBy, SeriesGroupBy,
        StringMethods, CombinedDatetimelikeProperties, pd.Series.cat, pd.DataFrame.rolling(pd.DataFrame(), 1).__class__,
        np.ndarray, np.generic, np.random.Generator, go.Figure, str, bytes, list, dict, set, tuple, int, float, complex,
        datetime.datetime, datetime.date, datetime.timedelta, collections.Counter,
    ]  # fmt: skip
    names = {name for kind in objects for name in dir(kind) if not name.startswith("_")}
    for module in (pd, np, px, go, np.random, np.linalg, pd.api.types, px.colors):
        names |= {n for n in dir(module) if not n.startswith("_") and not isinstance(getattr(module, n, None), types.ModuleType)}
    return frozenset({n for n in names if not _IO.search(n)} | _SAFE_NAMESPACES)


def _module_parts() -> frozenset[str]:
    import sys

    return frozenset(part for name in list(sys.modules) for part in name.split("."))


def _looks_like_a_place(text: str) -> bool:
    """A path or an address: what a reader or writer would be pointed at."""
    return "/" in text or "\\" in text or text.startswith("~") or ":" in text and text.split(":", 1)[0].isalpha()


def exportable_code(code: str, columns: frozenset[str] = frozenset()) -> str | None:
    """Why `code` is not exported as a cell to run (None: it may be). It must pass the sandbox's own check of the
    source (imports allowed there, no dunder walks), name nothing the sandbox did not give it (no IPython name; shell
    escapes and magics are not Python, so they do not parse), use only the attributes analysis objects have (or the
    table's `columns`), none that reads or writes a file or an address, and hold no text that looks like a path or a
    URL. A static check cannot prove code harmless; this keeps out every route the sandbox's tests and its red team
    found, and every cell still says who wrote it."""
    import ast
    import builtins

    from workbench.analysis._child import REMOVED_BUILTINS, Refused, check_source

    try:
        tree = check_source(code)
    except (SyntaxError, Refused, ValueError, RecursionError, MemoryError) as problem:
        return f"the sandbox would refuse it ({str(problem)[:200]})"
    defined = set(_SANDBOX_NAMES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            defined.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, ast.alias):
            defined.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            defined.add(node.name)
    given = set(dir(builtins)) - REMOVED_BUILTINS  # not `open`: in the sandbox it reached its folder only
    foreign = sorted(
        {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)} - defined - given
    )
    if foreign:
        return f"it names {', '.join(foreign[:5])}, which the sandbox did not give it"
    # a column's name may be used as an attribute (df.age), unless it names a module somewhere: an uploaded table
    # with columns "io", "common", "os" must not open the chain pd.io.common.os
    allowed = _safe_attributes() | (columns - _module_parts())
    odd = sorted({node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} - allowed)
    if odd:
        return f"it uses {', '.join(odd[:5])}, which is not an attribute of the table's objects (or reads or writes files)"
    places = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and _looks_like_a_place(n.value)]
    if places:
        return f"it holds {places[0][:60]!r}, which looks like a path or an address"
    return None


def _fenced(code: str) -> str:
    """Code shown in a Markdown cell as text (a fence longer than any run of backticks in it)."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{code}\n{fence}"


def notebook(conversation: Conversation) -> str:
    """The conversation as a Jupyter notebook whose cells rerun the same code on a file the user supplies. Only an
    answered turn's code that the sandbox itself accepts is a cell to run, under a header that says who wrote it; a
    failed turn's code, or code that names what the sandbox did not give it, is shown as text."""
    version = conversation.version
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {_as_text(version.dataset.name)}: questions to the workbench\n\n"
            f"Conversation #{conversation.pk} on version {version.number} ({version.tier}). Each question's code was written "
            "by the workbench's model and ran in the workbench's sandbox on that version; here it runs on the file you name "
            "below (the same columns are expected), **outside any sandbox, with your rights**: read each cell before you run it."
        ),
        nbformat.v4.new_code_cell(
            "import numpy as np\nimport pandas as pd\nimport plotly.express as px\nimport plotly.graph_objects as go\n\n"
            'FILE = "your-table.parquet"  # or a CSV: the same columns as the version\n'
            'df = pd.read_parquet(FILE) if FILE.endswith(".parquet") else pd.read_csv(FILE)'
        ),
    ]
    columns = frozenset(str(c.get("name")) for c in version.schema or [] if isinstance(c, dict))
    for turn in conversation.turns.order_by("number"):
        record = read_turn(turn)
        code = record.get("code")
        if not isinstance(code, str) or not code:
            continue
        answer = record.get("answer") or ""
        # the question and the model's answer are text, not markup: a notebook viewer renders Markdown cells as HTML
        cells.append(nbformat.v4.new_markdown_cell(f"## {turn.number}. {_as_text(turn.question)}\n\n{_as_text(answer)}"))
        outcome = record.get("outcome") if isinstance(record.get("outcome"), dict) else {}
        if turn.status != TurnStatus.ANSWERED or not outcome.get("ok", False):
            why = "this turn failed in the sandbox"
        else:
            why = exportable_code(code, columns)
        if why:
            cells.append(nbformat.v4.new_markdown_cell(f"The code of this turn is shown as text only: {why}.\n\n{_fenced(code)}"))
            continue
        show = "\nfig.show()" if re.search(r"\bfig\b", code) else ""
        cells.append(nbformat.v4.new_code_cell(_CELL_HEADER.format(number=turn.number) + code + show + "\nresult"))
    book = nbformat.v4.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nbformat.validate(book)
    return nbformat.writes(book)
