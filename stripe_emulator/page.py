"""The hosted test payment page: plain, accessible HTML that works without JavaScript.

``PageView`` is what the state shows of a session; ``parse_checkout_form``
reads the submitted form; the ``render_*`` functions return whole pages.
Every page carries the "TEST ONLY" banner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from .catalog import PAGE_PAYMENT_METHODS, SHIPPING_COUNTRIES, format_amount
from .objects import Address

BANNER = "TEST ONLY — offline Stripe emulator. No real payment is made."


@dataclass(frozen=True)
class PageLine:
    description: str
    quantity: int
    amount: int


@dataclass(frozen=True)
class PageShippingOption:
    id: str
    display_name: str
    amount: int


@dataclass(frozen=True)
class PageView:
    """A snapshot of a Checkout Session for the page."""

    session_id: str
    status: str
    payment_status: str
    currency: str
    lines: tuple[PageLine, ...]
    shipping_options: tuple[PageShippingOption, ...]
    selected_shipping_id: str | None
    amount_subtotal: int
    amount_total: int
    success_url: str
    cancel_url: str | None
    payment_methods: tuple[str, ...]
    customer_email: str | None = None
    allowed_countries: tuple[str, ...] | None = None
    billing_required: bool = False
    phone: bool = False
    terms_required: bool = False
    promotions_asked: bool = False
    custom_text: Mapping[str, str | None] = field(default_factory=dict)
    submit_type: str | None = None
    locale: str | None = None
    terms_of_service_url: str | None = None

    @property
    def countries(self) -> tuple[str, ...]:
        return self.allowed_countries or SHIPPING_COUNTRIES

    @property
    def collects_shipping(self) -> bool:
        return self.allowed_countries is not None

    @property
    def requires_payment(self) -> bool:
        return self.amount_total > 0


@dataclass(frozen=True)
class CheckoutForm:
    """What the customer submitted, checked for presence and shape (not yet for payment)."""

    email: str
    name: str
    address: Address
    method: str  # "card", "sepa_debit" or "none" (nothing to pay)
    phone: str | None = None
    shipping_rate_id: str | None = None
    terms_accepted: bool = False
    promotions_opt_in: bool = False
    card_number: str = ""
    card_expiry: str = ""
    card_cvc: str = ""
    iban: str = ""


@dataclass(frozen=True)
class PaymentOutcome:
    """After a submission: where to redirect, or which error to show on which field."""

    redirect_to: str | None = None
    error: str | None = None
    field: str | None = None


def parse_checkout_form(
    view: PageView, values: Mapping[str, str]
) -> tuple[CheckoutForm | None, dict[str, str]]:
    """Read the submitted fields; return the form, or None and errors by field name."""
    problems: dict[str, str] = {}

    def text(name: str) -> str:
        return values.get(name, "").strip()

    email = view.customer_email or text("email")
    if "@" not in email or "." not in email.rpartition("@")[2]:
        problems["email"] = (
            "Your email address is incomplete." if not email else ("Your email address is invalid.")
        )
    name = text("name")
    if not name:
        problems["name"] = "Your name is required."
    country = text("country")
    if country not in view.countries:
        problems["country"] = "Choose a country from the list."
    full_address = view.collects_shipping or view.billing_required
    for key, label in (("line1", "Address"), ("postal_code", "Postal code"), ("city", "City")):
        if full_address and not text(key):
            problems[key] = f"{label} is required."
    shipping_rate_id = text("shipping_rate") or view.selected_shipping_id
    known_rates = {option.id for option in view.shipping_options}
    if shipping_rate_id is not None and shipping_rate_id not in known_rates:
        problems["shipping_rate"] = "Choose one of the shipping options."
    if view.terms_required and values.get("terms") != "accepted":
        problems["terms"] = "You must agree to the terms of service to continue."
    method = text("payment_method") if view.requires_payment else "none"
    if view.requires_payment and method not in view.payment_methods:
        problems["payment_method"] = "Choose a payment method."
    if problems:
        return None, problems
    address = Address(
        line1=text("line1") or None,
        line2=text("line2") or None,
        city=text("city") or None,
        postal_code=text("postal_code") or None,
        state=text("state") or None,
        country=country,
    )
    return CheckoutForm(
        email=email,
        name=name,
        address=address,
        method=method,
        phone=text("phone") or None,
        shipping_rate_id=shipping_rate_id,
        terms_accepted=values.get("terms") == "accepted",
        promotions_opt_in=values.get("promotions") == "opt_in",
        card_number=text("card_number"),
        card_expiry=text("card_expiry"),
        card_cvc=text("card_cvc"),
        iban=text("iban"),
    ), {}


# --- rendering -------------------------------------------------------------------

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#f6f6f4}
.banner{background:#8a1c00;color:#fff;padding:.5rem 1rem;font-weight:700;text-align:center}
main{max-width:40rem;margin:1rem auto;padding:1rem 1.5rem;background:#fff;border-radius:6px}
table{width:100%;border-collapse:collapse}td,th{padding:.25rem 0;text-align:left}
td.amount,th.amount{text-align:right}
fieldset{border:1px solid #ccc;margin:1rem 0;padding:.5rem 1rem}
label{display:block;margin-top:.5rem}input[type=text],input[type=email],input[type=tel],select{
width:100%;padding:.4rem;font:inherit;box-sizing:border-box}
.choice label{display:inline;margin:0 .5rem 0 .25rem}.error{color:#a00;font-weight:600}
[role=alert]{border:2px solid #a00;padding:.5rem 1rem;margin:1rem 0}
button{font:inherit;padding:.6rem 1.5rem;margin-top:1rem}.hint{color:#555;font-size:.9rem}
"""


