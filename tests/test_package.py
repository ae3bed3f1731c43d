"""``comptoir package``: the function folder answers events on its own.

The rule (issue 12): importing ``Handler`` from ``CodeUri``, with the project's
dependencies installed, answers events. A fresh interpreter whose only path besides
site-packages is the folder imports the handler and answers a quote.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from comptoir.cli import main
from shop.published import load, published_path
from tests.apishop import MINI
from tests.lambda_events import http_api_event, json_body, response_json, scheduled_event

FORBIDDEN = {"stripe_emulator", "generator", "comptoir", "content", "theme", "output", "tests"}
ANSWER = """
import json, sys
from functions.lambda_handler import handler, scheduled
events = json.load(sys.stdin)
response = handler(events["quote"], None)
report = scheduled(events["scheduled"], None)
files = {name: sys.modules[name].__file__ for name in ("functions", "shop")}
print(json.dumps({"response": response, "scheduled": report, "files": files,
                  "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the shop, its function folder), packaged by the command."""
    shop = tmp_path_factory.mktemp("package") / "shop"
    shutil.copytree(MINI, shop)
    assert main(["package", "--shop", str(shop)]) == 0
    return shop, shop / "build" / "function"


def test_the_folder_holds_the_code_the_published_shop_and_requirements(
    packaged: tuple[Path, Path],
) -> None:
    shop, folder = packaged
    assert {p.name for p in folder.iterdir()} == {
        ".comptoir-function",
        "functions",
        "shop",
        "published",
        "requirements.txt",
    }
    assert (folder / "functions" / "lambda_handler.py").is_file()
    assert (folder / "published" / "shop.json").read_bytes() == (published_path(shop).read_bytes())
    every_part = {part for path in folder.rglob("*") for part in path.relative_to(folder).parts}
    assert not every_part & FORBIDDEN
    assert not any(p.suffix in (".md", ".pyc") for p in folder.rglob("*"))
    required = {
        line.split("==")[0]
        for line in (folder / "requirements.txt").read_text().splitlines()
        if not line.startswith("#")
    }
    assert required == {"starlette", "mangum", "stripe", "babel", "jinja2", "pyyaml", "boto3"}


def test_the_handler_imported_from_the_folder_alone_answers_a_quote(
    packaged: tuple[Path, Path], tmp_path: Path
) -> None:
    shop, folder = packaged
    events = {
        "quote": http_api_event(
            "POST",
            "/api/quote",
            json_body({"items": [{"sku": "BOL-BLEU", "quantity": 2}], "country": "FR"}),
            {"content-type": "application/json", "origin": "https://mini.example"},
        ),
        "scheduled": scheduled_event(),
    }
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(folder),  # the folder only: site-packages come with the interpreter
        "STRIPE_SECRET_KEY": "sk_test_package0000",
        "STRIPE_WEBHOOK_SECRET": "whsec_package0000",
        "COMPTOIR_STORE": str(tmp_path / "store.sqlite3"),
        "COMPTOIR_OUTBOX": str(tmp_path / "outbox"),
    }
    run = subprocess.run(
        [sys.executable, "-c", ANSWER],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    answer: dict[str, Any] = json.loads(run.stdout)
    assert answer["response"]["statusCode"] == 200, answer["response"]
    quote = response_json(answer["response"])
    assert quote["lines"][0]["quantity"] == 2
    assert quote["catalog"] == load(published_path(shop)).hash[:16]
    assert answer["scheduled"] == {"released_holds": 0, "mails_sent": 0, "mails_failed": 0}
    for file in answer["files"].values():
        assert Path(file).is_relative_to(folder)
    loaded = {name.split(".")[0] for name in answer["modules"]}
    # Nothing of the build or the test tools; stripe and boto3 wait until a request needs them.
    assert not loaded & {"comptoir", "generator", "stripe_emulator", "pelican", "uvicorn"}
    assert not loaded & {"stripe", "boto3", "botocore"}


def test_a_folder_the_command_did_not_write_is_never_replaced(
    packaged: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop, _ = packaged
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main(["package", "--shop", str(shop), "--out", str(foreign)]) == 1
    assert "was not written by `comptoir package`" in capsys.readouterr().err
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    # Its own folder is replaced whole: a file left in it by hand does not survive.
    again = tmp_path / "function"
    assert main(["package", "--shop", str(shop), "--out", str(again)]) == 0
    (again / "stale.py").write_text("")
    assert main(["package", "--shop", str(shop), "--out", str(again)]) == 0
    assert not (again / "stale.py").exists()
    assert (again / "functions" / "lambda_handler.py").is_file()
