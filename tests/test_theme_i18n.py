"""The storefront theme: every text is translated, nothing is asked of another site,
and cart.js stays small.

The message catalogues (``theme/translations/*/LC_MESSAGES/messages.po``) must list exactly
the texts of the templates plus those the presenters translate in ``generator/``: a text
added to a template without a French translation, or a translation left behind after its
text was removed, fails here with the message to fix.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
THEME = ROOT / "theme"
TEMPLATES = THEME / "templates"
STATIC = THEME / "static"
CART_JS = STATIC / "js" / "cart.js"

JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
PLURAL_FORMS = {"fr": "nplurals=2; plural=(n > 1);", "en": "nplurals=2; plural=(n != 1);"}
NBSP = "\u00a0"


def extracted() -> dict[str, tuple[str | None, set[str]]]:
    """msgid -> (msgid_plural or None, the files using it), from the templates and generator/."""
    found: dict[str, tuple[str | None, set[str]]] = {}

    def note(message: str | tuple[str, ...], where: str) -> None:
        singular, plural = (message, None) if isinstance(message, str) else message[:2]
        found.setdefault(singular, (plural, set()))[1].add(where)

    for filename, _line, message, _comments, _context in extract_from_dir(
        TEMPLATES,
        method_map=[("**.html", "jinja2.ext.babel_extract")],
        options_map={"**.html": JINJA_OPTIONS},
    ):
        note(message, f"theme/templates/{filename}")
    # The presenters translate a few texts themselves ("VAT %(rate)s included", "Journal").
    for filename, _line, message, _comments, _context in extract_from_dir(
        ROOT / "generator", method_map=[("**.py", "python")]
    ):
        note(message, f"generator/{filename}")
    return found


def catalogue(language: str) -> Catalog:
    path = THEME / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.fixture(scope="module")
def messages() -> dict[str, tuple[str | None, set[str]]]:
    found = extracted()
    assert len(found) > 30, "the templates should have many texts: is the extraction broken?"
    return found


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_text_is_in_the_catalogue(
    messages: dict[str, tuple[str | None, set[str]]], language: str
) -> None:
    po = catalogue(language)
    missing = {
        msgid: sorted(where)
        for msgid, (_plural, where) in messages.items()
        if po.get(msgid) is None
    }
    assert missing == {}, (
        f"texts missing from theme/translations/{language}/LC_MESSAGES/messages.po "
        "(add them, with their translation):"
    )
    plurals = {
        msgid: (plural, po.get(msgid).id)
        for msgid, (plural, _) in messages.items()
        if plural is not None and not isinstance(po.get(msgid).id, tuple | list)
    }
    assert plurals == {}, "these texts are used with ngettext: give them a msgid_plural"


def test_french_translations_are_complete(messages: dict[str, tuple[str | None, set[str]]]) -> None:
    po = catalogue("fr")
    untranslated, fuzzy = [], []
    for msgid in messages:
        message = po.get(msgid)
        if message is None:
            continue  # reported by test_every_text_is_in_the_catalogue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if not all(strings):
            untranslated.append(msgid)
        if message.fuzzy:
            fuzzy.append(msgid)
    assert untranslated == [], "French translations missing (fill in msgstr)"
    assert fuzzy == [], "French translations marked fuzzy: check them, then remove '#, fuzzy'"


def test_english_plurals_are_filled(messages: dict[str, tuple[str | None, set[str]]]) -> None:
    """An empty msgstr is fine for a simple English text, but babel compiles an empty plural
    as an empty string: ngettext would then print nothing."""
    po = catalogue("en")
    empty = [m.id for m in po if m.id and m.pluralizable and not all(m.string)]
    assert empty == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_obsolete_text(messages: dict[str, tuple[str | None, set[str]]], language: str) -> None:
    po = catalogue(language)
    assert list(po.obsolete) == [], "remove the obsolete '#~' entries"
    stale = [m.id for m in po if m.id and (m.id[0] if m.pluralizable else m.id) not in messages]
    assert stale == [], (
        f"theme/translations/{language}/LC_MESSAGES/messages.po has texts no template or "
        "presenter uses any more: remove them"
    )


@pytest.mark.parametrize("language", ["fr", "en"])
def test_catalogue_headers_and_placeholders(language: str) -> None:
    po = catalogue(language)
    assert po.plural_forms == PLURAL_FORMS[language]
    assert str(po.locale) == language
    problems = [(m.id, [str(e) for e in errors]) for m, errors in po.check() if errors]
    assert problems == [], "placeholders such as %(item)s must match between msgid and msgstr"


def test_french_typography() -> None:
    """A no-break space before ':' and inside « guillemets », as French wants it."""
    wrong = []
    for message in catalogue("fr"):
        if not message.id:
            continue
        for text in (
            message.string if isinstance(message.string, tuple | list) else (message.string,)
        ):
            if re.search(r" [:;!?»]|« |[^\s\u00a0\u202f][:;!?»]|«[^\u00a0\u202f]", text):
                wrong.append(text)
    assert wrong == [], f"use a no-break space ({NBSP!r}) before : ; ! ? » and after «"


# -- no other origin -----------------------------------------------------------------

#: Absolute URLs a theme file may hold: names, not requests.
ALLOWED_URLS = (
    "http://www.w3.org/2000/svg",  # the SVG namespace of favicon.svg
    "https://schema.org",  # the JSON-LD context (written by the presenters)
)
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s"'<>()]*""", re.IGNORECASE)


