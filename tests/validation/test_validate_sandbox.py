"""The validate sandbox against a notebook that tries to become root again, and failures only the sandbox causes."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import ROOT, write_notebook
from missing import missing
from validate_runs import lines_of, needs_bwrap, run, submission

from coursekit.validation import runner
from coursekit.validation.runner import CellResult, RunResult, run_problems

# Every way back to root's powers the audit found, each tried and named "ok" or with its error.
ESCALATE = r"""import ctypes, errno, json, os, resource, subprocess, sys, sysconfig, uuid
libc = ctypes.CDLL(None, use_errno=True)
FLAGS = {"ro": 1, "nosuid": 2, "nodev": 4, "noexec": 8, "noatime": 1024, "nodiratime": 2048, "relatime": 1 << 21}
MS_REMOUNT, MS_BIND = 32, 4096
environment = sysconfig.get_paths()["purelib"]
tried = {}

def attempt(name, action):
    try:
        action()
        tried[name] = "ok"
    except Exception as exc:
        code = getattr(exc, "errno", None)
        tried[name] = errno.errorcode.get(code, exc.__class__.__name__) if code else exc.__class__.__name__

def call(result):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))

def remount():
    # The read-only mount holding the Python environment, made writable with its other flags kept.
    mounts = [line.split() for line in open("/proc/self/mountinfo")]
    inside = [m for m in mounts if environment == m[4] or environment.startswith(m[4].rstrip("/") + "/")]
    point = max(inside, key=lambda m: len(m[4]))
    options = point[5].split(",")
    if "ro" not in options:
        raise RuntimeError("NotReadOnly")  # unsandboxed: nothing to make writable, and the host's mounts are left alone
    flags = sum(FLAGS.get(o, 0) for o in options if o != "ro")
    call(libc.mount(None, point[4].encode(), None, MS_REMOUNT | MS_BIND | flags, None))

def mount():
    os.makedirs("mnt", exist_ok=True)
    call(libc.mount(b"none", b"mnt", b"tmpfs", 0, None))
    call(libc.umount2(b"mnt", 0))

def chown():
    open("mine", "w").close()
    os.chown("mine", 1, 1)

def write_environment():
    probe = os.path.join(environment, f"coursekit-probe-{uuid.uuid4().hex}.txt")
    with open(probe, "w") as file:
        file.write("escaped")
    os.remove(probe)

def raise_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (soft, resource.RLIM_INFINITY))

def user_namespace():
    code = "import ctypes, sys; c = ctypes.CDLL(None, use_errno=True); "
    code += "sys.exit(c.unshare(0x10000000) and ctypes.get_errno())"
    status = subprocess.run([sys.executable, "-c", code]).returncode
    if status:
        raise OSError(status, os.strerror(status))

for name, action in [("remount", remount), ("mount", mount), ("chown", chown), ("write_environment", write_environment),
                     ("raise_limit", raise_limit), ("user_namespace", user_namespace)]:
    attempt(name, action)
tried["capabilities"] = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("CapEff"))
tried["disks"] = [line.split()[-1] for line in open("/proc/partitions").read().splitlines()[2:] if line.split()][:20]
tried["uid"] = os.getuid()
raise RuntimeError("ESCALATE " + json.dumps(tried))"""
ATTEMPTS = ("remount", "mount", "chown", "write_environment", "raise_limit", "user_namespace")


CAP_SYS_RESOURCE = 24


def has_capability(number: int) -> bool:
    """Whether this process (the test, root) holds a capability, from /proc/self/status."""
    status = open("/proc/self/status").read()
    return bool(int(re.search(r"^CapEff:\s*([0-9a-f]+)", status, re.MULTILINE).group(1), 16) >> number & 1)


def host_disks() -> list[str]:
    """The machine's block devices as /proc/partitions names them (vda, sda1, nvme0n1p2, loop0...)."""
    lines = open("/proc/partitions").read().splitlines()[2:]
    return [line.split()[-1] for line in lines if line.split()]


def escalation(out) -> dict:
    """What the notebook tried and how it went, read back from the run's report."""
    text = ET.parse(out / "report.xml").find(".//failure").text
    found = re.findall(r"ESCALATE (\{[^\n]*\})", text)
    assert found, text
    return json.loads(found[-1])


def run_escalate(reading, tmp_path, *options: str) -> dict:
    subs = tmp_path / "submissions"
    write_notebook(subs / "root" / "week01.ipynb", submission(reading, ESCALATE))
    out = tmp_path / "out"
    result = run("validate", str(subs), *options, "--course", str(ROOT), "--out", str(out))
    assert result.exit_code == 1, result.output
    return escalation(out)


