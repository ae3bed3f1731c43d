"""load_cached_content: the same shop and problems as load_content, without re-reading files.

Parsing is watched through shop.content.parse_yaml: a product file taken from the
cache is never parsed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import generator.content_cache
import shop.content
from generator.content_cache import FORMAT, PickleProductCache, load_cached_content
from shop.content import ShopContent, load_content
from shop.problems import Problems
from shop.yamldoc import Node, parse_yaml

MINI = Path(__file__).parent / "fixtures" / "mini"
PRODUCTS = [
    "content/products/bol.md",
    "content/products/brouillon.md",
    "content/products/tasse.md",
    "content/products/the.md",
    "content/products/vase.md",
]
POT = "---\ntitle: Pot\nsku: {sku}\nprice: 10\ncategory: Céramiques\n{extra}---\nUn pot.\n"
DUPLICATE = (
    "content/products/the.md:10: SKU 'THE-SENCHA-50' is already used at "
    "content/products/pot.md:3: every product and variant needs its own SKU"
)


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    return shop


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The product files parse_yaml reads from now on (pages and shop.yaml are left out)."""
    paths: list[str] = []

    def watched(text: str, path: str, problems: Problems, line_offset: int = 0) -> Node | None:
        if path.startswith("content/products/"):
            paths.append(path)
        return parse_yaml(text, path, problems, line_offset)

    monkeypatch.setattr(shop.content, "parse_yaml", watched)
    return paths


def cache_file(shop: Path) -> Path:
    return shop / ".cache" / "content.pickle"


def cached_load(shop: Path) -> ShopContent:
    """What a build does: a cache from the file, one load, then save."""
    cache = PickleProductCache(cache_file(shop))
    content = load_cached_content(shop, cache)
    cache.save()
    return content


def lines(content: ShopContent) -> list[str]:
    return [str(problem) for problem in content.problems]


def write(shop: Path, relative: str, text: str) -> None:
    (shop / relative).write_text(text, encoding="utf-8")


def test_a_warm_load_gives_the_same_shop_without_parsing_a_product(
    shop_dir: Path, parsed: list[str]
) -> None:
    write(shop_dir, "content/products/pot.md", POT.format(sku="POT", extra="stock: -2\n"))
    (shop_dir / "content/products/latin.md").write_bytes(
        POT.format(sku="L", extra="").encode("latin-1")
    )
    cold = load_content(shop_dir)
    assert lines(cold) == [
        "content/products/latin.md:5: this file is not UTF-8 text: save it as UTF-8 in your editor",
        "content/products/pot.md:6: 'stock' must be 0 or more, not -2",
    ]
    cached_load(shop_dir)
    parsed.clear()

    warm = cached_load(shop_dir)

    assert parsed == []
    assert warm.catalogue.products == cold.catalogue.products
    assert lines(warm) == lines(cold)
    assert (warm.pages, warm.posts, warm.config) == (cold.pages, cold.posts, cold.config)


def test_an_edited_file_is_read_again(shop_dir: Path, parsed: list[str]) -> None:
    cached_load(shop_dir)
    bol = shop_dir / "content/products/bol.md"
    bol.write_text(bol.read_text(encoding="utf-8").replace("24.90", "26.50"), encoding="utf-8")
    parsed.clear()

    warm = cached_load(shop_dir)

    assert parsed == ["content/products/bol.md"]
    item = warm.catalogue.item("BOL-BLEU")
    assert item is not None and item.price.to_text() == "26.50"
    assert warm.catalogue.products == load_content(shop_dir).catalogue.products


def test_new_shop_settings_read_every_product_again(shop_dir: Path, parsed: list[str]) -> None:
    cached_load(shop_dir)
    config = shop_dir / "content/shop.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("reduced:", "réduit:"), encoding="utf-8"
    )
    parsed.clear()

    warm = cached_load(shop_dir)

    assert parsed == PRODUCTS
    assert lines(warm) == [
        "content/products/the.md:7: unknown tax class 'reduced': use one of réduit, standard "
        "(defined under tax.classes in shop.yaml)"
    ]


def test_a_deleted_image_of_a_cached_product_is_reported(shop_dir: Path) -> None:
    cached_load(shop_dir)
    (shop_dir / "content/images/bol.jpg").unlink()

    warm = cached_load(shop_dir)

    assert lines(warm) == [
        "content/products/bol.md:9: image file not found: content/images/bol.jpg — add the "
        "file there or fix the name (names are case-sensitive)"
    ]
    assert lines(warm) == lines(load_content(shop_dir))
    assert lines(cached_load(shop_dir)) == lines(warm)


