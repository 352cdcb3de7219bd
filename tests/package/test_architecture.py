"""The package's shape, checked: rooms that import only the rooms below them, each saying what it holds, typed."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "coursekit"

# The data's path from course author to student to instructor to TA; each room may import only rooms before it.
LAYERS = ["course", "discussion", "notebook", "intake", "log", "review", "validation"]


def room(module: str) -> str:
    """The room of a dotted module name inside coursekit ("cli" for the command line on top)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "cli"


def rank(name: str) -> int:
    return LAYERS.index(name) if name in LAYERS else len(LAYERS)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every coursekit import in a file, those inside functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("coursekit"):
            names = [node.module] if node.module != "coursekit" else [f"coursekit.{a.name}" for a in node.names]
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("coursekit")]
    return found


def upward_imports(package: Path) -> list[str]:
    """Every import that reaches from a room into a room above it."""
    wrong = []
    for path in sorted(package.rglob("*.py")):
        module = ".".join(("coursekit", *path.relative_to(package).with_suffix("").parts))
        own = room(module)
        for line, target in imports_of(path):
            if rank(room(target)) > rank(own):
                wrong.append(f"{path.relative_to(package)}:{line} ({own}) imports {target} ({room(target)})")
    return wrong


def test_no_room_imports_a_room_above_it():
    assert upward_imports(PACKAGE) == []


def test_the_direction_check_catches_an_upward_import(tmp_path):
    """The check itself can fail: a course module that imports the log is reported."""
    shutil.copytree(PACKAGE, tmp_path / "coursekit")
    planted = tmp_path / "coursekit" / "course" / "roster.py"
    planted.write_text(planted.read_text() + "\nfrom coursekit.log.tables import now  # planted\n")
    assert upward_imports(tmp_path / "coursekit") == [
        f"course/roster.py:{len(planted.read_text().splitlines())} (course) imports coursekit.log.tables (log)"
    ]


def test_every_room_says_what_lives_there_and_what_it_may_import():
    for name in LAYERS:
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
        assert doc and "May import" in doc, f"{name}/__init__.py needs a docstring naming what it may import"
        allowed = LAYERS[: LAYERS.index(name)]
        for other in LAYERS:
            if f"``{other}``" in doc.split("May import")[1].split(".")[0]:
                assert other in allowed, f"{name}/__init__.py allows {other}, a room above it"


def test_the_package_ships_its_types():
    assert (PACKAGE / "py.typed").is_file()


def test_the_package_type_checks():
    """mypy over src/ with the settings in pyproject.toml (untyped function bodies checked too)."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental"],
        cwd=PACKAGE.parents[1],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


MAX_LINES = 600


def test_no_module_passes_600_lines():
    lengths = {
        str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")
    }
    over = {name for name, lines in lengths.items() if lines > MAX_LINES}
    assert over == set(), f"over {MAX_LINES} lines, split by job: {sorted(over)}"


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the coursekit modules it imports (``from coursekit.intake import canvas`` names ``canvas``)."""
    files = {".".join(("coursekit", *p.relative_to(package).with_suffix("").parts)): p for p in package.rglob("*.py")}
    modules = {name.removesuffix(".__init__"): path for name, path in files.items()}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("coursekit"):
                named = {f"{node.module}.{a.name}" for a in node.names}
                targets |= (named & modules.keys()) or {node.module}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[module] = {t for t in targets if t in modules and t != module}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other round in a circle (strongly connected, Tarjan's)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = [stack.pop()]
            while group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(cycles)


def test_no_modules_import_each_other_round_in_a_circle():
    """A cycle means a piece both need lives in the wrong module.

    archive -> submission -> archive was one; the CLI's package and its command modules another.
    """
    assert import_cycles(import_graph(PACKAGE)) == []


def test_the_cycle_check_catches_a_cycle(tmp_path):
    """The check itself can fail: a planted import back from submission to archive, inside a function, is found."""
    shutil.copytree(PACKAGE, tmp_path / "coursekit")
    planted = tmp_path / "coursekit" / "intake" / "submission.py"
    planted.write_text(planted.read_text() + "\n\ndef _planted():\n    from coursekit.intake import archive\n")
    cycles = import_cycles(import_graph(tmp_path / "coursekit"))
    assert cycles == [["coursekit.intake.archive", "coursekit.intake.submission"]]
