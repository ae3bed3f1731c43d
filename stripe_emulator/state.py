"""The emulator's in-memory Stripe account: objects, their transitions and events.

Every method takes the state's lock, so the API handlers, the payment page
and the background sweep may call it from any thread. Time comes from an
injectable ``Clock``; ``tick()`` expires sessions and settles SEPA debits
whose time has come (the background thread calls it every ``sweep_interval``).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import stripe
from stripe.params import EventListParams, RefundListParams
from stripe.params.checkout import (
    SessionExpireParams,
    SessionLineItemListParams,
    SessionListParams,
    SessionRetrieveParams,
)

from . import errors, ids
from .catalog import format_amount
from .clock import Clock
from .expansion import expand
from .forms import FormDict
from .idempotency import IdempotencyCache
from .objects import (
    Charge,
    CheckoutSession,
    CustomerDetails,
    Event,
    JSONObject,
    LineItem,
    PaymentIntent,
    Price,
    Product,
    Refund,
    ShippingRate,
    charge_json,
    event_json,
    line_item_json,
    list_json,
    payment_intent_json,
    price_json,
    product_json,
    refund_json,
    session_json,
    shipping_rate_json,
)
from .page import (
    CheckoutForm,
    PageLine,
    PageShippingOption,
    PageView,
    PaymentOutcome,
    payment_methods_for,
)
from .payments import PaymentDetailsError, check_card, check_iban
from .safety import require_test_key
from .validation import (
    LineItemInput,
    ListInput,
    PricedLine,
    SessionInput,
    ShippingRateInput,
    check_session_amounts,
    parse_expand_only,
    parse_list,
    parse_refund_create,
    parse_session_create,
)
from .webhooks import DeliveryAttempt, RetryPolicy, WebhookDispatcher, WebhookEndpoint

T = TypeVar("T")
SEPA_SETTLE_DELAY = 180  # Stripe's test IBANs settle about three minutes later


@dataclass(frozen=True)
class ApiRequest:
    """The request an object change came from, recorded in its events' ``request``."""

    id: str | None = None
    idempotency_key: str | None = None


NO_REQUEST = ApiRequest()


