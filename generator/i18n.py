"""Translations for the site's text, compiled from the theme's ``.po`` files at build time."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def load_translations(theme_dir: Path, language: str) -> gettext.GNUTranslations:
    """The theme's catalogue for a language ("fr", "en"), compiled in memory.

    Compiling here means no binary ``.mo`` file is kept in git or can go stale.
    """
    po_path = theme_dir / "translations" / language / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
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
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