@needs_bwrap
def test_as_root_the_sandboxed_notebook_has_no_capability_and_sees_no_disk(reading, tmp_path):
    if os.geteuid() != 0:
        missing("run this test as root: the sandbox must hold against a TA who runs validate with sudo")
    tried = run_escalate(reading, tmp_path, "--sandbox")
    assert {name: tried[name] for name in ATTEMPTS} == {
        "remount": "EPERM",
        "mount": "EPERM",
        "chown": "EINVAL",  # uid 1 does not exist in the sandbox's user namespace
        "write_environment": "EROFS",
        "raise_limit": "ValueError",  # Python's word for setrlimit's EPERM
        "user_namespace": "ENOSPC",  # bubblewrap's --disable-userns: no namespace of its own to be root in
    }, tried
    assert tried["capabilities"] == "0000000000000000" and tried["uid"] == 65534
    assert tried["disks"] == [] and host_disks(), tried


def test_the_same_notebook_unsandboxed_as_root_gets_root_powers(reading, tmp_path):
    """The control for the test above: the attempts are real, and without the sandbox root's succeed."""
    if os.geteuid() != 0:
        missing("run this test as root: unsandboxed, only root's notebook can mount or chown")
    tried = run_escalate(reading, tmp_path, "--no-sandbox")
    assert tried["remount"] == "RuntimeError"  # nothing read-only to remount outside a sandbox
    # Raising a hard limit takes CAP_SYS_RESOURCE, which some containers withhold even from root.
    limit = "ok" if has_capability(CAP_SYS_RESOURCE) else "ValueError"
    expected = {"mount": "ok", "chown": "ok", "write_environment": "ok", "raise_limit": limit, "user_namespace": "ok"}
    assert {name: tried[name] for name in expected} == expected, tried
    assert tried["capabilities"] != "0000000000000000" and tried["uid"] == 0
    assert set(host_disks()) & set(tried["disks"]), tried


# Failures only the sandbox causes

READS = "print(open({path!r}).read())"
WRITES = "open({path!r}, 'w').write('results')"


@pytest.mark.slow  # 27 s alone (--durations)
@needs_bwrap
def test_a_failure_only_the_sandbox_causes_says_so_and_how_to_allow_it(reading, tmp_path):
    data = tmp_path / "course-data"
    data.mkdir()
    (data / "prices.csv").write_text("year,price\n2011,3\n")
    notebooks = {
        "reads": READS.format(path=str(data / "prices.csv")),
        "nowhere": READS.format(path=str(tmp_path / "not-on-this-machine.csv")),
        "writes": WRITES.format(path=str(data / "results.csv")),
    }

    def validate(students: tuple[str, ...], *options: str) -> dict[str, str]:
        subs = tmp_path / "-".join(["submissions", *options]).replace("/", "_")
        for student in students:
            write_notebook(subs / student / "week01.ipynb", submission(reading, notebooks[student]))
        out = subs.with_name(f"{subs.name}-out")
        result = run("validate", str(subs), "--jobs", "2", *options, "--course", str(ROOT), "--out", str(out))
        return {student: "\n".join(lines_of(result.stdout, student)) for student in students}

    boxed = validate(("reads", "nowhere"), "--sandbox")
    reads = boxed["reads"]
    assert reads.startswith("fail ") and "FileNotFoundError" in reads
    assert f"the copy: {data / 'prices.csv'} is hidden if this machine has it" in reads, reads
    assert f"rerun validate with --allow-path {data / 'prices.csv'} (shown read-only) or with --no-sandbox" in reads
    # Missing everywhere reads the same: the report never tells the notebook's author what this machine holds.
    nowhere = boxed["nowhere"]
    hidden = str(tmp_path / "not-on-this-machine.csv")
    label = reads.replace(str(data / "prices.csv"), "PATH").split("No such file or directory")[1]
    assert label == nowhere.replace(hidden, "PATH").split("No such file or directory")[1], (reads, nowhere)

    allowed = validate(("reads", "writes"), "--sandbox", "--allow-path", str(data))
    assert allowed["reads"].startswith("pass "), allowed["reads"]
    writes = allowed["writes"]
    assert f"because the sandbox shows {data / 'results.csv'} read-only" in writes and "--no-sandbox" in writes, writes
    assert not (data / "results.csv").exists()

    plain = validate(("reads", "writes"), "--no-sandbox")  # the control: unsandboxed, the same notebooks pass
    assert plain["reads"].startswith("pass ") and plain["writes"].startswith("pass "), plain
    assert (data / "results.csv").read_text() == "results"


