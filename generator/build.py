"""``comptoir build``: validate content, then write the static site to ``output/``.

Steps: load and check content (nothing is written when it has problems),
process images, fingerprint assets, run Pelican with our plugin, then write
``catalog.json``, ``sitemap.xml`` and ``robots.txt`` and remove files that no
longer belong to the site.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, FileSystemBytecodeCache, TemplateSyntaxError

from generator import code_digest, content_cache, example_identity
from generator.assets import AssetError, AssetManifest, build_assets
from generator.content_cache import Parsed, PickleProductCache, load_cached_content
from generator.i18n import load_translations
from generator.images import ImageError, process_images
from generator.netlify import REDIRECTS_FILE, redirects
from generator.pages import PageCache, PageJob, Written, render_pages, replace_file, write_file
from generator.parallel import Background, forked_map
from generator.presenters import (
    FEED_PATH,
    MarkdownCache,
    Presenter,
    page_url,
    post_url,
    product_url,
)
from generator.price_history import record_prices
from generator.publish import DEFAULT_THEME, published_shop
from generator.search import SearchIndex
from shop.catalog_file import catalog_text
from shop.catalogue import Catalogue
from shop.coherence import check_coherence, invented
from shop.config import ShopConfig
from shop.content import Page, Post, ShopContent
from shop.problems import Problem
from shop.published import PublishedShop, published_path
from shop.published import write as write_published

Progress = Callable[[str], None]


class BuildError(Exception):
    """The build could not finish; ``problems`` says why, as path:line messages."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def theme_dir(root: Path) -> Path:
    """The shop's own theme/ when it has one, else the theme shipped with comptoir."""
    own = root / "theme"
    return own if (own / "templates").is_dir() else DEFAULT_THEME


@dataclass
class BuildState:
    """What one build shares between its steps and Pelican's generators."""

    content: ShopContent
    config: ShopConfig
    output: Path
    presenter: Presenter
    markdown: MarkdownCache
    translations: Any
    assets: AssetManifest
    template_globals: dict[str, Any]
    documents: dict[Path, Page | Post]
    pages: PageCache
    produced: set[str] = field(default_factory=set)  # the site's files, relative to output
    written: int = 0
    rendered: int = 0
    folders: set[str] = field(default_factory=set)  # known to exist
    search: SearchIndex | None = None  # the search index, made while the pages render

    @property
    def catalogue(self) -> Catalogue:
        return self.content.catalogue

    def run(
        self,
        jobs: Sequence[PageJob],
        collect: Callable[[], Any] = lambda: None,
        merge: Callable[[Any], None] = lambda _: None,
    ) -> None:
        """Render the pages whose inputs changed since the last build."""
        self.produced.update(job.path for job in jobs)
        result = render_pages(jobs, self.pages, self.output, self.put, collect, merge)
        self.rendered += result.rendered
        self.written += result.written

    def write(self, relative: str, text: str) -> bool:
        """Write a file of the site, leaving it untouched when its bytes are unchanged.

        Returns whether the file changed, and counts it.
        """
        changed = self.put(relative, text).changed
        self.written += changed
        return changed

    def put(self, relative: str, text: str) -> Written:
        """``write`` without counting (for a forked process, whose count would be lost)."""
        self.produced.add(relative)
        return write_file(f"{self.output}/{relative}", text.encode("utf-8"), self.folders)


