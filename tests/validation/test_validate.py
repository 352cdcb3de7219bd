"""coursekit validate: the checks without running anything, then real nbval runs over hostile submissions."""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT, filled_notebook, student_answers, write_notebook
from validate_runs import lines_of, long_answers, needs_bwrap, run, submission

from coursekit.log import demo
from coursekit.notebook import answers
from coursekit.notebook.cells import PROMPT, cell_marker, word_count
from coursekit.validation import checks, plugin, reports, runner, sandbox
from coursekit.validation import validate as validation_run
from coursekit.validation.checks import Course, check_markers, check_prompts, check_submission
from coursekit.validation.runner import CellResult, RunResult, run_problems

LOOP = """import time
while True:  # endless, and deaf to the interrupt nbval sends at its cell timeout
    try:
        time.sleep(1)
    except KeyboardInterrupt:
        pass"""
VANDAL = """from pathlib import Path
# What a naive validator would lose: this notebook and everything beside it, in its folder and the one above.
for path in list(Path.cwd().parent.rglob("*")):
    if path.is_file() and not path.is_symlink():
        path.write_text("vandalised")
        path.unlink()"""
SPAM = """import sys
for _ in range(100):
    sys.stdout.write("x" * 1_000_000)  # 100 MB in all
raise RuntimeError("spam " * 200_000)  # and a 1 MB error message"""
DIES = "import os\nos._exit(1)"
RAISES = "1 / 0"


def prompt_index(notebook: dict) -> int:
    return next(i for i, c in enumerate(notebook["cells"]) if (m := cell_marker(c)) and m["role"] == PROMPT)


def tampered(reading) -> dict:
    notebook = submission(reading)
    cell = notebook["cells"][prompt_index(notebook)]
    cell["source"] = cell["source"].replace(f"at least {reading.prompts_for(1)[0].min_words}", "at least 10")
    return notebook


def deleted_prompt(reading) -> dict:
    notebook = submission(reading)
    del notebook["cells"][prompt_index(notebook)]
    return notebook


def as_bytes(notebook: dict) -> bytes:
    return json.dumps(notebook).encode()


def check(data: bytes, course: Course):
    return check_submission(data, "ana", Path("ana/week01.ipynb"), course)


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


# Checks without running anything


@pytest.fixture(scope="module")
def course() -> Course:
    return Course(ROOT)


def test_a_complete_submission_has_no_problems_and_is_run_with_its_reading(reading, course):
    report, run_with = check(as_bytes(submission(reading)), course)
    assert report.problems == [] and report.notebook == "week01-the-promise" and report.week == 1
    assert run_with is not None and run_with.path == ROOT / "readings" / reading.id


def test_short_reflections_are_named_with_their_counts(reading, course):
    answers = student_answers(reading, 1, "ana")
    report, run_with = check(as_bytes(submission(reading, answers=answers)), course)
    prompts = reading.prompts_for(1)
    assert [p.reason for p in report.problems] == [
        f"the reflection for {p.id} has {word_count(answers[p.id])} words; at least {p.min_words} are needed"
        for p in prompts
    ]
    assert run_with is not None  # too short is no reason not to run it


def test_a_changed_prompt_is_named(reading, course):
    report, _ = check(as_bytes(tampered(reading)), course)
    assert [p.reason for p in report.problems] == [f"the prompt cell for {reading.prompts_for(1)[0].id} was changed"]


def test_nbval_markers_a_student_added_are_named(reading, course):
    notebook = submission(reading, "# NBVAL_SKIP\n1/0", "2 + 2")
    notebook["cells"][3]["metadata"]["tags"] = ["raises-exception"]
    report, _ = check(as_bytes(notebook), course)
    assert [p.reason for p in report.problems] == [
        "code cell 2 carries NBVAL_SKIP, which would hide it from validation",
        "code cell 3 carries raises-exception, which would hide it from validation",
    ]
    assert check_markers(filled_notebook(reading, 2, {})["cells"]) == []  # course notebooks carry none


