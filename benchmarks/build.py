#!/usr/bin/env python3
"""Build benchmark: comptoir against plain Pelican and Hugo on the same synthetic shop.

For each size N (default 100, 1,000 and 10,000 products) it writes one
deterministic synthetic shop three times — as a comptoir shop, as plain
Pelican articles and as a Hugo site with a minimal layout — then times each
tool as a separate process, the cold builds in rounds (one run of each tool,
then again), each from an empty output folder (the previous one moved aside,
see ``Trash``): wall time, peak resident memory (``ru_maxrss`` from
``os.wait4``) and pages written (``*.html`` files in its output). It then
times comptoir rebuilding the same output folder after nothing changed, after
one product's price was edited and after one product was added.

    python benchmarks/build.py                         # 100, 1,000 and 10,000
    python benchmarks/build.py --sizes 1000 --only comptoir,hugo --keep

Exit status 1 when a tool fails (its stderr tail is printed). A missing Hugo
(after trying ``apt-get install -y hugo``) gives "hugo not installed" rows.
See benchmarks/README.md for what is measured and the figures of a run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HUGO_LAYOUTS = Path(__file__).resolve().parent / "hugo" / "layouts"
TOOLS = ("comptoir", "pelican", "hugo")
DEFAULT_SIZES = (100, 1_000, 10_000)
SHOP_NAME = "Banc d'essai"
BASE_URL = "https://banc-essai.example"
IMAGE_POOL = 50
BLOG_POSTS = 6
TARGET_HUGO_RATIO = 1.5
TARGET_REBUILD_SECONDS = 2.0
TARGET_PEAK_MB = 1024.0

# -- the synthetic catalogue ----------------------------------------------------

TEA_CATEGORIES = (
    "Thés verts",
    "Thés noirs",
    "Thés blancs",
    "Oolongs",
    "Thés fumés",
    "Infusions",
    "Rooibos",
    "Matcha",
    "Thés parfumés",
    "Chaï",
)
OBJECT_CATEGORIES = (
    "Théières",
    "Tasses",
    "Bols",
    "Gaiwans",
    "Accessoires",
    "Boîtes à thé",
    "Coffrets",
    "Épicerie fine",
    "Livres",
    "Linge de table",
)
CATEGORIES = TEA_CATEGORIES + OBJECT_CATEGORIES
TAGS = (
    "bio",
    "fait main",
    "grès",
    "porcelaine",
    "Japon",
    "Chine",
    "Inde",
    "Taïwan",
    "Corée",
    "Népal",
    "Kenya",
    "Sri Lanka",
    "printemps",
    "été",
    "automne",
    "hiver",
    "Noël",
    "nouveauté",
    "édition limitée",
    "petit producteur",
    "commerce équitable",
    "sans théine",
    "matin",
    "après-midi",
    "soirée",
    "fumé",
    "floral",
    "fruité",
    "boisé",
    "iodé",
    "épicé",
    "vanillé",
    "agrumes",
    "menthe",
    "jasmin",
    "bergamote",
    "caramel",
    "chocolat",
    "rose",
    "émaillé",
    "céladon",
    "tenmoku",
    "raku",
    "idée cadeau",
    "coffret",
    "vrac",
    "sachets",
    "grand cru",
    "première récolte",
    "seconde récolte",
    "lyonnais",
    "artisan",
    "zéro déchet",
    "voyage",
    "à partager",
    "glacé",
    "latte",
    "cérémonie",
    "débutant",
    "collection",
)
TEA_NAMES = (
    "Sencha",
    "Gyokuro",
    "Bancha",
    "Genmaicha",
    "Hojicha",
    "Long Jing",
    "Bi Luo Chun",
    "Darjeeling",
    "Assam",
    "Ceylan",
    "Yunnan",
    "Lapsang Souchong",
    "Pai Mu Tan",
    "Tie Guan Yin",
    "Da Hong Pao",
    "Earl Grey",
    "Rooibos",
    "Verveine",
    "Tilleul",
    "Chaï",
)
OBJECT_NAMES = {
    "Théières": ("Théière", "Kyusu", "Houhin"),
    "Tasses": ("Tasse", "Yunomi", "Mug"),
    "Bols": ("Bol", "Coupelle", "Chawan"),
    "Gaiwans": ("Gaiwan", "Zhong"),
    "Accessoires": ("Filtre", "Chasen", "Cuillère", "Plateau", "Carafe"),
    "Boîtes à thé": ("Boîte", "Pot"),
    "Coffrets": ("Coffret", "Assortiment"),
    "Épicerie fine": ("Miel", "Biscuits", "Confiture"),
    "Livres": ("Carnet", "Livre"),
    "Linge de table": ("Nappe", "Serviette", "Torchon"),
}
TEA_QUALIFIERS = (
    "impérial",
    "du matin",
    "des collines",
    "de printemps",
    "d'automne",
    "fumé",
    "doux",
    "grand jardin",
    "réserve",
    "de Noël",
    "des moines",
    "du soir",
    "fleuri",
    "première récolte",
)
OBJECT_QUALIFIERS = (
    "bleu nuit",
    "céladon",
    "brun",
    "sable",
    "émaillé",
    "raku",
    "vert d'eau",
    "ivoire",
    "noir mat",
    "tenmoku",
    "à pois",
    "rayé",
    "en grès",
    "en porcelaine",
)
PLACES = (
    "de Shizuoka",
    "d'Uji",
    "du Fujian",
    "du Zhejiang",
    "de Darjeeling",
    "du Népal",
    "de Taïwan",
    "du Kenya",
    "de Lyon",
    "de Bourgogne",
    "de la Drôme",
    "d'Ardèche",
    "de Kyoto",
    "de Corée",
    "du Yunnan",
    "de Ceylan",
)
SENTENCES = (
    "Cueilli à la main au début de la saison, il offre une tasse ronde et généreuse.",
    "Les feuilles roulées s'ouvrent lentement et libèrent un parfum de fleurs blanches.",
    "Nous le choisissons chaque année chez le même producteur, après une longue dégustation.",
    "Sa liqueur dorée rappelle le miel de châtaignier et le pain grillé.",
    "En bouche, la rondeur domine, suivie d'une fin légèrement iodée qui reste longtemps.",
    "Tourné à la main dans un atelier de la région, chaque pièce est légèrement différente.",
    "L'émail, cuit à haute température, prend des reflets changeants selon la lumière.",
    "Il supporte le lave-vaisselle, mais un simple rinçage à l'eau chaude suffit souvent.",
    "Idéal pour une pause au calme, il accompagne aussi très bien un dessert au chocolat.",
    "La terre de grès garde la chaleur et rend l'infusion plus douce.",
    "Une note végétale franche ouvre la dégustation, puis viennent des touches de noisette.",
    "Les amateurs retrouveront le caractère des grands thés de montagne.",
    "Nos emballages sont compostables et nous expédions depuis notre boutique de Lyon.",
    "Il se prête à plusieurs infusions successives, chacune révélant une facette nouvelle.",
    "Le couvercle s'ajuste parfaitement et le bec verse sans goutter.",
    "Sa contenance convient à deux ou trois tasses, pour partager un moment.",
    "Une infusion courte garde la fraîcheur, une infusion longue révèle les notes boisées.",
    "Nous conseillons une eau faiblement minéralisée, chauffée sans bouillir.",
    "La récolte de cette année est particulièrement réussie, avec une belle douceur.",
    "Chaque lot est goûté à la boutique avant d'être mis en vente.",
    "Les feuilles entières témoignent d'un travail soigné, du jardin jusqu'au séchage.",
    "Il se conserve un an à l'abri de la lumière, de l'humidité et des odeurs.",
    "Sa forme simple s'inspire des pièces traditionnelles utilisées au quotidien.",
    "La glaçure, posée au trempé, laisse apparaître la terre brute au pied de la pièce.",
    "On y découvre des arômes de fruits secs, de cacao et une légère fumée.",
    "C'est un cadeau apprécié des curieux comme des connaisseurs.",
    "Préparé glacé, il devient une boisson désaltérante pour les après-midi d'été.",
    "Le producteur cultive ses théiers sans pesticides depuis plus de vingt ans.",
    "Nous l'avons sélectionné pour sa régularité et son excellent rapport qualité-prix.",
    "La pièce est signée au revers par le potier qui l'a tournée.",
)
HEADINGS = (
    "Dégustation",
    "Conseils d'infusion",
    "Entretien",
    "Origine",
    "Caractéristiques",
    "Le mot du potier",
    "Pour l'offrir",
)
LIST_ITEMS = (
    "eau à 80 °C, jamais bouillante",
    "3 g pour 20 cl",
    "infusion de 2 à 3 minutes",
    "contenance de 35 cl",
    "hauteur 9 cm, diamètre 11 cm",
    "grès émaillé, cuisson à 1 280 °C",
    "lavage à la main conseillé",
    "sachet refermable de 100 g",
    "récolte de printemps",
    "jusqu'à trois infusions",
    "convient au micro-ondes",
    "pièce unique, signée",
    "emballage sans plastique",
    "origine : jardin familial",
    "livré avec son filtre inox",
)
VARIANT_SETS = (  # two for teas, then two for objects
    ("poids", ("50 g", "100 g", "250 g", "500 g")),
    ("format", ("Vrac", "Sachets", "Boîte métal", "Recharge")),
    ("couleur", ("Bleu", "Céladon", "Sable", "Noir")),
    ("taille", ("S", "M", "L", "XL")),
)


@dataclass(frozen=True)
class Variant:
    sku: str
    options: tuple[tuple[str, str], ...]
    price: Decimal | None  # None: the product's price
    stock: int | None  # None: not tracked


@dataclass(frozen=True)
class Product:
    index: int
    slug: str
    title: str
    sku: str
    price: Decimal
    compare_at: Decimal | None
    category: str
    tags: tuple[str, ...]
    images: tuple[str, ...]  # paths relative to content/
    weight: int
    stock: int | None
    tax_class: str
    featured: bool
    date: dt.date
    summary: str | None
    variants: tuple[Variant, ...]
    description: str  # Markdown


@dataclass(frozen=True)
class TextPage:
    slug: str
    title: str
    role: str | None
    body: str


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    date: dt.date
    tags: tuple[str, ...]
    image: str | None
    body: str


@dataclass(frozen=True)
class Shop:
    products: tuple[Product, ...]
    pages: tuple[TextPage, ...]
    articles: tuple[Article, ...]

    @property
    def images(self) -> set[str]:
        used = {src for p in self.products for src in p.images}
        return used | {a.image for a in self.articles if a.image}


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _emphasise(sentence: str, rng: random.Random) -> str:
    words = sentence.split(" ")
    candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 4]
    if not candidates or rng.random() < 0.5:
        return sentence
    i = rng.choice(candidates)
    mark = rng.choice(("**", "*", "_"))
    words[i] = f"{mark}{words[i]}{mark}"
    return " ".join(words)


def _paragraph(rng: random.Random, count: int) -> str:
    return " ".join(_emphasise(s, rng) for s in rng.sample(SENTENCES, count))


def description(rng: random.Random, title: str) -> str:
    """About 150 words of varied Markdown: paragraphs, a heading, a list or table, a quote."""
    blocks = [_paragraph(rng, 4), f"### {rng.choice(HEADINGS)}"]
    shape = rng.random()
    items = rng.sample(LIST_ITEMS, 4)
    if shape < 0.45:
        blocks.append("\n".join(f"- {item}" for item in items))
    elif shape < 0.75:
        blocks.append("\n".join(f"{n}. {item}" for n, item in enumerate(items, 1)))
    else:
        temperature, grams, minutes = rng.choice(((70, 2, 1), (80, 3, 2), (95, 4, 4)))
        blocks.append(
            "| Eau | Dose | Temps |\n|---|---|---|\n"
            f"| {temperature} °C | {grams} g / 20 cl | {minutes} min |\n"
            f"| {temperature + 5} °C | {grams + 1} g / 30 cl | {minutes + 1} min |"
        )
    blocks.append(_paragraph(rng, 4))
    if rng.random() < 0.3:
        blocks.append(f"> « {rng.choice(SENTENCES)} »\n> — l'équipe de {SHOP_NAME}")
    else:
        blocks.append(
            f"{title} fait partie de notre sélection : lisez aussi "
            f"[qui nous sommes](/a-propos/) avant de commander."
        )
    return "\n\n".join(blocks)


def price_of(rng: random.Random, tea: bool) -> Decimal:
    low, high = (4, 45) if tea else (8, 180)
    return Decimal(rng.randint(low * 10, high * 10)) / 10 + Decimal("0.00")


def make_product(index: int, seed: int) -> Product:
    """Product number ``index``; each product has its own random stream, so sizes are prefixes."""
    rng = random.Random(f"{seed}:product:{index}")
    category = rng.choice(CATEGORIES)
    tea = category in TEA_CATEGORIES
    name = rng.choice(TEA_NAMES if tea else OBJECT_NAMES[category])
    qualifier = rng.choice(TEA_QUALIFIERS if tea else OBJECT_QUALIFIERS)
    title = f"{name} {qualifier} {rng.choice(PLACES)}"
    sku = f"BENCH-{index:05d}"
    price = price_of(rng, tea)
    compare_at = price + Decimal(rng.randint(2, 15)) if rng.random() < 0.15 else None
    variants: tuple[Variant, ...] = ()
    if index % 3 == 0:  # a third of the products
        option, values = rng.choice(VARIANT_SETS[:2] if tea else VARIANT_SETS[2:])
        chosen = values[: rng.randint(2, 4)]
        variants = tuple(
            Variant(
                sku=f"{sku}-{n}",
                options=((option, value),),
                price=None if n == 1 else price + Decimal(n * 3),
                stock=rng.choice((None, None, 0, rng.randint(1, 40))),
            )
            for n, value in enumerate(chosen, 1)
        )
    images: tuple[str, ...] = ()
    if index % 10 == 5:  # a tenth of the products
        picks = rng.sample(range(IMAGE_POOL), rng.randint(1, 3))
        images = tuple(f"images/pool-{n:02d}.jpg" for n in picks)
    return Product(
        index=index,
        slug=f"{slugify(title)}-{index}",
        title=title,
        sku=sku,
        price=price,
        compare_at=compare_at,
        category=category,
        tags=tuple(rng.sample(TAGS, rng.randint(1, 4))),
        images=images,
        weight=rng.randint(50, 2000),
        stock=None if variants else rng.choice((None, None, 0, rng.randint(1, 60))),
        tax_class="reduced" if tea else "standard",
        featured=index % 33 == 1,
        date=dt.date(2025, 1, 1) + dt.timedelta(days=(index * 37) % 640),
        summary=rng.choice(SENTENCES) if rng.random() < 0.3 else None,
        variants=variants,
        description=description(rng, title),
    )


def make_shop(size: int, seed: int) -> Shop:
    rng = random.Random(f"{seed}:pages")
    legal = (
        ("mentions-legales", "Mentions légales", "legal-notice"),
        ("cgv", "Conditions générales de vente", "terms-of-sale"),
        ("retractation", "Droit de rétractation", "withdrawal"),
        ("confidentialite", "Politique de confidentialité", "privacy"),
        ("a-propos", "À propos", "about"),
    )
    pages = tuple(
        TextPage(
            slug, title, role, "\n\n".join([f"## {title}"] + [_paragraph(rng, 5) for _ in range(6)])
        )
        for slug, title, role in legal
    )
    articles = tuple(
        Article(
            slug=f"journal-{n}",
            title=f"Carnet de dégustation n° {n}",
            date=dt.date(2026, 1, 1) + dt.timedelta(days=40 * n),
            tags=tuple(rng.sample(TAGS, 2)),
            image=f"images/pool-{n:02d}.jpg" if n % 2 else None,
            body="\n\n".join(_paragraph(rng, 5) for _ in range(4)),
        )
        for n in range(1, BLOG_POSTS + 1)
    )
    return Shop(tuple(make_product(i, seed) for i in range(1, size + 1)), pages, articles)


def make_image_pool(folder: Path, seed: int) -> None:
    """IMAGE_POOL small, distinct JPEGs (gradient, a bowl or a cup), drawn once per run."""
    from PIL import Image, ImageDraw, ImageOps

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}:images")
    for n in range(IMAGE_POOL):
        path = folder / f"pool-{n:02d}.jpg"
        if path.exists():
            continue
        width, height = rng.choice(((800, 600), (600, 800), (800, 800)))
        dark = tuple(rng.randint(20, 110) for _ in range(3))
        light = tuple(rng.randint(150, 250) for _ in range(3))
        gradient = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270)))
        image = ImageOps.colorize(gradient.resize((width, height)), dark, light)
        draw = ImageDraw.Draw(image)
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        cx, cy, r = width // 2, height // 2 + 40, min(width, height) // 3
        if n % 2:  # a bowl
            draw.chord((cx - r, cy - r, cx + r, cy + r), 0, 180, fill=colour)
            draw.ellipse((cx - r, cy - r // 5, cx + r, cy + r // 5), fill=dark)
        else:  # a cup with its handle
            body = (cx - r // 2, cy - r // 2, cx + r // 2, cy + r)
            draw.rounded_rectangle(body, 30, fill=colour)
            handle = (cx + r // 3, cy - r // 4, cx + r, cy + r // 2)
            draw.arc(handle, 270, 90, fill=colour, width=18)
        image.save(path, "JPEG", quality=82)


# -- writing the three sites ------------------------------------------------------


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def yaml_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(q(v) for v in values) + "]"


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def shop_yaml() -> str:
    return f"""\
