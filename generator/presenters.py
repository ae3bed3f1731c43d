"""Turn domain objects into the display-ready views templates print."""

from __future__ import annotations

import gettext
import hashlib
import json
import pickle
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import markdown
from babel import Locale
from babel.dates import format_date
from markupsafe import Markup

from generator import quick_markdown
from generator.images import ProcessedImage
from generator.pages import replace_file
from generator.views import (
    CategoryView,
    ImageView,
    Link,
    Pagination,
    PostLink,
    ProductView,
    SiteView,
    VariantView,
)
from shop.catalogue import ImageRef, Item, Product
from shop.config import ShopConfig
from shop.content import Page, Post, ShopContent
from shop.text import format_rate, join_units, slugify

T = TypeVar("T")
LEGAL_ORDER = ("legal-notice", "terms-of-sale", "withdrawal", "privacy", "about")
FEED_PATH = "/blog/atom.xml"


def product_url(product: Product) -> str:
    return f"/products/{product.slug}/"


def category_url(name: str, number: int = 1) -> str:
    return f"/category/{slugify(name)}/" + (f"page/{number}/" if number > 1 else "")


def tag_url(name: str, number: int = 1) -> str:
    return f"/tag/{slugify(name)}/" + (f"page/{number}/" if number > 1 else "")


def page_url(page: Page) -> str:
    return f"/{page.slug}/"


def post_url(post: Post) -> str:
    return f"/blog/{post.slug}/"


_EXTENSIONS = ["extra", "sane_lists"]
_MARKDOWN = markdown.Markdown(extensions=_EXTENSIONS, output_format="html")
# What a rendering depends on besides the text: a new Markdown, extension or fast path
# renders anew.
_RENDERER = (
    f"markdown {markdown.__version__} {' '.join(_EXTENSIONS)} "
    f"{hashlib.sha256(Path(quick_markdown.__file__).read_bytes()).hexdigest()}\0"
)
_MARKDOWN_LOCK = threading.Lock()


@lru_cache(maxsize=8192)
def render_markdown(text: str) -> Markup:
    """The merchant's Markdown as HTML (the merchant's own content is trusted).

    Most descriptions take the fast path, which writes what Python-Markdown would
    in a tenth of the time. For the others, one converter serves the whole build
    (building one costs more than converting a description), and a rebuild in the
    same process reuses what it rendered.
    """
    html = quick_markdown.render(text)
    if html is None:
        with _MARKDOWN_LOCK:
            html = _MARKDOWN.reset().convert(text)
    return Markup(html)  # noqa: S704 - the shop's own content, not a visitor's


class MarkdownCache:
    """Rendered Markdown kept between builds, by a hash of its text.

    Rendering descriptions is most of a cold build's work. Only the texts the
    site still has are saved, so the file never grows past the shop's size. The
    file is a pickle (a header line, then a dict of str), read in a fifth of the
    time JSON takes; like ``.cache/content.pickle`` it is only ever written by
    comptoir in the merchant's own build cache, so it is trusted as that is.
    """

    HEADER = b"comptoir-markdown-cache 1\n"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.new: dict[str, str] = {}  # rendered by this build (or this worker)
        self.known: dict[str, str] = self._load(path)

    @classmethod
    def _load(cls, path: Path) -> dict[str, str]:
        try:
            data = path.read_bytes()
            if not data.startswith(cls.HEADER):
                return {}
            known = pickle.loads(data[len(cls.HEADER) :])  # noqa: S301 - see the docstring
        except Exception:  # any damage only costs rendering again
            return {}
        if not isinstance(known, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in known.items()
        ):
            return {}
        return known

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256((_RENDERER + text).encode()).hexdigest()

    def render(self, text: str) -> Markup:
        key = self.key(text)
        html = self.known.get(key)
        if html is None:
            html = self.known[key] = self.new[key] = str(render_markdown(text))
        return Markup(html)  # noqa: S704 - the shop's own content, rendered by render_markdown

    def take_new(self) -> dict[str, str]:
        """What was rendered since the last call (a worker sends it to the parent)."""
        new, self.new = self.new, {}
        return new

    def learn(self, rendered: dict[str, str]) -> None:
        self.known.update(rendered)
        self.new.update(rendered)

    def save(self, texts: Iterable[str]) -> None:
        """Keep the renderings of ``texts``, the Markdown the site has now."""
        keys = {self.key(text) for text in texts}
        if not self.new and keys.issuperset(self.known):
            return
        kept = {key: html for key, html in self.known.items() if key in keys}
        replace_file(self.path, self.HEADER + pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL))


