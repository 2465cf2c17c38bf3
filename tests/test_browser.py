"""The course in a real browser: JupyterLab served on localhost, driven by
Playwright in Debian's headless Chromium.

It opens `notebooks/01-profiling.ipynb` (a temporary copy, so the committed
notebook is never modified), runs it from the top down to its `%lprun`
cell (which includes its first `%timeit` cell), and checks that both
outputs are rendered in the page: the `%timeit` line and the `%lprun`
table. It also opens every committed notebook with saved charts, without
running it, and checks the charts are drawn: a notebook a user has not run
is untrusted, and JupyterLab sanitizes its HTML outputs. Screenshots go to
`tests/artifacts/` (not committed).

Chromium is Debian's package (`install.sh` installs it with apt-get where
it can), never a browser downloaded by Playwright. Where there is no
Chromium, or no Playwright, the test skips and says why. Set
`PARLAB_CHROMIUM` to use another Chromium binary.
"""
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "01-profiling.ipynb"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Cold build slots compile the runtime and ndarray first; see conftest.
RUN_TIMEOUT_S = 1500
TIMEIT_TEXT = "per loop (mean ± std. dev."


def chromium_path():
    candidates = [os.environ.get("PARLAB_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base, token, path, method="GET"):
    req = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
        return json.loads(body) if body else None


def write_settings(settings_dir):
    """User settings for this server only: every cell stays in the page
    (JupyterLab 4 otherwise renders only the cells near the viewport), and
    no news or update checks, which would reach the network and put
    notifications over the screenshot."""
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, content in files.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


@pytest.fixture
def chromium():
    """Playwright's sync API and the Chromium binary; skips without either."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install -r requirements.txt)")
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium found: install Debian's package (apt-get install chromium; install.sh does it as root) or set PARLAB_CHROMIUM")
    return sync_api, path


@contextlib.contextmanager
def jupyterlab(tmp_path, notebooks):
    """A JupyterLab server on a free localhost port, serving `notebooks`
    ({file name: notebook JSON}) from a temporary directory; yields
    (base_url, token), stops it afterwards.

    The notebook signatures live in memory, so every notebook is opened
    untrusted, as a user opening a notebook they have not run sees it,
    whatever this machine's own signature database holds."""
    root = tmp_path / "notebooks"
    root.mkdir()
    for name, nb in notebooks.items():
        (root / name).write_text(json.dumps(nb))
    write_settings(tmp_path / "settings")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
            "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None", "--NotebookNotary.db_file=:memory:",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                api(base, token, "/api/status")
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, token
    finally:
        # Shut the kernels down through the API first, so no evaluation
        # process outlives the server.
        try:
            for kernel in api(base, token, "/api/kernels") or []:
                api(base, token, f"/api/kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def lab(chromium, tmp_path):
    """JupyterLab serving a copy of the notebook with its outputs cleared,
    so whatever the test finds in the page was produced by this run, not
    saved with the committed notebook."""
    source = ROOT / "notebooks" / NOTEBOOK
    if not source.exists():
        pytest.fail(f"{source} does not exist")
    nb = json.loads(source.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    with jupyterlab(tmp_path, {NOTEBOOK: nb}) as served:
        yield served


def cell_indices(path):
    """Indices of the first `%timeit` code cell and of the first `%lprun` code cell."""
    cells = json.loads(path.read_text())["cells"]
    sources = [("".join(c["source"]) if c["cell_type"] == "code" else None) for c in cells]
    timeit = next(i for i, s in enumerate(sources) if s is not None and "%timeit" in s)
    lprun = next(i for i, s in enumerate(sources) if s is not None and "%lprun" in s)
    assert timeit < lprun, "the test runs the notebook down to %lprun and expects a %timeit cell above it"
    return timeit, lprun


def test_timeit_and_lprun_render_in_jupyterlab(chromium, lab):
    sync_api, chromium_binary = chromium
    base, token = lab
    timeit_idx, lprun_idx = cell_indices(ROOT / "notebooks" / NOTEBOOK)
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_binary, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            page.set_default_timeout(120_000)
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")

            cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
            cells.nth(lprun_idx).wait_for()
            # The kernel is ready when the toolbar names it and reports idle.
            page.locator(".jp-NotebookPanel-toolbar .jp-KernelName", has_text="Rust (parlab)").wait_for()
            page.locator(".jp-NotebookPanel-toolbar [data-status='idle']").wait_for(timeout=300_000)

            # Run from the first cell down to the %lprun cell, one Shift+Enter
            # each, as a user would: the definitions above it are needed.
            cells.nth(0).locator(".jp-InputPrompt").click()
            for _ in range(lprun_idx + 1):
                page.keyboard.press("Shift+Enter")

            timeit_out = cells.nth(timeit_idx).locator(".jp-OutputArea")
            lprun_out = cells.nth(lprun_idx).locator(".jp-OutputArea")
            lprun_out.get_by_text("Timer unit").first.wait_for(timeout=RUN_TIMEOUT_S * 1000)

            timeit_text = timeit_out.inner_text()
            assert TIMEIT_TEXT in timeit_text, timeit_text
            assert "Error" not in timeit_text, timeit_text

            table = lprun_out.locator("table").first
            headers = [h.strip() for h in table.locator("th").all_inner_texts()]
            assert "Line #" in headers and "Hits" in headers, headers
            hits_col = headers.index("Hits")
            hits = [
                row.locator("td").nth(hits_col).inner_text().strip()
                for row in table.locator("tr").all()
                if row.locator("td").count() > hits_col
            ]
            assert any(h.replace(",", "").isdigit() and int(h.replace(",", "")) > 0 for h in hits), hits
            # JupyterLab renders errors (and stderr) with this MIME type.
            for out in (timeit_out, lprun_out):
                assert out.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0, out.inner_text()

            page.keyboard.press("Control+b")  # hide the file browser: more room for the notebook
            cells.nth(timeit_idx).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "browser-01-timeit.png"))
            cells.nth(lprun_idx).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "browser-01.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser-01-failure.png"))
            raise
        finally:
            browser.close()


