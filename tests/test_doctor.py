"""`comptoir doctor`: each problem of a production configuration as one line, exit 1 when
there is one; a shop ready to go live gets OK and exit 0. Run through the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from comptoir.cli import main

ROOT = Path(__file__).resolve().parent.parent
MINI = Path(__file__).parent / "fixtures" / "mini"
LIVE = {
    "STRIPE_SECRET_KEY": "sk_live_" + "a1" * 12,
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "b2" * 16,
    "COMPTOIR_STAGE": "live",
}
VARIABLES = (
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "COMPTOIR_STAGE",
    "COMPTOIR_API_ORIGIN",
    "COMPTOIR_MAIL_URL",
    "COMPTOIR_SES_IDENTITY",
)


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without any of the variables doctor reads."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def ready(tmp_path: Path) -> Path:
    """The mini shop with a real-looking domain: ready to go live."""
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    config = shop / "content" / "shop.yaml"
    config.write_text(config.read_text().replace("mini.example", "mini-et-co.fr"))
    return shop


def doctor(shop: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, list[str]]:
    code = main(["doctor", "--shop", str(shop), *options])
    out = capsys.readouterr().out
    return code, out.splitlines()


def set_all(environ: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        environ.setenv(name, value)


def test_a_shop_ready_to_go_live(
    ready: Path, environ: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_all(
        environ,
        {
            **LIVE,
            "STRIPE_PUBLISHABLE_KEY": "pk_live_" + "c3" * 12,
            "COMPTOIR_API_ORIGIN": "https://abc123.lambda-url.eu-west-3.on.aws",
            "COMPTOIR_MAIL_URL": "ses://eu-west-3",
            "COMPTOIR_SES_IDENTITY": "mini-et-co.fr",
        },
    )
    code, lines = doctor(ready, capsys)
    assert (code, len(lines)) == (0, 1)
    assert lines[0].startswith("OK: ")
    code, lines = doctor(ready, capsys, "--json")
    assert (code, json.loads(lines[0])) == (0, {"ok": True, "problems": []})


def test_the_example_shop_is_not_ready(
    environ: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = doctor(ROOT, capsys)
    assert code == 1
    assert lines[-1] == f"{len(lines) - 1} problems to fix before going live."
    text = "\n".join(lines)
    for expected in (
        "STRIPE_SECRET_KEY: not set",
        "STRIPE_WEBHOOK_SECRET: not set",
        "content/shop.yaml: base_url https://the-et-terre.example is an example address",
        "content/shop.yaml: email.from commandes@the-et-terre.example is an example address",
        "content/shop.yaml: legal.company is still the example shop's invented one "
        "(Thé & Terre SARL)",
        "content/shop.yaml: legal.registration is still the example shop's invented one "
        "(RCS Lyon 912 345 678)",
        "content/shop.yaml: legal.vat_number is still the example shop's invented one",
    ):
        assert expected in text
    assert len(set(lines)) == len(lines)  # each problem once


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"STRIPE_SECRET_KEY": "sk_test_" + "d4" * 12},
            "STRIPE_SECRET_KEY: is a test key but COMPTOIR_STAGE is live",
        ),
        (
            {"STRIPE_PUBLISHABLE_KEY": "pk_test_" + "d4" * 12},
            "STRIPE_PUBLISHABLE_KEY: is a test key but COMPTOIR_STAGE is live",
        ),
        (
            {"COMPTOIR_STAGE": "test"},
            "STRIPE_SECRET_KEY: is a live key but COMPTOIR_STAGE is test",
        ),
        (
            {"STRIPE_API_BASE": "http://127.0.0.1:8000/_stripe"},
            "STRIPE_API_BASE: set together with a live key",
        ),
        ({"STRIPE_WEBHOOK_SECRET": ""}, "STRIPE_WEBHOOK_SECRET: not set"),
        ({"STRIPE_WEBHOOK_SECRET": "sk_live_oops"}, "STRIPE_WEBHOOK_SECRET: does not look like"),
        ({"STRIPE_SECRET_KEY": "pasted wrong"}, "STRIPE_SECRET_KEY: does not look like"),
        ({"COMPTOIR_STAGE": "prod"}, "COMPTOIR_STAGE: must be live or test"),
        (
            {"COMPTOIR_API_ORIGIN": "http://abc.on.aws"},
            "COMPTOIR_API_ORIGIN: must be the functions' https origin",
        ),
        ({"COMPTOIR_MAIL_URL": "sendmail"}, "COMPTOIR_MAIL_URL: must be ses://REGION"),
        (
            {"COMPTOIR_SES_IDENTITY": "other.fr"},
            "content/shop.yaml: email.from sends from mini-et-co.fr, but SES is set up for "
            "other.fr",
        ),
    ],
)
def test_each_environment_problem_is_one_line(
    ready: Path,
    environ: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    expected: str,
) -> None:
    set_all(environ, {**LIVE, **change})
    code, lines = doctor(ready, capsys)
    assert code == 1
    assert len(lines) == 2, lines  # the problem, then the count
    assert lines[0].startswith(expected)
    assert lines[1] == "1 problem to fix before going live."
    secret = change.get("STRIPE_SECRET_KEY") or LIVE["STRIPE_SECRET_KEY"]
    assert secret not in lines[0]  # a secret is never printed


def test_content_problems(
    ready: Path, environ: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_all(environ, LIVE)
    config = ready / "content" / "shop.yaml"
    config.write_text(config.read_text().replace("https://mini-et-co.fr", "http://mini-et-co.fr"))
    (ready / "content" / "pages" / "retractation.md").unlink()
    code, lines = doctor(ready, capsys, "--json")
    assert code == 1
    report = json.loads(lines[0])
    assert report["ok"] is False
    found = [f"{p['where']}: {p['message']}" for p in report["problems"]]
    assert len(found) == 2, found
    assert found[0].startswith("content/pages: no page has 'role: withdrawal'")
    assert found[1].startswith("content/shop.yaml: base_url must start with https://")
