"""Read and validate a shop's ``content/`` folder.

``load_content`` returns the typed shop (configuration, catalogue, pages,
articles) together with every problem found, each as ``path:line: message``.
Nothing here raises for a merchant's mistake.

Each product file is read on its own into a ``ProductRecord``, and given a
digest of its bytes and the settings it was read with; what involves several
files (a SKU or an address used twice, category spellings) is checked
afterwards, on every load. So a build may keep records between builds and
spread the reading over its cores (``generator.content_cache``): it hands
``load_content`` its own ``ReadProducts``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from shop.catalogue import SKU_PATTERN, Catalogue, ImageRef, Product, Status, Variant
from shop.config import LEGAL_ROLES, PAGE_ROLES, ShopConfig, read_config
from shop.money import Money
from shop.problems import Problem, Problems
from shop.text import slugify
from shop.yamldoc import MapReader, Node, as_map, describe, parse_yaml

PRODUCT_KEYS = (
    "title",
    "sku",
    "price",
    "compare_at_price",
    "category",
    "tags",
    "images",
    "weight",
    "stock",
    "stock_counted",
    "supplier",
    "lead_time_days",
    "tax_class",
    "status",
    "featured",
    "date",
    "summary",
    "variants",
)
VARIANT_KEYS = ("sku", "options", "price", "compare_at_price", "stock", "stock_counted", "weight")
PAGE_KEYS = ("title", "role", "slug", "summary")
POST_KEYS = ("title", "date", "summary", "tags", "image", "author")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
# Part of every product's digest: bump it when reading a product file changes, so that
# equal digests still mean equal products (caches rely on it).
READER_VERSION = 1


@dataclass(frozen=True, slots=True)
class Page:
    slug: str
    source: str
    title: str
    role: str | None
    summary: str | None
    body: str  # Markdown


@dataclass(frozen=True, slots=True)
class Post:
    slug: str
    source: str
    title: str
    date: dt.date
    summary: str | None
    tags: tuple[str, ...]
    image: ImageRef | None
    author: str | None
    body: str  # Markdown


@dataclass
class ShopContent:
    """Everything read from content/, and what is wrong with it."""

    root: Path
    config: ShopConfig | None
    catalogue: Catalogue
    pages: tuple[Page, ...]
    posts: tuple[Post, ...]
    problems: Problems = field(default_factory=Problems)
    # Likely mistakes that do not stop a build (`check` prints them, exits 0).
    warnings: Problems = field(default_factory=Problems)
    # SKU -> the lowest price of the 30 days before its reduction (EU Omnibus, art. 6a).
    prior_prices: dict[str, Money] = field(default_factory=dict)

    @property
    def content_dir(self) -> Path:
        return self.root / "content"


@dataclass(frozen=True, slots=True)
class Document:
    """A Markdown file split into its front matter node and its body."""

    path: str
    front: Node | None
    body: str


@dataclass(frozen=True, slots=True)
class SkuSite:
    """A SKU declared in a product file (by the product or one of its variants)."""

    sku: str
    line: int  # of its 'sku' key: a later duplicate says "already used at path:line"
    value_line: int  # of its value: where it is reported when it is the duplicate


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """What one product file yields, independently of every other file."""

    product: Product | None
    problems: tuple[Problem, ...]
    skus: tuple[SkuSite, ...]  # every valid one, in file order (a repeat too)
    images: tuple[tuple[str, bool], ...]  # (path under content/, whether it existed)


ReadProducts = Callable[[Path, Sequence[str], "ProductSettings"], list[ProductRecord]]
"""How product files become records: given the shop's root, the names of its files in
content/products/ and the settings to read them with, one record per name, in order."""


def load_config(root: Path, problems: Problems) -> ShopConfig | None:
    """Read and validate ``root/content/shop.yaml`` alone; problems go into ``problems``."""
    content = root / "content"
    config_path = content / "shop.yaml"
    if not content.is_dir():
        problems.add(
            "content",
            1,
            "no content/ folder here: run comptoir from your shop's "
            "folder, pass --shop DIR, or create one with comptoir init DIR",
        )
        return None
    if not config_path.is_file():
        problems.add(
            "content/shop.yaml",
            1,
            "shop.yaml is missing: every shop needs one (see docs/content.md)",
        )
        return None
    before = len(problems)
    text = _read_text(config_path, "content/shop.yaml", problems)
    node = parse_yaml(text, "content/shop.yaml", problems) if text is not None else None
    if node is not None:
        return read_config(node, problems)
    if text is not None and len(problems) == before:
        problems.add("content/shop.yaml", 1, "shop.yaml is empty")
    return None


def load_content(root: Path, read_products: ReadProducts | None = None) -> ShopContent:
    """Read ``root/content`` and validate it all; problems are collected, never raised.

    ``read_products`` turns the product files into records (by default each is read
    in turn with ``read_product_file``); a build passes one that keeps them between
    builds. The checks across files run here, on every load, so the problems reported
    are the same whoever read the files.
    """
    problems = Problems()
    content = root / "content"
    config = load_config(root, problems)
    settings = ProductSettings.of(config)
    names = _markdown_names(content / "products")
    records = (read_products or read_product_files)(root, names, settings)
    products = _check_products(names, records, problems)
    pages = _read_pages(root, content / "pages", problems)
    posts = _read_posts(root, content / "blog", problems)
    return ShopContent(root, config, Catalogue(tuple(products)), pages, posts, problems)


# -- files -------------------------------------------------------------------


def _markdown_files(folder: Path) -> list[Path]:
    """The folder's .md files, by name."""
    return [folder / name for name in _markdown_names(folder)]


