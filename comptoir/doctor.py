"""``comptoir doctor``: is this shop's configuration ready for production?

Pure functions from what a first deploy depends on (the checked content, the environment the
deploy will use, the example shop's invented identity) to findings, each one clear line.
Secrets are judged by their shape and prefix only: a value never appears in a finding.

Environment read: STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY (optional), STRIPE_WEBHOOK_SECRET,
STRIPE_API_BASE (the offline emulator: never in production), COMPTOIR_STAGE (live, the
default, or test: the Stripe mode every key must be in), COMPTOIR_API_ORIGIN (optional),
COMPTOIR_MAIL_URL (optional), COMPTOIR_SES_IDENTITY (optional: the domain SES sends from).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import urlsplit

from generator.netlify import ApiOriginError, api_origin
from shop.config import LEGAL_ROLES, ShopConfig
from shop.content import ShopContent
from shop.identity import IDENTITY_FIELDS, address_domain, invented_identity

SHOP_YAML = "content/shop.yaml"
_SECRET_KEY = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9_]{1,250}")
_PUBLISHABLE_KEY = re.compile(r"pk_(test|live)_[A-Za-z0-9_]{1,250}")
_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9_]{1,250}")


@dataclass(frozen=True, order=True)
class Finding:
    """One thing to fix before going live: where, and what to do."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def diagnose(
    content: ShopContent,
    environ: Mapping[str, str],
    example_identity: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Every finding about the shop in ``content`` deployed with ``environ``.

    ``example_identity`` is the legal block of the example shop comptoir starts from.
    """
    findings = [*stripe_findings(environ), *delivery_findings(environ)]
    missing_roles = legal_page_findings(content)
    findings += missing_roles
    for problem in content.problems:
        if not (problem.path == "content/pages" and "page is missing" in problem.message):
            findings.append(Finding(f"{problem.path}:{problem.line}", problem.message))
    if content.config is not None:
        findings += config_findings(content.config, environ, example_identity or {})
    return findings


def _value(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()


def stage(environ: Mapping[str, str]) -> str | None:
    """The Stripe mode the deploy is for: ``live`` unless COMPTOIR_STAGE says ``test``;
    None when COMPTOIR_STAGE holds something else."""
    value = _value(environ, "COMPTOIR_STAGE").lower() or "live"
    return value if value in ("live", "test") else None


def stripe_findings(environ: Mapping[str, str]) -> Iterator[Finding]:
    """Keys present, well formed and all in the mode of the stage; no emulator."""
    wanted = stage(environ)
    if wanted is None:
        yield Finding("COMPTOIR_STAGE", "must be live or test")
    secret = _value(environ, "STRIPE_SECRET_KEY")
    publishable = _value(environ, "STRIPE_PUBLISHABLE_KEY")
    webhook = _value(environ, "STRIPE_WEBHOOK_SECRET")
    modes: dict[str, str] = {}
    if not secret:
        yield Finding(
            "STRIPE_SECRET_KEY",
            "not set: copy the secret key from Stripe's dashboard (Developers > API keys)",
        )
    elif match := _SECRET_KEY.fullmatch(secret):
        modes["STRIPE_SECRET_KEY"] = match[2]
    else:
        yield Finding("STRIPE_SECRET_KEY", "does not look like a Stripe secret key (sk_live_…)")
    if publishable:
        if match := _PUBLISHABLE_KEY.fullmatch(publishable):
            modes["STRIPE_PUBLISHABLE_KEY"] = match[1]
        else:
            yield Finding("STRIPE_PUBLISHABLE_KEY", "does not look like a Stripe key (pk_live_…)")
    if not webhook:
        yield Finding(
            "STRIPE_WEBHOOK_SECRET",
            "not set: register the webhook endpoint in Stripe and copy its signing secret "
            "(whsec_…)",
        )
    elif not _WEBHOOK_SECRET.fullmatch(webhook):
        yield Finding("STRIPE_WEBHOOK_SECRET", "does not look like a signing secret (whsec_…)")
    if wanted is not None:
        for name, mode in modes.items():
            if mode != wanted:
                yield Finding(
                    name,
                    f"is a {mode} key but COMPTOIR_STAGE is {wanted}: use the {wanted} key "
                    f"(Stripe's dashboard, {'Test' if wanted == 'test' else 'Live'} mode)",
                )
    if _value(environ, "STRIPE_API_BASE"):
        if "live" in modes.values():
            yield Finding(
                "STRIPE_API_BASE",
                "set together with a live key: the offline emulator never runs with a live key; "
                "unset STRIPE_API_BASE",
            )
        else:
            yield Finding(
                "STRIPE_API_BASE",
                "points payments at the offline emulator (tests only): unset it for a deploy",
            )


def delivery_findings(environ: Mapping[str, str]) -> Iterator[Finding]:
    """The functions' origin and the mail transport, when they are given."""
    origin = _value(environ, "COMPTOIR_API_ORIGIN")
    if origin:
        try:
            api_origin(origin)
        except ApiOriginError as error:
            yield Finding("COMPTOIR_API_ORIGIN", str(error).removeprefix("COMPTOIR_API_ORIGIN "))
    mail = _value(environ, "COMPTOIR_MAIL_URL")
    if mail and urlsplit(mail).scheme not in ("ses", "smtp", "smtps"):
        yield Finding("COMPTOIR_MAIL_URL", "must be ses://REGION (Amazon SES) or smtp://host:port")


def legal_page_findings(content: ShopContent) -> list[Finding]:
    roles = {page.role for page in content.pages}
    return [
        Finding(
            "content/pages",
            f"no page has 'role: {role}': French law asks for the {role.replace('-', ' ')} "
            "page (see docs/content.md)",
        )
        for role in LEGAL_ROLES
        if role not in roles
    ]


def config_findings(
    config: ShopConfig, environ: Mapping[str, str], example_identity: Mapping[str, str]
) -> Iterator[Finding]:
    """shop.yaml: an https base URL, a real sender, a real legal identity."""
    base = urlsplit(config.base_url)
    if base.scheme != "https":
        yield Finding(
            SHOP_YAML,
            f"base_url must start with https:// (Stripe returns shoppers there), "
            f"not {config.base_url}",
        )
    sender = parseaddr(config.email.sender)[1]
    if "@" not in sender:
        yield Finding(SHOP_YAML, 'email.from needs an address: "Shop name <orders@your-domain>"')
    identity = _value(environ, "COMPTOIR_SES_IDENTITY").lower()
    if identity and "@" in sender and address_domain(sender) != identity:
        yield Finding(
            SHOP_YAML,
            f"email.from sends from {address_domain(sender)}, but SES is set up for {identity} "
            "(COMPTOIR_SES_IDENTITY, the SesIdentity of template.yaml): make them the same",
        )
    yield from (
        Finding(SHOP_YAML, message) for _, message in invented_identity(config, example_identity)
    )
    for field in IDENTITY_FIELDS:
        if field != "phone" and not " ".join(str(getattr(config.legal, field) or "").split()):
            yield Finding(SHOP_YAML, f"legal.{field} is empty: the legal notice must give it")
