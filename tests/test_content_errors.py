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
SHOP_YAML = (MINI / "content" / "shop.yaml").read_text(encoding="utf-8")
SHOP_LINES = SHOP_YAML.count("\n")


@dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, str | None]  # path under the shop -> new text (None deletes)
    expected: list[str]  # exact lines printed, in order


MINI_YAML = (MINI / "content" / "shop.yaml").read_text(encoding="utf-8")
RULES = """discounts:
  - code: THE10
    kind: percent
    value: "10"
    categories: [Thé, Céramiques]
    products: [VAZE]
cart_rules:
  - name: 3 achetés, le moins cher offert
    kind: cheapest_free
    buy: 3
    categories: [Ceramique]
"""
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
        "stock_counted is not a date",
        {"content/products/pot.md": PRODUCT.format(extra="stock: 3\nstock_counted: hier\n")},
        [
            "content/products/pot.md:7: 'stock_counted' must be the date the stock was counted, "
            "as 2026-12-01 (or 2026-12-01 18:30), not 'hier'"
        ],
    ),
    Case(
        "stock_counted without stock",
        {"content/products/pot.md": PRODUCT.format(extra="stock_counted: 2026-12-01\n")},
        [
            "content/products/pot.md:6: 'stock_counted' dates a 'stock' count: add one, e.g. stock: 12"
        ],
    ),
    Case(
        "unknown supplier",
        {"content/products/pot.md": PRODUCT.format(extra="supplier: atelier\nlead_time_days: x\n")},
        [
            "content/products/pot.md:6: unknown supplier 'atelier': use the id of one listed "
            "under suppliers in shop.yaml (none yet)",
            "content/products/pot.md:7: 'lead_time_days' must be a whole number of days, not 'x'",
        ],
    ),
    Case(
        "a supplier without an address",
        {
            "content/shop.yaml": SHOP_YAML
            + "stock:\n  low_threshold: -1\nsuppliers:\n  - id: Atelier\n    name: A\n"
        },
        [
            f"content/shop.yaml:{SHOP_LINES + 2}: 'low_threshold' must be 0 or more, not -1",
            f"content/shop.yaml:{SHOP_LINES + 4}: supplier id 'Atelier' may hold only a-z, 0-9, "
            "'-' and '_'",
            f"content/shop.yaml:{SHOP_LINES + 4}: this supplier needs an 'email' (or a "
            "'webhook_url') to be told of its orders",
        ],
    ),
    Case(
        "a supplier webhook without its secret, a secret without a webhook",
        {
            "content/shop.yaml": SHOP_YAML
            + "suppliers:\n"
            + "  - id: atelier\n    name: A\n    webhook_url: http://example.com/x\n"
            + "  - id: maison\n    name: M\n    webhook_url: https://m.example/orders\n"
            + "  - id: potier\n    name: P\n    email: p@p.example\n"
            + "    secret_env: COMPTOIR_WEBHOOK_POTIER\n"
            + "  - id: tisserand\n    name: T\n    webhook_url: https://t.example/o\n"
            + "    secret_env: whsec_abc\n"
        },
        [
            f"content/shop.yaml:{SHOP_LINES + 2}: missing 'secret_env' in a supplier: add a "
            "line such as secret_env: COMPTOIR_WEBHOOK_ATELIER_DUPONT",
            f"content/shop.yaml:{SHOP_LINES + 4}: 'webhook_url' must be an https:// address "
            "(http:// only to this machine), not 'http://example.com/x'",
            f"content/shop.yaml:{SHOP_LINES + 5}: missing 'secret_env' in a supplier: add a "
            "line such as secret_env: COMPTOIR_WEBHOOK_ATELIER_DUPONT",
            f"content/shop.yaml:{SHOP_LINES + 11}: 'secret_env' signs the supplier's webhook: "
            "add its 'webhook_url', or remove 'secret_env'",
            f"content/shop.yaml:{SHOP_LINES + 15}: 'secret_env' names the environment variable "
            "holding the signing secret (never the secret itself): a name such as "
            "COMPTOIR_WEBHOOK_ATELIER_DUPONT, not 'whsec_abc'",
        ],
    ),
    Case(
        "accounts of the wrong class, a webhook with a secret in the file",
        {
            "content/shop.yaml": SHOP_YAML
            + 'accounting:\n  journal: ve\n  customers: "706000"\n  vat: "445"\n'
            + '  sales_by_rate: {"20": "411000"}\n'
            + "webhooks:\n  - url: http://erp.example/hook\n    events: [order.paid, order.lost]\n"
            + "    secret_env: whsec_abc\n"
        },
        [
            f"content/shop.yaml:{SHOP_LINES + 2}: 'journal' must be a short code in capitals "
            "and digits such as VE, not 've'",
            f"content/shop.yaml:{SHOP_LINES + 3}: 'customers' must be a customers account "
            "(411…), not '706000'",
            f"content/shop.yaml:{SHOP_LINES + 4}: 'vat' must be a VAT collected account "
            "(44571…), not '445'",
            f"content/shop.yaml:{SHOP_LINES + 5}: the account for 20 % in 'sales_by_rate' must "
            "be a sales account (706… or 707…)",
            f"content/shop.yaml:{SHOP_LINES + 7}: 'url' must be an https:// address (http:// "
            "only to this machine), not 'http://erp.example/hook'",
            f"content/shop.yaml:{SHOP_LINES + 8}: unknown event 'order.lost': choose among "
            "order.paid, order.shipped, order.refunded, order.cancelled, stock.low",
            f"content/shop.yaml:{SHOP_LINES + 9}: 'secret_env' names the environment variable "
            "holding the signing secret (never the secret itself): a name such as "
            "COMPTOIR_WEBHOOK_ERP, not 'whsec_abc'",
        ],
    ),
    Case(
        "discounts and cart rules matching nothing",
        {"content/shop.yaml": MINI_YAML + RULES},
        [
            "content/shop.yaml:44: no product is in the category 'Thé', so this discount never "
            "applies to anything: did you mean 'Thés'?",
            "content/shop.yaml:45: no product or variant has the SKU 'VAZE', so this discount "
            "never applies to anything: fix the name (the SKUs are: BOL-BLEU, DRAFT-1, TASSE, "
            "THE-SENCHA, THE-SENCHA-100, THE-SENCHA-50, VASE)",
            "content/shop.yaml:50: no product is in the category 'Ceramique', so this cart rule "
            "never applies to anything: did you mean 'Céramiques'?",
        ],
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


def errors(stderr: str) -> list[str]:
    """The lines of ``stderr`` but warnings (the mini shop's example domain gives some)."""
    return [line for line in stderr.splitlines() if ": warning: " not in line]


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
    err = errors(capsys.readouterr().err)
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
    assert errors(capsys.readouterr().err)[:-1] == case.expected
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


def test_near_duplicate_category_and_tag_are_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new spelling quietly makes a new category in the menu: `check` says so, exit 0."""
    shop = make_shop(
        tmp_path,
        {
            "content/products/pot.md": product("tags: [Grès]\n"),
            "content/products/jarre.md": product("tags: [thés verts]\n")
            .replace("Céramiques", "Céramique")
            .replace("sku: POT", "sku: JARRE"),
        },
    )
    assert main(["check", "--shop", str(shop)]) == 0
    out, err = capsys.readouterr()
    warnings = [line for line in err.splitlines() if "content/products/" in line]
    assert warnings == [
        "content/products/bol.md:7: warning: tag 'grès' is used by 1 product, 'Grès' by 1: did "
        "you mean 'Grès'? (each spelling makes its own tag page)",
        "content/products/jarre.md:5: warning: category 'Céramique' is used by 1 product, "
        "'Céramiques' by 4: did you mean 'Céramiques'? (each spelling makes its own category "
        "page)",
        "content/products/jarre.md:6: warning: tag 'thés verts' is used by 1 product, "
        "'thé vert' by 1: did you mean 'thé vert'? (each spelling makes its own tag page)",
    ]
    assert out.startswith("OK: ") and "warnings to read above" in out


def test_distinct_names_are_not_near_duplicates() -> None:
    from shop.coherence import _near

    assert not _near("Thés verts", "Thés noirs")
    assert not _near("grès", "gris")  # short names: only case, accents or a plural
    assert _near("Thés vert", "Thés verts")
    assert _near("Infusions", "infusion")
    assert _near("Céramiques artisanales", "Ceramiques artisanale")


def test_the_example_identity_is_a_warning_then_production_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shop fresh from `comptoir init` checks with warnings; a production build refuses."""
    shop = tmp_path / "new"
    assert main(["init", str(shop)]) == 0
    capsys.readouterr()
    assert main(["check", "--shop", str(shop)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert (
        "content/shop.yaml:6: warning: base_url https://the-et-terre.example is an example "
        "address: put the shop's domain (build --production refuses it)" in err
    )
    assert (
        "content/shop.yaml:17: warning: legal.registration is still the example shop's "
        "invented one (RCS Lyon 912 345 678): put yours (build --production refuses it)" in err
    )
    origin = "https://abc123.lambda-url.eu-west-3.on.aws"
    with pytest.MonkeyPatch.context() as environ:
        environ.setenv("COMPTOIR_API_ORIGIN", origin)
        assert main(["build", "--production", "--shop", str(shop)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        "content/shop.yaml:14: legal.company is still the example shop's invented one "
        "(Thé & Terre SARL): put yours" in err
    )
    assert err[-1].endswith("found; nothing was written.")
    assert not (shop / "output").exists()
