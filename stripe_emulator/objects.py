"""The emulated Stripe objects and their JSON, shaped like Stripe's API responses.

Records are plain dataclasses owned by the state (always mutated under its
lock); ``*_json`` functions render them with every field the official
library reads, ``null`` where the emulator has nothing to say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

JSONObject: TypeAlias = dict[str, object]


@dataclass
class Address:
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None

    def json(self) -> JSONObject:
        return {
            "city": self.city,
            "country": self.country,
            "line1": self.line1,
            "line2": self.line2,
            "postal_code": self.postal_code,
            "state": self.state,
        }


@dataclass
class Product:
    id: str
    name: str
    created: int
    description: str | None = None
    images: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    tax_code: str | None = None
    unit_label: str | None = None


@dataclass
class Price:
    id: str
    product_id: str
    currency: str
    unit_amount: int
    created: int
    tax_behavior: str = "unspecified"


@dataclass
class LineItem:
    id: str
    price_id: str
    description: str
    quantity: int
    currency: str
    amount_subtotal: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class ShippingRate:
    id: str
    display_name: str
    amount: int
    currency: str
    created: int
    delivery_estimate: dict[str, object] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    tax_behavior: str = "unspecified"
    tax_code: str | None = None


@dataclass
class CustomerDetails:
    email: str
    name: str
    address: Address
    phone: str | None = None


@dataclass
class CheckoutSession:
    id: str
    created: int
    expires_at: int
    currency: str
    success_url: str
    cancel_url: str | None
    url: str
    line_item_ids: list[str]
    shipping_rate_ids: list[str]
    amount_subtotal: int
    status: str = "open"
    payment_status: str = "unpaid"
    selected_shipping_rate_id: str | None = None
    amount_shipping: int = 0
    allowed_countries: tuple[str, ...] | None = None
    locale: str | None = None
    terms_of_service: str | None = None
    promotions: str | None = None
    custom_text: dict[str, str | None] = field(default_factory=dict)
    client_reference_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    customer_email: str | None = None
    payment_method_types: tuple[str, ...] = ("card",)
    allowed_payment_method_types: tuple[str, ...] | None = None
    submit_type: str | None = None
    billing_address_collection: str | None = None
    phone_number_collection: bool = False
    payment_intent_metadata: dict[str, str] = field(default_factory=dict)
    payment_intent_description: str | None = None
    receipt_email: str | None = None
    customer_details: CustomerDetails | None = None
    shipping_name: str | None = None
    shipping_address: Address | None = None
    consent_terms: str | None = None
    consent_promotions: str | None = None
    payment_intent_id: str | None = None

    @property
    def amount_total(self) -> int:
        return self.amount_subtotal + self.amount_shipping


@dataclass
class PaymentIntent:
    id: str
    amount: int
    currency: str
    created: int
    status: str
    payment_method_type: str
    payment_method_id: str
    latest_charge_id: str
    metadata: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    receipt_email: str | None = None
    shipping: JSONObject | None = None
    last_payment_error: JSONObject | None = None
    settles_at: int | None = None
    settles_successfully: bool = True
    session_id: str | None = None


@dataclass
class Charge:
    id: str
    amount: int
    currency: str
    created: int
    payment_intent_id: str
    payment_method_id: str
    status: str
    billing_details: JSONObject
    payment_method_details: JSONObject
    amount_refunded: int = 0
    failure_code: str | None = None
    failure_message: str | None = None
    receipt_email: str | None = None

    @property
    def refundable(self) -> int:
        return self.amount - self.amount_refunded


@dataclass
class Refund:
    id: str
    amount: int
    currency: str
    created: int
    charge_id: str
    payment_intent_id: str
    reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    status: str = "succeeded"


@dataclass
class Event:
    id: str
    type: str
    created: int
    data: JSONObject
    api_version: str
    request_id: str | None = None
    idempotency_key: str | None = None
    pending_webhooks: int = 0


def list_json(data: list[JSONObject], *, url: str, has_more: bool) -> JSONObject:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def product_json(product: Product) -> JSONObject:
    return {
        "id": product.id,
        "object": "product",
        "active": True,
        "attributes": [],
        "created": product.created,
        "default_price": None,
        "description": product.description,
        "images": list(product.images),
        "livemode": False,
        "marketing_features": [],
        "metadata": dict(product.metadata),
        "name": product.name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": product.tax_code,
        "type": "service",
        "unit_label": product.unit_label,
        "updated": product.created,
        "url": None,
    }


def price_json(price: Price) -> JSONObject:
    return {
        "id": price.id,
        "object": "price",
        "active": False,
        "billing_scheme": "per_unit",
        "created": price.created,
        "currency": price.currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": price.product_id,
        "recurring": None,
        "tax_behavior": price.tax_behavior,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": price.unit_amount,
        "unit_amount_decimal": str(price.unit_amount),
    }


def line_item_json(item: LineItem, price: Price) -> JSONObject:
    return {
        "id": item.id,
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": item.amount_subtotal,
        "amount_tax": 0,
        "amount_total": item.amount_subtotal,
        "currency": item.currency,
        "description": item.description,
        "metadata": dict(item.metadata),
        "price": price_json(price),
        "quantity": item.quantity,
    }


def shipping_rate_json(rate: ShippingRate) -> JSONObject:
    return {
        "id": rate.id,
        "object": "shipping_rate",
        "active": True,
        "created": rate.created,
        "delivery_estimate": rate.delivery_estimate,
        "display_name": rate.display_name,
        "fixed_amount": {"amount": rate.amount, "currency": rate.currency},
        "livemode": False,
        "metadata": dict(rate.metadata),
        "tax_behavior": rate.tax_behavior,
        "tax_code": rate.tax_code,
        "type": "fixed_amount",
    }


def _customer_details_json(details: CustomerDetails | None) -> JSONObject | None:
    if details is None:
        return None
    return {
        "address": details.address.json(),
        "business_name": None,
        "email": details.email,
        "individual_name": None,
        "name": details.name,
        "phone": details.phone,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def session_json(session: CheckoutSession, shipping_amounts: dict[str, int]) -> JSONObject:
    """A ``checkout.session``; ``shipping_amounts`` maps its shipping rate ids to amounts."""
    shipping_details = None
    if session.shipping_address is not None:
        shipping_details = {
            "address": session.shipping_address.json(),
            "name": session.shipping_name,
        }
    consent = None
    if session.status == "complete" and (session.terms_of_service or session.promotions):
        consent = {
            "promotions": session.consent_promotions,
            "terms_of_service": session.consent_terms,
        }
    consent_collection = None
    if session.terms_of_service or session.promotions:
        consent_collection = {
            "payment_method_reuse_agreement": None,
            "promotions": session.promotions,
            "terms_of_service": session.terms_of_service,
        }
    shipping_cost = None
    if session.selected_shipping_rate_id is not None:
        shipping_cost = {
            "amount_subtotal": session.amount_shipping,
            "amount_tax": 0,
            "amount_total": session.amount_shipping,
            "shipping_rate": session.selected_shipping_rate_id,
        }
    return {
        "id": session.id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "allowed_payment_method_types": (
            list(session.allowed_payment_method_types)
            if session.allowed_payment_method_types is not None
            else None
        ),
        "amount_subtotal": session.amount_subtotal,
        "amount_total": session.amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": session.billing_address_collection,
        "branding_settings": None,
        "cancel_url": session.cancel_url,
        "client_reference_id": session.client_reference_id,
        "client_secret": None,
        "collected_information": {
            "business_name": None,
            "individual_name": None,
            "shipping_details": shipping_details,
        },
        "consent": consent,
        "consent_collection": consent_collection,
        "created": session.created,
        "currency": session.currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            name: ({"message": message} if message is not None else None)
            for name, message in session.custom_text.items()
        },
        "customer": None,
        "customer_account": None,
        "customer_creation": "if_required",
        "customer_details": _customer_details_json(session.customer_details),
        "customer_email": session.customer_email,
        "discounts": [],
        "excluded_payment_method_types": None,
        "expires_at": session.expires_at,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "locale": session.locale,
        "managed_payments": None,
        "metadata": dict(session.metadata),
        "mode": "payment",
        "name_collection": None,
        "optional_items": None,
        "origin_context": None,
        "payment_intent": session.payment_intent_id,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": list(session.payment_method_types),
        "payment_status": session.payment_status,
        "permissions": None,
        "phone_number_collection": {"enabled": session.phone_number_collection},
        "presentment_details": None,
        "recovered_from": None,
        "redirect_on_completion": None,
        "return_url": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": (
            {"allowed_countries": list(session.allowed_countries)}
            if session.allowed_countries is not None
            else None
        ),
        "shipping_cost": shipping_cost,
        "shipping_options": [
            {"shipping_amount": shipping_amounts[rate_id], "shipping_rate": rate_id}
            for rate_id in session.shipping_rate_ids
        ],
        "status": session.status,
        "submit_type": session.submit_type,
        "subscription": None,
        "success_url": session.success_url,
        "tax_id_collection": {"enabled": False, "required": "never"},
        "total_details": {
            "amount_discount": 0,
            "amount_shipping": session.amount_shipping,
            "amount_tax": 0,
        },
        "ui_mode": "hosted_page",
        "url": session.url if session.status == "open" else None,
        "wallet_options": None,
    }


def payment_intent_json(intent: PaymentIntent) -> JSONObject:
    received = intent.amount if intent.status == "succeeded" else 0
    return {
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": received,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent.id}_secret_emulator",
        "confirmation_method": "automatic",
        "created": intent.created,
        "currency": intent.currency,
        "customer": None,
        "description": intent.description,
        "last_payment_error": intent.last_payment_error,
        "latest_charge": intent.latest_charge_id,
        "livemode": False,
        "metadata": dict(intent.metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": intent.payment_method_id,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": [intent.payment_method_type],
        "processing": (
            {"type": intent.payment_method_type} if intent.status == "processing" else None
        ),
        "receipt_email": intent.receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": intent.shipping,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": intent.status,
        "transfer_data": None,
        "transfer_group": None,
    }


def charge_json(charge: Charge) -> JSONObject:
    succeeded = charge.status == "succeeded"
    return {
        "id": charge.id,
        "object": "charge",
        "amount": charge.amount,
        "amount_captured": charge.amount if succeeded else 0,
        "amount_refunded": charge.amount_refunded,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": charge.billing_details,
        "calculated_statement_descriptor": "EMULATOR TEST",
        "captured": succeeded,
        "created": charge.created,
        "currency": charge.currency,
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": charge.failure_code,
        "failure_message": charge.failure_message,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": {
            "network_status": "approved_by_network"
            if charge.status != "failed"
            else "declined_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete."
            if charge.status != "failed"
            else "The bank returned the decline code.",
            "type": "authorized" if charge.status != "failed" else "issuer_declined",
        },
        "paid": succeeded,
        "payment_intent": charge.payment_intent_id,
        "payment_method": charge.payment_method_id,
        "payment_method_details": charge.payment_method_details,
        "receipt_email": charge.receipt_email,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": charge.amount_refunded == charge.amount and charge.amount > 0,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": charge.status,
        "transfer_data": None,
        "transfer_group": None,
    }


def refund_json(refund: Refund) -> JSONObject:
    return {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "balance_transaction": None,
        "charge": refund.charge_id,
        "created": refund.created,
        "currency": refund.currency,
        "destination_details": None,
        "metadata": dict(refund.metadata),
        "payment_intent": refund.payment_intent_id,
        "reason": refund.reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": refund.status,
        "transfer_reversal": None,
    }


def event_json(event: Event) -> JSONObject:
    return {
        "id": event.id,
        "object": "event",
        "api_version": event.api_version,
        "created": event.created,
        "data": event.data,
        "livemode": False,
        "pending_webhooks": event.pending_webhooks,
        "request": {"id": event.request_id, "idempotency_key": event.idempotency_key},
        "type": event.type,
    }