def test_a_prompt_from_elsewhere_is_named(reading):
    course_cells = filled_notebook(reading, 1, {})["cells"]
    extra = copy.deepcopy(course_cells[prompt_index({"cells": course_cells})])
    extra["metadata"]["coursekit"]["prompt_id"] = "w9-made-up"
    problems = check_prompts([*course_cells, extra], course_cells)
    assert [p.reason for p in problems] == ["prompt cell 'w9-made-up' is not in the course notebook"]
    assert check_prompts(course_cells[:1], course_cells)[0].reason.endswith("is missing")


def test_file_problems_fail_without_running(reading, course):
    for data, reason in [(b'{"cells": [', "not valid JSON"), (as_bytes(deleted_prompt(reading)), "was deleted")]:
        report, run_with = check(data, course)
        assert run_with is None
        assert len(report.problems) == 1 and reason in report.problems[0].reason and report.problems[0].hint


def test_a_reading_not_in_the_course_says_to_pass_the_course_folder(reading, course):
    notebook = submission(reading)
    notebook["metadata"]["coursekit"]["reading"] = "someone-else-2020"
    report, run_with = check(as_bytes(notebook), course)
    assert run_with is None
    assert "'someone-else-2020'" in report.problems[0].reason and "--course" in report.problems[0].hint


def test_run_results_become_reasons():
    assert run_problems(RunResult(None, None, "", 20.0, 20.0))[0].reason == "timed out after 20 s"
    stuck = RunResult(None, None, "", 20.0, 20.0, last_started="Cell 2")
    assert run_problems(stuck)[0].reason == "timed out after 20 s in code cell 3"
    assert run_problems(RunResult(0, (CellResult("Cell 0", "passed"),), "", 1.0, 20.0)) == []
    died = [
        CellResult("Cell 1", "failed", "pytest plugin exception: the kernel died (the notebook called os._exit)"),
        *(CellResult(f"Cell {n}", "failed", "pytest plugin exception: Kernel dead on test start") for n in (2, 3)),
    ]
    reasons = [p.reason for p in run_problems(RunResult(1, tuple(died), "", 1.0, 20.0))]
    assert reasons == [
        "code cell 2: the kernel died (the notebook called os._exit)",
        "2 later code cell(s) did not run: the kernel was dead",
    ]
    assert "killed by signal 9" in run_problems(RunResult(-9, None, "", 1.0, 20.0))[0].reason
    assert "no readable report" in run_problems(RunResult(0, None, "", 1.0, 20.0))[0].reason


def test_nbval_messages_are_shortened_to_the_cell_and_the_error():
    message = (
        "Notebook cell execution failed\nCell 4: Cell execution caused an exception\n\nInput:\n"
        "x = 1 / 0\nprint(x)\n\nTraceback:\n#x1B[31m---------\x1b[0m\nZeroDivisionError: division by zero\n"
    )
    assert runner.describe_failure(CellResult("Cell 4", "failed", message)) == (
        "code cell 5 (x = 1 / 0): Cell execution caused an exception: ZeroDivisionError: division by zero"
    )


def test_the_plugin_lines_name_the_last_cell_started_and_are_left_out_of_the_output():
    output = f"\n{runner.STARTING}notebooks/submission.ipynb::Cell 0\n.\n{runner.STARTING}n.ipynb::Cell 1\n"
    assert runner.split_output(output) == ("\n.", "Cell 1")
    assert runner.split_output("..F") == ("..F", "")


def test_junit_is_read_only_when_small_and_not_a_symlink(tmp_path, monkeypatch):
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite><testcase name="Cell 0"/><testcase name="Cell 1"><failure message="m">long</failure>'
        '</testcase><testcase name="Cell 2"><skipped message="s"/></testcase></testsuite></testsuites>'
    )
    assert runner.read_junit(junit) == (
        CellResult("Cell 0", "passed"),
        CellResult("Cell 1", "failed", "long"),
        CellResult("Cell 2", "skipped", "s"),
    )
    (tmp_path / "link.xml").symlink_to(junit)
    assert runner.read_junit(tmp_path / "link.xml") is None
    assert runner.read_junit(tmp_path / "missing.xml") is None
    monkeypatch.setattr(runner, "JUNIT_LIMIT", 10)
    assert runner.read_junit(junit) is None


