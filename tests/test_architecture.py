"""The domain stays pure: shop/ imports neither pelican, stripe nor boto3."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "pelican",
    "stripe",
    "boto3",
    "botocore",
    "starlette",
    "mangum",
    "uvicorn",
    "generator",
    "functions",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_shop_package_imports_no_framework() -> None:
    files = sorted((ROOT / "shop").rglob("*.py"))
    assert files, "shop/ has no modules"
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in imported_modules(path) & FORBIDDEN
    }
    assert offenders == set()


def test_no_float_parsing_of_money_in_domain() -> None:
    for path in (ROOT / "shop").rglob("*.py"):
        assert "float(" not in path.read_text(encoding="utf-8"), path
