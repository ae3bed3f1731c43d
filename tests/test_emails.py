"""Order e-mails: what the shopper and the merchant read, in French and English, and safely."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from functions.emails import (
    InvalidAddress,
    confirmation_email,
    low_stock_email,
    mail_address,
    merchant_notification,
    message_id,
    supplier_order_email,
    undeliverable_notice,
)
from functions.store import StockHold, StockLevel
from generator.build import check
from generator.publish import DEFAULT_THEME, published_shop
from shop.config import Supplier
from shop.dispatch import expected_dispatch
from shop.money import Money
from shop.orders import (
    Address,
    Delivery,
    Order,
    OrderDiscount,
    OrderLine,
    OrderStatus,
    PricedOrder,
    VatAmount,
)
from shop.published import PublishedShop
from shop.text import header_text
from tests.mailer_contract import body, parse

ROOT = Path(__file__).resolve().parent.parent
NBSP = "\xa0"
CREATED = dt.datetime(2026, 9, 14, 8, 32, tzinfo=dt.UTC)  # 10:32 in Paris


def example_shop() -> PublishedShop:
    """The example shop, Thé & Terre, as its build publishes it for the functions."""
    content = check(ROOT)
    assert content.config is not None and not content.problems, list(content.problems)
    return published_shop(ROOT, content, content.config)


@pytest.fixture(scope="module")
def shop() -> PublishedShop:
    return example_shop()


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def french_order(**changes: Any) -> Order:
    """Two teas with a welcome discount, a teapot, Colissimo to Lyon, paid by card."""
    priced = PricedOrder(
        currency="EUR",
        lines=(
            OrderLine(
                "SENCHA-100",
                "Sencha bio du Japon (100 g)",
                2,
                eur(1245),
                eur(249),
                eur(2241),
                Decimal("5.5"),
            ),
            OrderLine(
                "KYUSU-BRUN",
                "Théière kyusu en grès",
                1,
                eur(4800),
                eur(0),
                eur(4800),
                Decimal("20"),
            ),
        ),
        subtotal=eur(7290),
        discounts=(OrderDiscount("Bienvenue -10 % sur les thés", eur(249), "BIENVENUE"),),
        delivery=Delivery("colissimo", "Colissimo suivi (48 h)", eur(495), pickup=False),
        vat=(
            VatAmount(Decimal("5.5"), eur(2241), eur(117)),
            VatAmount(Decimal("20"), eur(5295), eur(883)),
        ),
        total=eur(7536),
        promo_code="BIENVENUE",
    )
    order = Order(
        session_id="cs_test_a1B2c3",
        number="CT-2026-000123",
        status=OrderStatus.PAID,
        created_at=CREATED,
        email="marie.dupont@example.org",
        customer_name="Marie Dupont",
        language="fr",
        priced=priced,
        shipping_address=Address(
            "Marie Dupont", "8 place Bellecour", "Bâtiment B", "69002", "Lyon", "FR"
        ),
        marketing_consent=True,
    )
    return dataclasses.replace(order, **changes)


def english_order(**changes: Any) -> Order:
    """A tea collected at the shop, paid by SEPA debit that has not cleared yet."""
    line = OrderLine(
        "SENCHA-100", "Sencha bio du Japon (100 g)", 2, eur(1245), eur(0), eur(2490), Decimal("5.5")
    )
    priced = PricedOrder(
        currency="EUR",
        lines=(line,),
        subtotal=eur(2490),
        discounts=(),
        delivery=Delivery("pickup", "Retrait en boutique (Lyon 1er)", eur(0), pickup=True),
        vat=(VatAmount(Decimal("5.5"), eur(2490), eur(130)),),
        total=eur(2490),
        promo_code=None,
    )
    order = french_order(
        status=OrderStatus.PENDING,
        email="john@example.com",
        customer_name="John Smith",
        language="en",
        priced=priced,
        shipping_address=None,
        marketing_consent=False,
    )
    return dataclasses.replace(order, **changes)


def order(base: Order | None = None, **changes: Any) -> Order:
    """``base`` (the French order by default) with ``changes``."""
    return dataclasses.replace(base or french_order(), **changes)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "title"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self.skip -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def visible(html: str) -> str:
    """What a reader sees of an HTML part, on one line, with ordinary spaces."""
    parser = _Text()
    parser.feed(html)
    return flat("".join(parser.parts))


def flat(text: str) -> str:
    return " ".join(text.replace(NBSP, " ").split())


def parts(raw: bytes) -> tuple[EmailMessage, str, str]:
    message = parse(raw)
    return message, flat(body(message, "plain")), visible(body(message, "html"))


# -- the shopper's confirmation, in French -----------------------------------------


def test_french_confirmation_headers(shop: PublishedShop) -> None:
    mail = confirmation_email(order(), shop)
    message = parse(mail.message)
    assert mail.key == "confirmation:cs_test_a1B2c3"
    assert mail.to == "marie.dupont@example.org"
    assert message["Subject"] == "Commande CT-2026-000123 confirmée"
    assert message["From"].addresses[0].addr_spec == "commandes@the-et-terre.example"
    assert message["From"].addresses[0].display_name == "Thé & Terre"
    assert message["To"] == "Marie Dupont <marie.dupont@example.org>"
    assert message["Reply-To"].addresses[0].addr_spec == shop.config.legal.email
    assert message["Date"].datetime == CREATED
    assert message["Date"] == "Mon, 14 Sep 2026 10:32:00 +0200"  # the shop's time zone
    assert re.fullmatch(r"<[0-9a-f]{32}@the-et-terre\.example>", message["Message-ID"])
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "fr"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


@pytest.mark.parametrize("part", ["text", "html"])
def test_french_confirmation_says_everything_the_shopper_needs(
    shop: PublishedShop, part: str
) -> None:
    _, text, html = parts(confirmation_email(order(), shop).message)
    shown = text if part == "text" else html
    expected = [
        # the order
        "CT-2026-000123",
        "14 septembre 2026 à 10:32",
        # each line: title, quantity, unit price, line amount, discount, total after it
        "Sencha bio du Japon (100 g)",
        "12,45 €",
        "24,90 €",
        "Remise −2,49 €, soit 22,41 €",
        "Théière kyusu en grès",
        "48,00 €",
        # totals
        "Sous-total",
        "72,90 €",
        "Bienvenue -10 % sur les thés",
        "Livraison",
        "Colissimo suivi (48 h)",
        "4,95 €",
        "Total",
        "75,36 €",
        "dont TVA 5,5 % : 1,17 €",
        "dont TVA 20 % : 8,83 €",
        # where it goes
        "Adresse de livraison",
        "8 place Bellecour",
        "Bâtiment B",
        "69002 Lyon",
        "France",
        # payment
        "Paiement reçu",
        # the shop's legal identity
        shop.config.legal.company,
        shop.config.legal.address,
        shop.config.legal.registration,
        shop.config.legal.vat_number,
        shop.config.legal.email,
        # the right of withdrawal
        "droit de rétractation",
        "14 jours",
        "https://the-et-terre.example/retractation/",
    ]
    # Headings are in capitals in the text part.
    missing = [item for item in expected if flat(item).casefold() not in shown.casefold()]
    assert missing == []
    assert re.search(r"2\s*(×\s*12,45 €|12,45 €)", shown)  # the quantity next to the unit price
    assert "Paiement en attente" not in shown


def test_french_html_links_to_the_withdrawal_page(shop: PublishedShop) -> None:
    message = parse(confirmation_email(order(), shop).message)
    html = body(message, "html")
    assert 'href="https://the-et-terre.example/retractation/"' in html
    moved = dataclasses.replace(shop, pages=dataclasses.replace(shop.pages, withdrawal="/droit/"))
    other = body(parse(confirmation_email(order(), moved).message), "html")
    assert 'href="https://the-et-terre.example/droit/"' in other


# -- in English: SEPA pending, pickup ------------------------------------------------


def test_english_confirmation_for_a_pending_sepa_pickup(shop: PublishedShop) -> None:
    mail = confirmation_email(english_order(), shop)
    message, text, html = parts(mail.message)
    # Received, never "confirmed"; its own key, so the confirmation follows once it clears.
    assert mail.key == "pending:cs_test_a1B2c3"
    assert message["Subject"] == "Order CT-2026-000123 received: payment pending"
    assert message["Content-Language"] == "en"
    for shown in (text, html):
        for item in (
            "Hello John Smith,",
            "Order number: CT-2026-000123",
            "14 September 2026 at 10:32",
            "€12.45",
            "€24.90",
            "incl. VAT 5.5%: €1.30",
            "Payment pending",
            "SEPA direct debit",
            "You chose to collect your order: Retrait en boutique (Lyon 1er).",
            "Free",
            "right of withdrawal",
            "14 days",
            "https://the-et-terre.example/retractation/",
            shop.config.legal.vat_number,
        ):
            assert item.casefold() in shown.casefold(), item
        assert "Shipping address" not in shown
        assert "Payment received" not in shown
        assert "confirmed" not in shown and "receipt" not in shown


def test_unknown_language_falls_back_to_the_shops(shop: PublishedShop) -> None:
    message = parse(confirmation_email(french_order(language="de"), shop).message)
    assert message["Subject"] == "Commande CT-2026-000123 confirmée"


def test_free_shipping_and_no_discount(shop: PublishedShop) -> None:
    french = french_order()
    priced = dataclasses.replace(
        french.priced,
        delivery=dataclasses.replace(french.priced.delivery, price=eur(0)),
        discounts=(),
    )
    _, text, html = parts(confirmation_email(order(priced=priced), shop).message)
    assert "Livraison : Gratuit (Colissimo suivi (48 h))" in text
    assert "Livraison : Colissimo suivi (48 h) Gratuit" in html


# -- escaping and header injection ----------------------------------------------------


def test_html_part_escapes_what_comes_from_the_order(shop: PublishedShop) -> None:
    french = french_order()
    first, *others = french.priced.lines
    hostile = order(
        customer_name="<script>alert(1)</script> Eve",
        priced=dataclasses.replace(
            french.priced, lines=(dataclasses.replace(first, title="<b>Thé</b> & co"), *others)
        ),
        shipping_address=dataclasses.replace(
            french.shipping_address, line1='<img src="https://evil.example/x.png">'
        ),
    )
    mail = confirmation_email(hostile, shop)
    message = parse(mail.message)
    html = body(message, "html")
    assert "<script>" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;b&gt;Thé&lt;/b&gt; &amp; co" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Eve" in html
    # Plain text is not HTML: it shows what was typed.
    assert "<b>Thé</b> & co" in body(message, "plain")
    merchant = body(parse(merchant_notification(hostile, shop).message), "html")
    assert "<script>" not in merchant and "<b>" not in merchant


INJECTED_NAMES = [
    "Eve\r\nBcc: x@evil.example",
    "Eve\nBcc: x@evil.example",
    "Eve\rBcc: x@evil.example",
    "Eve\u2028Bcc: x@evil.example",
    "Eve\x00\x1b[31m\x85Bcc: x@evil.example",
]


@pytest.mark.parametrize("name", INJECTED_NAMES)
def test_a_name_cannot_inject_a_header(shop: PublishedShop, name: str) -> None:
    named = order(customer_name=name)
    for mail in (
        confirmation_email(named, shop),
        merchant_notification(named, shop),
    ):
        message = parse(mail.message)
        assert "Bcc" not in message, mail.key
        assert b"\nBcc" not in mail.message and b"\rBcc" not in mail.message
        assert [k for k in message if k.lower() in ("bcc", "cc")] == []
    confirmation = parse(confirmation_email(named, shop).message)
    assert confirmation["To"].addresses[0].addr_spec == "marie.dupont@example.org"
    assert "\n" not in confirmation["To"].addresses[0].display_name
    assert len(confirmation["To"].addresses) == 1
    merchant = parse(merchant_notification(named, shop).message)
    assert [a.addr_spec for a in merchant["Reply-To"].addresses] == ["marie.dupont@example.org"]


@pytest.mark.parametrize(
    "email",
    [
        "marie@example.org\r\nBcc: x@evil.example",
        "marie@example.org\nBcc: x@evil.example",
        "marie@example.org\r\n",
        "marie@example.org, x@evil.example",
        "Marie <marie@example.org>",
    ],
)
def test_an_address_with_line_breaks_or_extras_is_refused(shop: PublishedShop, email: str) -> None:
    with pytest.raises(ValueError) as caught:
        confirmation_email(order(email=email), shop)
    assert isinstance(caught.value, InvalidAddress)
    assert "evil" not in str(caught.value)  # loggable: the message does not repeat the address
    # The merchant still hears of the order, warned that no confirmation went out.
    mail = merchant_notification(order(email=email), shop)
    message = parse(mail.message)
    assert "Bcc" not in message and "Reply-To" not in message
    assert b"\nBcc" not in mail.message
    assert message["To"].addresses[0].addr_spec == shop.config.email.orders_to
    assert "aucune confirmation" in body(message, "plain")
    assert "Répondez à cet e-mail" not in body(message, "plain")  # there is no one to reply to


def test_an_order_number_cannot_inject_a_header_through_the_subject(shop: PublishedShop) -> None:
    mail = confirmation_email(order(number="CT-1\r\nBcc: x@evil.example"), shop)
    message = parse(mail.message)
    assert "Bcc" not in message
    assert message["Subject"] == "Commande CT-1 Bcc: x@evil.example confirmée"


@pytest.mark.parametrize(
    "address",
    [
        "",
        "plain",
        "a@b",
        "a@b.",
        "a@.fr",
        "a b@c.fr",
        "a@@b.fr",
        "@b.fr",
        "é@b.fr",
        "a@b.fr\t",
        "\x00a@b.fr",
        "a@b.fr (comment)",
        "<a@b.fr>",
        "a@" + "b" * 250 + ".fr",
    ],
)
def test_mail_address_rejects_invalid_addresses(address: str) -> None:
    with pytest.raises(InvalidAddress):
        mail_address(address)


def test_mail_address_accepts_real_ones() -> None:
    assert mail_address("a.b+tag@sub.example.org").addr_spec == "a.b+tag@sub.example.org"
    assert mail_address("x@Bücher.example").addr_spec == "x@xn--bcher-kva.example"
    named = mail_address("zoe@client.example", "Zoë\r\n\u202eNúñez")
    assert named.display_name == "Zoë Núñez"


def test_header_text_keeps_letters_and_drops_controls() -> None:
    assert header_text("  Thé\t&\r\nTerre \x07 ") == "Thé & Terre"
    assert header_text("x" * 300, limit=10) == "x" * 10


# -- stable, well-formed messages -------------------------------------------------------


def test_rendering_is_deterministic(shop: PublishedShop) -> None:
    first = confirmation_email(order(), shop)
    assert confirmation_email(order(), shop) == first  # same bytes, Message-ID included
    other = confirmation_email(order(session_id="cs_test_other"), shop)
    assert parse(other.message)["Message-ID"] != parse(first.message)["Message-ID"]
    merchant = merchant_notification(order(), shop)
    assert parse(merchant.message)["Message-ID"] != parse(first.message)["Message-ID"]
    assert (
        message_id("confirmation:cs_test_a1B2c3", "the-et-terre.example")
        == parse(first.message)["Message-ID"]
    )


def test_naive_order_time_is_taken_as_utc(shop: PublishedShop) -> None:
    naive = dataclasses.replace(order(), created_at=CREATED.replace(tzinfo=None))
    assert confirmation_email(naive, shop) == confirmation_email(order(), shop)


def test_messages_are_7bit_with_short_lines(shop: PublishedShop) -> None:
    for mail in (
        confirmation_email(order(), shop),
        merchant_notification(order(), shop),
        confirmation_email(english_order(), shop),
    ):
        assert mail.message.isascii()
        assert b"\r\n" in mail.message and b"\n" not in mail.message.replace(b"\r\n", b"")
        assert max(len(line) for line in mail.message.split(b"\r\n")) <= 78


VOID = {"meta", "br", "hr", "img", "input", "link"}


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.remote: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("img", "link", "script", "iframe", "object"):
            self.remote.append(tag)
        for name, value in attrs:
            if name == "src" or (name == "style" and value and "url(" in value):
                self.remote.append(f"{tag} {name}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


@pytest.mark.parametrize("kind", ["confirmation", "merchant"])
def test_html_is_balanced_self_contained_and_inline_styled(shop: PublishedShop, kind: str) -> None:
    build = confirmation_email if kind == "confirmation" else merchant_notification
    for shopper in (french_order(), english_order()):
        html = body(parse(build(shopper, shop).message), "html")
        checker = _Balance()
        checker.feed(html)
        assert checker.errors == [] and checker.stack == []
        assert checker.remote == [], "no images, scripts or remote resources in e-mails"
        language = shopper.language if kind == "confirmation" else shop.config.language
        assert html.startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in html
        assert 'role="presentation"' in html  # layout tables are marked as such


# -- a supplier's order ----------------------------------------------------------------


def test_a_supplier_gets_its_lines_in_the_shop_language_prices_only_when_shown(
    shop: PublishedShop,
) -> None:
    teapot = french_order().priced.lines[1]
    quiet = Supplier("atelier", "Atelier Dupont", "commandes@atelier.example", None)
    mail = supplier_order_email(french_order(), quiet, [teapot], shop)
    message, text, html = parts(mail.message)
    assert (mail.key, mail.to, mail.about) == (
        "supplier:atelier:cs_test_a1B2c3",
        "commandes@atelier.example",
        "marie.dupont@example.org",  # forgetting the shopper empties it
    )
    assert message["Subject"] == "Commande CT-2026-000123 de Thé & Terre à préparer"
    assert message["Reply-To"].addresses[0].addr_spec == shop.config.legal.email
    for shown in (text, html):
        for expected in (
            "KYUSU-BRUN",
            "Théière kyusu en grès",
            "8 place Bellecour",
            "Marie Dupont",
        ):
            assert expected in shown, expected
        for absent in ("SENCHA", "Sencha", "marie.dupont@example.org"):
            assert absent not in shown, absent
        # No amount (the shop's legal form under it names its capital: "5 000 €").
        assert re.findall(r"\d,\d\d", shown) == []
    # A pickup order in English, from a supplier shown the prices: the shop's language,
    # the shop's address to send to, the unit and line prices.
    open_book = dataclasses.replace(quiet, show_prices=True)
    pickup = english_order(status=OrderStatus.PAID)
    mail = supplier_order_email(pickup, open_book, pickup.priced.lines, shop)
    message, text, html = parts(mail.message)
    assert message["Content-Language"] == shop.config.language == "fr"
    for shown in (text, html):
        assert "Le client retire cette commande à la boutique" in shown
        assert shop.config.legal.address in shown
        assert re.search(r"2 × 12,45\s€", shown) or re.search(r"2\s+12,45\s€", shown), shown
        assert re.search(r"24,90\s€", shown)
    checker = _Balance()
    checker.feed(body(message, "html"))
    assert (checker.errors, checker.stack, checker.remote) == ([], [], [])


# -- the merchant's notification ----------------------------------------------------------


def test_merchant_notification(shop: PublishedShop) -> None:
    mail = merchant_notification(order(), shop)
    message, text, html = parts(mail.message)
    assert mail.key == "merchant:cs_test_a1B2c3"
    assert mail.to == shop.config.email.orders_to
    assert message["Subject"] == "Nouvelle commande CT-2026-000123 : 75,36 €"
    assert message["To"].addresses[0].addr_spec == shop.config.email.orders_to
    assert message["Reply-To"] == "Marie Dupont <marie.dupont@example.org>"
    assert message["Content-Language"] == "fr"  # the shop's language, not the shopper's
    for shown in (text, html):
        for item in (
            "Nouvelle commande CT-2026-000123",
            "Client : Marie Dupont",
            "marie.dupont@example.org",
            "Paiement reçu",
            "Newsletter : le client a accepté.",
            "Sencha bio du Japon (100 g)",
            "75,36 €",
            "8 place Bellecour",
        ):
            assert item in shown, item


def made_to_order(base: Order, days: int) -> Order:
    """``base`` with its last line (the teapot) made to order in ``days`` shop days."""
    *others, last = base.priced.lines
    lines = (*others, dataclasses.replace(last, lead_time_days=days))
    return dataclasses.replace(base, priced=dataclasses.replace(base.priced, lines=lines))


def test_the_confirmation_states_each_lead_time_and_the_expected_dispatch_date(
    shop: PublishedShop,
) -> None:
    # Placed on Monday 14 September 2026: ten shop days later is Monday the 28th.
    _, text, html = parts(confirmation_email(made_to_order(order(), 10), shop).message)
    for shown in (text, html):
        assert "Expédié sous 10 jours ouvrés" in shown
        assert "Date d'expédition prévue : lundi 28 septembre 2026" in shown
        assert shown.count("Expédié sous") == 1  # the tea has no lead time
    _, text, html = parts(confirmation_email(made_to_order(order(), 1), shop).message)
    assert "Expédié sous 1 jour ouvré" in text and "mardi 15 septembre 2026" in text
    _, text, html = parts(confirmation_email(order(), shop).message)
    assert "Expédié sous" not in text + html and "expédition prévue" not in text + html


def test_a_pending_payment_promises_no_dispatch_date_yet(shop: PublishedShop) -> None:
    _, text, html = parts(confirmation_email(made_to_order(english_order(), 3), shop).message)
    assert "dispatch" not in (text + html).casefold() and "Ships within" not in text + html


def test_the_merchant_is_told_the_date_promised(shop: PublishedShop) -> None:
    _, text, html = parts(merchant_notification(made_to_order(order(), 10), shop).message)
    for shown in (text, html):
        assert "À expédier au plus tard le lundi 28 septembre 2026" in shown
    _, text, html = parts(merchant_notification(order(), shop).message)
    assert "expédier au plus tard" not in text + html


def test_merchant_notification_of_a_pending_english_order(shop: PublishedShop) -> None:
    mail = merchant_notification(english_order(), shop)
    message, text, _ = parts(mail.message)
    assert message["Subject"] == "Nouvelle commande CT-2026-000123 : 24,90 € (paiement en attente)"
    assert "Paiement en attente (prélèvement SEPA)" in text
    assert "Le client retirera sa commande" in text


# -- the merchant's notice of an undelivered e-mail -----------------------------------------


def test_undeliverable_notice_says_what_to_whom_and_why_in_the_shops_language(
    shop: PublishedShop,
) -> None:
    refused = confirmation_email(english_order(status=OrderStatus.PAID), shop)
    reason = "SMTP server mx.example:25 refused the recipients (550) <script>"
    later = CREATED + dt.timedelta(hours=2)
    notice = undeliverable_notice(refused, reason, 1, shop, later)
    message, text, html = parts(notice.message)
    assert notice.key == "alert:confirmation:cs_test_a1B2c3"
    assert notice.to == shop.config.email.orders_to
    assert message["Subject"] == "E-mail non distribué : Order CT-2026-000123 confirmed"
    assert message["To"].addresses[0].addr_spec == shop.config.email.orders_to
    assert message["Reply-To"] is None
    assert message["Content-Language"] == "fr"
    assert message["Auto-Submitted"] == "auto-generated"
    for shown in (text, html):
        for item in (
            "Un e-mail n'a pas pu être distribué",
            f"Destinataire : {refused.to}",
            "Objet : Order CT-2026-000123 confirmed",
            "Tentatives : 1",
            f"Raison : {reason}",
        ):
            assert item in shown, item
    source = body(message, "html")
    assert "<script>" not in source  # the reason is escaped, not markup
    checker = _Balance()
    checker.feed(source)
    assert (checker.errors, checker.stack, checker.remote) == ([], [], [])
    assert undeliverable_notice(refused, reason, 1, shop, later) == notice  # deterministic


# -- translations ------------------------------------------------------------------------


def source_messages() -> set[str]:
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    found = {
        message
        for template in sorted((DEFAULT_THEME / "emails").iterdir())
        for _, message, _, _ in extract_from_file(
            "jinja2.ext:babel_extract", str(template), options=options
        )
        if isinstance(message, str)
    }
    found |= {
        message
        for source in (
            "functions/emails.py",
            "functions/invoice_pdf.py",
            "functions/withdrawals.py",
        )
        for _, message, _, _ in extract_from_file("python", str(ROOT / source))
        if isinstance(message, str)
    }
    return found


@pytest.mark.parametrize("language", ["fr", "en"])
def test_catalogue_lists_every_string_and_fr_translates_them(language: str) -> None:
    path = DEFAULT_THEME / "translations" / language / "LC_MESSAGES" / "emails.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    listed = {m.id for m in catalog if m.id}
    assert listed == source_messages(), "update emails.po: strings were added or removed"
    placeholders = re.compile(r"%\((\w+)\)s")
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        if language == "fr":
            assert message.string, f"untranslated: {message.id}"
            assert sorted(placeholders.findall(str(message.string))) == sorted(
                placeholders.findall(str(message.id))
            ), message.id


# -- the merchant's low-stock alert ------------------------------------------------------


def test_low_stock_alert_names_the_variant_the_figures_and_the_command(
    shop: PublishedShop,
) -> None:
    item = next(i for p in shop.catalogue.public for i in p.items if i.variant is not None)
    level = StockLevel(
        sku=item.sku,
        count=5,
        counted_at=None,
        count_id="c7",
        sold=2,
        holds=(StockHold(f"cs_{item.sku}", 1, CREATED + dt.timedelta(minutes=30)),),
    )
    alert = low_stock_email(level, 2, shop, CREATED)
    message, text, html = parts(alert.message)
    assert alert.key == f"stock-low:{item.sku}:c7"
    assert alert.to == shop.config.email.orders_to and message["Reply-To"] is None
    assert message["Subject"] == f"Stock bas : {item.title}, plus que 2"
    assert " — " in item.title  # the product's title with its variant
    for shown in (text, html):
        for expected in (
            f"Le stock s'épuise : {item.title}",
            f"Référence : {item.sku}",
            "Disponible : 2",
            "Réservé par des paiements en cours : 1",
            "Seuil d'alerte : 2",
            f"comptoir stock set {item.sku} N --reason",
        ):
            assert expected in shown, expected
    checker = _Balance()
    checker.feed(body(message, "html"))
    assert (checker.errors, checker.stack, checker.remote) == ([], [], [])


def test_a_supplier_is_told_the_dispatch_date_of_its_own_lines(shop: PublishedShop) -> None:
    """The teapot's 10 shop days, counted from the order, not the sencha's 30 days, which
    another supplier (or the shop) fulfils."""
    order = french_order()
    sencha, teapot = order.priced.lines
    lines = (
        dataclasses.replace(sencha, lead_time_days=30),
        dataclasses.replace(teapot, lead_time_days=10),
    )
    order = dataclasses.replace(order, priced=dataclasses.replace(order.priced, lines=lines))
    supplier = Supplier("atelier", "Atelier Dupont", "commandes@atelier.example", None)
    mail = supplier_order_email(order, supplier, [lines[1]], shop)
    _, text, html = parts(mail.message)
    expected = format_date(
        expected_dispatch(order.created_at, shop.config.timezone, [10]), "full", locale="fr_FR"
    )
    for shown in (text, html):
        assert f"À expédier avant le {expected}." in shown
    mail = supplier_order_email(order, supplier, [sencha], shop)  # no lead time: no date
    assert "À expédier" not in parts(mail.message)[1]