def _markdown_names(folder: Path) -> list[str]:
    """The names of the folder's .md files, sorted (names sort faster than paths, and
    make no Path each: 10,000 files)."""
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.name.endswith(".md") and e.is_file())


def _display(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _read_text(path: Path, display: str, problems: Problems) -> str | None:
    data = _read_bytes(path, display, problems)
    return None if data is None else _decode(data, display, problems)


def _read_bytes(path: Path, display: str, problems: Problems) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as error:
        problems.add(display, 1, f"cannot read this file ({error.strerror})")
        return None


def _decode(data: bytes, display: str, problems: Problems) -> str | None:
    """The text ``Path.read_text`` would give: UTF-8, any line ending read as "\\n"."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.add(display, line, "this file is not UTF-8 text: save it as UTF-8 in your editor")
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_document(root: Path, path: Path, problems: Problems) -> Document | None:
    display = _display(root, path)
    text = _read_text(path, display, problems)
    return None if text is None else _split_document(display, text, problems)


def front_matter(root: Path, display: str) -> Node | None:
    """The front matter of the file ``display`` (relative to ``root``), to find a line."""
    text = _read_text(root / display, display, Problems())
    document = None if text is None else _split_document(display, text, Problems())
    return None if document is None else document.front


def _split_document(display: str, text: str, problems: Problems) -> Document | None:
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        problems.add(
            display,
            1,
            "no front matter: start the file with a line '---', then the "
            "fields (title: …), then another '---' line",
        )
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            front_text = "".join(lines[1:index])
            body = "".join(lines[index + 1 :])
            break
    else:
        problems.add(
            display, 1, "the front matter is not closed: add a line '---' after the last field"
        )
        return None
    front = parse_yaml(front_text, display, problems, line_offset=1)
    if front is None and front_text.strip() == "":
        problems.add(
            display, 1, "the front matter is empty: add the fields between the '---' lines"
        )
    return Document(display, front, body)


# -- products ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductSettings:
    """What reading a product file depends on besides its bytes (part of its digest)."""

    currency: str
    tax_classes: tuple[str, ...] | None  # sorted; None without a valid shop.yaml
    default_tax: str
    timezone: str = "Europe/Paris"  # a stock_counted date starts at midnight there
    suppliers: tuple[str, ...] | None = None  # ids; None without a valid shop.yaml

    @classmethod
    def of(cls, config: ShopConfig | None) -> ProductSettings:
        if config is None:
            return cls("EUR", None, "standard")
        return cls(
            config.currency,
            tuple(sorted(config.tax_classes)),
            config.default_tax_class,
            config.timezone,
            tuple(sorted(s.id for s in config.suppliers)),
        )


@dataclass
class _ImageChecks:
    """Checks that image files exist under content/, remembering each answer."""

    root: Path
    answers: dict[str, bool] = field(default_factory=dict)

    def exists(self, clean: str) -> bool:
        found = self.answers[clean] = (self.root / "content" / clean).is_file()
        return found


def read_product_files(
    root: Path, names: Sequence[str], settings: ProductSettings
) -> list[ProductRecord]:
    """Each of content/products/``names`` read in turn (the ``ReadProducts`` of a load
    given none)."""
    folder = root / "content" / "products"
    return [
        read_product_file(root, folder / name, f"content/products/{name}", settings)[1]
        for name in names
    ]


def read_product_file(
    root: Path,
    path: Path,
    display: str,
    settings: ProductSettings,
    known: Callable[[str], ProductRecord | None] = lambda digest: None,
) -> tuple[str | None, ProductRecord]:
    """The product file at ``path`` (``display`` in messages) read into a record, with
    the digest of its bytes and ``settings`` (None when the file cannot be read).

    ``known(digest)`` may return the record of the same bytes read before: the file
    is then not parsed again.
    """
    unreadable = Problems()
    data = _read_bytes(path, display, unreadable)
    if data is None:
        return None, ProductRecord(None, tuple(unreadable.items), (), ())
    digest = _digest(data, repr((READER_VERSION, display, settings)))
    record = known(digest)
    if record is not None:
        return digest, record
    text = _decode(data, display, unreadable)
    if text is None:
        return None, ProductRecord(None, tuple(unreadable.items), (), ())
    return digest, _read_product_file(root, path, display, text, settings, digest)


def _digest(data: bytes, context: str) -> str:
    encoded = context.encode()
    digest = hashlib.blake2b(len(encoded).to_bytes(8, "big"), digest_size=20)
    digest.update(encoded)
    digest.update(data)
    return digest.hexdigest()


def _check_products(
    names: Sequence[str], records: Sequence[ProductRecord], problems: Problems
) -> list[Product]:
    """The products of the records, once what involves several files is checked."""
    products: list[Product] = []
    claimed: dict[str, str] = {}  # SKU -> "path:line" where it was first declared
    slugs: dict[str, str] = {}
    for name, record in zip(names, records, strict=True):
        display = f"content/products/{name}"
        problems.items.extend(record.problems)
        unique = _claim_skus(display, record.skus, claimed, problems)
        if record.product is not None and unique:
            _check_slug(record.product, slugs, problems)
            products.append(record.product)
    _check_categories(products, problems)
    return products


def _read_product_file(
    root: Path, path: Path, display: str, text: str, settings: ProductSettings, digest: str
) -> ProductRecord:
    problems = Problems()
    skus: list[SkuSite] = []
    images = _ImageChecks(root)
    document = _split_document(display, text, problems)
    product = (
        None
        if document is None
        else _read_product(document, path, settings, images, skus, problems, digest)
    )
    return ProductRecord(product, tuple(problems.items), tuple(skus), tuple(images.answers.items()))


def _claim_skus(
    display: str, sites: tuple[SkuSite, ...], claimed: dict[str, str], problems: Problems
) -> bool:
    """Claim a file's SKUs in file order; False (each reported) when one is taken."""
    unique = True
    for site in sites:
        if site.sku in claimed:
            problems.add(
                display,
                site.value_line,
                f"SKU '{site.sku}' is already used at {claimed[site.sku]}: every "
                "product and variant needs its own SKU",
            )
            unique = False
        else:
            claimed[site.sku] = f"{display}:{site.line}"
    return unique


def _check_slug(product: Product, slugs: dict[str, str], problems: Problems) -> None:
    if product.slug in slugs:
        problems.add(
            product.source,
            1,
            f"this file's address /products/{product.slug}/ "
            f"is already used by {slugs[product.slug]}: rename it",
        )
    slugs[product.slug] = product.source


def _read_product(
    document: Document,
    path: Path,
    settings: ProductSettings,
    images: _ImageChecks,
    skus: list[SkuSite],
    problems: Problems,
    digest: str,
) -> Product | None:
    reader = as_map(document.front, problems, PRODUCT_KEYS, "a product")
    if reader is None:
        return None
    currency, tax_classes = settings.currency, settings.tax_classes
    title = reader.text("title", required=True, example="title: Théière en grès")
    sku = _sku(reader, "sku", skus)
    price = reader.money("price", currency, required=True)
    compare_at = reader.money("compare_at_price", currency)
    _check_compare_at(reader, price, compare_at)
    category = reader.text("category", required=True, example="category: Céramiques")
    tags = tuple(reader.text_list("tags"))
    refs = tuple(_images(reader, images, title or ""))
    weight = reader.integer("weight", minimum=0, unit=" of grams")
    stock = reader.integer("stock", minimum=0)
    stock_counted = _stock_counted(reader, settings, stock)
    supplier = reader.text("supplier")
    if (
        supplier is not None
        and settings.suppliers is not None
        and supplier not in settings.suppliers
    ):
        reader.error(
            reader.values["supplier"],
            f"unknown supplier '{supplier}': use the id of one listed under suppliers in "
            f"shop.yaml ({', '.join(settings.suppliers) or 'none yet'})",
        )
    lead_time = reader.integer("lead_time_days", minimum=0, unit=" of days")
    tax_class = reader.text("tax_class") or settings.default_tax
    if reader.has("tax_class") and tax_classes is not None and tax_class not in tax_classes:
        reader.error(
            reader.values["tax_class"],
            f"unknown tax class '{tax_class}': use one of "
            f"{', '.join(tax_classes)} (defined under tax.classes in shop.yaml)",
        )
    status = Status(reader.choice("status", tuple(s.value for s in Status), "active"))
    featured = reader.boolean("featured")
    date = reader.date("date")
    summary = reader.text("summary")
    variants = _variants(reader, currency, price, weight, skus, settings)
    if title is None or sku is None or price is None or category is None or variants is None:
        return None
    return Product(
        slug=slugify(path.stem) or "product",
        source=document.path,
        title=title,
        sku=sku,
        price=price,
        compare_at_price=compare_at,
        category=category,
        tags=tags,
        images=refs,
        weight=weight,
        stock=stock,
        tax_class=tax_class,
        status=status,
        featured=featured,
        date=date,
        summary=summary,
        description=document.body.strip(),
        variants=variants,
        digest=digest,
        stock_counted=stock_counted,
        supplier=supplier,
        lead_time_days=lead_time,
    )


def _sku(reader: MapReader, key: str, skus: list[SkuSite]) -> str | None:
    """A valid SKU, added to ``skus``; whether another file has it is checked later."""
    sku = reader.text(key, required=True, example=f"{key}: THE-SENCHA-100")
    if sku is None:
        return None
    if not SKU_PATTERN.fullmatch(sku):
        reader.error(
            reader.values[key],
            f"SKU '{sku}' may only hold letters, digits, '-', '_' "
            "and '.' (64 at most), without spaces",
        )
        return None
    skus.append(SkuSite(sku, reader.keys[key].line, reader.values[key].line))
    return sku


def _check_compare_at(reader: MapReader, price: Money | None, compare_at: Money | None) -> None:
    if price is not None and compare_at is not None and compare_at <= price:
        reader.error(
            reader.values["compare_at_price"],
            f"'compare_at_price' ({compare_at.to_text()}) must be above the price "
            f"({price.to_text()}): it is the former price shown struck through",
        )


def _images(reader: MapReader, images: _ImageChecks, title: str) -> list[ImageRef]:
    result: list[ImageRef] = []
    for node in reader.seq("images"):
        if node.is_scalar:
            src, alt, where = node.text.strip(), title, node
        else:
            image = as_map(node, reader.problems, ("src", "alt"), "an image")
            if image is None:
                continue
            src_text = image.text("src", required=True, example="src: images/photo.jpg")
            if src_text is None:
                continue
            src, alt, where = src_text, image.text("alt") or title, image.values["src"]
        ref = _image_ref(src, alt, where, reader, images)
        if ref is not None:
            result.append(ref)
    return result


def _image_ref(
    src: str, alt: str, where: Node, reader: MapReader, images: _ImageChecks
) -> ImageRef | None:
    clean = src.removeprefix("/").removeprefix("content/")
    if ".." in Path(clean).parts or not clean:
        reader.error(where, f"image path '{src}' must stay inside content/, e.g. images/photo.jpg")
        return None
    if Path(clean).suffix.lower() not in IMAGE_SUFFIXES:
        reader.error(where, f"image '{src}' must be a .jpg, .png or .webp file")
        return None
    if not images.exists(clean):
        reader.error(
            where,
            f"image file not found: content/{clean} — add the file there or "
            "fix the name (names are case-sensitive)",
        )
        return None
    return ImageRef(clean, alt)


def _variants(
    reader: MapReader,
    currency: str,
    price: Money | None,
    weight: int | None,
    skus: list[SkuSite],
    settings: ProductSettings,
) -> tuple[Variant, ...] | None:
    variants: list[Variant] = []
    option_names: tuple[str, ...] | None = None
    combos: set[tuple[tuple[str, str], ...]] = set()
    broken = False
    for node in reader.seq("variants"):
        variant = as_map(node, reader.problems, VARIANT_KEYS, "a variant")
        if variant is None:
            broken = True
            continue
        if not variant.has("sku"):
            variant.error(
                node,
                "this variant has no 'sku': each variant is sold under its own "
                "SKU, add a line such as sku: THE-SENCHA-100",
            )
            broken = True
        sku = _sku(variant, "sku", skus) if variant.has("sku") else None
        options = _options(variant, node)
        v_price = variant.money("price", currency) or price
        compare_at = variant.money("compare_at_price", currency)
        _check_compare_at(variant, v_price, compare_at)
        stock = variant.integer("stock", minimum=0)
        stock_counted = _stock_counted(variant, settings, stock)
        v_weight = variant.integer("weight", minimum=0, unit=" of grams")
        if options is not None:
            names = tuple(name for name, _ in options)
            if option_names is None:
                option_names = names
            elif set(names) != set(option_names):
                variant.error(
                    variant.values["options"],
                    f"this variant's options ({', '.join(names)}) differ from the first "
                    f"variant's ({', '.join(option_names)}): give every variant the same "
                    "option names",
                )
            key = tuple(sorted(options))
            if key in combos:
                variant.error(
                    variant.values["options"],
                    "two variants have the same options: each variant needs its own combination",
                )
            combos.add(key)
        if sku is None or options is None or v_price is None:
            broken = True
            continue
        variants.append(
            Variant(
                sku,
                options,
                v_price,
                compare_at,
                stock,
                v_weight if v_weight is not None else weight,
                stock_counted,
            )
        )
    return None if broken else tuple(variants)


def _stock_counted(
    reader: MapReader, settings: ProductSettings, stock: int | None
) -> dt.datetime | None:
    """When ``stock`` was counted: a date (its midnight in the shop's time zone, so the
    day's sales count as sold after it) or a date and time; UTC."""
    node = reader.get("stock_counted")
    if node is None:
        return None
    value = node.value() if node.is_scalar and not node.quoted else None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, dt.date):
        reader.error(
            node,
            "'stock_counted' must be the date the stock was counted, as 2026-12-01 "
            f"(or 2026-12-01 18:30), not {describe(node)}",
        )
        return None
    if stock is None:
        reader.error(node, "'stock_counted' dates a 'stock' count: add one, e.g. stock: 12")
        return None
    zone = ZoneInfo(settings.timezone)
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


