"""Checks across the shop's files for what breaks a shop silently.

A category spelled a new way makes a new menu entry; a discount naming a category or a
product that does not exist never applies; an example identity left in shop.yaml sells
under a made-up company. Errors go to ``content.problems``, likely mistakes to
``content.warnings``, each at the line to fix.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from shop.catalogue import Product
from shop.content import ShopContent, front_matter
from shop.identity import invented_identity
from shop.problems import Problem, Problems
from shop.yamldoc import Node, find, parse_yaml

SHOP_YAML = "content/shop.yaml"


def check_coherence(content: ShopContent, example: Mapping[str, str]) -> None:
    """Add to ``content`` what only the whole shop shows (``example``: the example shop's
    legal block, whose values a real shop must replace)."""
    if content.config is None:
        return
    config = content.config
    shop_yaml = _shop_yaml(content.root)
    products = content.catalogue.products
    categories = Counter(p.category for p in products)
    tags = Counter(tag for p in products for tag in p.tags)
    skus = {sku for p in products for sku in (p.sku, *(v.sku for v in p.variants))}
    for index, discount in enumerate(config.discounts):
        where = ("discounts", index)
        _unmatched(
            content.problems, shop_yaml, where, "categories", discount.categories, categories
        )
        _unmatched(content.problems, shop_yaml, where, "products", discount.products, skus)
    for index, rule in enumerate(config.cart_rules):
        where = ("cart_rules", index)
        _unmatched(content.problems, shop_yaml, where, "categories", rule.categories, categories)
    _near_duplicates(content, categories, "category", lambda p: (p.category,))
    _near_duplicates(content, tags, "tag", lambda p: p.tags)
    for problem in invented(content, example):
        content.warnings.add(
            problem.path, problem.line, f"{problem.message} (build --production refuses it)"
        )


def invented(content: ShopContent, example: Mapping[str, str]) -> list[Problem]:
    """Each part of shop.yaml still holding the example shop's invented identity."""
    if content.config is None:
        return []
    shop_yaml = _shop_yaml(content.root)
    found = []
    for key, message in invented_identity(content.config, example):
        node = find(shop_yaml, *key.split("."))
        found.append(Problem(SHOP_YAML, node.line if node else 1, message))
    return found


def _shop_yaml(root: Path) -> Node | None:
    try:
        text = (root / SHOP_YAML).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return parse_yaml(text, SHOP_YAML, Problems())


def _unmatched(
    problems: Problems,
    shop_yaml: Node | None,
    where: tuple[str, int],
    key: str,
    names: Iterable[str],
    known: Iterable[str],
) -> None:
    """An error for each name of ``where``'s ``key`` list that matches nothing."""
    known = sorted(known)
    listed = find(shop_yaml, *where, key)
    nodes = listed.items() if listed is not None and listed.is_seq else []
    for position, name in enumerate(names):
        if name in known:
            continue
        node = nodes[position] if position < len(nodes) else listed
        close = [other for other in known if _near(name, other)]
        owner = "discount" if where[0] == "discounts" else "cart rule"
        if key == "categories":
            what, names_of_all = f"no product is in the category '{name}'", "categories"
        else:
            what, names_of_all = f"no product or variant has the SKU '{name}'", "SKUs"
        hint = (
            f": did you mean '{close[0]}'?"
            if close
            else f": fix the name (the {names_of_all} are: {_few(known)})"
        )
        problems.add(
            SHOP_YAML,
            node.line if node else 1,
            f"{what}, so this {owner} never applies to anything{hint}",
        )


def _few(names: list[str]) -> str:
    return ", ".join(names[:8]) + (", …" if len(names) > 8 else "")


def _near_duplicates(
    content: ShopContent,
    counts: Counter[str],
    what: str,
    names_of: Callable[[Product], tuple[str, ...]],
) -> None:
    """Warn on each product using a name that is a near spelling of a more used one."""
    likely: dict[str, str] = {}
    for rare, rare_count in counts.items():
        better = [
            name
            for name, count in counts.most_common()
            if name != rare and count >= rare_count and _near(rare, name)
        ]
        # Of two names used equally often, only the later one in the alphabet is flagged.
        if better and (counts[better[0]] > rare_count or better[0] < rare):
            likely[rare] = better[0]
    key = "category" if what == "category" else "tags"
    for product in content.catalogue.products:
        for name in names_of(product):
            if name in likely:
                node = find(front_matter(content.root, product.source), key)
                content.warnings.add(
                    product.source,
                    node.line if node else 1,
                    f"{what} '{name}' is used by {counts[name]} product"
                    f"{'s' if counts[name] > 1 else ''}, '{likely[name]}' by "
                    f"{counts[likely[name]]}: did you mean '{likely[name]}'? "
                    f"(each spelling makes its own {what} page)",
                )


def _plain(name: str) -> str:
    """Case and accents removed: "Thés Verts" -> "thes verts"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _near(a: str, b: str) -> bool:
    """Whether two names are likely the same one misspelled: equal but for case, accents
    or plural endings; or, long enough, one or two letters apart."""
    x, y = _plain(a), _plain(b)
    if _singular(x) == _singular(y):
        return True
    shortest = min(len(x), len(y))
    allowed = 0 if shortest < 6 else 1 if shortest < 10 else 2
    return allowed > 0 and _distance(x, y, allowed) <= allowed


def _singular(plain: str) -> str:
    """Each word without a plural ending: "thes verts" -> "the vert"."""
    return " ".join(
        word[:-1] if word[-1:] in "sx" and len(word) > 2 else word for word in plain.split()
    )


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or ``limit + 1`` once it is known to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            )
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]