def _document(title: str, body: str, lang: str | None) -> str:
    language = "en" if lang in (None, "auto") else lang
    return (
        f'<!doctype html>\n<html lang="{escape(language or "en")}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width,initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)} · TEST ONLY</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<div class="banner" role="note">{escape(BANNER)}</div>\n<main>\n{body}\n</main>\n'
        "</body>\n</html>\n"
    )


def _summary(view: PageView) -> str:
    def row(label: str, amount: int, header: bool = False) -> str:
        cell = f'<th scope="row">{escape(label)}</th>' if header else f"<td>{escape(label)}</td>"
        shown = escape(format_amount(amount, view.currency))
        return f'<tr>{cell}<td class="amount">{shown}</td></tr>'

    rows = "".join(row(f"{line.description} × {line.quantity}", line.amount) for line in view.lines)
    extra = ""
    selected = [o for o in view.shipping_options if o.id == view.selected_shipping_id]
    if selected:
        extra = row("Subtotal", view.amount_subtotal, header=True)
        extra += row(f"Shipping: {selected[0].display_name}", selected[0].amount, header=True)
    return (
        '<table><caption>Order summary</caption><thead><tr><th scope="col">Item</th>'
        '<th scope="col" class="amount">Amount</th></tr></thead>'
        f'<tbody>{rows}</tbody><tfoot>{extra}<tr><th scope="row">Total</th>'
        f'<td class="amount" id="total"><strong>'
        f"{escape(format_amount(view.amount_total, view.currency))}</strong></td></tr>"
        "</tfoot></table>"
    )


class _Fields:
    """Labelled inputs that show the submitted value and their error."""

    def __init__(self, values: Mapping[str, str], problems: Mapping[str, str]) -> None:
        self.values = values
        self.problems = problems

    def error(self, name: str) -> str:
        problem = self.problems.get(name)
        if problem is None:
            return ""
        return f'<span class="error" id="{name}-error">{escape(problem)}</span>'

    def aria(self, name: str) -> str:
        if name in self.problems:
            return f' aria-invalid="true" aria-describedby="{name}-error"'
        return ""

    def input(
        self,
        name: str,
        label: str,
        *,
        kind: str = "text",
        autocomplete: str = "",
        required: bool = False,
        value: str | None = None,
        readonly: bool = False,
        hint: str = "",
    ) -> str:
        shown = self.values.get(name, "") if value is None else value
        attributes = f' autocomplete="{autocomplete}"' if autocomplete else ""
        attributes += " required" if required else ""
        attributes += " readonly" if readonly else ""
        hint_html = f' <span class="hint">{escape(hint)}</span>' if hint else ""
        return (
            f'<label for="{name}">{escape(label)}{hint_html}</label>'
            f'<input type="{kind}" id="{name}" name="{name}" value="{escape(shown)}"'
            f"{attributes}{self.aria(name)}>{self.error(name)}"
        )

    def select(self, name: str, label: str, options: tuple[str, ...], *, autocomplete: str) -> str:
        chosen = self.values.get(name, options[0] if len(options) == 1 else "")
        items = "".join(
            f'<option value="{escape(option)}"{" selected" if option == chosen else ""}>'
            f"{escape(option)}</option>"
            for option in options
        )
        placeholder = "" if len(options) == 1 else '<option value="">Choose…</option>'
        return (
            f'<label for="{name}">{escape(label)}</label>'
            f'<select id="{name}" name="{name}" autocomplete="{autocomplete}" required'
            f"{self.aria(name)}>{placeholder}{items}</select>{self.error(name)}"
        )


