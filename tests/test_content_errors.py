"""A corpus of broken shops: each mistake is reported as path:line with a fix, exit 1.

Each case copies the valid fixture shop, breaks one thing, and checks the exact
message `comptoir check` prints, then that `comptoir build` refuses and writes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from comptoir.cli import main

MINI = Path(__file__).parent / "fixtures" / "mini"


@dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, str | None]  # path under the shop -> new text (None deletes)
    expected: list[str]  # exact lines printed, in order


PRODUCT = "---\ntitle: Pot\nsku: POT\nprice: 10\ncategory: Céramiques\n{extra}---\nUn pot.\n"


def product(extra: str = "", **replace: str) -> str:
    text = PRODUCT.format(extra=extra)
    for old, new in replace.items():
        text = text.replace(old.replace("_", " ") + "\n", new + "\n") if new else text
    return text


CASES = [
    Case(
        "broken yaml",
        {"content/products/pot.md": "---\ntitle: Pot\nsku: [POT\nprice: 10\n---\n"},
        ["content/products/pot.md:3: invalid YAML: a list opened with '[' is not closed with ']'"],
    ),
    Case(
        "missing price",
        {"content/products/pot.md": "---\ntitle: Pot\nsku: POT\ncategory: C\n---\n"},
        [
            "content/products/pot.md:2: missing 'price' in a product: add a line such as price: 24.90"
        ],
    ),
    Case(
        "missing title and sku",
        {"content/products/pot.md": "---\nprice: 3\ncategory: C\n---\n"},
        [
            "content/products/pot.md:2: missing 'sku' in a product: add a line such as "
            "sku: THE-SENCHA-100",
            "content/products/pot.md:2: missing 'title' in a product: add a line such as "
            "title: Théière en grès",
        ],
    ),
    Case(
        "too many decimals",
        {"content/products/pot.md": PRODUCT.format(extra="").replace("price: 10", "price: 24.999")},
        [
            "content/products/pot.md:4: 'price': the price 24.999 has too many decimals: "
            "EUR has at most 2 decimals"
        ],
    ),
    Case(
        "exponent price",
        {"content/products/pot.md": PRODUCT.format(extra="").replace("price: 10", "price: 1e3")},
        [
            "content/products/pot.md:4: 'price': the price '1e3' is not a decimal amount: "
            "write digits with an optional dot, such as 24.90"
        ],
    ),
    Case(
        "letter in price",
        {"content/products/pot.md": PRODUCT.format(extra="").replace("price: 10", "price: 12,5O")},
        [
            "content/products/pot.md:4: 'price': the price '12,5O' is not a decimal amount: "
            "write digits with an optional dot, such as 24.90"
        ],
    ),
    Case(
        "negative price",
        {"content/products/pot.md": PRODUCT.format(extra="").replace("price: 10", "price: -3")},
        ["content/products/pot.md:4: 'price': the price -3 is negative: prices must be 0 or more"],
    ),
    Case(
        "negative stock",
        {"content/products/pot.md": PRODUCT.format(extra="stock: -2\n")},
        ["content/products/pot.md:6: 'stock' must be 0 or more, not -2"],
    ),
    Case(
        "unknown key with hint",
        {"content/products/pot.md": PRODUCT.format(extra="prcie: 3\n")},
        ["content/products/pot.md:6: unknown key 'prcie' in a product — did you mean 'price'?"],
    ),
    Case(
        "unknown tax class",
        {"content/products/pot.md": PRODUCT.format(extra="tax_class: luxe\n")},
        [
            "content/products/pot.md:6: unknown tax class 'luxe': use one of reduced, standard "
            "(defined under tax.classes in shop.yaml)"
        ],
    ),
    Case(
        "duplicate sku across product and variant",
        {
            "content/products/pot.md": PRODUCT.format(extra="").replace(
                "sku: POT", "sku: THE-SENCHA-50"
            )
        },
        [
            "content/products/the.md:10: SKU 'THE-SENCHA-50' is already used at "
            "content/products/pot.md:3: every product and variant needs its own SKU"
        ],
    ),
    Case(
        "missing image",
        {"content/products/pot.md": PRODUCT.format(extra="images: [images/pot.jpg]\n")},
        [
            "content/products/pot.md:6: image file not found: content/images/pot.jpg — add the file "
            "there or fix the name (names are case-sensitive)"
        ],
    ),
    Case(
        "invalid status",
        {"content/products/pot.md": PRODUCT.format(extra="status: publie\n")},
        [
            "content/products/pot.md:6: 'status' must be one of draft, active, archived, not 'publie'"
        ],
    ),
    Case(
        "variant without sku",
        {"content/products/pot.md": PRODUCT.format(extra="variants:\n  - options: {taille: S}\n")},
        [
            "content/products/pot.md:7: this variant has no 'sku': each variant is sold under its own "
            "SKU, add a line such as sku: THE-SENCHA-100"
        ],
    ),
    Case(
        "variant without options",
        {"content/products/pot.md": PRODUCT.format(extra="variants:\n  - sku: POT-S\n")},
        [
            "content/products/pot.md:7: this variant has no 'options': say what sets it apart, e.g. "
            "options: {taille: 100 g}"
        ],
    ),
    Case(
        "compare-at below price",
        {"content/products/pot.md": PRODUCT.format(extra="compare_at_price: 8\n")},
        [
            "content/products/pot.md:6: 'compare_at_price' (8.00) must be above the price (10.00): "
            "it is the former price shown struck through"
        ],
    ),
    Case(
        "missing legal identity",
        {
            "content/shop.yaml": (MINI / "content/shop.yaml")
            .read_text()
            .replace("  vat_number: FR00000000000\n", "")
        },
        [
            "content/shop.yaml:7: missing 'vat_number' in the 'legal' section: add a line such as "
            "vat_number: … (the law asks every shop to show it in its legal notice)"
        ],
    ),
    Case(
        "unknown oversold policy",
        {"content/shop.yaml": (MINI / "content/shop.yaml").read_text() + "oversold: refnd\n"},
        [
            "content/shop.yaml:40: 'oversold' must be one of hold, refund, not 'refnd'"
            " — did you mean 'refund'?"
        ],
    ),
    Case(
        "missing legal page",
        {"content/pages/retractation.md": None},
        [
            "content/pages:1: the withdrawal page is missing: French law asks for it; add a page "
            "with 'role: withdrawal' in its front matter (see docs/content.md)"
        ],
    ),
    Case(
        "no front matter",
        {"content/products/pot.md": "title: Pot\n"},
        [
            "content/products/pot.md:1: no front matter: start the file with a line '---', then the "
            "fields (title: …), then another '---' line"
        ],
    ),
    Case(
        "broken shop.yaml",
        {"content/shop.yaml": "name: [Mini\n"},
        ["content/shop.yaml:1: invalid YAML: a list opened with '[' is not closed with ']'"],
    ),
    Case(
        "colon in unquoted text",
        {"content/products/pot.md": PRODUCT.format(extra="summary: Note: boisée\n")},
        [
            "content/products/pot.md:6: invalid YAML: unexpected ':' — check the indentation, and put "
            "quotes around text that contains ': ', '#', or starts with '&', '*', '[' or '{'"
        ],
    ),
    Case(
        "quantity is text",
        {"content/products/pot.md": PRODUCT.format(extra="weight: lourd\n")},
        ["content/products/pot.md:6: 'weight' must be a whole number of grams, not 'lourd'"],
    ),
    Case(
        "several at once",
        {
            "content/products/pot.md": PRODUCT.format(extra="stock: -1\nstatus: vieux\n"),
            "content/pages/cgv.md": None,
        },
        [
            "content/pages:1: the terms-of-sale page is missing: French law asks for it; add a page "
            "with 'role: terms-of-sale' in its front matter (see docs/content.md)",
            "content/products/pot.md:6: 'stock' must be 0 or more, not -1",
            "content/products/pot.md:7: 'status' must be one of draft, active, archived, not 'vieux'",
        ],
    ),
]


def make_shop(tmp_path: Path, files: dict[str, str | None]) -> Path:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    for relative, text in files.items():
        target = shop / relative
        if text is None:
            target.unlink()
        else:
            target.write_text(text, encoding="utf-8")
    return shop


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_reports_exact_problem(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = make_shop(tmp_path, case.files)
    assert main(["check", "--shop", str(shop)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:-1] == case.expected
    assert err[-1].endswith("found; nothing was written.")


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES[:3] + CASES[-3:], ids=lambda c: c.name)
def test_build_refuses_and_leaves_output_untouched(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = make_shop(tmp_path, case.files)
    output = shop / "output"
    output.mkdir()
    (output / "index.html").write_text("previous build")
    before = {p: p.stat().st_mtime_ns for p in output.rglob("*")}
    assert main(["build", "--shop", str(shop)]) == 1
    assert capsys.readouterr().err.splitlines()[:-1] == case.expected
    assert {p: p.stat().st_mtime_ns for p in output.rglob("*")} == before
    assert (output / "index.html").read_text() == "previous build"


def test_no_traceback_from_the_real_command(tmp_path: Path) -> None:
    shop = make_shop(tmp_path, {"content/products/pot.md": "---\n: : :\n\t---\n"})
    result = subprocess.run(
        [sys.executable, "-m", "comptoir.cli", "check", "--shop", str(shop)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("content/products/pot.md:")