def test_a_duplicate_sku_across_files_is_reported_cold_and_warm(
    shop_dir: Path, parsed: list[str]
) -> None:
    cached_load(shop_dir)
    write(shop_dir, "content/products/pot.md", POT.format(sku="THE-SENCHA-50", extra=""))
    cold = load_content(shop_dir)
    parsed.clear()

    added = cached_load(shop_dir)  # the.md comes from the cache
    assert parsed == ["content/products/pot.md"]
    warm = cached_load(shop_dir)
    assert parsed == ["content/products/pot.md"]

    assert lines(cold) == lines(added) == lines(warm) == [DUPLICATE]
    for content in (cold, added, warm):
        assert [p.slug for p in content.catalogue] == ["bol", "brouillon", "pot", "tasse", "vase"]


def test_a_duplicate_sku_inside_one_file_is_reported_cold_and_warm(shop_dir: Path) -> None:
    variant = "variants:\n  - sku: POT\n    options: {taille: S}\n"
    write(shop_dir, "content/products/pot.md", POT.format(sku="POT", extra=variant))
    expected = [
        "content/products/pot.md:7: SKU 'POT' is already used at content/products/pot.md:3: "
        "every product and variant needs its own SKU"
    ]

    assert lines(load_content(shop_dir)) == expected
    assert lines(cached_load(shop_dir)) == expected
    assert lines(cached_load(shop_dir)) == expected


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"not a cache at all",
        lambda data: data[: len(data) // 2],
        lambda data: data.replace(FORMAT + b" ", FORMAT + b" 0", 1),
        lambda data: data.split(b"\n", 1)[0] + b"\n" + b"\x80\x05K\x01.",  # a pickled 1
    ],
    ids=["garbage", "truncated", "other comptoir", "not a dict"],
)
def test_a_damaged_cache_file_is_ignored_then_replaced(
    shop_dir: Path, parsed: list[str], damage: Callable[[bytes], bytes]
) -> None:
    cached_load(shop_dir)
    file = cache_file(shop_dir)
    file.write_bytes(damage(file.read_bytes()))
    parsed.clear()

    warm = cached_load(shop_dir)

    assert parsed == PRODUCTS
    assert warm.catalogue.products == load_content(shop_dir).catalogue.products
    parsed.clear()
    cached_load(shop_dir)
    assert parsed == []


def test_save_writes_only_when_something_changed(shop_dir: Path) -> None:
    cached_load(shop_dir)
    before = cache_file(shop_dir).stat()

    cached_load(shop_dir)

    after = cache_file(shop_dir).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in cache_file(shop_dir).parent.iterdir()] == ["content.pickle"]


def test_a_deleted_product_leaves_the_cache_file(shop_dir: Path, parsed: list[str]) -> None:
    vase = shop_dir / "content/products/vase.md"
    text = vase.read_text(encoding="utf-8")
    cached_load(shop_dir)
    vase.unlink()
    cached_load(shop_dir)
    vase.write_text(text, encoding="utf-8")
    parsed.clear()

    cached_load(shop_dir)

    assert parsed == ["content/products/vase.md"]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The product files whose bytes are read from now on."""
    paths: list[str] = []
    real = shop.content._read_bytes

    def watched(path: Path, display: str, problems: Problems) -> bytes | None:
        if display.startswith("content/products/"):
            paths.append(display)
        return real(path, display, problems)

    monkeypatch.setattr(shop.content, "_read_bytes", watched)
    return paths


def settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every file count as settled (its change time old enough to be trusted)."""
    monkeypatch.setattr(generator.content_cache, "SETTLED_NS", -(10**18))  # the future: all settled


def test_a_settled_unchanged_file_is_known_without_being_read(
    shop_dir: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settle(monkeypatch)
    cold = cached_load(shop_dir)
    assert sorted(reads) == PRODUCTS
    reads.clear()

    warm = cached_load(shop_dir)

    assert reads == []
    assert warm.catalogue.products == cold.catalogue.products
    assert lines(warm) == lines(cold)


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(
    shop_dir: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change time gives the edit away (no tool can set it back)."""
    settle(monkeypatch)
    cached_load(shop_dir)
    bol = shop_dir / "content/products/bol.md"
    before = bol.stat()
    bol.write_text(bol.read_text(encoding="utf-8").replace("24.90", "26.50"), encoding="utf-8")
    os.utime(bol, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert bol.stat().st_size == before.st_size
    reads.clear()

    warm = cached_load(shop_dir)

    assert reads == ["content/products/bol.md"]
    item = warm.catalogue.item("BOL-BLEU")
    assert item is not None and item.price.to_text() == "26.50"


def test_a_file_changed_just_now_is_read_whatever_its_signature(
    shop_dir: Path, reads: list[str]
) -> None:
    """Unsettled files (changed in the last seconds, as right after a copy) are always
    read: two edits within one tick of the file system's clock look alike."""
    cached_load(shop_dir)
    reads.clear()
    cached_load(shop_dir)
    assert sorted(reads) == PRODUCTS  # copied by the fixture a moment ago
