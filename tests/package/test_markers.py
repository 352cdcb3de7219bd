"""The markers are where they belong, checked by collecting the whole suite (nothing is run).

``-m "not postgres"`` must keep every SQLite test and leave out every PostgreSQL one, and
``-m "not browser"`` every test that starts Chromium. tests/markers.py also fails such a test
when it runs unmarked; this check needs no browser and no server.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

# Run in a fresh pytest: every test item's id, markers, backend and whether its code starts Chromium.
COLLECT = """
import inspect, json, sys
import pytest

class Dump:
    def pytest_collection_finish(self, session):
        found = []
        for item in session.items:
            function = getattr(item, "function", None)
            source = inspect.getsource(function) if function else ""
            callspec = getattr(item, "callspec", None)
            found.append({
                "id": item.nodeid,
                "markers": sorted({m.name for m in item.iter_markers()}),
                "backend": callspec.params.get("backend") if callspec else None,
                "chromium": "chromium()" in source,
                "postgres": 'fresh_database("postgresql"' in source or "require_postgres()" in source,
            })
        print("MARKERS-JSON " + json.dumps(found))

sys.exit(pytest.main(["--collect-only", "-q", "tests"], plugins=[Dump()]))
"""


def collected() -> list[dict]:
    done = subprocess.run([sys.executable, "-c", COLLECT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("MARKERS-JSON "))
    return json.loads(line.removeprefix("MARKERS-JSON "))


def test_every_browser_and_postgresql_test_carries_its_marker():
    items = collected()
    unmarked = [i["id"] for i in items if i["chromium"] and "browser" not in i["markers"]]
    on_postgresql = [i for i in items if i["backend"] == "postgresql" or i["postgres"]]
    unmarked += [i["id"] for i in on_postgresql if "postgres" not in i["markers"]]
    assert unmarked == [], "mark these (pytest.mark.browser / pytest.mark.postgres):\n" + "\n".join(unmarked)
    sqlite = [i["id"] for i in items if i["backend"] == "sqlite" and "postgres" in i["markers"]]
    assert sqlite == [], "the SQLite half must stay in -m 'not postgres':\n" + "\n".join(sqlite)
    for marker in ("browser", "postgres"):  # the check above looked at real tests
        assert sum(marker in i["markers"] for i in items) >= 5, marker


def test_an_unmarked_test_that_builds_a_bubblewrap_command_fails():
    """The sandbox guard can fail: this test carries no marker, so both names of the function refuse it."""
    from coursekit.validation import runner, sandbox

    for module in (sandbox, runner):
        with pytest.raises(pytest.fail.Exception, match=r"in bubblewrap: mark it @pytest\.mark\.sandbox"):
            module.sandbox_command(ROOT, ["true"])