def test_only_the_tail_of_the_output_is_read():
    with tempfile.TemporaryFile() as output:
        output.write(b"x" * 1_000_000 + b"THE END")
        tail = runner.read_tail(output)
    assert tail.endswith("THE END") and len(tail) < runner.OUTPUT_TAIL + 100
    assert tail.startswith("[... first 980007 bytes of output cut ...]")


def test_the_plugin_cuts_huge_failure_messages():
    report = SimpleNamespace(failed=True, longrepr="x" * 10_000_000)
    plugin.pytest_runtest_logreport(report)
    assert len(report.longrepr) < plugin.MESSAGE_LIMIT + 100 and "characters cut" in report.longrepr


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_the_deadline_or_a_stop_kills_the_process_and_what_it_started_in_a_session_of_its_own():
    # Like pytest starting nbval's kernel: a child in a new session, out of reach of the parent's process group.
    spawn = "import subprocess, time; print(subprocess.Popen(['sleep', '60'], start_new_session=True).pid, flush=True)"
    for stop_now in (False, True):
        stop = threading.Event()
        process = subprocess.Popen(
            [sys.executable, "-c", spawn + "; time.sleep(60)"], stdout=subprocess.PIPE, start_new_session=True
        )
        child = int(process.stdout.readline())
        if stop_now:
            stop.set()
        started = time.monotonic()
        assert runner._wait(process, started + 1, stop) is None
        assert time.monotonic() - started < 5
        time.sleep(0.2)
        assert not running(process.pid) and not running(child)
        process.stdout.close()


@pytest.mark.sandbox  # builds the bubblewrap command, asking the installed bwrap for its options
def test_commands_ignore_the_project_pytest_config_and_sandbox_only_python_and_the_copy(tmp_path):
    command = runner.nbval_command(tmp_path, tmp_path / "notebooks" / "n.ipynb", 20, 1000)
    assert command[command.index("-c") + 1] == os.devnull and "--nbval-lax" in command
    assert "--nbval-cell-timeout=20" in command and command[-1].endswith("n.ipynb")
    assert f"{runner.MEMORY_OPTION}=1000" in command
    boxed = sandbox.sandbox_command(tmp_path, command)
    binds = {(boxed[i], boxed[i + 1], boxed[i + 2]) for i, arg in enumerate(boxed) if arg.endswith("bind")}
    assert ("--bind", str(tmp_path), str(tmp_path)) in binds  # the one writable place
    bound = {source for _, source, _ in binds}
    assert not bound & {"/", "/etc", "/home", "/root", "/run", "/tmp", "/var", "/etc/shadow", "/etc/passwd"}
    assert os.path.realpath(sys.base_prefix) in bound or any(
        os.path.realpath(sys.base_prefix).startswith(b + "/") for b in bound
    )
    assert {"--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"} <= set(boxed)
    assert boxed[boxed.index("--cap-drop") + 1] == "ALL" and boxed[-len(command) :] == command
    env = runner._environment(tmp_path, "m")
    assert env["HOME"] == str(tmp_path / "home") and env[runner.MARK] == "m"
    assert set(env) <= set(sandbox.minimal_environment()) | {
        "TMPDIR",
        "IPYTHONDIR",
        "JUPYTER_RUNTIME_DIR",
        runner.MARK,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    }


def test_reports_escape_hostile_names(tmp_path):
    hostile = '=HYPERLINK("http://x")\x1b[31m<b>'
    report = checks.NotebookReport(hostile, tmp_path / "s" / "n.ipynb", "week01", 1)
    report.problems.append(checks.Problem("reason with <xml> & \x00 nul", "hint"))
    reports.write_junit([report], tmp_path / "out" / "report.xml", tmp_path)
    reports.write_report_csv([report], tmp_path / "out" / "report.csv", tmp_path)
    case = ET.parse(tmp_path / "out" / "report.xml").find(".//testcase")
    assert case.get("classname") == '=HYPERLINK("http://x")?[31m<b>' and case.get("file") == "s/n.ipynb"
    assert case.find("failure").get("message") == "reason with <xml> & ? nul"
    rows = list(csv.DictReader((tmp_path / "out" / "report.csv").open()))
    assert rows[0]["student"].startswith("'=HYPERLINK") and rows[0]["status"] == "fail"


# Real runs


