"""The functions' settings: secrets read whole and clean, a live key never meets the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.settings import ConfigurationError, from_environment

SHOP = Path("/nonexistent/shop")  # settings read no file: the published shop is loaded apart
WEBHOOK = "whsec_0123456789abcdef"


@pytest.mark.parametrize("padding", [" ", "\n", "\t", " \r\n"])
def test_a_key_with_spaces_or_a_line_break_around_it_is_read_without_them(padding: str) -> None:
    settings = from_environment(
        SHOP,
        {
            "STRIPE_SECRET_KEY": f"{padding}sk_test_51Habc{padding}",
            "STRIPE_WEBHOOK_SECRET": f"{padding}{WEBHOOK}{padding}",
        },
    )
    assert settings.stripe_key.reveal() == "sk_test_51Habc"
    assert settings.webhook_secret.reveal() == WEBHOOK


@pytest.mark.parametrize("padding", [" ", "\n", "  \t"])
def test_a_padded_live_key_is_still_refused_beside_the_emulator(padding: str) -> None:
    with pytest.raises(ConfigurationError, match=r"live Stripe key.*STRIPE_API_BASE"):
        from_environment(
            SHOP,
            {
                "STRIPE_SECRET_KEY": f"{padding}sk_live_51Habc",
                "STRIPE_WEBHOOK_SECRET": WEBHOOK,
                "STRIPE_API_BASE": "http://127.0.0.1:9/_stripe",
            },
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRIPE_SECRET_KEY", "sk_test_51H abc"),
        ("STRIPE_SECRET_KEY", "pk_test_51Habc"),
        ("STRIPE_SECRET_KEY", "sk_live_51Habc\nSTRIPE_API_BASE=x"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_abc def"),
        ("STRIPE_WEBHOOK_SECRET", "sk_test_51Habc"),
    ],
)
def test_a_value_that_is_not_a_secret_is_refused_without_being_repeated(
    name: str, value: str
) -> None:
    env = {"STRIPE_SECRET_KEY": "sk_test_51Habc", "STRIPE_WEBHOOK_SECRET": WEBHOOK, name: value}
    with pytest.raises(ConfigurationError) as caught:
        from_environment(SHOP, env)
    message = str(caught.value)
    assert message.startswith(f"{name} does not look like a Stripe secret")
    assert "51H" not in message and "abc" not in message


def test_the_published_shop_and_store_paths_come_from_the_environment() -> None:
    settings = from_environment(
        SHOP,
        {
            "STRIPE_SECRET_KEY": "sk_test_51Habc",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK,
            "COMPTOIR_PUBLISHED": "/var/task/published/shop.json",
        },
    )
    assert settings.published_path == Path("/var/task/published/shop.json")
    assert settings.store == str(SHOP / "var" / "comptoir.sqlite3")
    default = from_environment(
        SHOP, {"STRIPE_SECRET_KEY": "sk_test_51Habc", "STRIPE_WEBHOOK_SECRET": WEBHOOK}
    )
    assert default.published_path == SHOP / "published" / "shop.json"