def environment_key(theme: Path, template_globals: dict[str, Any], assets: AssetManifest) -> str:
    """A hash of everything every page depends on besides its own inputs: comptoir's
    own code and libraries, the theme (templates, translations, assets) and the
    template globals."""
    digest = hashlib.sha256(code_digest().encode())
    for folder in (theme / "templates", theme / "translations"):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(theme).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    plain = {k: v for k, v in template_globals.items() if not callable(v)}
    digest.update(repr(sorted(plain.items())).encode())
    digest.update(repr(sorted(assets.urls.items())).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class BuildReport:
    pages: int
    products: int
    images: int
    written: int
    seconds: float
    rendered: int = 0  # storefront pages rendered (the others were up to date)
    warnings: tuple[Problem, ...] = ()  # likely mistakes, not stopping the build


def build(
    root: Path,
    output: Path | None = None,
    progress: Progress = lambda _: None,
    published: Path | None = None,
    api_origin: str | None = None,
    production: bool = False,
) -> BuildReport:
    """Build the site of the shop in ``root`` into ``output`` (default ``root/output``),
    and the functions' published shop into ``published`` (default ``root/published/shop.json``).
    With ``api_origin`` (checked by ``generator.netlify.api_origin``), ``_redirects``
    proxies the site's ``/api/*`` to the functions there. A ``production`` build also
    refuses a shop still holding the example shop's invented identity.

    Raises BuildError, having written nothing, when the content has problems.
    """
    started = time.perf_counter()
    root = root.resolve()
    output = (output or root / "output").resolve()
    published = published or published_path(root)
    progress("Checking content…")
    content, saving = _load(root)
    if production and not content.problems:
        content.problems.items.extend(invented(content, example_identity()))
    try:
        with _fewer_collections():
            report = _build_site(root, output, published, content, progress, started, api_origin)
    except BuildError:
        saving.wait()  # the merchant's next try reuses what was read
        raise
    except BaseException:
        saving.abandon()  # an unexpected error (or Ctrl-C) comes first
        raise
    saving.wait()
    return report


def check(root: Path) -> ShopContent:
    """Read and check the shop's content as a build does (cached, on every core)."""
    content, saving = _load(root.resolve())
    saving.wait()
    return content


def _load(root: Path) -> tuple[ShopContent, Background]:
    """The shop's content, and the saving of what was read for the next time."""
    products = PickleProductCache(root / ".cache" / "content.pickle")
    content = load_cached_content(root, products, _parse_in_parallel)
    check_coherence(content, example_identity())
    record_prices(content)
    return content, Background(products.save)  # pickling 10,000 records takes 0.3 s


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect garbage less often while pages render: a build makes millions of
    short-lived objects and few cycles, and the default thresholds would scan the
    whole catalogue again and again (about 10 % of a build)."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _parse_in_parallel(
    parse: Callable[[Sequence[Any]], list[Parsed]], files: Sequence[Any]
) -> list[Parsed]:
    """Product files read and parsed on every core (a cold build of 10,000 spends 2 s here)."""
    return forked_map(parse, files, encode=content_cache.dumps, decode=content_cache.loads)