name: {q(SHOP_NAME)}
base_url: {BASE_URL}
language: fr
currency: EUR
timezone: Europe/Paris
description: "Une boutique synthétique pour mesurer la construction du site."
products_per_page: 24

legal:
  company: "Banc d'essai SAS"
  legal_form: SAS au capital de 10 000 €
  address: 1 rue de la Mesure, 69002 Lyon, France
  registration: RCS Lyon 900 000 001
  vat_number: FR00900000001
  director: Alex Martin
  email: bonjour@banc-essai.example
  host: Netlify, Inc., 512 2nd Street, San Francisco, CA 94107, USA

tax:
  default_class: standard
  classes:
    standard: "20"
    reduced: "5.5"

shipping:
  zones:
    - id: fr
      name: France métropolitaine
      countries: [FR, MC]
      methods:
        - id: colissimo
          name: Colissimo suivi
          by: weight
          bands:
            - {{up_to: 500, price: "6.50"}}
            - {{up_to: 2000, price: "9.90"}}
            - {{up_to: 10000, price: "21.00"}}
          free_over: "60"
        - id: retrait
          name: Retrait en boutique
          pickup: true
          price: "0"
    - id: eu
      name: Union européenne
      countries: [BE, DE, ES, IT, LU, NL, PT, AT, IE]
      methods:
        - id: international
          name: Colissimo international
          by: total
          bands:
            - {{up_to: "100", price: "14.50"}}
            - {{up_to: "100000", price: "24.00"}}