@pytest.fixture(scope="module")
def class_run(reading, tmp_path_factory):
    """One validate run over a class of good, failing and hostile submissions, three at a time."""
    root = tmp_path_factory.mktemp("validate")
    subs = root / "submissions"
    notebooks = {
        "ana-passes": submission(reading),
        "ben-too-short": submission(reading, answers=student_answers(reading, 1, "ben")),
        "cy-tampered": tampered(reading),
        "dee-deleted": deleted_prompt(reading),
        "eve-raises": submission(reading, RAISES),
        "fin-loops": submission(reading, LOOP),
        "gus-vandal": submission(reading, VANDAL),
        "hal-spams": submission(reading, SPAM),
        "ida-dies": submission(reading, DIES),
    }
    for student, notebook in notebooks.items():
        write_notebook(subs / student / "week01.ipynb", notebook)
    write_notebook(subs / "ana-passes" / "week02.ipynb", submission(reading, week=2))  # not this week
    (subs / "zed-empty").mkdir()
    before = checksums(subs)
    # The copies go to a temporary folder of this test's own, so other validate runs on the machine
    # (other checkouts' test suites) are not mistaken for leftovers of this one.
    temp = root / "tmp"
    temp.mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(temp)
    out = root / "out"
    try:
        result = run(
            "validate", str(subs), "--week", "1", "--jobs", "3", "--timeout", "30",
            "--course", str(ROOT), "--out", str(out),
        )  # fmt: skip
    finally:
        tempfile.tempdir = saved
    return SimpleNamespace(result=result, subs=subs, before=before, temp=temp, out=out)


@pytest.mark.slow  # class_run: nine notebooks, one looping until its 30 s timeout (76 s loaded)
@pytest.mark.sandbox  # class_run: validate sandboxes by default
def test_every_submission_is_reported_by_name(class_run):
    result = class_run.result
    assert result.exit_code == 1, result.output
    assert "10 notebook(s): 2 passed, 8 failed." in result.stdout
    assert lines_of(result.stdout, "ana-passes")[0].startswith("pass ")
    assert "week02" not in result.stdout
    expected = {
        "ben-too-short": "words; at least",
        "cy-tampered": "was changed",
        "dee-deleted": "was deleted",
        "eve-raises": "(1 / 0): Cell execution caused an exception: ZeroDivisionError: division by zero",
        "fin-loops": "timed out after 30 s in code cell 2",
        "hal-spams": "RuntimeError: spam spam",
        "ida-dies": "the kernel died",
        "zed-empty": "holds no .ipynb notebook",
    }
    for student, reason in expected.items():
        lines = lines_of(result.stdout, student)
        assert lines[0].startswith("fail "), lines
        assert any(reason in line for line in lines[1:]), (student, lines)
    assert "(not run)" in lines_of(result.stdout, "dee-deleted")[0]


@pytest.mark.slow
@pytest.mark.sandbox
def test_hostile_notebooks_leave_the_submissions_and_the_others_alone(class_run):
    assert checksums(class_run.subs) == class_run.before
    assert lines_of(class_run.result.stdout, "gus-vandal")[0].startswith("pass ")  # it only wrecked its own copy
    assert list(class_run.temp.glob("coursekit-validate-*")) == []  # copies removed
    leftovers = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(class_run.temp).encode() in (proc / "cmdline").read_bytes():
                leftovers.append(proc.name)
        except OSError:
            continue
    assert leftovers == [], "a kernel or pytest of a stopped notebook is still running"


@pytest.mark.slow
@pytest.mark.sandbox
def test_reports_are_written_and_output_is_capped(class_run):
    xml = class_run.out / "report.xml"
    assert xml.stat().st_size < 200_000  # hal printed 100 MB and raised 1 MB
    cases = {c.get("classname"): c for c in ET.parse(xml).iter("testcase")}
    assert len(cases) == 10 and cases["ana-passes"].find("failure") is None
    spam = cases["hal-spams"].find("failure")
    assert "RuntimeError" in spam.get("message") and len(spam.text) < runner.OUTPUT_TAIL + 10_000
    rows = {r["student"]: r for r in csv.DictReader((class_run.out / "report.csv").open())}
    assert rows["fin-loops"]["status"] == "fail" and "timed out after 30 s" in rows["fin-loops"]["reasons"]
    assert rows["ana-passes"]["file"] == "ana-passes/week01.ipynb" and rows["ana-passes"]["reasons"] == ""