def theme_files() -> list[Path]:
    return sorted(p for folder in (TEMPLATES, STATIC) for p in folder.rglob("*") if p.is_file())


def test_theme_asks_nothing_of_another_site() -> None:
    offenders = []
    for path in theme_files():
        text = path.read_text(encoding="utf-8")
        for match in ABSOLUTE_URL.finditer(text):
            url = match.group()
            if url.startswith("//") and not _is_url_context(text, match.start()):
                continue  # a "//" comment, not a protocol-relative URL
            if not url.startswith(ALLOWED_URLS):
                offenders.append(f"{path.relative_to(ROOT)}: {url}")
    assert offenders == [], (
        "the theme must not load or link anything from another origin (fonts, scripts, "
        "images, analytics): serve it from theme/static/ instead"
    )


def _is_url_context(text: str, start: int) -> bool:
    """True when a "//" at ``start`` follows a quote, ``(`` or ``=``: where a URL would be."""
    before = text[:start].rstrip()
    return bool(before) and before[-1] in "\"'(="


def test_absolute_urls_come_only_from_base_url() -> None:
    """Templates make canonical and OpenGraph URLs absolute with ``site.base_url`` alone."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"https?:", line):
                offenders.append(f"{path.name}:{line_number}: {line.strip()}")
    assert offenders == []


def test_the_url_check_catches_other_origins() -> None:
    samples = {
        '<link href="https://fonts.googleapis.com/css2?family=Inter">': True,
        "<script src='//cdn.example.com/x.js'></script>": True,
        "src: url(//fonts.example.org/a.woff2);": True,
        "// keep comments like this one: www.example.org is just text": False,
        '<svg xmlns="http://www.w3.org/2000/svg">': False,
    }
    for sample, foreign in samples.items():
        hits = [
            m.group()
            for m in ABSOLUTE_URL.finditer(sample)
            if not (m.group().startswith("//") and not _is_url_context(sample, m.start()))
            and not m.group().startswith(ALLOWED_URLS)
        ]
        assert bool(hits) is foreign, sample


# -- cart.js budget ---------------------------------------------------------------------


def stripped_js(source: str) -> str:
    """cart.js without comments, indentation and blank lines (what the build publishes)."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def test_cart_js_stays_small() -> None:
    source = CART_JS.read_text(encoding="utf-8")
    size = len(stripped_js(source).encode("utf-8"))
    print(f"cart.js: {len(source.encode())} bytes, {size} without comments and indentation")
    assert size < 5 * 1024, f"cart.js is {size} bytes once stripped: keep it under 5 KB"


def test_cart_js_is_strict_and_free_of_dependencies() -> None:
    source = CART_JS.read_text(encoding="utf-8")
    assert '"use strict";' in source
    assert not re.search(r"^\s*(import|export)\b|\brequire\(", source, re.MULTILINE)
    assert "innerHTML" not in source, "build elements with textContent: names are merchant text"
    assert "localStorage" in source and "comptoir.cart.v1" in source


def test_templates_have_no_inline_script_handlers_or_styles() -> None:
    """The site's Content-Security-Policy allows no inline script or style."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(
            r"\son[a-z]+\s*=|\sstyle\s*=|<style\b|=\s*[\"']?\s*javascript:", text, re.IGNORECASE
        ):
            offenders.append(path.name)
        for script in re.findall(r"<script\b[^>]*>", text):
            if (
                "src=" not in script
                and "application/ld+json" not in script
                and "application/json" not in script
            ):
                offenders.append(f"{path.name}: {script}")
    assert offenders == []
