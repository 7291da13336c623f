"""Design rules the code keeps, checked on its source: no import circle between the library's modules,
only the FAISS store imports faiss, and no module reaches into another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

QA = Path(__file__).resolve().parents[1] / "qa"
MODULES = {p.stem: p for p in QA.glob("*.py")}  # the library's modules (its stores/ package aside)
EVERY_FILE = sorted(QA.rglob("*.py"))


def _trees() -> dict[str, ast.Module]:
    return {m: ast.parse(p.read_text(encoding="utf-8")) for m, p in MODULES.items()}


def _module_level_imports(tree: ast.Module) -> set[str]:
    """The library modules a module imports when it is itself imported (its top-level ``from .x import``);
    imports inside functions are lazy and run later."""
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out.update([node.module.split(".")[0]] if node.module else (a.name for a in node.names))
    return out & set(MODULES)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(u: str, path: list[str]) -> list[str] | None:
        state[u] = 1
        path.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                return path[path.index(v):] + [v]
            if not state.get(v) and (found := visit(v, path)):
                return found
        path.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if not state.get(u) and (found := visit(u, [])):
            return found
    return None


def test_the_library_has_no_import_circle():
    graph = {m: _module_level_imports(t) for m, t in _trees().items()}
    assert _cycle(graph) is None, " → ".join(_cycle(graph))


@pytest.mark.parametrize("graph, circle", [
    ({"a": {"b"}, "b": {"a"}}, True),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, False),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
])
def test_a_circle_is_found_when_there_is_one(graph, circle):
    assert (_cycle(graph) is not None) is circle


def test_only_the_faiss_store_imports_faiss():
    importers = {p.relative_to(QA).as_posix() for p in EVERY_FILE for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                 if isinstance(n, ast.Import) and any(a.name.split(".")[0] == "faiss" for a in n.names)
                 or isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").split(".")[0] == "faiss"}
    assert importers == {"stores/faiss_store.py"}, importers


def test_no_module_imports_another_modules_private_names():
    private = {(p.relative_to(QA).as_posix(), a.name) for p in EVERY_FILE
               for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
               if isinstance(n, ast.ImportFrom) and n.level >= 1 for a in n.names if a.name.startswith("_")}
    assert not private, sorted(private)


# python-docx gives a table cell's XML element only as ``cell._tc`` (merged cells repeat it)
_THIRD_PARTY_PRIVATE = {"_tc"}


def test_no_module_reads_another_objects_private_attributes():
    """``index._cache`` or ``answerer._score…`` from outside: the owner gives a public method instead."""
    reached = set()
    for p in EVERY_FILE:
        tree = ast.parse(p.read_text(encoding="utf-8"))
        own = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)
               and isinstance(n.value, ast.Name) and n.value.id == "self"}  # its own classes' state
        reached |= {(p.relative_to(QA).as_posix(), n.lineno, n.attr) for n in ast.walk(tree)
                    if isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.startswith("__")
                    and n.attr not in _THIRD_PARTY_PRIVATE and n.attr not in own
                    and not (isinstance(n.value, ast.Name) and n.value.id in ("self", "cls"))}
    assert not reached, sorted(reached)


def test_tests_use_public_names_of_the_library():
    """A test uses public seams or a fake implementing the interface, not a module's private names."""
    found = set()
    for p in sorted(Path(__file__).parent.glob("*.py")):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        modules = set()  # the names a test file binds the library's modules (and app.py) to
        for n in ast.walk(tree):
            if isinstance(n, ast.Import):
                modules |= {a.asname or a.name.split(".")[0] for a in n.names if a.name.split(".")[0] in ("qa", "app")}
            elif isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] in ("qa", "app"):
                found |= {(p.name, n.lineno, a.name) for a in n.names if a.name.startswith("_")}
                modules |= {a.asname or a.name for a in n.names if (QA / f"{a.name}.py").exists() or
                            (QA / "stores" / f"{a.name}.py").exists()}
        found |= {(p.name, n.lineno, n.attr) for n in ast.walk(tree)
                  if isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.startswith("__")
                  and isinstance(n.value, ast.Name) and n.value.id in modules}
    assert not found, sorted(found)
