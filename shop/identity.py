"""The example shop's invented identity, which a real shop must replace before it sells.

``comptoir init`` copies an example shop whose company, numbers and addresses are made
up. ``check`` warns while they remain; ``build --production`` and ``doctor`` refuse.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from email.utils import parseaddr
from urllib.parse import urlsplit

from shop.config import ShopConfig

#: Top-level domains reserved for examples and tests (RFC 2606, RFC 6761): never a real shop.
RESERVED_DOMAINS = (".example", ".test", ".invalid", ".localhost", ".local")
RESERVED_HOSTS = ("example.com", "example.org", "example.net")
#: The legal identity fields an example shop invents and a real shop must replace.
IDENTITY_FIELDS = ("company", "address", "registration", "vat_number", "director", "phone")


def reserved(host: str) -> bool:
    """Whether ``host`` is a domain reserved for examples, never a real shop's."""
    host = host.lower().rstrip(".")
    return host.endswith(RESERVED_DOMAINS) or host in RESERVED_HOSTS or host == "localhost"


def address_domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2].lower()


def invented_identity(config: ShopConfig, example: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(key in shop.yaml, message) for each part of the identity that is still invented:
    an example domain, or a legal field equal to the example shop's (``example``, its
    ``legal`` block)."""
    if reserved(urlsplit(config.base_url).hostname or ""):
        yield "base_url", f"base_url {config.base_url} is an example address: put the shop's domain"
    for key, address in (
        ("email.from", config.email.sender),
        ("email.orders_to", config.email.orders_to),
        ("legal.email", config.legal.email),
    ):
        if address and reserved(address_domain(address)):
            yield key, f"{key} {parseaddr(address)[1]} is an example address"
    for field in IDENTITY_FIELDS:
        ours = " ".join(str(getattr(config.legal, field) or "").split())
        theirs = " ".join(str(example.get(field) or "").split())
        if ours and ours == theirs:
            yield (
                f"legal.{field}",
                f"legal.{field} is still the example shop's invented one ({ours}): put yours",
            )