def _build_site(
    root: Path,
    output: Path,
    published: Path,
    content: ShopContent,
    progress: Progress,
    started: float,
    api_origin: str | None = None,
) -> BuildReport:
    if content.problems or content.config is None:
        raise BuildError(list(content.problems))
    config = content.config
    theme = theme_dir(root)
    shop = published_shop(root, content, config)
    _check_email_templates(root, shop)

    output.mkdir(parents=True, exist_ok=True)
    previous = _take_file_list(root, output)  # before this build writes anything
    if previous is None and not any(output.iterdir()):
        previous = set()  # an empty output folder: nothing can be stale
    produced: set[str] = set()
    sources = _image_sources(content)
    progress(f"Processing images… ({len(sources)} pictures)")
    images = _images(sources, root, output)
    produced.update(_rendition_files(images))
    try:
        assets = build_assets(theme / "static", output)
    except AssetError as error:
        raise BuildError(
            [Problem(_relative(Path(error.path), root), error.line, error.message)]
        ) from error
    produced.update(url.lstrip("/") for url in assets.urls.values())
    translations = load_translations(theme, config.language)
    markdown = MarkdownCache(root / ".cache" / "markdown.pickle")
    presenter = Presenter(content, config, translations, images, markdown.render)
    template_globals = {
        "site": presenter.site(),
        "shop": config,
        "asset": assets.url,
        "format_date": presenter.date,
    }
    state = BuildState(
        content=content,
        config=config,
        output=output,
        presenter=presenter,
        markdown=markdown,
        translations=translations,
        assets=assets,
        template_globals=template_globals,
        documents=_documents(root, content),
        pages=PageCache(
            root / ".cache" / "pages.json", environment_key(theme, template_globals, assets)
        ),
        produced=produced,
        search=SearchIndex(
            root / ".cache" / "search",
            output,
            previous,
            environment_key(theme, template_globals, assets),
            config.language,
        ),
    )
    progress(
        f"Rendering {len(content.catalogue.public)} products and "
        f"{len(content.pages) + len(content.posts)} pages…"
    )
    # catalog.json is made while pages render, but published only if they all were:
    # the functions must never price with a catalogue the pages do not show.
    staged = output / f".catalog-{os.getpid()}.json.tmp"
    staging = Background(lambda: _stage_catalog(state, staged))
    search = state.search
    assert search is not None
    try:
        try:
            _run_pelican(root, output, theme, config, state, has_blog=bool(content.posts))
            staging.wait()
            state.write("catalog.json", staged.read_text(encoding="utf-8"))
        finally:
            staging.abandon()
            staged.unlink(missing_ok=True)
        _write_sitemap(state)
        if api_origin:
            state.write(REDIRECTS_FILE, redirects(api_origin))
        sitemap = config.url("/sitemap.xml")
        robots = f"User-agent: *\nAllow: /\nDisallow: /order/\n\nSitemap: {sitemap}\n"
        state.write("robots.txt", robots)
        markdown.save(_markdown_texts(content))  # while the search index is written
        state.written += search.finish(state.produced, progress)
    finally:
        search.abandon()
    _remove_stale(output, state.produced, previous)
    # Last, once every page is written: the functions never price with a catalogue
    # the pages do not show yet (`comptoir serve` switches to it when this returns).
    write_published(shop, published)
    state.pages.save(state.produced)
    _save_file_list(root, output, state.produced)
    pages = sum(1 for p in state.produced if p.endswith(".html"))
    return BuildReport(
        pages,
        len(content.catalogue.public),
        len(images),
        state.written,
        time.perf_counter() - started,
        state.rendered,
        tuple(content.warnings),
    )


# -- steps ---------------------------------------------------------------------


def _documents(root: Path, content: ShopContent) -> dict[Path, Page | Post]:
    documents: dict[Path, Page | Post] = {}
    everything: list[Page | Post] = [*content.pages, *content.posts]
    for document in everything:
        documents[(root / document.source).resolve()] = document
    return documents


def _markdown_texts(content: ShopContent) -> list[str]:
    """Every Markdown text of the site rendered through the cache."""
    return [p.description for p in content.catalogue.public] + [p.body for p in content.posts]


def _image_sources(content: ShopContent) -> list[Path]:
    refs = [ref for p in content.catalogue.public for ref in p.images]
    refs += [post.image for post in content.posts if post.image is not None]
    return sorted({content.content_dir / ref.src for ref in refs})


def _images(sources: list[Path], root: Path, output: Path) -> dict[Path, Any]:
    try:
        return process_images(
            sources,
            cache_dir=root / ".cache" / "images",
            output_dir=output / "images",
        )
    except ImageError as error:
        where = _relative(Path(str(error.path)), root)
        raise BuildError([Problem(where, 1, str(error.message))]) from error


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _rendition_files(images: dict[Path, Any]) -> set[str]:
    """The files of output/images/ that the build's image renditions occupy."""
    return {
        "images/" + rendition.url.rsplit("/", 1)[-1]
        for processed in images.values()
        for rendition in (*processed.webp, *processed.fallback)
    }


def _run_pelican(
    root: Path, output: Path, theme: Path, config: ShopConfig, state: BuildState, has_blog: bool
) -> None:
    from pelican import Pelican
    from pelican.log import console
    from pelican.settings import read_settings

    from generator import plugin

    settings = read_settings(override=_pelican_settings(root, output, theme, config, has_blog))
    settings["COMPTOIR_BUILD"] = state
    recorder = _ErrorRecorder()
    pelican_logger = logging.getLogger("pelican")
    pelican_logger.addHandler(recorder)
    pelican_logger.propagate = False
    quiet = console.quiet
    console.quiet = True
    plugin._current["state"] = state
    try:
        Pelican(settings).run()
    finally:
        plugin._current["state"] = None
        console.quiet = quiet
        pelican_logger.removeHandler(recorder)
    if recorder.messages:
        raise BuildError([Problem("theme", 1, message) for message in recorder.messages])