class EmulatorState:
    """An in-memory, thread-safe Stripe test account. TEST ONLY.

    ``api_keys``: the accepted ``sk_test_``/``rk_test_`` keys (a live key raises
    ``LiveKeyError``). ``public_base_url``: where the app is reachable,
    including any mount prefix; session URLs are ``<public_base_url>/pay/<id>``.
    """

    def __init__(
        self,
        *,
        api_keys: Sequence[str] = ("sk_test_emulator",),
        webhook_endpoints: Sequence[WebhookEndpoint] = (),
        public_base_url: str = "http://127.0.0.1:12111",
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        sweep_interval: float = 1.0,
        sepa_settle_delay: int = SEPA_SETTLE_DELAY,
        signing_clock: Callable[[], float] = time.time,
        terms_of_service_url: str | None = None,
        api_version: str = stripe.api_version,
    ) -> None:
        if isinstance(api_keys, str):
            raise TypeError("api_keys is a sequence of keys, not one string")
        self.api_keys = frozenset(require_test_key(key) for key in api_keys)
        if not self.api_keys:
            raise ValueError("the emulator needs at least one sk_test_ key")
        self.public_base_url = public_base_url.rstrip("/")
        self.clock = clock or Clock()
        self.sepa_settle_delay = sepa_settle_delay
        self.terms_of_service_url = terms_of_service_url
        self.api_version = api_version
        self.lock = threading.RLock()
        self.idempotency = IdempotencyCache()
        self.webhooks = WebhookDispatcher(
            webhook_endpoints,
            retry or RetryPolicy(),
            signing_clock=signing_clock,
            on_delivered=self._delivered,
            periodic=self.tick,
            period=sweep_interval,
        )
        self._sessions: dict[str, CheckoutSession] = {}
        self._products: dict[str, Product] = {}
        self._prices: dict[str, Price] = {}
        self._line_items: dict[str, LineItem] = {}
        self._shipping_rates: dict[str, ShippingRate] = {}
        self._payment_intents: dict[str, PaymentIntent] = {}
        self._charges: dict[str, Charge] = {}
        self._refunds: dict[str, Refund] = {}
        self._events: dict[str, Event] = {}
        self._delivered_to: dict[str, set[str]] = {}
        self._wanted_by: dict[str, set[str]] = {}

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Start webhook delivery and the periodic sweep (idempotent)."""
        self.webhooks.start()

    def close(self) -> None:
        """Stop the background thread."""
        self.webhooks.close()

    def __enter__(self) -> EmulatorState:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- test hooks ------------------------------------------------------------

    def add_webhook_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self.webhooks.add_endpoint(endpoint)

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's time forward, then sweep (expiries, SEPA settlements)."""
        self.clock.advance(seconds)
        self.tick()

    def deliveries(self, event_id: str | None = None) -> list[DeliveryAttempt]:
        return self.webhooks.attempts(event_id)

    def events(self, event_type: str | None = None) -> list[JSONObject]:
        """Every event so far, oldest first (optionally of one type)."""
        with self.lock:
            return [
                event_json(e)
                for e in self._events.values()
                if event_type is None or e.type == event_type
            ]

    # --- checkout sessions ----------------------------------------------------

    def create_checkout_session(
        self, values: FormDict, request: ApiRequest = NO_REQUEST
    ) -> JSONObject:
        with self.lock, self._all_or_nothing():
            now = self.clock.timestamp()
            spec = parse_session_create(values, now=now)
            session = self._build_session(spec, now)
            return self._expanded(self._session_json(session), spec.expand)

    @contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        """Forget the objects created in the block if it fails (e.g. on a bad ``expand``)."""
        tables: list[dict[str, Any]] = [
            self._sessions,
            self._products,
            self._prices,
            self._line_items,
            self._shipping_rates,
        ]
        before = [set(table) for table in tables]
        try:
            yield
        except BaseException:
            for table, keys in zip(tables, before, strict=True):
                for key in [key for key in table if key not in keys]:
                    del table[key]
            raise

    def _build_session(self, spec: SessionInput, now: int) -> CheckoutSession:
        # Resolve and check everything before creating anything.
        lines: list[tuple[int, Price | None, Product | None]] = []
        priced: list[PricedLine] = []
        for item in spec.line_items:
            price = product = None
            if item.price_id is not None:
                price = self._get(self._prices, item.price_id, "price", f"{item.param}[price]")
                currency, unit_amount = price.currency, price.unit_amount
            else:
                assert item.currency is not None and item.unit_amount is not None
                currency, unit_amount = item.currency, item.unit_amount
                if item.product_id is not None:
                    product = self._get(
                        self._products,
                        item.product_id,
                        "product",
                        f"{item.param}[price_data][product]",
                    )
            lines.append((item.quantity, price, product))
            priced.append(PricedLine(item.param, currency, unit_amount * item.quantity))
        rates: list[ShippingRate | None] = []
        shipping: list[PricedLine] = []
        for option in spec.shipping_options:
            rate = None
            if option.rate_id is not None:
                rate = self._get(
                    self._shipping_rates,
                    option.rate_id,
                    "shipping_rate",
                    f"{option.param}[shipping_rate]",
                )
                shipping.append(PricedLine(option.param, rate.currency, rate.amount))
            else:
                shipping.append(PricedLine(option.param, option.currency, option.amount))
            rates.append(rate)
        currency = check_session_amounts(priced, shipping, spec.currency)

        line_ids = [
            self._create_line_item(item, quantity, price, product, now).id
            for item, (quantity, price, product) in zip(spec.line_items, lines, strict=True)
        ]
        rate_ids = [
            (rate or self._create_shipping_rate(option, now)).id
            for option, rate in zip(spec.shipping_options, rates, strict=True)
        ]
        method_types = (
            spec.payment_method_types
            or spec.allowed_payment_method_types
            or (("card", "sepa_debit") if currency == "eur" else ("card",))
        )
        session_id = ids.new_checkout_session_id()
        session = CheckoutSession(
            id=session_id,
            created=now,
            expires_at=spec.expires_at,
            currency=currency,
            success_url=spec.success_url,
            cancel_url=spec.cancel_url,
            url=f"{self.public_base_url}/pay/{session_id}",
            line_item_ids=line_ids,
            shipping_rate_ids=rate_ids,
            amount_subtotal=sum(line.amount for line in priced),
            selected_shipping_rate_id=rate_ids[0] if rate_ids else None,
            amount_shipping=shipping[0].amount if shipping else 0,
            allowed_countries=spec.allowed_countries,
            locale=spec.locale,
            terms_of_service=spec.terms_of_service,
            promotions=spec.promotions,
            custom_text=dict(spec.custom_text),
            client_reference_id=spec.client_reference_id,
            metadata=dict(spec.metadata),
            customer_email=spec.customer_email,
            payment_method_types=tuple(method_types),
            allowed_payment_method_types=spec.allowed_payment_method_types,
            submit_type=spec.submit_type,
            billing_address_collection=spec.billing_address_collection,
            phone_number_collection=spec.phone_number_collection,
            payment_intent_metadata=dict(spec.payment_intent_metadata),
            payment_intent_description=spec.payment_intent_description,
            receipt_email=spec.receipt_email,
        )
        self._sessions[session.id] = session
        return session

    def _create_line_item(
        self,
        item: LineItemInput,
        quantity: int,
        price: Price | None,
        product: Product | None,
        now: int,
    ) -> LineItem:
        if price is None:
            if product is None:
                assert item.product is not None
                data = item.product
                product = Product(
                    ids.new_id("prod"),
                    data.name,
                    now,
                    data.description,
                    data.images,
                    dict(data.metadata),
                    data.tax_code,
                    data.unit_label,
                )
                self._products[product.id] = product
            assert item.currency is not None and item.unit_amount is not None
            price = Price(
                ids.new_id("price"),
                product.id,
                item.currency,
                item.unit_amount,
                now,
                item.tax_behavior,
            )
            self._prices[price.id] = price
        else:
            product = self._products[price.product_id]
        line = LineItem(
            ids.new_id("li"),
            price.id,
            product.name,
            quantity,
            price.currency,
            price.unit_amount * quantity,
            dict(item.metadata),
        )
        self._line_items[line.id] = line
        return line

    def _create_shipping_rate(self, option: ShippingRateInput, now: int) -> ShippingRate:
        rate = ShippingRate(
            ids.new_id("shr"),
            option.display_name,
            option.amount,
            option.currency,
            now,
            option.delivery_estimate,
            dict(option.metadata),
            option.tax_behavior,
            option.tax_code,
        )
        self._shipping_rates[rate.id] = rate
        return rate

    def retrieve_checkout_session(self, session_id: str, values: FormDict) -> JSONObject:
        with self.lock:
            paths = parse_expand_only(values, SessionRetrieveParams)
            session = self._get(self._sessions, session_id, "checkout.session")
            return self._expanded(self._session_json(session), paths)

    def list_checkout_sessions(self, values: FormDict) -> JSONObject:
        with self.lock:
            query = parse_list(
                values, filters=("status", "payment_intent", "created"), root=SessionListParams
            )
            sessions = [
                s
                for s in reversed(self._sessions.values())
                if query.filters.get("status") in (None, s.status)
                and query.filters.get("payment_intent") in (None, s.payment_intent_id)
                and _created_matches(s.created, query.created)
            ]
            page, has_more = _paginate(sessions, query, lambda s: s.id, "checkout.session")
            result = list_json(
                [self._session_json(s) for s in page],
                url="/v1/checkout/sessions",
                has_more=has_more,
            )
            return self._expanded(result, query.expand)

    def list_line_items(self, session_id: str, values: FormDict) -> JSONObject:
        with self.lock:
            query = parse_list(values, root=SessionLineItemListParams)
            session = self._get(self._sessions, session_id, "checkout.session")
            items = [self._line_items[line_id] for line_id in session.line_item_ids]
            page, has_more = _paginate(items, query, lambda item: item.id, "line_item")
            result = self._line_items_json(session, page, has_more)
            return self._expanded(result, query.expand)

    def _line_items_json(
        self, session: CheckoutSession, items: Iterable[LineItem], has_more: bool
    ) -> JSONObject:
        return list_json(
            [line_item_json(item, self._prices[item.price_id]) for item in items],
            url=f"/v1/checkout/sessions/{session.id}/line_items",
            has_more=has_more,
        )

    def expire_checkout_session(
        self, session_id: str, values: FormDict, request: ApiRequest = NO_REQUEST
    ) -> JSONObject:
        with self.lock:
            paths = parse_expand_only(values, SessionExpireParams)
            session = self._get(self._sessions, session_id, "checkout.session")
            self.tick()
            if session.status != "open":
                raise errors.StripeApiError(
                    'Only Checkout Sessions with a status in ["open"] can be expired. This '
                    f'Checkout Session has a status of "{session.status}".',
                    replayable=True,
                )
            self._expire(session, request)
            return self._expanded(self._session_json(session), paths)

    def _expire(self, session: CheckoutSession, request: ApiRequest) -> None:
        session.status = "expired"
        self._emit("checkout.session.expired", self._session_json(session), request)

    # --- the payment page -----------------------------------------------------

    def page_view(self, session_id: str) -> PageView | None:
        """What the payment page shows of a session (None if there is no such session)."""
        with self.lock:
            self.tick()
            session = self._sessions.get(session_id)
            if session is None:
                return None
            return PageView(
                session_id=session.id,
                status=session.status,
                payment_status=session.payment_status,
                currency=session.currency,
                lines=tuple(
                    PageLine(item.description, item.quantity, item.amount_subtotal)
                    for item in (self._line_items[i] for i in session.line_item_ids)
                ),
                shipping_options=tuple(
                    PageShippingOption(rate.id, rate.display_name, rate.amount)
                    for rate in (self._shipping_rates[i] for i in session.shipping_rate_ids)
                ),
                selected_shipping_id=session.selected_shipping_rate_id,
                amount_subtotal=session.amount_subtotal,
                amount_total=session.amount_total,
                success_url=session.success_url,
                cancel_url=session.cancel_url,
                payment_methods=payment_methods_for(session.payment_method_types, session.currency),
                customer_email=session.customer_email,
                allowed_countries=session.allowed_countries,
                billing_required=session.billing_address_collection == "required",
                phone=session.phone_number_collection,
                terms_required=session.terms_of_service == "required",
                promotions_asked=session.promotions == "auto",
                custom_text=dict(session.custom_text),
                submit_type=session.submit_type,
                locale=session.locale,
                terms_of_service_url=self.terms_of_service_url,
            )

    def select_shipping_rate(self, session_id: str, rate_id: str) -> None:
        """Choose a shipping option on the page (the total follows)."""
        with self.lock:
            session = self._get(self._sessions, session_id, "checkout.session")
            if session.status == "open" and rate_id in session.shipping_rate_ids:
                session.selected_shipping_rate_id = rate_id
                session.amount_shipping = self._shipping_rates[rate_id].amount

    def submit_payment(self, session_id: str, form: CheckoutForm) -> PaymentOutcome:
        """Pay an open session from the page; a declined card leaves it open, with no event."""
        with self.lock:
            self.tick()
            session = self._get(self._sessions, session_id, "checkout.session")
            if session.status != "open":
                return PaymentOutcome(error="This checkout session is no longer open.")
            if form.shipping_rate_id is not None:
                self.select_shipping_rate(session_id, form.shipping_rate_id)
            today = dt.datetime.fromtimestamp(self.clock.now(), dt.UTC)
            try:
                if session.amount_total == 0:
                    self._complete(session, form, None)
                elif form.method == "card":
                    card = check_card(
                        form.card_number,
                        form.card_expiry,
                        form.card_cvc,
                        year=today.year,
                        month=today.month,
                    )
                    if not card.approved:
                        return PaymentOutcome(error=card.message, field="card_number")
                    details: JSONObject = {
                        "type": "card",
                        "card": {
                            "brand": card.brand,
                            "last4": card.last4,
                            "exp_month": card.exp_month,
                            "exp_year": card.exp_year,
                            "country": "US",
                            "funding": "credit",
                            "network": card.brand,
                            "checks": {"cvc_check": "pass"},
                        },
                    }
                    self._complete(session, form, details)
                else:
                    sepa = check_iban(form.iban)
                    details = {
                        "type": "sepa_debit",
                        "sepa_debit": {
                            "bank_code": sepa.bank_code,
                            "branch_code": "",
                            "country": sepa.country,
                            "last4": sepa.last4,
                            "mandate": ids.new_id("mandate"),
                        },
                    }
                    self._complete(session, form, details, sepa_succeeds=sepa.succeeds)
            except PaymentDetailsError as exc:
                return PaymentOutcome(error=exc.message, field=exc.field)
            return PaymentOutcome(
                redirect_to=session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id)
            )

    def _complete(
        self,
        session: CheckoutSession,
        form: CheckoutForm,
        method_details: JSONObject | None,
        *,
        sepa_succeeds: bool | None = None,
    ) -> None:
        now = self.clock.timestamp()
        session.customer_details = CustomerDetails(form.email, form.name, form.address, form.phone)
        if session.allowed_countries is not None:
            session.shipping_name, session.shipping_address = form.name, form.address
        if session.terms_of_service == "required":
            session.consent_terms = "accepted"
        if session.promotions == "auto":
            session.consent_promotions = "opt_in" if form.promotions_opt_in else "opt_out"
        session.status = "complete"
        if method_details is None:
            session.payment_status = "no_payment_required"
        else:
            asynchronous = sepa_succeeds is not None
            intent = self._create_payment(
                session, form, method_details, now, processing=asynchronous
            )
            if asynchronous:
                intent.settles_at = now + self.sepa_settle_delay
                intent.settles_successfully = bool(sepa_succeeds)
            session.payment_status = "unpaid" if asynchronous else "paid"
        self._emit("checkout.session.completed", self._session_json(session), NO_REQUEST)

    def _create_payment(
        self,
        session: CheckoutSession,
        form: CheckoutForm,
        method_details: JSONObject,
        now: int,
        *,
        processing: bool,
    ) -> PaymentIntent:
        method_type = str(method_details["type"])
        method_id = ids.new_id("pm")
        shipping: JSONObject | None = None
        if session.shipping_address is not None:
            shipping = {
                "address": session.shipping_address.json(),
                "name": session.shipping_name,
                "carrier": None,
                "phone": None,
                "tracking_number": None,
            }
        charge = Charge(
            id=ids.new_id("ch"),
            amount=session.amount_total,
            currency=session.currency,
            created=now,
            payment_intent_id="",
            payment_method_id=method_id,
            status="pending" if processing else "succeeded",
            billing_details={
                "address": form.address.json(),
                "email": form.email,
                "name": form.name,
                "phone": form.phone,
                "tax_id": None,
            },
            payment_method_details=method_details,
            receipt_email=session.receipt_email,
        )
        intent = PaymentIntent(
            id=ids.new_id("pi"),
            amount=session.amount_total,
            currency=session.currency,
            created=now,
            status="processing" if processing else "succeeded",
            payment_method_type=method_type,
            payment_method_id=method_id,
            latest_charge_id=charge.id,
            metadata=dict(session.payment_intent_metadata),
            description=session.payment_intent_description,
            receipt_email=session.receipt_email,
            shipping=shipping,
            session_id=session.id,
        )
        charge.payment_intent_id = intent.id
        self._charges[charge.id] = charge
        self._payment_intents[intent.id] = intent
        session.payment_intent_id = intent.id
        return intent

    # --- time ------------------------------------------------------------------

    def tick(self) -> None:
        """Expire sessions past ``expires_at`` and settle due SEPA debits."""
        with self.lock:
            now = self.clock.timestamp()
            for session in list(self._sessions.values()):
                if session.status == "open" and session.expires_at <= now:
                    self._expire(session, NO_REQUEST)
            for intent in list(self._payment_intents.values()):
                if (
                    intent.status == "processing"
                    and intent.settles_at is not None
                    and intent.settles_at <= now
                ):
                    self._settle(intent)

    def _settle(self, intent: PaymentIntent) -> None:
        charge = self._charges[intent.latest_charge_id]
        session = self._sessions[intent.session_id] if intent.session_id else None
        if intent.settles_successfully:
            intent.status = charge.status = "succeeded"
            if session is not None:
                session.payment_status = "paid"
            event_type = "checkout.session.async_payment_succeeded"
        else:
            intent.status, charge.status = "requires_payment_method", "failed"
            charge.failure_code = "insufficient_funds"
            charge.failure_message = (
                "The customer's account has insufficient funds to cover this payment."
            )
            intent.last_payment_error = {
                "type": "invalid_request_error",
                "code": charge.failure_code,
                "message": charge.failure_message,
                "payment_method": {
                    "id": intent.payment_method_id,
                    "type": intent.payment_method_type,
                },
            }
            event_type = "checkout.session.async_payment_failed"
        if session is not None:
            self._emit(event_type, self._session_json(session), NO_REQUEST)

    # --- refunds and other objects ------------------------------------------

    def create_refund(self, values: FormDict, request: ApiRequest = NO_REQUEST) -> JSONObject:
        with self.lock:
            spec = parse_refund_create(values)
            if spec.payment_intent is not None:
                intent = self._get(
                    self._payment_intents, spec.payment_intent, "payment_intent", "payment_intent"
                )
                charge = self._charges[intent.latest_charge_id]
            else:
                assert spec.charge is not None
                charge = self._get(self._charges, spec.charge, "charge", "charge")
                intent = self._payment_intents[charge.payment_intent_id]
            if charge.status != "succeeded":
                raise errors.StripeApiError(
                    f"This PaymentIntent ({intent.id}) does not have a successful charge to "
                    "refund.",
                    code="charge_not_refundable"
                    if charge.status == "failed"
                    else "payment_intent_unexpected_state",
                    replayable=True,
                )
            if charge.refundable == 0:
                raise errors.StripeApiError(
                    f"Charge {charge.id} has already been refunded.",
                    code="charge_already_refunded",
                    replayable=True,
                )
            amount = spec.amount if spec.amount is not None else charge.refundable
            if amount > charge.refundable:
                remaining = format_amount(charge.refundable, charge.currency)
                raise errors.StripeApiError(
                    f"Refund amount ({format_amount(amount, charge.currency)}) is greater than "
                    f"unrefunded amount on charge ({remaining})",
                    code="amount_too_large",
                    param="amount",
                    replayable=True,
                )
            previous: JSONObject = {"amount_refunded": charge.amount_refunded, "refunded": False}
            refund = Refund(
                ids.new_id("re"),
                amount,
                charge.currency,
                self.clock.timestamp(),
                charge.id,
                intent.id,
                spec.reason,
                dict(spec.metadata),
            )
            self._refunds[refund.id] = refund
            charge.amount_refunded += amount
            self._emit("charge.refunded", charge_json(charge), request, previous)
            return self._expanded(refund_json(refund), spec.expand)

    def list_refunds(self, values: FormDict) -> JSONObject:
        """``GET /v1/refunds``, newest first, filtered by payment intent, charge or date."""
        with self.lock:
            query = parse_list(
                values, filters=("payment_intent", "charge", "created"), root=RefundListParams
            )
            refunds = [
                r
                for r in reversed(self._refunds.values())
                if query.filters.get("payment_intent") in (None, r.payment_intent_id)
                and query.filters.get("charge") in (None, r.charge_id)
                and _created_matches(r.created, query.created)
            ]
            page, has_more = _paginate(refunds, query, lambda r: r.id, "refund")
            result = list_json([refund_json(r) for r in page], url="/v1/refunds", has_more=has_more)
            return self._expanded(result, query.expand)

    def retrieve(self, kind: str, object_id: str, values: FormDict) -> JSONObject:
        """``GET /v1/<kind>s/<id>`` for refunds, payment intents, charges, shipping rates..."""
        with self.lock:
            paths = parse_expand_only(values)
            found = self._find(object_id)
            if found is None or found.get("object") != kind:
                raise errors.resource_missing(kind, object_id)
            return self._expanded(found, paths)

    # --- events -------------------------------------------------------------------

    def list_events(self, values: FormDict) -> JSONObject:
        with self.lock:
            query = parse_list(values, filters=("type", "types", "created"), root=EventListParams)
            wanted = query.types or ((query.filters["type"],) if "type" in query.filters else ())
            events = [
                e
                for e in reversed(self._events.values())
                if (not wanted or any(_type_matches(pattern, e.type) for pattern in wanted))
                and _created_matches(e.created, query.created)
            ]
            page, has_more = _paginate(events, query, lambda e: e.id, "event")
            return list_json([event_json(e) for e in page], url="/v1/events", has_more=has_more)

    def _emit(
        self,
        event_type: str,
        obj: JSONObject,
        request: ApiRequest,
        previous_attributes: JSONObject | None = None,
    ) -> Event:
        data: JSONObject = {"object": obj}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        endpoints = [e for e in self.webhooks.endpoints if e.wants(event_type)]
        event = Event(
            ids.new_id("evt"),
            event_type,
            self.clock.timestamp(),
            data,
            self.api_version,
            request.id,
            request.idempotency_key,
            len(endpoints),
        )
        self._events[event.id] = event
        self._delivered_to[event.id] = set()
        self._wanted_by[event.id] = {e.url for e in endpoints}
        payload = json.dumps(event_json(event), indent=2).encode()
        self.webhooks.publish(event.id, event_type, payload)
        self.start()
        return event

    def _delivered(self, event_id: str, url: str) -> None:
        """``pending_webhooks`` counts the endpoints that have not acknowledged the event yet."""
        with self.lock:
            event = self._events.get(event_id)
            if event is None:
                return
            delivered = self._delivered_to[event_id]
            delivered.add(url)
            event.pending_webhooks = len(self._wanted_by[event_id] - delivered)

    # --- lookups and rendering ----------------------------------------------

    def _get(self, table: dict[str, T], object_id: str, kind: str, param: str = "id") -> T:
        found = table.get(object_id)
        if found is None:
            raise errors.resource_missing(kind, object_id, param)
        return found

    def _session_json(self, session: CheckoutSession) -> JSONObject:
        amounts = {i: self._shipping_rates[i].amount for i in session.shipping_rate_ids}
        return session_json(session, amounts)

    def _find(self, object_id: str) -> JSONObject | None:
        """Any object by id, rendered (for expansion and retrieval)."""
        if object_id in self._sessions:
            return self._session_json(self._sessions[object_id])
        if (product := self._products.get(object_id)) is not None:
            return product_json(product)
        if (price := self._prices.get(object_id)) is not None:
            return price_json(price)
        if (rate := self._shipping_rates.get(object_id)) is not None:
            return shipping_rate_json(rate)
        if (intent := self._payment_intents.get(object_id)) is not None:
            return payment_intent_json(intent)
        if (charge := self._charges.get(object_id)) is not None:
            return charge_json(charge)
        if (refund := self._refunds.get(object_id)) is not None:
            return refund_json(refund)
        if (event := self._events.get(object_id)) is not None:
            return event_json(event)
        return None

    def _include(self, owner: JSONObject, name: str) -> JSONObject | None:
        """Properties only present when expanded: a session's ``line_items``."""
        if owner.get("object") == "checkout.session" and name == "line_items":
            session = self._sessions[str(owner["id"])]
            items = [self._line_items[i] for i in session.line_item_ids]
            return self._line_items_json(session, items[:100], len(items) > 100)
        return None

    def _expanded(self, obj: JSONObject, paths: Sequence[str]) -> JSONObject:
        return expand(obj, paths, self._find, self._include) if paths else obj


def _paginate(
    items: list[T], query: ListInput, key: Callable[[T], str], kind: str
) -> tuple[list[T], bool]:
    """Stripe's cursor pagination over ``items`` in list order."""
    ids_in_order = [key(item) for item in items]
    if query.starting_after is not None:
        if query.starting_after not in ids_in_order:
            raise errors.resource_missing(kind, query.starting_after, "starting_after")
        start = ids_in_order.index(query.starting_after) + 1
        page = items[start : start + query.limit]
        return page, start + query.limit < len(items)
    if query.ending_before is not None:
        if query.ending_before not in ids_in_order:
            raise errors.resource_missing(kind, query.ending_before, "ending_before")
        end = ids_in_order.index(query.ending_before)
        start = max(0, end - query.limit)
        return items[start:end], start > 0
    return items[: query.limit], len(items) > query.limit


def _created_matches(created: int, bounds: dict[str, int]) -> bool:
    return (
        ("gt" not in bounds or created > bounds["gt"])
        and ("gte" not in bounds or created >= bounds["gte"])
        and ("lt" not in bounds or created < bounds["lt"])
        and ("lte" not in bounds or created <= bounds["lte"])
    )


def _type_matches(pattern: str, event_type: str) -> bool:
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type
