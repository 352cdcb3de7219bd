"""Real-browser helpers for tests: Debian's Chromium driven by Playwright, and a JupyterLab server.

Browsers cannot be downloaded here, so Playwright drives /usr/bin/chromium. Where it is missing,
browser tests skip on a developer's machine and fail under CI (CI=true), which installs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from markers import require
from missing import missing

CHROMIUM = Path(os.environ.get("COURSEKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    missing(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium browser (Playwright), closed afterwards."""
    require("browser")
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


TOKEN = "coursekit-test"  # of the JupyterLab servers tests start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lab_settings(folder: Path) -> None:
    """No virtual scrolling, so every cell stays in the page (the rest comes from ``coursekit lab``)."""
    path = folder / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"windowingMode": "none"}))


def lab_process(root_dir: Path, work: Path, port: int, token: str) -> subprocess.Popen:
    """``coursekit lab`` itself (so its JupyterLab settings are the ones tested), logging to work/."""
    _lab_settings(work / "lab-settings")
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(work / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(work / "jupyter-runtime"),
        "COURSEKIT_LAB_SETTINGS_DIR": str(work / "lab-app-settings"),
    }
    command = [
        sys.executable,
        "-m",
        "coursekit.cli",
        "lab",
        f"--notebooks={root_dir}",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.token={token}",
    ]
    log = (work / "jupyterlab.log").open("w")
    try:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def wait_for_lab(server: subprocess.Popen, base: str, token: str, work: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start; see {work / 'jupyterlab.log'}") from None
            time.sleep(0.3)


@contextlib.contextmanager
def jupyterlab(root_dir: Path, work: Path, token: str = TOKEN) -> Iterator[str]:
    """Start JupyterLab (``coursekit lab``) on 127.0.0.1 at a free port; yield its base URL; stop it afterwards."""
    port = free_port()
    server = lab_process(root_dir, work, port, token)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_lab(server, base, token, work)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def open_notebook(browser, base: str, notebook: str, timeout: float = 60_000):
    """A page with ``notebook`` open in the JupyterLab at ``base``, its kernel idle and nothing run yet."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(timeout)
    page.goto(f"{base}/lab/tree/{notebook}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle")
    return page


def run_all(page) -> None:
    """Run ▸ Run All Cells, from the menu as a student would."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def course_copy(root: Path, target: Path, notebooks: list[str]) -> Path:
    """A throwaway course folder (readings and some notebooks) so tests never touch the real one."""
    shutil.copytree(root / "readings", target / "readings")
    (target / "notebooks").mkdir(parents=True)
    for name in notebooks:  # "instructor/review.ipynb" too
        (target / "notebooks" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "notebooks" / name, target / "notebooks" / name)
    return target


def require_axe():
    """axe-core, driven from Playwright by axe-playwright-python (skips off CI when missing, fails under CI)."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        missing("axe-playwright-python is not installed: pip install -r requirements.txt")
    return Axe()


def serious_violations(page, context: str | dict | None = None) -> list[str]:
    """axe-core's serious and critical violations on the page (or inside ``context``), one line each."""
    results = require_axe().run(page, context=context)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