def test_the_sandbox_label_never_tells_what_this_machine_holds(tmp_path):
    here = tmp_path / "here.csv"
    here.write_text("x")

    def error(kind: str, number: int, path) -> str:
        return f"Traceback:\n  File '<cell>', line 1\n{kind}: [Errno {number}] {os.strerror(number)}: '{path}'"

    def same(found, gone) -> bool:  # the label of a path this machine has, and of one it has not
        return found is not None and tuple(t.replace(str(here), "P") for t in found) == tuple(
            t.replace(str(gone), "P") for t in cause(error(*gone_error, gone))
        )

    cause = runner.sandbox_cause
    for kind, number in (("FileNotFoundError", errno.ENOENT), ("PermissionError", errno.EACCES)):
        gone_error = (kind, number)
        assert same(cause(error(kind, number, here)), tmp_path / "gone.csv"), kind
    gone_error = ("OSError", errno.EROFS)
    assert same(cause(error("OSError", errno.EROFS, here)), Path("/nowhere-writable/new.csv"))
    assert cause(error("FileNotFoundError", errno.ENOENT, here))[0].endswith(f"{here} is hidden if this machine has it")
    assert cause(error("FileNotFoundError", errno.ENOENT, "here.csv")) is None  # relative: inside the copy
    run_copy = os.path.join(os.path.realpath(tempfile.gettempdir()), "coursekit-validate-ab12", "notebooks", "x.csv")
    assert cause(error("FileNotFoundError", errno.ENOENT, run_copy)) is None  # the copy's own file: the student's
    assert "unprivileged user, who may not open" in cause(error("PermissionError", errno.EACCES, here))[0]
    assert cause(error("OSError", errno.EROFS, tmp_path / "new.csv"))[0].endswith(
        "read-only (a notebook writes only in its own copy)"
    )
    assert cause("socket.gaierror: [Errno -3] Temporary failure in name resolution")[0] == "the sandbox has no network"
    assert cause("ZeroDivisionError: division by zero") is None
    failed = (CellResult("Cell 1", "failed", error("FileNotFoundError", errno.ENOENT, here)),)
    assert "sandbox" not in run_problems(RunResult(1, failed, "", 1.0, 20.0))[0].reason  # not sandboxed
    assert "is hidden if this machine" in run_problems(RunResult(1, failed, "", 1.0, 20.0, sandboxed=True))[0].reason


def test_allow_path_refuses_the_whole_machine_sockets_and_other_runs_even_through_a_link(tmp_path):
    from coursekit.validation.sandbox import allow_problem

    data = tmp_path / "course-data"
    data.mkdir()
    (tmp_path / "root-link").symlink_to("/")
    subs = tmp_path / "submissions"
    (subs / "ada").mkdir(parents=True)
    assert allow_problem(data, keep=(subs,)) == ""  # the course's data, even under /tmp (CI clones)
    assert "whole machine" in allow_problem(Path("/"))
    assert "whole machine" in allow_problem(tmp_path / "root-link")  # bound from its real path, /
    assert "whole machine" in allow_problem(Path(f"{data}/../../../../../../.."))
    for place in ("/run", "/var/run", "/proc/self", "/dev", "/sys", "/var", "/tmp", tmp_path.anchor):
        assert allow_problem(Path(place)), place
    assert allow_problem(subs, keep=(subs,)) and allow_problem(subs / "ada", keep=(subs,))
    assert allow_problem(tmp_path, keep=(subs,))  # holds the submissions
    run_copy = Path(tempfile.gettempdir()) / "coursekit-validate-x1" / "notebooks"
    run_copy.mkdir(parents=True, exist_ok=True)
    try:
        assert "another notebook's run" in allow_problem(run_copy)
    finally:
        shutil.rmtree(run_copy.parent)


@needs_bwrap
def test_validate_refuses_allow_path_of_the_whole_machine_and_runs_nothing(reading, tmp_path):
    secret = tmp_path / "ta-secret.txt"
    secret.write_text("the TA's token")
    (tmp_path / "data").symlink_to("/")
    subs = tmp_path / "submissions"
    through = f"{tmp_path / 'data'}{secret}"  # the whole machine, seen through the allowed link
    write_notebook(subs / "ada" / "week01.ipynb", submission(reading, READS.format(path=through)))
    out = tmp_path / "out"
    result = run(
        "validate",
        str(subs),
        "--sandbox",
        "--allow-path",
        str(tmp_path / "data"),
        "--course",
        str(ROOT),
        "--out",
        str(out),
    )
    assert result.exit_code == 2, result.stdout
    assert "is the whole machine" in result.stdout + result.stderr
    assert not out.exists() and "ada" not in result.stdout and "the TA's token" not in result.stdout