def image_view(ref: ImageRef, processed: ProcessedImage, base_url: str) -> ImageView:
    largest = processed.fallback[-1]
    return ImageView(
        alt=ref.alt,
        src=processed.src,
        width=processed.width,
        height=processed.height,
        webp_srcset=processed.srcset("webp"),
        fallback_srcset=processed.srcset("fallback"),
        fallback_type=processed.fallback_type,
        og_url=base_url + largest.url,
    )


class Presenter:
    """Builds views for one build: knows the config, translations and processed images."""

    def __init__(
        self,
        content: ShopContent,
        config: ShopConfig,
        translations: gettext.GNUTranslations,
        images: Mapping[Path, ProcessedImage],
        markdown: Callable[[str], Markup] = render_markdown,
    ) -> None:
        self.content = content
        self.config = config
        self.t = translations
        self.images = images
        self.markdown = markdown
        self._tax_notes: dict[str, str] = {}
        self._content_dir = content.content_dir
        self._image_reprs: dict[str, str] = {}

    # -- shared --------------------------------------------------------------

    def image(self, ref: ImageRef) -> ImageView:
        processed = self.images[self._content_dir / ref.src]
        return image_view(ref, processed, self.config.base_url)

    def money(self, item_price: Any) -> str:
        return str(item_price.format(self.config.locale))

    def date(self, value: Any) -> str:
        return str(format_date(value, format="long", locale=self.config.locale))

    def site(self) -> SiteView:
        roles = {page.role: page for page in self.content.pages if page.role}
        footer = [Link(roles[r].title, page_url(roles[r])) for r in LEGAL_ORDER if r in roles]
        blog = "/blog/" if self.content.posts else None
        if blog:
            footer.append(Link(self.t.gettext("Journal"), blog))
        nav = tuple(Link(name, category_url(name)) for name in self.content.catalogue.categories())
        return SiteView(
            name=self.config.name,
            lang=self.config.language,
            locale=self.config.locale,
            base_url=self.config.base_url,
            description=self.config.description or self.config.name,
            nav=nav,
            footer=tuple(footer),
            legal_notice_url=page_url(roles["legal-notice"]),
            terms_url=page_url(roles["terms-of-sale"]),
            withdrawal_url=page_url(roles["withdrawal"]),
            privacy_url=page_url(roles["privacy"]),
            blog_url=blog,
            feed_url=FEED_PATH if blog else None,
            cart_url="/cart/",
            current_urls=(*(link.url for link in nav), "/cart/"),
        )

    # -- products ------------------------------------------------------------

    def variant(self, item: Item, image: int | None = None) -> VariantView:
        variant = item.variant
        return VariantView(
            sku=item.sku,
            label=join_units(variant.label) if variant else "",
            options=tuple((n, join_units(v)) for n, v in variant.options) if variant else (),
            price=self.money(item.price),
            compare_at=self.money(item.compare_at_price) if item.compare_at_price else None,
            available=item.available,
            stock=item.stock,
            weight=item.weight,
            image=image,
            lowest=self._lowest(item),
        )

    def _lowest(self, item: Item) -> str | None:
        """The lowest price of the 30 days before the item's reduction (EU Omnibus)."""
        prior = self.content.prior_prices.get(item.sku) if item.compare_at_price else None
        return self.money(prior) if prior is not None else None

    def tax_note(self, product: Product) -> str:
        note = self._tax_notes.get(product.tax_class)
        if note is None:  # babel's percent formatting is slow: once per tax class
            rate = self.config.tax_classes[product.tax_class].rate
            percent = format_rate(rate, self.config.locale)
            note = self.t.gettext("VAT %(rate)s included") % {"rate": percent}
            self._tax_notes[product.tax_class] = note
        return note

    def product(self, product: Product) -> ProductView:
        items = product.items
        cheapest = min(items, key=lambda i: i.price)
        compare_at = cheapest.compare_at_price
        images = tuple(self.image(ref) for ref in product.images)
        description = self.markdown(product.description)
        summary = product.summary or first_sentence(description) or product.title
        reduced = [item for item in items if item.compare_at_price is not None]
        photos = variant_images(product)
        stocks = [item.stock for item in items if item.available]
        return ProductView(
            slug=product.slug,
            url=product_url(product),
            title=join_units(product.title),
            sku=product.sku,
            summary=join_units(summary),
            description_html=Markup(join_units(description)),  # noqa: S704 - only spaces changed
            images=images,
            price=self.money(cheapest.price),
            price_is_from=product.has_price_range,
            compare_at=self.money(compare_at) if compare_at else None,
            on_sale=bool(reduced),
            sale_variants=tuple(join_units(item.variant.label) for item in reduced if item.variant)
            if len(reduced) < len(items)
            else (),
            available=product.available,
            category=Link(product.category, category_url(product.category)),
            tags=tuple(Link(tag, tag_url(tag)) for tag in product.tags),
            variants=tuple(map(self.variant, items, photos)),
            has_variants=bool(product.variants),
            option_names=product.option_names,
            tax_note=self.tax_note(product),
            max_quantity=min([99, *(stock for stock in stocks if stock is not None)])
            if stocks and None not in stocks
            else 99,
            stock_skus=tuple(item.sku for item in items)
            if all(item.stock is not None for item in items)
            else (),
            json_ld=self.json_ld(product, summary, images),
            date=product.date,
            lowest=self._lowest(cheapest),
            lead_time_days=product.lead_time_days,
        )

    def fingerprint(self, product: Product) -> str:
        """A digest of all a product's view is made from, besides the build's environment
        (code, theme, configuration): the product as read, and its processed images."""
        basis = product.digest or repr(product)
        prior = self.content.prior_prices  # from the price history, not the file
        basis += repr([prior.get(item.sku) for item in product.items])
        if product.images:  # the repr of the list of their ProcessedImage, each made once
            basis += "[" + ", ".join(self._image_repr(ref.src) for ref in product.images) + "]"
        return hashlib.sha256(basis.encode()).hexdigest()

    def _image_repr(self, src: str) -> str:
        found = self._image_reprs.get(src)
        if found is None:
            found = self._image_reprs[src] = repr(self.images[self._content_dir / src])
        return found

    def json_ld(self, product: Product, summary: str, images: Sequence[ImageView]) -> Markup:
        """schema.org Product with one Offer per purchasable item."""
        url = self.config.url(product_url(product))
        offers = [
            {
                "@type": "Offer",
                "sku": item.sku,
                "name": item.title,
                "price": item.price.to_text(),
                "priceCurrency": item.price.currency,
                "availability": "https://schema.org/"
                + ("InStock" if item.available else "OutOfStock"),
                "itemCondition": "https://schema.org/NewCondition",
                "url": url,
                "seller": {"@type": "Organization", "name": self.config.legal.company},
            }
            for item in product.items
        ]
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": product.title,
            "sku": product.sku,
            "description": summary,
            "category": product.category,
            "brand": {"@type": "Brand", "name": self.config.name},
            "url": url,
            "offers": offers[0]
            if len(offers) == 1
            else {
                "@type": "AggregateOffer",
                "lowPrice": min(i.price for i in product.items).to_text(),
                "highPrice": max(i.price for i in product.items).to_text(),
                "priceCurrency": self.config.currency,
                "offerCount": len(offers),
                "offers": offers,
            },
        }
        if images:
            data["image"] = [image.og_url for image in images]
        return script_json(data)

    def countries(self) -> list[Link]:
        """Where the shop delivers, named in the shop's language, for the cart page."""
        names = Locale.parse(self.config.locale).territories
        codes = {code for zone in self.config.shipping_zones for code in zone.countries}
        return sorted(
            (Link(str(names.get(code, code)), code) for code in codes),
            key=lambda link: link.title.casefold(),
        )

    # -- listings ------------------------------------------------------------

    def categories(self, views: Mapping[str, ProductView]) -> list[CategoryView]:
        result = []
        for name, products in self.content.catalogue.categories().items():
            first_image = next((views[p.slug].images[0] for p in products if p.images), None)
            result.append(CategoryView(name, category_url(name), len(products), first_image))
        return result

    def posts(self, limit: int | None = None) -> list[PostLink]:
        return [
            PostLink(
                post.title,
                post_url(post),
                self.date(post.date),
                post.date.isoformat(),
                post.summary or first_sentence(self.markdown(post.body)),
            )
            for post in self.content.posts[:limit]
        ]