def _address_fieldset(view: PageView, fields: _Fields) -> str:
    full = view.collects_shipping or view.billing_required
    legend = "Shipping address" if view.collects_shipping else "Billing address"
    section = "shipping" if view.collects_shipping else "billing"
    note = view.custom_text.get("shipping_address") if view.collects_shipping else None
    parts = [f"<fieldset><legend>{legend}</legend>"]
    if note:
        parts.append(f'<p class="hint">{escape(note)}</p>')
    parts.append(
        fields.input(
            "line1", "Address line 1", autocomplete=f"{section} address-line1", required=full
        )
    )
    parts.append(
        fields.input("line2", "Address line 2 (optional)", autocomplete=f"{section} address-line2")
    )
    parts.append(
        fields.input(
            "postal_code", "Postal code", autocomplete=f"{section} postal-code", required=full
        )
    )
    parts.append(
        fields.input("city", "City", autocomplete=f"{section} address-level2", required=full)
    )
    parts.append(
        fields.input(
            "state", "State or region (optional)", autocomplete=f"{section} address-level1"
        )
    )
    parts.append(
        fields.select("country", "Country", view.countries, autocomplete=f"{section} country")
    )
    parts.append("</fieldset>")
    return "".join(parts)


def _shipping_fieldset(view: PageView, fields: _Fields) -> str:
    if len(view.shipping_options) < 2:
        if view.shipping_options:
            option = view.shipping_options[0]
            return (
                f"<p>Shipping: {escape(option.display_name)} — "
                f"{escape(format_amount(option.amount, view.currency))}</p>"
            )
        return ""
    chosen = fields.values.get("shipping_rate", view.selected_shipping_id or "")
    items = "".join(
        f'<div class="choice"><input type="radio" id="rate-{escape(o.id)}" name="shipping_rate" '
        f'value="{escape(o.id)}"{" checked" if o.id == chosen else ""}>'
        f'<label for="rate-{escape(o.id)}">{escape(o.display_name)} — '
        f"{escape(format_amount(o.amount, view.currency))}</label></div>"
        for o in view.shipping_options
    )
    return (
        f"<fieldset><legend>Shipping method</legend>{items}"
        f"{fields.error('shipping_rate')}</fieldset>"
    )


def _payment_fieldset(view: PageView, fields: _Fields) -> str:
    if not view.requires_payment:
        return "<p>Nothing to pay for this order.</p>"
    chosen = fields.values.get("payment_method", view.payment_methods[0])
    labels = {"card": "Card", "sepa_debit": "SEPA Direct Debit"}
    radios = "".join(
        f'<div class="choice"><input type="radio" id="method-{m}" name="payment_method" '
        f'value="{m}"{" checked" if m == chosen else ""}>'
        f'<label for="method-{m}">{labels[m]}</label></div>'
        for m in view.payment_methods
    )
    parts = [f"<fieldset><legend>Payment method</legend>{radios}{fields.error('payment_method')}"]
    if "card" in view.payment_methods:
        parts.append(
            "<fieldset><legend>Card</legend>"
            + fields.input(
                "card_number",
                "Card number",
                autocomplete="cc-number",
                hint="Test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined.",
            )
            + fields.input("card_expiry", "Expiry date (MM / YY)", autocomplete="cc-exp")
            + fields.input("card_cvc", "Security code (CVC)", autocomplete="cc-csc")
            + "</fieldset>"
        )
    if "sepa_debit" in view.payment_methods:
        parts.append(
            "<fieldset><legend>SEPA Direct Debit</legend>"
            + fields.input(
                "iban",
                "IBAN",
                hint="Test IBANs: DE89 3704 0044 0532 0130 00 succeeds later, "
                "DE62 3704 0044 0532 0130 01 fails later.",
            )
            + '<p class="hint">By providing your IBAN you authorise this test merchant to '
            "debit your account (nothing is debited: this is a test).</p></fieldset>"
        )
    parts.append("</fieldset>")
    return "".join(parts)


