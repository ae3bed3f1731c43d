"""Reading a built site as a crawler would: links, assets, pages."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("href", "src", "action", "poster"):
                self.links.append(value)
            elif name in ("srcset", "imagesrcset"):
                self.links += [
                    part.strip().split(" ")[0] for part in value.split(",") if part.strip()
                ]
            elif name == "content" and value.startswith("/"):
                self.links.append(value)


def links_of(html: str) -> list[str]:
    collector = LinkCollector()
    collector.feed(html)
    return collector.links


def file_for(output: Path, url_path: str) -> Path:
    """The file a static server answers for a root-relative path."""
    path = unquote(url_path)
    target = output / path.lstrip("/")
    if path.endswith("/"):
        target = target / "index.html"
    return target


def internal_links(output: Path, base_url: str) -> dict[str, set[str]]:
    """Every internal link target (path) -> the pages linking to it."""
    found: dict[str, set[str]] = {}
    for page in output.rglob("*.html"):
        for link in links_of(page.read_text(encoding="utf-8")):
            if link.startswith(base_url):
                link = link[len(base_url) :] or "/"
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not parts.path or link.startswith("#"):
                continue
            path = parts.path
            if not path.startswith("/"):
                raise AssertionError(
                    f"{page}: relative link {link!r} (links must be root-relative)"
                )
            found.setdefault(path, set()).add(str(page.relative_to(output)))
    return found


def url_of(output: Path, page: Path) -> str:
    relative = page.relative_to(output).as_posix()
    if relative.endswith("index.html"):
        return "/" + relative[: -len("index.html")]
    return "/" + relative
