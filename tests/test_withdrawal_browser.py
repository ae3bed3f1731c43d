"""The withdrawal function as a shopper's phone lives it (390 px): the link on every page,
the form, the second step « Confirmer la rétractation », the acknowledgement e-mail; with
and without JavaScript; accessible (axe) and valid HTML (the Nu validator), pages and the
functions' no-JavaScript answer alike.

The whole local stack runs for real (static site, functions, Stripe emulator), as in
``tests/test_checkout_browser.py``: the order is bought through the emulator first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.apishop import built_shop, running_stack
from tests.test_checkout_flow import Shop, order_status, pay, session_of, wait_for
from tests.webtools import run_axe, run_vnu

PHONE: ViewportSize = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("COMPTOIR_SCREENSHOTS", "/tmp/comptoir-screenshots"))


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_shop(tmp_path_factory.mktemp("withdrawal-browser"))


@pytest.fixture
def shop(shop_root: Path, tmp_path: Path) -> Iterator[Shop]:
    with running_stack(shop_root, tmp_path) as (origin, stack):
        yield Shop(origin, stack, shop_root)


def bought(shop: Shop) -> tuple[str, str]:
    """A bowl bought with the success card (as Camille Martin): the order's number, e-mail."""
    url = shop.checkout([("BOL-BLEU", 1)]).json()["url"]
    session_id = session_of(url)
    pay(url)
    wait_for(lambda: order_status(shop, session_id) == "paid")
    order = shop.stack.store.get_order(session_id)
    assert order is not None
    return order.number, order.email


def fill(page: Page, number: str, email: str) -> None:
    page.get_by_label("Votre nom").fill("Camille Martin")
    page.get_by_label("Numéro de commande").fill(number)
    page.get_by_label("Adresse e-mail utilisée pour la commande").fill(email)
    page.get_by_label("Votre adresse de contact").fill("3 rue des Tisserands\n69001 Lyon")
    page.get_by_role("button", name="Continuer").click()


def test_withdrawal_on_a_phone_from_the_link_on_any_page(shop: Shop, browser: Browser) -> None:
    number, email = bought(shop)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for path in ("/", "/cart/", "/products/bol/"):
        page.goto(shop.base + path)
        link = page.get_by_role("link", name="Se rétracter du contrat ici")
        expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(shop.base + "/retractation/formulaire/")
    assert run_axe(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    fill(page, number, "pas.moi@example.fr")  # a wrong pair: told, nothing revealed
    expect(page.get_by_role("alert").first).to_contain_text("Aucune commande ne correspond")
    page.get_by_label("Adresse e-mail utilisée pour la commande").fill(email)
    page.get_by_role("button", name="Continuer").click()
    confirm = page.get_by_role("button", name="Confirmer la rétractation")
    expect(confirm).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "withdrawal-step2-390.png", full_page=True)
    expect(page.locator("[data-withdrawal-summary]")).to_contain_text(number)
    assert shop.stack.store.list_returns() == []  # not before the second step
    assert run_axe(page) == []
    confirm.click()
    expect(page).to_have_url(shop.base + "/retractation/confirmee/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Rétractation enregistrée")
    assert run_axe(page) == []
    assert errors == []

    [ret] = shop.stack.store.list_returns()
    assert ret.rid == f"{number}-W" and ret.contact_address == "3 rue des Tisserands\n69001 Lyon"
    expected = {
        f"Votre rétractation de la commande {number}",
        f"Rétractation de la commande {number}",
    }
    wait_for(lambda: expected <= {str(m["Subject"]) for m in shop.mails()})
    context.close()


def test_withdrawal_without_javascript(shop: Shop, browser: Browser, tmp_path: Path) -> None:
    number, email = bought(shop)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(shop.base + "/retractation/formulaire/")
    fill(page, number, email)
    expect(page).to_have_url(shop.base + "/api/withdrawals")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmez votre rétractation")
    (tmp_path / "step2.html").write_text(page.content(), encoding="utf-8")
    assert run_vnu([tmp_path / "step2.html"]) == []
    token = page.locator('input[name="token"]').get_attribute("value")
    page.get_by_role("button", name="Confirmer la rétractation").click()
    expect(page).to_have_url(shop.base + "/retractation/confirmee/")
    assert len(shop.stack.store.list_returns()) == 1
    # The same confirmation sent again (a double click, a resubmitted form): nothing new.
    again = page.request.post(
        shop.base + "/api/withdrawals/confirm",
        form={"token": token or "", "lang": "fr"},
        headers={"origin": shop.base},
        max_redirects=0,
    )
    assert again.status == 303 and again.headers["location"].endswith("/retractation/confirmee/")
    assert len(shop.stack.store.list_returns()) == 1
    context.close()


def test_the_withdrawal_pages_are_valid_html(shop_root: Path) -> None:
    output = shop_root / "output" / "retractation"
    assert run_vnu([output / "formulaire", output / "confirmee"]) == []