class ProductViews(Mapping[str, ProductView]):
    """The public products' views by slug, each made the first time it is asked for:
    a rebuild that renders ten pages makes a few dozen views, not ten thousand."""

    def __init__(self, presenter: Presenter, products: Sequence[Product]) -> None:
        self.presenter = presenter
        self.products = {p.slug: p for p in products}
        self.made: dict[str, ProductView] = {}
        self.new: dict[str, ProductView] = {}

    def __getitem__(self, slug: str) -> ProductView:
        view = self.made.get(slug)
        if view is None:
            view = self.made[slug] = self.new[slug] = self.presenter.product(self.products[slug])
        return view

    def __iter__(self) -> Iterator[str]:
        return iter(self.products)

    def __len__(self) -> int:
        return len(self.products)

    def take_new(self) -> dict[str, ProductView]:
        """The views made since the last call (a worker sends them to the parent)."""
        new, self.new = self.new, {}
        return new

    def learn(self, views: Mapping[str, ProductView]) -> None:
        self.made.update(views)


def paginate(
    items: Sequence[T], per_page: int, url_for: Any
) -> list[tuple[Pagination, Sequence[T]]]:
    """Split a listing into pages; ``url_for(n)`` gives page n's URL."""
    count = max(1, -(-len(items) // per_page))
    pages = tuple(Link(str(n), url_for(n)) for n in range(1, count + 1))
    result = []
    for number in range(1, count + 1):
        pagination = Pagination(
            number=number,
            count=count,
            previous_url=url_for(number - 1) if number > 1 else None,
            next_url=url_for(number + 1) if number < count else None,
            pages=pages,
        )
        result.append((pagination, items[(number - 1) * per_page : number * per_page]))
    return result


def variant_images(product: Product) -> list[int | None]:
    """For each item, the index of its photo among the product's images: the first image
    whose alternative text names one of the variant's option values ("Brun tenmoku" in
    "La même théière, émaillée en brun tenmoku"). When some variant has its own photo, the
    others show the product's first one; when none has, no photo follows the choice."""
    found: list[int | None] = []
    for item in product.items:
        values = [value.casefold() for _, value in item.variant.options] if item.variant else []
        found.append(
            next(
                (
                    index
                    for index, image in enumerate(product.images)
                    if any(_names(image.alt.casefold(), value) for value in values)
                ),
                None,
            )
        )
    if all(index is None for index in found):
        return found
    return [0 if index is None else index for index in found]


def _names(text: str, value: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text) is not None


def script_json(data: Any) -> Markup:
    """JSON safe to embed inside a <script> element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for a script context


def first_sentence(html: Markup) -> str:
    """The first paragraph of rendered HTML as plain text, at most 160 characters."""
    match = _PARAGRAPH.search(html)
    if match is None:
        return ""
    plain = Markup(match.group(1)).striptags()  # noqa: S704 - only stripped
    return plain if len(plain) <= 160 else plain[:157].rsplit(" ", 1)[0] + "…"


_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)
