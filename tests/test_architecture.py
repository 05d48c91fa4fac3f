"""The layout is the architecture: these tests read the imports to keep it so.

- core/ is pure: no clock, files, database, environment or logging;
- each outside library is imported by one adapter only;
- imports flow one way: edges (cli, daemon) -> service -> adapters and core.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "shoetrack"
PURE_STDLIB = {"__future__", "bisect", "collections", "dataclasses", "datetime", "enum", "functools",
               "itertools", "math", "operator", "re", "statistics", "typing"}
IMPURE_NAMES = {"today", "now", "utcnow", "monotonic", "perf_counter", "open",
                "getenv", "environ", "print", "logging", "getLogger"}
ONE_ADAPTER = {"fitparse": "adapters/fit.py", "sqlite_utils": "adapters/store.py",
               "plyer": "adapters/notify.py", "dbus": "adapters/notify.py", "jeepney": "adapters/notify.py", "apscheduler": "adapters/schedule.py",
               "watchdog": "adapters/watch.py", "gpxpy": "adapters/gpxtcx.py", "defusedxml": "adapters/gpxtcx.py", "pygal": "adapters/charts.py"}
LAYER = {"core": 0, "adapters": 1, "service": 2, "cli": 3, "daemon": 3}
# The daemon edge may wire adapters (watcher, scheduler) to the service; the
# service and the core never import an edge.


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(), str(path))


def imported(tree: ast.AST, module: str) -> set[str]:
    """Absolute dotted names a module imports (relative imports resolved)."""
    package = ["shoetrack", *module.split("/")[:-1]]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
                names.update(f"{prefix}.{a.name}" if not node.module else prefix for a in node.names)
            else:
                names.add(node.module)
    return names


def layer_of(module: str) -> int | None:
    top = module.split("/")[0].removesuffix(".py")
    return LAYER.get(top)


def test_core_is_pure():
    for module, tree in modules():
        if not module.startswith("core/"):
            continue
        for name in imported(tree, module):
            top = name.split(".")[0]
            assert top in PURE_STDLIB or name.startswith("shoetrack.core"), f"{module} imports {name}"
        for node in ast.walk(tree):
            name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
            assert name not in IMPURE_NAMES, f"{module} uses {name}"


def test_each_outside_library_has_one_adapter():
    for module, tree in modules():
        for name in imported(tree, module):
            owner = ONE_ADAPTER.get(name.split(".")[0])
            assert owner is None or owner == module, f"{module} imports {name}; only {owner} may"


def test_imports_flow_one_way():
    for module, tree in modules():
        mine = layer_of(module)
        if mine is None:
            continue
        for name in imported(tree, module):
            if not name.startswith("shoetrack."):
                continue
            theirs = layer_of(name.removeprefix("shoetrack.").replace(".", "/"))
            assert theirs is None or theirs <= mine, f"{module} (layer {mine}) imports {name} (layer {theirs})"
