"""The shape of the code, read from the source tree: imports point one way and form no
cycle, only press/clock.py reads the clock, no module keeps run state in a global."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("feeds", "newsletter", "press")
LAYERS = {"feeds": 0, "newsletter": 1, "press": 2}  # press → newsletter → feeds


def modules() -> dict[str, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = ast.parse(path.read_text(), str(path))
    return found


def imports(tree: ast.Module) -> set[str]:
    """First-party modules imported anywhere in the module, lazily inside functions too."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in PACKAGES}


def test_imports_point_one_way_and_form_no_cycle() -> None:
    found = modules()
    graph = {
        name: {i for i in imports(tree) if i in found and i != name} for name, tree in found.items()
    }
    for name, targets in graph.items():
        for target in targets:
            assert LAYERS[target.split(".")[0]] <= LAYERS[name.split(".")[0]], (name, target)
    # Depth-first search for a cycle.
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_only_the_clock_module_reads_the_clock() -> None:
    offenders = []
    for name, tree in modules().items():
        if name == "press.clock":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                call = f"{node.value.id}.{node.attr}"
                if call in ("datetime.now", "datetime.utcnow", "time.time", "time.monotonic"):
                    offenders.append(f"{name}:{node.lineno}: {call}")
    assert offenders == []


# The run state that stays global, and why (issue 17 names it; each is one value a process
# holds for its life, not a run's).
KNOWN_GLOBALS = {
    "press.mail:_engines": "one engine (connection pool) per database for the process",
    "press.faults:_reached": "a test's kill points, counted (only with PRESS_KILL_AT)",
}


def test_no_module_keeps_run_state_in_a_global() -> None:
    """No module-level Event, Lock or Counter, and no container that starts empty for a
    run to fill (constants built once, like compiled patterns, are fine)."""
    stateful = ("Event", "Lock", "RLock", "Counter", "defaultdict", "deque")
    found = {}
    for name, tree in modules().items():
        for node in tree.body:
            if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
                continue
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                empty = isinstance(value, ast.Dict | ast.List | ast.Set) and not (
                    value.keys if isinstance(value, ast.Dict) else value.elts
                )
                called = ""
                if isinstance(value, ast.Call):
                    func = value.func
                    called = (
                        func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    )
                if empty or called in stateful:
                    found[f"{name}:{target.id}"] = node.lineno
    assert sorted(found) == sorted(KNOWN_GLOBALS)


def test_feeds_opens_no_file() -> None:
    """``feeds`` takes text and plain values and returns bytes: no file, no folder, no
    environment (a post's body that is not in memory comes from a source press hands it)."""
    touching = set(
        "open read_text read_bytes write_text write_bytes iterdir glob rglob stat exists "
        "unlink mkdir getenv environ".split()
    )
    offenders = []
    for name, tree in modules().items():
        if not name.startswith("feeds"):
            continue
        for node in ast.walk(tree):
            called = ""
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            elif isinstance(node, ast.Attribute) and node.attr == "environ":
                called = "environ"
            if called in touching:
                offenders.append(f"{name}:{node.lineno}: {called}")
            if isinstance(node, ast.Import | ast.ImportFrom):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                if module in ("os", "pathlib", "shutil", "glob"):
                    offenders.append(f"{name}:{node.lineno}: import {module}")
    assert offenders == []
