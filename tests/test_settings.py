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


def test_deploy_previews_may_call_the_api_and_come_back_to_themselves(tmp_path: Path) -> None:
    import httpx

    from tests.apishop import built_shop, running_stack

    shop = built_shop(tmp_path)
    previews = {
        "COMPTOIR_ALLOWED_ORIGINS": "https://*--mini.netlify.app, https://staging.mini.example/"
    }
    with running_stack(shop, tmp_path / "var", previews) as (origin, stack):
        body = {"items": [{"sku": "BOL-BLEU", "quantity": 1}], "country": "FR"}

        def checkout(site: str) -> httpx.Response:
            return httpx.post(
                origin + "/api/checkout", json=body, headers={"origin": site}, timeout=30
            )

        preview = "https://deploy-preview-42--mini.netlify.app"
        started = checkout(preview)
        assert started.status_code == 201, started.text
        key = stack.settings.stripe_key.reveal()
        session = httpx.get(
            f"{origin}/_stripe/v1/checkout/sessions/{started.json()['session_id']}",
            headers={"authorization": f"Bearer {key}"},
        ).json()
        assert session["success_url"].startswith(preview + "/order/?session_id=")
        assert session["cancel_url"] == preview + "/cart/?cancelled=1"
        assert checkout("https://staging.mini.example").status_code == 201
        for hostile in (
            "https://evil.example",
            "https://a.b--mini.netlify.app",  # the * stands for one label, no dots
            "https://--mini.netlify.app",
            "http://deploy-preview-42--mini.netlify.app",
            "https://deploy-preview-42--mini.netlify.app.evil.example",
        ):
            refused = checkout(hostile)
            assert refused.status_code == 403, hostile
            assert refused.json()["error"]["code"] == "origin_not_allowed"


@pytest.mark.parametrize(
    "value", ["preview.example", "https://*.*.example", "https://a.*.example", "ftp://x.example"]
)
def test_allowed_origins_that_are_not_origins_are_refused(value: str) -> None:
    env = {
        "STRIPE_SECRET_KEY": "sk_test_51Habc",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK,
        "COMPTOIR_ALLOWED_ORIGINS": value,
    }
    with pytest.raises(ConfigurationError, match="COMPTOIR_ALLOWED_ORIGINS must list origins"):
        from_environment(SHOP, env)


@pytest.mark.parametrize(("stage", "key"), [("live", "sk_test_51Habc"), ("test", "sk_live_51Habc")])
def test_a_stack_refuses_a_key_of_the_other_mode(stage: str, key: str) -> None:
    env = {"STRIPE_SECRET_KEY": key, "STRIPE_WEBHOOK_SECRET": WEBHOOK, "COMPTOIR_STAGE": stage}
    with pytest.raises(ConfigurationError, match=f"COMPTOIR_STAGE is {stage} but"):
        from_environment(SHOP, env)
    assert from_environment(SHOP, {**env, "STRIPE_SECRET_KEY": f"sk_{stage}_51Habc"})
