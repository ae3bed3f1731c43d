"""Order e-mails: the shopper's confirmation and the merchant's notification, what became
of a payment (cleared, failed, oversold), the shopper's shipping and refund e-mails, the
merchant's notice when an e-mail could not be delivered, the low-stock alert, a supplier's
order, and a withdrawal's acknowledgement and merchant alert.

Each is a complete RFC 5322 message (plain text + HTML alternatives) rendered
from the shop's e-mail templates (its own ``theme/emails/``, carried by the
published shop) in the order's language, wrapped in an
``OutgoingMail`` for the store's outbox. Rendering is deterministic: the same
order gives the same bytes (Message-ID, Date and MIME boundary included), so a
retried webhook queues nothing new and a re-sent message is recognisably the
same one.

Header safety: every name, address and subject that comes from order data is
cleaned of control characters and line breaks before it reaches a header, and
addresses are parsed strictly; an invalid one raises ``InvalidAddress`` (a
``ValueError``) for the caller to log.
"""

from __future__ import annotations

import datetime as dt
import gettext
import hashlib
import io
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP, default
from email.utils import format_datetime, parseaddr
from threading import Lock
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date, format_time
from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

from functions.presenters import dispatch_display, order_view
from functions.store import OutgoingMail, StockLevel
from shop.config import LANGUAGES, ShopConfig, Supplier
from shop.orders import LineQuantity, Order, OrderLine, OrderStatus, Refund, Shipment
from shop.published import EmailTheme, PublishedShop
from shop.returns import ReturnRequest
from shop.text import header_text, is_unsafe_char

_MAX_ADDRESS = 254  # RFC 5321's limit on a forward path
ALERT_PREFIX = "alert:"  # keys of the merchant's notices about undelivered mail


