"""``coursekit lab``: the JupyterLab settings it starts with, and stopping it stops JupyterLab and its kernels."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest
from browser import free_port, lab_process, wait_for_lab

from coursekit.notebook.lab import LAB_OVERRIDES, write_settings

TOKEN = "coursekit-test"


def test_settings_keep_the_environments_overrides_and_add_ours(tmp_path):
    base = tmp_path / "env"
    base.mkdir()
    (base / "overrides.json").write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "Dark"}}))
    (base / "page_config.json").write_text("{}")
    written = json.loads(write_settings(tmp_path / "ours", base).read_text())
    assert written["@jupyterlab/apputils-extension:themes"] == {"theme": "Dark"}
    assert written["@jupyter-widgets/jupyterlab-manager:plugin"] == {"saveState": True}
    assert written["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert (tmp_path / "ours" / "page_config.json").is_file()
    assert set(LAB_OVERRIDES) <= set(written)


def kernel_pids(kernel_id: str) -> list[int]:
    """Processes whose command line names this kernel's connection file."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if kernel_id in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.mark.slow  # starts JupyterLab and a kernel, then stops them
@pytest.mark.timeout(180)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_coursekit_lab_stops_jupyterlab_and_its_kernels(tmp_path, stop):
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to see the kernel processes")
    (tmp_path / "notebooks").mkdir()
    port = free_port()
    server = lab_process(tmp_path / "notebooks", tmp_path, port, TOKEN)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_lab(server, base, TOKEN, tmp_path)
        settings = json.loads((tmp_path / "lab-app-settings" / "overrides.json").read_text())
        assert settings["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True
        request = urllib.request.Request(
            f"{base}/api/kernels?token={TOKEN}", data=b'{"name": "python3"}', method="POST"
        )
        kernel = json.loads(urllib.request.urlopen(request, timeout=30).read())
        deadline = time.monotonic() + 30
        while not kernel_pids(kernel["id"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert kernel_pids(kernel["id"]), "the kernel did not start"
        os.kill(server.pid, stop)  # what Ctrl+C or a service manager does to `coursekit lab`
        server.wait(timeout=60)
        deadline = time.monotonic() + 10
        while kernel_pids(kernel["id"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert kernel_pids(kernel["id"]) == [], "a kernel outlived coursekit lab"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
