"""Our Pelican plugin: the shop's reader, template globals and the storefront generator.

Pelican stays the engine (theme environment, pages, blog, Atom feed); the
shop's domain never leaks into it. Everything a build needs arrives through
the ``COMPTOIR_BUILD`` setting, so signals carry no global state.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from markupsafe import Markup
from pelican import signals
from pelican.generators import Generator
from pelican.readers import BaseReader
from pelican.writers import Writer

from generator.pages import PageJob, write_file
from generator.presenters import (
    ProductViews,
    category_url,
    page_url,
    paginate,
    post_url,
    render_markdown,
    tag_url,
)
from generator.search import Record, SearchJob, make_record, plain
from generator.views import ProductView
from shop.content import Page, Post

if TYPE_CHECKING:
    from generator.build import BuildState


def state_of(settings: Any) -> BuildState:
    return settings["COMPTOIR_BUILD"]  # type: ignore[no-any-return]


class ShopMarkdownReader(BaseReader):  # type: ignore[misc]
    """Gives Pelican the pages and articles our loader already read and validated."""

    enabled = True
    file_extensions: ClassVar[list[str]] = ["md"]

    def read(self, source_path: str) -> tuple[str, dict[str, Any]]:
        state = state_of(self.settings)
        document = state.documents[Path(source_path).resolve()]
        metadata: dict[str, Any] = {"title": document.title, "slug": document.slug}
        if document.summary:
            metadata["summary"] = document.summary
        role = getattr(document, "role", None)
        if role:
            metadata["role"] = role
        date = getattr(document, "date", None)
        if date is not None:
            metadata["date"] = self.process_metadata("date", date.isoformat())
            metadata["locale_date"] = state.presenter.date(date)
        tags = getattr(document, "tags", ())
        if tags:
            metadata["tags"] = self.process_metadata("tags", ", ".join(tags))
        author = getattr(document, "author", None)
        if author:
            metadata["author"] = self.process_metadata("author", author)
        image = getattr(document, "image", None)
        if image is not None:
            metadata["image"] = state.presenter.image(image)
        return str(render_markdown(document.body)), metadata


def install_reader(readers: Any) -> None:
    readers.reader_classes["md"] = ShopMarkdownReader


def install_globals(generator: Any) -> None:
    """Every generator's Jinja environment gets gettext and the shop's globals."""
    state = state_of(generator.settings)
    generator.env.install_gettext_translations(state.translations, newstyle=True)
    fast = quick_gettext(state.translations)
    generator.env.globals.update(state.template_globals, _=fast, gettext=fast, once=_once())


def _once() -> Callable[..., Any]:
    """``once(key, make, *arguments)``: a fragment that is the same on many pages of a
    build (the header, the footer, a product's card, the cart script's texts), made by
    ``make(*arguments)`` the first time ``key`` is asked for and reused after. The key
    must name everything the fragment depends on."""
    made: dict[Any, Any] = {}

    def once(key: Any, make: Callable[..., Any], *arguments: Any) -> Any:
        fragment = made.get(key)
        if fragment is None:
            fragment = made[key] = make(*arguments)
        return fragment

    return once


def quick_gettext(translations: Any) -> Callable[..., Markup]:
    """Jinja's new-style ``gettext`` for autoescaped templates, without its per-call
    context dispatch (a quarter of a product page's rendering): the translation is
    markup, its variables are escaped, and it is always %-formatted (so "%%" is "%")."""
    known: dict[str, Markup] = {}

    def gettext(message: str, /, **variables: Any) -> Markup:
        text = known.get(message)
        if text is None:
            text = known[message] = Markup(translations.gettext(message))  # noqa: S704
        return text % variables

    return gettext


def record_written(path: str, **_: Any) -> None:
    state = _current.get("state")
    if state is not None:
        state.produced.add(Path(path).resolve().relative_to(state.output).as_posix())


# Pelican's written-file signals carry no settings; the build sets this for its duration.
_current: dict[str, BuildState | None] = {"state": None}


class ShopGenerator(Generator):  # type: ignore[misc]
    """Home, product, category, tag, cart, search and 404 pages.

    Product pages render first (in parallel on a cold build: that is where
    Markdown and views are made), then every page that lists products.
    """

    def generate_context(self) -> None:
        state = state_of(self.settings)
        public = state.catalogue.public
        self.views = ProductViews(state.presenter, public)
        self.fingerprints = {p.slug: state.presenter.fingerprint(p) for p in public}

    def generate_output(self, writer: Any) -> None:
        state = state_of(self.settings)
        catalogue = state.catalogue
        views = self.views
        templates: dict[str, Any] = {}  # compiled when first needed: a rebuild may need none

        search = state.search
        if search is not None:
            search.plan(self._search_documents())

        def job(path: str, template: str, depends: str, context: Any) -> PageJob:
            def render() -> str:
                if template not in templates:
                    templates[template] = self.get_template(template)
                page = str(templates[template].render(**context()))
                if search is not None:  # its record, while its view is at hand
                    search.make(path)
                return page

            return PageJob(path, f"{template}\0{depends}", render)

        Payload = tuple[dict[str, ProductView], dict[str, str], dict[str, Any]]

        def collect() -> Payload:
            records = search.take_new() if search is not None else {}
            return views.take_new(), state.markdown.take_new(), records

        def merge(payload: Payload) -> None:
            views.learn(payload[0])
            state.markdown.learn(payload[1])
            if search is not None:
                search.learn(payload[2])

        products = [
            job(
                f"products/{p.slug}/index.html",
                "product",
                self.fingerprints[p.slug],
                lambda slug=p.slug: {"product": views[slug]},
            )
            for p in catalogue.public
        ]
        state.run(products, collect, merge)
        if search is not None:  # records the product pages did not make, then the index
            search.render(collect, merge)
        state.run([*self._listings(job), *self._other_pages(job)], collect, merge)

    def _search_documents(self) -> list[SearchJob]:
        """What search knows of each product, page and article (generator/search.py)."""
        state = state_of(self.settings)
        views = self.views
        common = state.search.common if state.search is not None else frozenset()
        from_price = state.translations.gettext("from %(price)s")

        def product(slug: str) -> Record:
            view = views[slug]
            variants = [v for v in view.variants if v.label]
            return make_record(
                view.url,
                view.title,
                text=plain(view.description_html),
                price=from_price % {"price": view.price} if view.price_is_from else view.price,
                image=view.images[0].thumbnail if view.images else "",
                codes=[v.sku for v in view.variants],
                labels=[view.category.title, *(t.title for t in view.tags)]
                + [v.label for v in variants],
                common=common,
            )

        jobs = [
            SearchJob(
                f"products/{p.slug}/index.html",
                self.fingerprints[p.slug],
                partial(product, p.slug),
            )
            for p in state.catalogue.public
        ]
        documents: list[Page | Post] = [*state.content.pages, *state.content.posts]
        for document in documents:
            url = page_url(document) if isinstance(document, Page) else post_url(document)
            ref = getattr(document, "image", None)
            image = state.presenter.image(ref) if ref else None

            def make(text: Page | Post = document, url: str = url, image: Any = image) -> Record:
                return make_record(
                    url,
                    text.title,
                    text=plain(render_markdown(text.body)),
                    image=image.thumbnail if image else "",
                    labels=list(getattr(text, "tags", ())),
                    common=common,
                )

            # The image as processed: a picture replaced under the same name gets a new URL.
            depends = repr((document, image))
            jobs.append(SearchJob(url.lstrip("/") + "index.html", depends, make))
        return jobs

    def _listings(self, job: Callable[..., PageJob]) -> Iterator[PageJob]:
        state = state_of(self.settings)
        views = self.views
        per_page = state.config.products_per_page
        for kind, groups, url_for in (
            ("category", state.catalogue.categories(), category_url),
            ("tag", state.catalogue.tags(), tag_url),
        ):
            for name, products in groups.items():

                def page_of(number: int, name: str = name, url_for: Any = url_for) -> str:
                    return str(url_for(name, number))

                for pagination, chunk in paginate(products, per_page, page_of):
                    url = page_of(pagination.number)
                    # The pagination is its number and count: its links follow from the
                    # name (the code that makes them is part of the build's environment).
                    position = f"{pagination.number}/{pagination.count}"
                    depends = "\0".join(
                        [kind, name, position, *(self.fingerprints[p.slug] for p in chunk)]
                    )
                    context = {
                        "heading": name,
                        "kind": kind,
                        "pagination": pagination,
                        "page_url": url,
                    }
                    slugs = [p.slug for p in chunk]
                    yield job(
                        url.lstrip("/") + "index.html",
                        "listing",
                        depends,
                        lambda c=context, s=slugs: {**c, "products": [views[x] for x in s]},
                    )

    def _other_pages(self, job: Callable[..., PageJob]) -> Iterator[PageJob]:
        state = state_of(self.settings)
        presenter = state.presenter
        catalogue = state.catalogue
        views = self.views
        ordered = sorted(catalogue.public, key=lambda p: (p.date is not None, p.date), reverse=True)
        featured = [p for p in catalogue.public if p.featured][:8]
        home = {
            "featured": [views[p.slug] for p in featured],
            "newest": [views[p.slug] for p in ordered[:8]],
            "categories": presenter.categories(views),
            "posts": presenter.posts(limit=3),
        }
        fingerprints = self.fingerprints
        depends = repr(
            [
                home["categories"],
                home["posts"],
                [fingerprints[p.slug] for p in featured],
                [fingerprints[p.slug] for p in ordered[:8]],
            ]
        )
        yield job("index.html", "home", depends, lambda: home)
        cart = {"countries": presenter.countries()}
        yield job("cart/index.html", "cart", repr(cart), lambda: cart)
        yield job("order/index.html", "order", "", dict)
        yield job("retractation/formulaire/index.html", "withdrawal", "", dict)
        yield job("retractation/confirmee/index.html", "withdrawal_done", "", dict)
        yield job("search/index.html", "search", "", dict)
        yield job("404.html", "404", "", dict)


class _WriteIfChanged(io.StringIO):
    """A file opened for Pelican that touches the disk only if its text changed."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def close(self) -> None:
        if not self.closed:
            write_file(self.path, self.getvalue().encode("utf-8"), set())
        super().close()


class UnchangedFilesWriter(Writer):  # type: ignore[misc]
    """Pelican's writer, leaving unchanged pages and feeds untouched (bytes and mtime),
    so a rebuild changes only what changed and a CDN re-uploads only that."""

    def _open_w(self, filename: str, encoding: str, override: bool = False) -> Any:
        if filename in self._overridden_files:
            if override:
                raise RuntimeError(f"{filename} would be overwritten twice")
            return io.StringIO()  # Pelican skips this write: discard it
        if filename in self._written_files and not override:
            raise RuntimeError(f"{filename} was already written by this build")
        if override:
            self._overridden_files.add(filename)
        self._written_files.add(filename)
        return _WriteIfChanged(filename)


def get_writer(_: Any) -> type[Writer]:
    return UnchangedFilesWriter


def get_generators(_: Any) -> type[Generator]:
    return ShopGenerator


def register() -> None:
    signals.readers_init.connect(install_reader)
    signals.generator_init.connect(install_globals)
    signals.get_generators.connect(get_generators)
    signals.get_writer.connect(get_writer)
    signals.content_written.connect(record_written)
    signals.feed_written.connect(record_written)


__all__ = ["ShopGenerator", "register"]