class InvalidAddress(ValueError):
    """An e-mail address that cannot be used in a header.

    The message says what is wrong without repeating the address, so it can be
    logged without personal data (or a forged log line).
    """


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a mail (the invoice's PDF with the confirmation)."""

    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


# -- the views templates receive (the order's: functions.presenters.OrderView) ---------


@dataclass(frozen=True, slots=True)
class ShopView:
    name: str
    url: str
    company: str
    legal_form: str | None
    address: str
    registration: str
    vat_number: str
    email: str
    phone: str | None
    mediator: str | None
    withdrawal_url: str


@dataclass(frozen=True, slots=True)
class UnitsView:
    title: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ShipmentView:
    carrier: str  # "Mondial Relay"
    tracking: str
    url: str
    lines: tuple[UnitsView, ...]


@dataclass(frozen=True, slots=True)
class RefundView:
    amount: str  # "12,50 €"
    lines: tuple[UnitsView, ...]
    cancelled: bool
    refunded_in_all: str


# -- public API --------------------------------------------------------------------


def confirmation_email(
    order: Order, published: PublishedShop, attachments: Sequence[Attachment] = ()
) -> OutgoingMail:
    """The shopper's confirmation, in the language they used, from the shop's sender.

    While an asynchronous payment (SEPA) is pending it is an acknowledgement instead,
    never "confirmed", keyed ``pending:``, so the confirmation still follows once the
    payment clears. It links the shop's withdrawal page (the page whose role is
    ``withdrawal``), and carries ``attachments`` (the invoice, when the order is paid).
    Raises InvalidAddress if the order's e-mail address cannot be used.
    """
    config = published.config
    language = _language(order.language, config)
    environment = _environment(published.emails, language)
    translations = _translations_of(environment)
    to = mail_address(order.email, order.customer_name)
    key = f"confirmation:{order.session_id}"
    view = order_view(order, LANGUAGES[language])
    shop = _shop_view(config, published.url(published.pages.withdrawal))
    subject = translations.gettext("Order %(number)s confirmed") % {"number": view.number}
    if order.status == OrderStatus.PENDING:
        key = f"pending:{order.session_id}"
        subject = translations.gettext("Order %(number)s received: payment pending") % {
            "number": view.number
        }
    text, html = _render(
        environment,
        language,
        "confirmation",
        order=view,
        placed_on=_placed_on(order, config, language, translations),
        dispatch_on=_dispatch_on(order, config, language),
        customer_email_valid=True,
        shop=shop,
        customer=True,
    )
    message = _message(
        key=key,
        config=config,
        to=to,
        reply_to=mail_address(config.legal.email, config.name),
        subject=subject,
        created_at=order.created_at,
        language=language,
        text=text,
        html=html,
        attachments=attachments,
    )
    return OutgoingMail(key=key, to=to.addr_spec, message=message)


def merchant_notification(order: Order, published: PublishedShop) -> OutgoingMail:
    """The merchant's notice of a new order, to the shop's ``orders_to``, in its language.

    Replies go to the customer. A customer address that cannot be used does not
    stop this mail: it says so instead, since no confirmation could be sent.
    """
    config = published.config
    language = _language(config.language, config)
    environment = _environment(published.emails, language)
    translations = _translations_of(environment)
    to = mail_address(config.email.orders_to)
    try:
        customer: Address | None = mail_address(order.email, order.customer_name)
    except InvalidAddress:
        customer = None
    key = f"merchant:{order.session_id}"
    view = order_view(order, LANGUAGES[language])
    shop = _shop_view(config, published.url(published.pages.withdrawal))
    subject = translations.gettext("New order %(number)s: %(total)s") % {
        "number": view.number,
        "total": view.total.display,
    }
    if not view.paid:
        subject += " " + translations.gettext("(payment pending)")
    text, html = _render(
        environment,
        language,
        "merchant",
        order=view,
        placed_on=_placed_on(order, config, language, translations),
        dispatch_on=_dispatch_on(order, config, language),
        customer_email_valid=customer is not None,
        shop=shop,
        customer=False,
        fulfilled_by=fulfilled_by(order, published),
    )
    message = _message(
        key=key,
        config=config,
        to=to,
        reply_to=customer,
        subject=subject,
        created_at=order.created_at,
        language=language,
        text=text,
        html=html,
    )
    return OutgoingMail(key=key, to=to.addr_spec, message=message, about=order.email)


def fulfilled_by(order: Order, published: PublishedShop) -> dict[str, str]:
    """The names of who fulfils the order's lines a supplier sends, by SKU (for the
    merchant's e-mails: those lines are not theirs to ship)."""
    suppliers = published.suppliers_by_sku(order.priced.lines)
    return {header_text(sku, limit=64): header_text(s.name) for sku, s in suppliers.items()}


SUPPLIER_MAIL = "supplier:"  # the key's start of a supplier's order: supplier:<id>:<session>


def supplier_mail_key(order: Order, supplier: Supplier) -> str:
    return f"{SUPPLIER_MAIL}{supplier.id}:{order.session_id}"


def supplier_order_email(
    order: Order, supplier: Supplier, lines: Sequence[OrderLine], published: PublishedShop
) -> OutgoingMail:
    """A supplier's order: the ``lines`` it fulfils and where they go, in the shop's
    language, from the shop's sender, replies to the shop. Prices only with the supplier's
    ``show_prices``; never the shopper's e-mail address. Key ``supplier:<id>:<session>``;
    filed under the shopper (their name and address are in it). Raises InvalidAddress if
    the supplier's address cannot be used (the settings are validated: it can)."""
    config = published.config
    language = _language(config.language, config)
    environment = _environment(published.emails, language)
    translations = _translations_of(environment)
    assert supplier.email is not None
    to = mail_address(supplier.email, supplier.name)
    key = supplier_mail_key(order, supplier)
    view = order_view(order, LANGUAGES[language])
    skus = {header_text(line.sku, limit=64) for line in lines}
    text, html = _render(
        environment,
        language,
        "supplier_order",
        order=view,
        lines=tuple(line for line in view.lines if line.sku in skus),
        supplier=header_text(supplier.name),
        show_prices=supplier.show_prices,
        placed_on=_placed_on(order, config, language, translations),
        dispatch_by=_dispatch_on(order, config, language, lines),
        shop=_shop_view(config, published.url(published.pages.withdrawal)),
        customer=False,
    )
    message = _message(
        key=key,
        config=config,
        to=to,
        reply_to=mail_address(config.legal.email, config.name),
        subject=translations.gettext("Order %(number)s from %(shop)s to prepare")
        % {"number": view.number, "shop": config.name},
        created_at=order.confirmed_at,
        language=language,
        text=text,
        html=html,
    )
    return OutgoingMail(key=key, to=to.addr_spec, message=message, about=order.email)


def undeliverable_notice(
    mail: OutgoingMail, reason: str, attempts: int, published: PublishedShop, now: dt.datetime
) -> OutgoingMail:
    """The merchant's notice that ``mail`` was given up: to whom, its subject, and why.

    Sent to the shop's ``orders_to`` in the shop's language, keyed ``alert:<mail key>``
    so it is queued once however often the give-up is reported. ``reason`` is the
    mailer's own short message (it names no password). Raises InvalidAddress if
    ``orders_to`` cannot be used.
    """
    config = published.config
    language = _language(config.language, config)
    environment = _environment(published.emails, language)
    translations = _translations_of(environment)
    to = mail_address(config.email.orders_to)
    key = f"{ALERT_PREFIX}{mail.key}"
    subject = _subject_of(mail.message) or mail.key
    text, html = _render(
        environment,
        language,
        "undeliverable",
        recipient=mail.to,
        subject=subject,
        attempts=attempts,
        reason=reason,
        shop=_shop_view(config, published.url(published.pages.withdrawal)),
    )
    message = _message(
        key=key,
        config=config,
        to=to,
        reply_to=None,
        subject=translations.gettext("Undelivered e-mail: %(subject)s") % {"subject": subject},
        created_at=now,
        language=language,
        text=text,
        html=html,
    )
    return OutgoingMail(key=key, to=to.addr_spec, message=message, about=mail.person)


@dataclass(frozen=True, slots=True)
class LowStockView:
    sku: str
    title: str  # the product's title, with its variant ("Bol — Bleu"); the SKU if unknown
    available: int  # below zero when oversold
    held: int
    threshold: int


def low_stock_email(
    level: StockLevel, threshold: int, published: PublishedShop, now: dt.datetime
) -> OutgoingMail:
    """The merchant's alert that ``level``'s SKU is at or below ``threshold``: what is
    left, what checkouts hold, and the command that records a restock. To the shop's
    ``orders_to``, in the shop's language, keyed ``stock-low:<SKU>:<count id>`` so one
    crossing alerts once (``functions.stock_alerts``). Raises InvalidAddress as the others."""
    config = published.config
    language = _language(config.language, config)
    environment = _environment(published.emails, language)
    translations = _translations_of(environment)
    to = mail_address(config.email.orders_to)
    key = f"stock-low:{level.sku}:{level.count_id}"
    item = published.catalogue.item(level.sku)
    view = LowStockView(
        sku=level.sku,
        title=level.sku if item is None else item.title,
        available=level.available,
        held=level.held,
        threshold=threshold,
    )
    subject = translations.gettext("Low stock: %(title)s, %(count)s left") % {
        "title": view.title,
        "count": max(view.available, 0),  # oversold: none left (the body says by how much)
    }
    text, html = _render(
        environment,
        language,
        "stock_low",
        stock=view,
        shop=_shop_view(config, published.url(published.pages.withdrawal)),
    )
    message = _message(
        key=key,
        config=config,
        to=to,
        reply_to=None,
        subject=subject,
        created_at=now,
        language=language,
        text=text,
        html=html,
    )
    return OutgoingMail(key=key, to=to.addr_spec, message=message)


# -- payment outcomes: cleared, failed, oversold ---------------------------------------

Subject = Callable[[gettext.GNUTranslations], str]  # the subject's words, in the mail's language


def payment_failed_email(order: Order, published: PublishedShop) -> OutgoingMail:
    """The shopper's notice that their payment failed (a SEPA debit their bank refused),
    with a link to the cart filled with the order's items, to pay again. Key ``failed:``.
    Raises InvalidAddress if the order's e-mail address cannot be used."""
    return _outcome_mail(
        order,
        published,
        f"failed:{order.session_id}",
        "payment_failed",
        lambda t: t.gettext("Payment for order %(number)s failed"),
        pay_again_url=pay_again_url(order, published),
    )


def oversold_email(order: Order, published: PublishedShop, refunded: bool) -> OutgoingMail:
    """The shopper's notice that their late payment bought units sold meanwhile: an
    apology and the refund (``refunded``), or that the shop is checking what it can
    supply and will write again. Key ``oversold:``. Raises InvalidAddress like the others."""

    def subject(t: gettext.GNUTranslations) -> str:
        if refunded:
            return t.gettext("Order %(number)s refunded: our apologies")
        return t.gettext("Order %(number)s: payment received, checking stock")

    return _outcome_mail(
        order, published, f"oversold:{order.session_id}", "oversold", subject, refunded=refunded
    )


def merchant_outcome(
    order: Order,
    published: PublishedShop,
    outcome: str,
    shortages: Mapping[str, int] | None = None,
) -> OutgoingMail:
    """The merchant's notice of what became of an order's payment, keyed
    ``merchant-<outcome>:``: "cleared" (the SEPA debit cleared: prepare it), "failed"
    (do not ship), or "oversold" (``shortages``: units per SKU sold beyond the stock),
    which says what the shop's ``oversold`` policy does about it."""
    refund = published.config.oversold == "refund"
    subjects: dict[str, Subject] = {
        "cleared": lambda t: t.gettext("Payment received for order %(number)s"),
        "failed": lambda t: t.gettext("Payment failed for order %(number)s: do not ship"),
        "oversold": (
            (lambda t: t.gettext("Oversold: order %(number)s refunded automatically"))
            if refund
            else (lambda t: t.gettext("Oversold: order %(number)s awaits your decision"))
        ),
    }
    titles = {line.sku: header_text(line.title, limit=200) for line in order.priced.lines}
    short = tuple((titles.get(sku, sku), units) for sku, units in (shortages or {}).items())
    return _outcome_mail(
        order,
        published,
        f"merchant-{outcome}:{order.session_id}",
        "merchant_outcome",
        subjects[outcome],
        merchant=True,
        outcome=outcome,
        shortages=short,
        refund=refund,
        fulfilled_by=fulfilled_by(order, published),
    )


def pay_again_url(order: Order, published: PublishedShop) -> str:
    """The cart page with the order's items in it (``?sku=…&quantity=…`` per line)."""
    query = urlencode([(k, v) for line in order.priced.lines for k, v in _cart_line(line)])
    return published.url(published.pages.cart) + "?" + query


def _cart_line(line: OrderLine) -> tuple[tuple[str, str], tuple[str, str]]:
    return ("sku", line.sku), ("quantity", str(line.quantity))


def _outcome_mail(
    order: Order,
    published: PublishedShop,
    key: str,
    template: str,
    subject: Subject,
    *,
    merchant: bool = False,
    **context: object,
) -> OutgoingMail:
    """A mail about ``order`` to its shopper (in their language, replies to the shop) or
    to the merchant (in the shop's, replies to the shopper), dated when the order took
    its current status, so the same order always gives the same bytes."""
    config = published.config
    language = _language(config.language if merchant else order.language, config)
    environment = _environment(published.emails, language)
    translations = _translations_of(environment)
    try:
        customer: Address | None = mail_address(order.email, order.customer_name)
    except InvalidAddress:
        if not merchant:
            raise
        customer = None
    to = mail_address(config.email.orders_to) if merchant else customer
    assert to is not None
    view = order_view(order, LANGUAGES[language])
    text, html = _render(
        environment,
        language,
        template,
        order=view,
        placed_on=_placed_on(order, config, language, translations),
        customer_email_valid=customer is not None,
        shop=_shop_view(config, published.url(published.pages.withdrawal)),
        customer=not merchant,
        **context,
    )
    moved = [event.at for event in order.history if event.status == order.status]
    message = _message(
        key=key,
        config=config,
        to=to,
        reply_to=customer if merchant else mail_address(config.legal.email, config.name),
        subject=subject(translations) % {"number": view.number},
        created_at=moved[-1] if moved else order.created_at,
        language=language,
        text=text,
        html=html,
    )
    return OutgoingMail(key=key, to=to.addr_spec, message=message, about=order.email)


# -- shipping and refunds ------------------------------------------------------------


def shipping_email(order: Order, shipment: Shipment, published: PublishedShop) -> OutgoingMail:
    """The shopper's e-mail that a parcel left: carrier, tracking link, what it holds and
    what is still to come. Keyed per shipment; raises InvalidAddress as the confirmation."""
    remaining = _units(order, [LineQuantity(s, q) for s, q in order.to_ship().items()])
    view = ShipmentView(
        carrier=header_text(shipment.carrier.replace("-", " ").replace("_", " ").title()),
        tracking=header_text(shipment.tracking, limit=64),
        url=shipment.tracking_url,
        lines=_units(order, shipment.lines),
    )

    def subject(translations: gettext.GNUTranslations, number: str) -> str:
        if remaining:
            return translations.gettext("Part of your order %(number)s has shipped") % {
                "number": number
            }
        return translations.gettext("Your order %(number)s has shipped") % {"number": number}

    key = f"shipped:{order.session_id}:{shipment.number}"
    return _shopper_mail(
        order, published, key, "shipped", subject, shipment.at, shipment=view, remaining=remaining
    )


def refund_email(order: Order, refund: Refund, published: PublishedShop) -> OutgoingMail:
    """The shopper's e-mail that ``refund`` was made (or that the order was cancelled and
    refunded): the amount, the units it pays back, and all refunded so far. Keyed per
    refund; raises InvalidAddress as the confirmation."""
    locale = LANGUAGES[_language(order.language, published.config)]
    view = RefundView(
        amount=refund.amount.format(locale),
        lines=_units(order, refund.lines),
        cancelled=refund.cancel,
        refunded_in_all=order.refunded().format(locale),
    )

    def subject(translations: gettext.GNUTranslations, number: str) -> str:
        if refund.cancel:
            return translations.gettext("Order %(number)s cancelled and refunded") % {
                "number": number
            }
        return translations.gettext("Refund of %(amount)s for order %(number)s") % {
            "amount": view.amount,
            "number": number,
        }

    key = f"refunded:{order.session_id}:{refund.key}"
    at = refund.settled_at or refund.requested_at
    return _shopper_mail(order, published, key, "refunded", subject, at, refund=view)


def mail_address(addr_spec: str, display_name: str = "") -> Address:
    """A strictly checked address with a cleaned display name; raises InvalidAddress.

    The address must be ``local@domain.tld`` with no spaces, control characters
    or comments; an internationalised domain is converted to its ASCII form.
    """
    if not addr_spec or len(addr_spec) > _MAX_ADDRESS:
        raise InvalidAddress("the e-mail address is empty or too long")
    if any(is_unsafe_char(char) or char.isspace() for char in addr_spec):
        raise InvalidAddress("the e-mail address contains spaces or control characters")
    if parseaddr(addr_spec)[1] != addr_spec:
        raise InvalidAddress("the e-mail address is not a bare local@domain address")
    local, _, domain = addr_spec.rpartition("@")
    if not local or not local.isascii():
        raise InvalidAddress("the e-mail address needs an ASCII name before the @")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidAddress("the e-mail address has an invalid domain") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(labels) or not labels[-1].isalpha():
        raise InvalidAddress("the e-mail address has an invalid domain")
    try:
        return Address(display_name=header_text(display_name), addr_spec=f"{local}@{ascii_domain}")
    except (ValueError, IndexError, HeaderParseError):
        raise InvalidAddress("the e-mail address is not valid") from None


def message_id(key: str, domain: str) -> str:
    """``<hash-of-key@domain>``: the same mail key always gives the same Message-ID."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


# -- building the message --------------------------------------------------------


def _shopper_mail(
    order: Order,
    published: PublishedShop,
    key: str,
    template: str,
    subject: Callable[[gettext.GNUTranslations, str], str],
    at: dt.datetime,
    **context: object,
) -> OutgoingMail:
    """A mail to the order's shopper in their language, replies going to the shop."""
    config = published.config
    language = _language(order.language, config)
    environment = _environment(published.emails, language)
    to = mail_address(order.email, order.customer_name)
    view = order_view(order, LANGUAGES[language])
    text, html = _render(
        environment,
        language,
        template,
        order=view,
        shop=_shop_view(config, published.url(published.pages.withdrawal)),
        customer=True,
        **context,
    )
    message = _message(
        key=key,
        config=config,
        to=to,
        reply_to=mail_address(config.legal.email, config.name),
        subject=subject(_translations_of(environment), view.number),
        created_at=at,
        language=language,
        text=text,
        html=html,
    )
    return OutgoingMail(key=key, to=to.addr_spec, message=message)


def _units(order: Order, lines: Sequence[LineQuantity]) -> tuple[UnitsView, ...]:
    """Units of the order's SKUs, named by their titles in the order."""
    titles = {line.sku: line.title for line in order.priced.lines}
    return tuple(
        UnitsView(header_text(titles.get(line.sku, line.sku), limit=200), line.quantity)
        for line in lines
    )


def _message(
    *,
    key: str,
    config: ShopConfig,
    to: Address,
    reply_to: Address | None,
    subject: str,
    created_at: dt.datetime,
    language: str,
    text: str,
    html: str,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    name, addr = parseaddr(config.email.sender)
    sender = mail_address(addr, name or config.name)
    message = EmailMessage(policy=SMTP)
    message["Subject"] = header_text(subject, limit=200)
    message["From"] = sender
    message["To"] = to
    if reply_to is not None:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(_aware(created_at).astimezone(_zone(config)))
    message["Message-ID"] = message_id(key, sender.domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    # Quoted-printable keeps the message 7-bit and lines short for every relay.
    message.set_content(text, subtype="plain", cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    message["Content-Language"] = language  # after the content: set_content clears Content-*
    # A fixed boundary keeps the bytes reproducible. "=_" never occurs in a
    # quoted-printable body (a literal "=" is encoded "=3D"), so it cannot collide.
    message.set_boundary("=_" + hashlib.sha256(key.encode()).hexdigest()[:40])
    for attachment in attachments:  # the message becomes multipart/mixed around the above
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    if attachments:
        message.set_boundary("=_" + hashlib.sha256(f"mixed:{key}".encode()).hexdigest()[:40])
    return message.as_bytes()


def _subject_of(message: bytes) -> str:
    """A queued message's Subject, decoded, on one line ("" when it has none)."""
    headers = BytesHeaderParser(policy=default).parsebytes(message)
    return header_text(str(headers.get("Subject") or ""), limit=150)


def _render(
    environment: Environment, language: str, name: str, **context: object
) -> tuple[str, str]:
    context["lang"] = language
    text = environment.get_template(f"{name}.txt").render(**context)
    html = environment.get_template(f"{name}.html").render(**context)
    return text, html


# The compiled templates of the last few published shops, per language: a published
# shop is kept with its environments, so its id cannot be reused while it is cached.
_ENVIRONMENTS: dict[int, tuple[EmailTheme, dict[str, Environment]]] = {}
_ENVIRONMENTS_LOCK = Lock()
_MAX_THEMES = 4


def _environment(theme: EmailTheme, language: str) -> Environment:
    """The theme's templates with its ``emails`` catalogue for ``language`` installed."""
    with _ENVIRONMENTS_LOCK:
        _, environments = _ENVIRONMENTS.setdefault(id(theme), (theme, {}))
        environment = environments.get(language)
        if environment is None:
            environment = environments[language] = _new_environment(theme, language)
        while len(_ENVIRONMENTS) > _MAX_THEMES:
            del _ENVIRONMENTS[next(iter(_ENVIRONMENTS))]
        return environment


def _new_environment(theme: EmailTheme, language: str) -> Environment:
    environment = Environment(
        loader=DictLoader(dict(theme.templates)),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    translations = gettext.GNUTranslations(io.BytesIO(theme.translations[language]))
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        translations, newstyle=True
    )
    environment.globals["_translations"] = translations
    return environment


def _translations_of(environment: Environment) -> gettext.GNUTranslations:
    translations: gettext.GNUTranslations = environment.globals["_translations"]  # type: ignore[assignment]
    return translations


# -- views -------------------------------------------------------------------------


def _placed_on(
    order: Order, config: ShopConfig, language: str, translations: gettext.GNUTranslations
) -> str:
    """When the order was placed, in the shop's time zone: "14 septembre 2026 à 10:32"."""
    locale = LANGUAGES[language]
    created = _aware(order.created_at).astimezone(_zone(config))
    return translations.gettext("%(date)s at %(time)s") % {
        "date": format_date(created.date(), "long", locale=locale),
        "time": format_time(created.time(), "short", locale=locale),
    }


def _dispatch_on(
    order: Order, config: ShopConfig, language: str, lines: Sequence[OrderLine] | None = None
) -> str | None:
    """The promised dispatch date in ``language`` (see ``presenters.dispatch_display``)."""
    return dispatch_display(order, config.timezone, LANGUAGES[language], lines)


def _shop_view(config: ShopConfig, withdrawal_url: str) -> ShopView:
    legal = config.legal
    return ShopView(
        name=config.name,
        url=config.base_url + "/",
        company=legal.company,
        legal_form=legal.legal_form,
        address=legal.address,
        registration=legal.registration,
        vat_number=legal.vat_number,
        email=legal.email,
        phone=legal.phone,
        mediator=legal.mediator,
        withdrawal_url=withdrawal_url,
    )


# -- small things ------------------------------------------------------------------


def _language(wanted: str, config: ShopConfig) -> str:
    return wanted if wanted in LANGUAGES else config.language


def _zone(config: ShopConfig) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(config.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _aware(moment: dt.datetime) -> dt.datetime:
    """Order times are UTC; a naive one is taken as UTC rather than local time."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


# -- withdrawals (functions/withdrawals.py) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class WithdrawalView:
    rid: str
    number: str
    name: str
    email: str
    address: str
    declared_on: str  # "14 septembre 2026 à 10:32", in the shop's time zone
    lines: tuple[Mapping[str, Any], ...]


def withdrawal_acknowledgement(
    order: Order, ret: ReturnRequest, published: PublishedShop, language: str
) -> OutgoingMail | None:
    """The shopper's acknowledgement on a durable medium: what they declared, when.
    None when the order's address cannot be used (the merchant's alert says so)."""
    try:
        to = mail_address(order.email, ret.contact_name)
    except InvalidAddress:
        return None
    config = published.config
    language = _language(language, config)
    environment = _environment(published.emails, language)
    t = _translations_of(environment)
    key = f"withdrawal:{ret.rid}"
    view = _withdrawal_view(order, ret, published, language)
    text, html_part = _render(
        environment, language, "withdrawal", withdrawal=view, shop=_withdrawal_shop(published)
    )
    message = _message(
        key=key,
        config=config,
        to=to,
        reply_to=mail_address(config.legal.email, config.name),
        subject=t.gettext("Your withdrawal from order %(number)s") % {"number": order.number},
        created_at=ret.created_at,
        language=language,
        text=text,
        html=html_part,
    )
    return OutgoingMail(key=key, to=to.addr_spec, message=message)


def withdrawal_alert(order: Order, ret: ReturnRequest, published: PublishedShop) -> OutgoingMail:
    """The merchant's alert of a withdrawal, to ``orders_to`` in the shop's language."""
    config = published.config
    language = config.language
    environment = _environment(published.emails, language)
    t = _translations_of(environment)
    to = mail_address(config.email.orders_to)
    try:
        customer: Address | None = mail_address(order.email, ret.contact_name)
    except InvalidAddress:
        customer = None
    key = f"withdrawal-merchant:{ret.rid}"
    view = _withdrawal_view(order, ret, published, language)
    text, html_part = _render(
        environment,
        language,
        "withdrawal_merchant",
        withdrawal=view,
        shop=_withdrawal_shop(published),
    )
    message = _message(
        key=key,
        config=config,
        to=to,
        reply_to=customer,
        subject=t.gettext("Withdrawal from order %(number)s") % {"number": order.number},
        created_at=ret.created_at,
        language=language,
        text=text,
        html=html_part,
    )
    return OutgoingMail(key=key, to=to.addr_spec, message=message, about=order.email)


def _withdrawal_view(
    order: Order, ret: ReturnRequest, published: PublishedShop, language: str
) -> WithdrawalView:
    t = _translations_of(_environment(published.emails, language))
    locale = LANGUAGES[language]
    at = _aware(ret.created_at).astimezone(_zone(published.config))
    declared = t.gettext("%(date)s at %(time)s") % {
        "date": format_date(at.date(), "long", locale=locale),
        "time": format_time(at.time(), "HH:mm:ss", locale=locale),
    }
    return WithdrawalView(
        rid=ret.rid,
        number=order.number,
        name=ret.contact_name,
        email=order.email,
        address=ret.contact_address,
        declared_on=declared,
        lines=tuple({"title": x.title, "quantity": x.quantity} for x in ret.lines),
    )


def _withdrawal_shop(published: PublishedShop) -> ShopView:
    return _shop_view(published.config, published.url(published.pages.withdrawal))


def email_gettext(published: PublishedShop, language: str) -> Callable[[str], str]:
    """``gettext`` of the shop's e-mail catalogue in ``language`` (the withdrawal
    function's pages without JavaScript speak with the same words as its e-mails)."""
    return _translations_of(_environment(published.emails, language)).gettext