@pytest.mark.sandbox  # the first call checks that bubblewrap works here
def test_usage_errors_exit_2(tmp_path, make_class, monkeypatch):
    result = run("validate", str(tmp_path / "nowhere"), "--course", str(ROOT))
    assert result.exit_code == 2 and "nowhere: no such folder" in result.stderr
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    result = run("validate", str(make_class(1)), "--course", str(ROOT), "--sandbox")
    assert result.exit_code == 2 and "bubblewrap" in result.stderr and "not on PATH" in result.stderr
    result = run("validate", str(tmp_path / "nowhere"), "--course", str(ROOT))  # no --sandbox: warn, go on
    assert "warning: cannot sandbox" in result.stderr and "nowhere: no such folder" in result.stderr


SNOOP = """import os, socket
seen = []
for path in {files!r}:
    try:
        seen.append(open(path).read())
    except OSError as exc:
        seen.append(f"read {{path}}: {{exc.__class__.__name__}}")
seen.append(os.environ.get("COURSEKIT_TEST_CANARY", "no canary variable"))
for address in {sockets!r}:
    try:
        client = socket.socket(socket.AF_UNIX)
        client.settimeout(5)
        client.connect(address)
        seen.append(client.recv(100).decode())
    except OSError as exc:
        seen.append(f"socket: {{exc.__class__.__name__}}")
try:
    open({outside!r}, "w").write("escaped")
    seen.append("wrote outside")
except OSError as exc:
    seen.append(f"write: {{exc.__class__.__name__}}")
seen.append("interfaces " + str([name for _, name in socket.if_nameindex()]))
raise RuntimeError(" | ".join(seen))"""
HOG = "block = bytearray(8 * 1024**3)  # 8 GiB"
DAEMON = """import subprocess
# A double-forked daemon: sh starts it in a session of its own and exits, so it belongs to no one.
subprocess.run(["sh", "-c", "setsid sleep 300 > /dev/null 2>&1 & echo $! > {pidfile}"], check=True)"""


@pytest.fixture
def host(tmp_path, monkeypatch):
    """What a student notebook must not reach: a canary file, a canary variable and two host UNIX sockets."""
    import socket
    import uuid

    secret = uuid.uuid4().hex
    canary = tmp_path / "host" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text(f"file-{secret}")
    monkeypatch.setenv("COURSEKIT_TEST_CANARY", f"variable-{secret}")
    servers, sockets = [], []
    for address in (str(tmp_path / "host" / "agent.sock"), f"\0coursekit-test-{uuid.uuid4().hex}"):
        server = socket.socket(socket.AF_UNIX)
        server.bind(address)
        server.listen(8)
        servers.append(server)
        sockets.append(address)

    def serve(server):
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(f"socket-{secret}".encode())
            conn.close()

    for server in servers:
        threading.Thread(target=serve, args=(server,), daemon=True).start()
    outside = tmp_path / "host" / "escaped.txt"
    files = [str(canary), "/etc/shadow", str(Path.home() / ".bash_history")]
    yield SimpleNamespace(secret=secret, canary=canary, outside=outside, files=files, sockets=sockets)
    for server in servers:
        server.close()


def snoop(reading, host) -> dict:
    return submission(reading, SNOOP.format(files=host.files, sockets=host.sockets, outside=str(host.outside)))


@needs_bwrap
def test_the_sandbox_hides_the_machine_and_limits_memory_by_default(reading, tmp_path, host):
    subs = tmp_path / "submissions"
    write_notebook(subs / "snoop" / "week01.ipynb", snoop(reading, host))
    write_notebook(subs / "hog" / "week01.ipynb", submission(reading, HOG))
    out = tmp_path / "out"
    boxed = run("validate", str(subs), "--jobs", "2", "--course", str(ROOT), "--out", str(out))  # sandbox: default
    assert boxed.exit_code == 1, boxed.output
    assert "in a sandbox" in boxed.stderr
    report = (out / "report.xml").read_text()
    for text in (boxed.stdout, report):
        assert host.secret not in text  # not the file, not the variable, not either socket
    said = "\n".join(lines_of(boxed.stdout, "snoop"))
    assert f"read {host.canary}: FileNotFoundError" in report and "no canary variable" in report
    assert "read /etc/shadow: FileNotFoundError" in report
    assert "socket: FileNotFoundError | socket: ConnectionRefusedError" in report  # the path, the abstract name
    assert "write: FileNotFoundError" in report and "interfaces ['lo']" in report, said
    assert not host.outside.exists()
    hog = "\n".join(lines_of(boxed.stdout, "hog"))
    assert "ran out of memory (the limit is 2,048 MiB" in hog and "--memory" in hog, hog