def _options(variant: MapReader, node: Node) -> tuple[tuple[str, str], ...] | None:
    options_node = variant.get("options")
    if options_node is None:
        variant.error(
            node,
            "this variant has no 'options': say what sets it apart, e.g. options: {taille: 100 g}",
        )
        return None
    if not options_node.is_map or not options_node.entries():
        variant.error(
            options_node,
            "'options' must name each option and its value, e.g. options: {couleur: Bleu}",
        )
        return None
    result: list[tuple[str, str]] = []
    for name, _, value in options_node.entries():
        if not value.is_scalar or not value.text.strip():
            variant.error(value, f"option '{name}' needs a value, e.g. {name}: Bleu")
            return None
        result.append((name, value.text.strip()))
    return tuple(result)


def _check_categories(products: list[Product], problems: Problems) -> None:
    seen: dict[str, str] = {}
    for product in products:
        slug = slugify(product.category)
        if not slug:
            problems.add(
                product.source, 1, f"category '{product.category}' needs letters or digits"
            )
        elif slug in seen and seen[slug] != product.category:
            problems.add(
                product.source,
                1,
                f"category '{product.category}' is spelled "
                f"'{seen[slug]}' elsewhere: use one spelling",
            )
        else:
            seen[slug] = product.category


# -- pages and articles --------------------------------------------------------


