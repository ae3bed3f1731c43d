"""Checkout: re-quote on the server, hold the stock, open a Stripe Checkout Session."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from functions.errors import ApiError, PaymentError
from functions.inbound import CartRequest
from functions.payments import StripePayments
from functions.quotes import catalog_id
from functions.settings import Settings
from functions.store import Checkout, InsufficientStock, Store
from shop.orders import priced_order
from shop.pricing import Quote, QuoteError, payment_lines, quote_cart, zone_for
from shop.published import PublishedShop

# Stripe's smallest charge in the currencies a French shop uses (EUR: 0,50 €).
MINIMUM_CHARGE = {"EUR": 50, "USD": 50, "GBP": 30, "CHF": 50}
HOLD_MARGIN = dt.timedelta(minutes=5)  # holds outlive their session: the expiry event releases
# Stripe wants expires_at at least 30 minutes after it receives the request: keep a minute
# of slack so network latency never makes a 30-minute session invalid.
EXPIRY_SLACK = dt.timedelta(minutes=1)


def quote_request(shop: PublishedShop, store: Store, cart: CartRequest, today: dt.date) -> Quote:
    """The server's quote for a cart; QuoteError becomes a 4xx the cart page can show."""
    try:
        code = cart.promo_code.upper() if cart.promo_code else None
        uses = {code: store.code_uses(code)} if code else {}
        return quote_cart(
            shop.catalogue,
            shop.config,
            cart.lines,
            country=cart.country,
            promo_code=cart.promo_code,
            shipping_method=cart.shipping_method,
            today=today,
            code_uses=uses,
        )
    except QuoteError as error:
        status = 404 if error.code == "unknown_sku" else 422
        if error.code in ("invalid_quantity", "too_many_lines", "empty_cart"):
            status = 400
        raise ApiError(status, error.code, error.message, sku=error.sku) from None


def tracked_quantities(shop: PublishedShop, quote: Quote) -> dict[str, int]:
    quantities: dict[str, int] = {}
    for line in quote.lines:
        item = shop.catalogue.item(line.sku)
        if item is not None and item.stock is not None:
            quantities[line.sku] = line.quantity
    return quantities


def start_checkout(
    settings: Settings,
    shop: PublishedShop,
    store: Store,
    payments: StripePayments,
    cart: CartRequest,
    now: dt.datetime,
    origin: str | None = None,
) -> tuple[str, str]:
    """Open a payment page for the cart, priced by ``shop``: (session id, URL).

    Stock is held until the session expires. ``origin`` is the allowed site the request
    came from: the payment page returns there.
    """
    if cart.country is None:
        raise ApiError(422, "country_required", "Choose the delivery country.")
    quote = quote_request(shop, store, cart, shop.today(now))
    if cart.promo_code and quote.promo_rejection:
        raise ApiError(
            422,
            "promo_code_rejected",
            "This promo code cannot be used.",
            reason=quote.promo_rejection,
        )
    if quote.shipping is None:
        raise ApiError(422, "no_delivery", "No delivery method can carry this cart.")
    if quote.total.amount < MINIMUM_CHARGE.get(quote.currency, 50):
        raise ApiError(422, "amount_too_small", "The order total is below the minimum charge.")
    hold_key = "hold_" + secrets.token_urlsafe(18)
    expires_at = now + dt.timedelta(minutes=settings.session_minutes) + EXPIRY_SLACK
    claim_code(shop, store, quote, hold_key)
    try:
        store.reserve(hold_key, tracked_quantities(shop, quote), expires_at + HOLD_MARGIN, now)
    except InsufficientStock as error:
        release_code(store, quote.promo_code, hold_key)
        raise ApiError(
            409,
            "out_of_stock",
            "Not enough stock for this product.",
            sku=error.sku,
            available=max(error.available, 0),
        ) from None
    try:
        session = payments.create_session(
            session_params(settings, shop, quote, hold_key, expires_at, origin),
            idempotency_key=hold_key,
        )
    except PaymentError:
        store.release_reservation(hold_key)
        release_code(store, quote.promo_code, hold_key)
        raise ApiError(
            502, "payment_unavailable", "The payment service is unavailable. Please try again."
        ) from None
    store.save_checkout(
        Checkout(
            session.id,
            hold_key,
            now,
            expires_at,
            priced_order(quote),
            shop.hash,
        )
    )
    return session.id, session.url


def claim_code(shop: PublishedShop, store: Store, quote: Quote, hold_key: str) -> None:
    """A code with a usage limit is used by the checkout that holds it, paid or not yet:
    concurrent checkouts can never use it more times than allowed."""
    discount = shop.config.discount(quote.promo_code) if quote.promo_code else None
    if discount is None or discount.usage_limit is None:
        return
    if not store.claim_code_use(discount.code, hold_key, discount.usage_limit):
        raise ApiError(
            422, "promo_code_rejected", "This promo code cannot be used.", reason="used_up"
        )


def release_code(store: Store, code: str | None, hold_key: str) -> None:
    """Give back the use of a code by a checkout that ended unpaid (no-op without code)."""
    if code:
        store.release_code_use(code, hold_key)


def promo_of(checkout: Checkout) -> str | None:
    return checkout.priced.promo_code


def cancel_checkout(store: Store, payments: StripePayments, session_id: str) -> None:
    """The shopper came back without paying: end the session and free its stock at once.

    Idempotent. A session that was paid meanwhile is left alone (409).
    """
    checkout = store.get_checkout(session_id)
    if checkout is None:
        raise ApiError(404, "checkout_not_found", "No such checkout.")
    try:
        status = payments.expire_session(session_id)
    except PaymentError:
        raise ApiError(
            502, "payment_unavailable", "The payment service is unavailable. Please try again."
        ) from None
    if status != "expired":
        # Paid (perhaps before its webhook lands): the hold becomes a sale, never stock.
        raise ApiError(409, "already_paid", "This checkout was paid.")
    release_code(store, promo_of(checkout), checkout.hold_key)
    store.release_reservation(checkout.hold_key)


def session_params(
    settings: Settings,
    shop: PublishedShop,
    quote: Quote,
    hold_key: str,
    expires_at: dt.datetime,
    origin: str | None = None,
) -> dict[str, Any]:
    """Stripe Checkout Session parameters whose amounts add up to the quote exactly."""
    config = shop.config
    site = settings.site_url(shop, origin)
    currency = quote.currency.lower()
    assert quote.shipping is not None and quote.country is not None
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": line.unit_amount,
                    "product_data": {"name": line.name, "metadata": {"sku": line.sku}},
                },
                "quantity": line.quantity,
            }
            for line in payment_lines(quote)
        ],
        "shipping_options": [
            {
                "shipping_rate_data": {
                    "display_name": quote.shipping.name,
                    "type": "fixed_amount",
                    "fixed_amount": {"amount": quote.shipping.price.amount, "currency": currency},
                    "metadata": {"method": quote.shipping.method_id},
                },
            }
        ],
        "locale": config.language,
        "consent_collection": {"terms_of_service": "required", "promotions": "auto"},
        "expires_at": int(expires_at.timestamp()),
        "client_reference_id": hold_key,
        "metadata": {
            "hold_key": hold_key,
            "catalog": catalog_id(shop),
            "promo_code": quote.promo_code or "",
        },
        "success_url": site + shop.pages.order + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": site + shop.pages.cart + "?cancelled=1",
    }
    if not quote.shipping.pickup:
        zone = zone_for(config, quote.country)
        assert zone is not None
        params["shipping_address_collection"] = {"allowed_countries": list(zone.countries)}
    return params
