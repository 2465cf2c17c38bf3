"""Cell-level checks of the course notebooks' outputs, one module per notebook.

`tests/test_notebooks.py` executes every `notebooks/*.ipynb` and then runs
the checks registered here for that file, on the fresh outputs and on the
committed ones. To add checks for a notebook, create a module in this
package (it is imported automatically) and register functions that take
the notebook (an `nbformat` node) and assert:

    from notebook_checks import check, cell, speedups, timing

    @check("03-processes-and-pools.ipynb")
    def pool_beats_serial(nb):
        s = speedups(cell(nb, "pool-speedup"))
        assert list(s) == ["serial", "Pool::map"], s
        timing(s["Pool::map"] > 1, s)

Checks find cells by **tag** (`metadata.tags` in the notebook, visible in
JupyterLab's property inspector), never by index, so cells can be added or
moved. Parsers here follow the formats documented in
`shared/reference/magics-reference.md` (IPython's timeit line,
line_profiler's table) and `runtime/src/timeit/compare.rs` (compare's
table). They assert on structure and on figures that do not depend on the
machine. A claim about speed (a speed-up above 1, a ratio) goes through
`timing(...)`: it is asserted on the committed outputs, which the prose
describes, and only warned about on a fresh run, whose figures depend on
what else the machine is doing (CI failed once on a timeline's imbalance of
1.02 against 1.05, under the load of a parallel build).
"""
import contextlib
import contextvars
import importlib
import pkgutil
import re
import warnings

# notebook file name -> {check name: function(nb)}
CHECKS = {}


def check(notebook, name=None):
    """Registers `fn(nb)` as a check of `notebook` (a file name in notebooks/)."""

    def register(fn):
        CHECKS.setdefault(notebook, {})[name or fn.__name__] = fn
        return fn

    return register


_FRESH = contextvars.ContextVar("fresh_run", default=False)


@contextlib.contextmanager
def fresh_run():
    """Within this, `timing` claims warn instead of failing."""
    token = _FRESH.set(True)
    try:
        yield
    finally:
        _FRESH.reset(token)


class TimingWarning(UserWarning):
    """A fresh run's timing did not bear out what the notebook's prose says."""


def timing(condition, message):
    """A claim about speed: asserted on committed outputs, a `TimingWarning` on a fresh run."""
    if condition:
        return
    if _FRESH.get():
        warnings.warn(TimingWarning(f"fresh run: {message}"))
    else:
        raise AssertionError(message)


def cell(nb, tag):
    """The one code cell carrying `tag`."""
    found = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"expected one cell tagged {tag!r}, found {len(found)}"
    return found[0]


def outputs_text(c):
    """Everything a cell showed as text, in order: streams, and the text/plain of
    display_data, execute_result and error outputs."""
    parts = []
    for o in c.get("outputs", []):
        if o["output_type"] == "stream":
            parts.append(o["text"])
        elif o["output_type"] in ("display_data", "execute_result"):
            text = o.get("data", {}).get("text/plain", "")
            parts.append(text if text.endswith("\n") else text + "\n")
        elif o["output_type"] == "error":
            parts.append(f"{o['ename']}: {o['evalue']}\n")
    return "".join(parts)


def error_outputs(nb):
    """(cell index, ename, evalue) of every error output."""
    return [
        (i, o.get("ename"), o.get("evalue"))
        for i, c in enumerate(nb.cells)
        for o in c.get("outputs", [])
        if o["output_type"] == "error"
    ]


# IPython's _format_time: "%.3g unit" below a minute, "1min 5s"-style above.
_TIME = r"(?:[0-9.]+(?:e[+-]?[0-9]+)? (?:ns|μs|us|ms|s)|(?:[0-9]+(?:d|h|min|s) ?)+)"
TIMEIT_LINE = re.compile(
    rf"^(?P<mean>{_TIME}) (?:±|\+-) (?P<std>{_TIME}) per loop "
    r"\(mean (?:±|\+-) std\. dev\. of (?P<runs>[0-9]+) runs?, (?P<loops>[0-9,]+) loops? each\)$",
    re.M,
)
_UNITS = {"ns": 1e-9, "μs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def seconds(text):
    """A time as `_format_time` prints it (`4.13 μs`, `1min 5s`) in seconds."""
    text = text.strip()
    m = re.fullmatch(r"([0-9.]+(?:e[+-]?[0-9]+)?) (ns|μs|us|ms|s)", text)
    if m:
        return float(m.group(1)) * _UNITS[m.group(2)]
    parts = re.findall(r"([0-9]+)(d|h|min|s)", text)
    assert parts, f"not a time: {text!r}"
    return sum(int(v) * {"d": 86400, "h": 3600, "min": 60, "s": 1}[u] for v, u in parts)


def timeit_lines(c):
    """The `%timeit` result lines a cell printed, as match objects."""
    return list(TIMEIT_LINE.finditer(outputs_text(c)))


def speedups(c):
    """`compare`'s table as {row name: speed-up}, the first row being 1.00
    (an `allocs/loop` column may follow the speed-up)."""
    rows = {}
    for line in outputs_text(c).splitlines():
        fields = re.split(r"\s{2,}", line.strip())
        if len(fields) in (4, 5) and fields[3].endswith("×"):
            rows[fields[0]] = float(fields[3][:-1])
    assert rows, "no compare() table in the cell's output"
    return rows


SPEEDUP = re.compile(r"^speed-up: ([0-9.]+)x", re.M)


def speedup_line(c):
    """The one `speed-up: 1.93x` figure a cell printed."""
    found = SPEEDUP.findall(outputs_text(c))
    assert len(found) == 1, outputs_text(c)
    return float(found[0])


def lprun_rows(c, function):
    """line_profiler's rows for `function`: [(line, hits or None, contents)].

    Columns are cut at the header's label ends (line_profiler right-aligns
    them there and widens the header with the column)."""
    lines = outputs_text(c).splitlines()
    start = next((i for i, l in enumerate(lines) if re.match(rf"Function: {re.escape(function)} at line \d+", l)), None)
    assert start is not None, f"no profile of {function} in the output"
    header = next(i for i in range(start, len(lines)) if lines[i].startswith("Line #"))
    head = lines[header]
    ends, pos = [], 0
    for label in ("Line #", "Hits", "Time", "Per Hit", "% Time"):
        pos = head.index(label, pos) + len(label)
        ends.append(pos)
    contents_at = head.index("Line Contents")
    assert set(lines[header + 1]) == {"="}, "no ==== rule under the header"
    rows = []
    for row in lines[header + 2 :]:
        if not row.strip():
            break
        hits = row[ends[0] : ends[1]].strip()
        rows.append((int(row[: ends[0]]), _count(hits), row[contents_at:]))
    return rows


def _count(text):
    """A Hits cell: `%d`, or `%g` when wider than the column; None if blank."""
    if not text:
        return None
    return int(text) if text.isdigit() else int(float(text))


def _load_all():
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_load_all()