email:
  from: "Banc d'essai <commandes@banc-essai.example>"
  orders_to: commandes@banc-essai.example
"""


def comptoir_product(product: Product) -> str:
    lines = [
        "---",
        f"title: {q(product.title)}",
        f"sku: {product.sku}",
        f"price: {money(product.price)}",
    ]
    if product.compare_at is not None:
        lines.append(f"compare_at_price: {money(product.compare_at)}")
    lines += [f"category: {q(product.category)}", f"tags: {yaml_list(product.tags)}"]
    if product.images:
        lines.append("images:")
        lines += [f"  - {src}" for src in product.images]
    lines.append(f"weight: {product.weight}")
    if product.stock is not None:
        lines.append(f"stock: {product.stock}")
    lines.append(f"tax_class: {product.tax_class}")
    if product.featured:
        lines.append("featured: true")
    lines.append(f"date: {product.date.isoformat()}")
    if product.summary:
        lines.append(f"summary: {q(product.summary)}")
    if product.variants:
        lines.append("variants:")
        for variant in product.variants:
            options = ", ".join(f"{k}: {q(v)}" for k, v in variant.options)
            lines += [f"  - sku: {variant.sku}", f"    options: {{{options}}}"]
            if variant.price is not None:
                lines.append(f"    price: {money(variant.price)}")
            if variant.stock is not None:
                lines.append(f"    stock: {variant.stock}")
    lines += ["---", product.description, ""]
    return "\n".join(lines)


def write_comptoir(shop: Shop, root: Path, pool: Path) -> None:
    content = root / "content"
    for folder in ("products", "pages", "blog", "images"):
        (content / folder).mkdir(parents=True, exist_ok=True)
    (content / "shop.yaml").write_text(shop_yaml(), encoding="utf-8")
    for page in shop.pages:
        role = f"role: {page.role}\n" if page.role else ""
        (content / "pages" / f"{page.slug}.md").write_text(
            f"---\ntitle: {q(page.title)}\n{role}---\n{page.body}\n", encoding="utf-8"
        )
    for article in shop.articles:
        image = f"image: {article.image}\n" if article.image else ""
        (content / "blog" / f"{article.slug}.md").write_text(
            f"---\ntitle: {q(article.title)}\ndate: {article.date.isoformat()}\n"
            f"tags: {yaml_list(article.tags)}\n{image}author: Alex\n---\n{article.body}\n",
            encoding="utf-8",
        )
    for product in shop.products:
        write_comptoir_product(root, product)
    copy_images(shop.images, pool, content)


def write_comptoir_product(root: Path, product: Product) -> Path:
    path = root / "content" / "products" / f"{product.slug}.md"
    path.write_text(comptoir_product(product), encoding="utf-8")
    return path


def copy_images(used: Iterable[str], pool: Path, target: Path) -> None:
    for src in sorted(used):
        destination = target / src
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pool / Path(src).name, destination)


def product_facts_markdown(product: Product) -> str:
    """What comptoir's product page shows beyond the description, as plain Markdown."""
    price = f"**Prix : {money(product.price)} €**"
    if product.compare_at is not None:
        price += f" (au lieu de ~~{money(product.compare_at)} €~~)"
    lines = [f"{price} · réf. {product.sku} · {product.weight} g"]
    if product.variants:
        lines += ["", "| Référence | Options | Prix | Stock |", "|---|---|---|---|"]
        for v in product.variants:
            options = ", ".join(f"{k} : {val}" for k, val in v.options)
            stock = "—" if v.stock is None else str(v.stock)
            lines.append(f"| {v.sku} | {options} | {money(v.price or product.price)} € | {stock} |")
    return "\n".join(lines)