def test_without_the_sandbox_a_notebook_reaches_the_host_but_not_the_variables_or_past_its_run(reading, tmp_path, host):
    """The control for the test above (the same notebook sees the host), plus what holds in both modes."""
    subs = tmp_path / "submissions"
    pidfile = tmp_path / "host" / "daemon.pid"
    write_notebook(subs / "snoop" / "week01.ipynb", snoop(reading, host))
    write_notebook(subs / "hog" / "week01.ipynb", submission(reading, HOG))
    write_notebook(subs / "daemon" / "week01.ipynb", submission(reading, DAEMON.format(pidfile=pidfile)))
    out = tmp_path / "out"
    plain = run(
        "validate", str(subs), "--no-sandbox", "--jobs", "2", "--memory", "1536",
        "--course", str(ROOT), "--out", str(out),
    )  # fmt: skip
    assert plain.exit_code == 1, plain.output
    assert "--no-sandbox" in plain.stderr and "warning" in plain.stderr
    report = (out / "report.xml").read_text()
    assert f"file-{host.secret}" in report and f"socket-{host.secret} | socket-{host.secret}" in report  # control
    assert host.outside.read_text() == "escaped"
    assert f"variable-{host.secret}" not in report and "no canary variable" in report  # minimal environment
    assert "ran out of memory (the limit is 1,536 MiB" in "\n".join(lines_of(plain.stdout, "hog"))
    assert lines_of(plain.stdout, "daemon")[0].startswith("pass ")
    daemon = int(pidfile.read_text())
    time.sleep(0.2)
    assert not running(daemon), "the double-forked daemon outlived its run"


KILLER = """import os
pytest_pid = os.getppid()  # nbval's pytest started this kernel; validate started pytest
validate_pid = int(open(f"/proc/{pytest_pid}/stat").read().rsplit(")", 1)[1].split()[1])
os.kill(validate_pid, 9)"""


@pytest.mark.slow  # a notebook kills validate (46 s loaded)
def test_a_notebook_that_kills_validate_leaves_the_others_reports(reading, tmp_path):
    subs = tmp_path / "submissions"
    write_notebook(subs / "ana" / "week01.ipynb", submission(reading))
    write_notebook(subs / "ben" / "week01.ipynb", submission(reading, RAISES))
    write_notebook(subs / "zed" / "week01.ipynb", submission(reading, KILLER))
    write_notebook(subs / "dee" / "week01.ipynb", deleted_prompt(reading))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "coursekit.cli", "validate", str(subs), "--no-sandbox", "--jobs", "1"]
    done = subprocess.run([*command, "--course", str(ROOT), "--out", str(out)], capture_output=True, timeout=600)
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    rows = {r["student"]: r for r in csv.DictReader((out / "report.csv").open())}
    assert {s: r["status"] for s, r in rows.items()} == {"ana": "pass", "ben": "fail", "dee": "fail"}
    assert "ZeroDivisionError" in rows["ben"]["reasons"] and "was deleted" in rows["dee"]["reasons"]
    cases = {c.get("classname") for c in ET.parse(out / "report.xml").iter("testcase")}
    assert cases == {"ana", "ben", "dee"}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_the_plugin_caps_the_address_space_of_the_run_and_what_it_starts():
    allocate = "import subprocess, sys; sys.exit(subprocess.call([sys.executable, '-c', 'bytearray(1024**3)']))"
    free = subprocess.run([sys.executable, "-c", allocate], capture_output=True, text=True)
    assert free.returncode == 0, free.stderr  # 1 GiB is fine without the cap: the control
    capped = subprocess.run(
        [sys.executable, "-c", f"from coursekit.validation.plugin import limit_memory; limit_memory(512); {allocate}"],
        capture_output=True,
        text=True,
    )
    assert capped.returncode != 0 and "MemoryError" in capped.stderr  # the child inherited the cap


