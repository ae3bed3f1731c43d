"""The shop's price history, from ``content/prices.ledger`` and git (EU Omnibus, art. 6a).

With the full git history, the ledger is brought up to date from the product files of
every commit (dated by the commit, in the shop's time zone), so that committing it keeps
the history for shallow clones (CI and Netlify clone one commit deep). In a shallow clone
the ledger is the history, and what the last commit changed counts from its date. A price
changed but not committed counts from today. Without git, the ledger alone.

Git runs as a subprocess with a timeout; a missing or failing git never fails a build.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from shop.catalogue import Item
from shop.content import ShopContent, front_matter
from shop.money import Money, MoneyFormatError, parse_money
from shop.price_history import (
    LEDGER,
    PriceChange,
    format_ledger,
    histories,
    parse_ledger,
    reduction,
    reduction_problem,
)
from shop.problems import Problems
from shop.yamldoc import Node, find, parse_yaml

GIT_TIMEOUT = 60  # seconds, for one git command
PRODUCTS = "content/products"


def record_prices(content: ShopContent, today: dt.date | None = None) -> None:
    """Fill ``content.prior_prices`` and report each reduction claiming a former price
    not charged; update the ledger when git has the full history."""
    config = content.config
    if config is None:
        return
    zone = ZoneInfo(config.timezone)
    today = today or dt.datetime.now(zone).date()
    ledger_path = content.root / LEDGER
    ledger_text = _read(ledger_path)
    recorded = parse_ledger(ledger_text or "", config.currency, content.problems)
    log = git_changes(content.root, config.currency, zone)
    if log is not None and not log[0]:  # full history: the ledger records it all
        text = format_ledger(c for h in histories([*recorded, *log[1]]).values() for c in h)
        if text != ledger_text:
            _write(ledger_path, text)
    if log is None and ledger_text is None:
        _cannot_check(content)
        return
    current = [_change(today, item) for p in content.catalogue.public for item in p.items]
    known = histories([*recorded, *(log[1] if log else []), *current])
    for product in content.catalogue.public:
        for item in product.items:
            if item.compare_at_price is None or item.compare_at_price <= item.price:
                continue  # no reduction (one below the price is reported with the file)
            found = reduction(known[item.sku])
            if found is not None and found.lowest is not None:
                content.prior_prices[item.sku] = found.lowest
            message = reduction_problem(item.sku, item.compare_at_price, found)
            if message:
                content.problems.add(product.source, _compare_at_line(content, item), message)


def _change(date: dt.date, item: Item) -> PriceChange:
    return PriceChange(date, item.sku, item.price, item.compare_at_price)


def _cannot_check(content: ShopContent) -> None:
    for product in content.catalogue.public:
        for item in product.items:
            if item.compare_at_price is not None and item.compare_at_price > item.price:
                content.warnings.add(
                    product.source,
                    _compare_at_line(content, item),
                    "this reduction cannot be checked against the prices of the 30 days "
                    f"before it, and its lowest price is not shown: {LEDGER} is missing and "
                    "the shop is not in git. Keep the shop in git (see docs/content.md)",
                )


def _compare_at_line(content: ShopContent, item: Item) -> int:
    front = front_matter(content.root, item.product.source)
    node = find(front, "compare_at_price")
    if item.variant is not None:
        variants = find(front, "variants")
        for variant in variants.items() if variants is not None and variants.is_seq else []:
            sku = find(variant, "sku")
            if sku is not None and sku.text.strip() == item.sku:
                node = find(variant, "compare_at_price") or variant
    return node.line if node is not None else 1


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _write(path: Path, text: str) -> None:
    with contextlib.suppress(OSError):  # read-only: the history in memory is the same
        path.write_text(text, encoding="utf-8")


# -- git -------------------------------------------------------------------------


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes | None:
    """git's output, or None when git is missing, fails or takes too long."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_changes(root: Path, currency: str, zone: ZoneInfo) -> tuple[bool, list[PriceChange]] | None:
    """(whether the clone is shallow, the prices of each commit changing a product file),
    or None when ``root`` is not in a git repository (or git is missing)."""
    shallow = _git(root, "rev-parse", "--is-shallow-repository")
    if shallow is None:
        return None
    log = _git(
        root,
        "log",
        "--reverse",
        "--root",
        "--no-renames",
        "--raw",
        "--no-abbrev",
        "--relative",
        "--format=%x00%cI",
        "--",
        PRODUCTS,
    )
    if log is None:
        return shallow.strip() == b"true", []
    dated: list[tuple[dt.date, str]] = []  # (commit date, blob of a product file)
    for date, blob in _blobs(log.decode("utf-8", "replace"), zone):
        dated.append((date, blob))
    texts = _cat(root, [blob for _, blob in dated])
    changes = []
    for date, blob in dated:
        for sku, price, was in _prices(texts.get(blob, ""), currency):
            changes.append(PriceChange(date, sku, price, was))
    return shallow.strip() == b"true", changes


def _blobs(log: str, zone: ZoneInfo) -> Iterator[tuple[dt.date, str]]:
    """(commit date, new blob) of each product file added or changed, oldest first."""
    for commit in log.split("\0")[1:]:
        lines = commit.strip().splitlines()
        if not lines:
            continue
        try:
            date = dt.datetime.fromisoformat(lines[0].strip()).astimezone(zone).date()
        except ValueError:
            continue
        for line in lines[1:]:
            fields, _, path = line.partition("\t")
            parts = fields.split()
            if len(parts) == 5 and parts[4][:1] in "AMT" and path.endswith(".md"):
                yield date, parts[3]


def _cat(root: Path, blobs: list[str]) -> dict[str, str]:
    """The text of each blob, read by one ``git cat-file --batch``."""
    if not blobs:
        return {}
    wanted = list(dict.fromkeys(blobs))
    out = _git(root, "cat-file", "--batch", stdin="".join(b + "\n" for b in wanted).encode())
    texts: dict[str, str] = {}
    rest = out or b""
    for blob in wanted:
        header, _, rest = rest.partition(b"\n")
        parts = header.split()
        if len(parts) != 3 or parts[1] != b"blob":
            continue  # "<sha> missing": skipped
        size = int(parts[2])
        texts[blob] = rest[:size].decode("utf-8", "replace")
        rest = rest[size + 1 :]
    return texts


def _prices(text: str, currency: str) -> Iterator[tuple[str, Money, Money | None]]:
    """(SKU, price, former price) of each item an active product file sold."""
    front = _front(text)
    if front is None or not front.is_map:
        return
    status = find(front, "status")
    if status is not None and status.text.strip() not in ("", "active"):
        return
    price = _money(find(front, "price"), currency)
    variants = find(front, "variants")
    items = variants.items() if variants is not None and variants.is_seq else []
    if not items:
        items = [front]
    for node in items:
        sku = find(node, "sku")
        own = _money(find(node, "price"), currency) or price
        if sku is not None and sku.is_scalar and own is not None:
            yield sku.text.strip(), own, _money(find(node, "compare_at_price"), currency)


def _front(text: str) -> Node | None:
    lines = text.replace("\r\n", "\n").removeprefix("\ufeff").split("\n")
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return parse_yaml("\n".join(lines[1:index]), PRODUCTS, Problems())
    return None


def _money(node: Node | None, currency: str) -> Money | None:
    if node is None or not node.is_scalar or node.is_null:
        return None
    try:
        return parse_money(node.text, currency)
    except MoneyFormatError:
        return None