def write_pelican(shop: Shop, site: Path, pool: Path) -> None:
    """Products and articles as Pelican articles, legal pages as pages, default settings."""
    content = site / "content"
    (content / "pages").mkdir(parents=True, exist_ok=True)
    (site / "pelicanconf.py").write_text(
        f'AUTHOR = "Alex"\nSITENAME = {SHOP_NAME!r}\nSITEURL = {BASE_URL!r}\n'
        'PATH = "content"\nTIMEZONE = "Europe/Paris"\nDEFAULT_LANG = "fr"\n',
        encoding="utf-8",
    )
    for page in shop.pages:
        (content / "pages" / f"{page.slug}.md").write_text(
            f"Title: {page.title}\nSlug: {page.slug}\n\n{page.body}\n", encoding="utf-8"
        )
    for article in shop.articles:
        image = f"![{article.title}]({{static}}/{article.image})\n\n" if article.image else ""
        (content / f"{article.slug}.md").write_text(
            f"Title: {article.title}\nDate: {article.date.isoformat()}\nCategory: Journal\n"
            f"Tags: {', '.join(article.tags)}\nSlug: {article.slug}\nAuthor: Alex\n\n"
            f"{image}{article.body}\n",
            encoding="utf-8",
        )
    for product in shop.products:
        write_pelican_product(site, product)
    copy_images(shop.images, pool, content)


def write_pelican_product(site: Path, product: Product) -> None:
    images = "".join(f"![{product.title}]({{static}}/{src})\n" for src in product.images)
    summary = f"Summary: {product.summary}\n" if product.summary else ""
    (site / "content" / f"{product.slug}.md").write_text(
        f"Title: {product.title}\nDate: {product.date.isoformat()}\n"
        f"Category: {product.category}\nTags: {', '.join(product.tags)}\n"
        f"Slug: {product.slug}\n{summary}\n{images}\n{product_facts_markdown(product)}\n\n"
        f"{product.description}\n",
        encoding="utf-8",
    )


