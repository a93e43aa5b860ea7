"""Imports point one way: storage <- platform (core modules and service/http) <- capabilities
<- front doors (the app, the CLI, the JSON API, the front page). Read from the source, with the
imports under ``TYPE_CHECKING`` and inside functions counted like any other, so a circle
cannot hide behind a lazy import."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _listed_capabilities() -> frozenset[str]:
    """The capability packages ``service/app.py`` lists in ``CAPABILITIES`` (the API, a front
    door, is listed there too for its setup but is not a capability here)."""
    tree = ast.parse((ROOT / "service" / "app.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "CAPABILITIES" for t in node.targets
        ):
            assert isinstance(node.value, ast.Tuple)
            names = {ast.unparse(element).removeprefix("service.") for element in node.value.elts}
            return frozenset(names - {"api"})
    raise AssertionError("service/app.py lists no CAPABILITIES")


CAPABILITIES = _listed_capabilities()
FRONT_DOORS = frozenset({"service.app", "service.cli", "service.__main__", "service.pages"})
FRONT_DOOR_PACKAGES = ("service.api",)
# The one place every typed key is declared: it may name a type from any module (under
# TYPE_CHECKING), as long as that module does not import it back (the circle check).
KEY_REGISTRY = "service.appkeys"
# Middlewares a capability owns, which the app places in its one ordered middleware list.
DEVICE_LOCKS = frozenset({"service.letterbox.devicelock", "service.calls.device"})


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    names: tuple[str, ...]  # the names taken with ``from target import ...``; () for ``import``
    line: int


def project_modules() -> dict[str, Path]:
    modules = {}
    for top in ("service", "storage"):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.relative_to(ROOT).parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Import]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, modules)
                if target is not None and target != module:
                    yield Import(module, target, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(
                    parts[: len(parts) - node.level + 1] + ([node.module] if node.module else [])
                )
            else:
                base = node.module or ""
            for alias in node.names:
                # ``from service.calls import passthrough`` imports a module, not a name.
                submodule = f"{base}.{alias.name}"
                if submodule in modules:
                    yield Import(module, submodule, (), node.lineno)
                    continue
                target = _resolve(base, modules)
                if target is not None and target != module:
                    yield Import(module, target, (alias.name,), node.lineno)


def all_imports() -> list[Import]:
    modules = project_modules()
    return [found for name, path in modules.items() for found in imports_of(name, path, modules)]


def capability_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "service" and parts[1] in CAPABILITIES:
        return parts[1]
    return None


def is_front_door(module: str) -> bool:
    return module in FRONT_DOORS or module.startswith(FRONT_DOOR_PACKAGES)


def is_platform(module: str) -> bool:
    return module.startswith("service") and not capability_of(module) and not is_front_door(module)


def public_names(capability: str) -> tuple[frozenset[str], str]:
    """The names a capability's ``__init__`` lists in ``__all__``, and its docstring."""
    tree = ast.parse((ROOT / "service" / capability / "__init__.py").read_text(encoding="utf-8"))
    names: frozenset[str] = frozenset()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            names = frozenset(ast.literal_eval(node.value))
    return names, ast.get_docstring(tree) or ""


def find_circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return circles


def test_no_import_circle_among_service_and_storage_modules() -> None:
    edges: dict[str, set[str]] = {}
    for found in all_imports():
        edges.setdefault(found.source, set()).add(found.target)
    assert find_circles(edges) == []


def test_the_circle_finder_finds_a_lazy_circle() -> None:
    # The check above is only as good as this: a circle closed by an import inside a function.
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_circles(edges) == [["a", "b", "c"]]


def test_storage_never_imports_service() -> None:
    wrong = [
        f
        for f in all_imports()
        if f.source.startswith("storage") and f.target.startswith("service")
    ]
    assert wrong == []


def test_the_platform_never_imports_a_capability_or_a_front_door() -> None:
    wrong = [
        f
        for f in all_imports()
        if is_platform(f.source)
        and f.source != KEY_REGISTRY
        and (capability_of(f.target) or is_front_door(f.target))
    ]
    assert wrong == []


def test_http_never_imports_a_capability() -> None:
    wrong = [
        f
        for f in all_imports()
        if f.source.startswith("service.http")
        and (capability_of(f.target) or is_front_door(f.target))
    ]
    assert wrong == []


def test_nothing_below_the_front_doors_imports_them() -> None:
    wrong = [
        f
        for f in all_imports()
        if is_front_door(f.target)
        and not is_front_door(f.source)
        # ``python -m service`` runs the CLI; the CLI's serve command builds the app.
        and f.source != "service"
    ]
    assert wrong == []


def test_capabilities_use_each_other_only_through_named_documented_public_names() -> None:
    wrong = []
    for found in all_imports():
        mine, theirs = capability_of(found.source), capability_of(found.target)
        if mine is None or theirs is None or mine == theirs:
            continue
        public, doc = public_names(theirs)
        if found.target != f"service.{theirs}" or not found.names:
            wrong.append(
                f"{found.source}:{found.line} imports {found.target} (use service.{theirs})"
            )
            continue
        for name in found.names:
            if name not in public:
                wrong.append(
                    f"{found.source}:{found.line}: {name} is not in service.{theirs}.__all__"
                )
            elif name not in doc:
                wrong.append(f"service.{theirs}'s docstring does not describe {name}")
    assert wrong == []


@pytest.mark.parametrize("capability", sorted(CAPABILITIES | {"api"}))
def test_every_capability_has_the_same_public_face(capability: str) -> None:
    tree = ast.parse((ROOT / "service" / capability / "__init__.py").read_text(encoding="utf-8"))
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"setup", "cleanup_contexts"} <= functions


def test_the_app_lists_capabilities_not_their_modules() -> None:
    app_imports = [f for f in all_imports() if f.source == "service.app"]
    reaching_inside = [
        f.target
        for f in app_imports
        if (capability_of(f.target) or f.target.startswith("service.api."))
        and f.target.count(".") > 1
        # The device locks are middlewares, placed in the app's one ordered list.
        and f.target not in DEVICE_LOCKS
    ]
    assert reaching_inside == []


def test_no_test_imports_conftest_or_another_test_module() -> None:
    wrong = []
    for path in (ROOT / "tests").rglob("*.py"):
        if "node_modules" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                last = name.rsplit(".", 1)[-1]
                if name.startswith("tests") and (last == "conftest" or last.startswith("test_")):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert wrong == []
