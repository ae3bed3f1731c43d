"""Translations for the site's text, compiled from the theme's ``.po`` files at build time."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def load_translations(theme_dir: Path, language: str) -> gettext.GNUTranslations:
    """The theme's catalogue of the site's text for a language ("fr", "en"), compiled in memory.

    Compiling here means no binary ``.mo`` file is kept in git or can go stale.
    """
    return gettext.GNUTranslations(io.BytesIO(compile_catalogue(theme_dir, language)))


def catalogue_path(theme_dir: Path, language: str, domain: str = "messages") -> Path:
    return theme_dir / "translations" / language / "LC_MESSAGES" / f"{domain}.po"


def compile_catalogue(theme_dir: Path, language: str, domain: str = "messages") -> bytes:
    """The theme's ``<domain>.po`` for a language, compiled to GNU ``.mo`` bytes."""
    with catalogue_path(theme_dir, language, domain).open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=domain)
    # An untranslated message must fall back to its English source, not to "": drop
    # entries whose translation (or any plural form of it) is empty.
    for message in list(catalog):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if not all(strings):
            catalog.delete(message.id, context=message.context)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()