def _consent(view: PageView, fields: _Fields) -> str:
    parts = []
    if view.promotions_asked:
        checked = " checked" if fields.values.get("promotions") == "opt_in" else ""
        parts.append(
            '<div class="choice"><input type="checkbox" id="promotions" name="promotions" '
            f'value="opt_in"{checked}><label for="promotions">Keep me updated with news and '
            "offers by email.</label></div>"
        )
    if view.terms_required:
        checked = " checked" if fields.values.get("terms") == "accepted" else ""
        text = (
            view.custom_text.get("terms_of_service_acceptance")
            or "I agree to the terms of service."
        )
        link = ""
        if view.terms_of_service_url:
            link = f' (<a href="{escape(view.terms_of_service_url)}">read them</a>)'
        parts.append(
            '<div class="choice"><input type="checkbox" id="terms" name="terms" value="accepted" '
            f'required{checked}{fields.aria("terms")}><label for="terms">{escape(text)}</label>'
            f"{link}{fields.error('terms')}</div>"
        )
    return "".join(parts)


def _submit_label(view: PageView) -> str:
    amount = format_amount(view.amount_total, view.currency)
    verb = {"book": "Book", "donate": "Donate"}.get(view.submit_type or "", "Pay")
    return f"{verb} {amount}" if view.requires_payment else "Complete order"


def render_page(
    view: PageView,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
    message: str | None = None,
) -> str:
    """The payment form, with the submitted values and errors when shown again."""
    fields = _Fields(values or {}, problems or {})
    alert = ""
    if message or problems:
        listed = [text for text in (problems or {}).values() if text != message]
        items = "".join(f"<li>{escape(text)}</li>" for text in listed)
        lead = f"<p>{escape(message)}</p>" if message else "<p>Please correct the following:</p>"
        alert = f'<div role="alert" id="errors">{lead}{f"<ul>{items}</ul>" if items else ""}</div>'
    cancel = ""
    if view.cancel_url:
        cancel = f'<p><a href="{escape(view.cancel_url)}">Cancel and return to the shop</a></p>'
    submit_note = view.custom_text.get("submit")
    body = (
        "<h1>Test payment</h1>"
        f"{alert}{_summary(view)}"
        '<form method="post" novalidate>'
        "<fieldset><legend>Contact</legend>"
        + fields.input(
            "email",
            "Email",
            kind="email",
            autocomplete="email",
            required=True,
            value=view.customer_email,
            readonly=view.customer_email is not None,
        )
        + fields.input("name", "Full name", autocomplete="name", required=True)
        + (
            fields.input("phone", "Phone (optional)", kind="tel", autocomplete="tel")
            if view.phone
            else ""
        )
        + "</fieldset>"
        + _address_fieldset(view, fields)
        + _shipping_fieldset(view, fields)
        + _payment_fieldset(view, fields)
        + _consent(view, fields)
        + (f'<p class="hint">{escape(submit_note)}</p>' if submit_note else "")
        + f'<button type="submit">{escape(_submit_label(view))}</button></form>{cancel}'
    )
    return _document("Test payment", body, view.locale)


def render_closed(view: PageView) -> str:
    """A session that is no longer open: expired, or already paid."""
    if view.status == "expired":
        body = (
            "<h1>This checkout session has expired</h1>"
            "<p>No payment was taken. Return to the shop to start again.</p>"
        )
        link = view.cancel_url
    else:
        pending = view.payment_status == "unpaid"
        status = (
            "Your SEPA Direct Debit is being processed."
            if pending
            else "Your payment was received."
        )
        body = f"<h1>This order is complete</h1><p>{status}</p>"
        after = view.custom_text.get("after_submit")
        if after:
            body += f"<p>{escape(after)}</p>"
        link = view.success_url.replace("{CHECKOUT_SESSION_ID}", view.session_id)
    if link:
        body += f'<p><a href="{escape(link)}">Return to the shop</a></p>'
    return _document("Checkout session closed", body, view.locale)


def render_not_found() -> str:
    return _document(
        "Not found",
        "<h1>No such checkout session</h1><p>The link may be mistyped or the emulator was "
        "restarted (its sessions live in memory).</p>",
        None,
    )


def payment_methods_for(types: tuple[str, ...], currency: str) -> tuple[str, ...]:
    """The methods the page offers: the session's, among card and (for euros) SEPA."""
    offered = tuple(m for m in PAGE_PAYMENT_METHODS if m in types)
    if currency != "eur":
        offered = tuple(m for m in offered if m != "sepa_debit")
    return offered or ("card",)
