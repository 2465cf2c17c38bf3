"""The course in a real browser: JupyterLab served on localhost, driven by
Playwright in Debian's headless Chromium.

It opens `notebooks/01-profiling.ipynb` (a temporary copy, so the committed
notebook is never modified), runs it from the top down to its `%lprun`
cell (which includes its first `%timeit` cell), and checks that both
outputs are rendered in the page: the `%timeit` line and the `%lprun`
table. Screenshots go to `tests/artifacts/` (not committed).

Chromium is Debian's package (`install.sh` installs it with apt-get where
it can), never a browser downloaded by Playwright. Where there is no
Chromium, or no Playwright, the test skips and says why. Set
`PARLAB_CHROMIUM` to use another Chromium binary.
"""
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


@pytest.fixture
def lab(chromium, tmp_path):
    """A JupyterLab server on a free localhost port, serving a temporary
    copy of the notebook; yields (base_url, token), stops it afterwards."""
    source = ROOT / "notebooks" / NOTEBOOK
    if not source.exists():
        pytest.fail(f"{source} does not exist")
    root = tmp_path / "notebooks"
    root.mkdir()
    # Outputs cleared, so whatever the test finds in the page was produced
    # by this run, not saved with the committed notebook.
    nb = json.loads(source.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (root / NOTEBOOK).write_text(json.dumps(nb))
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
            "--LabApp.news_url=None",
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