def _pelican_settings(
    root: Path, output: Path, theme: Path, config: ShopConfig, has_blog: bool
) -> dict[str, Any]:
    off: dict[str, Any] = {
        key: ""
        for key in (
            "CATEGORY_SAVE_AS",
            "TAG_SAVE_AS",
            "AUTHOR_SAVE_AS",
            "ARCHIVES_SAVE_AS",
            "AUTHORS_SAVE_AS",
            "CATEGORIES_SAVE_AS",
            "TAGS_SAVE_AS",
            "DRAFT_SAVE_AS",
            "DRAFT_PAGE_SAVE_AS",
            "YEAR_ARCHIVE_SAVE_AS",
            "MONTH_ARCHIVE_SAVE_AS",
            "DAY_ARCHIVE_SAVE_AS",
        )
    }
    feeds: dict[str, Any] = {
        key: None
        for key in (
            "FEED_ATOM",
            "FEED_RSS",
            "FEED_ALL_RSS",
            "CATEGORY_FEED_ATOM",
            "CATEGORY_FEED_RSS",
            "TAG_FEED_ATOM",
            "TAG_FEED_RSS",
            "TRANSLATION_FEED_ATOM",
            "TRANSLATION_FEED_RSS",
            "AUTHOR_FEED_ATOM",
            "AUTHOR_FEED_RSS",
        )
    }
    return {
        **off,
        **feeds,
        "PATH": str(root / "content"),
        "OUTPUT_PATH": str(output),
        "THEME": str(theme),
        "THEME_STATIC_PATHS": [],
        "STATIC_PATHS": [],
        "SITENAME": config.name,
        "SITEURL": config.base_url,
        "FEED_DOMAIN": config.base_url,
        "FEED_ALL_ATOM": FEED_PATH.lstrip("/") if has_blog else None,
        "DEFAULT_LANG": config.language,
        "TIMEZONE": config.timezone,
        "ARTICLE_PATHS": ["blog"],
        "PAGE_PATHS": ["pages"],
        "ARTICLE_URL": "blog/{slug}/",
        "ARTICLE_SAVE_AS": "blog/{slug}/index.html",
        "PAGE_URL": "{slug}/",
        "PAGE_SAVE_AS": "{slug}/index.html",
        "DIRECT_TEMPLATES": ["blog"] if has_blog else [],
        "BLOG_SAVE_AS": "blog/index.html",
        "BLOG_URL": "blog/",
        "PAGINATED_TEMPLATES": {},
        "DEFAULT_PAGINATION": False,
        "FILENAME_METADATA": r"(?!)",
        "READERS": {"rst": None, "html": None, "htm": None},
        "PLUGINS": ["generator.plugin"],
        "PLUGIN_PATHS": [],
        "JINJA_ENVIRONMENT": {
            "trim_blocks": True,
            "lstrip_blocks": True,
            "autoescape": True,
            "auto_reload": False,  # a build reads each template once
            # Compiled templates kept between builds. Jinja checks each one's source;
            # its options and version are comptoir's code, hence the folder's name.
            "bytecode_cache": FileSystemBytecodeCache(str(_template_cache(root))),
            "extensions": ["jinja2.ext.i18n"],
        },
        "CACHE_CONTENT": False,
        "LOAD_CONTENT_CACHE": False,
        "DELETE_OUTPUT_DIRECTORY": False,
        "RELATIVE_URLS": False,
        "TYPOGRIFY": False,
        "OUTPUT_SOURCES": False,
        "DEFAULT_CATEGORY": "blog",
        "DEFAULT_DATE_FORMAT": "%Y-%m-%d",
        "LOG_FILTER": [],
    }


def _template_cache(root: Path) -> Path:
    """.cache/templates/<code digest>/, the folders of other versions removed."""
    folder = root / ".cache" / "templates"
    current = folder / code_digest()[:16]
    if folder.is_dir():
        for other in folder.iterdir():
            if other != current:
                shutil.rmtree(other) if other.is_dir() else other.unlink()
    current.mkdir(parents=True, exist_ok=True)
    return current