def write_hugo(shop: Shop, site: Path, pool: Path) -> None:
    """A Hugo site: products, pages and blog under content/, our minimal layouts."""
    content = site / "content"
    for folder in ("products", "pages", "blog"):
        (content / folder).mkdir(parents=True, exist_ok=True)
    (site / "config.yaml").write_text(
        f"baseURL: {BASE_URL}/\nlanguageCode: fr\ndefaultContentLanguage: fr\n"
        f"title: {q(SHOP_NAME)}\npaginate: 24\ndisableKinds: [RSS]\n"
        "taxonomies: {category: categories, tag: tags}\n"
        'params: {description: "Une boutique synthétique."}\n',
        encoding="utf-8",
    )
    shutil.copytree(HUGO_LAYOUTS, site / "layouts", dirs_exist_ok=True)
    for page in shop.pages:
        (content / "pages" / f"{page.slug}.md").write_text(
            f"---\ntitle: {q(page.title)}\nurl: /{page.slug}/\n---\n{page.body}\n", encoding="utf-8"
        )
    for article in shop.articles:
        image = f"images: [/{article.image}]\n" if article.image else ""
        (content / "blog" / f"{article.slug}.md").write_text(
            f"---\ntitle: {q(article.title)}\ndate: {article.date.isoformat()}\n"
            f"tags: {yaml_list(article.tags)}\n{image}---\n{article.body}\n",
            encoding="utf-8",
        )
    for product in shop.products:
        write_hugo_product(site, product)
    copy_images(shop.images, pool, site / "static")


def write_hugo_product(site: Path, product: Product) -> None:
    lines = [
        "---",
        f"title: {q(product.title)}",
        f"date: {product.date.isoformat()}",
        f"categories: [{q(product.category)}]",
        f"tags: {yaml_list(product.tags)}",
        f"sku: {product.sku}",
        f'price: "{money(product.price)}"',
        f"weight_grams: {product.weight}",
    ]
    if product.compare_at is not None:
        lines.append(f'compare_at_price: "{money(product.compare_at)}"')
    if product.stock is not None:
        lines.append(f"stock: {product.stock}")
    if product.images:
        lines.append(f"images: {yaml_list('/' + src for src in product.images)}")
    if product.featured:
        lines.append("featured: true")
    if product.summary:
        lines.append(f"summary: {q(product.summary)}")
    if product.variants:
        lines.append("variants:")
        for v in product.variants:
            options = ", ".join(f"{k}: {q(val)}" for k, val in v.options)
            lines += [f"  - sku: {v.sku}", f"    options: {{{options}}}"]
            if v.price is not None:
                lines.append(f'    price: "{money(v.price)}"')
            if v.stock is not None:
                lines.append(f"    stock: {v.stock}")
    lines += ["---", product.description, ""]
    (site / "content" / "products" / f"{product.slug}.md").write_text(
        "\n".join(lines), encoding="utf-8"
    )


# -- measuring ----------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    label: str
    seconds: float | None = None
    peak_mb: float | None = None  # ru_maxrss: the largest single process of the run
    tree_mb: float | None = None  # sampled peak of the summed PSS of the process tree
    pages: int | None = None
    changed: int | None = None
    note: str = ""
    cpu: float | None = None  # CPU seconds (user + system) of the run's process tree

    @property
    def ok(self) -> bool:
        return self.seconds is not None


class ToolFailed(Exception):
    def __init__(self, label: str, command: Sequence[str], code: int, stderr: str) -> None:
        super().__init__(f"{label} failed (exit {code})")
        self.label, self.command, self.code, self.stderr = label, command, code, stderr


