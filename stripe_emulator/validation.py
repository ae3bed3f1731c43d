"""Validate request parameters as Stripe does and turn them into typed inputs.

``parse_session_create`` checks names, types and ranges; references to
existing objects (``price``, ``shipping_rate``) are resolved by the state,
which then calls ``check_session_amounts`` on the resolved lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams

from . import errors
from .catalog import (
    CURRENCIES,
    LOCALES,
    MAXIMUM_AMOUNT,
    MINIMUM_CHARGE,
    PAYMENT_METHOD_TYPES,
    SHIPPING_COUNTRIES,
    format_amount,
)
from .forms import FormDict
from .params import Params

MAX_LINE_ITEMS = 100
MAX_SHIPPING_OPTIONS = 5
MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 60 * 60
# Callers compute ``now + 30 min`` before the request reaches Stripe, and that works
# against Stripe in practice: allow for that latency and clock skew at both bounds.
EXPIRY_GRACE = 60
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

SESSION_PARAMS = (
    "mode",
    "line_items",
    "success_url",
    "cancel_url",
    "currency",
    "expires_at",
    "shipping_options",
    "shipping_address_collection",
    "locale",
    "consent_collection",
    "custom_text",
    "client_reference_id",
    "metadata",
    "customer_email",
    "payment_method_types",
    "allowed_payment_method_types",
    "expand",
    "submit_type",
    "billing_address_collection",
    "phone_number_collection",
    "payment_intent_data",
    "ui_mode",
    "customer_creation",
    "automatic_tax",
    "invoice_creation",
)
CUSTOM_TEXT_FIELDS = ("after_submit", "shipping_address", "submit", "terms_of_service_acceptance")


@dataclass(frozen=True)
class ProductInput:
    name: str
    description: str | None = None
    images: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    tax_code: str | None = None
    unit_label: str | None = None


@dataclass(frozen=True)
class LineItemInput:
    """One ``line_items[i]``; either ``price_id`` or the inline price fields are set."""

    param: str
    quantity: int
    price_id: str | None = None
    currency: str | None = None
    unit_amount: int | None = None
    tax_behavior: str = "unspecified"
    product_id: str | None = None
    product: ProductInput | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ShippingRateInput:
    """One ``shipping_options[i]``: an existing ``rate_id`` or inline rate data."""

    param: str
    rate_id: str | None = None
    display_name: str = ""
    amount: int = 0
    currency: str = ""
    delivery_estimate: dict[str, object] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    tax_behavior: str = "unspecified"
    tax_code: str | None = None


@dataclass(frozen=True)
class SessionInput:
    """A validated ``POST /v1/checkout/sessions``."""

    line_items: tuple[LineItemInput, ...]
    success_url: str
    expires_at: int
    cancel_url: str | None = None
    currency: str | None = None
    shipping_options: tuple[ShippingRateInput, ...] = ()
    allowed_countries: tuple[str, ...] | None = None
    locale: str | None = None
    terms_of_service: str | None = None
    promotions: str | None = None
    custom_text: dict[str, str | None] = field(default_factory=dict)
    client_reference_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    customer_email: str | None = None
    payment_method_types: tuple[str, ...] = ()
    allowed_payment_method_types: tuple[str, ...] | None = None
    submit_type: str | None = None
    billing_address_collection: str | None = None
    phone_number_collection: bool = False
    payment_intent_metadata: dict[str, str] = field(default_factory=dict)
    payment_intent_description: str | None = None
    receipt_email: str | None = None
    expand: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefundInput:
    payment_intent: str | None
    charge: str | None
    amount: int | None
    reason: str | None
    metadata: dict[str, str]
    expand: tuple[str, ...]


def parse_session_create(values: FormDict, *, now: int) -> SessionInput:
    """Validate the parameters of ``POST /v1/checkout/sessions``."""
    p = Params(values, SESSION_PARAMS, root=SessionCreateParams)
    mode = p.choice("mode", ("payment", "setup", "subscription"), required=True)
    if mode != "payment":
        raise errors.emulator_unsupported("mode", f"only mode=payment is emulated, not {mode}.")
    _check_accepted_only(p)
    line_items = _line_items(p)
    success_url = _url(p, "success_url", required=True)
    assert success_url is not None
    currency = _currency(p, "currency")
    expires_at = p.integer("expires_at")
    if expires_at is None:
        expires_at = now + MAX_EXPIRY
    elif expires_at < now + MIN_EXPIRY - EXPIRY_GRACE:
        raise errors.invalid_value(
            "expires_at",
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
        )
    elif expires_at > now + MAX_EXPIRY + EXPIRY_GRACE:
        raise errors.invalid_value(
            "expires_at",
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
        )
    consent = p.hash(
        "consent_collection", ("terms_of_service", "promotions", "payment_method_reuse_agreement")
    )
    terms = promotions = None
    if consent is not None:
        if consent.has("payment_method_reuse_agreement"):
            raise errors.emulator_unsupported(consent.path("payment_method_reuse_agreement"))
        terms = consent.choice("terms_of_service", ("none", "required"))
        promotions = consent.choice("promotions", ("auto", "none"))
    method_types = tuple(p.strings("payment_method_types", choices=PAYMENT_METHOD_TYPES))
    allowed_types = p.strings("allowed_payment_method_types", choices=PAYMENT_METHOD_TYPES)
    if method_types and allowed_types:
        raise errors.exclusive(["payment_method_types", "allowed_payment_method_types"])
    phone = p.hash("phone_number_collection", ("enabled",))
    intent = p.hash(
        "payment_intent_data",
        ("metadata", "description", "receipt_email", "statement_descriptor_suffix"),
    )
    if intent is not None and intent.has("statement_descriptor_suffix"):
        raise errors.emulator_unsupported(intent.path("statement_descriptor_suffix"))
    return SessionInput(
        line_items=line_items,
        success_url=success_url,
        cancel_url=_url(p, "cancel_url"),
        currency=currency,
        expires_at=expires_at,
        shipping_options=_shipping_options(p),
        allowed_countries=_allowed_countries(p),
        locale=p.choice("locale", LOCALES),
        terms_of_service=terms,
        promotions=promotions,
        custom_text=_custom_text(p),
        client_reference_id=p.string("client_reference_id", max_length=200),
        metadata=p.metadata(),
        customer_email=_email(p, "customer_email"),
        payment_method_types=method_types,
        allowed_payment_method_types=tuple(allowed_types) if allowed_types else None,
        submit_type=p.choice("submit_type", ("auto", "book", "donate", "pay", "subscribe")),
        billing_address_collection=p.choice("billing_address_collection", ("auto", "required")),
        phone_number_collection=bool(phone and phone.boolean("enabled", required=True)),
        payment_intent_metadata=intent.metadata() if intent else {},
        payment_intent_description=(
            intent.string("description", max_length=1000) if intent else None
        ),
        receipt_email=_email(intent, "receipt_email") if intent else None,
        expand=tuple(p.expand()),
    )


def _check_accepted_only(p: Params) -> None:
    """Parameters accepted only with the value the emulator behaves like."""
    ui_mode = p.choice(
        "ui_mode",
        ("elements", "embedded_page", "form", "hosted_page", "hosted", "embedded", "custom"),
    )
    if ui_mode not in (None, "hosted_page", "hosted"):
        raise errors.emulator_unsupported("ui_mode", "only the hosted payment page is emulated.")
    if p.choice("customer_creation", ("always", "if_required")) == "always":
        raise errors.emulator_unsupported("customer_creation", "no Customer objects are emulated.")
    for name in ("automatic_tax", "invoice_creation"):
        options = p.hash(name, ("enabled", "liability", "invoice_data"))
        if options is None:
            continue
        for extra in ("liability", "invoice_data"):
            if options.has(extra):
                raise errors.emulator_unsupported(options.path(extra))
        if options.boolean("enabled", required=True):
            raise errors.emulator_unsupported(options.path("enabled"), "only false is emulated.")


def _line_items(p: Params) -> tuple[LineItemInput, ...]:
    raw = p.raw("line_items")
    if raw is None or raw == "":
        raise errors.StripeApiError(
            "You must provide at least one line item in `payment` mode.",
            code="parameter_missing",
            param="line_items",
        )
    items = p.hashes(
        "line_items",
        (
            "price",
            "price_data",
            "quantity",
            "metadata",
            "adjustable_quantity",
            "tax_rates",
            "dynamic_tax_rates",
        ),
    )
    if not items:
        raise errors.parameter_missing("line_items")
    if len(items) > MAX_LINE_ITEMS:
        raise errors.invalid_value(
            "line_items",
            f"Checkout Sessions in `payment` mode can have at most {MAX_LINE_ITEMS} line "
            f"items; you passed {len(items)}.",
        )
    return tuple(_line_item(item) for item in items)


def _line_item(item: Params) -> LineItemInput:
    for name in ("adjustable_quantity", "tax_rates", "dynamic_tax_rates"):
        if item.has(name):
            raise errors.emulator_unsupported(item.path(name))
    if item.has("price") and item.has("price_data"):
        raise errors.exclusive([item.path("price"), item.path("price_data")])
    quantity = item.integer("quantity", required=True, minimum=1)
    assert quantity is not None
    metadata = item.metadata()
    price_id = item.string("price")
    if price_id is not None:
        return LineItemInput(
            param=item.prefix, quantity=quantity, price_id=price_id, metadata=metadata
        )
    data = item.hash(
        "price_data",
        (
            "currency",
            "product",
            "product_data",
            "unit_amount",
            "unit_amount_decimal",
            "tax_behavior",
            "recurring",
        ),
        required=True,
    )
    assert data is not None
    if data.has("recurring"):
        raise errors.invalid_value(
            data.path("recurring"),
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
        )
    if data.has("unit_amount_decimal"):
        if data.has("unit_amount"):
            raise errors.exclusive([data.path("unit_amount"), data.path("unit_amount_decimal")])
        raise errors.emulator_unsupported(data.path("unit_amount_decimal"))
    currency = _currency(data, "currency", required=True)
    unit_amount = data.integer("unit_amount", required=True, minimum=0, maximum=MAXIMUM_AMOUNT)
    if data.has("product") and data.has("product_data"):
        raise errors.exclusive([data.path("product"), data.path("product_data")])
    product_id = data.string("product")
    product = None if product_id is not None else _product_data(data)
    return LineItemInput(
        param=item.prefix,
        quantity=quantity,
        currency=currency,
        unit_amount=unit_amount,
        tax_behavior=data.choice("tax_behavior", ("exclusive", "inclusive", "unspecified"))
        or "unspecified",
        product_id=product_id,
        product=product,
        metadata=metadata,
    )


def _product_data(data: Params) -> ProductInput:
    product = data.hash(
        "product_data",
        ("name", "description", "images", "metadata", "tax_code", "unit_label", "tax_details"),
        required=True,
    )
    assert product is not None
    if product.has("tax_details"):
        raise errors.emulator_unsupported(product.path("tax_details"))
    name = product.string("name", required=True, max_length=250)
    assert name is not None
    images = product.strings("images", max_items=8)
    for index, image in enumerate(images):
        _check_url(f"{product.path('images')}[{index}]", image)
    return ProductInput(
        name=name,
        description=product.string("description", max_length=40_000),
        images=tuple(images),
        metadata=product.metadata(),
        tax_code=product.string("tax_code"),
        unit_label=product.string("unit_label", max_length=12),
    )


def _shipping_options(p: Params) -> tuple[ShippingRateInput, ...]:
    options = p.hashes("shipping_options", ("shipping_rate", "shipping_rate_data"))
    if len(options) > MAX_SHIPPING_OPTIONS:
        raise errors.invalid_value(
            "shipping_options",
            f"You may only specify up to {MAX_SHIPPING_OPTIONS} shipping options; "
            f"you passed {len(options)}.",
        )
    return tuple(_shipping_option(option) for option in options)


def _shipping_option(option: Params) -> ShippingRateInput:
    if option.has("shipping_rate") and option.has("shipping_rate_data"):
        raise errors.exclusive([option.path("shipping_rate"), option.path("shipping_rate_data")])
    rate_id = option.string("shipping_rate")
    if rate_id is not None:
        return ShippingRateInput(param=option.prefix, rate_id=rate_id)
    data = option.hash(
        "shipping_rate_data",
        (
            "display_name",
            "type",
            "fixed_amount",
            "delivery_estimate",
            "metadata",
            "tax_behavior",
            "tax_code",
        ),
        required=True,
    )
    assert data is not None
    display_name = data.string("display_name", required=True, max_length=100)
    assert display_name is not None
    data.choice("type", ("fixed_amount",))
    fixed = data.hash("fixed_amount", ("amount", "currency", "currency_options"), required=True)
    assert fixed is not None
    if fixed.has("currency_options"):
        raise errors.emulator_unsupported(fixed.path("currency_options"))
    amount = fixed.integer("amount", required=True, minimum=0, maximum=MAXIMUM_AMOUNT)
    currency = _currency(fixed, "currency", required=True)
    assert amount is not None and currency is not None
    return ShippingRateInput(
        param=option.prefix,
        display_name=display_name,
        amount=amount,
        currency=currency,
        delivery_estimate=_delivery_estimate(data),
        metadata=data.metadata(),
        tax_behavior=data.choice("tax_behavior", ("exclusive", "inclusive", "unspecified"))
        or "unspecified",
        tax_code=data.string("tax_code"),
    )


def _delivery_estimate(data: Params) -> dict[str, object] | None:
    estimate = data.hash("delivery_estimate", ("minimum", "maximum"))
    if estimate is None:
        return None
    result: dict[str, object] = {"minimum": None, "maximum": None}
    for bound in ("minimum", "maximum"):
        value = estimate.hash(bound, ("unit", "value"))
        if value is not None:
            result[bound] = {
                "unit": value.choice(
                    "unit", ("business_day", "day", "hour", "month", "week"), required=True
                ),
                "value": value.integer("value", required=True, minimum=1),
            }
    return result


def _allowed_countries(p: Params) -> tuple[str, ...] | None:
    collection = p.hash("shipping_address_collection", ("allowed_countries",))
    if collection is None:
        return None
    countries = collection.strings("allowed_countries", choices=SHIPPING_COUNTRIES, required=True)
    if not countries:
        raise errors.parameter_missing(collection.path("allowed_countries"))
    return tuple(dict.fromkeys(countries))


def _custom_text(p: Params) -> dict[str, str | None]:
    custom = p.hash("custom_text", CUSTOM_TEXT_FIELDS)
    result: dict[str, str | None] = dict.fromkeys(CUSTOM_TEXT_FIELDS)
    if custom is None:
        return result
    for name in CUSTOM_TEXT_FIELDS:
        text = custom.hash(name, ("message",))
        if text is not None:
            result[name] = text.string("message", required=True, max_length=1200)
    return result


def _currency(p: Params, name: str, *, required: bool = False) -> str | None:
    value = p.string(name, required=required)
    if value is None:
        return None
    currency = value.lower()
    if currency not in CURRENCIES:
        raise errors.invalid_value(
            p.path(name),
            f"Invalid currency: {value}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES)),
        )
    return currency


def _url(p: Params, name: str, *, required: bool = False) -> str | None:
    value = p.string(name, required=required, max_length=5000)
    if value is not None:
        _check_url(p.path(name), value)
    return value


def _check_url(param: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise errors.invalid_value(param, "Not a valid URL", code="url_invalid")


def _email(p: Params, name: str) -> str | None:
    value = p.string(name, max_length=800)
    if value is not None and not _EMAIL.match(value):
        raise errors.invalid_value(
            p.path(name), f"Invalid email address: {value}", code="email_invalid"
        )
    return value


@dataclass(frozen=True)
class PricedLine:
    """A line item after its price is resolved: what the totals are made of."""

    param: str
    currency: str
    amount: int


def check_session_amounts(
    lines: Sequence[PricedLine],
    shipping: Sequence[PricedLine],
    currency: str | None,
) -> str:
    """Check currencies agree and the total is chargeable; return the session currency."""
    session_currency = currency or lines[0].currency
    for line in lines:
        if line.currency != session_currency:
            raise errors.invalid_value(
                f"{line.param}[price_data][currency]" if line.param else "line_items",
                "All line items must use the same currency; found "
                f"{line.currency} and {session_currency}.",
            )
    for option in shipping:
        if option.currency != session_currency:
            raise errors.invalid_value(
                f"{option.param}[shipping_rate_data][fixed_amount][currency]",
                f"The shipping rate currency ({option.currency}) must match the currency of "
                f"the line items ({session_currency}).",
            )
    total = sum(line.amount for line in lines) + (shipping[0].amount if shipping else 0)
    minimum = MINIMUM_CHARGE.get(session_currency)
    if total > MAXIMUM_AMOUNT:
        raise errors.invalid_value(
            "line_items",
            "The Checkout Session's total amount due must be no more than "
            f"{format_amount(MAXIMUM_AMOUNT, session_currency)}.",
            code="amount_too_large",
        )
    if minimum is not None and 0 < total < minimum:
        raise errors.invalid_value(
            "line_items",
            "The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, session_currency)}.",
            code="amount_too_small",
        )
    return session_currency


def parse_refund_create(values: FormDict) -> RefundInput:
    """Validate the parameters of ``POST /v1/refunds``."""
    p = Params(
        values,
        ("payment_intent", "charge", "amount", "reason", "metadata", "expand"),
        root=RefundCreateParams,
    )
    if p.has("payment_intent") and p.has("charge"):
        raise errors.exclusive(["charge", "payment_intent"])
    payment_intent = p.string("payment_intent")
    charge = p.string("charge")
    if payment_intent is None and charge is None:
        raise errors.StripeApiError(
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
        )
    return RefundInput(
        payment_intent=payment_intent,
        charge=charge,
        amount=p.integer("amount", minimum=1),
        reason=p.choice("reason", ("duplicate", "fraudulent", "requested_by_customer")),
        metadata=p.metadata(),
        expand=tuple(p.expand()),
    )


@dataclass(frozen=True)
class ListInput:
    """Pagination and filters common to list endpoints."""

    limit: int
    starting_after: str | None
    ending_before: str | None
    expand: tuple[str, ...]
    filters: dict[str, str]
    types: tuple[str, ...] = ()
    created: dict[str, int] = field(default_factory=dict)


def parse_list(
    values: FormDict, *, filters: Sequence[str] = (), root: type | None = None
) -> ListInput:
    """Validate ``limit``, ``starting_after``, ``ending_before``, ``expand`` and filters."""
    allowed = ("limit", "starting_after", "ending_before", "expand", *filters)
    p = Params(values, allowed, root=root)
    if p.has("starting_after") and p.has("ending_before"):
        raise errors.exclusive(["starting_after", "ending_before"])
    created: dict[str, int] = {}
    if p.has("created"):
        if isinstance(p.raw("created"), str):
            value = p.integer("created")
            assert value is not None
            created = {"gte": value, "lte": value}
        else:
            bounds = p.hash("created", ("gt", "gte", "lt", "lte"))
            assert bounds is not None
            for key in ("gt", "gte", "lt", "lte"):
                bound = bounds.integer(key)
                if bound is not None:
                    created[key] = bound
    found = {name: p.string(name) for name in filters if name not in ("types", "created")}
    return ListInput(
        limit=p.integer("limit", minimum=1, maximum=100) or 10,
        starting_after=p.string("starting_after"),
        ending_before=p.string("ending_before"),
        expand=tuple(p.expand()),
        filters={name: value for name, value in found.items() if value is not None},
        types=tuple(p.strings("types", max_items=20)) if "types" in filters else (),
        created=created,
    )


def parse_expand_only(values: FormDict, root: type | None = None) -> tuple[str, ...]:
    """For retrieve and expire endpoints: only ``expand`` is accepted."""
    return tuple(Params(values, ("expand",), root=root).expand())
