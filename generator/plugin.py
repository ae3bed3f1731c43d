"""Our Pelican plugin: the shop's reader, template globals and the storefront generator.

Pelican stays the engine (theme environment, pages, blog, Atom feed); the
shop's domain never leaks into it. Everything a build needs arrives through
the ``COMPTOIR_BUILD`` setting, so signals carry no global state.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pelican import signals
from pelican.generators import Generator
from pelican.readers import BaseReader
from pelican.writers import Writer

from generator.presenters import (
    category_url,
    paginate,
    render_markdown,
    tag_url,
)

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
    generator.env.globals.update(state.template_globals)


def record_written(path: str, **_: Any) -> None:
    state = _current.get("state")
    if state is not None:
        state.produced.add(Path(path).resolve())


# Pelican's written-file signals carry no settings; the build sets this for its duration.
_current: dict[str, BuildState | None] = {"state": None}


class ShopGenerator(Generator):  # type: ignore[misc]
    """Home, product, category, tag, cart and 404 pages."""

    def generate_context(self) -> None:
        state = state_of(self.settings)
        self.views = {p.slug: state.presenter.product(p) for p in state.catalogue.public}

    def generate_output(self, writer: Any) -> None:
        state = state_of(self.settings)
        presenter = state.presenter
        catalogue = state.catalogue
        views = self.views
        per_page = state.config.products_per_page

        def render(path: str, template: str, **context: Any) -> None:
            page = self.get_template(template)
            state.render(
                path, {"template": template, **context}, lambda: str(page.render(**context))
            )

        ordered = sorted(catalogue.public, key=lambda p: (p.date is not None, p.date), reverse=True)
        render(
            "index.html",
            "home",
            featured=[views[p.slug] for p in catalogue.public if p.featured][:8],
            newest=[views[p.slug] for p in ordered][:8],
            categories=presenter.categories(views),
            posts=presenter.posts(limit=3),
        )
        for product in catalogue.public:
            render(f"products/{product.slug}/index.html", "product", product=views[product.slug])
        for kind, groups, url_for in (
            ("category", catalogue.categories(), category_url),
            ("tag", catalogue.tags(), tag_url),
        ):
            for name, products in groups.items():
                listing = [views[p.slug] for p in products]

                def page_of(number: int, name: str = name, url_for: Any = url_for) -> str:
                    return str(url_for(name, number))

                for pagination, chunk in paginate(listing, per_page, page_of):
                    url = page_of(pagination.number)
                    render(
                        url.lstrip("/") + "index.html",
                        "listing",
                        heading=name,
                        kind=kind,
                        products=chunk,
                        pagination=pagination,
                        page_url=url,
                    )
        render("cart/index.html", "cart", countries=presenter.countries())
        render("order/index.html", "order")
        render("404.html", "404")


class _WriteIfChanged(io.StringIO):
    """A file opened for Pelican that touches the disk only if its text changed."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = Path(path)

    def close(self) -> None:
        if not self.closed:
            data = self.getvalue().encode("utf-8")
            if not (self.path.is_file() and self.path.read_bytes() == data):
                temporary = self.path.with_name(self.path.name + ".tmp")
                temporary.write_bytes(data)
                temporary.replace(self.path)
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