class Trash:
    """Where old outputs go between runs: moved aside, deleted only when the benchmark ends.

    On ext4 without a journal (this machine's disk), each new inode makes the kernel
    look at every inode freed in the last minute (five while not yet written back):
    ``recently_deleted`` in fs/ext4/ialloc.c. Deleting the previous run's 20,000 files
    just before a run made that run pay for it: ``perf`` put a quarter of a cold build's
    CPU time in that scan, kernel time rose from 3 to 8-13 s, and which tool paid most
    depended on the order of the runs. A rename frees no inode, so every run starts alike.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def discard(self, path: Path) -> None:
        """Move ``path`` (a file or folder) out of the way, if it exists."""
        if path.exists() or path.is_symlink():
            self.folder.mkdir(parents=True, exist_ok=True)
            path.rename(Path(tempfile.mkdtemp(dir=self.folder)) / path.name)

    def empty(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


Snapshot = dict[str, tuple[int, int]]
BeforeRun = Callable[[int], None]  # called with the attempt number before each run


def snapshot(folder: Path) -> Snapshot:
    if not folder.is_dir():
        return {}
    result: Snapshot = {}
    for path in folder.rglob("*"):
        if path.is_file():
            info = path.stat()
            result[str(path)] = (info.st_mtime_ns, info.st_size)
    return result


class TreeMemory(threading.Thread):
    """Samples the summed PSS of a process and its descendants (image workers, say).

    ``ru_maxrss`` only gives the largest single process; a build that forks
    workers uses more than that at once. PSS shares pages between processes
    fairly, so the sum does not count forked memory twice. Sampling every
    ``interval`` seconds misses shorter peaks.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in _tree(self.pid)))

    def stop(self) -> float | None:
        self.done.set()
        self.join()
        return self.peak_kb / 1024 if self.peak_kb else None


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending += children.get(pid, [])
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def count_pages(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.html")) if folder.is_dir() else 0


def run_measured(
    label: str,
    command: Sequence[str],
    cwd: Path,
    output: Path,
    logs: Path,
    repeat: int = 1,
    before_each: BeforeRun | None = None,
    env: dict[str, str] | None = None,
) -> Measure:
    """Run ``command`` ``repeat`` times; keep the fastest wall time and the largest peak RSS."""
    kept: Measure | None = None
    for attempt in range(repeat):
        if before_each is not None:
            before_each(attempt)
        kept = fastest(kept, run_once(label, command, cwd, output, logs, env))
    assert kept is not None, "repeat must be at least 1"
    return kept


def run_once(
    label: str,
    command: Sequence[str],
    cwd: Path,
    output: Path,
    logs: Path,
    env: dict[str, str] | None,
) -> Measure:
    """Run ``command`` once: its wall time, memory, and what it changed in ``output``."""
    before = snapshot(output)
    stem = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    out_path, err_path = logs / f"{stem}.out", logs / f"{stem}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=cwd, stdout=out, stderr=err, env=env)
        sampler = TreeMemory(process.pid)
        sampler.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            elapsed = time.perf_counter() - started
            sampled = sampler.stop()
    process.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        stderr = err_path.read_text(errors="replace") + out_path.read_text(errors="replace")
        raise ToolFailed(label, command, code, stderr)
    after = snapshot(output)
    changed = sum(1 for path, stamp in after.items() if before.get(path) != stamp)
    changed += sum(1 for path in before if path not in after)
    peak_mb = usage.ru_maxrss / 1024  # ru_maxrss is in kilobytes on Linux
    cpu = usage.ru_utime + usage.ru_stime  # children it waited for included
    return Measure(label, elapsed, peak_mb, sampled, count_pages(output), changed, cpu=cpu)


def find_hugo(try_install: bool) -> str | None:
    found = shutil.which("hugo")
    if found or not try_install or not shutil.which("apt-get"):
        return found
    print("hugo not found: trying apt-get install -y hugo …", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(["apt-get", "install", "-y", "hugo"], check=False, **quiet)  # type: ignore[call-overload]
    if not shutil.which("hugo"):
        subprocess.run(["apt-get", "update"], check=False, **quiet)  # type: ignore[call-overload]
        subprocess.run(["apt-get", "install", "-y", "hugo"], check=False, **quiet)  # type: ignore[call-overload]
    return shutil.which("hugo")


def version_of(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(
            list(command), capture_output=True, text=True, check=False, cwd=REPO, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0]
        if (done.stdout or done.stderr)
        else "?"
    )


def comptoir_env(source: Path) -> dict[str, str]:
    """Import comptoir from ``source`` first, even when another checkout is pip-installed."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(source) + (os.pathsep + path if path else "")}


def export_commit(repo: Path, commit: str, target: Path, trash: Trash) -> Path:
    """A clean copy of ``commit`` (git archive), so edits in the work tree cannot leak in."""
    trash.discard(target)
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit], capture_output=True, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout), mode="r:") as tar:
        tar.extractall(target, filter="data")
    return target


def cli_module(source: Path) -> str:
    """The CLI's module in a checkout: ``comptoir.cli``, or ``generator.cli`` before it moved."""
    return "comptoir.cli" if (source / "comptoir" / "cli.py").is_file() else "generator.cli"


def comptoir_command(source: Path, shop: Path, output: Path) -> list[str]:
    """Run from the checkout being measured (``--source``), so ``generator`` is imported from it."""
    return [
        sys.executable,
        "-m",
        cli_module(source),
        "build",
        "--shop",
        str(shop),
        "--output",
        str(output),
    ]


# -- one size -------------------------------------------------------------------------


@dataclass
class SizeResult:
    size: int
    facts: str
    rows: list[Measure]
    round_ratios: list[float] = field(default_factory=list)  # comptoir/Hugo, cold, per round

    def get(self, label_start: str) -> Measure | None:
        return next((m for m in self.rows if m.label.startswith(label_start)), None)


def describe(shop: Shop) -> str:
    products = shop.products
    variants = [p for p in products if p.variants]
    skus = sum(len(p.variants) or 1 for p in products)
    with_images = sum(1 for p in products if p.images)
    words = sum(len(p.description.split()) for p in products) / max(1, len(products))
    return (
        f"{len(products):,} products ({len(variants):,} with variants, {skus:,} SKUs; "
        f"{with_images:,} with images from {len(shop.images)} distinct files), "
        f"{len({p.category for p in products})} categories, "
        f"{len({t for p in products for t in p.tags})} tags, descriptions of "
        f"{words:.0f} words on average; {len(shop.pages)} pages, {len(shop.articles)} articles"
    )


def bench_size(
    size: int,
    args: argparse.Namespace,
    workdir: Path,
    pool: Path,
    hugo: str | None,
    failures: list[ToolFailed],
    trash: Trash,
) -> SizeResult:
    base = workdir / f"n{size}"
    trash.discard(base)
    logs = base / "logs"
    logs.mkdir(parents=True)
    shop = make_shop(size, args.seed)
    print(f"\n[{size:,}] writing the synthetic shop: {describe(shop)}", flush=True)
    result = SizeResult(size, describe(shop), [])
    only: set[str] = args.only

    def attempt(label: str, measure: Callable[[], Measure]) -> Measure | None:
        print(f"[{size:,}] {label} …", end=" ", flush=True)
        try:
            row = measure()
        except ToolFailed as failure:
            print("FAILED", flush=True)
            failures.append(failure)
            result.rows.append(Measure(label, note=f"failed (exit {failure.code})"))
            return None
        print(f"{row.seconds:.2f} s, {row.peak_mb:.0f} MB, {row.pages:,} pages", flush=True)
        result.rows.append(row)
        return row

    colds: list[ColdRun] = []
    if "pelican" in only:
        site = base / "pelican"
        write_pelican(shop, site, pool)
        out = site / "out"
        command = [sys.executable, "-m", "pelican", "content", "-s", "pelicanconf.py"]
        colds.append(
            ColdRun("pelican (default settings)", [*command, "-o", "out", "-q"], site, out, [out])
        )

    if "hugo" in only:
        site = base / "hugo"
        write_hugo(shop, site, pool)
        out = site / "out"
        if hugo is None:
            result.rows.append(Measure("hugo (minimal layout)", note="hugo not installed"))
            print(f"[{size:,}] hugo not installed", flush=True)
        else:
            command = [hugo, "--quiet", "-d", "out"]
            colds.append(
                ColdRun("hugo (minimal layout)", command, site, out, [out, site / "resources"])
            )

    root = base / "comptoir"
    out = root / "output"
    env = comptoir_env(args.source)
    if "comptoir" in only:
        write_comptoir(shop, root, pool)
        command = comptoir_command(args.source, root, out)
        aside = [out, root / ".cache"]
        colds.append(ColdRun("comptoir build (cold)", command, args.source, out, aside, env))

    for row in measure_cold(colds, args.repeat, logs, trash, size, failures, result):
        result.rows.append(row)

    def comptoir(label: str, before: BeforeRun | None = None) -> Measure | None:
        return attempt(
            label,
            lambda: run_measured(
                label,
                comptoir_command(args.source, root, out),
                args.source,
                out,
                logs,
                args.repeat,
                before,
                env,
            ),
        )

    built = result.get("comptoir build (cold)")
    if built is not None and built.ok:
        bench_rebuilds(size, shop, root, args.seed, comptoir)
    return result


@dataclass(frozen=True)
class ColdRun:
    """A tool's cold build: its command, and what to move aside before each run."""

    label: str
    command: list[str]
    cwd: Path
    output: Path
    aside: list[Path]
    env: dict[str, str] | None = None


def measure_cold(
    colds: list[ColdRun],
    repeat: int,
    logs: Path,
    trash: Trash,
    size: int,
    failures: list[ToolFailed],
    result: SizeResult,
) -> list[Measure]:
    """The tools' cold builds in rounds (Pelican, Hugo, comptoir, then again), not each
    tool's runs in a row: this machine's speed drifts within minutes, and a tool timed
    only while it was slow would be judged on that. Keeps the fastest run of each and
    notes each round's comptoir/Hugo ratio."""
    best: dict[str, Measure] = {}
    failed: set[str] = set()
    for number in range(repeat):
        times: dict[str, float] = {}
        for run in colds:
            if run.label in failed:
                continue
            for path in run.aside:
                trash.discard(path)
            try:
                row = run_once(run.label, run.command, run.cwd, run.output, logs, run.env)
            except ToolFailed as failure:
                failed.add(run.label)
                failures.append(failure)
                best[run.label] = Measure(run.label, note=f"failed (exit {failure.code})")
                continue
            assert row.seconds is not None
            times[run.label] = row.seconds
            best[run.label] = fastest(best.get(run.label), row)
        shown = " · ".join(
            f"{label.split()[0]} {seconds:.2f} s" for label, seconds in times.items()
        )
        hugo, ours = times.get("hugo (minimal layout)"), times.get("comptoir build (cold)")
        if hugo and ours:
            result.round_ratios.append(ours / hugo)
            shown += f" (comptoir/Hugo {ours / hugo:.2f}×)"
        print(f"[{size:,}] cold builds, round {number + 1} of {repeat}: {shown}", flush=True)
    return [best[run.label] for run in colds]


def fastest(kept: Measure | None, row: Measure) -> Measure:
    """The fastest wall time of the runs so far, with the largest memory any of them
    used, and the pages and changed files of the latest (``row``)."""
    if kept is None or not kept.ok:
        return row
    assert kept.seconds is not None and row.seconds is not None
    return replace(
        row,
        seconds=min(kept.seconds, row.seconds),
        peak_mb=max(kept.peak_mb or 0, row.peak_mb or 0),
        tree_mb=max(kept.tree_mb or 0, row.tree_mb or 0) or None,
    )


def bench_rebuilds(
    size: int,
    shop: Shop,
    root: Path,
    seed: int,
    comptoir: Callable[[str, BeforeRun | None], Measure | None],
) -> None:
    """Rebuilds on the cold build's output: nothing changed, one price edited, one product added."""
    comptoir("comptoir rebuild, nothing changed", None)

    # A product in the middle of the catalogue whose new price stays below its former price.
    middle = shop.products[len(shop.products) // 2 :] + shop.products
    target = next(p for p in middle if p.compare_at is None)

    def edit_price(n: int) -> None:
        edited = replace(target, price=target.price + Decimal("0.10") * (n + 1))
        write_comptoir_product(root, edited)

    comptoir("comptoir rebuild, one price edited", edit_price)

    def add_product(n: int) -> None:
        write_comptoir_product(root, make_product(size + 1 + n, seed))

    comptoir("comptoir rebuild, one product added", add_product)


# -- reporting -------------------------------------------------------------------------


def fmt(value: float | int | None, pattern: str) -> str:
    return "—" if value is None else format(value, pattern)


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def size_table(result: SizeResult) -> str:
    lines = [
        f"### N = {result.size:,}",
        "",
        result.facts,
        "",
        "| run | wall (s) | peak RSS (MB) | tree PSS (MB) | pages (.html) | files changed "
        "| pages/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in result.rows:
        speed = m.pages / m.seconds if m.pages is not None and m.seconds else None
        if m.note and not m.ok:
            lines.append(f"| {m.label} | {m.note} | | | | | |")
            continue
        lines.append(
            f"| {m.label} | {fmt(m.seconds, '.2f')} | {fmt(m.peak_mb, ',.0f')} | "
            f"{fmt(m.tree_mb, ',.0f')} | {fmt(m.pages, ',')} | {fmt(m.changed, ',')} | "
            f"{fmt(speed, ',.0f')} |"
        )
    comptoir = result.get("comptoir build (cold)")
    lines.append("")
    for name in ("pelican", "hugo"):
        other = result.get(name)
        if comptoir and other and comptoir.ok and other.ok:
            lines.append(
                f"- comptoir / {name.capitalize()}: "
                f"{ratio(comptoir.seconds, other.seconds)} wall time, "
                f"{ratio(comptoir.peak_mb, other.peak_mb)} peak memory"
            )
    if result.round_ratios:
        each = ", ".join(f"{r:.2f}×" for r in result.round_ratios)
        lines.append(f"- comptoir / Hugo, cold, round by round: {each}")
    return "\n".join(lines)


def summary_table(results: Sequence[SizeResult]) -> str:
    lines = [
        "| N | comptoir (s) | Pelican (s) | Hugo (s) | comptoir/Pelican | comptoir/Hugo | "
        "comptoir MB | Pelican MB | Hugo MB | rebuild, price (s) | rebuild, +1 (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c, p, h = r.get("comptoir build"), r.get("pelican"), r.get("hugo")
        edit, add = r.get("comptoir rebuild, one price"), r.get("comptoir rebuild, one product")

        def s(m: Measure | None) -> str:
            return fmt(m.seconds if m else None, ".2f")

        def mb(m: Measure | None) -> str:
            return fmt(m.peak_mb if m else None, ",.0f")

        lines.append(
            f"| {r.size:,} | {s(c)} | {s(p)} | {s(h)} | "
            f"{ratio(c.seconds if c else None, p.seconds if p else None)} | "
            f"{ratio(c.seconds if c else None, h.seconds if h else None)} | "
            f"{mb(c)} | {mb(p)} | {mb(h)} | {s(edit)} | {s(add)} |"
        )
    return "\n".join(lines)


def targets(results: Sequence[SizeResult]) -> list[str]:
    lines: list[str] = []
    both = [
        r
        for r in results
        if (c := r.get("comptoir build")) and c.ok and (h := r.get("hugo")) and h.ok
    ]
    if both:
        r = max(both, key=lambda r: r.size)
        c, h = r.get("comptoir build"), r.get("hugo")
        assert c and h and c.seconds and h.seconds
        share = c.seconds / h.seconds
        scope = (
            "" if r.size >= 10_000 else f" (measured at N = {r.size:,}; the target is at 10,000)"
        )
        lines.append(
            f"- cold build within {TARGET_HUGO_RATIO}× Hugo: {share:.2f}× — "
            f"{'met' if share <= TARGET_HUGO_RATIO else 'missed'}{scope}"
        )
    for r in results:
        edit = r.get("comptoir rebuild, one price")
        if edit and edit.ok and edit.seconds is not None:
            met = "met" if edit.seconds <= TARGET_REBUILD_SECONDS else "missed"
            lines.append(
                f"- rebuild after one edit ≤ {TARGET_REBUILD_SECONDS:.0f} s at "
                f"N = {r.size:,}: {edit.seconds:.2f} s — {met}"
            )
    runs = [m for r in results for m in r.rows if m.label.startswith("comptoir") and m.ok]
    if runs:
        peak = max(m.peak_mb or 0.0 for m in runs)
        tree = max(m.tree_mb or 0.0 for m in runs)
        worst = max(peak, tree)
        lines.append(
            f"- comptoir peak memory ≤ {TARGET_PEAK_MB:.0f} MB: largest process "
            f"{peak:,.0f} MB, whole process tree {tree:,.0f} MB (sampled) — "
            f"{'met' if worst <= TARGET_PEAK_MB else 'missed'}"
        )
    return lines


# -- command line ------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be integers, e.g. 100,1000: {text}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    return sizes


def parse_only(text: str) -> set[str]:
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = chosen - set(TOOLS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"--only takes {','.join(TOOLS)}; got {text}")
    return chosen


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(DEFAULT_SIZES),
        help="comma-separated product counts (default 100,1000,10000)",
    )
    p.add_argument(
        "--only",
        type=parse_only,
        default=set(TOOLS),
        help="comma-separated tools among comptoir,pelican,hugo (default all)",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where to write the shops and outputs (default: a temporary folder)",
    )
    p.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (a --workdir is always kept)"
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per measurement; the fastest wall time is kept (default 1)",
    )
    p.add_argument("--seed", type=int, default=2026, help="seed of the synthetic shop")
    p.add_argument(
        "--source",
        type=Path,
        default=REPO,
        help="the comptoir checkout to measure (default: the one holding this file)",
    )
    p.add_argument(
        "--commit",
        default=None,
        metavar="REV",
        help="measure this commit of --source, exported with git archive, instead "
        "of its work tree (e.g. HEAD)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.repeat < 1:
        parser().error("--repeat must be at least 1")
    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="comptoir-bench-")) if temporary else args.workdir
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    trash = Trash(workdir / ".trash")  # emptied at the end, with what an earlier run left
    hugo = find_hugo(try_install=True) if "hugo" in args.only else None

    print("## comptoir build benchmark\n")
    print(
        f"- machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"{platform.system()} {platform.release()}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"- Python {platform.python_version()}; "
        f"{version_of([sys.executable, '-m', 'pelican', '--version']).join(('pelican ', ''))}; "
        f"{version_of([hugo, 'version']) if hugo else 'hugo not installed'}"
    )
    if args.commit:
        args.source = export_commit(args.source, args.commit, workdir / "source", trash)
        head = version_of(["git", "-C", str(REPO), "log", "-1", "--format=%h %s", args.commit])
        print(f"- comptoir at commit {head} (exported to {args.source})")
    else:
        args.source = args.source.resolve()
        if not (args.source / "generator").is_dir():
            parser().error(f"--source {args.source} holds no comptoir checkout (generator/)")
        head = version_of(["git", "-C", str(args.source), "log", "-1", "--format=%h %s"])
        dirty = version_of(
            [
                "git",
                "-C",
                str(args.source),
                "status",
                "--porcelain",
                "--",
                "generator",
                "shop",
                "theme",
            ]
        )
        print(
            f"- comptoir from the work tree {args.source} at {head}"
            f"{' with uncommitted changes' if dirty not in ('', '?') else ''}"
        )
    sizes = ", ".join(f"{s:,}" for s in args.sizes)
    print(
        f"- sizes {sizes}; tools {', '.join(sorted(args.only))}; repeat {args.repeat}; "
        f"workdir {workdir}",
        flush=True,
    )

    pool = workdir / "image-pool"
    make_image_pool(pool, args.seed)
    # Untimed warm-up: load each tool's files into the page cache once.
    subprocess.run(
        [sys.executable, "-m", cli_module(args.source), "--help"],
        cwd=args.source,
        capture_output=True,
        check=False,
        env=comptoir_env(args.source),
    )
    failures: list[ToolFailed] = []
    results: list[SizeResult] = []
    try:
        for size in args.sizes:
            results.append(bench_size(size, args, workdir, pool, hugo, failures, trash))
    finally:
        trash.empty()
        if temporary and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    for result in results:
        print(size_table(result), end="\n\n")
    print("### Summary\n")
    print(summary_table(results), end="\n\n")
    print(f"Load average after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    goal_lines = targets(results)
    if goal_lines:
        print("### Targets\n")
        print("\n".join(goal_lines), end="\n\n")
    for failure in failures:
        tail = "\n".join(failure.stderr.strip().splitlines()[-25:])
        print(
            f"### {failure.label} FAILED (exit {failure.code})\n\n$ {' '.join(failure.command)}"
            f"\n```\n{tail}\n```\n",
            file=sys.stderr,
        )
    if not temporary or args.keep:
        print(f"Shops, outputs and logs kept in {workdir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