class _ErrorRecorder(logging.Handler):
    """Pelican logs errors and goes on; a broken page must fail our build instead."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _stage_catalog(state: BuildState, staged: Path) -> None:
    urls = {p.slug: product_url(p) for p in state.catalogue.public}
    staged.write_text(catalog_text(state.catalogue, state.config, urls), encoding="utf-8")


def site_paths(content: ShopContent) -> list[str]:
    """Every public, indexable page of the site (what the sitemap lists)."""
    from generator.presenters import category_url, tag_url

    assert content.config is not None
    per_page = content.config.products_per_page
    paths = ["/"]
    paths += [product_url(p) for p in content.catalogue.public]
    for groups, url_for in (
        (content.catalogue.categories(), category_url),
        (content.catalogue.tags(), tag_url),
    ):
        for name, products in groups.items():
            pages = max(1, -(-len(products) // per_page))
            paths += [url_for(name, n) for n in range(1, pages + 1)]
    paths += [page_url(page) for page in content.pages]
    if content.posts:
        paths.append("/blog/")
        paths += [post_url(post) for post in content.posts]
    return paths


def _check_email_templates(root: Path, shop: PublishedShop) -> None:
    """A syntax error in an e-mail template is the merchant's to fix, with its line."""
    environment = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    problems = []
    for name, source in shop.emails.templates.items():
        try:
            environment.parse(source)
        except TemplateSyntaxError as error:
            own = root / "theme" / "emails" / name
            where = _relative(own if own.is_file() else DEFAULT_THEME / "emails" / name, root)
            problems.append(Problem(where, error.lineno, f"template error: {error.message}"))
    if problems:
        raise BuildError(problems)


def _write_sitemap(state: BuildState) -> None:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for path in site_paths(state.content):
        lines.append(f"  <url><loc>{escape(state.config.url(path))}</loc></url>")
    lines.append("</urlset>")
    state.write("sitemap.xml", "\n".join(lines) + "\n")


def _file_list(root: Path) -> Path:
    return root / ".cache" / "files.json"


def _take_file_list(root: Path, output: Path) -> set[str] | None:
    """The files the last build wrote into ``output``, when it finished; None if unknown.

    The list is deleted as it is read: should this build stop halfway, the files it
    wrote are in no list, and the next build sweeps the whole folder instead.
    """
    path = _file_list(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        path.unlink()
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("output") != str(output):
        return None
    files = data.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return set(files)


def _save_file_list(root: Path, output: Path, produced: set[str]) -> None:
    files = {"output": str(output), "files": sorted(produced)}
    replace_file(_file_list(root), json.dumps(files).encode())


def _remove_stale(output: Path, produced: set[str], previous: set[str] | None) -> None:
    """Delete files a previous build wrote that are no longer part of the site,
    then the folders left empty.

    ``output`` is absolute and resolved; ``produced`` and ``previous`` (what the
    last finished build wrote, from its file list) hold POSIX paths relative to
    it. Without ``previous``, every file of ``output`` the build did not write is
    deleted. Paths stay strings here: a Path per file would cost more than the walk.
    """
    top = str(output)
    if previous is not None:
        for relative in previous - produced:
            path = f"{top}/{relative}"
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.unlink(path)  # noqa: PTH108
            folder = os.path.dirname(path)  # noqa: PTH120
            while folder.startswith(top + "/"):
                try:
                    os.rmdir(folder)  # noqa: PTH106
                except OSError:  # not empty (or already gone)
                    break
                folder = os.path.dirname(folder)  # noqa: PTH120
        return
    keep = {f"{top}/{path}" for path in produced}
    alive: set[str] = set()  # folders holding a file of the site
    for folder, _, files in os.walk(top, topdown=False):
        for name in files:
            path = f"{folder}/{name}"
            if path in keep:
                alive.add(folder)
            else:
                Path(path).unlink()
        if folder in alive:
            alive.add(os.path.dirname(folder))  # noqa: PTH120
        elif folder != top:
            with contextlib.suppress(OSError):  # e.g. a symlink to a folder is left in it
                Path(folder).rmdir()