def test_a_reflection_typed_into_a_new_cell_fails_validation(reading, course):
    notebook = submission(reading)
    at = prompt_index(notebook)
    stray = {"cell_type": "markdown", "metadata": {}, "source": "What I really meant to write, in a new cell."}
    notebook["cells"].insert(at + 2, stray)  # after the reflection cell, before the word count
    report, _ = check(as_bytes(notebook), course)
    prompt = reading.prompts_for(1)[0].id
    assert [p.reason for p in report.problems] == [
        f"text in an untagged cell after prompt {prompt} (cell {at + 3}): not collected"
    ]
    assert "move it into the reflection cell" in report.problems[0].hint
    notebook["cells"][at + 2]["source"] = "   "  # an empty new cell is harmless
    assert check(as_bytes(notebook), course)[0].problems == []


# Saved widget answers


def lab_saved(reading, week: int, records: dict[str, dict]) -> dict:
    """A week's notebook as JupyterLab saves it after Run All Cells and answering: the committed, executed
    notebook (execution counts, widget views, widget state) with the reflections written and each answer
    output updated in place, as the widget's display id does."""
    notebook = json.loads(next((ROOT / "notebooks").glob(f"week{week:02d}-*.ipynb")).read_text())
    texts = long_answers(reading, week, "lab")
    for cell in notebook["cells"]:
        marker = cell_marker(cell)
        if marker and marker["role"] == "reflection":
            cell["source"] = texts[marker["prompt_id"]]
        for output in cell.get("outputs", []):
            saved = output.get("data", {}).get(answers.MIME)
            if saved and saved["id"] in records:
                output["data"] = answers.bundle(records[saved["id"]])
    return notebook


def stance_record(reading, stance_id: str) -> dict:
    stance = reading.stance(stance_id)
    state = {"stance": stance.id, "value": 2, "label": stance.labels[2], "steps": stance.steps, "reason": "rules"}
    return answers.record("stance", stance.id, state)


@pytest.mark.sandbox
def test_notebooks_holding_saved_widget_answers_pass(reading, tmp_path):
    """The demo class saves answers without execution counts, JupyterLab with them: both are run, neither fails."""
    demo.make_class(reading, tmp_path / "demo", students=2)
    subs = tmp_path / "demo" / "submissions" / "week04"  # a stance and replies and likes saved in each
    saved = [json.loads(p.read_text()) for p in sorted(subs.glob("*/week04.ipynb"))]
    kinds = {o["data"][answers.MIME]["kind"] for nb in saved for c in nb["cells"] for o in c.get("outputs", [])}
    assert {"stance", "peer"} <= kinds and all(c["execution_count"] is None for nb in saved for c in nb["cells"][1:2])
    lab = lab_saved(reading, 4, {"saving-grace": stance_record(reading, "saving-grace")})
    assert all(c["execution_count"] for c in lab["cells"] if c["cell_type"] == "code")
    write_notebook(subs / "lab" / "week04.ipynb", lab)
    out = tmp_path / "out"
    result = run("validate", str(subs), "--jobs", "2", "--course", str(ROOT), "--out", str(out))
    rows = {r["student"]: r for r in csv.DictReader((out / "report.csv").open())}
    assert rows["lab"]["status"] == "pass", result.output
    short = re.compile(r" {6}- the reflection for \S+ has \d+ words; at least \d+ are needed  → ")
    for student in ("s000", "s001"):  # the demo's reflections are of every length: only short ones may fail
        status, *reasons = lines_of(result.stdout, student)
        assert "(not run)" not in status and all(short.match(r) for r in reasons), (status, reasons)
    assert "Unrun reference cell" not in result.output


