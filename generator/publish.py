"""The published shop of a build: what the functions need, gathered from content and theme.

See ``shop.published``. The e-mail templates are the shop's own (``theme/emails/``
of the shop, file by file) over the ones comptoir ships; so are the e-mail
translations, language by language.
"""

from __future__ import annotations

from pathlib import Path

from generator import TEMPLATE_ROOT
from generator.i18n import catalogue_path, compile_catalogue
from generator.presenters import page_url
from shop.config import LANGUAGES, ShopConfig
from shop.content import ShopContent
from shop.published import EmailTheme, PageRoles, PublishedShop

DEFAULT_THEME = TEMPLATE_ROOT / "theme"
EMAIL_DOMAIN = "emails"


def published_shop(root: Path, content: ShopContent, config: ShopConfig) -> PublishedShop:
    """The published shop of checked content (every legal page is there by then)."""
    roles = {page.role: page_url(page) for page in content.pages if page.role}
    pages = PageRoles(
        legal_notice=roles["legal-notice"],
        terms_of_sale=roles["terms-of-sale"],
        withdrawal=roles["withdrawal"],
        privacy=roles["privacy"],
    )
    return PublishedShop.of(config, content.catalogue, pages, email_theme(root / "theme"))


def email_theme(own_theme: Path) -> EmailTheme:
    """The e-mail templates and compiled translations, the shop's own first."""
    templates: dict[str, str] = {}
    for theme in (DEFAULT_THEME, own_theme):
        folder = theme / "emails"
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and path.suffix in (".html", ".txt"):
                    templates[path.name] = path.read_text(encoding="utf-8")
    translations = {}
    for language in LANGUAGES:
        theme = own_theme
        if not catalogue_path(own_theme, language, EMAIL_DOMAIN).is_file():
            theme = DEFAULT_THEME
        translations[language] = compile_catalogue(theme, language, EMAIL_DOMAIN)
    return EmailTheme(templates, translations)
