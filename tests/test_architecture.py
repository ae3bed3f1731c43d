"""The import rules between the top-level packages, and the domain's purity.

- ``shop/`` (the domain) imports none of our other packages and no framework;
- ``generator/`` and ``functions/`` never import each other;
- ``comptoir/`` (the composition root) is the only package importing both;
- only the composition root, the tests and the benchmarks import the TEST ONLY
  ``stripe_emulator``, so nothing deployed as a function can contain it;
- the emulator imports none of our packages (it stands for Stripe).

``python -m tests.test_architecture`` prints the import graph between the packages.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shop", "generator", "functions", "comptoir", "stripe_emulator")
FRAMEWORKS = {"pelican", "stripe", "boto3", "botocore", "starlette", "mangum", "uvicorn"}

# package -> the packages of ours it may import
ALLOWED: dict[str, set[str]] = {
    "shop": set(),
    "generator": {"shop"},
    "functions": {"shop"},
    "comptoir": {"shop", "generator", "functions", "stripe_emulator"},
    "stripe_emulator": set(),
    "tests": set(PACKAGES) | {"tests"},
    "benchmarks": set(PACKAGES) | {"tests"},
}


def imported_modules(path: Path) -> set[str]:
    """Full dotted names of the absolute imports of one file (``from a.b import c`` -> a.b)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(package: str) -> Iterator[Path]:
    for path in sorted((ROOT / package).rglob("*.py")):
        if "node_modules" not in path.parts:
            yield path


def import_graph() -> dict[str, dict[str, set[str]]]:
    """package -> imported package of ours -> the files of the package that import it."""
    graph: dict[str, dict[str, set[str]]] = {}
    for package in ALLOWED:
        edges: dict[str, set[str]] = {}
        for path in python_files(package):
            for name in imported_modules(path):
                top = name.split(".")[0]
                if top in ALLOWED and top != package:
                    edges.setdefault(top, set()).add(str(path.relative_to(ROOT)))
        graph[package] = edges
    return graph


def test_every_package_imports_only_what_it_may() -> None:
    assert all((ROOT / package).is_dir() for package in PACKAGES)
    offenders = {
        f"{file} imports {target} ({package}/ may import: {', '.join(sorted(ALLOWED[package]))})"
        for package, edges in import_graph().items()
        for target, files in edges.items()
        if target not in ALLOWED[package]
        for file in files
    }
    assert offenders == set()


def test_only_the_composition_root_imports_both_sides() -> None:
    both = [
        package
        for package, edges in import_graph().items()
        if {"generator", "functions"} <= set(edges) and package not in ("tests", "benchmarks")
    ]
    assert both == ["comptoir"]


def test_shop_package_imports_no_framework() -> None:
    files = list(python_files("shop"))
    assert files, "shop/ has no modules"
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in imported_modules(path)
        if name.split(".")[0] in FRAMEWORKS
    }
    assert offenders == set()


def test_functions_never_read_the_merchants_sources() -> None:
    """The functions load the published shop only: not the content loader, not the build."""
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files("functions")
        for name in imported_modules(path)
        if name in ("shop.content", "shop.yamldoc") or name.split(".")[0] in ("pelican", "yaml")
    }
    assert offenders == set()
    mentions = {
        str(path.relative_to(ROOT))
        for path in python_files("functions")
        if '"theme"' in (text := path.read_text(encoding="utf-8"))
        or '"content"' in text
        or "shop.yaml" in text
    }
    assert mentions == set()


def test_the_emulator_stands_alone() -> None:
    """Importable on its own: what Stripe would be, with nothing of the shop inside."""
    assert import_graph()["stripe_emulator"] == {}


def test_no_float_parsing_of_money_in_domain() -> None:
    for path in python_files("shop"):
        assert "float(" not in path.read_text(encoding="utf-8"), path


def print_graph() -> None:
    for package, edges in import_graph().items():
        targets = ", ".join(sorted(edges)) or "(nothing of ours)"
        print(f"{package + '/':<17} -> {targets}")


if __name__ == "__main__":
    print_graph()
    sys.exit(0)