def test_the_run_copy_has_no_saved_outputs_and_comparing_keeps_them():
    cell = {"cell_type": "code", "source": "1", "metadata": {}, "execution_count": None, "outputs": [{"x": 1}]}
    text = {"cell_type": "markdown", "source": "a", "metadata": {}}
    data = json.dumps({"cells": [cell, text], "metadata": {"m": 1}, "nbformat": 4}).encode()
    copied = json.loads(runner.without_outputs(data))
    assert copied["cells"] == [{**cell, "outputs": []}, text] and copied["metadata"] == {"m": 1}
    assert runner.without_outputs(b"{not json") == b"{not json"


# The course's own notebooks


@pytest.mark.sandbox
def test_validate_on_the_course_notebooks_checks_that_week_as_course_notebooks(tmp_path):
    """`validate notebooks/ --week 1`: the week's course notebook is run (outputs compared), the rest left out."""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    out = tmp_path / "out"
    result = run("validate", str(notebooks), "--week", "1", "--course", str(ROOT), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "pass  (course notebook)  week01-the-promise  week01-the-promise.ipynb" in result.stdout
    assert "1 notebook(s): 1 passed, 0 failed." in result.stdout
    assert "student folder" not in result.output and "week02" not in result.output and "review" not in result.output
    rows = list(csv.DictReader((out / "report.csv").open()))
    assert [(r["student"], r["notebook"], r["status"]) for r in rows] == [
        (checks.COURSE_NOTEBOOK, "week01-the-promise", "pass")
    ]


def test_course_notebooks_are_compared_with_a_fresh_build_and_run_comparing_outputs(reading, tmp_path, monkeypatch):
    """A release-like folder: course notebooks (one stale), the review notebook, readings/, a student's strays."""
    folder = tmp_path / "release"
    shutil.copytree(ROOT / "readings", folder / "readings")
    shutil.copy(ROOT / "notebooks" / "week01-the-promise.ipynb", folder)
    stale = json.loads(next((ROOT / "notebooks").glob("week02-*.ipynb")).read_text())
    stale["cells"][0]["source"] = "# An older title\n"
    write_notebook(folder / "week02-old.ipynb", stale)
    shutil.copytree(ROOT / "notebooks" / "instructor", folder / "instructor")
    write_notebook(folder / "ana.ipynb", submission(reading))  # written reflections: a student's, not the course's
    (folder / "zed").mkdir()  # a student's empty folder is reported even here
    ran = {}

    def fake_run(data, readings, timeout, sandbox, stop, memory, allowed, compare):
        ran[json.loads(data)["metadata"]["coursekit"]["notebook"]] = compare
        return RunResult(0, (CellResult("Cell 0", "passed"),), "", 1.0, timeout)

    monkeypatch.setattr(validation_run, "run_notebook", fake_run)
    found = {r.path.name: r for r in validation_run.validate(folder, ROOT)}
    assert set(found) == {"week01-the-promise.ipynb", "week02-old.ipynb", "review.ipynb", "ana.ipynb", "zed"}
    assert ran == {"week01-the-promise": True, "week02-webers-reminders": True}, ran  # outputs compared
    assert found["week01-the-promise.ipynb"].status == "pass" and found["week01-the-promise.ipynb"].course
    old = found["week02-old.ipynb"]
    assert old.student == checks.COURSE_NOTEBOOK and [p.reason for p in old.problems] == [
        "cell 1 differs from the notebook built from readings/: the notebook is out of date"
    ]
    assert f"coursekit build {reading.path} --out {folder}" in old.problems[0].hint
    review = found["review.ipynb"]
    assert review.status == "skip" and review.problems == []
    assert f"python -m pytest --nbval {folder / 'instructor' / 'review.ipynb'}" in review.skipped.hint
    assert "not inside a student folder" in found["ana.ipynb"].problems[0].reason
    assert "holds no .ipynb notebook" in found["zed"].problems[0].reason
    ran.clear()
    weekly = {r.path.name: r.status for r in validation_run.validate(folder, ROOT, week=1)}
    assert weekly == {"week01-the-promise.ipynb": "pass", "ana.ipynb": "fail", "zed": "fail"}
    assert ran == {"week01-the-promise": True}
    out = tmp_path / "out"
    reports.write_junit(list(found.values()), out / "report.xml", folder)
    skipped = [c for c in ET.parse(out / "report.xml").iter("testcase") if c.find("skipped") is not None]
    assert [c.get("file") for c in skipped] == ["instructor/review.ipynb"]