# Text inside the runtime's charts (`compare`'s axis, `scaling`'s caption):
# in the page, it belongs inside an image, never in the output's text.
CHART_LABELS = ("time per loop (", "Speed-up by thread count")


def is_chart(output):
    """Whether a saved output holds a chart, whatever its form."""
    data = output.get("data", {})
    html = "".join(data.get("text/html", ""))
    return "image/svg+xml" in data or "<svg" in html or "data:image/svg+xml" in html


def saved_charts():
    """{notebook file name: {code cell index: number of chart outputs}}
    for the committed notebooks with saved charts."""
    charts = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        found = {i: n for i, c in enumerate(cells) if (n := sum(map(is_chart, c.get("outputs", []))))}
        if found:
            charts[path.name] = found
    return charts


@pytest.fixture
def saved_lab(chromium, tmp_path):
    """JupyterLab serving unmodified copies of the notebooks with saved charts."""
    charts = saved_charts()
    if not charts:
        pytest.fail("no committed notebook has a saved chart")
    notebooks = {name: json.loads((ROOT / "notebooks" / name).read_text()) for name in charts}
    with jupyterlab(tmp_path, notebooks) as served:
        yield served, charts


# Every image and SVG element in an output area, once loaded: tag, intrinsic
# width (0 for an image that failed to decode), rendered width and height.
GRAPHICS_JS = """els => Promise.all(els.map(async e => {
    if (e.tagName === 'IMG') { try { await e.decode(); } catch (_) {} }
    const r = e.getBoundingClientRect();
    return [e.tagName.toLowerCase(), e.tagName === 'IMG' ? e.naturalWidth : r.width, r.width, r.height];
}))"""


def test_saved_charts_render_before_running(chromium, saved_lab):
    """A user opens a course notebook and sees its charts before running
    anything. The notebook is untrusted then: JupyterLab renders only its
    safe MIME types and sanitizes HTML (it drops `<svg>` elements, leaving
    the labels as run-on text), so the saved form must survive that."""
    sync_api, chromium_binary = chromium
    (base, token), charts = saved_lab
    ARTIFACTS.mkdir(exist_ok=True)
    problems = []  # every notebook is checked, then all problems reported

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_binary, headless=True, args=CHROMIUM_ARGS)
        try:
            for name, chart_cells in charts.items():
                # The premise: the server marks the saved outputs untrusted.
                served = api(base, token, f"/api/contents/{name}")["content"]["cells"]
                assert all(c["metadata"].get("trusted") is False for c in served if c["cell_type"] == "code"), name

                stem = name.split("-")[0]
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                try:
                    page.set_default_timeout(120_000)
                    # One workspace per notebook, so the previous one is not reopened.
                    page.goto(f"{base}/lab/workspaces/saved-{stem}/tree/{name}?token={token}")
                    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
                    for idx, expected in chart_cells.items():
                        out = cells.nth(idx).locator(".jp-OutputArea")
                        out.locator(".jp-OutputArea-output").first.wait_for()
                        graphics = out.locator(".jp-OutputArea-output :is(img, svg)").evaluate_all(GRAPHICS_JS)
                        drawn = [g for g in graphics if g[1] > 0 and g[2] >= 100 and g[3] >= 50]
                        text = out.inner_text()
                        if len(drawn) < expected:
                            problems.append(f"{name}, cell {idx}: {expected} chart(s) saved, drawn: {graphics}")
                        if any(label in text for label in CHART_LABELS):
                            problems.append(f"{name}, cell {idx}: chart shown as text: {text[-300:]!r}")
                    first = cells.nth(next(iter(chart_cells)))
                    first.scroll_into_view_if_needed()
                    first.screenshot(path=str(ARTIFACTS / f"browser-saved-{stem}-chart.png"))
                except Exception:
                    page.screenshot(path=str(ARTIFACTS / f"browser-saved-{stem}-failure.png"))
                    raise
                finally:
                    page.close()
                # Opening the notebook started a kernel; nothing runs in it.
                for session in api(base, token, "/api/sessions") or []:
                    api(base, token, f"/api/sessions/{session['id']}", method="DELETE")
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