def _read_pages(root: Path, folder: Path, problems: Problems) -> tuple[Page, ...]:
    pages: list[Page] = []
    roles: dict[str, str] = {}
    for path in _markdown_files(folder):
        document = _read_document(root, path, problems)
        if document is None:
            continue
        reader = as_map(document.front, problems, PAGE_KEYS, "a page")
        if reader is None:
            continue
        title = reader.text("title", required=True, example="title: Mentions légales")
        role = reader.choice("role", PAGE_ROLES, "") if reader.has("role") else None
        slug = reader.text("slug") or slugify(path.stem)
        if reader.has("slug") and slug != slugify(slug):
            reader.error(
                reader.values["slug"],
                f"'slug' must be lowercase letters, digits and hyphens, such as {slugify(slug)}",
            )
        if role:
            if role in roles:
                reader.error(
                    reader.values["role"],
                    f"two pages have role '{role}' (the other is {roles[role]}): keep one",
                )
            roles[role] = document.path
        if title is not None:
            pages.append(
                Page(
                    slug,
                    document.path,
                    title,
                    role or None,
                    reader.text("summary"),
                    document.body.strip(),
                )
            )
    for role in LEGAL_ROLES:
        if role not in roles:
            problems.add(
                "content/pages",
                1,
                f"the {role} page is missing: French law asks for "
                f"it; add a page with 'role: {role}' in its front "
                "matter (see docs/content.md)",
            )
    return tuple(pages)


def _read_posts(root: Path, folder: Path, problems: Problems) -> tuple[Post, ...]:
    posts: list[Post] = []
    for path in _markdown_files(folder):
        document = _read_document(root, path, problems)
        if document is None:
            continue
        reader = as_map(document.front, problems, POST_KEYS, "an article")
        if reader is None:
            continue
        title = reader.text("title", required=True, example="title: Bien infuser un thé vert")
        date = reader.date("date", required=True)
        image = None
        if reader.has("image"):
            src = reader.text("image")
            if src:
                image = _image_ref(
                    src, title or "", reader.values["image"], reader, _ImageChecks(root)
                )
        if title is not None and date is not None:
            posts.append(
                Post(
                    slugify(path.stem),
                    document.path,
                    title,
                    date,
                    reader.text("summary"),
                    tuple(reader.text_list("tags")),
                    image,
                    reader.text("author"),
                    document.body.strip(),
                )
            )
    return tuple(sorted(posts, key=lambda p: (p.date, p.slug), reverse=True))
